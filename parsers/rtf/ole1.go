package rtf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// OLE1 ObjectHeader format IDs (MS-OLEDS 2.2.4).
const (
	formatLinked   = 1
	formatEmbedded = 2
)

// maxOLEString bounds the length-prefixed and NUL-terminated strings.
const maxOLEString = 4096

var errShort = errors.New("truncated")

// ole1 is an OLE 1.0 object (MS-OLEDS 2.2): the header and native data.
type ole1 struct {
	version   uint32
	format    uint32
	class     string
	topic     string
	item      string
	size      uint32 // declared native data size
	native    []byte
	truncated bool // the native data is shorter than declared
}

type reader struct {
	b []byte
	i int
}

func (r *reader) u32() (uint32, error) {
	if r.i+4 > len(r.b) {
		return 0, errShort
	}
	v := binary.LittleEndian.Uint32(r.b[r.i:])
	r.i += 4
	return v, nil
}

func (r *reader) u16() (uint16, error) {
	if r.i+2 > len(r.b) {
		return 0, errShort
	}
	v := binary.LittleEndian.Uint16(r.b[r.i:])
	r.i += 2
	return v, nil
}

// lpString reads a LengthPrefixedAnsiString.
func (r *reader) lpString() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", nil
	}
	if n > maxOLEString || int(n) > len(r.b)-r.i {
		return "", fmt.Errorf("string length %d past the data", n)
	}
	s := r.b[r.i : r.i+int(n)]
	r.i += int(n)
	return ansi(bytes.TrimRight(s, "\x00")), nil
}

// zString reads a NUL-terminated ANSI string.
func (r *reader) zString() (string, error) {
	rest := r.b[r.i:]
	end := bytes.IndexByte(rest[:min(len(rest), maxOLEString)], 0)
	if end < 0 {
		return "", errShort
	}
	r.i += end + 1
	return ansi(rest[:end]), nil
}

// ansi decodes an ANSI string: UTF-8 when valid, else Latin-1.
func ansi(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// parseOLE1 reads an OLE 1.0 object.
func parseOLE1(b []byte) (*ole1, error) {
	r := &reader{b: b}
	o := &ole1{}
	var err error
	if o.version, err = r.u32(); err != nil {
		return nil, fmt.Errorf("OLE1 header: %w", err)
	}
	if o.format, err = r.u32(); err != nil {
		return nil, fmt.Errorf("OLE1 header: %w", err)
	}
	if o.format != formatLinked && o.format != formatEmbedded {
		return nil, fmt.Errorf("OLE1 header: format id %#x", o.format)
	}
	if o.class, err = r.lpString(); err != nil {
		return nil, fmt.Errorf("OLE1 class name: %w", err)
	}
	if o.topic, err = r.lpString(); err != nil {
		return o, fmt.Errorf("OLE1 topic name: %w", err)
	}
	if o.item, err = r.lpString(); err != nil {
		return o, fmt.Errorf("OLE1 item name: %w", err)
	}
	if o.format != formatEmbedded {
		return o, nil
	}
	if o.size, err = r.u32(); err != nil {
		return o, fmt.Errorf("OLE1 native data size: %w", err)
	}
	n := len(b) - r.i
	if uint64(o.size) < uint64(n) {
		n = int(o.size)
	} else if uint64(o.size) > uint64(n) {
		o.truncated = true
	}
	o.native = b[r.i : r.i+n]
	return o, nil
}

// pkgFile is the file carried by an OLE Package object (the "Package"
// class native data, MS-OLEDS 2.3.6 without its size prefix).
type pkgFile struct {
	label string
	src   string
	temp  string
	size  uint32
	data  []byte
}

func parsePackage(b []byte) (*pkgFile, error) {
	r := &reader{b: b}
	p := &pkgFile{}
	var err error
	if _, err = r.u16(); err != nil {
		return nil, fmt.Errorf("package header: %w", err)
	}
	if p.label, err = r.zString(); err != nil {
		return nil, fmt.Errorf("package label: %w", err)
	}
	if p.src, err = r.zString(); err != nil {
		return p, fmt.Errorf("package source path: %w", err)
	}
	if _, err = r.u32(); err != nil {
		return p, fmt.Errorf("package header: %w", err)
	}
	if _, err = r.u32(); err != nil {
		return p, fmt.Errorf("package header: %w", err)
	}
	if p.temp, err = r.zString(); err != nil {
		return p, fmt.Errorf("package temp path: %w", err)
	}
	if p.size, err = r.u32(); err != nil {
		// A link, not an embedded file.
		return p, nil
	}
	n := len(b) - r.i
	if uint64(p.size) < uint64(n) {
		n = int(p.size)
	}
	p.data = b[r.i : r.i+n]
	return p, nil
}

// name returns the best file name of the package: the label, else the
// base name of the source or temp path.
func (p *pkgFile) name() string {
	for _, s := range []string{p.label, p.src, p.temp} {
		if i := strings.LastIndexAny(s, `\/`); i >= 0 {
			s = s[i+1:]
		}
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// CLSIDs and GUIDs that mark exploit objects.
var (
	// urlMoniker is CLSID_URLMoniker 79EAC9E0-BAF9-11CE-8C82-00AA004BA90B
	// in its binary (little-endian) form.
	urlMoniker = []byte{0xE0, 0xC9, 0xEA, 0x79, 0xF9, 0xBA, 0xCE, 0x11, 0x8C, 0x82, 0x00, 0xAA, 0x00, 0x4B, 0xA9, 0x0B}
	// equationCLSIDs are the Equation Editor 3.0 classes (EQNEDT32.EXE).
	equationCLSIDs = map[string]bool{
		"0002CE02-0000-0000-C000-000000000046": true,
		"0002CE03-0000-0000-C000-000000000046": true,
	}
	// stdOleLink is the OLE2Link class (CLSID_StdOleLink).
	stdOleLink = "00000300-0000-0000-C000-000000000046"
	cfbMagic   = []byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}
	utf16RunRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:[\x20-\x7E]\x00){6,}`) })
)

// rootCLSID returns the root storage CLSID of a compound file, or "".
func rootCLSID(b []byte) string {
	if len(b) < 512 || !bytes.HasPrefix(b, cfbMagic) {
		return ""
	}
	shift := binary.LittleEndian.Uint16(b[0x1e:])
	if shift != 9 && shift != 12 {
		return ""
	}
	ss := int64(1) << shift
	dir := int64(binary.LittleEndian.Uint32(b[0x30:]))
	off := (dir + 1) * ss
	if off < 0 || off+0x60 > int64(len(b)) {
		return ""
	}
	return guid(b[off+0x50 : off+0x60])
}

// guid formats 16 bytes as a GUID string.
func guid(b []byte) string {
	return fmt.Sprintf("%08X-%04X-%04X-%X-%X",
		binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint16(b[4:]), binary.LittleEndian.Uint16(b[6:]), b[8:10], b[10:16])
}

// monikerURLs returns the URLs of URL monikers in b: the CLSID, a 32-bit
// byte length, then a NUL-terminated UTF-16LE URL.
func monikerURLs(b []byte) []string {
	var out []string
	for i := 0; len(out) < 10; {
		j := bytes.Index(b[i:], urlMoniker)
		if j < 0 {
			break
		}
		i += j + len(urlMoniker)
		if i+4 > len(b) {
			break
		}
		n := int(binary.LittleEndian.Uint32(b[i:]))
		s := b[i+4:]
		if n >= 0 && n < len(s) {
			s = s[:n]
		}
		if u := utf16String(s); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// utf16String decodes UTF-16LE up to the first NUL, at most maxOLEString
// characters.
func utf16String(b []byte) string {
	u := make([]uint16, 0, min(len(b)/2, maxOLEString))
	for k := 0; k+1 < len(b) && len(u) < maxOLEString; k += 2 {
		c := binary.LittleEndian.Uint16(b[k:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// utf16Strings returns the printable UTF-16LE strings of b (rtfobj's way
// of finding OLE2Link URLs).
func utf16Strings(b []byte) []string {
	var out []string
	for _, m := range utf16RunRE().FindAll(b, 50) {
		out = append(out, utf16String(m))
	}
	return out
}
