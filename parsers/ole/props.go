package ole

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	"triage/parsers/vba"
)

// Property sets (MS-OLEPS). msoleps allocates from untrusted counts
// (property and vector counts) before checking them against the data, so
// this small reader takes only what triage needs: the string properties of
// \x05SummaryInformation and \x05DocumentSummaryInformation, including
// user-defined ones, with every offset and count checked.

const (
	vtI2     = 0x0002
	vtLPSTR  = 0x001E
	vtLPWSTR = 0x001F
	vtBSTR   = 0x0008
	// maxProperties bounds the properties read from one section.
	maxProperties = 1024
	// maxPropertyString bounds one string value.
	maxPropertyString = 64 * 1024
)

var (
	fmtidSummary    = [16]byte{0xE0, 0x85, 0x9F, 0xF2, 0xF9, 0x4F, 0x68, 0x10, 0xAB, 0x91, 0x08, 0x00, 0x2B, 0x27, 0xB3, 0xD9}
	fmtidDocSummary = [16]byte{0x02, 0xD5, 0xCD, 0xD5, 0x9C, 0x2E, 0x1B, 0x10, 0x93, 0x97, 0x08, 0x00, 0x2B, 0x2C, 0xF9, 0xAE}
)

var summaryNames = map[uint32]string{
	2: "title", 3: "subject", 4: "author", 5: "keywords", 6: "comments",
	7: "template", 8: "last_author", 9: "revision", 18: "application",
}

var docSummaryNames = map[uint32]string{
	2: "category", 14: "manager", 15: "company", 26: "content_type", 27: "content_status",
	28: "language", 29: "doc_version",
}

// readProperties returns the named string properties of a property set
// stream. User-defined properties are named "custom:<name>".
func readProperties(b []byte) (map[string]string, error) {
	if len(b) < 28 || binary.LittleEndian.Uint16(b) != 0xFFFE {
		return nil, fmt.Errorf("not a property set stream")
	}
	nsets := binary.LittleEndian.Uint32(b[24:])
	if nsets > 2 || 28+int(nsets)*20 > len(b) {
		return nil, fmt.Errorf("bad property set count %d", nsets)
	}
	out := map[string]string{}
	for i := 0; i < int(nsets); i++ {
		var fmtid [16]byte
		copy(fmtid[:], b[28+20*i:])
		off := binary.LittleEndian.Uint32(b[28+20*i+16:])
		names := map[uint32]string{}
		switch {
		case fmtid == fmtidSummary:
			names = summaryNames
		case fmtid == fmtidDocSummary && i == 0:
			names = docSummaryNames
		}
		custom := i == 1 && fmtid != fmtidSummary
		if err := readSection(b, off, names, custom, out); err != nil {
			return out, err
		}
	}
	return out, nil
}

func readSection(b []byte, off uint32, names map[uint32]string, custom bool, out map[string]string) error {
	if int64(off)+8 > int64(len(b)) {
		return fmt.Errorf("section offset %d outside the stream", off)
	}
	sec := b[off:]
	size := binary.LittleEndian.Uint32(sec)
	if int64(size) < int64(len(sec)) {
		sec = sec[:max(size, 8)]
	}
	n := binary.LittleEndian.Uint32(sec[4:])
	if n > maxProperties || 8+int64(n)*8 > int64(len(sec)) {
		return fmt.Errorf("section declares %d properties", n)
	}
	type idOff struct{ id, off uint32 }
	ids := make([]idOff, n)
	codePage := uint16(vba.DefaultCodePage)
	var dictOff uint32
	for i := range ids {
		ids[i] = idOff{binary.LittleEndian.Uint32(sec[8+8*i:]), binary.LittleEndian.Uint32(sec[12+8*i:])}
		if ids[i].id == 1 && int64(ids[i].off)+6 <= int64(len(sec)) &&
			binary.LittleEndian.Uint16(sec[ids[i].off:]) == vtI2 {
			codePage = binary.LittleEndian.Uint16(sec[ids[i].off+4:])
		}
		if ids[i].id == 0 {
			dictOff = ids[i].off
		}
	}
	if custom && dictOff != 0 {
		names = readDictionary(sec, dictOff, codePage)
	}
	for _, p := range ids {
		name, ok := names[p.id]
		if !ok || p.id < 2 {
			continue
		}
		if custom {
			name = "custom:" + name
		}
		if s, ok := readString(sec, p.off, codePage); ok && s != "" {
			out[name] = s
		}
	}
	return nil
}

// readString decodes a VT_LPSTR, VT_LPWSTR or VT_BSTR value.
func readString(sec []byte, off uint32, codePage uint16) (string, bool) {
	if int64(off)+8 > int64(len(sec)) {
		return "", false
	}
	typ := binary.LittleEndian.Uint16(sec[off:])
	n := int64(binary.LittleEndian.Uint32(sec[off+4:]))
	data := sec[off+8:]
	switch typ {
	case vtLPSTR, vtBSTR:
		if codePage == 1200 {
			n *= 2
		}
		if n > int64(len(data)) || n > maxPropertyString {
			return "", false
		}
		if codePage == 1200 {
			return strings.TrimRight(decodeUTF16(data[:n]), "\x00"), true
		}
		return strings.TrimRight(vba.DecodeCodePage(codePage, data[:n]), "\x00"), true
	case vtLPWSTR:
		if 2*n > int64(len(data)) || 2*n > maxPropertyString {
			return "", false
		}
		return strings.TrimRight(decodeUTF16(data[:2*n]), "\x00"), true
	}
	return "", false
}

// readDictionary reads the id → name dictionary of a user-defined section.
func readDictionary(sec []byte, off uint32, codePage uint16) map[uint32]string {
	names := map[uint32]string{}
	if int64(off)+4 > int64(len(sec)) {
		return names
	}
	n := binary.LittleEndian.Uint32(sec[off:])
	pos := int64(off) + 4
	for i := uint32(0); i < n && i < maxProperties; i++ {
		if pos+8 > int64(len(sec)) {
			break
		}
		id := binary.LittleEndian.Uint32(sec[pos:])
		l := int64(binary.LittleEndian.Uint32(sec[pos+4:]))
		pos += 8
		if codePage == 1200 {
			if pos+2*l > int64(len(sec)) || l > 1024 {
				break
			}
			names[id] = strings.TrimRight(decodeUTF16(sec[pos:pos+2*l]), "\x00")
			pos += 2 * l
			pos = (pos + 3) &^ 3
			continue
		}
		if pos+l > int64(len(sec)) || l > 1024 {
			break
		}
		names[id] = strings.TrimRight(vba.DecodeCodePage(codePage, sec[pos:pos+l]), "\x00")
		pos += l
	}
	return names
}

// propertiesText renders properties as "name: value" lines, sorted.
func propertiesText(props map[string]string) string {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "%s: %s\n", k, props[k])
	}
	return sb.String()
}

// --- UserForm strings ---

// minFormString is the shortest string kept from a form stream.
const minFormString = 4

// formStrings returns the printable strings of a UserForm "o" stream:
// ANSI runs and UTF-16LE runs of at least minFormString characters, in
// order, deduplicated. TextBox values and captions live there, and Emotet
// hides its command line in them.
func formStrings(b []byte, maxBytes int) []string {
	var out []string
	seen := map[string]bool{}
	total := 0
	add := func(s string) bool {
		s = strings.TrimSpace(s)
		if len([]rune(s)) < minFormString || seen[s] {
			return true
		}
		seen[s] = true
		total += len(s) + 1
		if total > maxBytes {
			return false
		}
		out = append(out, s)
		return true
	}
	// UTF-16LE runs, at even and odd offsets.
	for align := 0; align < 2; align++ {
		for _, r := range utf16Runs(b, align) {
			if !add(r) {
				return out
			}
		}
	}
	// ANSI runs (printable ASCII and tab).
	start := -1
	for i := 0; i <= len(b); i++ {
		if i < len(b) && (b[i] >= 0x20 && b[i] < 0x7F || b[i] == '\t') {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= minFormString {
			if !add(string(b[start:i])) {
				return out
			}
		}
		start = -1
	}
	return out
}

// formRune accepts the characters kept from forms: printable ASCII, tab
// and Latin-1. Wider ranges would turn ANSI text read as UTF-16 into
// CJK-looking noise.
func formRune(r rune) bool {
	return r == '\t' || r >= 0x20 && r < 0x7F || r >= 0xA0 && r <= 0xFF
}

// utf16Runs returns the UTF-16LE runs of form characters starting at
// offsets of the given parity.
func utf16Runs(b []byte, align int) []string {
	var out []string
	var run []rune
	flush := func() {
		if len(run) >= minFormString {
			out = append(out, string(run))
		}
		run = run[:0]
	}
	for i := align; i+1 < len(b); i += 2 {
		if r := rune(binary.LittleEndian.Uint16(b[i:])); formRune(r) {
			run = append(run, r)
			continue
		}
		flush()
	}
	flush()
	return out
}
