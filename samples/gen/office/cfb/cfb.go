// Package cfb writes Compound File Binary files (MS-CFB version 3, 512-byte
// sectors): the OLE2 container of .doc, .xls and vbaProject.bin.
//
// A file is described as a tree of storages and streams rooted in a Storage
// returned by NewRoot and serialised by Marshal. Streams shorter than 4096
// bytes go to the mini stream (64-byte sectors, MiniFAT), larger ones to the
// FAT. The output depends only on the tree: entries are ordered by the CFB
// name comparison, timestamps are zero and unused space is zero-filled.
package cfb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
)

// CLSID is a class identifier in its on-disk byte order (the first three
// fields little-endian).
type CLSID [16]byte

// Well-known root CLSIDs.
var (
	// WordDocument is the root CLSID of a Word 97-2003 document.
	WordDocument = mustCLSID("00020906-0000-0000-C000-000000000046")
	// ExcelWorkbook is the root CLSID of an Excel 97-2003 workbook.
	ExcelWorkbook = mustCLSID("00020820-0000-0000-C000-000000000046")
	// Package is the CLSID of an OLE Package (packager shell object) storage.
	Package = mustCLSID("0003000C-0000-0000-C000-000000000046")
	// MSFormsForm is the CLSID of a Microsoft Forms 2.0 UserForm designer storage.
	MSFormsForm = mustCLSID("C62A69F0-16DC-11CE-9E98-00AA00574A4F")
)

// ParseCLSID parses "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX", with or without
// braces, into on-disk byte order.
func ParseCLSID(s string) (CLSID, error) {
	var c CLSID
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	parts := strings.Split(s, "-")
	if len(parts) != 5 || len(parts[0]) != 8 || len(parts[1]) != 4 || len(parts[2]) != 4 || len(parts[3]) != 4 || len(parts[4]) != 12 {
		return c, fmt.Errorf("cfb: malformed CLSID %q", s)
	}
	hex := strings.Join(parts, "")
	var raw [16]byte
	for i := range raw {
		hi, ok1 := unhex(hex[2*i])
		lo, ok2 := unhex(hex[2*i+1])
		if !ok1 || !ok2 {
			return c, fmt.Errorf("cfb: malformed CLSID %q", s)
		}
		raw[i] = hi<<4 | lo
	}
	// Data1 (4 bytes), Data2 and Data3 (2 bytes each) are little-endian.
	c[0], c[1], c[2], c[3] = raw[3], raw[2], raw[1], raw[0]
	c[4], c[5] = raw[5], raw[4]
	c[6], c[7] = raw[7], raw[6]
	copy(c[8:], raw[8:])
	return c, nil
}

// String formats c as upper-case "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX".
func (c CLSID) String() string {
	return fmt.Sprintf("%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
		binary.LittleEndian.Uint32(c[0:]), binary.LittleEndian.Uint16(c[4:]), binary.LittleEndian.Uint16(c[6:]),
		c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15])
}

func mustCLSID(s string) CLSID {
	c, err := ParseCLSID(s)
	if err != nil {
		panic(err) // only reached for the literals above
	}
	return c
}

func unhex(b byte) (byte, bool) {
	switch {
	case b >= '0' && b <= '9':
		return b - '0', true
	case b >= 'a' && b <= 'f':
		return b - 'a' + 10, true
	case b >= 'A' && b <= 'F':
		return b - 'A' + 10, true
	}
	return 0, false
}

// Storage is a CFB storage object (a directory); the root storage is the
// "Root Entry".
type Storage struct {
	Name  string
	CLSID CLSID

	entries []*entry
	err     error
}

type entry struct {
	name    string
	storage *Storage // nil for a stream
	data    []byte
}

// NewRoot returns an empty root storage with the given CLSID.
func NewRoot(clsid CLSID) *Storage {
	return &Storage{Name: "Root Entry", CLSID: clsid}
}

// Storage returns the child storage called name, creating it if needed.
// Errors (bad name, a stream of that name) are reported by Marshal.
func (s *Storage) Storage(name string) *Storage {
	if e := s.find(name); e != nil {
		if e.storage == nil {
			s.fail(fmt.Errorf("cfb: %q is a stream, not a storage", name))
			return &Storage{Name: name}
		}
		return e.storage
	}
	if err := checkName(name); err != nil {
		s.fail(err)
	}
	st := &Storage{Name: name}
	s.entries = append(s.entries, &entry{name: name, storage: st})
	return st
}

// Stream adds (or replaces) the stream called name with a copy of data.
func (s *Storage) Stream(name string, data []byte) {
	buf := append([]byte(nil), data...)
	if e := s.find(name); e != nil {
		if e.storage != nil {
			s.fail(fmt.Errorf("cfb: %q is a storage, not a stream", name))
			return
		}
		e.data = buf
		return
	}
	if err := checkName(name); err != nil {
		s.fail(err)
	}
	s.entries = append(s.entries, &entry{name: name, data: buf})
}

// Put adds a stream at a "/"-separated path below s, creating the
// intermediate storages: Put("Macros/VBA/dir", b).
func (s *Storage) Put(path string, data []byte) {
	parts := strings.Split(path, "/")
	st := s
	for _, p := range parts[:len(parts)-1] {
		st = st.Storage(p)
	}
	st.Stream(parts[len(parts)-1], data)
}

func (s *Storage) find(name string) *entry {
	for _, e := range s.entries {
		if compareNames(e.name, name) == 0 {
			return e
		}
	}
	return nil
}

func (s *Storage) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

func checkName(name string) error {
	n := len(utf16.Encode([]rune(name)))
	if n == 0 || n > 31 {
		return fmt.Errorf("cfb: name %q must have 1 to 31 UTF-16 code units", name)
	}
	if strings.ContainsAny(name, "/\\:!") {
		return fmt.Errorf("cfb: name %q contains a character MS-CFB forbids", name)
	}
	return nil
}

// compareNames implements the MS-CFB directory order: shorter names first,
// then code-unit by code-unit comparison of the upper-cased names.
func compareNames(a, b string) int {
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	if len(ua) != len(ub) {
		if len(ua) < len(ub) {
			return -1
		}
		return 1
	}
	for i := range ua {
		ca, cb := upper(ua[i]), upper(ub[i])
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	return 0
}

func upper(c uint16) uint16 {
	if c >= 0xD800 && c < 0xE000 {
		return c // surrogate halves compare as themselves
	}
	u := unicode.ToUpper(rune(c))
	if u > 0xFFFF {
		return c
	}
	return uint16(u)
}

const (
	sectorSize     = 512
	miniSectorSize = 64
	miniCutoff     = 4096
	dirEntrySize   = 128

	maxRegSect = 0xFFFFFFFA
	difSect    = 0xFFFFFFFC
	fatSect    = 0xFFFFFFFD
	endOfChain = 0xFFFFFFFE
	freeSect   = 0xFFFFFFFF
	noStream   = 0xFFFFFFFF

	typeStorage = 1
	typeStream  = 2
	typeRoot    = 5

	colorRed   = 0
	colorBlack = 1
)

// dirEntry is one directory entry while laying out the file.
type dirEntry struct {
	name               string
	objType            byte
	color              byte
	left, right, child uint32
	clsid              CLSID
	start              uint32
	size               uint64
	data               []byte
	mini               bool
}

// ErrTooLarge is returned when the file would need more sectors than a
// version 3 compound file can address.
var ErrTooLarge = errors.New("cfb: file too large")

// Marshal serialises the tree rooted at root.
func Marshal(root *Storage) ([]byte, error) {
	var dir []*dirEntry
	if err := flatten(root, &dir); err != nil {
		return nil, err
	}
	dir[0].objType = typeRoot
	dir[0].name = "Root Entry"

	// Mini stream: every stream below the cutoff, 64-byte aligned.
	var miniStream []byte
	var miniFAT []uint32
	for _, d := range dir {
		if d.objType != typeStream || d.size == 0 || d.size >= miniCutoff {
			continue
		}
		d.mini = true
		first := uint32(len(miniStream) / miniSectorSize)
		n := int((d.size + miniSectorSize - 1) / miniSectorSize)
		for i := 0; i < n; i++ {
			if i == n-1 {
				miniFAT = append(miniFAT, endOfChain)
			} else {
				miniFAT = append(miniFAT, first+uint32(i)+1)
			}
		}
		d.start = first
		miniStream = append(miniStream, d.data...)
		miniStream = append(miniStream, make([]byte, n*miniSectorSize-len(d.data))...)
	}

	nDir := ceilDiv(len(dir)*dirEntrySize, sectorSize)
	nMiniFAT := ceilDiv(len(miniFAT)*4, sectorSize)
	nMiniStream := ceilDiv(len(miniStream), sectorSize)
	nStreams := 0
	for _, d := range dir {
		if d.objType == typeStream && !d.mini && d.size > 0 {
			nStreams += ceilDiv(int(d.size), sectorSize)
		}
	}
	// FAT and DIFAT sectors must also describe themselves: iterate to a fixed point.
	nFAT, nDIFAT := 0, 0
	for {
		total := nFAT + nDIFAT + nMiniFAT + nDir + nMiniStream + nStreams
		f := ceilDiv(total, sectorSize/4)
		d := 0
		if f > 109 {
			d = ceilDiv(f-109, sectorSize/4-1)
		}
		if f == nFAT && d == nDIFAT {
			break
		}
		nFAT, nDIFAT = f, d
	}
	total := nFAT + nDIFAT + nMiniFAT + nDir + nMiniStream + nStreams
	if uint64(total) >= maxRegSect {
		return nil, ErrTooLarge
	}

	fat := make([]uint32, nFAT*sectorSize/4)
	for i := range fat {
		fat[i] = freeSect
	}
	next := uint32(0)
	alloc := func(n int, mark uint32) uint32 {
		start := next
		for i := 0; i < n; i++ {
			switch {
			case mark != 0:
				fat[next] = mark
			case i == n-1:
				fat[next] = endOfChain
			default:
				fat[next] = next + 1
			}
			next++
		}
		if n == 0 {
			return endOfChain
		}
		return start
	}
	fatStart := alloc(nFAT, fatSect)
	difatStart := alloc(nDIFAT, difSect)
	miniFATStart := alloc(nMiniFAT, 0)
	dirStart := alloc(nDir, 0)
	miniStreamStart := alloc(nMiniStream, 0)
	for _, d := range dir {
		if d.objType == typeStream && !d.mini {
			if d.size == 0 {
				d.start = endOfChain
			} else {
				d.start = alloc(ceilDiv(int(d.size), sectorSize), 0)
			}
		}
	}
	dir[0].start = miniStreamStart
	dir[0].size = uint64(len(miniStream))

	out := make([]byte, sectorSize*(1+total))
	sector := func(n uint32) []byte {
		off := sectorSize * (1 + int(n))
		return out[off : off+sectorSize]
	}
	putChain := func(start uint32, data []byte) {
		for s, off := start, 0; off < len(data); off += sectorSize {
			copy(sector(s), data[off:])
			s = fat[s]
		}
	}

	// Header.
	h := out[:sectorSize]
	copy(h, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1})
	le := binary.LittleEndian
	le.PutUint16(h[0x18:], 0x003E)
	le.PutUint16(h[0x1A:], 0x0003)
	le.PutUint16(h[0x1C:], 0xFFFE)
	le.PutUint16(h[0x1E:], 9)
	le.PutUint16(h[0x20:], 6)
	le.PutUint32(h[0x2C:], uint32(nFAT))
	le.PutUint32(h[0x30:], dirStart)
	le.PutUint32(h[0x38:], miniCutoff)
	le.PutUint32(h[0x3C:], miniFATStart)
	le.PutUint32(h[0x40:], uint32(nMiniFAT))
	le.PutUint32(h[0x44:], difatStart)
	le.PutUint32(h[0x48:], uint32(nDIFAT))
	for i := 0; i < 109; i++ {
		v := uint32(freeSect)
		if i < nFAT {
			v = fatStart + uint32(i)
		}
		le.PutUint32(h[0x4C+4*i:], v)
	}
	// DIFAT sectors: 127 FAT locations and the next DIFAT sector.
	for k := 0; k < nDIFAT; k++ {
		sec := sector(difatStart + uint32(k))
		for j := 0; j < sectorSize/4-1; j++ {
			i := 109 + k*(sectorSize/4-1) + j
			v := uint32(freeSect)
			if i < nFAT {
				v = fatStart + uint32(i)
			}
			le.PutUint32(sec[4*j:], v)
		}
		nextDIFAT := uint32(endOfChain)
		if k < nDIFAT-1 {
			nextDIFAT = difatStart + uint32(k) + 1
		}
		le.PutUint32(sec[sectorSize-4:], nextDIFAT)
	}
	// FAT.
	fatBytes := make([]byte, len(fat)*4)
	for i, v := range fat {
		le.PutUint32(fatBytes[4*i:], v)
	}
	for i := 0; i < nFAT; i++ {
		copy(sector(fatStart+uint32(i)), fatBytes[i*sectorSize:])
	}
	// MiniFAT.
	if nMiniFAT > 0 {
		mf := make([]byte, nMiniFAT*sectorSize)
		for i := range mf {
			mf[i] = 0xFF
		}
		for i, v := range miniFAT {
			le.PutUint32(mf[4*i:], v)
		}
		putChain(miniFATStart, mf)
	}
	// Directory.
	db := make([]byte, nDir*sectorSize)
	for i := 0; i < nDir*sectorSize/dirEntrySize; i++ {
		e := db[i*dirEntrySize : (i+1)*dirEntrySize]
		if i >= len(dir) {
			le.PutUint32(e[0x44:], noStream)
			le.PutUint32(e[0x48:], noStream)
			le.PutUint32(e[0x4C:], noStream)
			continue
		}
		putDirEntry(e, dir[i])
	}
	putChain(dirStart, db)
	if nMiniStream > 0 {
		putChain(miniStreamStart, miniStream)
	}
	for _, d := range dir {
		if d.objType == typeStream && !d.mini && d.size > 0 {
			putChain(d.start, d.data)
		}
	}
	return out, nil
}

func putDirEntry(e []byte, d *dirEntry) {
	le := binary.LittleEndian
	u := utf16.Encode([]rune(d.name))
	for i, c := range u {
		le.PutUint16(e[2*i:], c)
	}
	le.PutUint16(e[0x40:], uint16(2*(len(u)+1)))
	e[0x42] = d.objType
	e[0x43] = d.color
	le.PutUint32(e[0x44:], d.left)
	le.PutUint32(e[0x48:], d.right)
	le.PutUint32(e[0x4C:], d.child)
	copy(e[0x50:], d.clsid[:])
	// State bits and timestamps stay zero for reproducible output.
	switch d.objType {
	case typeStorage:
		le.PutUint32(e[0x74:], 0)
	default:
		le.PutUint32(e[0x74:], d.start)
		le.PutUint64(e[0x78:], d.size)
	}
}

// flatten appends s and its descendants in pre-order and links each
// storage's children into a balanced, validly coloured red-black tree.
func flatten(s *Storage, dir *[]*dirEntry) error {
	if s.err != nil {
		return s.err
	}
	if len(*dir) >= noStream-1 {
		return ErrTooLarge
	}
	me := &dirEntry{name: s.Name, objType: typeStorage, color: colorBlack,
		left: noStream, right: noStream, child: noStream, clsid: s.CLSID}
	*dir = append(*dir, me)

	kids := append([]*entry(nil), s.entries...)
	sortEntries(kids)
	ids := make([]uint32, len(kids))
	entries := make([]*dirEntry, len(kids))
	for i, k := range kids {
		ids[i] = uint32(len(*dir))
		if k.storage != nil {
			if err := flatten(k.storage, dir); err != nil {
				return err
			}
			entries[i] = (*dir)[ids[i]]
			continue
		}
		d := &dirEntry{name: k.name, objType: typeStream, color: colorBlack,
			left: noStream, right: noStream, child: noStream,
			size: uint64(len(k.data)), data: k.data}
		if uint64(len(k.data)) > 0xFFFFFFFF {
			return ErrTooLarge
		}
		*dir = append(*dir, d)
		entries[i] = d
	}
	if len(kids) == 0 {
		return nil
	}
	height := 0
	for n := len(kids); n > 1; n >>= 1 {
		height++
	}
	me.child = link(entries, ids, 0, len(kids), 0, height)
	return nil
}

// link builds the subtree over entries[lo:hi] with the median as its root
// and returns the root's id. Every nil link lies at depth height or
// height+1, so colouring the nodes at depth == height red (the root always
// black) gives each root-to-leaf path the same number of black nodes.
func link(entries []*dirEntry, ids []uint32, lo, hi, depth, height int) uint32 {
	if lo >= hi {
		return noStream
	}
	mid := (lo + hi) / 2
	e := entries[mid]
	e.left = link(entries, ids, lo, mid, depth+1, height)
	e.right = link(entries, ids, mid+1, hi, depth+1, height)
	e.color = colorBlack
	if depth > 0 && depth == height {
		e.color = colorRed
	}
	return ids[mid]
}

func sortEntries(es []*entry) {
	// Insertion sort keeps this dependency-free and stable; storages hold few entries.
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && compareNames(es[j-1].name, es[j].name) > 0; j-- {
			es[j-1], es[j] = es[j], es[j-1]
		}
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
