package archive

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"go/build"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/bodgit/sevenzip"
	"github.com/google/go-cmp/cmp"
	"github.com/ulikunitz/xz/lzma"

	"triage/parsers"
)

// szFile is one member of a generated 7z archive.
type szFile struct {
	name string
	data string
	dir  bool
}

// szOpts selects how make7z writes.
type szOpts struct {
	solid         bool   // one folder for all files
	lzma          bool   // LZMA coder (else Copy)
	encodeHeader  bool   // LZMA-encode the header
	password      string // 7zAES-encrypt the contents
	encryptHeader bool   // and the header (with encodeHeader)
}

// szW writes 7z header primitives.
type szW struct{ bytes.Buffer }

func (w *szW) num(v uint64) {
	// Simple encoding: 0xFF and 8 bytes for large values, one byte below 0x80.
	if v < 0x80 {
		w.WriteByte(byte(v))
		return
	}
	w.WriteByte(0xff)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	w.Write(b[:])
}

func (w *szW) bits(v []bool) {
	var b, mask byte = 0, 0x80
	for _, x := range v {
		if x {
			b |= mask
		}
		mask >>= 1
		if mask == 0 {
			w.WriteByte(b)
			b, mask = 0, 0x80
		}
	}
	if mask != 0x80 {
		w.WriteByte(b)
	}
}

// szCoderSpec is a coder as written in a folder.
type szCoderSpec struct {
	id    []byte
	props []byte
	size  uint64 // its output size
}

// szEncode compresses (LZMA or Copy) and optionally encrypts data,
// returning the packed bytes and the folder's coders in decoding order
// (the coder reading the packed stream first, the folder's output last),
// the order bodgit/sevenzip resolves bind pairs in.
func szEncode(t testing.TB, data []byte, useLZMA bool, password string) ([]byte, []szCoderSpec) {
	t.Helper()
	packed := data
	coders := []szCoderSpec{{id: coderCopy, size: uint64(len(data))}}
	if useLZMA {
		var buf bytes.Buffer
		w, err := lzma.WriterConfig{DictCap: 1 << 16, Size: int64(len(data))}.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		out := buf.Bytes()
		packed = out[13:]
		coders = []szCoderSpec{{id: coderLZMA, props: slices.Clone(out[:5]), size: uint64(len(data))}}
	}
	if password != "" {
		const cycles = 10
		iv := bytes.Repeat([]byte{0x5a}, 16)
		props := append([]byte{0x40 | cycles, 0x0f}, iv...)
		block, err := aes.NewCipher(sevenZipKey(password, cycles, nil))
		if err != nil {
			t.Fatal(err)
		}
		plain := append(slices.Clone(packed), make([]byte, (16-len(packed)%16)%16)...)
		ct := make([]byte, len(plain))
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)
		coders = append([]szCoderSpec{{id: coderAES, props: props, size: uint64(len(packed))}}, coders...)
		packed = ct
	}
	return packed, coders
}

// folder writes one folder record: coders in order, with bind pairs
// feeding coder i's input from coder i-1's output.
func (w *szW) folder(coders []szCoderSpec) {
	w.num(uint64(len(coders)))
	for _, c := range coders {
		flag := byte(len(c.id))
		if len(c.props) > 0 {
			flag |= 0x20
		}
		w.WriteByte(flag)
		w.Write(c.id)
		if len(c.props) > 0 {
			w.num(uint64(len(c.props)))
			w.Write(c.props)
		}
	}
	for i := 1; i < len(coders); i++ {
		w.num(uint64(i))     // input of coder i
		w.num(uint64(i - 1)) // fed by the output of coder i-1
	}
}

// make7z writes a 7z archive from the format description (7zFormat.txt).
func make7z(t testing.TB, opts szOpts, files ...szFile) []byte {
	t.Helper()
	type folderSpec struct {
		coders  []szCoderSpec
		packed  []byte
		members []int
	}
	var folders []folderSpec
	var streams []int // files with data
	for i, f := range files {
		if !f.dir && f.data != "" {
			streams = append(streams, i)
		}
	}
	if opts.solid && len(streams) > 0 {
		var all []byte
		for _, i := range streams {
			all = append(all, files[i].data...)
		}
		p, c := szEncode(t, all, opts.lzma, opts.password)
		folders = append(folders, folderSpec{c, p, streams})
	} else {
		for _, i := range streams {
			p, c := szEncode(t, []byte(files[i].data), opts.lzma, opts.password)
			folders = append(folders, folderSpec{c, p, []int{i}})
		}
	}
	var body []byte
	for _, f := range folders {
		body = append(body, f.packed...)
	}
	var h szW
	h.WriteByte(szHeader)
	if len(folders) > 0 {
		h.WriteByte(szMainStreamsInfo)
		h.WriteByte(szPackInfo)
		h.num(0)
		h.num(uint64(len(folders)))
		h.WriteByte(szSize)
		for _, f := range folders {
			h.num(uint64(len(f.packed)))
		}
		h.WriteByte(szEnd)
		h.WriteByte(szUnpackInfo)
		h.WriteByte(szFolder)
		h.num(uint64(len(folders)))
		h.WriteByte(0)
		for _, f := range folders {
			h.folder(f.coders)
		}
		h.WriteByte(szCodersUnpackSize)
		for _, f := range folders {
			for _, c := range f.coders {
				h.num(c.size)
			}
		}
		h.WriteByte(szEnd)
		h.WriteByte(szSubStreamsInfo)
		h.WriteByte(szNumUnpackStream)
		for _, f := range folders {
			h.num(uint64(len(f.members)))
		}
		h.WriteByte(szSize)
		for _, f := range folders {
			for _, i := range f.members[:len(f.members)-1] {
				h.num(uint64(len(files[i].data)))
			}
		}
		h.WriteByte(szCRC)
		h.WriteByte(1)
		for _, f := range folders {
			for _, i := range f.members {
				binary.Write(&h, binary.LittleEndian, crc32.ChecksumIEEE([]byte(files[i].data)))
			}
		}
		h.WriteByte(szEnd)
		h.WriteByte(szEnd)
	}
	h.WriteByte(szFilesInfo)
	h.num(uint64(len(files)))
	empty := make([]bool, len(files))
	var emptyFile []bool
	anyEmpty := false
	for i, f := range files {
		if f.dir || f.data == "" {
			empty[i], anyEmpty = true, true
			emptyFile = append(emptyFile, !f.dir)
		}
	}
	if anyEmpty {
		var v szW
		v.bits(empty)
		h.WriteByte(szEmptyStream)
		h.num(uint64(v.Len()))
		h.Write(v.Bytes())
		v.Reset()
		v.bits(emptyFile)
		h.WriteByte(szEmptyFile)
		h.num(uint64(v.Len()))
		h.Write(v.Bytes())
	}
	var names []byte
	for _, f := range files {
		for _, u := range utf16.Encode([]rune(f.name)) {
			names = append(names, byte(u), byte(u>>8))
		}
		names = append(names, 0, 0)
	}
	h.WriteByte(szName)
	h.num(uint64(len(names) + 1))
	h.WriteByte(0)
	h.Write(names)
	h.WriteByte(szWinAttributes)
	h.num(uint64(2 + 4*len(files)))
	h.WriteByte(1)
	h.WriteByte(0)
	for _, f := range files {
		attr := uint32(0x20)
		if f.dir {
			attr = 0x10
		}
		binary.Write(&h, binary.LittleEndian, attr)
	}
	h.WriteByte(szEnd)
	h.WriteByte(szEnd)
	header := h.Bytes()
	if opts.encodeHeader {
		pw := ""
		if opts.encryptHeader {
			pw = opts.password
		}
		packed, coders := szEncode(t, header, true, pw)
		var e szW
		e.WriteByte(szEncodedHeader)
		e.WriteByte(szPackInfo)
		e.num(uint64(len(body)))
		e.num(1)
		e.WriteByte(szSize)
		e.num(uint64(len(packed)))
		e.WriteByte(szEnd)
		e.WriteByte(szUnpackInfo)
		e.WriteByte(szFolder)
		e.num(1)
		e.WriteByte(0)
		e.folder(coders)
		e.WriteByte(szCodersUnpackSize)
		for _, c := range coders {
			e.num(c.size)
		}
		e.WriteByte(szCRC)
		e.WriteByte(1)
		binary.Write(&e, binary.LittleEndian, crc32.ChecksumIEEE(header))
		e.WriteByte(szEnd)
		e.WriteByte(szEnd)
		body = append(body, packed...)
		header = e.Bytes()
	}
	return sign7z(body, header)
}

// sign7z prepends the signature header to packed streams and a header.
func sign7z(body, header []byte) []byte {
	out := make([]byte, szSignatureLen, szSignatureLen+len(body)+len(header))
	copy(out, szMagic)
	out[7] = 4
	binary.LittleEndian.PutUint64(out[12:], uint64(len(body)))
	binary.LittleEndian.PutUint64(out[20:], uint64(len(header)))
	binary.LittleEndian.PutUint32(out[28:], crc32.ChecksumIEEE(header))
	binary.LittleEndian.PutUint32(out[8:], crc32.ChecksumIEEE(out[12:32]))
	out = append(out, body...)
	return append(out, header...)
}

func TestSevenZip_Parse(t *testing.T) {
	lure := []szFile{{name: "8812345.vbs", data: vbsSample}}
	mixed := []szFile{
		{name: "docs", dir: true},
		{name: "docs/report.pdf", data: "%PDF-1.4 TRIAGE"},
		{name: "docs/empty.txt"},
		{name: "run.exe", data: peStub()},
	}
	mixedWant := map[string]string{"docs/report.pdf": "%PDF-1.4 TRIAGE", "docs/empty.txt": "", "run.exe": peStub()}
	tests := []struct {
		name      string
		opts      szOpts
		files     []szFile
		env       []string
		children  map[string]string
		codes     []string
		password  string
		encrypted bool
	}{
		{name: "locky_lone_vbs_copy", files: lure, children: map[string]string{"8812345.vbs": vbsSample}, codes: []string{CodeLoneScript}},
		{name: "locky_lone_vbs_lzma_encoded_header", opts: szOpts{lzma: true, encodeHeader: true}, files: lure, children: map[string]string{"8812345.vbs": vbsSample}, codes: []string{CodeLoneScript}},
		{name: "mixed_solid_lzma", opts: szOpts{solid: true, lzma: true}, files: mixed, children: mixedWant, codes: []string{CodeExecutable}},
		{name: "mixed_non_solid", opts: szOpts{lzma: true, encodeHeader: true}, files: mixed, children: mixedWant, codes: []string{CodeExecutable}},
		{
			name: "encrypted_contents_password_in_body", opts: szOpts{lzma: true, password: "Inv-2024!"}, env: []string{"Inv-2024!"},
			files: lure, children: map[string]string{"8812345.vbs": vbsSample},
			codes: []string{CodeEncrypted, CodeLoneScript}, password: "Inv-2024!", encrypted: true,
		},
		{
			name: "encrypted_header_common_password", opts: szOpts{lzma: true, encodeHeader: true, encryptHeader: true, password: "infected"},
			files: mixed, children: mixedWant,
			codes: []string{CodeEncrypted, CodeExecutable}, password: "infected", encrypted: true,
		},
		{
			name: "encrypted_contents_unknown_password", opts: szOpts{lzma: true, password: "zz-unguessable"},
			files: lure, children: map[string]string{"8812345.vbs": ""},
			codes: []string{CodeEncrypted, CodeEncryptedUnopened, CodeLoneScript}, encrypted: true,
		},
		{
			name: "encrypted_header_unknown_password", opts: szOpts{lzma: true, encodeHeader: true, encryptHeader: true, password: "zz-unguessable"},
			files: lure, children: map[string]string{},
			codes: []string{CodeEncrypted, CodeEncryptedUnopened}, encrypted: true,
		},
		{
			name: "double_extension", opts: szOpts{lzma: true, encodeHeader: true},
			files:    []szFile{{name: "IMG123101.jpg.js", data: `WScript.Echo("TRIAGE-REGRESSION");`}},
			children: map[string]string{"IMG123101.jpg.js": `WScript.Echo("TRIAGE-REGRESSION");`},
			codes:    []string{CodeDoubleExtension, CodeLoneScript},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := make7z(t, tt.opts, tt.files...)
			rec, err := run(t, NewSevenZip(), "A1234567-01.7z", "7z", data, tt.env...)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkListing(t, rec, tt.children, tt.codes)
			if rec.MetaData["encrypted"] != tt.encrypted {
				t.Errorf("meta encrypted = %v", rec.MetaData["encrypted"])
			}
			if tt.encrypted && (rec.MetaData["password"] != tt.password || rec.MetaData["encryption"] != "aes-256") {
				t.Errorf("password %q encryption %v", rec.MetaData["password"], rec.MetaData["encryption"])
			}
			if f := findingOf(rec, CodeLoneScript); f != nil && f.Campaign != "locky" {
				t.Errorf("lone script campaign %q", f.Campaign)
			}
		})
	}
}

// sevenZipTestdata is bodgit/sevenzip's own testdata in the module cache.
func sevenZipTestdata(t *testing.T) string {
	t.Helper()
	mod := os.Getenv("GOMODCACHE")
	if mod == "" {
		mod = filepath.Join(build.Default.GOPATH, "pkg", "mod")
	}
	d := filepath.Join(mod, "github.com", "bodgit", "sevenzip@v1.6.5", "testdata")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("bodgit/sevenzip testdata not found at %s", d)
	}
	return d
}

// TestSevenZip_agreesWithLibrary parses the library's own test archives
// and compares every member with what the library extracts directly.
func TestSevenZip_agreesWithLibrary(t *testing.T) {
	dir := sevenZipTestdata(t)
	paths, err := filepath.Glob(filepath.Join(dir, "*.7z"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	passwords := map[string]string{"t2.7z": "password", "t3.7z": "password", "t4.7z": "password", "t5.7z": "password", "aes7z.7z": "password", "7zcracker.7z": "876", "pr472.7z": "infected"}
	agree, refused, ran := 0, 0, 0
	for _, p := range paths {
		name := filepath.Base(p)
		t.Run(strings.TrimSuffix(name, ".7z"), func(t *testing.T) {
			ran++
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			want, werr := libraryFiles(data, passwords[name])
			rec, err := run(t, NewSevenZip(), name, "7z", data, passwords[name])
			assertInvariants(t, rec, err, parsers.Limits{})
			if werr != nil {
				refused++
				t.Logf("library: %v; ours: %v, findings %v", werr, err, codes(rec))
				if err == nil && findingOf(rec, CodeMalformed) == nil && len(rec.Children) == len(want) {
					t.Errorf("library fails but we report nothing")
				}
				return
			}
			got := childMap(rec)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-library +ours):\n%.2000s", diff)
				return
			}
			agree++
		})
	}
	t.Logf("7z testdata: %d archives agree with the library, %d the library itself rejects, of %d", agree, refused, ran)
	if agree < ran-refused {
		t.Errorf("agreement %d of %d", agree, ran-refused)
	}
}

func libraryFiles(data []byte, pw string) (map[string]string, error) {
	r, err := sevenzip.NewReaderWithPassword(bytes.NewReader(data), int64(len(data)), pw)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, f := range r.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.LimitReader(rc, 32<<20))
		rc.Close()
		if err != nil {
			return nil, err
		}
		out[f.Name] = string(b)
	}
	return out, nil
}

// hostile7z builds a signature header around a plain header.
func hostile7z(header []byte) []byte { return sign7z(nil, header) }

func TestSevenZip_Parse_hostile(t *testing.T) {
	big := func(v uint64) []byte {
		b := []byte{0xff, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.LittleEndian.PutUint64(b[1:], v)
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		data []byte
		code string
		want string
	}{
		{"files_2^32-1", hostile7z(cat([]byte{szHeader, szFilesInfo}, big(1<<32-1), []byte{szEnd, szEnd})), CodeLimit, "7z declares 4294967295 entries"},
		{"files_above_max_entries", hostile7z(cat([]byte{szHeader, szFilesInfo}, big(20000), []byte{szEnd, szEnd})), CodeLimit, "more than 10000"},
		{"pack_streams_2^32-1", hostile7z(cat([]byte{szHeader, szMainStreamsInfo, szPackInfo, 0}, big(1<<32-1), []byte{szCRC, 1, szEnd, szEnd, szEnd})), CodeLimit, "pack streams"},
		{"substreams_sum", hostile7z(cat([]byte{szHeader, szMainStreamsInfo, szUnpackInfo, szFolder, 1, 0, 1, 1, 0, szCodersUnpackSize, 5, szEnd, szSubStreamsInfo, szNumUnpackStream}, big(1<<31), []byte{szEnd, szEnd, szEnd})), CodeLimit, "streams"},
		{"folders_without_bytes", hostile7z(cat([]byte{szHeader, szMainStreamsInfo, szUnpackInfo, szFolder}, big(5000), []byte{0})), CodeMalformed, "5000 folders"},
		{"coder_props_4GiB", hostile7z(cat([]byte{szHeader, szMainStreamsInfo, szUnpackInfo, szFolder, 1, 0, 1, 0x23, 3, 1, 1}, big(1<<32-1))), CodeMalformed, "coder properties"},
		{"lzma_dict_2GiB", hostile7z(cat([]byte{szHeader, szMainStreamsInfo, szUnpackInfo, szFolder, 1, 0, 1, 0x23, 3, 1, 1, 5, 0x5d, 0, 0, 0, 0x80, szCodersUnpackSize}, big(1<<31), []byte{szEnd, szEnd, szEnd})), CodeLimit, "dictionary"},
		{"lzma2_dict_prop_39", hostile7z(cat([]byte{szHeader, szMainStreamsInfo, szUnpackInfo, szFolder, 1, 0, 1, 0x21, 0x21, 1, 39, szCodersUnpackSize, 5, szEnd, szEnd, szEnd})), CodeLimit, "dictionary"},
		{"aes_cycles_62", hostile7z(cat([]byte{szHeader, szMainStreamsInfo, szUnpackInfo, szFolder, 1, 0, 1, 0x24, 6, 0xf1, 7, 1, 18, 0x40 | 62, 0x0f}, make([]byte, 16), []byte{szCodersUnpackSize, 5, szEnd, szEnd, szEnd})), CodeLimit, "2^62 rounds"},
		{"names_length_huge", hostile7z(cat([]byte{szHeader, szFilesInfo, 1, szName}, big(1<<40), []byte{0})), CodeMalformed, "names"},
		{"truncated_header", hostile7z([]byte{szHeader, szFilesInfo}), CodeMalformed, "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := run(t, NewSevenZip(), "x.7z", "7z", tt.data)
			assertInvariants(t, rec, err, parsers.Limits{})
			f := findingOf(rec, tt.code)
			if f == nil || !strings.Contains(f.Detail, tt.want) {
				t.Errorf("finding %s = %+v, want detail with %q; all %v; err %v", tt.code, f, tt.want, rec.Findings, err)
			}
		})
	}

	t.Run("bomb_solid", func(t *testing.T) {
		// 8 MiB of zeros, then a script in the same solid block: the first
		// member is cut and the second is skipped, not decompressed past.
		files := []szFile{{name: "zeros.bin", data: string(make([]byte, 8<<20))}, {name: "x.js", data: "var x = 1;"}}
		data := make7z(t, szOpts{solid: true, lzma: true}, files...)
		rec, err := run(t, NewSevenZip(), "bomb.7z", "7z", data)
		if !errors.Is(err, parsers.ErrLimit) || len(rec.Children) != 2 {
			t.Fatalf("err %v children %v", err, childNames(rec))
		}
		if !errors.Is(rec.Children[0].Err, parsers.ErrTooLarge) || !errors.Is(rec.Children[1].Err, parsers.ErrTooLarge) || rec.Children[1].Data != nil {
			t.Errorf("children errs %v / %v", rec.Children[0].Err, rec.Children[1].Err)
		}
		if f := findingOf(rec, CodeLimit); f == nil || !strings.Contains(f.Detail, "expansion ratio above 200") {
			t.Errorf("limit %+v", rec.Findings)
		}
	})

	t.Run("truncated_everywhere", func(t *testing.T) {
		data := make7z(t, szOpts{lzma: true, encodeHeader: true}, szFile{name: "a.txt", data: "alpha alpha"}, szFile{name: "b.txt", data: "beta"})
		for n := 0; n < len(data); n++ {
			rec, err := run(t, NewSevenZip(), "x.7z", "7z", data[:n])
			assertInvariants(t, rec, err, parsers.Limits{})
			if len(rec.Children) > 0 || findingOf(rec, CodeMalformed) == nil {
				t.Fatalf("truncated at %d: children %v findings %v", n, childNames(rec), codes(rec))
			}
		}
	})

	t.Run("bit_flips", func(t *testing.T) {
		data := make7z(t, szOpts{lzma: true}, szFile{name: "a.txt", data: "alpha alpha"}, szFile{name: "b.txt", data: "beta"})
		for i := range data {
			d := slices.Clone(data)
			d[i] ^= 0x41
			rec, err := run(t, NewSevenZip(), "x.7z", "7z", d)
			assertInvariants(t, rec, err, parsers.Limits{})
		}
	})
}
