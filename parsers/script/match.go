package script

import "strings"

// Literal matching helpers. Trait checks run over megabytes of hostile
// text, where alternations of case-insensitive regexps are slow; they
// search an ASCII-lowercased copy (same byte offsets as the original) with
// strings.Index instead, and use a regexp only on short windows.

// maxOccurrences bounds the occurrences of one keyword examined.
const maxOccurrences = 1000

// word is a keyword with optional word-boundary requirements.
type word struct {
	s            string
	left, right  bool // require a non-word byte before / after
	sameLineWith string
	within       int // bytes after s in which sameLineWith must appear
}

// find returns the matched text (from low) of the first word of ws found
// in low, in list order, or "".
func find(low string, ws ...word) string {
	for _, w := range ws {
		if m := findWord(low, w); m != "" {
			return m
		}
	}
	return ""
}

func findWord(low string, w word) string {
	from := 0
	for n := 0; n < maxOccurrences; n++ {
		i := strings.Index(low[from:], w.s)
		if i < 0 {
			return ""
		}
		i += from
		end := i + len(w.s)
		from = i + 1
		if w.left && i > 0 && isWordByte(low[i-1]) {
			continue
		}
		if w.right && end < len(low) && isWordByte(low[end]) {
			continue
		}
		if w.sameLineWith == "" {
			return low[i:end]
		}
		win := low[end:min(len(low), end+w.within)]
		if nl := strings.IndexAny(win, "\r\n"); nl >= 0 {
			win = win[:nl]
		}
		if j := strings.Index(win, w.sameLineWith); j >= 0 {
			return low[i : end+j+len(w.sameLineWith)]
		}
	}
	return ""
}

// kw returns plain keywords.
func kw(ss ...string) []word {
	out := make([]word, len(ss))
	for i, s := range ss {
		out[i] = word{s: s}
	}
	return out
}

// bounded returns a keyword that must stand alone as a word.
func bounded(s string) word { return word{s: s, left: true, right: true} }

// then returns a keyword followed on the same line by another within n bytes.
func then(s, next string, n int) word { return word{s: s, sameLineWith: next, within: n} }

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// countAll sums the occurrences of several keywords.
func countAll(low string, ss ...string) int {
	n := 0
	for _, s := range ss {
		n += strings.Count(low, s)
	}
	return n
}

// countJoints counts string-literal concatenation joints: "…" + "…",
// "…" & "…", '…' + '…'.
func countJoints(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		q := s[i]
		if q != '"' && q != '\'' {
			continue
		}
		j := skipBlanks(s, i+1)
		if j >= len(s) || !(s[j] == '+' || (s[j] == '&' && q == '"')) {
			continue
		}
		j = skipBlanks(s, j+1)
		if j < len(s) && s[j] == q {
			n++
			i = j
		}
	}
	return n
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// countCarets counts letters split by a cmd caret (p^ow).
func countCarets(s string, limit int) int {
	n := 0
	for i := 1; i+1 < len(s) && n < limit; i++ {
		if s[i] == '^' && isLetter(s[i-1]) && isLetter(s[i+1]) {
			n++
		}
	}
	return n
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
