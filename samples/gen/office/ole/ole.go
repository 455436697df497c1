// Package ole builds the small OLE structures that Office containers carry
// next to their main streams: CompObj streams (MS-OLEDS 2.3.8), OLE Package
// native data (\x01Ole10Native), OLE1 embedded objects as found in RTF
// \objdata (MS-OLEDS 2.2.4) and SummaryInformation property sets (MS-OLEPS).
package ole

import (
	"encoding/binary"
	"fmt"
	"sort"
	"time"
	"unicode/utf16"

	"triage/samples/gen/office/cfb"
)

// CompObj returns a CompObjStream for class clsid with the given user type,
// clipboard format and ProgID (all ANSI), as Office writes it: the ANSI
// fields followed by the Unicode marker and empty Unicode fields.
func CompObj(clsid cfb.CLSID, userType, clipFormat, progID string) []byte {
	var b []byte
	le := binary.LittleEndian
	b = le.AppendUint32(b, 0xFFFE0001) // Reserved1
	b = le.AppendUint32(b, 0x00000A03) // Version
	b = le.AppendUint32(b, 0xFFFFFFFF) // Reserved2: -1 then the CLSID
	b = append(b, clsid[:]...)
	b = appendAnsi(b, userType)
	b = appendAnsi(b, clipFormat)
	b = appendAnsi(b, progID)
	b = le.AppendUint32(b, 0x71B239F4) // UnicodeMarker
	b = le.AppendUint32(b, 0)          // UnicodeUserType
	b = le.AppendUint32(b, 0)          // UnicodeClipboardFormat
	b = le.AppendUint32(b, 0)          // Reserved2
	return b
}

// appendAnsi appends a LengthPrefixedAnsiString (length includes the NUL;
// an empty string is a zero length).
func appendAnsi(b []byte, s string) []byte {
	if s == "" {
		return binary.LittleEndian.AppendUint32(b, 0)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)+1))
	b = append(b, s...)
	return append(b, 0)
}

// Package describes a file wrapped by the OLE Packager ("Package" class).
type Package struct {
	Label      string // display name, usually the file name
	SourcePath string // original path on the author's machine
	TempPath   string // path the packager extracts to on activation
	Data       []byte
}

// Native returns the packager's native data (the OLE1 NativeData of an
// embedded "Package" object): type 2, label, source path, the embedded-file
// marker, the temp path, the data, then the Unicode copies of the three
// strings that current Office versions append. Strings are ANSI; non-ASCII
// runes are replaced by '?' in the ANSI copies and kept in the Unicode ones.
func (p Package) Native() []byte {
	le := binary.LittleEndian
	var b []byte
	b = le.AppendUint16(b, 0x0002)
	b = appendCString(b, ansi(p.Label))
	b = appendCString(b, ansi(p.SourcePath))
	b = le.AppendUint16(b, 0x0000)
	b = le.AppendUint16(b, 0x0003) // embedded file
	tmp := ansi(p.TempPath)
	b = le.AppendUint32(b, uint32(len(tmp)+1))
	b = appendCString(b, tmp)
	b = le.AppendUint32(b, uint32(len(p.Data)))
	b = append(b, p.Data...)
	for _, s := range []string{p.TempPath, p.Label, p.SourcePath} {
		u := utf16.Encode([]rune(s))
		b = le.AppendUint32(b, uint32(len(u)))
		for _, c := range u {
			b = le.AppendUint16(b, c)
		}
	}
	return b
}

// Ole10Native returns the \x01Ole10Native stream: the native data prefixed
// by its 32-bit size.
func (p Package) Ole10Native() []byte {
	n := p.Native()
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(n))), n...)
}

// OLE1Object returns an OLE1 EmbeddedObject (MS-OLEDS 2.2.4) of class
// className carrying native data, followed by an empty presentation object:
// the binary that RTF \objdata encodes in hex.
func OLE1Object(className string, native []byte) []byte {
	le := binary.LittleEndian
	var b []byte
	b = le.AppendUint32(b, 0x00000501) // OLEVersion
	b = le.AppendUint32(b, 0x00000002) // FormatID: embedded
	b = appendAnsi(b, className)
	b = appendAnsi(b, "") // TopicName
	b = appendAnsi(b, "") // ItemName
	b = le.AppendUint32(b, uint32(len(native)))
	b = append(b, native...)
	b = le.AppendUint32(b, 0x00000501) // presentation object header: no presentation
	b = le.AppendUint32(b, 0x00000000)
	return b
}

func appendCString(b []byte, s string) []byte {
	b = append(b, s...)
	return append(b, 0)
}

func ansi(s string) string {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r < 0x80 {
			out = append(out, byte(r))
		} else {
			out = append(out, '?')
		}
	}
	return string(out)
}

// Summary holds the SummaryInformation properties a document carries.
// Empty strings and zero times are omitted.
type Summary struct {
	CodePage   int // 1252 or 932; strings must already be encoded (see Encode)
	Title      []byte
	Subject    []byte
	Author     []byte
	Keywords   []byte
	Comments   []byte
	Template   []byte
	LastAuthor []byte
	RevNumber  []byte
	AppName    []byte
	Created    time.Time
	Saved      time.Time
	Pages      int32
	Words      int32
	Chars      int32
}

// FMTIDSummaryInformation is the format id of the \x05SummaryInformation set.
var FMTIDSummaryInformation = cfb.CLSID{0xE0, 0x85, 0x9F, 0xF2, 0xF9, 0x4F, 0x68, 0x10, 0xAB, 0x91, 0x08, 0x00, 0x2B, 0x27, 0xB3, 0xD9}

// SummaryInformation serialises s as a one-section property set stream.
func SummaryInformation(s Summary) ([]byte, error) {
	type prop struct {
		id  uint32
		val []byte
	}
	le := binary.LittleEndian
	var props []prop
	i2 := func(id uint32, v int) {
		b := le.AppendUint16(le.AppendUint32(nil, 0x0002), uint16(v))
		props = append(props, prop{id, append(b, 0, 0)})
	}
	i4 := func(id uint32, v int32) {
		if v != 0 {
			props = append(props, prop{id, le.AppendUint32(le.AppendUint32(nil, 0x0003), uint32(v))})
		}
	}
	str := func(id uint32, v []byte) {
		if len(v) == 0 {
			return
		}
		b := le.AppendUint32(nil, 0x001E)
		b = le.AppendUint32(b, uint32(len(v)+1))
		b = append(append(b, v...), 0)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		props = append(props, prop{id, b})
	}
	ft := func(id uint32, t time.Time) {
		if t.IsZero() {
			return
		}
		props = append(props, prop{id, le.AppendUint64(le.AppendUint32(nil, 0x0040), filetime(t))})
	}
	cp := s.CodePage
	if cp == 0 {
		cp = 1252
	}
	if cp != 1252 && cp != 932 {
		return nil, fmt.Errorf("ole: unsupported code page %d", cp)
	}
	i2(1, cp)
	str(2, s.Title)
	str(3, s.Subject)
	str(4, s.Author)
	str(5, s.Keywords)
	str(6, s.Comments)
	str(7, s.Template)
	str(8, s.LastAuthor)
	str(9, s.RevNumber)
	ft(12, s.Created)
	ft(13, s.Saved)
	i4(14, s.Pages)
	i4(15, s.Words)
	i4(16, s.Chars)
	str(18, s.AppName)
	sort.Slice(props, func(a, b int) bool { return props[a].id < props[b].id })

	// Section: size, count, (id, offset) pairs, values.
	hdr := 8 + 8*len(props)
	var vals []byte
	var sec []byte
	sec = le.AppendUint32(sec, 0) // size, patched below
	sec = le.AppendUint32(sec, uint32(len(props)))
	for _, p := range props {
		sec = le.AppendUint32(sec, p.id)
		sec = le.AppendUint32(sec, uint32(hdr+len(vals)))
		vals = append(vals, p.val...)
	}
	sec = append(sec, vals...)
	le.PutUint32(sec, uint32(len(sec)))

	var b []byte
	b = le.AppendUint16(b, 0xFFFE)
	b = le.AppendUint16(b, 0)          // version
	b = le.AppendUint32(b, 0x00020A00) // Windows 10 (OSType 2, 10.0)
	b = append(b, make([]byte, 16)...) // CLSID
	b = le.AppendUint32(b, 1)
	b = append(b, FMTIDSummaryInformation[:]...)
	b = le.AppendUint32(b, 48)
	return append(b, sec...), nil
}

// filetime converts t to 100-ns intervals since 1601-01-01 UTC.
func filetime(t time.Time) uint64 {
	const epochDiff = 116444736000000000
	return uint64(t.UTC().UnixNano()/100) + epochDiff
}
