package vba

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Folding evaluates constant string expressions in VBA source and writes
// them back as single literals, so rules and keyword searches see what the
// macro builds at run time: Chr(112) & "ower" & "shell" becomes
// "powershell". It handles Chr/ChrW/ChrB (and $ forms), Asc, StrReverse,
// Replace, LCase/UCase, Trim, Left/Right/Mid on literals, integer
// arithmetic inside them, "&" and "+" concatenation, and a cheap constant
// propagation: x = <constant> and x = x & <constant> statements are
// tracked per procedure (module-level constants globally) and later uses of
// x are replaced by its value. It never executes anything and is bounded:
// values, variables and the output size are capped.

const (
	maxFoldValue  = 64 * 1024 // longest value kept for one string
	maxFoldVars   = 4096      // tracked variables
	maxFoldGrowth = 4         // output may grow to this many times the input (min 1 MiB)
	maxFoldDepth  = 64        // expression nesting
)

type tokKind uint8

const (
	tkString tokKind = iota + 1
	tkNumber
	tkIdent
	tkOp
)

type token struct {
	kind       tokKind
	text       string // identifier (as written) or operator
	str        string // unescaped string value
	num        int64
	start, end int // byte offsets in the line
}

// tokenize splits one logical line into tokens, stopping at a comment.
func tokenize(line string) []token {
	var toks []token
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '\'':
			return toks
		case c == '"':
			start := i
			i++
			var sb strings.Builder
			for i < len(line) {
				if line[i] == '"' {
					if i+1 < len(line) && line[i+1] == '"' {
						sb.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				sb.WriteByte(line[i])
				i++
			}
			toks = append(toks, token{kind: tkString, str: sb.String(), start: start, end: i})
		case c >= '0' && c <= '9':
			start := i
			for i < len(line) && line[i] >= '0' && line[i] <= '9' {
				i++
			}
			n, err := strconv.ParseInt(line[start:i], 10, 64)
			kind := tkNumber
			if err != nil {
				kind = tkOp // too large: not foldable
			}
			if i < len(line) && line[i] == '.' { // a float: not foldable
				for i++; i < len(line) && line[i] >= '0' && line[i] <= '9'; i++ {
				}
				kind = tkOp
			}
			i = skipTypeSuffix(line, i)
			toks = append(toks, token{kind: kind, text: line[start:i], num: n, start: start, end: i})
		case c == '&' && i+1 < len(line) && (line[i+1]|0x20 == 'h' || line[i+1]|0x20 == 'o'):
			start := i
			base := 16
			if line[i+1]|0x20 == 'o' {
				base = 8
			}
			j := i + 2
			for j < len(line) && isDigitIn(line[j], base) {
				j++
			}
			if j == i+2 {
				toks = append(toks, token{kind: tkOp, text: "&", start: i, end: i + 1})
				i++
				continue
			}
			n, err := strconv.ParseInt(line[i+2:j], base, 64)
			i = skipTypeSuffix(line, j)
			kind := tkNumber
			if err != nil {
				kind = tkOp
			}
			toks = append(toks, token{kind: kind, text: line[start:i], num: n, start: start, end: i})
		case isIdentStart(line, i):
			start := i
			for i < len(line) {
				r, size := utf8.DecodeRuneInString(line[i:])
				if r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) {
					i += size
					continue
				}
				break
			}
			if i < len(line) && line[i] == '$' {
				i++
			}
			word := line[start:i]
			if strings.EqualFold(word, "Rem") && len(toks) == 0 {
				return toks
			}
			toks = append(toks, token{kind: tkIdent, text: word, start: start, end: i})
		default:
			_, size := utf8.DecodeRuneInString(line[i:])
			toks = append(toks, token{kind: tkOp, text: line[i : i+size], start: i, end: i + size})
			i += size
		}
	}
	return toks
}

func skipTypeSuffix(line string, i int) int {
	if i < len(line) && strings.IndexByte("%&!#@^", line[i]) >= 0 {
		// "&" right after a number is a Long suffix only when not followed
		// by an operand; "1 & x" has a space, "1&" does not.
		return i + 1
	}
	return i
}

func isDigitIn(c byte, base int) bool {
	if base == 8 {
		return c >= '0' && c <= '7'
	}
	return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f'
}

func isIdentStart(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r == '_' || unicode.IsLetter(r)
}

// folder holds constant-propagation state across lines.
type folder struct {
	global  map[string]string
	local   map[string]string
	inProc  bool
	outSize int
	limit   int
	changed bool
}

// Fold returns code with constant string expressions evaluated, and
// whether anything changed. Line continuations (" _") are joined first.
func Fold(code string) (string, bool) {
	code = CollapseLines(code)
	f := &folder{global: map[string]string{}, local: map[string]string{}}
	f.limit = max(maxFoldGrowth*len(code), 1<<20)
	var sb strings.Builder
	sb.Grow(len(code))
	for len(code) > 0 {
		line, rest, nl := cutLine(code)
		code = rest
		if f.outSize > f.limit {
			sb.WriteString(line)
		} else {
			out := f.foldLine(line)
			f.outSize += len(out)
			sb.WriteString(out)
		}
		sb.WriteString(nl)
	}
	return sb.String(), f.changed
}

// cutLine splits off the first line and its line end.
func cutLine(s string) (line, rest, nl string) {
	i := strings.IndexAny(s, "\r\n")
	if i < 0 {
		return s, "", ""
	}
	if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
		return s[:i], s[i+2:], "\r\n"
	}
	return s[:i], s[i+1:], s[i : i+1]
}

// CollapseLines joins lines split with a line continuation (" _" at the
// end of a line), replacing the continuation with a space, as olevba does.
func CollapseLines(code string) string {
	code = strings.ReplaceAll(code, " _\r\n", " ")
	code = strings.ReplaceAll(code, " _\r", " ")
	return strings.ReplaceAll(code, " _\n", " ")
}

var procStartWords = map[string]bool{"sub": true, "function": true, "property": true}

// foldLine folds one line, statement by statement.
func (f *folder) foldLine(line string) string {
	toks := tokenize(line)
	if len(toks) == 0 {
		return line
	}
	f.trackProcedure(toks)
	var sb strings.Builder
	last := 0 // bytes of line copied so far
	stmt := 0 // first token of the current statement
	for stmt < len(toks) {
		end := stmt
		for end < len(toks) && !(toks[end].kind == tkOp && toks[end].text == ":") {
			end++
		}
		last = f.foldStatement(line, toks[stmt:end], &sb, last)
		stmt = end + 1
	}
	sb.WriteString(line[last:])
	return sb.String()
}

// trackProcedure resets local variables at procedure boundaries.
func (f *folder) trackProcedure(toks []token) {
	i := 0
	for i < len(toks) && toks[i].kind == tkIdent {
		w := strings.ToLower(toks[i].text)
		if w == "public" || w == "private" || w == "friend" || w == "static" {
			i++
			continue
		}
		break
	}
	if i < len(toks) && toks[i].kind == tkIdent {
		w := strings.ToLower(toks[i].text)
		if procStartWords[w] && i+1 < len(toks) && toks[i+1].kind == tkIdent {
			f.inProc = true
			clear(f.local)
			return
		}
		if w == "end" && i+1 < len(toks) && procStartWords[strings.ToLower(toks[i+1].text)] {
			f.inProc = false
			clear(f.local)
		}
	}
}

// foldStatement folds one statement's tokens, appending line[last:...] and
// replacements to sb. It returns the new copy position.
func (f *folder) foldStatement(line string, toks []token, sb *strings.Builder, last int) int {
	i := 0
	// An assignment: [Let|Set|Const] name [As Type] = expr
	assignTo := ""
	if len(toks) > 0 && toks[0].kind == tkIdent {
		j := 0
		w := strings.ToLower(toks[0].text)
		if w == "let" || w == "const" || w == "set" {
			j = 1
		}
		if j < len(toks) && toks[j].kind == tkIdent {
			k := j + 1
			if k+1 < len(toks) && toks[k].kind == tkIdent && strings.EqualFold(toks[k].text, "As") {
				k += 2
			}
			if k < len(toks) && toks[k].kind == tkOp && toks[k].text == "=" {
				assignTo = strings.ToLower(toks[j].text)
				i = k + 1
			}
		}
	}
	rhsStart := i
	for i < len(toks) {
		// The parenthesis of a call or index is kept: folding starts inside.
		if isOp(toks, i, "(") && i > 0 && (toks[i-1].kind == tkIdent || isOp(toks, i-1, ")")) {
			i++
			continue
		}
		val, next, changed, ok := f.parseConcat(toks, i, 0)
		if !ok {
			i++
			continue
		}
		if assignTo != "" && i == rhsStart {
			if next == len(toks) {
				f.set(assignTo, val)
			} else {
				f.unset(assignTo)
			}
			assignTo = ""
		}
		if changed {
			f.changed = true
			sb.WriteString(line[last:toks[i].start])
			sb.WriteString(quoteVBA(val))
			last = toks[next-1].end
		}
		i = next
	}
	if assignTo != "" {
		f.unset(assignTo)
	}
	return last
}

func (f *folder) set(name, val string) {
	m := f.global
	if f.inProc {
		m = f.local
	}
	if len(val) > maxFoldValue {
		delete(m, name)
		return
	}
	if _, ok := m[name]; !ok && len(f.global)+len(f.local) >= maxFoldVars {
		return
	}
	m[name] = val
}

func (f *folder) unset(name string) {
	delete(f.local, name)
	if !f.inProc {
		delete(f.global, name)
	}
}

func (f *folder) lookup(name string) (string, bool) {
	name = strings.ToLower(name)
	if v, ok := f.local[name]; ok {
		return v, true
	}
	v, ok := f.global[name]
	return v, ok
}

func quoteVBA(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func isOp(toks []token, i int, op string) bool {
	return i < len(toks) && toks[i].kind == tkOp && toks[i].text == op
}

// parseConcat parses term (("&"|"+") term)* where every term is a string.
// changed reports whether evaluation did more than read one literal.
func (f *folder) parseConcat(toks []token, i, depth int) (val string, next int, changed, ok bool) {
	if depth > maxFoldDepth {
		return "", i, false, false
	}
	val, next, changed, ok = f.parseTerm(toks, i, depth)
	if !ok {
		return "", i, false, false
	}
	var sb strings.Builder
	sb.WriteString(val)
	for isOp(toks, next, "&") || isOp(toks, next, "+") {
		v2, n2, _, ok2 := f.parseTerm(toks, next+1, depth)
		if !ok2 || sb.Len()+len(v2) > maxFoldValue {
			break
		}
		sb.WriteString(v2)
		next = n2
		changed = true
	}
	return sb.String(), next, changed, true
}

// stringFuncs are the functions folded when all their arguments are constant.
var stringFuncs = map[string]bool{
	"chr": true, "chrw": true, "chrb": true, "chr$": true, "chrw$": true, "chrb$": true,
	"strreverse": true, "replace": true, "replace$": true, "lcase": true, "lcase$": true,
	"ucase": true, "ucase$": true, "trim": true, "trim$": true, "ltrim": true, "ltrim$": true,
	"rtrim": true, "rtrim$": true, "left": true, "left$": true, "right": true, "right$": true,
	"mid": true, "mid$": true, "space": true, "space$": true,
}

func (f *folder) parseTerm(toks []token, i, depth int) (val string, next int, changed, ok bool) {
	if i >= len(toks) {
		return "", i, false, false
	}
	t := toks[i]
	switch t.kind {
	case tkString:
		return t.str, i + 1, false, true
	case tkOp:
		if t.text == "(" {
			v, n, _, ok := f.parseConcat(toks, i+1, depth+1)
			if ok && isOp(toks, n, ")") {
				return v, n + 1, true, true
			}
		}
		return "", i, false, false
	case tkIdent:
		name := strings.ToLower(t.text)
		if stringFuncs[name] && isOp(toks, i+1, "(") {
			return f.parseCall(toks, i, name, depth)
		}
		// A variable: not a call, not a member access, not assigned here.
		if isOp(toks, i+1, "(") || isOp(toks, i+1, ".") || (i > 0 && isOp(toks, i-1, ".")) {
			return "", i, false, false
		}
		if v, ok := f.lookup(name); ok {
			return v, i + 1, true, true
		}
	}
	return "", i, false, false
}

// parseArgs parses "(" arg {"," arg} ")" where each arg is a string
// (kind 's') or an integer ('i') as described by kinds; trailing optional
// args may be absent when minArgs allows.
func (f *folder) parseArgs(toks []token, i int, kinds string, minArgs, depth int) (strs []string, ints []int64, next int, ok bool) {
	if !isOp(toks, i, "(") {
		return nil, nil, i, false
	}
	i++
	for k := 0; k < len(kinds); k++ {
		if k > 0 {
			if isOp(toks, i, ")") && k >= minArgs {
				return strs, ints, i + 1, true
			}
			if !isOp(toks, i, ",") {
				return nil, nil, i, false
			}
			i++
		}
		if kinds[k] == 's' {
			v, n, _, ok := f.parseConcat(toks, i, depth+1)
			if !ok {
				return nil, nil, i, false
			}
			strs, i = append(strs, v), n
		} else {
			v, n, ok := f.parseInt(toks, i, depth+1)
			if !ok {
				return nil, nil, i, false
			}
			ints, i = append(ints, v), n
		}
	}
	if !isOp(toks, i, ")") {
		return nil, nil, i, false
	}
	return strs, ints, i + 1, true
}

func (f *folder) parseCall(toks []token, i int, name string, depth int) (string, int, bool, bool) {
	base := strings.TrimSuffix(name, "$")
	switch base {
	case "chr", "chrw", "chrb":
		_, ints, next, ok := f.parseArgs(toks, i+1, "i", 1, depth)
		if !ok {
			return "", i, false, false
		}
		c := ints[0]
		if base == "chrw" && c < 0 && c >= -32768 {
			c += 65536
		}
		if c < 0 || c > 0xFFFF || (base != "chrw" && c > 255) || (c >= 0xD800 && c <= 0xDFFF) {
			return "", i, false, false
		}
		return string(rune(c)), next, true, true
	case "space":
		_, ints, next, ok := f.parseArgs(toks, i+1, "i", 1, depth)
		if !ok || ints[0] < 0 || ints[0] > 1024 {
			return "", i, false, false
		}
		return strings.Repeat(" ", int(ints[0])), next, true, true
	case "strreverse", "lcase", "ucase", "trim", "ltrim", "rtrim":
		strs, _, next, ok := f.parseArgs(toks, i+1, "s", 1, depth)
		if !ok {
			return "", i, false, false
		}
		s := strs[0]
		switch base {
		case "strreverse":
			r := []rune(s)
			for a, b := 0, len(r)-1; a < b; a, b = a+1, b-1 {
				r[a], r[b] = r[b], r[a]
			}
			s = string(r)
		case "lcase":
			s = strings.ToLower(s)
		case "ucase":
			s = strings.ToUpper(s)
		case "trim":
			s = strings.Trim(s, " ")
		case "ltrim":
			s = strings.TrimLeft(s, " ")
		case "rtrim":
			s = strings.TrimRight(s, " ")
		}
		return s, next, true, true
	case "replace":
		strs, _, next, ok := f.parseArgs(toks, i+1, "sss", 3, depth)
		if !ok || strs[1] == "" {
			return "", i, false, false
		}
		// Size the result before building it: Replace of a 64 KiB string
		// of "a" by a 64 KiB string would otherwise allocate 4 GiB.
		if n := strings.Count(strs[0], strs[1]); int64(len(strs[0]))+int64(n)*(int64(len(strs[2]))-int64(len(strs[1]))) > maxFoldValue {
			return "", i, false, false
		}
		return strings.ReplaceAll(strs[0], strs[1], strs[2]), next, true, true
	case "left", "right":
		strs, ints, next, ok := f.parseArgs(toks, i+1, "si", 2, depth)
		if !ok || ints[0] < 0 {
			return "", i, false, false
		}
		r := []rune(strs[0])
		n := int(min(ints[0], int64(len(r))))
		if base == "left" {
			return string(r[:n]), next, true, true
		}
		return string(r[len(r)-n:]), next, true, true
	case "mid":
		strs, ints, next, ok := f.parseArgs(toks, i+1, "sii", 2, depth)
		if !ok || ints[0] < 1 {
			return "", i, false, false
		}
		r := []rune(strs[0])
		start := int(min(ints[0]-1, int64(len(r))))
		end := len(r)
		if len(ints) > 1 {
			if ints[1] < 0 {
				return "", i, false, false
			}
			end = start + int(min(ints[1], int64(len(r)-start)))
		}
		return string(r[start:end]), next, true, true
	}
	return "", i, false, false
}

// parseInt evaluates an integer expression: Xor of sums of products of
// numbers, negations, parentheses and Asc/AscW of constant strings.
func (f *folder) parseInt(toks []token, i, depth int) (int64, int, bool) {
	if depth > maxFoldDepth {
		return 0, i, false
	}
	v, next, ok := f.parseSum(toks, i, depth)
	if !ok {
		return 0, i, false
	}
	for next < len(toks) && toks[next].kind == tkIdent && strings.EqualFold(toks[next].text, "Xor") {
		v2, n2, ok := f.parseSum(toks, next+1, depth)
		if !ok {
			return 0, i, false
		}
		v, next = v^v2, n2
	}
	return v, next, true
}

func (f *folder) parseSum(toks []token, i, depth int) (int64, int, bool) {
	v, next, ok := f.parseProduct(toks, i, depth)
	if !ok {
		return 0, i, false
	}
	for isOp(toks, next, "+") || isOp(toks, next, "-") {
		v2, n2, ok := f.parseProduct(toks, next+1, depth)
		if !ok {
			return 0, i, false
		}
		if toks[next].text == "+" {
			v += v2
		} else {
			v -= v2
		}
		if v > 1<<40 || v < -(1<<40) {
			return 0, i, false
		}
		next = n2
	}
	return v, next, true
}

func (f *folder) parseProduct(toks []token, i, depth int) (int64, int, bool) {
	v, next, ok := f.parseUnary(toks, i, depth)
	if !ok {
		return 0, i, false
	}
	for {
		isMod := next < len(toks) && toks[next].kind == tkIdent && strings.EqualFold(toks[next].text, "Mod")
		if !(isOp(toks, next, "*") || isOp(toks, next, "/") || isOp(toks, next, "\\") || isMod) {
			return v, next, true
		}
		v2, n2, ok := f.parseUnary(toks, next+1, depth)
		if !ok {
			return 0, i, false
		}
		switch {
		case toks[next].text == "*":
			v *= v2
		case v2 == 0:
			return 0, i, false
		case isMod:
			v %= v2
		case toks[next].text == "/":
			if v%v2 != 0 {
				return 0, i, false // a fraction: leave it alone
			}
			v /= v2
		default:
			v /= v2
		}
		if v > 1<<40 || v < -(1<<40) {
			return 0, i, false
		}
		next = n2
	}
}

func (f *folder) parseUnary(toks []token, i, depth int) (int64, int, bool) {
	if i >= len(toks) || depth > maxFoldDepth {
		return 0, i, false
	}
	t := toks[i]
	switch {
	case t.kind == tkNumber:
		return t.num, i + 1, true
	case isOp(toks, i, "-"):
		v, n, ok := f.parseUnary(toks, i+1, depth+1)
		return -v, n, ok
	case isOp(toks, i, "("):
		v, n, ok := f.parseInt(toks, i+1, depth+1)
		if ok && isOp(toks, n, ")") {
			return v, n + 1, true
		}
	case t.kind == tkIdent:
		name := strings.ToLower(strings.TrimSuffix(t.text, "$"))
		if name == "asc" || name == "ascw" || name == "ascb" {
			strs, _, next, ok := f.parseArgs(toks, i+1, "s", 1, depth)
			if ok && strs[0] != "" {
				r, _ := utf8.DecodeRuneInString(strs[0])
				return int64(r), next, true
			}
		}
		if name == "val" || name == "clng" || name == "cint" {
			strs, _, next, ok := f.parseArgs(toks, i+1, "s", 1, depth)
			if ok {
				if n, err := strconv.ParseInt(strings.TrimSpace(strs[0]), 10, 64); err == nil {
					return n, next, true
				}
			}
		}
	}
	return 0, i, false
}
