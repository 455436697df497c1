package rules

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSplitRules_trickySource(t *testing.T) {
	src := `
import "math"
// rule Fake_In_Comment { condition: true }
/* rule Also_Fake { condition: true } */
private rule Helper_Private : tag1 tag2
{
    strings:
        $h = { 4D 5A [2-4] ( 90 | 91 ) ?? }
        $r = /a\/b{1,3}\}/ nocase
        $s = "brace } and \" quote"
    condition:
        any of them
}

global rule Global_Gate { condition: filesize < 10MB }

rule Uses_Helper
{
    meta:
        note = "rule Not_A_Rule { }"
    condition:
        Helper_Private and (filetype == "vba" or parent_type == "ole") and filesize \ 2 > 1
}
`
	imports, rs, err := splitRules(src)
	if err != nil {
		t.Fatal(err)
	}
	link(rs)
	if !reflect.DeepEqual(imports, []string{`import "math"`}) {
		t.Errorf("imports %q", imports)
	}
	var names []string
	for _, r := range rs {
		names = append(names, r.name)
	}
	if !reflect.DeepEqual(names, []string{"Helper_Private", "Global_Gate", "Uses_Helper"}) {
		t.Fatalf("rules %v", names)
	}
	if !rs[0].private || rs[0].global || !rs[1].global || rs[2].private {
		t.Errorf("modifiers: %+v %+v %+v", rs[0].private, rs[1].global, rs[2].private)
	}
	if !strings.HasPrefix(rs[0].text, "private rule Helper_Private") || !strings.HasSuffix(rs[0].text, "any of them\n}") {
		t.Errorf("rule text %q", rs[0].text)
	}
	if !reflect.DeepEqual(rs[2].refs, []string{"Helper_Private"}) {
		t.Errorf("refs %v", rs[2].refs)
	}
	got := fmt.Sprint(parseCond(rs[2].cond))
	want := `and[unknown or[filetype == "vba" parent_type == "ole"] unknown]`
	if got != want {
		t.Errorf("condition\n got %s\nwant %s", got, want)
	}
	// Every cut rule compiles on its own (with the rules it names).
	if _, err := Compile([]Source{{Name: "t.yar", Text: src}}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`include "other.yar"`, `rule A { condition: "unterminated }`, `rule B { strings: $a = "x" }`, `rule C { condition: true`} {
		if _, _, err := splitRules(bad); err == nil {
			t.Errorf("%q split without error", bad)
		}
	}
}

// TestCond_agreesWithLibyara is a property test with libyara as the
// oracle: for random conditions mixing scope tests with tests only a scan
// can decide, whatever the three-valued reading calls certain (true or
// false) is what libyara finds, for random scopes and data.
func TestCond_agreesWithLibyara(t *testing.T) {
	known := []string{`filetype == "a"`, `filetype == "b"`, `filetype != "a"`, `"b" == filetype`, `parent_type == "p"`,
		`parent_type != "p"`, `extension == "x"`, `derived`, `not derived`, `depth > 0`, `depth == 1`, `1 < depth`, `depth <= 1`, `true`, `false`}
	unknown := []string{`$s`, `filesize > 10`, `uint8(0) == 0x4d`, `filename == "f"`, `for any of ($s) : ( $ at 0 )`, `#s > 1`, `filetype contains "a"`, `filetype == "a\x62"`}
	rng := rand.New(rand.NewPCG(7, 7))
	var gen func(d int) string
	gen = func(d int) string {
		if d == 0 || rng.IntN(4) == 0 {
			if rng.IntN(3) == 0 {
				return unknown[rng.IntN(len(unknown))]
			}
			return known[rng.IntN(len(known))]
		}
		a, b := gen(d-1), gen(d-1)
		switch rng.IntN(6) {
		case 0:
			return "(" + a + " and " + b + ")"
		case 1:
			return "(" + a + " or " + b + ")"
		case 2:
			return "not (" + a + ")"
		case 3:
			return "not " + a + " and " + b // precedence: (not a) and b
		case 4:
			return a + " or " + b + " and " + gen(d-1) // a or (b and c)
		default:
			return a + " and " + b
		}
	}
	scopes := []Scope{}
	for _, ft := range []string{"a", "b", "c"} {
		for _, pt := range []string{"p", "q"} {
			for _, ext := range []string{"x", "y"} {
				for _, der := range []bool{false, true} {
					for _, dep := range []int{0, 1, 2} {
						scopes = append(scopes, Scope{Filetype: ft, ParentType: pt, Extension: ext, Derived: der, Depth: dep})
					}
				}
			}
		}
	}
	datas := [][]byte{[]byte("MAGIC"), []byte("M and MAGIC and MAGIC"), []byte("nothing here at all")}
	checked, certain := 0, 0
	for i := 0; i < 150; i++ {
		c := gen(4)
		strs := ""
		if strings.Contains(c, "$s") || strings.Contains(c, "#s") {
			strs = `strings: $s = "MAGIC"`
		}
		src := fmt.Sprintf("rule R_%d { %s condition: %s }", i, strs, c)
		set, err := Compile([]Source{{Name: "p.yar", Text: src}})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		_, rs, err := splitRules(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		cnd := parseCond(rs[0].cond)
		for _, sc := range scopes {
			full, part := cnd.eval(&sc, false), cnd.eval(&sc, true)
			if full != triUnknown {
				certain++
			}
			for _, data := range datas {
				v := Vars{Filename: "f", Extension: sc.Extension, Filetype: sc.Filetype, ParentType: sc.ParentType, Depth: sc.Depth, Derived: sc.Derived}
				m, err := set.WithoutScope().Scan(data, v, time.Second)
				if err != nil {
					t.Fatal(err)
				}
				matched := len(m) == 1
				checked++
				if (full == triFalse && matched) || (full == triTrue && !matched) || (part == triFalse && matched) {
					t.Fatalf("condition %s\nscope %+v data %q: read as %v (type only %v), libyara matched=%v\nparsed %v", c, sc, data, full, part, matched, cnd)
				}
				scoped, err := set.Scan(data, v, time.Second)
				if err != nil || !slices.Equal(scoped, m) {
					t.Fatalf("condition %s scope %+v: scoped scan %v (%v), full %v", c, sc, scoped, err, m)
				}
			}
		}
	}
	if certain < checked/10 {
		t.Errorf("only %d of %d cases were decided before scanning: the generator is too weak", certain, checked)
	}
	t.Logf("%d scans checked, %d scope evaluations certain", checked, certain)
}

func TestScope_builtin(t *testing.T) {
	set, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := set.Scoped(); !ok {
		t.Fatalf("built-in rules are not scoped: %s", why)
	}
	// What each artifact's bytes are scanned with.
	cases := []struct {
		scope Scope
		want  []string // exactly these rules read the bytes
	}{
		// The bulk of mail bytes: the raw message, PDFs, archives, images.
		{Scope{Filetype: "eml"}, nil},
		{Scope{Filetype: "pdf", ParentType: "eml", Extension: "pdf", Depth: 1}, nil},
		{Scope{Filetype: "zip", ParentType: "eml", Extension: "zip", Depth: 1}, nil},
		{Scope{Filetype: "image", ParentType: "eml", Extension: "png", Depth: 1}, nil},
		{Scope{Filetype: "ooxml", ParentType: "eml", Extension: "docm", Depth: 1}, nil},
		{Scope{Filetype: "vba", ParentType: "ole", Depth: 3, Derived: true}, []string{"VBA_AutoExec_WMI_Process", "VBA_PowerShell_EncodedCommand", "VBA_Chr_Obfuscation", "Emotet_Caret_PowerShell"}},
		{Scope{Filetype: "pe", ParentType: "zip", Extension: "exe", Depth: 2}, []string{"PE_DotNet_Stealer_Strings", "PE_AutoIt_Compiled", "PE_PyInstaller_InnoSetup"}},
		{Scope{Filetype: "text", ParentType: "eml", Depth: 1}, []string{"Emotet_Caret_PowerShell", "IQY_WebQuery_File", "IQY_DDE_Formula"}},
	}
	for _, c := range cases {
		ch, err := set.scope.choose(c.scope)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		if ch.data != nil {
			got = ch.data.names
		}
		if !reflect.DeepEqual(sorted(got), sorted(c.want)) {
			t.Errorf("%+v: bytes scanned with %v, want %v", c.scope, got, c.want)
		}
	}
	if got := set.Candidates(Scope{Filetype: "vba", ParentType: "ole", Depth: 3, Derived: true}); !slices.Contains(got, "Attachment_WorldCup_Schedule_Lure") || slices.Contains(got, "PE_AutoIt_Compiled") {
		t.Errorf("candidates of a VBA module: %v", got)
	}
	// The raw message is not scanned at all: no built-in rule is about it.
	c, err := set.scope.choose(Scope{Filetype: "eml"})
	if err != nil {
		t.Fatal(err)
	}
	if c.data != nil || c.meta != nil {
		t.Errorf("the raw message is scanned with %v / %v", c.data, c.meta)
	}
	// Rules that test only names and types never read the bytes: an Office
	// attachment named like an invoice is judged without scanning it.
	c, err = set.scope.choose(Scope{Filetype: "ooxml", ParentType: "eml", Extension: "docm", Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c.data != nil || c.meta == nil {
		t.Errorf("ooxml named .docm: data selection %v, name-only selection %v", c.data, c.meta)
	}
	m, err := set.Scan(make([]byte, 1<<20), Vars{Filename: "INVOICE_8842.docm", Extension: "docm", Filetype: "ooxml", ParentType: "eml", Depth: 1}, time.Second)
	if err != nil || !slices.Equal(m, []string{"Invoice_Doc_Filename"}) {
		t.Errorf("name-only rule: %v %v", m, err)
	}
	if got := set.ReadsEveryArtifact(); len(got) != 0 {
		t.Errorf("built-in rules reading every artifact: %v", got)
	}
	user, err := Compile([]Source{{Name: "u.yar", Text: `rule Every_Byte { strings: $a = "X" condition: $a or filetype == "pdf" }
rule Gated_By_Parent { strings: $a = "X" condition: $a and parent_type == "lnk" }
rule Names_Only { condition: filename matches /x/ }`}})
	if err != nil {
		t.Fatal(err)
	}
	if got := user.ReadsEveryArtifact(); !slices.Equal(got, []string{"Every_Byte"}) {
		t.Errorf("ReadsEveryArtifact %v, want [Every_Byte]", got)
	}
	n, err := set.Warm()
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 || n > 4*len(set.Meta) {
		t.Errorf("%d distinct rule selections: scoping should give a handful", n)
	}
	t.Logf("%d rule selections", n)
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func TestScope_offForSourcesItCannotRead(t *testing.T) {
	dir := t.TempDir()
	// libyara resolves includes; the splitter does not follow them.
	if err := os.WriteFile(filepath.Join(dir, "inc.yar"), []byte(`rule Inc_Rule { strings: $a = "INCLUDED" condition: filetype == "x" and $a }`), 0o644); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf("include %q\nrule Top_Rule { condition: filetype == \"y\" }", filepath.Join(dir, "inc.yar"))
	set, err := Compile([]Source{{Name: "top.yar", Text: src}})
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := set.Scoped(); ok || !strings.Contains(why, "include") {
		t.Errorf("scoped=%v why=%q", ok, why)
	}
	m, err := set.Scan([]byte("INCLUDED"), Vars{Filetype: "x"}, time.Second)
	if err != nil || !reflect.DeepEqual(m, []string{"Inc_Rule"}) {
		t.Errorf("unscoped scan: %v %v", m, err)
	}
	if got := set.Candidates(Scope{Filetype: "pdf"}); len(got) != 2 {
		t.Errorf("unscoped candidates %v", got)
	}
}

func TestScope_selectionsAreCached(t *testing.T) {
	dir := t.TempDir()
	set, err := Load(Options{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	n, err := set.Warm()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "rules-*.yarc"))
	if len(files) != n+1 {
		t.Fatalf("%d cache files for the full set and %d selections", len(files), n)
	}
	// A second process loads them: the selections give the same matches.
	again, err := Load(Options{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("x = CreateObject(\"winmgmts:\\\\.\\root\\cimv2\").Get(\"Win32_Process\")\nSub AutoOpen()\n")
	v := Vars{Filename: "Module1.bas", Filetype: "vba", ParentType: "ole", Depth: 3, Derived: true}
	m1, _ := set.Scan(data, v, time.Second)
	m2, _ := again.Scan(data, v, time.Second)
	if !slices.Contains(m1, "VBA_AutoExec_WMI_Process") || !slices.Equal(m1, m2) {
		t.Errorf("compiled %v, cached %v", m1, m2)
	}
}

// TestScope_globalPrivateAndNameOnlyRules: rules that name other rules,
// private rules, global rules and rules that read only the variables give
// the same matches scoped as scanned whole.
func TestScope_globalPrivateAndNameOnlyRules(t *testing.T) {
	body := `
private rule Script_Name { condition: extension == "js" or extension == "vbs" }
rule Name_Only { condition: Script_Name and filename matches /invoice/i and depth > 0 }
rule Needs_Bytes { strings: $a = "PAYLOAD" condition: filetype == "text" and $a }
rule Mixed_Ref { condition: Name_Only and filesize > 3 }
rule Big_Binary { condition: filetype == "binary" and uint8(0) == 0x4d }
`
	readOnly := map[string]bool{"Script_Name": true, "Name_Only": true, "Needs_Bytes": false, "Mixed_Ref": false, "Big_Binary": false}
	_, rs, err := splitRules(body)
	if err != nil {
		t.Fatal(err)
	}
	link(rs)
	for _, r := range rs {
		if r.readsOnlyVars() != readOnly[r.name] {
			t.Errorf("%s: readsOnlyVars %v", r.name, r.readsOnlyVars())
		}
	}
	for _, src := range []string{body, "global rule Gate { condition: filesize < 20 }\n" + body} {
		set, err := Compile([]Source{{Name: "g.yar", Text: src}})
		if err != nil {
			t.Fatal(err)
		}
		if ok, why := set.Scoped(); !ok {
			t.Fatal(why)
		}
		hits := 0
		for _, name := range []string{"invoice.js", "invoice.pdf", "readme.js"} {
			for _, ft := range []string{"text", "binary", "pdf"} {
				for _, data := range []string{"PAYLOAD", "MZ and a longer tail past twenty bytes", ""} {
					for _, depth := range []int{0, 1} {
						v := Vars{Filename: name, Extension: name[strings.LastIndexByte(name, '.')+1:], Filetype: ft, Depth: depth}
						got, err1 := set.Scan([]byte(data), v, time.Second)
						want, err2 := set.WithoutScope().Scan([]byte(data), v, time.Second)
						if err1 != nil || err2 != nil || !slices.Equal(sorted(got), sorted(want)) {
							t.Errorf("%+v %q: scoped %v (%v), whole %v (%v)", v, data, got, err1, want, err2)
						}
						hits += len(want)
					}
				}
			}
		}
		if hits < 10 {
			t.Errorf("only %d matches: the comparison proves little", hits)
		}
	}
}

// FuzzSplitRules: the rule reader never panics, cuts rules that are
// slices of the source, and a condition it reads evaluates for any scope.
func FuzzSplitRules(f *testing.F) {
	srcs, err := Builtin()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range srcs {
		f.Add(s.Text)
	}
	f.Add(`import "pe" private rule A { condition: filetype == "x" } global rule B : t { strings: $h = { 4D ?? [2] } condition: A and $h }`)
	f.Add(`rule C { condition: not (depth >= 2 or "y" != parent_type) and not derived }`)
	f.Fuzz(func(t *testing.T, src string) {
		_, rs, err := splitRules(src)
		if err != nil {
			return
		}
		link(rs)
		for _, r := range rs {
			if !strings.Contains(src, r.text) || r.name == "" {
				t.Fatalf("rule %q: text %q is not from the source", r.name, r.text)
			}
			c := parseCond(r.cond)
			for _, s := range []Scope{{}, {Filetype: "x", ParentType: "y", Extension: "z", Derived: true, Depth: 3}} {
				if v := c.eval(&s, false); v < triFalse || v > triUnknown {
					t.Fatalf("eval %v", v)
				}
				c.eval(&s, true)
			}
			r.readsOnlyVars()
		}
	})
}

// TestScope_referencesAcrossFilesAndWildcards: a rule may name a rule of
// an earlier file, or a set of rules by wildcard ("all of (X_*)"). Each
// selection must hold every rule so named: a missing one either fails to
// compile (and every artifact paid for a compile) or silently changes what
// "all of" and "none of" count.
func TestScope_referencesAcrossFilesAndWildcards(t *testing.T) {
	a := `
private rule A_Gate { condition: filetype == "x" }
rule X_1 { strings: $a = "A" condition: filetype == "lnk" and $a }
private rule X_2 { strings: $b = "B" condition: $b and filetype == "pdf" }
private rule X_3 { strings: $c = "C" condition: $c }`
	b := `
rule B_Uses_Gate { strings: $a = "A" condition: A_Gate and $a }
rule All_X { condition: filetype == "lnk" and all of (X_*) }
rule None_X { condition: filetype == "lnk" and none of (X_*) }
rule Name_Gate { condition: A_Gate and filename matches /invoice/ }`
	for _, srcs := range [][]Source{{{Name: "a.yar", Text: a}, {Name: "b.yar", Text: b}}, {{Name: "ab.yar", Text: a + b}}} {
		set, err := Compile(srcs)
		if err != nil {
			t.Fatal(err)
		}
		if ok, why := set.Scoped(); !ok {
			t.Fatal(why)
		}
		if _, err := set.Warm(); err != nil {
			t.Errorf("%d files: a selection does not compile: %v", len(srcs), err)
		}
		// Name_Gate reads only variables, through A_Gate: it is judged
		// without the artifact's bytes.
		if c, err := set.scope.choose(Scope{Filetype: "x"}); err != nil || c.meta == nil {
			t.Errorf("%d files: Name_Gate is not evaluated on the variables alone (%v)", len(srcs), err)
		}
		hits := 0
		for _, ft := range []string{"x", "lnk", "pdf", "text"} {
			if _, err := set.scope.choose(Scope{Filetype: ft}); err != nil {
				t.Errorf("%d files, filetype %s: %v", len(srcs), ft, err)
			}
			for _, data := range []string{"A", "B", "C", "AC", "ABC", "none"} {
				v := Vars{Filename: "invoice." + ft, Extension: ft, Filetype: ft}
				got, err1 := set.Scan([]byte(data), v, time.Second)
				want, err2 := set.WithoutScope().Scan([]byte(data), v, time.Second)
				if err1 != nil || err2 != nil || !slices.Equal(sorted(got), sorted(want)) {
					t.Errorf("%d files, filetype %s, data %q: scoped %v (%v), whole %v (%v)", len(srcs), ft, data, got, err1, want, err2)
				}
				hits += len(want)
			}
		}
		if hits < 8 {
			t.Errorf("only %d matches: the comparison proves little", hits)
		}
	}
}

// TestScope_memoIsBounded: scopes are memoised by what the conditions can
// tell apart, so extensions and depths chosen by senders do not grow the
// memo; and the canonical scope evaluates every condition as the scope
// itself does.
func TestScope_memoIsBounded(t *testing.T) {
	set, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	sc := set.scope
	for i := 0; i < 5000; i++ {
		s := Scope{Filetype: "zip", ParentType: "eml", Extension: fmt.Sprintf("x%d", i), Depth: i % 40}
		if _, err := sc.choose(s); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(sc.byScope); n > sc.depthCap+1 {
		t.Errorf("%d memo entries for one file type, parent and %d depths", n, sc.depthCap+1)
	}
	var scopes []Scope
	for _, ft := range []string{"vba", "zip", "lnk", "text", "unheard-of", ""} {
		for _, pt := range []string{"", "ole", "lnk", "eml", "unheard-of"} {
			for _, ext := range []string{"", "js", "docm", "iqy", "unheard-of"} {
				for _, d := range []int{0, 1, 2, 3, 7, 1000} {
					scopes = append(scopes, Scope{Filetype: ft, ParentType: pt, Extension: ext, Depth: d, Derived: d%2 == 1})
				}
			}
		}
	}
	for _, s := range scopes {
		c := sc.canon(s)
		for i, cnd := range sc.conds {
			for _, typeOnly := range []bool{false, true} {
				if a, b := cnd.eval(&s, typeOnly), cnd.eval(&c, typeOnly); a != b {
					t.Fatalf("rule %s: %v on %+v, %v on its canonical scope %+v", sc.rules[i].name, a, s, b, c)
				}
			}
		}
	}
}
