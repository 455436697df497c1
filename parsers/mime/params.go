package mime

import (
	"bytes"
	stdmime "mime"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/text/encoding/htmlindex"
)

// paramValue returns the value of parameter key in a Content-Type or
// Content-Disposition header, handling RFC 2231 extended values in any
// charset (Go's mime package only accepts UTF-8 and US-ASCII there) and
// RFC 2231 continuations. src is "rfc2231" for extended values.
func paramValue(raw, key string) (val, src string, ok bool) {
	// Go's parser is right for plain parameters but drops RFC 2231 sections
	// in charsets other than UTF-8 (ISO-2022-JP continuations lose their
	// first part): extended parameters are always read by the scan below.
	if !strings.Contains(strings.ToLower(raw), key+"*") {
		if _, params, err := stdmime.ParseMediaType(raw); err == nil {
			if v, found := params[key]; found && v != "" {
				return v, "", true
			}
		}
	}
	// Manual scan: split on ';' outside quotes.
	type piece struct {
		idx int
		ext bool
		val string
	}
	var pieces []piece
	plain := ""
	for _, p := range splitParams(raw) {
		eq := strings.IndexByte(p, '=')
		if eq < 0 {
			continue
		}
		name := strings.ToLower(strings.TrimSpace(p[:eq]))
		v := strings.TrimSpace(p[eq+1:])
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = unquote(v[1 : len(v)-1])
		}
		switch {
		case name == key:
			plain = v
		case strings.HasPrefix(name, key+"*"):
			rest := strings.TrimPrefix(name, key+"*")
			ext := strings.HasSuffix(rest, "*") || rest == ""
			rest = strings.TrimSuffix(rest, "*")
			idx := 0
			if rest != "" {
				n, err := strconv.Atoi(rest)
				if err != nil || n < 0 || n > 1000 {
					continue
				}
				idx = n
			}
			pieces = append(pieces, piece{idx: idx, ext: ext, val: v})
		}
	}
	if len(pieces) == 0 {
		if plain != "" {
			return plain, "", true
		}
		return "", "", false
	}
	sort.SliceStable(pieces, func(i, j int) bool { return pieces[i].idx < pieces[j].idx })
	var charset string
	var buf bytes.Buffer
	for i, p := range pieces {
		v := p.val
		if p.ext {
			if i == 0 {
				// charset'language'value
				if parts := strings.SplitN(v, "'", 3); len(parts) == 3 {
					charset, v = parts[0], parts[2]
				}
			}
			if dec, err := url.PathUnescape(v); err == nil {
				v = dec
			}
		}
		buf.WriteString(v)
	}
	out := buf.String()
	if charset != "" && !strings.EqualFold(charset, "utf-8") && !strings.EqualFold(charset, "us-ascii") {
		if enc, err := htmlindex.Get(charset); err == nil {
			if d, err := enc.NewDecoder().String(out); err == nil {
				out = d
			}
		}
	}
	return out, "rfc2231", true
}

func splitParams(raw string) []string {
	var out []string
	var cur strings.Builder
	inQ := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '\\' && inQ && i+1 < len(raw):
			cur.WriteByte(c)
			i++
			cur.WriteByte(raw[i])
			continue
		case c == '"':
			inQ = !inQ
		case c == ';' && !inQ:
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	out = append(out, cur.String())
	if len(out) > 0 {
		out = out[1:] // the media type itself
	}
	return out
}

func unquote(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// htmlText returns the visible text of an HTML body (for password search).
func htmlText(b []byte) string {
	z := html.NewTokenizer(bytes.NewReader(b))
	var sb strings.Builder
	skip := 0
	for n := 0; n < 200000; n++ {
		switch z.Next() {
		case html.ErrorToken:
			return sb.String()
		case html.StartTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style":
				skip++
			case "br", "p", "div", "tr", "li":
				sb.WriteByte('\n')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style":
				if skip > 0 {
					skip--
				}
			case "p", "div", "tr", "li":
				sb.WriteByte('\n')
			}
		case html.TextToken:
			if skip == 0 {
				sb.Write(z.Text())
			}
		}
		if sb.Len() > 1<<20 {
			break
		}
	}
	return sb.String()
}

// Password extraction: "password: 7731", 「パスワード：7731」, "PW 7731",
// and a password alone on the line after a line naming one.
var (
	pwWords  = `(?:password|passwort|passcode|pass|pwd|pw|kennwort|mot de passe|contraseña|senha|hasło|haslo|parola|密码|密碼|パスワード|ﾊﾟｽﾜｰﾄﾞ|暗証番号|解凍(?:パスワード|キー)?|비밀번호)`
	pwInline = regexp.MustCompile(`(?i)` + pwWords + `\s*(?:(?:is|ist|est|lautet|は)\s*)?(?:[:：=\-－]\s*)?[「『"'“‘(（\[]?\s*([^\s「」『』"'“”‘’()（）\[\]、。,，;；:：]{3,64})`)
	pwLine   = regexp.MustCompile(`(?i)` + pwWords)
)

// pwHints are lowercase substrings of every word pwWords matches, none a
// substring of another ("pwd" holds "pw", "mot de passe" holds "pass").
var pwHints = []string{"pass", "pw", "kennwort", "contraseña", "senha", "hasło", "haslo", "parola", "密码", "密碼", "パスワード", "ﾊﾟｽﾜｰﾄﾞ", "暗証番号", "解凍", "비밀번호"}

// hintStarts maps each byte that can start a rune lowercasing to a hint's
// first rune (p and P; k, K and the Kelvin sign's lead byte; …) to the
// hints starting with that rune.
var hintStarts = func() (t [256][]string) {
	for _, h := range pwHints {
		first, _ := utf8.DecodeRuneInString(h)
		for r := unicode.SimpleFold(first); ; r = unicode.SimpleFold(r) {
			if unicode.ToLower(r) == first {
				b := utf8.AppendRune(nil, r)[0]
				if !slices.Contains(t[b], h) {
					t[b] = append(t[b], h)
				}
			}
			if r == first {
				break
			}
		}
	}
	return t
}()

// hasHint reports whether strings.ToLower(text) holds one of pwHints,
// without lowercasing text: a hint starts at a rune whose byte is in
// hintStarts, and every rune after it lowercases to the hint's.
func hasHint(text string) bool {
	for i := 0; i < len(text); i++ {
		c := text[i]
		hints := hintStarts[c]
		if hints == nil {
			continue
		}
		for _, h := range hints {
			switch {
			case h[0] >= utf8.RuneSelf:
				// CJK and Hangul hints: no other rune lowercases to
				// theirs (TestHasHint checks), so they match as bytes.
				if strings.HasPrefix(text[i:], h) {
					return true
				}
			case c < utf8.RuneSelf && i+1 < len(text) && text[i+1] < utf8.RuneSelf && asciiLower(text[i+1]) != h[1]:
				// An ASCII letter then another: the second is the hint's
				// second or nothing matches here.
			case lowerHasPrefix(text[i:], h):
				return true
			}
		}
	}
	return false
}

func asciiLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// lowerHasPrefix reports whether strings.ToLower(s) starts with prefix.
func lowerHasPrefix(s, prefix string) bool {
	for _, want := range prefix {
		if len(s) == 0 {
			return false
		}
		r, size := utf8.DecodeRuneInString(s)
		if c := s[0]; c < utf8.RuneSelf && 'A' <= c && c <= 'Z' {
			r = rune(c + 'a' - 'A')
		} else if c >= utf8.RuneSelf {
			r = unicode.ToLower(r)
		}
		if r != want {
			return false
		}
		s = s[size:]
	}
	return true
}

// maxPasswordText is the prefix of a text Passwords reads.
const maxPasswordText = 1 << 20

// Passwords returns candidate passwords named in a text, most likely first.
func Passwords(text string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		p = strings.TrimSpace(strings.TrimRight(p, ".。!！"))
		if len(p) < 3 || len(p) > 64 || seen[p] {
			return
		}
		seen[p] = true
		out = append(out, p)
	}
	if len(text) > maxPasswordText {
		text = text[:maxPasswordText]
	}
	// The regular expressions are costly on long bodies; most mail names no
	// password at all, which a plain substring scan tells cheaply.
	if !hasHint(text) {
		return nil
	}
	for _, m := range pwInline.FindAllStringSubmatch(text, 32) {
		add(m[1])
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if i > 5000 || len(out) > 32 {
			break
		}
		if !hasHint(l) || !pwLine.MatchString(l) {
			continue
		}
		// The next non-empty line, if it is a single token.
		for j := i + 1; j < len(lines) && j <= i+3; j++ {
			t := strings.TrimSpace(lines[j])
			if t == "" {
				continue
			}
			t = strings.Trim(t, "「」『』\"'“”‘’()（）[]")
			if !strings.ContainsAny(t, " \t") {
				add(t)
			}
			break
		}
	}
	return out
}

func passwordsFrom(subject string, texts []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range append([]string{subject}, texts...) {
		for _, p := range Passwords(t) {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}
