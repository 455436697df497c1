package uue

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"triage/parsers/names"
)

// Encodings of a block, as reported in child meta.
const (
	EncUU     = "uuencode"
	EncXX     = "xxencode"
	EncBase64 = "base64" // POSIX uuencode -m: begin-base64 … ====
)

// beginRE is a begin line: `begin 644 name` or `begin-base64 644 name`.
var beginRE = regexp.MustCompile(`^begin(-base64)? ([0-7]{3,4}) +(\S.*)$`)

// alphabet is a 6-bit alphabet of the line-oriented encodings.
type alphabet struct {
	enc string
	val [256]int8 // -1: not in the alphabet
}

// uuAlphabet: ' ' (0x20) to '`' (0x60), each the value plus 0x20; the
// backtick stands for 0 as the space does.
var uuAlphabet = func() *alphabet {
	a := &alphabet{enc: EncUU}
	for i := range a.val {
		a.val[i] = -1
	}
	for c := 0x20; c <= 0x60; c++ {
		a.val[c] = int8((c - 0x20) & 0x3f)
	}
	return a
}()

// xxAlphabet is xxencode's table.
var xxAlphabet = func() *alphabet {
	a := &alphabet{enc: EncXX}
	for i := range a.val {
		a.val[i] = -1
	}
	for i, c := range []byte("+-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
		a.val[c] = int8(i)
	}
	return a
}()

// b64Val is the standard base64 alphabet.
var b64Val = func() [256]int8 {
	var t [256]int8
	for i := range t {
		t[i] = -1
	}
	for i, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = int8(i)
	}
	return t
}()

// Block is one begin … end block.
type Block struct {
	Mode     string // octal file mode from the begin line
	RawName  string // the name as written (clipped)
	Name     string // base name, safe to show
	Encoding string // EncUU, EncXX or EncBase64
	Data     []byte // decoded bytes (a prefix when Cut)
	// Problems are the block's malformations, in order.
	Problems []string
	// Cut is set when decoding stopped at the byte limit.
	Cut bool
}

// header is a recognised begin line.
type header struct {
	base64     bool
	mode, name string
	body       int // offset of the line after the begin line
}

// lineAt returns the line starting at i without its LF or CRLF end, and
// the offset of the next line.
func lineAt(data []byte, i int) (line []byte, next int) {
	j := bytes.IndexByte(data[i:], '\n')
	if j < 0 {
		line, next = data[i:], len(data)
	} else {
		line, next = data[i:i+j], i+j+1
	}
	return bytes.TrimRight(line, "\r"), next
}

// maxBeginLine bounds the begin line handed to the regexp.
const maxBeginLine = 4096

// nextBegin returns the first begin line at or after from: its offset and
// parsed header, or -1.
func nextBegin(data []byte, from int) (int, header) {
	for from < len(data) {
		i := bytes.Index(data[from:], []byte("begin"))
		if i < 0 {
			return -1, header{}
		}
		i += from
		if i > 0 && data[i-1] != '\n' {
			from = i + len("begin")
			continue
		}
		line, next := lineAt(data, i)
		if h, ok := parseBegin(line); ok {
			h.body = next
			return i, h
		}
		from = next
	}
	return -1, header{}
}

// isBeginLine reports whether line is a begin line.
func isBeginLine(line []byte) bool {
	_, ok := parseBegin(line)
	return ok
}

func parseBegin(line []byte) (header, bool) {
	if !bytes.HasPrefix(line, []byte("begin")) || len(line) > maxBeginLine {
		return header{}, false
	}
	m := beginRE.FindSubmatch(line)
	if m == nil {
		return header{}, false
	}
	name := strings.TrimRight(string(m[3]), " \t")
	return header{base64: len(m[1]) > 0, mode: string(m[2]), name: name}, true
}

// isEnd reports whether line is the end line.
func isEnd(line []byte) bool { return string(bytes.TrimRight(line, " \t")) == "end" }

// maxNameBytes bounds a kept file name.
const maxNameBytes = 255

// cleanName returns the base name of a begin line's name: no directories,
// no control characters, valid UTF-8, at most maxNameBytes; a placeholder
// when nothing is left.
func cleanName(raw string, n int) string {
	s := strings.ToValidUTF8(names.Base(raw), "_")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '_'
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxNameBytes {
		cut := maxNameBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	if s == "" || s == "." || s == ".." {
		return fmt.Sprintf("uue-block-%d.bin", n)
	}
	return s
}

// clipName bounds the raw name kept for the report.
func clipName(s string) string {
	if len(s) > maxNameBytes {
		s = s[:maxNameBytes]
	}
	return strings.ToValidUTF8(s, "_")
}

// lineInfo describes one decoded line.
type lineInfo struct {
	n     int  // declared byte count
	short bool // fewer characters than n bytes need, even unpadded
	ok    bool // every character of the data is in the alphabet
}

// inspect reads one line's length character and checks its data.
func (a *alphabet) inspect(line []byte) lineInfo {
	if a == xxAlphabet {
		line = bytes.TrimRight(line, " \t")
	}
	if len(line) == 0 {
		// A zero-length line whose space a mailer stripped.
		return lineInfo{ok: a == uuAlphabet}
	}
	v := a.val[line[0]]
	if v < 0 {
		return lineInfo{}
	}
	n := int(v)
	body := line[1:]
	need := (n + 2) / 3 * 4
	if len(body) > need {
		body = body[:need] // trailing spaces or a per-line checksum
	}
	for _, c := range body {
		if a.val[c] < 0 {
			return lineInfo{n: n}
		}
	}
	return lineInfo{n: n, short: len(body) < (n*4+2)/3, ok: true}
}

// appendLine decodes one line (already inspected) onto dst, at most max
// bytes in all; missing characters count as zero.
func (a *alphabet) appendLine(dst, line []byte, n, max int) []byte {
	body := line
	if len(body) > 0 {
		body = body[1:]
	}
	at := func(i int) byte {
		if i < len(body) {
			if v := a.val[body[i]]; v >= 0 {
				return byte(v)
			}
		}
		return 0
	}
	for g := 0; n > 0 && len(dst) < max; g += 4 {
		c0, c1, c2, c3 := at(g), at(g+1), at(g+2), at(g+3)
		for _, b := range [3]byte{c0<<2 | c1>>4, c1<<4 | c2>>2, c2<<6 | c3} {
			if n == 0 || len(dst) >= max {
				break
			}
			dst = append(dst, b)
			n--
		}
	}
	return dst
}

// firstLine judges the line after a begin line as the start of alphabet
// a's data. ok: every character is in the alphabet (or the line ends an
// empty file). strict: also complete, as every encoder writes it; a block
// whose first line is not strict counts only if its end line is found.
func (a *alphabet) firstLine(line []byte) (ok, strict bool) {
	if isEnd(line) {
		return true, true
	}
	li := a.inspect(line)
	switch {
	case !li.ok:
		return false, false
	case li.n == 0:
		return len(line) > 0, len(line) > 0 // "`" / "+", not a blank line
	}
	return true, !li.short
}

// base64FirstLineOK is firstLineOK for begin-base64.
func base64FirstLineOK(line []byte) bool {
	t := bytes.TrimSpace(line)
	if string(t) == "====" {
		return true
	}
	if len(t) < 4 {
		return false
	}
	for _, c := range t {
		if b64Val[c] < 0 && c != '=' {
			return false
		}
	}
	return true
}

// pick chooses the alphabet of a uuencode/xxencode block from its first
// line, or nil when the begin line starts no block (prose that happens to
// begin with "begin 644 …"). strict is firstLine's.
func pick(data []byte, h header) (a *alphabet, strict bool) {
	if h.body >= len(data) {
		return nil, false
	}
	first, _ := lineAt(data, h.body)
	order := []*alphabet{uuAlphabet, xxAlphabet}
	if strings.HasSuffix(strings.ToLower(h.name), ".xxe") {
		order[0], order[1] = order[1], order[0]
	}
	var loose *alphabet
	for _, a := range order {
		ok, strict := a.firstLine(first)
		if strict {
			return a, true
		}
		if ok && loose == nil {
			loose = a
		}
	}
	return loose, false
}

// decoder decodes blocks of one text.
type decoder struct {
	data []byte
	// check is called every checkEvery lines; its error stops the block.
	check func() error
}

const checkEvery = 4096

// block decodes the block whose begin line h was found, keeping at most max
// decoded bytes. It returns the block, the offset where scanning resumes,
// and an error from check. ok is false when the begin line starts no block.
func (d *decoder) block(h header, max int64, n int) (b Block, next int, ok bool, err error) {
	b = Block{Mode: h.mode, RawName: clipName(h.name), Name: cleanName(h.name, n)}
	if h.base64 {
		if h.body >= len(d.data) {
			return b, h.body, false, nil
		}
		if first, _ := lineAt(d.data, h.body); !base64FirstLineOK(first) {
			return b, h.body, false, nil
		}
		b.Encoding = EncBase64
		next, err = d.base64(&b, h.body, max)
		return b, next, true, err
	}
	a, strict := pick(d.data, h)
	if a == nil {
		return b, h.body, false, nil
	}
	b.Encoding = a.enc
	next, ended, err := d.lines(&b, a, h.body, max)
	if !strict && !ended && err == nil {
		// An incomplete first line and no end line: prose in capitals
		// after a begin line, not a block.
		return Block{}, h.body, false, nil
	}
	return b, next, true, err
}

// lines decodes uuencode/xxencode data lines from pos. ended reports
// whether the end line was found.
func (d *decoder) lines(b *Block, a *alphabet, pos int, max int64) (next int, ended bool, err error) {
	var out []byte
	// Memory follows the encoded text actually present.
	if est := int64(len(d.data)-pos) / 4 * 3; est < max && est < 1<<20 {
		out = make([]byte, 0, est)
	}
	short, shortAt, terminated, lineNo := 0, 0, false, 0
	problem := ""
	for pos < len(d.data) && problem == "" {
		lineNo++
		if lineNo%checkEvery == 0 && d.check != nil {
			if err := d.check(); err != nil {
				b.Data = out
				return pos, false, err
			}
		}
		line, next := lineAt(d.data, pos)
		if isEnd(line) {
			b.Data = out
			d.shortProblem(b, short, shortAt)
			return next, true, nil
		}
		switch li := a.inspect(line); {
		case isBeginLine(line):
			problem = "another begin line before the end line"
		case terminated:
			problem = "no end line after the zero-length line"
		case !li.ok:
			problem = fmt.Sprintf("data line %d has a bad length or character, and no end line came before it", lineNo)
		case li.n == 0:
			terminated = true
		default:
			if li.short {
				if short == 0 {
					shortAt = lineNo
				}
				short++
			}
			if b.Cut {
				break
			}
			if int64(len(out)+li.n) > max {
				out = a.appendLine(out, line, li.n, int(max))
				b.Cut = true
				break
			}
			out = a.appendLine(out, line, li.n, len(out)+li.n)
		}
		if problem == "" {
			pos = next
		}
	}
	b.Data = out
	d.shortProblem(b, short, shortAt)
	if problem == "" {
		problem = "truncated: the text ends before the end line"
	}
	b.Problems = append(b.Problems, fmt.Sprintf("%s block %q: %s", a.enc, b.Name, problem))
	return pos, false, nil
}

func (d *decoder) shortProblem(b *Block, short, at int) {
	if short > 0 {
		b.Problems = append(b.Problems, fmt.Sprintf("%s block %q: %d line(s) shorter than their length character claims (first: data line %d); missing characters read as zero", b.Encoding, b.Name, short, at))
	}
}

// base64 decodes begin-base64 data lines from pos up to the ==== line.
func (d *decoder) base64(b *Block, pos int, max int64) (int, error) {
	var out []byte
	if est := int64(len(d.data)-pos) / 4 * 3; est < max && est < 1<<20 {
		out = make([]byte, 0, est)
	}
	var acc uint32
	bits, lineNo, padded := 0, 0, false
	for pos < len(d.data) {
		lineNo++
		if lineNo%checkEvery == 0 && d.check != nil {
			if err := d.check(); err != nil {
				b.Data = out
				return pos, err
			}
		}
		line, next := lineAt(d.data, pos)
		t := bytes.TrimSpace(line)
		if string(t) == "====" {
			b.Data = out
			return next, nil
		}
		if isBeginLine(line) {
			b.Problems = append(b.Problems, fmt.Sprintf("base64 block %q: another begin line before the ==== line", b.Name))
			b.Data = out
			return pos, nil
		}
		for _, c := range t {
			if b64Val[c] < 0 && c != '=' {
				b.Problems = append(b.Problems, fmt.Sprintf("base64 block %q: line %d is not base64 and no ==== line came before it", b.Name, lineNo))
				b.Data = out
				return pos, nil
			}
		}
		for _, c := range t {
			if c == '=' {
				padded = true
				continue
			}
			if padded {
				// Data after padding: a second stream glued on; keep
				// decoding from a clean quantum.
				acc, bits, padded = 0, 0, false
			}
			acc = acc<<6 | uint32(b64Val[c])
			bits += 6
			if bits >= 8 {
				bits -= 8
				if int64(len(out)) >= max {
					b.Cut = true
					continue
				}
				out = append(out, byte(acc>>bits))
			}
		}
		pos = next
	}
	b.Data = out
	b.Problems = append(b.Problems, fmt.Sprintf("base64 block %q: truncated: the text ends before the ==== line", b.Name))
	return pos, nil
}
