package archive

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"

	"triage/parsers"
)

// Zip record signatures and fixed sizes (APPNOTE.TXT 4.3).
const (
	sigLocal        = "PK\x03\x04"
	sigCentral      = "PK\x01\x02"
	sigEnd          = "PK\x05\x06"
	sigEnd64        = "PK\x06\x06"
	sigEnd64Locator = "PK\x06\x07"
	sigDescriptor   = "PK\x07\x08"

	localLen      = 30
	centralLen    = 46
	endLen        = 22
	end64Len      = 56
	end64LocLen   = 20
	maxCommentLen = 0xffff

	flagEncrypted  = 0x1
	flagDescriptor = 0x8
	flagStrong     = 0x40
	flagUTF8       = 0x800

	methodStore   = 0
	methodDeflate = 8
	methodBzip2   = 12
	methodAES     = 99

	extraZip64       = 0x0001
	extraUnicodePath = 0x7075
	extraAES         = 0x9901
)

// zipEntry is one member as the central directory (or, failing that, a
// local header) describes it. Offsets are absolute in the input.
type zipEntry struct {
	name      string
	flags     uint16
	method    uint16
	modTime   uint16
	crc       uint32
	csize     uint64
	usize     uint64
	headerOff int64
	dataOff   int64 // -1 until the local header is read
	extra     []byte
	dir       bool
	central   bool
	err       error // the entry's data cannot be located
}

// end returns the offset just past the entry's compressed data.
func (e *zipEntry) end() int64 {
	if e.dataOff < 0 {
		return e.headerOff + localLen
	}
	return e.dataOff + int64(min(e.csize, 1<<62))
}

// zipDir is what the end records and central directory say.
type zipDir struct {
	entries  []zipEntry
	declared uint64 // entries the end record declares
	trailing int    // bytes after the end record and its comment
	limited  bool   // stopped at Limits.MaxEntries
	problems []string
}

func (d *zipDir) problem(format string, args ...any) {
	d.problems = append(d.problems, fmt.Sprintf(format, args...))
}

// readZipDir reads the end of central directory record (zip64 aware) and
// the central directory. A missing or unreadable directory leaves entries
// empty with a problem noted; the caller then scans local headers.
func readZipDir(data []byte, b *parsers.Budget) (*zipDir, error) {
	d := &zipDir{}
	eocd := findEnd(data)
	if eocd < 0 {
		d.problem("no end of central directory record")
		return d, nil
	}
	e := data[eocd:]
	commentLen := int(le16(e[20:]))
	if rest := len(data) - eocd - endLen - commentLen; rest > 0 {
		d.trailing = rest
	}
	records := uint64(le16(e[10:]))
	size := uint64(le32(e[12:]))
	offset := uint64(le32(e[16:]))
	dirEnd := int64(eocd)
	if (records == 0xffff || size == 0xffffffff || offset == 0xffffffff) && eocd >= end64LocLen {
		loc := data[eocd-end64LocLen:]
		if string(loc[:4]) == sigEnd64Locator {
			off := le64(loc[8:])
			if off < uint64(len(data)) && uint64(len(data))-off >= end64Len && string(data[off:off+4]) == sigEnd64 {
				z := data[off:]
				records, size, offset = le64(z[32:]), le64(z[40:]), le64(z[48:])
				dirEnd = int64(off)
			} else {
				d.problem("zip64 end record not found")
			}
		}
	}
	d.declared = records
	if records == 0 {
		return d, nil
	}
	// The directory normally starts at offset; data prepended to the archive
	// (a stub, junk) shifts everything by the same amount.
	start := int64(-1)
	switch {
	case offset < uint64(len(data)) && hasSig(data, int64(offset), sigCentral):
		start = int64(offset)
	case size <= uint64(dirEnd) && hasSig(data, dirEnd-int64(size), sigCentral):
		start = dirEnd - int64(size)
	}
	if start < 0 {
		d.problem("central directory not found at offset %d", offset)
		return d, nil
	}
	base := start - int64(min(offset, 1<<62))
	if base != 0 {
		d.problem("%d bytes before the archive", base)
	}
	limit := b.Limits.MaxEntries
	p := start
	for i := uint64(0); i < records; i++ {
		if i%256 == 255 {
			if err := b.Err(); err != nil {
				return d, err
			}
		}
		if len(d.entries) >= limit {
			d.limited = true
			break
		}
		if !hasSig(data, p, sigCentral) || int64(len(data))-p < centralLen {
			break
		}
		h := data[p:]
		n, m, k := int64(le16(h[28:])), int64(le16(h[30:])), int64(le16(h[32:]))
		if int64(len(data))-p < centralLen+n+m+k {
			break
		}
		ent := zipEntry{
			flags:     le16(h[8:]),
			method:    le16(h[10:]),
			modTime:   le16(h[12:]),
			crc:       le32(h[16:]),
			csize:     uint64(le32(h[20:])),
			usize:     uint64(le32(h[24:])),
			headerOff: int64(le32(h[42:])),
			dataOff:   -1,
			extra:     h[centralLen+n : centralLen+n+m],
			central:   true,
		}
		rawName := h[centralLen : centralLen+n]
		ent.applyZip64(ent.extra, h[42:46])
		ent.headerOff += base
		ent.name = decodeName(rawName, ent.flags, ent.extra)
		ent.dir = isDirName(ent.name) && ent.usize == 0
		d.entries = append(d.entries, ent)
		p += centralLen + n + m + k
	}
	if !d.limited && uint64(len(d.entries)) < records {
		d.problem("central directory declares %d entries, %d readable", records, len(d.entries))
	}
	return d, nil
}

// applyZip64 replaces saturated 32-bit fields with the zip64 extra's values,
// in the order APPNOTE 4.5.3 lists them.
func (e *zipEntry) applyZip64(extra, rawOff []byte) {
	f := findExtra(extra, extraZip64)
	if f == nil {
		return
	}
	take := func() (uint64, bool) {
		if len(f) < 8 {
			return 0, false
		}
		v := le64(f)
		f = f[8:]
		return v, true
	}
	if e.usize == 0xffffffff {
		if v, ok := take(); ok {
			e.usize = v
		}
	}
	if e.csize == 0xffffffff {
		if v, ok := take(); ok {
			e.csize = v
		}
	}
	if le32(rawOff) == 0xffffffff {
		if v, ok := take(); ok && v < 1<<62 {
			e.headerOff = int64(v)
		}
	}
}

// locate reads the entry's local header to find where its data starts. The
// local extra field may carry the AES record when the central one lacks it.
func (e *zipEntry) locate(data []byte) {
	if e.headerOff < 0 || !hasSig(data, e.headerOff, sigLocal) || int64(len(data))-e.headerOff < localLen {
		e.err = malformedf("no local header at offset %d", e.headerOff)
		return
	}
	h := data[e.headerOff:]
	n, m := int64(le16(h[26:])), int64(le16(h[28:]))
	if int64(len(h)) < localLen+n+m {
		e.err = malformedf("local header truncated")
		return
	}
	e.dataOff = e.headerOff + localLen + n + m
	if findExtra(e.extra, extraAES) == nil {
		if local := h[localLen+n : localLen+n+m]; findExtra(local, extraAES) != nil {
			e.extra = local
		}
	}
}

// raw returns the entry's stored bytes and whether they were all present.
func (e *zipEntry) raw(data []byte) ([]byte, bool) {
	if e.dataOff < 0 || e.dataOff > int64(len(data)) {
		return nil, false
	}
	avail := uint64(int64(len(data)) - e.dataOff)
	if e.csize > avail {
		return data[e.dataOff:], false
	}
	return data[e.dataOff : e.dataOff+int64(e.csize)], true
}

// scanLocal finds local file headers that no listed entry covers: the whole
// archive when the central directory is gone, or entries hidden from it.
// At most limit entries are returned.
func scanLocal(data []byte, covered []zipEntry, limit int, b *parsers.Budget) ([]zipEntry, error) {
	type span struct{ from, to int64 }
	spans := make([]span, 0, len(covered))
	for i := range covered {
		if covered[i].dataOff >= 0 {
			spans = append(spans, span{covered[i].headerOff, covered[i].end()})
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].from < spans[j].from })
	inside := func(off int64) bool {
		i := sort.Search(len(spans), func(i int) bool { return spans[i].from > off })
		for j := i - 1; j >= 0 && j >= i-64; j-- {
			if off >= spans[j].from && off < spans[j].to {
				return true
			}
		}
		return false
	}
	var found []zipEntry
	var descs descriptors
	for off := int64(0); off < int64(len(data)); {
		if err := b.Err(); err != nil {
			return found, err
		}
		i := bytes.Index(data[off:], []byte(sigLocal))
		if i < 0 {
			break
		}
		off += int64(i)
		if inside(off) || int64(len(data))-off < localLen {
			off += 4
			continue
		}
		if len(found) >= limit {
			break
		}
		h := data[off:]
		n, m := int64(le16(h[26:])), int64(le16(h[28:]))
		if int64(len(h)) < localLen+n+m {
			off += 4
			continue
		}
		ent := zipEntry{
			flags:     le16(h[6:]),
			method:    le16(h[8:]),
			modTime:   le16(h[10:]),
			crc:       le32(h[14:]),
			csize:     uint64(le32(h[18:])),
			usize:     uint64(le32(h[22:])),
			headerOff: off,
			dataOff:   off + localLen + n + m,
			extra:     h[localLen+n : localLen+n+m],
		}
		ent.applyZip64(ent.extra, []byte{0, 0, 0, 0})
		ent.name = decodeName(h[localLen:localLen+n], ent.flags, ent.extra)
		if ent.flags&flagDescriptor != 0 && ent.csize == 0 {
			ent.findDescriptor(data, &descs)
		}
		ent.dir = isDirName(ent.name) && ent.csize == 0
		found = append(found, ent)
		next := ent.end()
		if next <= off || next > int64(len(data)) {
			next = off + 4
		}
		off = next
	}
	return found, nil
}

// maxDescriptorChecks bounds the data descriptors examined for all the
// entries of one archive.
const maxDescriptorChecks = 100000

// descriptors lists the offsets of the data descriptor signatures of the
// input, found in one pass on first use: entries sized one after the other
// do not each search the rest of the input again. At most
// maxDescriptorChecks are listed, and as many examined.
type descriptors struct {
	offsets []int64
	listed  bool
	checks  int
}

// from returns the signature offsets at or after off.
func (d *descriptors) from(data []byte, off int64) []int64 {
	if !d.listed {
		d.listed = true
		for p := 0; len(d.offsets) < maxDescriptorChecks; {
			i := bytes.Index(data[p:], []byte(sigDescriptor))
			if i < 0 {
				break
			}
			d.offsets = append(d.offsets, int64(p+i))
			p += i + len(sigDescriptor)
		}
	}
	i := sort.Search(len(d.offsets), func(i int) bool { return d.offsets[i] >= off })
	return d.offsets[i:]
}

// findDescriptor sizes an entry whose local header defers sizes and CRC to
// a data descriptor: the first descriptor whose compressed size matches its
// distance from the data, else the next header, else the end of the input.
func (e *zipEntry) findDescriptor(data []byte, descs *descriptors) {
	from := e.dataOff
	for _, q := range descs.from(data, from) {
		if descs.checks >= maxDescriptorChecks {
			break
		}
		descs.checks++
		if int64(len(data))-q >= 16 && int64(le32(data[q+8:])) == q-from {
			e.crc, e.csize, e.usize = le32(data[q+4:]), uint64(le32(data[q+8:])), uint64(le32(data[q+12:]))
			return
		}
		if int64(len(data))-q >= 24 && int64(min(le64(data[q+8:]), 1<<62)) == q-from {
			e.crc, e.csize, e.usize = le32(data[q+4:]), le64(data[q+8:]), le64(data[q+16:])
			return
		}
	}
	end := int64(len(data))
	for _, sig := range []string{sigLocal, sigCentral} {
		if i := bytes.Index(data[from:end], []byte(sig)); i >= 0 {
			end = from + int64(i)
		}
	}
	e.csize = uint64(end - from)
	e.usize = 0
}

// findEnd returns the offset of the end of central directory record, or -1.
// The record sits in the last 64 KiB + 22 bytes (its comment may follow);
// trailing junk beyond that hides it.
func findEnd(data []byte) int {
	lo := max(len(data)-endLen-maxCommentLen, 0)
	for i := len(data) - endLen; i >= lo; i-- {
		if data[i] == 'P' && string(data[i:i+4]) == sigEnd {
			return i
		}
	}
	return -1
}

// findExtra returns the payload of the extra field record with id, or nil.
func findExtra(extra []byte, id uint16) []byte {
	for len(extra) >= 4 {
		tag, size := le16(extra), int(le16(extra[2:]))
		if len(extra)-4 < size {
			return nil
		}
		if tag == id {
			return extra[4 : 4+size]
		}
		extra = extra[4+size:]
	}
	return nil
}

// decodeName turns a stored name into UTF-8: the Info-ZIP Unicode Path
// extra field when present, the bytes as is when flagged or valid UTF-8,
// else Shift_JIS when it decodes cleanly (Japanese Windows), else CP437.
func decodeName(raw []byte, flags uint16, extra []byte) string {
	if u := findExtra(extra, extraUnicodePath); len(u) > 5 && u[0] == 1 && utf8.Valid(u[5:]) {
		return string(u[5:])
	}
	if flags&flagUTF8 != 0 || utf8.Valid(raw) {
		return string(raw)
	}
	if s, err := japanese.ShiftJIS.NewDecoder().Bytes(raw); err == nil && !bytes.ContainsRune(s, utf8.RuneError) {
		return string(s)
	}
	s, _ := charmap.CodePage437.NewDecoder().Bytes(raw)
	return string(s)
}

func isDirName(name string) bool {
	return len(name) > 0 && (name[len(name)-1] == '/' || name[len(name)-1] == '\\')
}

func hasSig(data []byte, off int64, sig string) bool {
	return off >= 0 && off <= int64(len(data))-4 && string(data[off:off+4]) == sig
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }
