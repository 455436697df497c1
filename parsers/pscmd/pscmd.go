// Package pscmd finds PowerShell encoded commands in text and decodes them.
//
// Malspam hides its PowerShell stage as base64 of UTF-16LE text:
// `powershell -nop -w hidden -enc SQBFAFgA…` in a macro, a shortcut's
// arguments, a batch file or an e-mail body (catalogue §1, §15), often with
// the word split by cmd carets (`P^Ow^er^she^L^L -w hidden -ENCOD …`).
// Scripts also decode inline runs with [Convert]::FromBase64String('…').
//
// The package is pure: Find reads a string and returns what it decoded, with
// fixed bounds on the number of results and the length of a token.
package pscmd

import (
	"encoding/base64"
	"regexp"
	"strings"
	"triage/parsers"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Bounds.
const (
	// MaxResults is the most results Find returns.
	MaxResults = 32
	// MaxToken is the longest base64 token Find decodes, in characters.
	MaxToken = 1 << 20
	// maxCandidates bounds the occurrences of each pattern examined.
	maxCandidates = 8 * MaxResults
	// maxSwitchSpan is how far after the word powershell the encoded
	// switch may start.
	maxSwitchSpan = 1024
	// maxSwitchTokens bounds the switches and values skipped before it.
	maxSwitchTokens = 24
	// maxValueTokens bounds the non-switch words skipped before it.
	maxValueTokens = 8
	// maxGlue is how many separator bytes may sit between the switch and
	// its token (quotes, spaces, VBA/JS concatenation operators).
	maxGlue = 32
)

// Kinds of result.
const (
	// KindPowerShell: powershell/pwsh … -EncodedCommand <base64>.
	KindPowerShell = "powershell_encoded"
	// KindBareEnc: -enc <base64> without the word powershell before it.
	KindBareEnc = "bare_enc"
	// KindFromBase64UTF16: FromBase64String('…') of UTF-16LE text, the
	// in-script form of an encoded command.
	KindFromBase64UTF16 = "from_base64_utf16"
	// KindFromBase64Text: FromBase64String('…') of ASCII/UTF-8 text.
	KindFromBase64Text = "from_base64_text"
)

// Minimum token lengths: "calc" is 12 base64 characters in UTF-16LE.
const (
	minTokenPowerShell = 12
	minTokenBare       = 20
	minTokenFromBase64 = 12
)

// Decoded is one decoded command.
type Decoded struct {
	// Encoded is the base64 token as written, less cmd carets.
	Encoded string
	// Text is the decoded command as UTF-8.
	Text string
	// Offset is the token's byte offset in the searched text.
	Offset int
	// Kind is one of the Kind constants.
	Kind string
}

// The patterns run on an ASCII-lowercased copy of the text, which keeps
// byte offsets, so tokens are read from the original.
var (
	// psWordRE finds powershell or pwsh, tolerating cmd carets between
	// letters. The caller checks the byte before the match.
	psWordRE = regexp.MustCompile(`p\^*o\^*w\^*e\^*r\^*s\^*h\^*e\^*l\^*l|p\^*w\^*s\^*h`)
	// fromB64RE finds FromBase64String('…') with a literal argument.
	fromB64RE = regexp.MustCompile(`frombase64string\s*\(\s*["']([a-z0-9+/=\s]{12,})["']`)
)

// Find returns the encoded commands in s, in order of appearance, each
// token at most once, at most MaxResults.
func Find(s string) []Decoded {
	f := finder{s: s, low: parsers.ASCIILower(s), seen: map[string]bool{}}
	f.powershell()
	f.bare()
	f.fromBase64()
	sortByOffset(f.out)
	return f.out
}

type finder struct {
	s    string
	low  string // s with ASCII letters lowercased
	out  []Decoded
	seen map[string]bool // tokens already returned or rejected
	// taken marks token offsets already claimed by an earlier pass.
	taken map[int]bool
}

func (f *finder) full() bool { return len(f.out) >= MaxResults }

func (f *finder) add(d Decoded) {
	if f.full() || f.seen[d.Encoded] {
		return
	}
	f.seen[d.Encoded] = true
	f.out = append(f.out, d)
}

func (f *finder) claim(off int) bool {
	if f.taken == nil {
		f.taken = map[int]bool{}
	}
	if f.taken[off] {
		return false
	}
	f.taken[off] = true
	return true
}

// powershell handles the explicit form.
func (f *finder) powershell() {
	if !strings.Contains(f.low, "powershell") && !strings.Contains(f.low, "pwsh") && strings.IndexByte(f.s, '^') < 0 {
		return
	}
	for _, m := range psWordRE.FindAllStringIndex(f.low, maxCandidates) {
		if f.full() {
			return
		}
		if m[0] > 0 && isWordByte(f.s[m[0]-1]) {
			continue // WindowsPowerShell\…, mypowershell
		}
		off, tok, ok := scanSwitches(f.s, m[1])
		if !ok || len(tok) < minTokenPowerShell || !f.claim(off) {
			continue
		}
		if text, ok := decodeUTF16Token(tok, 0.9, 0.5); ok {
			f.add(Decoded{Encoded: tok, Text: text, Offset: off, Kind: KindPowerShell})
		}
	}
}

// bare handles -enc <token> with no powershell word claiming it.
func (f *finder) bare() {
	s := f.s
	for i, n := 0, 0; i < len(s) && n < maxCandidates && !f.full(); i++ {
		w := dashWidth(s, i)
		if w == 0 || (i > 0 && !isSwitchBoundary(s[i-1])) {
			continue
		}
		j := i + w
		for j < len(s) && s[j] == '^' {
			j++
		}
		if j >= len(s) || (s[j] != 'e' && s[j] != 'E') {
			continue
		}
		n++
		name, next := readSwitchName(s, j)
		if !isEncSwitch(name) || next >= len(s) || !(isSpace(s[next]) || s[next] == '"' || s[next] == '\'' || s[next] == ':') {
			continue
		}
		off, tok, ok := readToken(s, next)
		if !ok || len(tok) < minTokenBare || !f.claim(off) {
			continue
		}
		if text, ok := decodeUTF16Token(tok, 0.95, 0.8); ok {
			f.add(Decoded{Encoded: tok, Text: text, Offset: off, Kind: KindBareEnc})
		}
	}
}

// fromBase64 handles FromBase64String('…') whose bytes are text.
func (f *finder) fromBase64() {
	if !strings.Contains(f.low, "frombase64string") {
		return
	}
	for _, m := range fromB64RE.FindAllStringSubmatchIndex(f.low, maxCandidates) {
		if f.full() {
			return
		}
		off := m[2]
		raw := f.s[m[2]:m[3]]
		if len(raw) > MaxToken || !f.claim(off) {
			continue
		}
		tok := strings.Join(strings.Fields(raw), "")
		if len(tok) < minTokenFromBase64 {
			continue
		}
		b, ok := decodeBase64(tok)
		if !ok {
			continue
		}
		if text, ok := utf16Text(b, 0.95, 0.8); ok {
			f.add(Decoded{Encoded: tok, Text: text, Offset: off, Kind: KindFromBase64UTF16})
			continue
		}
		if text, ok := plainText(b); ok {
			f.add(Decoded{Encoded: tok, Text: text, Offset: off, Kind: KindFromBase64Text})
		}
	}
}

// scanSwitches reads the command line after the word powershell starting
// at i and returns the token following an -EncodedCommand switch.
func scanSwitches(s string, i int) (off int, tok string, ok bool) {
	start := i
	// The rest of the program name: .exe, a closing quote.
	for i < len(s) && !isSpace(s[i]) && s[i] != '"' && s[i] != '\'' && !isDashAt(s, i) {
		if i-start > 16 {
			return 0, "", false
		}
		i++
	}
	values := 0
	for n := 0; n < maxSwitchTokens; n++ {
		for i < len(s) && isGlue(s[i]) {
			i++
		}
		if i >= len(s) || i-start > maxSwitchSpan {
			return 0, "", false
		}
		if w := dashWidth(s, i); w > 0 {
			name, next := readSwitchName(s, i+w)
			i = next
			switch {
			case isEncSwitch(name):
				return readToken(s, i)
			case isCommandSwitch(name):
				// -Command and -File end the switches.
				return 0, "", false
			}
			if i < len(s) && s[i] == ':' {
				i++
			}
			continue
		}
		// A switch value (hidden, bypass) or the start of a command.
		values++
		if values > maxValueTokens {
			return 0, "", false
		}
		for i < len(s) && !isSpace(s[i]) && s[i] != '"' && s[i] != '\'' {
			i++
		}
	}
	return 0, "", false
}

// readSwitchName reads letters from i, skipping carets, lowercased.
func readSwitchName(s string, i int) (string, int) {
	var b strings.Builder
	for i < len(s) && b.Len() < 32 {
		c := s[i]
		switch {
		case c == '^':
		case c >= 'a' && c <= 'z':
			b.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			return b.String(), i
		}
		i++
	}
	return b.String(), i
}

// readToken skips separators after a switch and reads the base64 token,
// dropping cmd carets inside it.
func readToken(s string, i int) (off int, tok string, ok bool) {
	glue := 0
	for i < len(s) && (isGlue(s[i]) || s[i] == ':') {
		i++
		glue++
		if glue > maxGlue {
			return 0, "", false
		}
	}
	off = i
	var b strings.Builder
	for i < len(s) {
		c := s[i]
		if c == '^' {
			i++
			continue
		}
		if !parsers.IsBase64Byte(c) {
			break
		}
		if b.Len() >= MaxToken {
			return 0, "", false
		}
		b.WriteByte(c)
		i++
	}
	if i < len(s) && isWordByte(s[i]) {
		return 0, "", false // the run continues with non-base64 letters
	}
	if b.Len() == 0 {
		return 0, "", false
	}
	return off, b.String(), true
}

// isEncSwitch reports whether name abbreviates -EncodedCommand, as
// PowerShell accepts it (any prefix, and the alias -ec).
func isEncSwitch(name string) bool {
	return name == "ec" || (name != "" && strings.HasPrefix("encodedcommand", name))
}

// isCommandSwitch reports -Command or -File (which end the switch list).
func isCommandSwitch(name string) bool {
	return name != "" && (strings.HasPrefix("command", name) || strings.HasPrefix("file", name))
}

func isWordByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// isGlue reports bytes that may separate switches and their values in a
// command line or in source code building one: spaces, quotes, carets,
// concatenation operators and brackets.
func isGlue(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '"', '\'', '^', '&', '+', '(', ')', ',', '_', '`':
		return true
	}
	return false
}

// isSwitchBoundary reports bytes that may precede a switch.
func isSwitchBoundary(c byte) bool {
	return isSpace(c) || c == '"' || c == '\'' || c == '(' || c == ',' || c == '^' || c == '`'
}

// dashWidth returns the byte width of a switch introducer at i: '-', '/',
// or an en dash, em dash, horizontal bar or minus sign (PowerShell accepts
// the dashes, and copy-paste through Office produces them). 0 if none.
func dashWidth(s string, i int) int {
	switch s[i] {
	case '-', '/':
		return 1
	case 0xe2:
		r, w := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\u2013', '\u2014', '\u2015', '\u2212':
			return w
		}
	}
	return 0
}

func isDashAt(s string, i int) bool { return dashWidth(s, i) > 0 }

// decodeBase64 decodes standard base64 with or without padding.
func decodeBase64(tok string) ([]byte, bool) {
	t := strings.TrimRight(tok, "=")
	if strings.ContainsRune(t, '=') {
		return nil, false
	}
	if len(t)%4 == 1 {
		t = t[:len(t)-1]
	}
	b, err := base64.RawStdEncoding.DecodeString(t)
	if err != nil || len(b) == 0 {
		return nil, false
	}
	return b, true
}

// decodeUTF16Token decodes a base64 token holding UTF-16LE text.
func decodeUTF16Token(tok string, minPrintable, minASCII float64) (string, bool) {
	b, ok := decodeBase64(tok)
	if !ok {
		return "", false
	}
	return utf16Text(b, minPrintable, minASCII)
}

// utf16Text converts UTF-16LE bytes to UTF-8 when at least minPrintable of
// the characters are printable and minASCII of them are ASCII.
func utf16Text(b []byte, minPrintable, minASCII float64) (string, bool) {
	if len(b) < 2 {
		return "", false
	}
	b = b[:len(b)&^1]
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	if len(u) > 0 && u[0] == 0xfeff {
		u = u[1:]
	}
	if len(u) == 0 {
		return "", false
	}
	runes := utf16.Decode(u)
	printable, ascii := 0, 0
	for _, r := range runes {
		if isPrintable(r) {
			printable++
		}
		if r < 0x80 {
			ascii++
		}
	}
	n := float64(len(runes))
	if float64(printable) < minPrintable*n || float64(ascii) < minASCII*n {
		return "", false
	}
	return strings.TrimRight(string(runes), "\x00"), true
}

// plainText accepts UTF-8 bytes that are nearly all printable.
func plainText(b []byte) (string, bool) {
	if !utf8.Valid(b) {
		return "", false
	}
	s := strings.TrimPrefix(string(b), "\ufeff")
	n, printable := 0, 0
	for _, r := range s {
		n++
		if isPrintable(r) {
			printable++
		}
	}
	if n == 0 || float64(printable) < 0.95*float64(n) {
		return "", false
	}
	return s, true
}

func isPrintable(r rune) bool {
	return r == '\t' || r == '\r' || r == '\n' || (r != utf8.RuneError && unicode.IsPrint(r))
}

// sortByOffset orders results by offset (insertion sort: at most 32).
func sortByOffset(d []Decoded) {
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j].Offset < d[j-1].Offset; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}
