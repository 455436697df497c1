package rules

import (
	"fmt"
	"strconv"
	"strings"
)

// This file reads just enough YARA source to cut it into rules and to see
// the shape of each condition: which rules a condition names, and where it
// tests triage's per-artifact variables. It does not validate rules (libyara
// does that); a text it does not understand makes scoping step aside.

type tokKind int

const (
	tIdent tokKind = iota
	tString
	tRegex
	tHex
	tNumber
	tPunct
)

type token struct {
	kind tokKind
	text string // as written; for tString the unquoted value
	raw  bool   // tString with escapes (its value is not compared)
	pos  int    // offset of the first byte
	end  int    // offset after the last byte
}

// lexYARA splits YARA source into tokens, dropping comments and space.
func lexYARA(src string) ([]token, error) {
	var out []token
	prev := func() string {
		if len(out) == 0 {
			return ""
		}
		return out[len(out)-1].text
	}
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v':
			i++
		case strings.HasPrefix(src[i:], "//"):
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				i = len(src)
			} else {
				i += j
			}
		case strings.HasPrefix(src[i:], "/*"):
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				return nil, fmt.Errorf("unterminated comment at %d", i)
			}
			i += 2 + j + 2
		case c == '"':
			j, esc := i+1, false
			for j < len(src) && src[j] != '"' {
				if src[j] == '\n' {
					return nil, fmt.Errorf("newline in string at %d", i)
				}
				if src[j] == '\\' {
					esc = true
					j++
				}
				j++
			}
			if j >= len(src) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			out = append(out, token{kind: tString, text: src[i+1 : j], raw: esc, pos: i, end: j + 1})
			i = j + 1
		case c == '/':
			// As in libyara's lexer, a slash always opens a regular
			// expression (YARA divides with a backslash).
			j := i + 1
			for j < len(src) && src[j] != '/' {
				if src[j] == '\n' {
					return nil, fmt.Errorf("newline in regular expression at %d", i)
				}
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) {
				return nil, fmt.Errorf("unterminated regular expression at %d", i)
			}
			j++
			for j < len(src) && (src[j] == 'i' || src[j] == 's') {
				j++
			}
			out = append(out, token{kind: tRegex, text: src[i:j], pos: i, end: j})
			i = j
		case c == '{' && prev() == "=":
			j := strings.IndexByte(src[i:], '}')
			if j < 0 {
				return nil, fmt.Errorf("unterminated hex string at %d", i)
			}
			out = append(out, token{kind: tHex, text: src[i : i+j+1], pos: i, end: i + j + 1})
			i += j + 1
		case isIdentStart(c) || c == '$' || c == '#' || c == '@' || c == '!':
			// $a, $a*, #a, @a, !a and plain identifiers (with dots for
			// module fields). A lone '!' is the != operator's start.
			if c == '!' && i+1 < len(src) && src[i+1] == '=' {
				out = append(out, token{kind: tPunct, text: "!=", pos: i, end: i + 2})
				i += 2
				continue
			}
			j := i + 1
			for j < len(src) && (isIdentStart(src[j]) || (src[j] >= '0' && src[j] <= '9') || src[j] == '.' || src[j] == '*') {
				j++
			}
			out = append(out, token{kind: tIdent, text: src[i:j], pos: i, end: j})
			i = j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(src) && (isIdentStart(src[j]) || (src[j] >= '0' && src[j] <= '9')) {
				j++
			}
			out = append(out, token{kind: tNumber, text: src[i:j], pos: i, end: j})
			i = j
		default:
			n := 1
			for _, op := range []string{"==", "!=", "<=", ">=", "<<", ">>", ".."} {
				if strings.HasPrefix(src[i:], op) {
					n = 2
					break
				}
			}
			out = append(out, token{kind: tPunct, text: src[i : i+n], pos: i, end: i + n})
			i += n
		}
	}
	return out, nil
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// srcRule is one rule cut from a source file.
type srcRule struct {
	name    string
	text    string // the whole declaration, modifiers to closing brace
	private bool
	global  bool
	cond    []token  // the condition's tokens
	refs    []string // the rules the condition names (set by link)
	strings bool     // it has a strings section
}

// splitRules cuts a source file into its import lines and rules.
func splitRules(src string) (imports []string, out []srcRule, err error) {
	toks, err := lexYARA(src)
	if err != nil {
		return nil, nil, err
	}
	for i := 0; i < len(toks); {
		t := toks[i]
		switch {
		case t.text == "import" && i+1 < len(toks) && toks[i+1].kind == tString:
			imports = append(imports, src[t.pos:toks[i+1].end])
			i += 2
			continue
		case t.text == "include":
			return nil, nil, fmt.Errorf("include at %d: not split", t.pos)
		}
		start := i
		var r srcRule
		for i < len(toks) && (toks[i].text == "private" || toks[i].text == "global") {
			r.private = r.private || toks[i].text == "private"
			r.global = r.global || toks[i].text == "global"
			i++
		}
		if i+1 >= len(toks) || toks[i].text != "rule" || toks[i+1].kind != tIdent {
			return nil, nil, fmt.Errorf("unexpected %q at %d", toks[min(i, len(toks)-1)].text, toks[min(i, len(toks)-1)].pos)
		}
		r.name = toks[i+1].text
		i += 2
		for i < len(toks) && toks[i].text != "{" {
			i++ // ": tag tag"
		}
		if i >= len(toks) {
			return nil, nil, fmt.Errorf("rule %s: no body", r.name)
		}
		depth, condAt := 0, -1
		j := i
		for ; j < len(toks); j++ {
			switch toks[j].text {
			case "{":
				depth++
			case "}":
				depth--
			case "condition":
				if depth == 1 && j+1 < len(toks) && toks[j+1].text == ":" {
					condAt = j + 2
				}
			case "strings":
				if depth == 1 && j+1 < len(toks) && toks[j+1].text == ":" {
					r.strings = true
				}
			}
			if depth == 0 {
				break
			}
		}
		if j >= len(toks) || condAt < 0 {
			return nil, nil, fmt.Errorf("rule %s: no condition or unbalanced braces", r.name)
		}
		r.text = src[toks[start].pos:toks[j].end]
		r.cond = toks[condAt:j]
		out = append(out, r)
		i = j + 1
	}
	return imports, out, nil
}

// link sets each rule's refs: the rules its condition names, by name or
// by a rule-set wildcard such as "any of (Emotet_*)". The rules are those
// of every source compiled together: a rule may name a rule of an earlier
// file. A wildcard is given every rule with its prefix, also those declared
// after the rule, which YARA's wildcard does not see: a selection holding
// them declares them after the rule too.
func link(rs []srcRule) {
	names := make(map[string]bool, len(rs))
	for _, r := range rs {
		names[r.name] = true
	}
	for k := range rs {
		seen := map[string]bool{}
		ref := func(n string) {
			if !seen[n] {
				seen[n] = true
				rs[k].refs = append(rs[k].refs, n)
			}
		}
		for _, t := range rs[k].cond {
			switch {
			case t.kind != tIdent:
			case names[t.text]:
				ref(t.text)
			case strings.HasSuffix(t.text, "*") && isIdentStart(t.text[0]):
				prefix := strings.TrimSuffix(t.text, "*")
				for _, r := range rs {
					if strings.HasPrefix(r.name, prefix) {
						ref(r.name)
					}
				}
			}
		}
	}
}

// readsOnlyVars reports whether the rule's outcome depends on nothing but
// the external variables (and the rules it names, checked by the caller):
// no strings, no filesize, no reads of the data, no modules, no loops.
func (r *srcRule) readsOnlyVars() bool {
	if r.strings {
		return false
	}
	refs := map[string]bool{}
	for _, n := range r.refs {
		refs[n] = true
	}
	for _, t := range r.cond {
		if t.kind != tIdent {
			continue
		}
		if _, ok := externals[t.text]; ok || refs[t.text] || varOnlyWords[t.text] {
			continue
		}
		return false
	}
	return true
}

// varOnlyWords are the condition keywords that read no data.
var varOnlyWords = map[string]bool{
	"and": true, "or": true, "not": true, "true": true, "false": true, "matches": true,
	"contains": true, "icontains": true, "startswith": true, "istartswith": true,
	"endswith": true, "iendswith": true, "iequals": true,
}

// tri is a three-valued truth: a condition is certainly false, certainly
// true, or depends on what only a scan can tell.
type tri int8

const (
	triFalse tri = iota
	triTrue
	triUnknown
)

// Scope is what rule selection may know of an artifact before scanning it:
// the values of the external variables that do not depend on its bytes.
type Scope struct {
	Filetype   string
	ParentType string
	Extension  string
	Derived    bool
	Depth      int
}

// cond is a condition reduced to what a Scope can decide. With typeOnly,
// only the Scope's Filetype is taken as known.
type cond interface {
	eval(s *Scope, typeOnly bool) tri
}

type (
	andCond []cond
	orCond  []cond
	notCond struct{ c cond }
	// varCond compares a string variable with a literal.
	varCond struct {
		name, value string
		eq          bool
	}
	// depthCond compares depth with an integer.
	depthCond struct {
		op string
		n  int
	}
	derivedCond struct{}
	constCond   tri
)

func (c andCond) eval(s *Scope, typeOnly bool) tri {
	out := triTrue
	for _, x := range c {
		switch x.eval(s, typeOnly) {
		case triFalse:
			return triFalse
		case triUnknown:
			out = triUnknown
		}
	}
	return out
}

func (c orCond) eval(s *Scope, typeOnly bool) tri {
	out := triFalse
	for _, x := range c {
		switch x.eval(s, typeOnly) {
		case triTrue:
			return triTrue
		case triUnknown:
			out = triUnknown
		}
	}
	return out
}

func (c notCond) eval(s *Scope, typeOnly bool) tri {
	switch c.c.eval(s, typeOnly) {
	case triTrue:
		return triFalse
	case triFalse:
		return triTrue
	}
	return triUnknown
}

func (c varCond) eval(s *Scope, typeOnly bool) tri {
	if typeOnly && c.name != "filetype" {
		return triUnknown
	}
	var v string
	switch c.name {
	case "filetype":
		v = s.Filetype
	case "parent_type":
		v = s.ParentType
	case "extension":
		v = s.Extension
	default:
		return triUnknown
	}
	return boolTri((v == c.value) == c.eq)
}

func (c depthCond) eval(s *Scope, typeOnly bool) tri {
	if typeOnly {
		return triUnknown
	}
	d := s.Depth
	switch c.op {
	case "==":
		return boolTri(d == c.n)
	case "!=":
		return boolTri(d != c.n)
	case "<":
		return boolTri(d < c.n)
	case "<=":
		return boolTri(d <= c.n)
	case ">":
		return boolTri(d > c.n)
	case ">=":
		return boolTri(d >= c.n)
	}
	return triUnknown
}

func (derivedCond) eval(s *Scope, typeOnly bool) tri {
	if typeOnly {
		return triUnknown
	}
	return boolTri(s.Derived)
}
func (c constCond) eval(*Scope, bool) tri { return tri(c) }

func boolTri(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

func (c constCond) String() string { return tri(c).String() }
func (c varCond) String() string {
	op := "!="
	if c.eq {
		op = "=="
	}
	return fmt.Sprintf("%s %s %q", c.name, op, c.value)
}
func (c depthCond) String() string { return fmt.Sprintf("depth %s %d", c.op, c.n) }
func (derivedCond) String() string { return "derived" }
func (c notCond) String() string   { return fmt.Sprintf("not(%v)", c.c) }
func (c andCond) String() string   { return fmt.Sprintf("and%v", []cond(c)) }
func (c orCond) String() string    { return fmt.Sprintf("or%v", []cond(c)) }
func (t tri) String() string       { return [...]string{"false", "true", "unknown"}[t] }

func unknownCond() cond { return constCond(triUnknown) }

func isScopeVar(name string) bool {
	return name == "filetype" || name == "parent_type" || name == "extension"
}

// flipCmp turns "1 < depth" into "depth > 1"; "" for a non-comparison.
func flipCmp(op string) string {
	return map[string]string{"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}[op]
}

func isInt(t token) (int, bool) {
	n, err := strconv.Atoi(t.text)
	return n, err == nil && t.kind == tNumber
}

func isVar(t token, name string) bool { return t.kind == tIdent && t.text == name }
func keyword(t token, kw string) bool { return t.kind == tIdent && t.text == kw }
func plainString(t token) bool        { return t.kind == tString && !t.raw }
func groupOpen(t token) bool          { return t.kind == tPunct && (t.text == "(" || t.text == "[") }
func groupClose(t token) bool         { return t.kind == tPunct && (t.text == ")" || t.text == "]") }
func wrapped(toks []token) bool {
	return len(toks) >= 2 && toks[0].text == "(" && closing(toks, 0) == len(toks)-1
}

// closing returns the index of the bracket closing toks[open], or -1.
func closing(toks []token, open int) int {
	depth := 0
	for i := open; i < len(toks); i++ {
		switch {
		case groupOpen(toks[i]):
			depth++
		case groupClose(toks[i]):
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// splitAt splits toks at the keyword kw outside brackets.
func splitAt(toks []token, kw string) [][]token {
	var out [][]token
	depth, last := 0, 0
	for i, t := range toks {
		switch {
		case groupOpen(t):
			depth++
		case groupClose(t):
			depth--
		case depth == 0 && keyword(t, kw):
			out = append(out, toks[last:i])
			last = i + 1
		}
	}
	return append(out, toks[last:])
}

// parseCond reduces a condition to the parts a Scope decides; everything
// else is unknown. YARA's precedence: or < and < not < comparisons.
func parseCond(toks []token) cond {
	if len(toks) == 0 {
		return unknownCond()
	}
	if ors := splitAt(toks, "or"); len(ors) > 1 {
		c := make(orCond, len(ors))
		for i, p := range ors {
			c[i] = parseCond(p)
		}
		return c
	}
	if ands := splitAt(toks, "and"); len(ands) > 1 {
		c := make(andCond, len(ands))
		for i, p := range ands {
			c[i] = parseCond(p)
		}
		return c
	}
	if keyword(toks[0], "not") {
		return notCond{parseCond(toks[1:])}
	}
	if wrapped(toks) {
		return parseCond(toks[1 : len(toks)-1])
	}
	return parseAtom(toks)
}

// parseAtom recognises the comparisons a Scope can decide.
func parseAtom(toks []token) cond {
	switch len(toks) {
	case 1:
		switch {
		case isVar(toks[0], "derived"):
			return derivedCond{}
		case keyword(toks[0], "true"):
			return constCond(triTrue)
		case keyword(toks[0], "false"):
			return constCond(triFalse)
		}
	case 3:
		l, op, r := toks[0], toks[1], toks[2]
		if op.kind != tPunct || flipCmp(op.text) == "" {
			return unknownCond()
		}
		if l.kind != tIdent {
			l, r, op.text = r, l, flipCmp(op.text)
		}
		switch {
		case l.kind == tIdent && isScopeVar(l.text) && plainString(r) && (op.text == "==" || op.text == "!="):
			return varCond{name: l.text, value: r.text, eq: op.text == "=="}
		case isVar(l, "depth"):
			if n, ok := isInt(r); ok {
				return depthCond{op: op.text, n: n}
			}
		case isVar(l, "derived") && (op.text == "==" || op.text == "!="):
			if keyword(r, "true") || keyword(r, "false") {
				if keyword(r, "true") == (op.text == "==") {
					return derivedCond{}
				}
				return notCond{derivedCond{}}
			}
		}
	}
	return unknownCond()
}
