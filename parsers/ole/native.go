package ole

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"triage/parsers"
	"triage/parsers/vba"
)

// Native is the header of an "\x01Ole10Native" stream: an OLE 1.0 Package
// object wrapping one file (oleobj's OleNativeStream).
type Native struct {
	Label      string // the file name shown in the document
	SourcePath string // path of the file when it was embedded
	TempPath   string // path where Office extracts it on activation
	// LinkPath is set instead of Data for a package that links to a file
	// rather than embedding it (activation opens that path).
	LinkPath string
	Data     []byte // the embedded file (aliases the stream)
	// DeclaredSize is the data size the header declares; Data is shorter
	// when the stream is truncated.
	DeclaredSize uint32
}

// maxNativeString bounds the strings of a native header.
const maxNativeString = 4096

// ParseNative parses an \x01Ole10Native stream. The returned Data aliases
// b. A header that does not fit returns an error wrapping
// parsers.ErrMalformed (with whatever was read).
func ParseNative(b []byte) (*Native, error) {
	n := &Native{}
	r := &byteReader{b: b}
	_ = r.u32() // total size; oleobj tolerates a wrong value, and so do we
	_ = r.u16() // flags, usually 2
	label := r.cstr()
	src := r.cstr()
	_ = r.u16()
	kind := r.u16() // 3: an embedded file; 1: a link to a file
	if r.err == nil && kind == 1 {
		_ = r.u16()
		link := r.cstr()
		n.Label, n.SourcePath, n.LinkPath = ansi(label), ansi(src), ansi(link)
		if r.err != nil {
			return n, fmt.Errorf("%w: ole: Ole10Native link: %v", parsers.ErrMalformed, r.err)
		}
		return n, nil
	}
	tmpLen := r.u32()
	var tmp []byte
	if r.err == nil && tmpLen > 0 && tmpLen <= maxNativeString && int(tmpLen) <= len(r.b)-r.pos {
		tmp = r.take(int(tmpLen))
		tmp = bytes.TrimRight(tmp, "\x00")
	} else if r.err == nil && tmpLen != 0 {
		r.fail("temp path length %d", tmpLen)
	}
	size := r.u32()
	if r.err != nil {
		n.Label, n.SourcePath = ansi(label), ansi(src)
		return n, fmt.Errorf("%w: ole: Ole10Native: %v", parsers.ErrMalformed, r.err)
	}
	n.DeclaredSize = size
	avail := len(r.b) - r.pos
	dataLen := int(min(int64(size), int64(avail)))
	n.Data = r.b[r.pos : r.pos+dataLen]
	r.pos += dataLen
	n.Label, n.SourcePath, n.TempPath = ansi(label), ansi(src), ansi(tmp)
	// Newer writers append Unicode copies: temp path, label, source path.
	if uTmp, ok := r.wstr(); ok {
		if uLabel, ok := r.wstr(); ok {
			if uSrc, ok := r.wstr(); ok {
				n.TempPath, n.Label, n.SourcePath = pick(uTmp, n.TempPath), pick(uLabel, n.Label), pick(uSrc, n.SourcePath)
			}
		}
	}
	if int64(size) > int64(avail) {
		return n, fmt.Errorf("%w: ole: Ole10Native declares %d data bytes, %d present", parsers.ErrMalformed, size, avail)
	}
	return n, nil
}

func pick(u, a string) string {
	if u != "" {
		return u
	}
	return a
}

// ansi decodes a header string: UTF-8 when valid, else Shift_JIS when it
// decodes cleanly with double-byte characters (Japanese systems write
// these in cp932), else cp1252.
func ansi(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	if s := vba.DecodeCodePage(932, b); !strings.ContainsRune(s, utf8.RuneError) {
		return s
	}
	return vba.DecodeCodePage(1252, b)
}

// byteReader reads little-endian fields and records the first failure.
type byteReader struct {
	b   []byte
	pos int
	err error
}

func (r *byteReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format+" at offset %d", append(args, r.pos)...)
	}
}

func (r *byteReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.pos {
		r.fail("%d bytes needed", n)
		return nil
	}
	out := r.b[r.pos : r.pos+n]
	r.pos += n
	return out
}

func (r *byteReader) u16() uint16 {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *byteReader) u32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

// cstr reads a NUL-terminated string of at most maxNativeString bytes.
func (r *byteReader) cstr() []byte {
	if r.err != nil {
		return nil
	}
	rest := r.b[r.pos:]
	i := bytes.IndexByte(rest[:min(len(rest), maxNativeString+1)], 0)
	if i < 0 {
		r.fail("unterminated string")
		return nil
	}
	r.pos += i + 1
	return rest[:i]
}

// wstr reads an optional length-prefixed UTF-16LE string (length in
// characters); it does not record failures.
func (r *byteReader) wstr() (string, bool) {
	if r.err != nil || len(r.b)-r.pos < 4 {
		return "", false
	}
	n := int(binary.LittleEndian.Uint32(r.b[r.pos:]))
	if n > maxNativeString || 2*n > len(r.b)-r.pos-4 {
		return "", false
	}
	s := decodeUTF16(r.b[r.pos+4 : r.pos+4+2*n])
	r.pos += 4 + 2*n
	return strings.TrimRight(s, "\x00"), true
}

// riskyExtensions are embedded file types that run code when opened.
var riskyExtensions = map[string]bool{
	"exe": true, "scr": true, "com": true, "pif": true, "cpl": true, "dll": true, "msi": true,
	"bat": true, "cmd": true, "vbs": true, "vbe": true, "js": true, "jse": true, "wsf": true,
	"wsh": true, "wsc": true, "hta": true, "ps1": true, "psm1": true, "lnk": true, "jar": true,
	"reg": true, "inf": true, "sct": true, "chm": true, "url": true, "iqy": true, "slk": true,
	"scf": true, "application": true, "gadget": true, "msc": true, "appref-ms": true,
}

// contentKind names an executable payload recognised by its first bytes.
func contentKind(b []byte) string {
	switch {
	case len(b) >= 2 && b[0] == 'M' && b[1] == 'Z':
		return "pe"
	case len(b) >= 20 && bytes.Equal(b[:4], []byte{0x4C, 0, 0, 0}) && bytes.Equal(b[4:8], []byte{0x01, 0x14, 0x02, 0x00}):
		return "lnk"
	case bytes.HasPrefix(b, []byte("\x7fELF")):
		return "elf"
	}
	return ""
}

// extOf returns the lower-case extension of a Windows or Unix file name.
func extOf(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	ext := strings.ToLower(path.Ext(path.Base(name)))
	return strings.TrimPrefix(ext, ".")
}

// baseName returns the last element of a Windows or Unix path.
func baseName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

func decodeUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
