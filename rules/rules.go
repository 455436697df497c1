// Package rules holds triage's YARA rules (embedded in the binary) and
// compiles them, with the user's own rules, into one rule set per process.
//
// Every rule sees these external variables, set per artifact:
//
//	filename    the artifact's declared name ("" for derived text)
//	extension   the lowercase last extension of filename, without the dot
//	filetype    the type detected from content: "eml", "zip", "lnk", "vba", …
//	parent_type the type of the artifact it was extracted from ("" at the top)
//	depth       0 for the input, 1 for its attachments, …
//	derived     true for text the parsers derived (VBA source, decoded commands)
package rules

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hillu/go-yara/v4"

	"triage/parsers"
)

//go:embed *.yar
var embedded embed.FS

// Externals are the external variables every rule may use, with their
// default values.
var externals = map[string]any{
	"filename":    "",
	"extension":   "",
	"filetype":    "",
	"parent_type": "",
	"depth":       0,
	"derived":     false,
}

// Externals returns the names and defaults of the external variables.
func Externals() map[string]any {
	out := make(map[string]any, len(externals))
	for k, v := range externals {
		out[k] = v
	}
	return out
}

// Meta is a rule's metadata as triage reads it.
type Meta struct {
	Name        string
	File        string // the source file the rule came from
	Description string
	Campaign    string
	Severity    parsers.Severity
	Attack      []string
	Reference   []string
	Author      string
	Date        string
	Raw         map[string]string
}

// Set is a compiled rule set with each rule's metadata.
type Set struct {
	Rules    *yara.Rules
	Meta     map[string]Meta
	Warnings []string
	Files    []string

	scope    *scoper // nil: every artifact is scanned with every rule
	scopeErr string  // why scope is nil
	unscoped *subset
}

// Options choose which rules to compile.
type Options struct {
	// Dirs adds every *.yar / *.yara file below each directory.
	Dirs []string
	// NoBuiltin leaves out the embedded rules (use only Dirs).
	NoBuiltin bool
	// CacheDir, if set, keeps compiled rule sets there, keyed by a hash of
	// the sources and the YARA version, so a one-shot run loads instead of
	// compiling. Warnings are only reported by a real compilation.
	CacheDir string
}

// Source is one rule file's text.
type Source struct {
	Name string
	Text string
}

// Builtin returns the embedded rule files, sorted by name.
func Builtin() ([]Source, error) {
	names, err := fs.Glob(embedded, "*.yar")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]Source, 0, len(names))
	for _, n := range names {
		b, err := embedded.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Source{Name: n, Text: string(b)})
	}
	return out, nil
}

// FromDir returns the rule files below dir.
func FromDir(dir string) ([]Source, error) {
	var out []Source
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		ext := strings.ToLower(filepath.Ext(p))
		if ext != ".yar" && ext != ".yara" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, Source{Name: p, Text: string(b)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rules: read %s: %w", dir, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("rules: no .yar or .yara files in %s", dir)
	}
	return out, nil
}

// Load gathers the sources opts selects and compiles them.
func Load(opts Options) (*Set, error) {
	var srcs []Source
	if !opts.NoBuiltin {
		b, err := Builtin()
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, b...)
	}
	for _, d := range opts.Dirs {
		s, err := FromDir(d)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, s...)
	}
	if len(srcs) == 0 {
		return nil, errors.New("rules: no rules selected")
	}
	if opts.CacheDir == "" {
		return Compile(srcs)
	}
	prefix := "rules-" + cacheKey(srcs)
	path := filepath.Join(opts.CacheDir, prefix+".yarc")
	set, err := loadCompiled(path, srcs)
	if err != nil {
		if set, err = Compile(srcs); err != nil {
			return nil, err
		}
		saveRules(set.Rules, opts.CacheDir, path)
	}
	// The scoped selections are kept beside the full set.
	if set.scope != nil {
		set.scope.cacheDir, set.scope.cachePrefix = opts.CacheDir, prefix
	}
	return set, nil
}

// saveRules writes compiled rules to path through a temporary file. A
// cache that cannot be written is not an error: the next run compiles.
func saveRules(r *yara.Rules, dir, path string) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, "rules-*.tmp")
	if err != nil {
		return
	}
	tmp.Close()
	if r.Save(tmp.Name()) == nil {
		os.Rename(tmp.Name(), path)
	}
	os.Remove(tmp.Name())
}

// DefaultCacheDir is the per-user cache for compiled rules, or "".
func DefaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "triage")
}

// cacheKey hashes what a compiled set depends on: every source's name and
// text and the external variables.
func cacheKey(srcs []Source) string {
	h := sha256.New()
	// A libyara whose compiled format differs makes LoadRules fail, and the
	// set is then compiled afresh and the cache entry rewritten.
	fmt.Fprintf(h, "go-yara v4.2.4\n")
	keys := make([]string, 0, len(externals))
	for k := range externals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "ext %s=%v\n", k, externals[k])
	}
	for _, s := range srcs {
		fmt.Fprintf(h, "src %q %d\n%s\n", s.Name, len(s.Text), s.Text)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// loadCompiled reads a cached compiled set.
func loadCompiled(path string, srcs []Source) (*Set, error) {
	r, err := yara.LoadRules(path)
	if err != nil {
		return nil, err
	}
	ruleFile := map[string]string{}
	for _, s := range srcs {
		for _, n := range ruleNames(s.Text) {
			ruleFile[n] = s.Name
		}
	}
	return newSet(r, srcs, ruleFile, nil), nil
}

// Compile compiles sources into one rule set. Each file is its own
// namespace-free unit; duplicate rule names are an error.
func Compile(srcs []Source) (*Set, error) {
	c, err := newCompiler()
	if err != nil {
		return nil, err
	}
	defer c.Destroy()
	ruleFile := map[string]string{}
	for _, s := range srcs {
		if err := c.AddString(s.Text, ""); err != nil {
			var msgs []string
			for _, e := range c.Errors {
				msgs = append(msgs, fmt.Sprintf("%s:%d: %s", s.Name, e.Line, e.Text))
			}
			return nil, fmt.Errorf("rules: compile %s: %w: %s", s.Name, err, strings.Join(msgs, "; "))
		}
		// Record which file each new rule came from by name scan.
		for _, n := range ruleNames(s.Text) {
			if prev, dup := ruleFile[n]; dup {
				return nil, fmt.Errorf("rules: duplicate rule %s in %s and %s", n, prev, s.Name)
			}
			ruleFile[n] = s.Name
		}
	}
	var warnings []string
	for _, w := range c.Warnings {
		warnings = append(warnings, fmt.Sprintf("line %d: %s", w.Line, w.Text))
	}
	r, err := compiled(c)
	if err != nil {
		return nil, err
	}
	return newSet(r, srcs, ruleFile, warnings), nil
}

// newSet wraps compiled rules with their metadata and prepares scanning.
func newSet(r *yara.Rules, srcs []Source, ruleFile map[string]string, warnings []string) *Set {
	set := &Set{Rules: r, Meta: map[string]Meta{}, Warnings: warnings}
	for _, s := range srcs {
		set.Files = append(set.Files, s.Name)
	}
	for _, rule := range r.GetRules() {
		m := metaFrom(rule.Identifier(), rule.Metas())
		m.File = ruleFile[m.Name]
		set.Meta[m.Name] = m
	}
	set.initScope(srcs)
	return set
}

// newCompiler returns a compiler with triage's external variables
// declared.
func newCompiler() (*yara.Compiler, error) {
	c, err := yara.NewCompiler()
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	for k, v := range externals {
		if err := c.DefineVariable(k, v); err != nil {
			c.Destroy()
			return nil, fmt.Errorf("rules: define %s: %w", k, err)
		}
	}
	return c, nil
}

// compiled takes a compiler's rules, compacted.
func compiled(c *yara.Compiler) (*yara.Rules, error) {
	r, err := c.GetRules()
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return compact(r)
}

// metaFrom reads a rule's metadata from its yara metas.
func metaFrom(name string, metas []yara.Meta) Meta {
	m := Meta{Name: name, Severity: parsers.Medium, Raw: map[string]string{}}
	for _, kv := range metas {
		v := fmt.Sprint(kv.Value)
		m.Raw[kv.Identifier] = v
		switch kv.Identifier {
		case "description":
			m.Description = v
		case "campaign":
			m.Campaign = v
		case "severity":
			if s, ok := parsers.ParseSeverity(v); ok {
				m.Severity = s
			}
		case "attack", "mitre_attack":
			m.Attack = append(m.Attack, splitList(v)...)
		case "reference":
			m.Reference = append(m.Reference, v)
		case "author":
			m.Author = v
		case "date":
			m.Date = v
		}
	}
	return m
}

func splitList(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' })
	return f
}

// ruleNames lists the rule identifiers declared in a source text.
func ruleNames(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		for i := 0; i < len(f); i++ {
			if f[i] == "rule" && i+1 < len(f) && (i == 0 || f[i-1] == "private" || f[i-1] == "global") {
				name := strings.TrimRight(f[i+1], ":{")
				out = append(out, name)
				break
			}
		}
	}
	return out
}
