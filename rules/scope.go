package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hillu/go-yara/v4"
)

// Rule scoping. libyara walks every byte of a buffer for any rule set, and
// pays again for each string whose atoms hit, whatever the condition says
// about filetype. Most rules name the file types they are for, so a
// rule that says `filetype == "vba" and …` need not be scanned over a PDF.
//
// For each artifact the scanner evaluates every condition in three-valued
// logic over what is known before scanning (filetype, parent_type,
// extension, derived, depth; everything else is "unknown"), and scans with
// the rules that are not certainly false, compiled once per distinct set.
// A rule set with no candidate rule is not scanned at all. The result is
// the same as scanning with every rule (TestScope_sameMatches and the
// pipeline's scoped-vs-full test check it on every sample and corpus file).
// Sources the splitter does not understand turn scoping off.

// Vars are one artifact's external variables.
type Vars struct {
	Filename   string
	Extension  string
	Filetype   string
	ParentType string
	Depth      int
	Derived    bool
}

func (v Vars) scope() Scope {
	return Scope{Filetype: v.Filetype, ParentType: v.ParentType, Extension: v.Extension, Derived: v.Derived, Depth: v.Depth}
}

// maxScopes bounds the memo of scopes seen. It is keyed by canonical
// scopes, so only the values the conditions name multiply its entries.
const maxScopes = 4096

// other stands for every value of a variable that no condition compares
// it with: a plain YARA string cannot hold a bare double quote.
const other = `"`

// scoper picks the rules that could match an artifact.
type scoper struct {
	imports []string
	rules   []srcRule
	conds   []cond
	closure [][]int // each rule with the rules it names, transitively
	global  []int

	// lits are the values conditions compare filetype, parent_type and
	// extension with; depths are depths that reach every outcome of the
	// conditions' depth tests, and depthCap the one beyond them all.
	lits     map[string]map[string]bool
	depths   []int
	depthCap int

	cacheDir    string // where compiled selections are kept, or ""
	cachePrefix string

	// dataFree marks rules whose condition reads only the external
	// variables: they are evaluated on an empty buffer, never on the
	// artifact's bytes (when there is no global rule to gate them).
	dataFree []bool
	metaIn   []bool // the data-free rules with their references, or nil

	mu      sync.Mutex
	byScope map[Scope]choice   // memo
	byKey   map[string]*subset // selections by the rules they hold
	full    *subset
}

// choice is how an artifact in one scope is scanned: its bytes with data
// (nil: not at all), and an empty buffer with meta (nil: not needed).
type choice struct {
	data, meta *subset
}

// subset is a compiled selection of rules with its idle scanners. A
// scanner holds C memory that Go's collector does not see, so idle ones
// are kept on a bounded list rather than in a sync.Pool, which would drop
// them at every collection and leave them to finalizers.
type subset struct {
	rules *yara.Rules
	names []string

	mu   sync.Mutex
	idle []*scanner
}

// scanner is a libyara scanner with the variables it was last given, so
// that only the ones that change are set again (each is a cgo call).
type scanner struct {
	*yara.Scanner
	vars    Vars
	defined bool
}

func (sc *scanner) define(v Vars) error {
	set := func(name string, val any) error {
		if err := sc.DefineVariable(name, val); err != nil {
			sc.defined = false
			return fmt.Errorf("rules: define %s: %w", name, err)
		}
		return nil
	}
	old, all := sc.vars, !sc.defined
	for _, d := range []struct {
		name    string
		changed bool
		val     any
	}{
		{"filename", old.Filename != v.Filename, v.Filename},
		{"extension", old.Extension != v.Extension, v.Extension},
		{"filetype", old.Filetype != v.Filetype, v.Filetype},
		{"parent_type", old.ParentType != v.ParentType, v.ParentType},
		{"depth", old.Depth != v.Depth, v.Depth},
		{"derived", old.Derived != v.Derived, v.Derived},
	} {
		if all || d.changed {
			if err := set(d.name, d.val); err != nil {
				return err
			}
		}
	}
	sc.vars, sc.defined = v, true
	return nil
}

// maxIdleScanners bounds the idle scanners kept per selection.
const maxIdleScanners = 64

func newSubset(r *yara.Rules, names []string) *subset {
	return &subset{rules: r, names: names}
}

func (s *subset) get() (*scanner, error) {
	s.mu.Lock()
	if n := len(s.idle); n > 0 {
		sc := s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		return sc, nil
	}
	s.mu.Unlock()
	sc, err := yara.NewScanner(s.rules)
	if err != nil {
		return nil, err
	}
	return &scanner{Scanner: sc}, nil
}

func (s *subset) put(sc *scanner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.idle) < maxIdleScanners {
		s.idle = append(s.idle, sc)
		return
	}
	sc.Destroy()
}

// newScoper reads the sources; an error means they are scanned unscoped.
func newScoper(srcs []Source, full *yara.Rules) (*scoper, error) {
	sc := &scoper{byScope: map[Scope]choice{}, byKey: map[string]*subset{}}
	index := map[string]int{}
	for _, s := range srcs {
		imps, rs, err := splitRules(s.Text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		sc.imports = append(sc.imports, imps...)
		for _, r := range rs {
			if _, dup := index[r.name]; dup {
				return nil, fmt.Errorf("%s: rule %s twice", s.Name, r.name)
			}
			index[r.name] = len(sc.rules)
			sc.rules = append(sc.rules, r)
			sc.conds = append(sc.conds, parseCond(r.cond))
			if r.global {
				sc.global = append(sc.global, len(sc.rules)-1)
			}
		}
	}
	if len(sc.rules) != len(full.GetRules()) {
		return nil, fmt.Errorf("split %d rules, libyara compiled %d", len(sc.rules), len(full.GetRules()))
	}
	link(sc.rules)
	sc.literals()
	sc.closure = make([][]int, len(sc.rules))
	for i := range sc.rules {
		seen := map[int]bool{i: true}
		stack := []int{i}
		for len(stack) > 0 {
			k := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, ref := range sc.rules[k].refs {
				if j := index[ref]; !seen[j] {
					seen[j] = true
					stack = append(stack, j)
				}
			}
		}
		for j := range sc.rules {
			if seen[j] {
				sc.closure[i] = append(sc.closure[i], j)
			}
		}
	}
	sc.dataFree = make([]bool, len(sc.rules))
	if len(sc.global) == 0 {
		for i := range sc.rules {
			sc.dataFree[i] = !slices.ContainsFunc(sc.closure[i], func(j int) bool { return !sc.rules[j].readsOnlyVars() })
			if sc.dataFree[i] && !sc.rules[i].private {
				if sc.metaIn == nil {
					sc.metaIn = make([]bool, len(sc.rules))
				}
				for _, j := range sc.closure[i] {
					sc.metaIn[j] = true
				}
			}
		}
	}
	sc.full = newSubset(full, sc.names(func(int) bool { return true }))
	return sc, nil
}

func (sc *scoper) names(in func(int) bool) []string {
	var out []string
	for i, r := range sc.rules {
		if in(i) && !r.private {
			out = append(out, r.name)
		}
	}
	return out
}

// candidates returns which rules to compile for scope s, or nil when no
// rule that reports matches could be true. A rule with strings is taken
// when its condition is not certainly false for s; a rule without strings
// (which adds nothing to the byte scan) when it is not certainly false
// for s's file type, so that extension and depth, which such rules test,
// do not multiply the selections to compile.
func (sc *scoper) candidates(s *Scope) []bool {
	in := make([]bool, len(sc.rules))
	any := false
	for i, r := range sc.rules {
		if r.private || sc.dataFree[i] {
			continue
		}
		if sc.conds[i].eval(s, false) != triFalse {
			any = true
		} else if r.strings || sc.conds[i].eval(s, true) == triFalse {
			continue
		}
		for _, j := range sc.closure[i] {
			in[j] = true
		}
	}
	if !any {
		return nil
	}
	for _, g := range sc.global {
		for _, j := range sc.closure[g] {
			in[j] = true
		}
	}
	return in
}

// choose returns how to scan an artifact in scope s. A selection that
// does not compile (rules lint names it) leaves the scope scanned with
// every rule, once and for all: it is not compiled again per artifact.
func (sc *scoper) choose(s Scope) (choice, error) {
	s = sc.canon(s)
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if c, ok := sc.byScope[s]; ok {
		return c, nil
	}
	c, err := sc.chooseLocked(&s)
	if err != nil {
		c = choice{data: sc.full}
	}
	if len(sc.byScope) < maxScopes {
		sc.byScope[s] = c
	}
	return c, err
}

func (sc *scoper) chooseLocked(s *Scope) (c choice, err error) {
	if c.data, err = sc.selection(sc.candidates(s)); err != nil {
		return c, err
	}
	for i, r := range sc.rules {
		if sc.dataFree[i] && !r.private && sc.conds[i].eval(s, false) != triFalse {
			c.meta, err = sc.selection(sc.metaIn)
			break
		}
	}
	return c, err
}

// selection returns the compiled rules for a choice of rules. The caller
// holds sc.mu.
func (sc *scoper) selection(in []bool) (*subset, error) {
	if in == nil {
		return nil, nil
	}
	key := make([]byte, len(sc.rules))
	all := true
	for i := range key {
		if in[i] {
			key[i] = '1'
		} else {
			key[i], all = '0', false
		}
	}
	if all {
		return sc.full, nil
	}
	if sub := sc.byKey[string(key)]; sub != nil {
		return sub, nil
	}
	sub, err := sc.load(in, string(key))
	if err != nil {
		return nil, err
	}
	sc.byKey[string(key)] = sub
	return sub, nil
}

// literals collects the values and depths the conditions test.
func (sc *scoper) literals() {
	sc.lits = map[string]map[string]bool{"filetype": {}, "parent_type": {}, "extension": {}}
	depths := map[int]bool{0: true}
	var walk func(c cond)
	walk = func(c cond) {
		switch x := c.(type) {
		case andCond:
			for _, y := range x {
				walk(y)
			}
		case orCond:
			for _, y := range x {
				walk(y)
			}
		case notCond:
			walk(x.c)
		case varCond:
			sc.lits[x.name][x.value] = true
		case depthCond:
			depths[x.n] = true
			if x.n > 0 {
				depths[x.n-1] = true
			}
			if x.n < math.MaxInt {
				depths[x.n+1] = true
			}
		}
	}
	for _, c := range sc.conds {
		walk(c)
	}
	for d := range depths {
		sc.depths = append(sc.depths, d)
	}
	slices.Sort(sc.depths)
	sc.depthCap = sc.depths[len(sc.depths)-1]
}

// canon maps s to the one scope that stands for all those every condition
// evaluates alike: a value no condition compares with becomes other, a
// depth beyond every one a condition names becomes depthCap. The memo is
// keyed by it, so extensions chosen by senders do not fill it.
func (sc *scoper) canon(s Scope) Scope {
	if !sc.lits["filetype"][s.Filetype] {
		s.Filetype = other
	}
	if !sc.lits["parent_type"][s.ParentType] {
		s.ParentType = other
	}
	if !sc.lits["extension"][s.Extension] {
		s.Extension = other
	}
	s.Depth = min(s.Depth, sc.depthCap)
	return s
}

// grid lists the canonical scopes: together they reach every selection
// the rules can ask for.
func (sc *scoper) grid() []Scope {
	vals := func(name string) []string { return append(slices.Collect(maps.Keys(sc.lits[name])), other) }
	var out []Scope
	for _, ft := range vals("filetype") {
		for _, pt := range vals("parent_type") {
			for _, ext := range vals("extension") {
				for _, d := range sc.depths {
					for _, der := range []bool{false, true} {
						out = append(out, Scope{Filetype: ft, ParentType: pt, Extension: ext, Depth: d, Derived: der})
					}
				}
			}
		}
	}
	return out
}

// load compiles a selection of rules, or reads it from the cache.
func (sc *scoper) load(in []bool, key string) (*subset, error) {
	names := sc.names(func(i int) bool { return in[i] })
	var path string
	if sc.cacheDir != "" {
		h := sha256.Sum256([]byte(key))
		path = filepath.Join(sc.cacheDir, sc.cachePrefix+"-"+hex.EncodeToString(h[:8])+".yarc")
		if r, err := yara.LoadRules(path); err == nil {
			return newSubset(r, names), nil
		}
	}
	var b strings.Builder
	for _, imp := range sc.imports {
		b.WriteString(imp)
		b.WriteByte('\n')
	}
	for i, r := range sc.rules {
		if in[i] {
			b.WriteString(r.text)
			b.WriteString("\n\n")
		}
	}
	c, err := newCompiler()
	if err != nil {
		return nil, err
	}
	defer c.Destroy()
	if err := c.AddString(b.String(), ""); err != nil {
		return nil, fmt.Errorf("rules: compile a scoped subset: %w", err)
	}
	r, err := compiled(c)
	if err != nil {
		return nil, err
	}
	if path != "" {
		saveRules(r, sc.cacheDir, path)
	}
	return newSubset(r, names), nil
}

// compact replaces freshly compiled rules with a reloaded copy: libyara
// keeps a compiled set in the compiler's growable arena (about 9 MB of
// resident memory whatever the rules), and a saved-and-loaded copy in a
// buffer of its own size (about 120 KB for the built-in rules).
func compact(r *yara.Rules) (*yara.Rules, error) {
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		return nil, fmt.Errorf("rules: save compiled rules: %w", err)
	}
	out, err := yara.ReadRules(&buf)
	if err != nil {
		return nil, fmt.Errorf("rules: reload compiled rules: %w", err)
	}
	r.Destroy()
	return out, nil
}

// Warm compiles (or loads) every rule selection the rules can ask for,
// so that the first messages do not pay for it, and returns how many
// there are; an error names a selection that does not compile (`triage
// rules lint` reports it).
func (s *Set) Warm() (selections int, err error) {
	if s.scope == nil {
		return 1, nil
	}
	sc := s.scope
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if _, err := sc.selection(sc.metaIn); err != nil {
		return len(sc.byKey), err
	}
	for _, g := range sc.grid() {
		if _, err := sc.selection(sc.candidates(&g)); err != nil {
			return len(sc.byKey), err
		}
	}
	return len(sc.byKey), nil
}

// Candidates lists the rules that could match an artifact in scope sc, as
// far as can be told before scanning it: all of them when scoping is off.
func (s *Set) Candidates(sc Scope) []string {
	if s.scope == nil {
		return s.unscoped.names
	}
	var out []string
	for i, r := range s.scope.rules {
		if !r.private && s.scope.conds[i].eval(&sc, false) != triFalse {
			out = append(out, r.name)
		}
	}
	return out
}

// WithoutScope returns the set scanning every artifact with every rule.
func (s *Set) WithoutScope() *Set {
	c := *s
	c.scope, c.scopeErr = nil, "turned off"
	return &c
}

// initScope prepares scanning: scoped when the sources split cleanly.
func (s *Set) initScope(srcs []Source) {
	var names []string
	for _, r := range s.Rules.GetRules() {
		names = append(names, r.Identifier())
	}
	s.unscoped = newSubset(s.Rules, names)
	sc, err := newScoper(srcs, s.Rules)
	if err != nil {
		s.scopeErr = err.Error()
		return
	}
	s.scope = sc
}

// Scoped reports whether scanning is narrowed per artifact, and why not.
func (s *Set) Scoped() (bool, string) {
	if s.scope == nil {
		return false, s.scopeErr
	}
	return true, ""
}

// Scan runs the rules that could match an artifact with variables v over
// data and returns the names of the rules that matched.
func (s *Set) Scan(data []byte, v Vars, timeout time.Duration) ([]string, error) {
	c := choice{data: s.unscoped}
	if s.scope != nil {
		c, _ = s.scope.choose(v.scope())
	}
	var out []string
	var firstErr error
	for _, run := range []struct {
		sub  *subset
		data []byte
	}{{c.data, data}, {c.meta, nil}} {
		if run.sub == nil {
			continue
		}
		names, err := run.sub.scan(run.data, v, timeout)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		for _, n := range names {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out, firstErr
}

func (sub *subset) scan(data []byte, v Vars, timeout time.Duration) ([]string, error) {
	sc, err := sub.get()
	if err != nil {
		return nil, fmt.Errorf("rules: scanner: %w", err)
	}
	defer sub.put(sc)
	if err := sc.define(v); err != nil {
		return nil, err
	}
	var matches yara.MatchRules
	err = sc.SetTimeout(timeout).SetCallback(&matches).ScanMem(data)
	out := make([]string, 0, len(matches))
	for _, m := range matches {
		out = append(out, m.Rule)
	}
	return out, err
}

// ReadsEveryArtifact lists the rules that read the bytes of every
// artifact, the raw message and every PDF and archive included, because
// nothing in their condition (file type, parent, extension, depth,
// derived) rules any artifact out. Each one costs
// a pass over every byte of every message.
func (s *Set) ReadsEveryArtifact() []string {
	if s.scope == nil {
		return nil
	}
	sc := s.scope
	grid := sc.grid()
	var out []string
	for i, r := range sc.rules {
		if r.private || sc.dataFree[i] {
			continue
		}
		every := true
		for _, g := range grid {
			if sc.conds[i].eval(&g, false) == triFalse {
				every = false
				break
			}
		}
		if every {
			out = append(out, r.name)
		}
	}
	return out
}
