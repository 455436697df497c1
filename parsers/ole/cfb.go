package ole

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode"

	"github.com/richardlehane/mscfb"

	"triage/parsers"
)

// Compound file constants (MS-CFB 2.1).
const (
	cfbHeaderSize = 512
	secEndOfChain = 0xFFFFFFFE
	secFree       = 0xFFFFFFFF
	secFAT        = 0xFFFFFFFD
	secDIFAT      = 0xFFFFFFFC
	secMaxRegular = 0xFFFFFFFA
	miniCutoff    = 4096
	miniSector    = 64
	dirEntrySize  = 128
)

// Magic is the compound file signature.
var Magic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// entry is one directory entry of an opened compound file.
type entry struct {
	Path   string // "Macros/VBA/dir"; the root storage is ""
	Name   string // with its leading control character (e.g. "\x01Ole10Native")
	Parent string // path of the containing storage
	Dir    bool   // storage (or the root)
	Size   int64
	CLSID  string
	file   *mscfb.File
}

// doc is an opened compound file.
type doc struct {
	data    []byte
	budget  *parsers.Budget
	r       *mscfb.Reader
	entries []*entry          // traversal order, root first
	byPath  map[string]*entry // lower-case path
	fat     *fatTable         // our own view of the FAT, for chain checks (nil if unreadable)
	// problems found while opening and reading, for the malformed finding.
	problems []string
}

// openDoc parses a compound file under budget. A panic inside mscfb is
// turned into an error wrapping parsers.ErrMalformed.
func openDoc(data []byte, budget *parsers.Budget) (d *doc, err error) {
	if len(data) < cfbHeaderSize || !bytes.HasPrefix(data, Magic) {
		return nil, fmt.Errorf("%w: ole: not a compound file", parsers.ErrMalformed)
	}
	d = &doc{data: data, budget: budget, byPath: map[string]*entry{}}
	fat, ferr := readFAT(data)
	if ferr != nil {
		if len(data) > maxUncheckedTree {
			return nil, fmt.Errorf("%w: ole: FAT unreadable (%v) in a %d-byte file", parsers.ErrMalformed, ferr, len(data))
		}
		d.problems = append(d.problems, ferr.Error())
	} else {
		d.fat = fat
		maxDir := 8*budget.Limits.MaxEntries + 64
		n, derr := fat.chainLen(fat.dirStart, maxDir*dirEntrySize/int(fat.sectorSize)+1)
		if derr != nil {
			return nil, fmt.Errorf("%w: ole: directory chain: %v", parsers.ErrMalformed, derr)
		}
		if n*int(fat.sectorSize)/dirEntrySize > maxDir {
			return nil, fmt.Errorf("%w: ole: directory of more than %d entries", parsers.ErrTooMany, maxDir)
		}
		if err := fat.checkTree(data, maxDir); err != nil {
			return nil, err
		}
	}
	defer func() {
		if p := recover(); p != nil {
			d, err = nil, fmt.Errorf("%w: ole: compound file reader panicked: %v", parsers.ErrMalformed, p)
		}
	}()
	r, err := mscfb.New(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: ole: %v", parsers.ErrMalformed, err)
	}
	d.r = r
	if len(r.File) == 0 {
		return nil, fmt.Errorf("%w: ole: no directory entries", parsers.ErrMalformed)
	}
	max := budget.Limits.MaxEntries
	for i, f := range r.File {
		if i >= max {
			d.problems = append(d.problems, fmt.Sprintf("more than %d directory entries; the rest is ignored", max))
			break
		}
		e := &entry{file: f, Dir: f.FileInfo().IsDir(), CLSID: f.ID()}
		if i == 0 {
			e.Dir = true
		} else {
			e.Name = fullName(f)
			e.Parent = strings.Join(f.Path, "/")
			e.Path = e.Name
			if e.Parent != "" {
				e.Path = e.Parent + "/" + e.Name
			}
			if !e.Dir {
				e.Size = f.Size
			}
		}
		if _, dup := d.byPath[strings.ToLower(e.Path)]; dup && i > 0 {
			d.problems = append(d.problems, fmt.Sprintf("duplicate entry %q", e.Path))
			continue
		}
		d.entries = append(d.entries, e)
		d.byPath[strings.ToLower(e.Path)] = e
	}
	return d, nil
}

// fullName restores the leading control character mscfb strips from names
// such as "\x01Ole10Native" and "\x05SummaryInformation".
func fullName(f *mscfb.File) string {
	if f.Initial != 0 && !unicode.IsPrint(rune(f.Initial)) && f.Name != "" {
		return string(rune(f.Initial)) + f.Name
	}
	return f.Name
}

// root returns the root entry.
func (d *doc) root() *entry { return d.entries[0] }

// lookup finds an entry by path, case-insensitively.
func (d *doc) lookup(path string) *entry { return d.byPath[strings.ToLower(path)] }

// errNotExist reports a missing stream.
var errNotExist = errors.New("ole: no such stream")

// read returns a stream's content under the budget. A stream larger than
// the file or whose sector chain loops is malformed: it is read no further
// than the file size and the problem is recorded.
func (d *doc) read(e *entry) (data []byte, err error) {
	if e == nil || e.Dir {
		return nil, errNotExist
	}
	if e.Size == 0 {
		return nil, nil
	}
	if err := d.budget.Err(); err != nil {
		return nil, err
	}
	size := e.Size
	if size > int64(len(d.data)) {
		d.problem(fmt.Sprintf("stream %q declares %d bytes, more than the %d-byte file", e.Path, e.Size, len(d.data)))
		size = int64(len(d.data))
	}
	if d.fat != nil {
		if _, cerr := d.fat.checkStream(e.file, size); cerr != nil {
			d.problem(fmt.Sprintf("stream %q: %v", e.Path, cerr))
			return nil, fmt.Errorf("%w: ole: stream %q: %v", parsers.ErrMalformed, e.Path, cerr)
		}
	}
	defer func() {
		if p := recover(); p != nil {
			data, err = nil, fmt.Errorf("%w: ole: stream %q: reader panicked: %v", parsers.ErrMalformed, e.Path, p)
			d.problem(fmt.Sprintf("stream %q: reader panicked", e.Path))
		}
	}()
	if _, err := e.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("%w: ole: stream %q: %v", parsers.ErrMalformed, e.Path, err)
	}
	// The size is now bounded by the input, so the buffer can be sized
	// exactly; the read still draws from the message budget.
	var cut error
	if max := d.budget.Limits.MaxArtifactBytes; size > max {
		size = max
		cut = fmt.Errorf("%w: ole: stream %q larger than %d bytes", parsers.ErrTooLarge, e.Path, max)
	}
	if err := d.budget.Charge(size); err != nil {
		return nil, err
	}
	data = make([]byte, size)
	n, err := io.ReadFull(e.file, data)
	if err != nil {
		d.problem(fmt.Sprintf("stream %q: %v", e.Path, err))
		return data[:n], fmt.Errorf("%w: ole: stream %q: %v", parsers.ErrMalformed, e.Path, err)
	}
	return data, cut
}

// readPath reads the stream at path (case-insensitive).
func (d *doc) readPath(path string) ([]byte, error) {
	e := d.lookup(path)
	if e == nil || e.Dir {
		return nil, fmt.Errorf("%w: %q", errNotExist, path)
	}
	return d.read(e)
}

func (d *doc) problem(p string) {
	if len(d.problems) < 32 {
		d.problems = append(d.problems, p)
	}
}

// fatTable is an independent reading of the FAT and mini FAT, used to
// detect sector chains that loop or leave the file before mscfb follows
// them (mscfb checks the directory and mini stream chains, not stream
// chains).
type fatTable struct {
	sectorSize uint32
	fat        []uint32
	miniFAT    []uint32
	dirStart   uint32
	nSectors   uint32
}

// readFAT reads the header, the DIFAT and the FAT sectors.
func readFAT(data []byte) (*fatTable, error) {
	shift := binary.LittleEndian.Uint16(data[0x1E:])
	if shift != 9 && shift != 12 {
		return nil, fmt.Errorf("sector shift %d", shift)
	}
	t := &fatTable{sectorSize: 1 << shift}
	t.nSectors = uint32((int64(len(data)) - int64(t.sectorSize)) / int64(t.sectorSize))
	if (int64(len(data))-int64(t.sectorSize))%int64(t.sectorSize) != 0 {
		t.nSectors++ // a short last sector
	}
	numFAT := binary.LittleEndian.Uint32(data[0x2C:])
	t.dirStart = binary.LittleEndian.Uint32(data[0x30:])
	miniStart := binary.LittleEndian.Uint32(data[0x3C:])
	numMini := binary.LittleEndian.Uint32(data[0x40:])
	difatStart := binary.LittleEndian.Uint32(data[0x44:])
	numDIFAT := binary.LittleEndian.Uint32(data[0x48:])
	if numFAT > t.nSectors+1 {
		return nil, fmt.Errorf("header declares %d FAT sectors, the file has %d sectors", numFAT, t.nSectors)
	}
	fatSectors := make([]uint32, 0, numFAT)
	for i := 0; i < 109 && uint32(len(fatSectors)) < numFAT; i++ {
		fatSectors = append(fatSectors, binary.LittleEndian.Uint32(data[0x4C+4*i:]))
	}
	per := t.sectorSize/4 - 1
	seen := map[uint32]bool{}
	for s, n := difatStart, uint32(0); n < numDIFAT && uint32(len(fatSectors)) < numFAT; n++ {
		if s > secMaxRegular || seen[s] {
			return nil, fmt.Errorf("DIFAT chain broken or looping at sector %d", s)
		}
		seen[s] = true
		b := t.sector(data, s)
		if b == nil {
			return nil, fmt.Errorf("DIFAT sector %d outside the file", s)
		}
		for i := uint32(0); i < per && uint32(len(fatSectors)) < numFAT; i++ {
			fatSectors = append(fatSectors, binary.LittleEndian.Uint32(b[4*i:]))
		}
		s = binary.LittleEndian.Uint32(b[4*per:])
	}
	t.fat = make([]uint32, 0, len(fatSectors)*int(t.sectorSize/4))
	for _, s := range fatSectors {
		b := t.sector(data, s)
		if b == nil {
			return nil, fmt.Errorf("FAT sector %d outside the file", s)
		}
		for i := 0; i+4 <= len(b); i += 4 {
			t.fat = append(t.fat, binary.LittleEndian.Uint32(b[i:]))
		}
	}
	if numMini > 0 && miniStart <= secMaxRegular {
		var mini []uint32
		err := t.walk(miniStart, int(numMini)+1, func(s uint32) bool {
			b := t.sector(data, s)
			if b == nil {
				return false
			}
			for i := 0; i+4 <= len(b); i += 4 {
				mini = append(mini, binary.LittleEndian.Uint32(b[i:]))
			}
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("mini FAT: %v", err)
		}
		t.miniFAT = mini
	}
	return t, nil
}

// sector returns sector s (possibly short at the end of the file), or nil.
func (t *fatTable) sector(data []byte, s uint32) []byte {
	off := (int64(s) + 1) * int64(t.sectorSize)
	if s > secMaxRegular || off >= int64(len(data)) {
		return nil
	}
	end := min(off+int64(t.sectorSize), int64(len(data)))
	if end-off < int64(t.sectorSize) {
		// Pad a short last sector so fixed-size reads stay in bounds.
		b := make([]byte, t.sectorSize)
		copy(b, data[off:end])
		return b
	}
	return data[off:end]
}

// walk follows a FAT chain from start, calling fn on each sector, for at
// most max sectors. It fails on a loop, an index outside the FAT, or fn
// returning false.
func (t *fatTable) walk(start uint32, max int, fn func(uint32) bool) error {
	return walkChain(t.fat, start, max, fn)
}

func walkChain(table []uint32, start uint32, max int, fn func(uint32) bool) error {
	seen := make(map[uint32]struct{})
	for s, n := start, 0; s != secEndOfChain; n++ {
		if n >= max {
			return nil
		}
		if s > secMaxRegular || int64(s) >= int64(len(table)) {
			return fmt.Errorf("chain leaves the table at sector %d", s)
		}
		if _, loop := seen[s]; loop {
			return fmt.Errorf("sector chain loops at sector %d", s)
		}
		seen[s] = struct{}{}
		if fn != nil && !fn(s) {
			return fmt.Errorf("sector %d outside the file", s)
		}
		s = table[s]
	}
	return nil
}

// chainLen counts the sectors of the chain at start (up to max).
func (t *fatTable) chainLen(start uint32, max int) (int, error) {
	n := 0
	err := t.walk(start, max, func(uint32) bool { n++; return true })
	return n, err
}

// checkStream verifies that a stream's chain covers size bytes without
// looping. It returns how many of the size bytes the chain covers before
// the fault it reports.
func (t *fatTable) checkStream(f *mscfb.File, size int64) (int64, error) {
	start := startSector(f)
	if start == secFree {
		return size, nil // unknown start sector: leave the read to mscfb
	}
	if size < miniCutoff {
		need := int((size + miniSector - 1) / miniSector)
		n := 0
		err := walkChain(t.miniFAT, start, need, func(uint32) bool { n++; return true })
		covered := min(int64(n)*miniSector, size)
		if err != nil {
			return covered, err
		}
		if n < need {
			return covered, fmt.Errorf("mini sector chain ends after %d of %d sectors", n, need)
		}
		return size, nil
	}
	need := int((size + int64(t.sectorSize) - 1) / int64(t.sectorSize))
	n := 0
	err := t.walk(start, need, func(s uint32) bool {
		if s >= t.nSectors {
			return false
		}
		n++
		return true
	})
	covered := min(int64(n)*int64(t.sectorSize), size)
	if err != nil {
		return covered, err
	}
	if n < need {
		return covered, fmt.Errorf("sector chain ends after %d of %d sectors", n, need)
	}
	return size, nil
}

// startSector returns a stream's first sector. mscfb keeps it unexported;
// reflection reads it (mscfb is pinned at v1.0.9). When the field cannot
// be found it returns secFree and the chain check is skipped.
func startSector(f *mscfb.File) uint32 {
	v := reflect.ValueOf(f).Elem().FieldByName("directoryEntryFields")
	if !v.IsValid() || v.IsNil() {
		return secFree
	}
	s := v.Elem().FieldByName("startingSectorLoc")
	if !s.IsValid() || s.Kind() != reflect.Uint32 {
		return secFree
	}
	return uint32(s.Uint())
}

// maxStorageDepth bounds the nesting of storages. mscfb gives every entry
// its own copy of its parent's path, so a chain of nested storages costs
// memory quadratic in its depth (8 000 levels in a 1 MB file take 500 MB,
// the 80 000 a 10 MB file can hold some 50 GB). Real documents nest a
// handful of levels.
const maxStorageDepth = 64

// maxUncheckedTree is the largest file handed to mscfb when its FAT cannot
// be read independently, so its directory tree cannot be vetted: at one
// entry per 128 bytes the worst case stays near 32 MB.
const maxUncheckedTree = 256 * parsers.KiB

// CheckTree vets a compound file for the packages that open it with mscfb
// themselves (msg, xlm). It checks the directory tree before mscfb.New
// builds it: at most 8*maxEntries+64 entries, storages nested at most
// maxStorageDepth deep. It returns an error wrapping parsers.ErrTooDeep,
// parsers.ErrTooMany or parsers.ErrMalformed when mscfb must not open the
// file; otherwise (including for files that are not compound files, which
// mscfb rejects cheaply) the Streams to read the file's streams with.
func CheckTree(data []byte, maxEntries int) (*Streams, error) {
	s := &Streams{size: int64(len(data))}
	if len(data) < cfbHeaderSize || !bytes.HasPrefix(data, Magic) {
		return s, nil
	}
	fat, err := readFAT(data)
	if err != nil {
		if len(data) > maxUncheckedTree {
			return nil, fmt.Errorf("%w: ole: FAT unreadable (%v) in a %d-byte file", parsers.ErrMalformed, err, len(data))
		}
		return s, nil
	}
	if err := fat.checkTree(data, 8*maxEntries+64); err != nil {
		return nil, err
	}
	s.fat = fat
	return s, nil
}

// Streams reads the streams of a compound file that mscfb opened under the
// same guards as this package's own reads. mscfb reads a stream for as
// many bytes as its directory entry declares, following its sector chain
// wherever it leads: a chain that loops turns a few sectors into the
// declared size (32 MiB from an 8 KiB .msg). So a stream is read no
// further than the file's size, nor past the first fault of its chain.
type Streams struct {
	size int64     // of the file
	fat  *fatTable // nil when the FAT was not read: sizes are still bounded
}

// Read reads f through b. A stream that declares more than the file holds
// or whose sector chain loops, leaves the file or ends early is read up to
// that point and returned with an error wrapping parsers.ErrMalformed;
// errors of mscfb and of the budget are returned as they are.
func (s *Streams) Read(f *mscfb.File, b *parsers.Budget) ([]byte, error) {
	size := f.Size
	var bad error
	if size > s.size {
		bad = fmt.Errorf("%w: ole: stream declares %d bytes, more than the %d-byte file", parsers.ErrMalformed, size, s.size)
		size = s.size
	}
	if s.fat != nil {
		if covered, err := s.fat.checkStream(f, size); err != nil {
			bad = fmt.Errorf("%w: ole: %v", parsers.ErrMalformed, err)
			size = covered
		}
	}
	data, err := b.ReadAll(io.LimitReader(f, size), 0)
	if err == nil {
		err = bad
	}
	return data, err
}

// checkTree walks the directory as mscfb does (left sibling, child, right
// sibling from entry 0; a child of entry i > 0 is one level deeper) without
// recursion, for at most maxDir entries.
func (t *fatTable) checkTree(data []byte, maxDir int) error {
	perSector := int(t.sectorSize / dirEntrySize)
	var dir [][]byte
	err := t.walk(t.dirStart, maxDir/perSector+1, func(s uint32) bool {
		b := t.sector(data, s)
		dir = append(dir, b)
		return b != nil
	})
	if err != nil {
		return fmt.Errorf("%w: ole: directory chain: %v", parsers.ErrMalformed, err)
	}
	n := len(dir) * perSector
	if n > maxDir {
		return fmt.Errorf("%w: ole: directory of more than %d entries", parsers.ErrTooMany, maxDir)
	}
	link := func(i, off int) (int, bool) {
		id := binary.LittleEndian.Uint32(dir[i/perSector][(i%perSector)*dirEntrySize+off:])
		return int(id), id != secFree && int64(id) < int64(n)
	}
	type item struct{ i, depth int }
	stack := []item{{0, 0}}
	// mscfb gives up once it has visited more entries than there are.
	for visits := 0; len(stack) > 0 && visits <= n; visits++ {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.depth > maxStorageDepth {
			return fmt.Errorf("%w: ole: storages nested more than %d deep", parsers.ErrTooDeep, maxStorageDepth)
		}
		if l, ok := link(it.i, 0x44); ok {
			stack = append(stack, item{l, it.depth})
		}
		if r, ok := link(it.i, 0x48); ok {
			stack = append(stack, item{r, it.depth})
		}
		if c, ok := link(it.i, 0x4C); ok {
			d := it.depth
			if it.i > 0 {
				d++
			}
			stack = append(stack, item{c, d})
		}
	}
	return nil
}
