package archive

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"unicode/utf16"

	"github.com/ulikunitz/xz/lzma"

	"triage/parsers"
)

// The 7z guard. github.com/bodgit/sevenzip allocates slices sized by header
// counts before checking them against the data (a 40-byte archive claiming
// 2^32-1 files asks for 500 GB; the Go runtime then aborts the process,
// which recover() cannot stop), and sizes LZMA/LZMA2/PPMd dictionaries from
// coder properties up to 4 GiB. So before the library sees an archive, the
// guard walks its header with the library's own grammar (7zFormat.txt as
// bodgit/sevenzip v1.6.5 reads it), decoding an LZMA/LZMA2 and optionally
// AES encoded header itself, and rejects every count or size the library
// would allocate from that is out of proportion. An archive the guard
// accepts has been parsed along exactly the path the library takes.

// 7z property ids.
const (
	szEnd = iota
	szHeader
	szArchiveProperties
	szAdditionalStreamsInfo
	szMainStreamsInfo
	szFilesInfo
	szPackInfo
	szUnpackInfo
	szSubStreamsInfo
	szSize
	szCRC
	szFolder
	szCodersUnpackSize
	szNumUnpackStream
	szEmptyStream
	szEmptyFile
	szAnti
	szName
	szCTime
	szATime
	szMTime
	szWinAttributes
	szComment
	szEncodedHeader
	szStartPos
	szDummy
)

const (
	szSignatureLen = 32
	// szMaxHeader bounds a decoded header; 10 000 entries with long names
	// need about 1 MiB.
	szMaxHeader = 16 << 20
	// szMaxDict bounds LZMA/LZMA2 dictionaries and PPMd model memory.
	szMaxDict = 256 << 20
	// szMaxCoders and szMaxStreams bound one folder (BCJ2 uses 4 inputs).
	szMaxCoders  = 8
	szMaxStreams = 32
	// szMaxCycles bounds the 7zAES key derivation (2^cycles SHA-256 rounds;
	// 7-Zip writes 19, the library refuses above 24).
	szMaxCycles = 24
)

var (
	szMagic = []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}

	coderCopy  = []byte{0x00}
	coderLZMA  = []byte{0x03, 0x01, 0x01}
	coderLZMA2 = []byte{0x21}
	coderPPMd  = []byte{0x03, 0x04, 0x01}
	coderAES   = []byte{0x06, 0xf1, 0x07, 0x01}

	errNeedPassword = errors.New("header is encrypted and no candidate password opened it")
)

// szCoder is one coder of a folder.
type szCoder struct {
	id      []byte
	in, out uint64
	props   []byte
}

// sevenZipFolder is one folder (a chain of coders over packed streams).
type sevenZipFolder struct {
	coders    []szCoder
	bindIn    []uint64 // bind pair input indexes
	bindOut   []uint64 // bind pair output indexes
	packed    []uint64 // input indexes fed by packed streams
	sizes     []uint64 // one unpack size per coder output
	digest    uint32
	hasDigest bool
	encrypted bool
}

// szStreams is a StreamsInfo block.
type szStreams struct {
	packPos   uint64
	packSizes []uint64
	folders   []sevenZipFolder
	substream []uint64 // unpack streams per folder
}

// szInfo is what the guard learned about an archive.
type szInfo struct {
	files           uint64
	headerEncrypted bool
	password        password // the one that decrypted the header
	main            *szStreams
}

// szGuard checks 7z archives before bodgit/sevenzip reads them.
type szGuard struct {
	data     []byte
	maxFiles uint64
	maxCount uint64
	budget   *parsers.Budget
}

// inspect validates the archive in g.data. pws are tried on an encrypted
// header.
func (g *szGuard) inspect(pws []password) (*szInfo, error) {
	d := g.data
	if len(d) < szSignatureLen || !bytes.Equal(d[:6], szMagic) {
		return nil, malformedf("7z: no signature header")
	}
	if crc32.ChecksumIEEE(d[12:32]) != le32(d[8:]) {
		return nil, malformedf("7z: start header CRC mismatch")
	}
	off, size, crc := le64(d[12:]), le64(d[20:]), le32(d[28:])
	if off > uint64(len(d)) || size > uint64(len(d)) || szSignatureLen+off+size > uint64(len(d)) {
		return nil, malformedf("7z: header at %d+%d beyond the archive (%d bytes): truncated", off, size, len(d))
	}
	hdr := d[szSignatureLen+off : szSignatureLen+off+size]
	if crc32.ChecksumIEEE(hdr) != crc {
		return nil, malformedf("7z: header CRC mismatch")
	}
	r := &szReader{b: hdr}
	info := &szInfo{}
	encoded := false
	switch id := r.byte(); id {
	case szHeader:
	case szEncodedHeader:
		si, err := g.streams(r)
		if err != nil {
			return nil, err
		}
		if r.rest() != 0 {
			return nil, malformedf("7z: data after the encoded header")
		}
		if len(si.folders) != 1 {
			return nil, malformedf("7z: encoded header in %d folders", len(si.folders))
		}
		plain, pw, err := g.decodeHeader(si, pws)
		if err != nil {
			return nil, err
		}
		info.headerEncrypted = si.folders[0].encrypted
		info.password = pw
		encoded = true
		r = &szReader{b: plain}
		if r.byte() != szHeader {
			return nil, malformedf("7z: encoded header does not hold a header")
		}
	default:
		return nil, malformedf("7z: unexpected header id %d", id)
	}
	if err := g.header(r, info); err != nil {
		return nil, err
	}
	// The library rejects data after a plain header, not after a decoded one.
	if !encoded && r.rest() != 0 {
		return nil, malformedf("7z: %d bytes after the header", r.rest())
	}
	return info, nil
}

// header reads a Header after its id.
func (g *szGuard) header(r *szReader, info *szInfo) error {
	id := r.byte()
	if id == szArchiveProperties || id == szAdditionalStreamsInfo {
		return fmt.Errorf("archive: %w: 7z header property %d", parsers.ErrUnsupported, id)
	}
	if id == szMainStreamsInfo {
		si, err := g.streams(r)
		if err != nil {
			return err
		}
		info.main = si
		id = r.byte()
	}
	if id == szFilesInfo {
		if err := g.filesInfo(r, info); err != nil {
			return err
		}
		id = r.byte()
	}
	if r.err != nil {
		return r.err
	}
	if id != szEnd {
		return malformedf("7z: unexpected id %d in header", id)
	}
	return nil
}

// count reads a count the library will allocate from: non-zero when
// nonZero, at most g.maxCount and at most what each element needs of the
// bytes left (per bytes; 0 when elements may be implicit).
func (g *szGuard) count(r *szReader, what string, nonZero bool, per uint64) (uint64, error) {
	v := r.num()
	if r.err != nil {
		return 0, r.err
	}
	return v, g.check(r, what, v, nonZero, per)
}

func (g *szGuard) check(r *szReader, what string, v uint64, nonZero bool, per uint64) error {
	switch {
	case nonZero && v == 0:
		return malformedf("7z: zero %s", what)
	case v > math.MaxUint32:
		return malformedf("7z: %s count %d", what, v)
	case v > g.maxCount:
		return fmt.Errorf("archive: %w: 7z declares %d %s, more than %d", parsers.ErrTooMany, v, what, g.maxCount)
	case per > 0 && v > r.rest()/per+1:
		return malformedf("7z: %d %s in %d header bytes", v, what, r.rest())
	}
	return nil
}

func (g *szGuard) streams(r *szReader) (*szStreams, error) {
	si := &szStreams{}
	id := r.byte()
	if id == szPackInfo {
		if err := g.packInfo(r, si); err != nil {
			return nil, err
		}
		id = r.byte()
	}
	if id == szUnpackInfo {
		if err := g.unpackInfo(r, si); err != nil {
			return nil, err
		}
		id = r.byte()
	}
	if id == szSubStreamsInfo {
		if si.folders == nil {
			return nil, malformedf("7z: substreams without folders")
		}
		if err := g.subStreams(r, si); err != nil {
			return nil, err
		}
		id = r.byte()
	}
	if r.err != nil {
		return nil, r.err
	}
	if id != szEnd {
		return nil, malformedf("7z: unexpected id %d in streams info", id)
	}
	return si, nil
}

func (g *szGuard) packInfo(r *szReader, si *szStreams) error {
	si.packPos = r.num()
	n, err := g.count(r, "pack streams", true, 0)
	if err != nil {
		return err
	}
	id := r.byte()
	if id == szSize {
		if err := g.check(r, "pack sizes", n, true, 1); err != nil {
			return err
		}
		for range n {
			si.packSizes = append(si.packSizes, r.num())
		}
		id = r.byte()
	}
	if id == szCRC {
		if _, _, err := g.digests(r, n); err != nil {
			return err
		}
		id = r.byte()
	}
	if r.err != nil {
		return r.err
	}
	if id != szEnd {
		return malformedf("7z: unexpected id %d in pack info", id)
	}
	return nil
}

// digests reads an optional-CRC vector of n entries.
func (g *szGuard) digests(r *szReader, n uint64) ([]bool, []uint32, error) {
	if err := g.check(r, "digests", n, true, 0); err != nil {
		return nil, nil, err
	}
	defined, err := g.optionalBools(r, n)
	if err != nil {
		return nil, nil, err
	}
	crcs := make([]uint32, n)
	for i, ok := range defined {
		if ok {
			crcs[i] = r.u32()
		}
	}
	return defined, crcs, r.err
}

// optionalBools reads the "all defined" byte and, if zero, a bit vector.
func (g *szGuard) optionalBools(r *szReader, n uint64) ([]bool, error) {
	if r.byte() != 0 {
		out := make([]bool, n)
		for i := range out {
			out[i] = true
		}
		return out, r.err
	}
	return g.bools(r, n)
}

func (g *szGuard) bools(r *szReader, n uint64) ([]bool, error) {
	if err := g.check(r, "flags", n, true, 0); err != nil {
		return nil, err
	}
	if (n+7)/8 > r.rest() {
		return nil, malformedf("7z: bit vector of %d beyond the header", n)
	}
	out := make([]bool, n)
	var b, mask byte
	for i := range out {
		if mask == 0 {
			b, mask = r.byte(), 0x80
		}
		out[i] = b&mask != 0
		mask >>= 1
	}
	return out, r.err
}

func (g *szGuard) unpackInfo(r *szReader, si *szStreams) error {
	if r.byte() != szFolder {
		return malformedf("7z: unpack info without folders")
	}
	n, err := g.count(r, "folders", true, 2)
	if err != nil {
		return err
	}
	if r.byte() != 0 {
		return fmt.Errorf("archive: %w: 7z external folders", parsers.ErrUnsupported)
	}
	for range n {
		f, err := g.folder(r)
		if err != nil {
			return err
		}
		si.folders = append(si.folders, f)
	}
	if r.byte() != szCodersUnpackSize {
		return malformedf("7z: folders without unpack sizes")
	}
	for i := range si.folders {
		f := &si.folders[i]
		var total uint64
		for _, c := range f.coders {
			total += c.out
		}
		for range total {
			f.sizes = append(f.sizes, r.num())
		}
	}
	id := r.byte()
	if id == szCRC {
		defined, crcs, err := g.digests(r, n)
		if err != nil {
			return err
		}
		for i := range si.folders {
			si.folders[i].hasDigest, si.folders[i].digest = defined[i], crcs[i]
		}
		id = r.byte()
	}
	if r.err != nil {
		return r.err
	}
	if id != szEnd {
		return malformedf("7z: unexpected id %d in unpack info", id)
	}
	return nil
}

func (g *szGuard) folder(r *szReader) (sevenZipFolder, error) {
	var f sevenZipFolder
	n := r.num()
	if r.err != nil {
		return f, r.err
	}
	if n == 0 || n > szMaxCoders {
		return f, malformedf("7z: folder with %d coders", n)
	}
	var in, out uint64
	for range n {
		v := r.byte()
		c := szCoder{id: r.bytes(uint64(v & 0xf)), in: 1, out: 1}
		if v&0x10 != 0 {
			c.in, c.out = r.num(), r.num()
			if c.in == 0 || c.out == 0 || c.in > szMaxStreams || c.out > szMaxStreams {
				return f, malformedf("7z: coder with %d inputs, %d outputs", c.in, c.out)
			}
		}
		if v&0x20 != 0 {
			size := r.num()
			if size == 0 || size > r.rest() {
				return f, malformedf("7z: coder properties of %d bytes", size)
			}
			c.props = r.bytes(size)
		}
		if r.err != nil {
			return f, r.err
		}
		if err := checkCoder(c); err != nil {
			return f, err
		}
		if bytes.Equal(c.id, coderAES) {
			f.encrypted = true
		}
		in += c.in
		out += c.out
		f.coders = append(f.coders, c)
	}
	if in > szMaxStreams || out > szMaxStreams || in < out {
		return f, malformedf("7z: folder with %d inputs, %d outputs", in, out)
	}
	for range out - 1 {
		bi, bo := r.num(), r.num()
		if bi > math.MaxUint32 || bo > math.MaxUint32 {
			return f, malformedf("7z: bind pair out of range")
		}
		f.bindIn, f.bindOut = append(f.bindIn, bi), append(f.bindOut, bo)
	}
	packed := in - (out - 1)
	if packed == 1 {
		for i := range in {
			bound := false
			for _, b := range f.bindIn {
				bound = bound || b == i
			}
			if !bound {
				f.packed = append(f.packed, i)
			}
		}
	} else {
		for range packed {
			f.packed = append(f.packed, r.num())
		}
	}
	return f, r.err
}

// checkCoder bounds what a coder's properties make the library allocate.
func checkCoder(c szCoder) error {
	var dict uint64
	switch {
	case bytes.Equal(c.id, coderLZMA):
		if len(c.props) < 5 {
			return malformedf("7z: LZMA properties of %d bytes", len(c.props))
		}
		dict = uint64(le32(c.props[1:]))
	case bytes.Equal(c.id, coderLZMA2) && len(c.props) == 1:
		p := uint64(c.props[0])
		if p > 40 {
			return malformedf("7z: LZMA2 dictionary property %d", p)
		}
		dict = (2 | p&1) << (p/2 + 11)
	case bytes.Equal(c.id, coderPPMd) && len(c.props) == 5:
		dict = uint64(le32(c.props[1:]))
	case bytes.Equal(c.id, coderAES) && len(c.props) >= 1 && c.props[0]&0x3f > szMaxCycles && c.props[0]&0x3f != 0x3f:
		return fmt.Errorf("archive: %w: 7z AES key derivation of 2^%d rounds", parsers.ErrTooLarge, c.props[0]&0x3f)
	}
	if dict > szMaxDict {
		return fmt.Errorf("archive: %w: 7z coder dictionary of %d bytes, above %d", parsers.ErrTooLarge, dict, szMaxDict)
	}
	return nil
}

func (g *szGuard) subStreams(r *szReader, si *szStreams) error {
	id := r.byte()
	si.substream = make([]uint64, len(si.folders))
	for i := range si.substream {
		si.substream[i] = 1
	}
	var files uint64
	if id == szNumUnpackStream {
		for i := range si.substream {
			v := r.num()
			if v > g.maxCount {
				return fmt.Errorf("archive: %w: 7z folder with %d streams", parsers.ErrTooMany, v)
			}
			si.substream[i] = v
		}
		id = r.byte()
	}
	for _, v := range si.substream {
		files += v
	}
	if err := g.check(r, "substreams", files, false, 0); err != nil {
		return err
	}
	if id == szSize {
		for _, v := range si.substream {
			for j := uint64(1); j < v; j++ {
				r.num()
			}
		}
		id = r.byte()
	}
	if id == szCRC {
		if _, _, err := g.digests(r, files); err != nil {
			return err
		}
		id = r.byte()
	}
	if r.err != nil {
		return r.err
	}
	if id != szEnd {
		return malformedf("7z: unexpected id %d in substreams info", id)
	}
	return nil
}

func (g *szGuard) filesInfo(r *szReader, info *szInfo) error {
	files := r.num()
	if r.err != nil {
		return r.err
	}
	if files == 0 || files > math.MaxUint32 {
		return malformedf("7z: %d files", files)
	}
	if files > g.maxFiles {
		return fmt.Errorf("archive: %w: 7z declares %d entries, more than %d", parsers.ErrTooMany, files, g.maxFiles)
	}
	info.files = files
	var emptyStreams uint64
	for {
		prop := r.byte()
		if r.err != nil {
			return r.err
		}
		if prop == szEnd {
			return nil
		}
		length := r.num()
		switch prop {
		case szEmptyStream:
			empty, err := g.bools(r, files)
			if err != nil {
				return err
			}
			for _, e := range empty {
				if e {
					emptyStreams++
				}
			}
		case szEmptyFile:
			if _, err := g.bools(r, emptyStreams); err != nil {
				return err
			}
		case szCTime, szATime, szMTime, szWinAttributes:
			defined, err := g.optionalBools(r, files)
			if err != nil {
				return err
			}
			if r.byte() != 0 {
				return fmt.Errorf("archive: %w: 7z external file properties", parsers.ErrUnsupported)
			}
			per := uint64(8)
			if prop == szWinAttributes {
				per = 4
			}
			for _, ok := range defined {
				if ok {
					r.bytes(per)
				}
			}
		case szName:
			if length == 0 || length-1 > r.rest() {
				return malformedf("7z: names of %d bytes", length)
			}
			if r.byte() != 0 {
				return fmt.Errorf("archive: %w: 7z external names", parsers.ErrUnsupported)
			}
			r.bytes(length - 1)
		case szDummy:
			if length > r.rest() {
				return malformedf("7z: padding of %d bytes", length)
			}
			r.bytes(length)
		default:
			return malformedf("7z: file property %d", prop)
		}
		if r.err != nil {
			return r.err
		}
	}
}

// decodeHeader decodes the encoded header's single folder: a chain of
// Copy, LZMA, LZMA2 and AES coders. An AES coder is tried with each of pws
// until the header's CRC matches.
func (g *szGuard) decodeHeader(si *szStreams, pws []password) ([]byte, password, error) {
	f := &si.folders[0]
	if len(si.packSizes) < 1 || len(f.packed) != 1 {
		return nil, password{}, malformedf("7z: encoded header without its packed stream")
	}
	start := szSignatureLen + si.packPos
	if si.packPos > uint64(len(g.data)) || si.packSizes[0] > uint64(len(g.data)) || start+si.packSizes[0] > uint64(len(g.data)) {
		return nil, password{}, malformedf("7z: encoded header beyond the archive")
	}
	packed := g.data[start : start+si.packSizes[0]]
	chain, err := f.chain()
	if err != nil {
		return nil, password{}, err
	}
	if !f.encrypted {
		out, err := g.decodeChain(f, chain, packed, "")
		return out, password{}, err
	}
	for _, pw := range pws {
		if err := g.budget.Err(); err != nil {
			return nil, password{}, err
		}
		out, err := g.decodeChain(f, chain, packed, pw.text)
		if err == nil {
			return out, pw, nil
		}
	}
	return nil, password{}, fmt.Errorf("archive: %w: 7z: %w", parsers.ErrUnsupported, errNeedPassword)
}

// chain orders a folder's single-input coders from the one reading the
// packed stream to the one producing the output.
func (f *sevenZipFolder) chain() ([]int, error) {
	for _, c := range f.coders {
		if c.in != 1 || c.out != 1 {
			return nil, fmt.Errorf("archive: %w: 7z header coder with several streams", parsers.ErrUnsupported)
		}
	}
	final := -1
	for i := range f.coders {
		bound := false
		for _, o := range f.bindOut {
			bound = bound || o == uint64(i)
		}
		if !bound {
			if final >= 0 {
				return nil, malformedf("7z: folder with two outputs")
			}
			final = i
		}
	}
	if final < 0 {
		return nil, malformedf("7z: folder without an output")
	}
	var order []int
	for c := final; ; {
		order = append([]int{c}, order...)
		if len(order) > len(f.coders) {
			return nil, malformedf("7z: coder loop")
		}
		next := -1
		for j, in := range f.bindIn {
			if in == uint64(c) {
				next = int(f.bindOut[j])
			}
		}
		if next < 0 {
			break
		}
		if next >= len(f.coders) {
			return nil, malformedf("7z: bind pair out of range")
		}
		c = next
	}
	return order, nil
}

func (g *szGuard) decodeChain(f *sevenZipFolder, chain []int, packed []byte, pw string) ([]byte, error) {
	var r io.Reader = bytes.NewReader(packed)
	for _, i := range chain {
		c := f.coders[i]
		if i >= len(f.sizes) {
			return nil, malformedf("7z: coder without unpack size")
		}
		size := f.sizes[i]
		if size > szMaxHeader {
			return nil, fmt.Errorf("archive: %w: 7z header of %d bytes", parsers.ErrTooLarge, size)
		}
		switch {
		case bytes.Equal(c.id, coderCopy):
		case bytes.Equal(c.id, coderAES):
			ct, err := io.ReadAll(io.LimitReader(r, szMaxHeader+aes.BlockSize))
			if err != nil {
				return nil, err
			}
			plain, err := sevenZipDecrypt(c.props, pw, ct)
			if err != nil {
				return nil, err
			}
			r = bytes.NewReader(plain)
		case bytes.Equal(c.id, coderLZMA) && len(c.props) == 5:
			var hdr [13]byte
			copy(hdr[:], c.props)
			binary.LittleEndian.PutUint64(hdr[5:], size)
			lr, err := lzma.ReaderConfig{DictCap: szMaxDict}.NewReader(io.MultiReader(bytes.NewReader(hdr[:]), r))
			if err != nil {
				return nil, malformedf("7z: header LZMA: %v", err)
			}
			r = lr
		case bytes.Equal(c.id, coderLZMA2) && len(c.props) == 1:
			p := uint64(c.props[0])
			lr, err := lzma.Reader2Config{DictCap: int((2 | p&1) << (p/2 + 11))}.NewReader2(r)
			if err != nil {
				return nil, malformedf("7z: header LZMA2: %v", err)
			}
			r = lr
		default:
			return nil, fmt.Errorf("archive: %w: 7z header coder %x", parsers.ErrUnsupported, c.id)
		}
		r = io.LimitReader(r, int64(size))
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, malformedf("7z: header: %v", err)
	}
	if want := f.sizes[chain[len(chain)-1]]; uint64(len(out)) != want {
		return nil, malformedf("7z: header decodes to %d bytes, not %d", len(out), want)
	}
	if f.hasDigest && crc32.ChecksumIEEE(out) != f.digest {
		return nil, malformedf("7z: decoded header CRC mismatch")
	}
	return out, nil
}

// sevenZipKey derives the 7zAES key: SHA-256 over 2^cycles repetitions of
// salt, UTF-16LE password and a 64-bit little-endian counter.
func sevenZipKey(password string, cycles int, salt []byte) []byte {
	buf := append([]byte(nil), salt...)
	for _, u := range utf16.Encode([]rune(password)) {
		buf = append(buf, byte(u), byte(u>>8))
	}
	key := make([]byte, sha256.Size)
	if cycles == 0x3f {
		copy(key, buf)
		return key
	}
	n := len(buf)
	buf = append(buf, make([]byte, 8)...)
	h := sha256.New()
	for i := uint64(0); i < 1<<cycles; i++ {
		binary.LittleEndian.PutUint64(buf[n:], i)
		h.Write(buf)
	}
	return h.Sum(key[:0])
}

// sevenZipAESParams parses 7zAES properties: cycles, salt and IV.
func sevenZipAESParams(props []byte) (cycles int, salt, iv []byte, err error) {
	if len(props) < 2 || props[0]&0xc0 == 0 {
		return 0, nil, nil, malformedf("7z: AES properties")
	}
	ns := int(props[0]>>7&1 + props[1]>>4)
	ni := int(props[0]>>6&1 + props[1]&0x0f)
	if len(props) != 2+ns+ni {
		return 0, nil, nil, malformedf("7z: AES properties")
	}
	iv = make([]byte, aes.BlockSize)
	copy(iv, props[2+ns:])
	return int(props[0] & 0x3f), props[2 : 2+ns], iv, nil
}

func sevenZipDecrypt(props []byte, password string, ct []byte) ([]byte, error) {
	cycles, salt, iv, err := sevenZipAESParams(props)
	if err != nil {
		return nil, err
	}
	if password == "" {
		return nil, errNeedPassword
	}
	block, err := aes.NewCipher(sevenZipKey(password, cycles, salt))
	if err != nil {
		return nil, err
	}
	ct = ct[:len(ct)/aes.BlockSize*aes.BlockSize]
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, ct)
	return out, nil
}

// szReader reads 7z header primitives; the first error sticks and every
// later read returns zero.
type szReader struct {
	b   []byte
	p   int
	err error
}

func (r *szReader) fail() {
	if r.err == nil {
		r.err = malformedf("7z: header truncated")
	}
	r.p = len(r.b)
}

func (r *szReader) rest() uint64 { return uint64(len(r.b) - r.p) }

func (r *szReader) byte() byte {
	if r.p >= len(r.b) {
		r.fail()
		return 0
	}
	r.p++
	return r.b[r.p-1]
}

func (r *szReader) bytes(n uint64) []byte {
	if n > r.rest() {
		r.fail()
		return nil
	}
	out := r.b[r.p : r.p+int(n)]
	r.p += int(n)
	return out
}

func (r *szReader) u32() uint32 {
	b := r.bytes(4)
	if b == nil {
		return 0
	}
	return le32(b)
}

// num reads a 7z variable-length integer: the leading one bits of the first
// byte count the extra little-endian bytes.
func (r *szReader) num() uint64 {
	first := r.byte()
	var v uint64
	mask := byte(0x80)
	for i := 0; i < 8; i++ {
		if first&mask == 0 {
			return v | uint64(first&(mask-1))<<(8*i)
		}
		v |= uint64(r.byte()) << (8 * i)
		mask >>= 1
	}
	return v
}
