package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime/quotedprintable"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
)

// This file is a small RFC 5322 / MIME writer. It exists so that every
// byte of a sample is chosen here (boundaries, dates, encodings, folding)
// and nothing depends on a library's defaults or on the clock.

const crlf = "\r\n"

// Charsets understood by encodeText and the header encoders.
const (
	csUTF8     = "UTF-8"
	csISO2022  = "ISO-2022-JP"
	csShiftJIS = "Shift_JIS"
	csASCII    = "us-ascii"
)

// Content-Transfer-Encodings.
const (
	cte7bit   = "7bit"
	cte8bit   = "8bit"
	cteBase64 = "base64"
	cteQP     = "quoted-printable"
)

// field is one header field. value is already encoded (RFC 2047) and is
// folded at whitespace when written unless raw is set.
type field struct {
	name, value string
	raw         bool
}

// entity is a message or a body part.
type entity struct {
	header []field // written first, in order
	// ctype is the Content-Type value without the boundary parameter.
	ctype string
	cte   string
	// disposition is the full Content-Disposition value, if any.
	disposition string
	// body is the leaf content before transfer encoding.
	body []byte
	// rawBody is written as is (already encoded or deliberately broken).
	rawBody bool
	// children makes the entity multipart; boundary separates them.
	children []*entity
	boundary string
	preamble string
	epilogue string
	// unterminated omits the closing delimiter.
	unterminated bool
}

// add appends a header field.
func (e *entity) add(name, value string) *entity {
	e.header = append(e.header, field{name: name, value: value})
	return e
}

// bytes renders the entity.
func (e *entity) bytes() ([]byte, error) {
	var b bytes.Buffer
	if err := e.write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (e *entity) write(b *bytes.Buffer) error {
	for _, f := range e.header {
		writeField(b, f)
	}
	if e.ctype != "" {
		v := e.ctype
		if len(e.children) > 0 {
			v += `; boundary="` + e.boundary + `"`
		}
		writeField(b, field{name: "Content-Type", value: v})
	}
	if e.cte != "" {
		writeField(b, field{name: "Content-Transfer-Encoding", value: e.cte})
	}
	if e.disposition != "" {
		writeField(b, field{name: "Content-Disposition", value: e.disposition})
	}
	b.WriteString(crlf)
	if len(e.children) > 0 {
		if e.boundary == "" {
			return fmt.Errorf("gen: multipart %q without boundary", e.ctype)
		}
		b.WriteString(e.preamble)
		for _, c := range e.children {
			b.WriteString("--" + e.boundary + crlf)
			if err := c.write(b); err != nil {
				return err
			}
			// The CRLF before a delimiter belongs to the delimiter, so a
			// body keeps its own final line break.
			b.WriteString(crlf)
		}
		if !e.unterminated {
			b.WriteString("--" + e.boundary + "--" + crlf)
		}
		b.WriteString(e.epilogue)
		return nil
	}
	if e.rawBody {
		b.Write(e.body)
		return nil
	}
	enc, err := transferEncode(e.cte, e.body)
	if err != nil {
		return err
	}
	b.Write(enc)
	return nil
}

// writeField writes "Name: value" folded at whitespace near 76 columns.
func writeField(b *bytes.Buffer, f field) {
	line := f.name + ": " + f.value
	if f.raw || len(line) <= 76 {
		b.WriteString(line + crlf)
		return
	}
	col := 0
	first := true
	for _, w := range strings.Split(line, " ") {
		switch {
		case first:
			b.WriteString(w)
			col = len(w)
			first = false
		case col+1+len(w) > 76:
			b.WriteString(crlf + " " + w)
			col = 1 + len(w)
		default:
			b.WriteString(" " + w)
			col += 1 + len(w)
		}
	}
	b.WriteString(crlf)
}

// transferEncode applies a Content-Transfer-Encoding to a leaf body.
func transferEncode(cte string, body []byte) ([]byte, error) {
	switch strings.ToLower(cte) {
	case cteBase64:
		return base64Lines(body), nil
	case cteQP:
		var out bytes.Buffer
		w := quotedprintable.NewWriter(&out)
		if _, err := w.Write(toCRLF(body)); err != nil {
			return nil, fmt.Errorf("gen: quoted-printable: %w", err)
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("gen: quoted-printable: %w", err)
		}
		return ensureCRLF(out.Bytes()), nil
	case "", cte7bit, cte8bit:
		return ensureCRLF(toCRLF(body)), nil
	}
	return nil, fmt.Errorf("gen: unknown transfer encoding %q", cte)
}

// base64Lines encodes b in 76-column lines ending in CRLF.
func base64Lines(b []byte) []byte {
	s := base64.StdEncoding.EncodeToString(b)
	var out bytes.Buffer
	for len(s) > 76 {
		out.WriteString(s[:76] + crlf)
		s = s[76:]
	}
	if s != "" {
		out.WriteString(s + crlf)
	}
	return out.Bytes()
}

// toCRLF turns bare LF line ends into CRLF.
func toCRLF(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

func ensureCRLF(b []byte) []byte {
	if len(b) == 0 || bytes.HasSuffix(b, []byte(crlf)) {
		return b
	}
	return append(b, crlf...)
}

// encodeText converts UTF-8 text to a charset. ISO-2022-JP is encoded line
// by line so that every line returns to ASCII before its end (RFC 1468).
func encodeText(charset, s string) ([]byte, error) {
	switch charset {
	case csUTF8, csASCII:
		return []byte(s), nil
	case csISO2022:
		var out bytes.Buffer
		for i, l := range strings.Split(s, "\n") {
			if i > 0 {
				out.WriteString("\n")
			}
			cr := strings.HasSuffix(l, "\r")
			l = strings.TrimSuffix(l, "\r")
			enc, err := japanese.ISO2022JP.NewEncoder().String(l)
			if err != nil {
				return nil, fmt.Errorf("gen: ISO-2022-JP: %q: %w", l, err)
			}
			out.WriteString(enc)
			if cr {
				out.WriteString("\r")
			}
		}
		return out.Bytes(), nil
	case csShiftJIS:
		enc, err := japanese.ShiftJIS.NewEncoder().String(s)
		if err != nil {
			return nil, fmt.Errorf("gen: Shift_JIS: %w", err)
		}
		return []byte(enc), nil
	}
	return nil, fmt.Errorf("gen: unknown charset %q", charset)
}

// textPart is a text/<sub> leaf in the given charset and encoding.
func textPart(sub, charset, cte, text string) (*entity, error) {
	body, err := encodeText(charset, string(toCRLF([]byte(text))))
	if err != nil {
		return nil, err
	}
	return &entity{
		ctype: "text/" + sub + "; charset=" + quoteParam(charset),
		cte:   cte,
		body:  body,
	}, nil
}

// multipart builds a multipart/<sub> entity.
func multipart(sub, boundary string, parts ...*entity) *entity {
	return &entity{ctype: "multipart/" + sub, boundary: boundary, children: parts}
}

// attachment is a base64 attachment. Non-ASCII names use RFC 2231 in
// Content-Disposition (charset nameCharset) and RFC 2047 in the
// Content-Type name parameter, as Japanese mailers commonly do.
func attachment(name, ctype, nameCharset string, data []byte) (*entity, error) {
	e := &entity{ctype: ctype, cte: cteBase64, body: data}
	if isASCII(name) {
		e.ctype += "; name=" + quoteParam(name)
		e.disposition = "attachment; filename=" + quoteParam(name)
		return e, nil
	}
	word, err := encodeWords(nameCharset, name)
	if err != nil {
		return nil, err
	}
	ext, err := rfc2231("filename", nameCharset, name)
	if err != nil {
		return nil, err
	}
	e.ctype += `; name="` + word + `"`
	e.disposition = "attachment; " + ext
	return e, nil
}

// rfc822Part wraps a whole message as message/rfc822.
func rfc822Part(msg []byte, filename string) *entity {
	e := &entity{ctype: "message/rfc822", cte: cte7bit, body: msg, rawBody: true}
	if is8bit(msg) {
		e.cte = cte8bit
	}
	if filename != "" {
		e.disposition = "attachment; filename=" + quoteParam(filename)
	}
	return e
}

// encodeWords RFC 2047 B-encodes s if it has non-ASCII text. Words made only
// of ASCII stay readable; each run of words holding non-ASCII text becomes
// one or more encoded words (the space between adjacent encoded words is
// ignored by decoders, so it is encoded inside the run).
func encodeWords(charset, s string) (string, error) {
	if isASCII(s) {
		return s, nil
	}
	words := strings.Split(s, " ")
	var out []string
	for i := 0; i < len(words); {
		if isASCII(words[i]) {
			out = append(out, words[i])
			i++
			continue
		}
		j := i
		for j < len(words) && !isASCII(words[j]) {
			j++
		}
		enc, err := bEncode(charset, strings.Join(words[i:j], " "))
		if err != nil {
			return "", err
		}
		out = append(out, enc...)
		i = j
	}
	return strings.Join(out, " "), nil
}

// bEncode splits s into encoded words of at most 75 characters, each
// holding whole characters (and, for ISO-2022-JP, a complete escape
// sequence ending in ASCII).
func bEncode(charset, s string) ([]string, error) {
	// Words stay under 67 characters so that "Subject: " and a word fit
	// on one 76-column line (RFC 2047 allows 75).
	prefix := "=?" + charset + "?B?"
	maxRaw := (66 - len(prefix) - 2) / 4 * 3
	var words []string
	var chunk []rune
	flush := func(raw []byte) {
		words = append(words, prefix+base64.StdEncoding.EncodeToString(raw)+"?=")
		chunk = chunk[:0]
	}
	var last []byte
	for _, r := range s {
		next := append(append([]rune{}, chunk...), r)
		raw, err := encodeText(charset, string(next))
		if err != nil {
			return nil, err
		}
		if len(raw) > maxRaw && len(chunk) > 0 {
			flush(last)
			next = []rune{r}
			if raw, err = encodeText(charset, string(next)); err != nil {
				return nil, err
			}
		}
		chunk = next
		last = raw
	}
	if len(chunk) > 0 {
		flush(last)
	}
	return words, nil
}

// address renders a mailbox; a non-ASCII display name is B-encoded.
func address(display, charset, addr string) (string, error) {
	if display == "" {
		return addr, nil
	}
	if isASCII(display) {
		return quotePhrase(display) + " <" + addr + ">", nil
	}
	enc, err := bEncode(charset, display)
	if err != nil {
		return "", err
	}
	return strings.Join(enc, " ") + " <" + addr + ">", nil
}

// rfc2231 renders an RFC 2231 extended parameter: name*=, the charset, an
// empty language between two apostrophes, the percent-encoded value; split
// into numbered continuations when long. Percent escapes are never split.
func rfc2231(name, charset, value string) (string, error) {
	raw, err := encodeText(charset, value)
	if err != nil {
		return "", err
	}
	var tokens []string
	for _, c := range raw {
		if isAttrChar(c) {
			tokens = append(tokens, string(rune(c)))
		} else {
			tokens = append(tokens, fmt.Sprintf("%%%02X", c))
		}
	}
	const maxChunk = 60
	var chunks []string
	var cur strings.Builder
	for _, t := range tokens {
		if cur.Len()+len(t) > maxChunk {
			chunks = append(chunks, cur.String())
			cur.Reset()
		}
		cur.WriteString(t)
	}
	chunks = append(chunks, cur.String())
	lead := charset + "''"
	if len(chunks) == 1 {
		return name + "*=" + lead + chunks[0], nil
	}
	parts := make([]string, len(chunks))
	for i, c := range chunks {
		if i == 0 {
			c = lead + c
		}
		parts[i] = fmt.Sprintf("%s*%d*=%s", name, i, c)
	}
	return strings.Join(parts, "; "), nil
}

// isAttrChar reports RFC 2231 attribute-char: a token character other than
// '*', the apostrophe and '%'.
func isAttrChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	return !strings.ContainsRune(`*'%()<>@,;:\"/[]?=`, rune(c))
}

// quoteParam quotes a parameter value when it is not a token.
func quoteParam(v string) string {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
		}
	}
	return v
}

// quotePhrase quotes an ASCII display name when it holds specials.
func quotePhrase(v string) string {
	if strings.ContainsAny(v, `()<>[]:;@\,."`) {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
	}
	return v
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func is8bit(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}
