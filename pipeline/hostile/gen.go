// Package hostile generates, in memory, the inputs malspam authors use to
// break triage tools: decompression bombs, self-containing archives,
// absurd nesting and counts, structures whose offsets, counts and chains
// point past the end of the file or back into themselves, and inputs larger
// than every limit. Nothing here is committed as a file: each Case builds
// its bytes on demand, deterministically.
//
// Every file-type case is wrapped in a message (as a SOC receives it), so a
// case exercises the whole pipeline: MIME, the container, the parser under
// attack and YARA.
package hostile

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
	"unicode/utf16"

	"triage/samples/gen/office/cfb"
	"triage/samples/gen/office/ovba"
)

// Case is one hostile input.
type Case struct {
	Name  string
	Build func() []byte
	// WantFinding lists finding codes of which at least one must be in the
	// report: the limit or malformation that fired, by name.
	WantFinding []string
	// Parsers names the parsers (registry names) the case is aimed at. A
	// case whose parsers are not all registered proves nothing about them.
	Parsers []string
	// Seed marks cases small enough (well under 64 KiB) to seed fuzzing.
	Seed bool
}

// MiB is a mebibyte.
const MiB = 1 << 20

// Cases returns the hostile corpus.
func Cases() []Case {
	return []Case{
		{Name: "zip-quine", Build: func() []byte { return attach("r.zip", "application/zip", ZipQuine()) },
			WantFinding: []string{"limit.depth", "archive.limit", "archive.malformed", "limit.count"}, Parsers: []string{"mime", "zip"}, Seed: true},
		{Name: "zip-overlap-shared", Build: func() []byte { return attach("shared.zip", "application/zip", zipSharedOverlap(20000, 10*MiB)) },
			WantFinding: []string{"archive.malformed", "archive.limit", "limit.count", "limit.size"}, Parsers: []string{"mime", "zip"}},
		{Name: "zip-overlap-stored", Build: func() []byte { return attach("overlap.zip", "application/zip", zipStoredOverlap(4000, 64<<10)) },
			WantFinding: []string{"archive.malformed", "archive.limit", "limit.count", "limit.size"}, Parsers: []string{"mime", "zip"}},
		{Name: "zip-42-nested", Build: func() []byte { return attach("42.zip", "application/zip", Zip42(6, 16, 1<<30)) },
			WantFinding: []string{"archive.limit", "limit.count", "limit.size", "limit.depth"}, Parsers: []string{"mime", "zip"}},
		{Name: "mime-nest-10000", Build: func() []byte { return nestedMultipart(10000) },
			WantFinding: []string{"limit.mime_nesting"}, Parsers: []string{"mime"}},
		{Name: "mime-parts-100000", Build: func() []byte { return manyParts(100000) },
			WantFinding: []string{"limit.mime_parts"}, Parsers: []string{"mime"}},
		{Name: "rfc822-nest-100", Build: func() []byte { return nestedRFC822(100) },
			WantFinding: []string{"limit.depth"}, Parsers: []string{"mime"}, Seed: true},
		{Name: "header-line-10mb", Build: func() []byte { return hugeHeader(10 * MiB) },
			WantFinding: []string{"mime.huge_header", "mime.malformed", "limit.size"}, Parsers: []string{"mime"}},
		{Name: "base64-garbage", Build: func() []byte { return base64Garbage(2 * MiB) },
			WantFinding: []string{"mime.bad_encoding", "mime.malformed"}, Parsers: []string{"mime"}},
		{Name: "mime-bad-part-headers", Build: func() []byte { return badPartHeaders(20 * MiB) },
			WantFinding: []string{"mime.malformed"}, Parsers: []string{"mime"}},
		{Name: "eml-nul-evasion", Build: nulEvasion,
			WantFinding: []string{"lnk.malformed", "lnk.string_overrun"}, Parsers: []string{"mime", "lnk"}, Seed: true},
		{Name: "cfb-fat-loop", Build: func() []byte { return attach("loop.doc", "application/msword", CFB(cfbFATLoop)) },
			WantFinding: []string{"ole.malformed", "limit.size"}, Parsers: []string{"mime", "ole"}, Seed: true},
		{Name: "cfb-dir-loop", Build: func() []byte { return attach("dirloop.doc", "application/msword", CFB(cfbDirLoop)) },
			WantFinding: []string{"ole.malformed"}, Parsers: []string{"mime", "ole"}, Seed: true},
		{Name: "cfb-fat-past-end", Build: func() []byte { return attach("pastend.doc", "application/msword", CFB(cfbFATPastEnd)) },
			WantFinding: []string{"ole.malformed"}, Parsers: []string{"mime", "ole"}, Seed: true},
		{Name: "cfb-difat-absurd", Build: func() []byte { return attach("difat.doc", "application/msword", CFB(cfbDIFATAbsurd)) },
			WantFinding: []string{"ole.malformed"}, Parsers: []string{"mime", "ole"}, Seed: true},
		{Name: "vba-dir-absurd-size", Build: func() []byte { return attach("macro.doc", "application/msword", vbaProject(dirAbsurdSizes())) },
			WantFinding: []string{"ole.malformed", "vba.malformed"}, Parsers: []string{"mime", "ole"}, Seed: true},
		{Name: "vba-dir-module-flood", Build: func() []byte { return attach("flood.doc", "application/msword", vbaModuleFlood(5000)) },
			WantFinding: []string{"limit.count", "limit.size", "ole.malformed", "ole.limit", "vba.limit"}, Parsers: []string{"mime", "ole"}},
		{Name: "lnk-idlist-overrun", Build: func() []byte { return attach("invoice.pdf.lnk", "application/octet-stream", lnkIDListOverrun()) },
			WantFinding: []string{"lnk.malformed"}, Parsers: []string{"mime", "lnk"}, Seed: true},
		{Name: "lnk-string-overrun", Build: func() []byte { return attach("photo.jpg.lnk", "application/octet-stream", lnkStringOverrun()) },
			WantFinding: []string{"lnk.malformed", "lnk.string_overrun"}, Parsers: []string{"mime", "lnk"}, Seed: true},
		{Name: "rtf-hex-60mb", Build: func() []byte { return rtfHexMessage(60_000_000) },
			WantFinding: []string{"limit.size", "rtf.limit"}, Parsers: []string{"mime", "rtf"}},
		{Name: "rtf-hex-100mb", Build: func() []byte { return rtfHexMessage(100_000_000) },
			WantFinding: []string{"limit.input_size"}, Parsers: []string{"mime"}},
		{Name: "ooxml-100000-parts", Build: func() []byte {
			return attach("report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ooxmlManyParts(100000))
		}, WantFinding: []string{"ooxml.limit", "archive.limit", "limit.count"}, Parsers: []string{"mime", "ooxml"}},
		{Name: "attachment-200mb", Build: func() []byte { return bigAttachment(200 * MiB) },
			WantFinding: []string{"limit.input_size"}, Parsers: []string{"mime"}},
	}
}

// ---------------------------------------------------------------------------
// Messages.

const msgHead = "From: Hostile Sender <hostile@example.invalid>\r\n" +
	"To: soc@example.invalid\r\n" +
	"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n" +
	"MIME-Version: 1.0\r\n"

// attach builds a message with a short text body and data attached as
// name (base64, 76-column lines).
func attach(name, ctype string, data []byte) []byte {
	head := msgHead + "Subject: document " + name + "\r\nMessage-ID: <" + name + "@hostile.invalid>\r\n" +
		"Content-Type: multipart/mixed; boundary=\"hostile-b\"\r\n\r\n" +
		"--hostile-b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease see the attached document.\r\n" +
		"--hostile-b\r\nContent-Type: " + ctype + "; name=\"" + name + "\"\r\n" +
		"Content-Disposition: attachment; filename=\"" + name + "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	const tail = "\r\n--hostile-b--\r\n"
	lines := (len(data) + 56) / 57
	out := make([]byte, 0, len(head)+lines*78+len(tail))
	out = append(out, head...)
	for i := 0; i < len(data); i += 57 {
		j := min(i+57, len(data))
		out = base64.StdEncoding.AppendEncode(out, data[i:j])
		if j < len(data) {
			out = append(out, '\r', '\n')
		}
	}
	return append(out, tail...)
}

// nulEvasion is a message with one NUL byte in its text body and a
// shortcut attached: MIME parsing must not depend on the body being text.
func nulEvasion() []byte {
	m := attach("photo.jpg.lnk", "application/octet-stream", lnkStringOverrun())
	return bytes.Replace(m, []byte("Please see the attached document."), []byte("Please see the attached\x00document."), 1)
}

// nestedMultipart nests depth multipart/mixed levels around one text part.
func nestedMultipart(depth int) []byte {
	var b bytes.Buffer
	b.WriteString(msgHead + "Subject: nested\r\nContent-Type: multipart/mixed; boundary=\"n0\"\r\n\r\n")
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "--n%d\r\nContent-Type: multipart/mixed; boundary=\"n%d\"\r\n\r\n", i, i+1)
	}
	fmt.Fprintf(&b, "--n%d\r\nContent-Type: text/plain\r\n\r\ninnermost http://deep.example.invalid/\r\n--n%d--\r\n", depth, depth)
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--n%d--\r\n", i)
	}
	return b.Bytes()
}

// manyParts builds one multipart with n small parts.
func manyParts(n int) []byte {
	var b bytes.Buffer
	b.WriteString(msgHead + "Subject: parts\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "--p\r\nContent-Type: text/plain\r\n\r\npart %d\r\n", i)
	}
	b.WriteString("--p--\r\n")
	return b.Bytes()
}

// nestedRFC822 nests depth message/rfc822 attachments.
func nestedRFC822(depth int) []byte {
	msg := []byte(msgHead + "Subject: innermost\r\nContent-Type: text/plain\r\n\r\nhttp://innermost.example.invalid/\r\n")
	for i := 0; i < depth; i++ {
		var b bytes.Buffer
		fmt.Fprintf(&b, "%sSubject: Fwd level %d\r\nContent-Type: multipart/mixed; boundary=\"f%d\"\r\n\r\n--f%d\r\nContent-Type: message/rfc822\r\n\r\n", msgHead, i, i, i)
		b.Write(msg)
		fmt.Fprintf(&b, "\r\n--f%d--\r\n", i)
		msg = b.Bytes()
	}
	return msg
}

// hugeHeader puts one n-byte header line in front of a normal body.
func hugeHeader(n int) []byte {
	var b bytes.Buffer
	b.Grow(n + 512)
	b.WriteString(msgHead + "Subject: header\r\nX-Filler: ")
	b.Write(bytes.Repeat([]byte("A"), n))
	b.WriteString("\r\nContent-Type: text/plain\r\n\r\nbody after the header http://after.example.invalid/\r\n")
	return b.Bytes()
}

// base64Garbage attaches n bytes of base64 interleaved with bytes outside
// the alphabet, padding in the middle, and 8-bit junk.
func base64Garbage(n int) []byte {
	var b bytes.Buffer
	b.Grow(n + 1024)
	b.WriteString(msgHead + "Subject: garbage\r\nContent-Type: multipart/mixed; boundary=\"g\"\r\n\r\n--g\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n" +
		"--g\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\nContent-Disposition: attachment; filename=\"scan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	junk := []string{"!!!", "==", "\xff\xfe", "*%$", "=", "\xe3\x81\x82", "QQ=QQ", "-_", "\t \t"}
	valid := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 TRIAGE-REGRESSION hostile base64 body "))
	for i := 0; b.Len() < n; i++ {
		b.WriteString(valid[:20+i%40])
		b.WriteString(junk[i%len(junk)])
		if i%3 == 0 {
			b.WriteString("\r\n")
		}
	}
	b.WriteString("\r\n--g--\r\n")
	return b.Bytes()
}

// badPartHeaders fills n bytes with parts whose header cannot be read, so
// that every part is skipped line by line to the next boundary, then ends
// with a readable attachment.
func badPartHeaders(n int) []byte {
	var b bytes.Buffer
	b.Grow(n + 1024)
	b.WriteString(msgHead + "Subject: bad parts\r\nContent-Type: multipart/mixed; boundary=\"h\"\r\n\r\n")
	line := strings.Repeat("TRIAGE-REGRESSION ", 5) + "\r\n"
	for b.Len() < n {
		b.WriteString("--h\r\nthis header line has no colon\r\n\r\n")
		for i := 0; i < 40; i++ {
			b.WriteString(line)
		}
	}
	b.WriteString("--h\r\nContent-Type: text/plain; name=\"last.txt\"\r\nContent-Disposition: attachment; filename=\"last.txt\"\r\n\r\nthe last part\r\n--h--\r\n")
	return b.Bytes()
}

// rtfHexMessage attaches an RTF whose \objdata is one n-byte hex run, as
// 7bit text (RTF is ASCII: no base64 expansion), so a 60 MB run stays under
// the 64 MiB input limit and a 100 MB one does not.
func rtfHexMessage(n int) []byte {
	head := msgHead + "Subject: rtf\r\nContent-Type: multipart/mixed; boundary=\"r\"\r\n\r\n--r\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n" +
		"--r\r\nContent-Type: application/rtf; name=\"order.rtf\"\r\nContent-Disposition: attachment; filename=\"order.rtf\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" +
		`{\rtf1\ansi\ansicpg1252\deff0{\object\objemb{\*\objclass Package}{\*\objdata ` + "\r\n"
	// OLE 1.0 header: version, format id 2 (embedded), class "Package",
	// empty topic and item, then a native data size far past the run.
	ole1 := []byte{0x01, 0x05, 0, 0, 0x02, 0, 0, 0, 0x08, 0, 0, 0}
	ole1 = append(ole1, "Package\x00"...)
	ole1 = append(ole1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f)
	const tail = "\r\n}}}\r\n--r--\r\n"
	out := make([]byte, 0, len(head)+n+n/38+len(tail)+64)
	out = append(out, head...)
	col := 0
	put := func(c byte) {
		out = append(out, c)
		col++
		if col == 76 {
			out = append(out, '\r', '\n')
			col = 0
		}
	}
	const hexd = "0123456789abcdef"
	written := 0
	for _, c := range ole1 {
		put(hexd[c>>4])
		put(hexd[c&15])
		written += 2
	}
	pat := "d0cf11e0a1b11ae1" + strings.Repeat("41", 56)
	for i := 0; written < n; i++ {
		put(pat[i%len(pat)])
		written++
	}
	return append(out, tail...)
}

// bigAttachment attaches n bytes of PDF-looking filler.
func bigAttachment(n int) []byte {
	block := make([]byte, 64<<10)
	x := uint32(2463534242)
	for i := range block {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		block[i] = byte(x)
	}
	copy(block, "%PDF-1.7\n")
	data := make([]byte, n)
	for i := 0; i < n; i += len(block) {
		copy(data[i:], block)
	}
	return attach("statement.pdf", "application/pdf", data)
}

// ---------------------------------------------------------------------------
// ZIP.

// Fixed-Huffman deflate tables (RFC 1951 3.2.5).
var (
	lenBase  = [...]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = [...]uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	dstBase  = [...]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	dstExtra = [...]uint{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// bitWriter writes a deflate bit stream: fields LSB first, Huffman codes MSB
// first.
type bitWriter struct {
	b    []byte
	nbit uint
}

func (w *bitWriter) bits(v uint32, n uint) {
	for i := uint(0); i < n; i++ {
		if w.nbit%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>i&1 == 1 {
			w.b[len(w.b)-1] |= 1 << (w.nbit % 8)
		}
		w.nbit++
	}
}

func (w *bitWriter) huff(code uint32, n uint) {
	for i := n; i > 0; i-- {
		w.bits(code>>(i-1)&1, 1)
	}
}

func (w *bitWriter) align() { w.nbit = (w.nbit + 7) / 8 * 8 }

func (w *bitWriter) litlen(sym int) {
	switch {
	case sym < 144:
		w.huff(uint32(0x30+sym), 8)
	case sym < 256:
		w.huff(uint32(0x190+sym-144), 9)
	case sym < 280:
		w.huff(uint32(sym-256), 7)
	default:
		w.huff(uint32(0xc0+sym-280), 8)
	}
}

func lenCode(l int) int {
	for i := len(lenBase) - 1; i >= 0; i-- {
		if l >= lenBase[i] {
			if l == 258 {
				return 28
			}
			if i == 28 {
				return 27
			}
			return i
		}
	}
	return -1
}

func dstCode(d int) int {
	for i := len(dstBase) - 1; i >= 0; i-- {
		if d >= dstBase[i] {
			return i
		}
	}
	return -1
}

func (w *bitWriter) copyTok(l, d int) {
	lc := lenCode(l)
	w.litlen(257 + lc)
	w.bits(uint32(l-lenBase[lc]), lenExtra[lc])
	dc := dstCode(d)
	w.huff(uint32(dc), 5)
	w.bits(uint32(d-dstBase[dc]), dstExtra[dc])
}

// storedOp is a non-final stored block header announcing n literal bytes:
// always 5 bytes when it starts on a byte boundary.
func storedOp(n int) []byte {
	return []byte{0, byte(n), byte(n >> 8), ^byte(n), ^byte(n >> 8)}
}

// repeatOp encodes "repeat the last n output bytes" in exactly size bytes,
// starting and ending on a byte boundary: a fixed-Huffman block with the
// copy split into 1–3 copies of distance n, closed by empty stored blocks
// that re-align the stream. final marks the last block of the stream.
func repeatOp(n, size int, final bool) ([]byte, bool) {
	try := func(ls []int, pad int) ([]byte, bool) {
		w := &bitWriter{}
		w.bits(0, 1) // BFINAL
		w.bits(1, 2) // BTYPE 01: fixed Huffman
		for _, l := range ls {
			w.copyTok(l, n)
		}
		w.litlen(256)
		for i := 0; i < pad; i++ {
			last := final && i == pad-1
			if last {
				w.bits(1, 1)
			} else {
				w.bits(0, 1)
			}
			w.bits(0, 2)
			w.align()
			w.b = append(w.b, 0, 0, 0xff, 0xff)
		}
		if pad == 0 && (final || w.nbit%8 != 0) {
			return nil, false
		}
		return w.b, len(w.b) == size
	}
	var splits [][]int
	if n >= 3 && n <= 258 {
		splits = append(splits, []int{n})
	}
	for a := 3; a <= 258 && a <= n-3; a++ {
		if n-a <= 258 {
			splits = append(splits, []int{a, n - a})
		}
	}
	for a := 3; a <= 258 && a <= n-6; a++ {
		for c := 3; c <= 258 && c <= n-a-3; c++ {
			if n-a-c <= 258 {
				splits = append(splits, []int{a, c, n - a - c})
			}
		}
	}
	for pad := 0; pad <= 3; pad++ {
		for _, ls := range splits {
			if b, ok := try(ls, pad); ok {
				return b, true
			}
		}
	}
	return nil, false
}

// ZipQuine returns a zip archive whose one member, deflated, decompresses
// to the archive itself (R. Cox, "Zip Files All The Way Down"), with a CRC
// that matches (solved over GF(2)). Opening it yields itself forever.
func ZipQuine() []byte {
	for nameLen := 5; nameLen < 40; nameLen++ {
		name := "r" + strings.Repeat("e", nameLen-5) + ".zip"
		if b := zipQuine(name); b != nil {
			return b
		}
	}
	panic("hostile: no zip quine layout found")
}

func zipQuine(name string) []byte {
	pLen := 30 + len(name)
	sLen := 46 + len(name) + 22
	lit := storedOp
	// Find sizes: y for the self-repeating Y = R(2y+10); b = 2y-5 for
	// B = R(pLen+5); t for T = R(t+5); rs for the final R(rs+sLen).
	var B, Y, T []byte
	for y := 5; y <= 40 && B == nil; y++ {
		yb, ok := repeatOp(2*y+10, y, false)
		if !ok {
			continue
		}
		bb, ok := repeatOp(pLen+5, 2*y-5, false)
		if !ok {
			continue
		}
		Y, B = yb, bb
	}
	for t := 5; t <= 40 && T == nil; t++ {
		if tb, ok := repeatOp(t+5, t, false); ok {
			T = tb
		}
	}
	var RS []byte
	for rs := 5; rs <= 40 && RS == nil; rs++ {
		if b, ok := repeatOp(rs+sLen, rs, true); ok {
			RS = b
		}
	}
	if B == nil || Y == nil || T == nil || RS == nil {
		return nil
	}
	y := len(Y)
	fill := 2*y + 10 - len(T) - 5
	if fill < 0 || len(B) != 2*y-5 {
		return nil
	}
	LS := lit(len(RS) + sLen)
	build := func(P, S []byte) []byte {
		A := lit(len(P) + 5)
		Lc := lit(len(B))
		Ld := lit(5)
		Le := lit(len(B) + 15)
		Lg := lit(2*y + 10)
		var c []byte
		for _, part := range [][]byte{
			A, P, A, // literal: P and itself
			B,     // repeat P A
			Lc, B, // literal: B
			Ld, Lc, // literal: Lc
			Le, B, Ld, Lc, Le, // literal: B Ld Lc Le
			Y,                // repeat B Ld Lc Le
			Lg, Y, Lg, Y, Lg, // literal: Y Lg Y Lg
			Y,                             // repeat Y Lg Y Lg: covers itself and the next Lg
			Lg, make([]byte, fill), T, LS, // literal: filler T LS
			T,         // repeat T LS: covers itself and LS
			LS, RS, S, // literal: RS S
			RS, // repeat RS S: covers itself and the suffix
		} {
			c = append(c, part...)
		}
		return c
	}
	header := func(crc uint32, csize, usize int) (P, S []byte) {
		le := binary.LittleEndian
		P = make([]byte, 30, pLen)
		le.PutUint32(P[0:], 0x04034b50)
		le.PutUint16(P[4:], 20)
		le.PutUint16(P[8:], 8)
		le.PutUint16(P[10:], 0x6000) // 12:00
		le.PutUint16(P[12:], 0x3c22) // 2010-01-02
		le.PutUint32(P[14:], crc)
		le.PutUint32(P[18:], uint32(csize))
		le.PutUint32(P[22:], uint32(usize))
		le.PutUint16(P[26:], uint16(len(name)))
		P = append(P, name...)
		S = make([]byte, 46, sLen)
		le.PutUint32(S[0:], 0x02014b50)
		le.PutUint16(S[4:], 20)
		le.PutUint16(S[6:], 20)
		le.PutUint16(S[10:], 8)
		le.PutUint16(S[12:], 0x6000)
		le.PutUint16(S[14:], 0x3c22)
		le.PutUint32(S[16:], crc)
		le.PutUint32(S[20:], uint32(csize))
		le.PutUint32(S[24:], uint32(usize))
		le.PutUint16(S[28:], uint16(len(name)))
		S = append(S, name...)
		eocd := make([]byte, 22)
		le.PutUint32(eocd[0:], 0x06054b50)
		le.PutUint16(eocd[8:], 1)
		le.PutUint16(eocd[10:], 1)
		le.PutUint32(eocd[12:], uint32(46+len(name)))
		le.PutUint32(eocd[16:], uint32(pLen+csize))
		return P, append(S, eocd...)
	}
	P0, S0 := header(0, 0, 0)
	csize := len(build(P0, S0))
	usize := pLen + csize + sLen
	file := func(crc uint32) []byte {
		P, S := header(crc, csize, usize)
		out := append([]byte{}, P...)
		out = append(out, build(P, S)...)
		return append(out, S...)
	}
	// crc32(file(x)) = c0 ^ M·x over GF(2); solve (M ^ I)·x = c0.
	c0 := crc32.ChecksumIEEE(file(0))
	var rows [32]uint64 // row i: bits 0..31 coefficients of x, bit 32 the constant
	for j := 0; j < 32; j++ {
		col := crc32.ChecksumIEEE(file(1<<j)) ^ c0 ^ 1<<j
		for i := 0; i < 32; i++ {
			rows[i] |= uint64(col>>i&1) << j
		}
	}
	for i := 0; i < 32; i++ {
		rows[i] |= uint64(c0>>i&1) << 32
	}
	for col, r := 0, 0; col < 32; col++ {
		p := -1
		for i := r; i < 32; i++ {
			if rows[i]>>col&1 == 1 {
				p = i
				break
			}
		}
		if p < 0 {
			continue
		}
		rows[r], rows[p] = rows[p], rows[r]
		for i := 0; i < 32; i++ {
			if i != r && rows[i]>>col&1 == 1 {
				rows[i] ^= rows[r]
			}
		}
		r++
	}
	var x uint32
	for i := 0; i < 32; i++ {
		coef := rows[i] & 0xffffffff
		if coef == 0 {
			if rows[i]>>32&1 == 1 {
				return nil // inconsistent: try another layout
			}
			continue
		}
		lead := 0
		for coef>>lead&1 == 0 {
			lead++
		}
		x |= uint32(rows[i]>>32&1) << lead
	}
	out := file(x)
	if crc32.ChecksumIEEE(out) != x {
		return nil
	}
	return out
}

// zipSharedOverlap returns a zip of n central directory records that all
// point at one local header whose deflated member expands to size bytes.
func zipSharedOverlap(n, size int) []byte {
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	zero := make([]byte, 64<<10)
	crc := crc32.NewIEEE()
	for left := size; left > 0; left -= len(zero) {
		k := min(left, len(zero))
		fw.Write(zero[:k])
		crc.Write(zero[:k])
	}
	fw.Close()
	le := binary.LittleEndian
	name := "kernel.bin"
	var b bytes.Buffer
	h := make([]byte, 30)
	le.PutUint32(h[0:], 0x04034b50)
	le.PutUint16(h[4:], 20)
	le.PutUint16(h[8:], 8)
	le.PutUint32(h[14:], crc.Sum32())
	le.PutUint32(h[18:], uint32(comp.Len()))
	le.PutUint32(h[22:], uint32(size))
	le.PutUint16(h[26:], uint16(len(name)))
	b.Write(h)
	b.WriteString(name)
	b.Write(comp.Bytes())
	cdStart := b.Len()
	for i := 0; i < n; i++ {
		nm := fmt.Sprintf("copy%05d.bin", i)
		c := make([]byte, 46)
		le.PutUint32(c[0:], 0x02014b50)
		le.PutUint16(c[4:], 20)
		le.PutUint16(c[6:], 20)
		le.PutUint16(c[10:], 8)
		le.PutUint32(c[16:], crc.Sum32())
		le.PutUint32(c[20:], uint32(comp.Len()))
		le.PutUint32(c[24:], uint32(size))
		le.PutUint16(c[28:], uint16(len(nm)))
		b.Write(c)
		b.WriteString(nm)
	}
	return append(b.Bytes(), eocd(n, b.Len()-cdStart, cdStart)...)
}

func eocd(n, cdSize, cdOff int) []byte {
	e := make([]byte, 22)
	le := binary.LittleEndian
	le.PutUint32(e[0:], 0x06054b50)
	le.PutUint16(e[8:], uint16(min(n, 0xffff)))
	le.PutUint16(e[10:], uint16(min(n, 0xffff)))
	le.PutUint32(e[12:], uint32(cdSize))
	le.PutUint32(e[16:], uint32(cdOff))
	return e
}

// zipStoredOverlap returns n stored members whose data ranges overlap: the
// data of member i runs to the end of the local area, through the local
// headers of every later member and a kernel of k bytes. The expansion is
// quadratic in n with no compression at all.
func zipStoredOverlap(n, k int) []byte {
	le := binary.LittleEndian
	name := func(i int) string { return fmt.Sprintf("part%05d.txt", i) }
	hdrLen := 30 + len(name(0))
	end := n*hdrLen + k
	area := make([]byte, end)
	kernel := area[n*hdrLen:]
	for i := range kernel {
		kernel[i] = "TRIAGE-REGRESSION overlapping member data\n"[i%42]
	}
	// CRCs from the end: member i's data is area[off_i+hdrLen:].
	type rec struct{ crc, size uint32 }
	recs := make([]rec, n)
	for i := n - 1; i >= 0; i-- {
		off := i * hdrLen
		// Write this member's header first: earlier members include it.
		h := area[off : off+hdrLen]
		size := uint32(end - off - hdrLen)
		le.PutUint32(h[0:], 0x04034b50)
		le.PutUint16(h[4:], 10)
		le.PutUint32(h[18:], size)
		le.PutUint32(h[22:], size)
		le.PutUint16(h[26:], uint16(len(name(i))))
		copy(h[30:], name(i))
		recs[i].size = size
	}
	for i := n - 1; i >= 0; i-- {
		off := i * hdrLen
		crc := crc32.ChecksumIEEE(area[off+hdrLen:])
		le.PutUint32(area[off+14:], crc)
		recs[i].crc = crc
	}
	b := bytes.NewBuffer(area)
	for i := 0; i < n; i++ {
		c := make([]byte, 46)
		le.PutUint32(c[0:], 0x02014b50)
		le.PutUint16(c[4:], 10)
		le.PutUint16(c[6:], 10)
		le.PutUint32(c[16:], recs[i].crc)
		le.PutUint32(c[20:], recs[i].size)
		le.PutUint32(c[24:], recs[i].size)
		le.PutUint16(c[28:], uint16(len(name(i))))
		le.PutUint32(c[42:], uint32(i*hdrLen))
		b.Write(c)
		b.WriteString(name(i))
	}
	return append(b.Bytes(), eocd(n, b.Len()-end, end)...)
}

// zerosDeflate returns a raw deflate stream of size zero bytes without
// compressing them all: one steady-state 1 MiB block (a sync-flushed block
// whose history is zeros) repeated.
func zerosDeflate(size int64) []byte {
	const chunk = 1 << 20
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	zero := make([]byte, chunk)
	fw.Write(zero)
	fw.Flush()
	first := len(buf.Bytes())
	fw.Write(zero)
	fw.Flush()
	steady := append([]byte{}, buf.Bytes()[first:]...)
	out := append([]byte{}, buf.Bytes()[:first]...)
	for n := int64(chunk); n < size; n += chunk {
		out = append(out, steady...)
	}
	return append(out, 1, 0, 0, 0xff, 0xff) // final empty stored block
}

// Zip42 builds 42.zip-style nesting: levels of zips, each holding fanout
// copies of the level below; the bottom members are leaf bytes of zeros.
func Zip42(levels, fanout int, leaf int64) []byte {
	le := binary.LittleEndian
	// rawZip writes fanout members that share one compressed stream.
	rawZip := func(names func(i int) string, comp []byte, crc uint32, usize int64) []byte {
		var b bytes.Buffer
		offs := make([]int, fanout)
		for i := 0; i < fanout; i++ {
			offs[i] = b.Len()
			h := make([]byte, 30)
			le.PutUint32(h[0:], 0x04034b50)
			le.PutUint16(h[4:], 20)
			le.PutUint16(h[8:], 8)
			le.PutUint32(h[14:], crc)
			le.PutUint32(h[18:], uint32(len(comp)))
			le.PutUint32(h[22:], uint32(min(usize, 0xffffffff)))
			le.PutUint16(h[26:], uint16(len(names(i))))
			b.Write(h)
			b.WriteString(names(i))
			b.Write(comp)
		}
		cd := b.Len()
		for i := 0; i < fanout; i++ {
			c := make([]byte, 46)
			le.PutUint32(c[0:], 0x02014b50)
			le.PutUint16(c[4:], 20)
			le.PutUint16(c[6:], 20)
			le.PutUint16(c[10:], 8)
			le.PutUint32(c[16:], crc)
			le.PutUint32(c[20:], uint32(len(comp)))
			le.PutUint32(c[24:], uint32(min(usize, 0xffffffff)))
			le.PutUint16(c[28:], uint16(len(names(i))))
			le.PutUint32(c[42:], uint32(offs[i]))
			b.Write(c)
			b.WriteString(names(i))
		}
		return append(b.Bytes(), eocd(fanout, b.Len()-cd, cd)...)
	}
	// The CRC of leaf zeros, by doubling.
	crc := crc32.NewIEEE()
	zero := make([]byte, 1<<20)
	for n := int64(0); n < leaf; n += int64(len(zero)) {
		crc.Write(zero[:min(int64(len(zero)), leaf-n)])
	}
	comp := zerosDeflate(leaf)
	z := rawZip(func(i int) string { return fmt.Sprintf("%x.dll", i) }, comp, crc.Sum32(), leaf)
	for lvl := 1; lvl < levels; lvl++ {
		var c bytes.Buffer
		fw, _ := flate.NewWriter(&c, flate.BestCompression)
		fw.Write(z)
		fw.Close()
		prefix := []string{"book", "chapter", "doc", "page", "lib", "part"}[lvl%6]
		z = rawZip(func(i int) string { return fmt.Sprintf("%s %x.zip", prefix, i) }, c.Bytes(), crc32.ChecksumIEEE(z), int64(len(z)))
	}
	return z
}

// ooxmlManyParts returns a .docx with n extra parts, each listed in
// [Content_Types].xml and related from the document.
func ooxmlManyParts(n int) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	var ct strings.Builder
	ct.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>`)
	var rels strings.Builder
	rels.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&ct, `<Override PartName="/customXml/item%d.xml" ContentType="application/xml"/>`, i)
		fmt.Fprintf(&rels, `<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml" Target="../customXml/item%d.xml"/>`, i+10, i)
	}
	ct.WriteString(`</Types>`)
	rels.WriteString(`</Relationships>`)
	put := func(name string, data string, method uint16) {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		w.Write([]byte(data))
	}
	put("[Content_Types].xml", ct.String(), zip.Deflate)
	put("_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+"\n"+
		`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`, zip.Deflate)
	put("word/document.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+"\n"+
		`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Quarterly report</w:t></w:r></w:p></w:body></w:document>`, zip.Deflate)
	put("word/_rels/document.xml.rels", rels.String(), zip.Deflate)
	for i := 0; i < n; i++ {
		put(fmt.Sprintf("customXml/item%d.xml", i), "<a/>", zip.Store)
	}
	zw.Close()
	return b.Bytes()
}

// ---------------------------------------------------------------------------
// Compound files.

// CFB sector markers.
const (
	freeSect   = 0xFFFFFFFF
	endOfChain = 0xFFFFFFFE
	fatSect    = 0xFFFFFFFD
	noStream   = 0xFFFFFFFF
)

// cfbLayout is a minimal hand-built compound file: header, one FAT sector
// (sector 0), one directory sector (sector 1) and an 8-sector stream
// "WordDocument" (sectors 2..9). Cases corrupt it before it is written.
type cfbLayout struct {
	hdr        []byte // 512 bytes
	fat        []uint32
	streamSize uint32
}

// CFB builds the minimal compound file after corrupt has changed it.
func CFB(corrupt func(*cfbLayout)) []byte {
	le := binary.LittleEndian
	l := &cfbLayout{hdr: make([]byte, 512), fat: make([]uint32, 128), streamSize: 8 * 512}
	h := l.hdr
	copy(h, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1})
	le.PutUint16(h[24:], 0x3E)
	le.PutUint16(h[26:], 3)
	le.PutUint16(h[28:], 0xFFFE)
	le.PutUint16(h[30:], 9)
	le.PutUint16(h[32:], 6)
	le.PutUint32(h[44:], 1) // FAT sectors
	le.PutUint32(h[48:], 1) // first directory sector
	le.PutUint32(h[56:], 4096)
	le.PutUint32(h[60:], endOfChain)
	le.PutUint32(h[68:], endOfChain)
	le.PutUint32(h[76:], 0) // DIFAT[0]: the FAT is sector 0
	for i := 1; i < 109; i++ {
		le.PutUint32(h[76+4*i:], freeSect)
	}
	for i := range l.fat {
		l.fat[i] = freeSect
	}
	l.fat[0] = fatSect
	l.fat[1] = endOfChain
	for s := 2; s < 9; s++ {
		l.fat[s] = uint32(s + 1)
	}
	l.fat[9] = endOfChain
	if corrupt != nil {
		corrupt(l)
	}
	out := append([]byte{}, h...)
	fat := make([]byte, 512)
	for i, v := range l.fat {
		le.PutUint32(fat[4*i:], v)
	}
	out = append(out, fat...)
	dir := make([]byte, 512)
	entry := func(i int, name string, typ byte, child uint32, start, size uint32) {
		e := dir[128*i : 128*(i+1)]
		u := utf16.Encode([]rune(name))
		for j, c := range u {
			le.PutUint16(e[2*j:], c)
		}
		if name != "" {
			le.PutUint16(e[64:], uint16(2*len(u)+2))
		}
		e[66] = typ
		e[67] = 1
		le.PutUint32(e[68:], noStream)
		le.PutUint32(e[72:], noStream)
		le.PutUint32(e[76:], child)
		le.PutUint32(e[116:], start)
		le.PutUint32(e[120:], size)
	}
	entry(0, "Root Entry", 5, 1, endOfChain, 0)
	entry(1, "WordDocument", 2, noStream, 2, l.streamSize)
	entry(2, "", 0, noStream, 0, 0)
	entry(3, "", 0, noStream, 0, 0)
	out = append(out, dir...)
	body := bytes.Repeat([]byte("TRIAGE-REGRESSION WordDocument "), 8*512/31+1)[:8*512]
	return append(out, body...)
}

// cfbFATLoop: the stream's chain runs back from its last sector to its
// first, and the stream claims 1 GiB.
func cfbFATLoop(l *cfbLayout) { l.fat[9] = 2; l.streamSize = 1 << 30 }

// cfbDirLoop: the directory chain is a one-sector cycle.
func cfbDirLoop(l *cfbLayout) { l.fat[1] = 1 }

// cfbFATPastEnd: the stream's chain jumps to a sector far past the end.
func cfbFATPastEnd(l *cfbLayout) { l.fat[5] = 0x00FFFFF0 }

// cfbDIFATAbsurd: the header claims 2^24 FAT sectors and a DIFAT chain
// whose sectors all lie past the end.
func cfbDIFATAbsurd(l *cfbLayout) {
	le := binary.LittleEndian
	le.PutUint32(l.hdr[44:], 0x00FFFFFF)
	le.PutUint32(l.hdr[68:], 0x7FFFFFF0)
	le.PutUint32(l.hdr[72:], 0x00FFFFFF)
	for i := 1; i < 109; i++ {
		le.PutUint32(l.hdr[76+4*i:], uint32(0x10000+i))
	}
}

// dirRec is one record of a decompressed VBA dir stream.
func dirRec(id uint16, size uint32, data []byte) []byte {
	b := make([]byte, 6, 6+len(data))
	binary.LittleEndian.PutUint16(b, id)
	binary.LittleEndian.PutUint32(b[2:], size)
	return append(b, data...)
}

func u16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func dirHead(modules uint16) []byte {
	var d []byte
	d = append(d, dirRec(0x0001, 4, u32(1))...)     // SYSKIND win32
	d = append(d, dirRec(0x0002, 4, u32(0x409))...) // LCID
	d = append(d, dirRec(0x0014, 4, u32(0x409))...) // LCIDINVOKE
	d = append(d, dirRec(0x0003, 2, u16(1252))...)  // CODEPAGE
	d = append(d, dirRec(0x0004, 7, []byte("Project"))...)
	d = append(d, dirRec(0x000F, 2, u16(modules))...) // PROJECTMODULES
	d = append(d, dirRec(0x0013, 2, u16(0xFFFF))...)  // PROJECTCOOKIE
	return d
}

func dirModule(name string, offset uint32) []byte {
	var d []byte
	d = append(d, dirRec(0x0019, uint32(len(name)), []byte(name))...)
	d = append(d, dirRec(0x001A, uint32(len(name)), []byte(name))...)
	d = append(d, dirRec(0x0031, 4, u32(offset))...)
	d = append(d, dirRec(0x0021, 0, nil)...)
	return append(d, dirRec(0x002B, 0, nil)...)
}

// dirAbsurdSizes: 65535 modules declared, a module whose source offset lies
// 4 GiB into its stream, then a module name record claiming 4 GiB.
func dirAbsurdSizes() []byte {
	d := dirHead(0xFFFF)
	d = append(d, dirModule("Module1", 0xFFFFFFF0)...)
	d = append(d, dirRec(0x0019, 0xFFFFFFF0, []byte("Module2"))...)
	return d
}

// vbaProject returns a compound file with a VBA project whose dir stream is
// replaced by dir (MS-OVBA compressed).
func vbaProject(dir []byte) []byte {
	root := cfb.NewRoot(cfb.CLSID{})
	p := &ovba.Project{Modules: []ovba.Module{{Name: "Module1", Kind: ovba.Procedural,
		Code: "Sub AutoOpen()\n    MsgBox \"TRIAGE-REGRESSION\"\nEnd Sub\n"}}}
	if err := p.Write(root.Storage("Macros")); err != nil {
		panic(err)
	}
	root.Put("WordDocument", bytes.Repeat([]byte{0xEC, 0xA5, 0xC1, 0}, 1024))
	root.Put("Macros/VBA/dir", ovba.Compress(dir))
	b, err := cfb.Marshal(root)
	if err != nil {
		panic(err)
	}
	return b
}

// vbaModuleFlood: n module records that all name one stream holding ~1 MB
// of compressed source, so each decompresses it again.
func vbaModuleFlood(n int) []byte {
	d := dirHead(0xFFFF)
	for i := 0; i < n; i++ {
		d = append(d, dirModule("Module1", ovba.PCodeSize)...)
	}
	d = append(d, dirRec(0x0010, 0, nil)...)
	d = append(d, 0, 0, 0, 0)
	var src strings.Builder
	src.WriteString("Attribute VB_Name = \"Module1\"\r\nSub AutoOpen()\r\n")
	for i := 0; src.Len() < 1<<20; i++ {
		fmt.Fprintf(&src, "    x%d = \"TRIAGE-REGRESSION \" & Chr(%d) & x%d\r\n", i%97, 65+i%26, (i+1)%97)
	}
	src.WriteString("End Sub\r\n")
	b := vbaProjectWith(d, append(make([]byte, ovba.PCodeSize), ovba.Compress([]byte(src.String()))...))
	return b
}

func vbaProjectWith(dir, module []byte) []byte {
	root := cfb.NewRoot(cfb.CLSID{})
	p := &ovba.Project{Modules: []ovba.Module{{Name: "Module1", Kind: ovba.Procedural, Code: "Sub AutoOpen()\nEnd Sub\n"}}}
	if err := p.Write(root.Storage("Macros")); err != nil {
		panic(err)
	}
	root.Put("WordDocument", bytes.Repeat([]byte{0xEC, 0xA5, 0xC1, 0}, 1024))
	root.Put("Macros/VBA/dir", ovba.Compress(dir))
	root.Put("Macros/VBA/Module1", module)
	b, err := cfb.Marshal(root)
	if err != nil {
		panic(err)
	}
	return b
}

// ---------------------------------------------------------------------------
// Shortcuts.

func lnkHeader(flags uint32) []byte {
	h := make([]byte, 76)
	le := binary.LittleEndian
	le.PutUint32(h[0:], 0x4C)
	copy(h[4:], []byte{0x01, 0x14, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46})
	le.PutUint32(h[20:], flags)
	le.PutUint32(h[24:], 0x20)
	le.PutUint32(h[60:], 1) // SW_SHOWNORMAL
	return h
}

// LNK link flags.
const (
	lnkHasIDList   = 0x01
	lnkHasLinkInfo = 0x02
	lnkHasName     = 0x04
	lnkHasRelPath  = 0x08
	lnkHasArgs     = 0x20
	lnkIsUnicode   = 0x80
)

// lnkIDListOverrun: an IDList of 65535 bytes, whose first item claims 16
// KiB, in a file of about a hundred bytes.
func lnkIDListOverrun() []byte {
	b := lnkHeader(lnkHasIDList | lnkHasLinkInfo | lnkHasArgs | lnkIsUnicode)
	b = append(b, u16(0xFFFF)...)
	b = append(b, u16(0x4000)...)
	b = append(b, []byte{0x1F, 0x50, 0xE0, 0x4F, 0xD0, 0x20, 0xEA, 0x3A, 0x69, 0x10, 0xA2, 0xD8, 0x08, 0x00, 0x2B, 0x30, 0x30, 0x9D}...)
	return b
}

// lnkStringOverrun: LinkInfo claiming 4 GiB is skipped by flags; the
// string data names 5 characters, then claims 32767 for the relative path
// and 65535 for the arguments.
func lnkStringOverrun() []byte {
	b := lnkHeader(lnkHasName | lnkHasRelPath | lnkHasArgs | lnkIsUnicode)
	str := func(s string, count uint16) []byte {
		out := u16(count)
		for _, c := range utf16.Encode([]rune(s)) {
			out = append(out, u16(c)...)
		}
		return out
	}
	b = append(b, str("hello", 5)...)
	b = append(b, str(`..\..\Windows\System32\cmd.exe`, 0x7FFF)...)
	b = append(b, str(`/c echo TRIAGE-REGRESSION`, 0xFFFF)...)
	return b
}
