package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var requiredMeta = []string{"description", "campaign", "reference", "severity", "attack", "author", "date"}

// TestBuiltin_compilesCleanly: the embedded rules compile with zero
// warnings, every rule carries the required meta with a valid severity and
// ATT&CK ids, and names follow <Format>_<Technique>[_Family].
func TestBuiltin_compilesCleanly(t *testing.T) {
	set, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range set.Warnings {
		t.Errorf("compiler warning: %s", w)
	}
	if len(set.Meta) < 20 {
		t.Errorf("only %d rules loaded", len(set.Meta))
	}
	for name, m := range set.Meta {
		for _, k := range requiredMeta {
			if strings.TrimSpace(m.Raw[k]) == "" {
				t.Errorf("%s (%s): missing meta %s", name, m.File, k)
			}
		}
		if _, ok := map[string]bool{"info": true, "low": true, "medium": true, "high": true, "critical": true}[m.Raw["severity"]]; !ok {
			t.Errorf("%s: severity %q", name, m.Raw["severity"])
		}
		for _, a := range m.Attack {
			if len(a) < 5 || a[0] != 'T' {
				t.Errorf("%s: attack id %q", name, a)
			}
		}
		if !strings.Contains(name, "_") || strings.ToUpper(name[:1]) != name[:1] {
			t.Errorf("%s: rule names follow <Format>_<Technique>", name)
		}
	}
}

func TestCompile_duplicateAndBrokenRules(t *testing.T) {
	r := `rule A_B { condition: true }`
	if _, err := Compile([]Source{{Name: "a.yar", Text: r}, {Name: "b.yar", Text: r}}); err == nil {
		t.Error("duplicate rule names accepted")
	}
	if _, err := Compile([]Source{{Name: "bad.yar", Text: `rule X { condition: nosuchvar }`}}); err == nil || !strings.Contains(err.Error(), "bad.yar") {
		t.Errorf("broken rule: error %v should name the file", err)
	}
	set, err := Compile([]Source{{Name: "ext.yar", Text: `rule Ext_Vars { condition: filename == "a" and filetype == "b" and extension == "c" and parent_type == "d" and depth == 1 and not derived }`}})
	if err != nil {
		t.Fatalf("external variables not declared: %v", err)
	}
	if set.Meta["Ext_Vars"].Severity.String() != "medium" {
		t.Error("a rule without severity meta defaults to medium")
	}
}

func TestFromDir_userRules(t *testing.T) {
	dir := t.TempDir()
	if _, err := FromDir(dir); err == nil {
		t.Error("an empty rules dir must be an error, not a silent no-op")
	}
}

func TestLoad_cache(t *testing.T) {
	dir := t.TempDir()
	first, err := Load(Options{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "rules-*.yarc"))
	if len(matches) != 1 {
		t.Fatalf("cache files %v, want one", matches)
	}
	second, err := Load(Options{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Meta) != len(first.Meta) || second.Meta["IQY_WebQuery_File"].Campaign != "iqy" || second.Meta["IQY_WebQuery_File"].File != "iqy.yar" {
		t.Errorf("cached set lost metadata: %d vs %d rules, %+v", len(second.Meta), len(first.Meta), second.Meta["IQY_WebQuery_File"])
	}
	// A damaged cache entry is recompiled, not fatal.
	if err := os.WriteFile(matches[0], []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Options{CacheDir: dir}); err != nil {
		t.Errorf("damaged cache: %v", err)
	}
}

// TestBuiltin_noModules: importing a YARA module (pe, math, …) costs a
// fixed ~0.25 ms per scanned artifact; the built-in rules do without.
func TestBuiltin_noModules(t *testing.T) {
	srcs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range srcs {
		for _, line := range strings.Split(s.Text, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "import ") {
				t.Errorf("%s imports a module: %s", s.Name, line)
			}
		}
	}
}
