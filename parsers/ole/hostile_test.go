package ole

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"triage/parsers"
	"triage/parsers/parsertest"
	"triage/parsers/vba"
)

// errClassOK reports whether err is nil or one of the classes a parser
// may return.
func errClassOK(err error) bool {
	return err == nil || errors.Is(err, parsers.ErrMalformed) || errors.Is(err, parsers.ErrLimit) || errors.Is(err, parsers.ErrUnsupported)
}

// dirEntryOffset returns the file offset of the directory entry for path.
func dirEntryOffset(t *testing.T, data []byte, path string) int {
	t.Helper()
	fat, err := readFAT(data)
	if err != nil {
		t.Fatal(err)
	}
	want := path[strings.LastIndexByte(path, '/')+1:]
	var found []int
	_ = fat.walk(fat.dirStart, 1<<20, func(s uint32) bool {
		base := int(s+1) * int(fat.sectorSize)
		for i := 0; i < int(fat.sectorSize)/dirEntrySize; i++ {
			off := base + i*dirEntrySize
			n := int(binary.LittleEndian.Uint16(data[off+64:]))
			if n < 2 {
				continue
			}
			if decodeUTF16(data[off:off+n-2]) == want {
				found = append(found, off)
			}
		}
		return true
	})
	if len(found) != 1 {
		t.Fatalf("directory entry %q found %d times", path, len(found))
	}
	return found[0]
}

// setFAT sets FAT entry s to v in a file written by buildCFB (one FAT
// sector, sector 0).
func setFAT(data []byte, s, v uint32) {
	binary.LittleEndian.PutUint32(data[512+4*int(s):], v)
}

func TestParse_hostile(t *testing.T) {
	bigDoc := func() []byte {
		return buildCFB(merge(vbaStreams(t, "Macros", vba.ProjectSpec{Modules: []vba.ModuleSpec{{Name: "M", Code: "Sub AutoOpen()\nEnd Sub"}}}),
			map[string][]byte{"WordDocument": append(wordDocument(), make([]byte, 9000)...)}))
	}
	tests := []struct {
		name    string
		data    func() []byte
		limits  func(*parsers.Limits)
		wantErr error
		// want is a substring of the ole.malformed detail ("" = no finding required)
		want string
	}{
		{
			name: "stream_chain_loops",
			data: func() []byte {
				d := bigDoc()
				off := dirEntryOffset(t, d, "WordDocument")
				start := binary.LittleEndian.Uint32(d[off+116:])
				setFAT(d, start+2, start) // third sector points back to the first
				return d
			},
			wantErr: parsers.ErrMalformed, want: "loops",
		},
		{
			name: "directory_chain_loops",
			data: func() []byte {
				d := bigDoc()
				fat, _ := readFAT(d)
				setFAT(d, fat.dirStart, fat.dirStart)
				return d
			},
			wantErr: parsers.ErrMalformed, want: "directory chain",
		},
		{
			name: "stream_size_absurd",
			data: func() []byte {
				d := bigDoc()
				off := dirEntryOffset(t, d, "WordDocument")
				binary.LittleEndian.PutUint32(d[off+120:], 0x7FFFFFF0)
				return d
			},
			wantErr: parsers.ErrMalformed, want: "declares",
		},
		{
			name: "fat_sector_outside_file",
			data: func() []byte {
				d := bigDoc()
				binary.LittleEndian.PutUint32(d[0x4C:], 0x00FFFFFF)
				return d
			},
			wantErr: parsers.ErrMalformed,
		},
		{
			name: "dir_stream_absurd_sizes",
			data: func() []byte {
				s := vbaStreams(t, "Macros", vba.ProjectSpec{Modules: []vba.ModuleSpec{{Name: "M", Code: "x"}}})
				var dir []byte
				dir = binary.LittleEndian.AppendUint16(dir, 0x0001)
				dir = binary.LittleEndian.AppendUint32(dir, 4)
				dir = binary.LittleEndian.AppendUint32(dir, 1)
				dir = binary.LittleEndian.AppendUint16(dir, 0x0019) // MODULENAME
				dir = binary.LittleEndian.AppendUint32(dir, 0xFFFFFF00)
				s["Macros/VBA/dir"] = vba.Compress(dir)
				return buildCFB(s)
			},
			wantErr: parsers.ErrMalformed, want: "VBA project",
		},
		{
			name: "dir_stream_not_compressed",
			data: func() []byte {
				s := vbaStreams(t, "Macros", vba.ProjectSpec{Modules: []vba.ModuleSpec{{Name: "M", Code: "x"}}})
				s["Macros/VBA/dir"] = bytes.Repeat([]byte{0xAB}, 300)
				return buildCFB(s)
			},
			wantErr: parsers.ErrMalformed, want: "VBA project",
		},
		{
			name: "module_bomb",
			data: func() []byte {
				s := vbaStreams(t, "Macros", vba.ProjectSpec{Modules: []vba.ModuleSpec{{Name: "M", Code: "x"}}})
				chunk := vba.Compress(bytes.Repeat([]byte{'A'}, 4096))[1:]
				b := append(make([]byte, 64), 0x01)
				for range 30000 {
					b = append(b, chunk...)
				}
				s["Macros/VBA/M"] = b
				return buildCFB(s)
			},
			limits:  func(l *parsers.Limits) { l.MaxArtifactBytes = 4 * parsers.MiB },
			wantErr: parsers.ErrTooLarge,
		},
		{
			name: "more_entries_than_listed",
			data: func() []byte {
				m := map[string][]byte{}
				for i := range 60 {
					m[fmt.Sprintf("S%02d", i)] = []byte("x")
				}
				return buildCFB(m)
			},
			limits:  func(l *parsers.Limits) { l.MaxEntries = 20 },
			wantErr: parsers.ErrMalformed, want: "more than 20 directory entries",
		},
		{
			name: "directory_too_large",
			data: func() []byte {
				m := map[string][]byte{}
				for i := range 200 {
					m[fmt.Sprintf("S%03d", i)] = []byte("x")
				}
				return buildCFB(m)
			},
			limits:  func(l *parsers.Limits) { l.MaxEntries = 2 },
			wantErr: parsers.ErrTooMany,
		},
		{
			name: "difat_chain_loops",
			data: func() []byte {
				d := bigDoc()
				// Claim two DIFAT sectors starting at the directory sector, whose
				// last entry (the DIFAT "next" pointer) points to itself.
				fat, _ := readFAT(d)
				binary.LittleEndian.PutUint32(d[0x44:], fat.dirStart)
				binary.LittleEndian.PutUint32(d[0x48:], 2)
				binary.LittleEndian.PutUint32(d[0x2C:], 300)
				sec := int(fat.dirStart+1) * 512
				binary.LittleEndian.PutUint32(d[sec+508:], fat.dirStart)
				return d
			},
			wantErr: parsers.ErrMalformed,
		},
		{
			name:    "garbage_after_magic",
			data:    func() []byte { return append(append([]byte{}, Magic...), bytes.Repeat([]byte{0xFF}, 2000)...) },
			wantErr: parsers.ErrMalformed,
		},
		{
			name:    "header_only",
			data:    func() []byte { return bigDoc()[:512] },
			wantErr: parsers.ErrMalformed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := parsers.DefaultLimits()
			if tt.limits != nil {
				tt.limits(&l)
			}
			start := time.Now()
			rec, err := parsertest.RunLimits(t, New(), "x.doc", "ole", tt.data(), l)
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.want != "" {
				fs := findingsOf(rec, "ole.malformed")
				if len(fs) == 0 || !strings.Contains(fs[0].Detail, tt.want) {
					t.Errorf("ole.malformed %+v, want detail with %q", fs, tt.want)
				}
			}
		})
	}
}

// TestParse_truncated cuts generated and corpus documents at many points:
// the parser must never panic and must classify its errors.
func TestParse_truncated(t *testing.T) {
	docs := map[string][]byte{"emotet_sample": emotetSample(t)}
	if root, err := parsertest.FindSharedCorpus(); err == nil {
		for _, f := range []string{
			"oletools/tests/test-data/olevba/sample_with_vba.ppt",
			"oletools/tests/test-data/encrypted/autostart-encrypt-standardpassword.xls",
			"oletools/tests/test-data/encrypted/autostart-encrypt-standardpassword.xlsm",
			"oletools/tests/test-data/oleobj/sample_with_lnk_file.doc",
		} {
			if b, err := os.ReadFile(filepath.Join(root, f)); err == nil {
				docs[filepath.Base(f)] = b
			}
		}
	}
	names := make([]string, 0, len(docs))
	for name := range docs {
		names = append(names, name)
	}
	slices.Sort(names)
	seed := int64(7)
	if v := os.Getenv("OLE_TRUNC_SEED"); v != "" {
		fmt.Sscan(v, &seed)
	}
	rng := rand.New(rand.NewSource(seed))
	for _, name := range names {
		data := docs[name]
		cuts := []int{0, 8, 511, 512, 513, 1024, len(data) / 3, len(data) / 2, len(data) - 1}
		for range 10 {
			cuts = append(cuts, rng.Intn(len(data)))
		}
		for _, cut := range cuts {
			rec, err := parsertest.Run(t, New(), name, "ole", data[:cut])
			if !errClassOK(err) {
				t.Errorf("%s cut at %d: unclassified error %v", name, cut, err)
			}
			if err != nil && !rec.HasFinding("ole.malformed") && !errors.Is(err, parsers.ErrUnsupported) {
				t.Errorf("%s cut at %d: error %v without ole.malformed", name, cut, err)
			}
		}
		// Random byte flips.
		for range 20 {
			b := append([]byte{}, data...)
			for range 8 {
				b[rng.Intn(len(b))] = byte(rng.Intn(256))
			}
			if _, err := parsertest.Run(t, New(), name, "ole", b); !errClassOK(err) {
				t.Errorf("%s flipped: unclassified error %v", name, err)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(emotetSample(f))
	f.Add(buildCFB(vbaStreams(f, "", vba.ProjectSpec{CodePage: 932, Locked: true, Modules: []vba.ModuleSpec{
		{Name: "ThisWorkbook", Kind: vba.KindDocument, Code: "Private Sub Workbook_Open()\nEnd Sub"}}})))
	f.Add(buildCFB(map[string][]byte{"EncryptionInfo": {4, 0, 4, 0, 0x40, 0, 0, 0}, "EncryptedPackage": make([]byte, 64)}))
	f.Add(buildCFB(map[string][]byte{"Workbook": {0x09, 0x08, 0x02, 0x00, 0, 0, 0x2F, 0x00, 0x06, 0x00, 0, 0, 1, 2, 3, 4}}))
	f.Add(Magic)
	// Small corpus files, read in place when the shared corpus is present.
	if root, err := parsertest.FindSharedCorpus(); err == nil {
		for _, name := range []string{
			"oletools/tests/test-data/olevba/sample_with_vba.ppt",
			"oletools/tests/test-data/encrypted/autostart-encrypt-standardpassword.xls",
			"oletools/tests/test-data/oleobj/sample_with_lnk_file.doc",
			"msoffcrypto-tool/tests/inputs/rc4cryptoapi_password.doc",
		} {
			if b, err := os.ReadFile(filepath.Join(root, name)); err == nil && len(b) < 200_000 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l := parsers.DefaultLimits()
		l.MaxArtifactBytes = 8 * parsers.MiB
		l.MaxTotalBytes = 16 * parsers.MiB
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a := &parsers.Artifact{ID: "1", Name: "f.doc", Type: "ole", Size: int64(len(data))}
		in := &parsers.Input{Artifact: a, Data: data, Budget: parsers.NewBudget(ctx, l), Env: parsertest.Env{"infected"}}
		rec := &parsertest.Recorder{}
		err := New().Parse(ctx, in, rec)
		if !errClassOK(err) {
			t.Fatalf("unclassified error: %v", err)
		}
		for _, fd := range rec.Findings {
			if !strings.HasPrefix(fd.Code, "ole.") || fd.Detail == "" {
				t.Fatalf("bad finding %+v", fd)
			}
		}
		for _, c := range rec.Children {
			if c.Name == "" || (c.Type == "vba" && !c.Text) {
				t.Fatalf("bad child %q type %q", c.Name, c.Type)
			}
		}
	})
}

// TestParse_moduleFlood: a forged dir stream lists far more modules than
// Office allows, all naming one stream of large source (the hostile
// corpus's vba-dir-module-flood). The source is decompressed and emitted
// once, the sharing is reported as malformed, the module count is capped
// and reported as a limit.
func TestParse_moduleFlood(t *testing.T) {
	code := "Sub AutoOpen()\n" + strings.Repeat("  x = \"TRIAGE-REGRESSION \" & Chr(65) & x\n", 5000) + "End Sub"
	spec := vba.ProjectSpec{Modules: []vba.ModuleSpec{{Name: "Module1", Code: code}}}
	const copies = vba.MaxProjectModules + 100
	for i := range copies {
		spec.Modules = append(spec.Modules, vba.ModuleSpec{Name: fmt.Sprintf("Copy%d", i), Stream: "Module1"})
	}
	data := buildCFB(merge(vbaStreams(t, "Macros", spec), map[string][]byte{"WordDocument": wordDocument()}))
	budget := parsers.NewBudget(context.Background(), parsers.DefaultLimits())
	rec := &parsertest.Recorder{}
	start := time.Now()
	err := New().Parse(context.Background(), &parsers.Input{Artifact: &parsers.Artifact{ID: "1", Name: "flood.doc", Type: "ole"}, Data: data, Budget: budget}, rec)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if !errors.Is(err, parsers.ErrTooMany) || !errors.Is(err, parsers.ErrMalformed) {
		t.Errorf("err = %v, want ErrTooMany and ErrMalformed", err)
	}
	var vbaChildren []string
	for _, c := range rec.Children {
		if c.Type == "vba" {
			vbaChildren = append(vbaChildren, c.Name)
		}
	}
	if !slices.Equal(vbaChildren, []string{"Module1.bas"}) {
		t.Errorf("%d vba children (%v), want [Module1.bas]", len(vbaChildren), vbaChildren[:min(len(vbaChildren), 4)])
	}
	if c := childNamed(rec, "Module1.bas"); c == nil || !strings.Contains(string(c.Data), "TRIAGE-REGRESSION") {
		t.Error("Module1.bas source missing")
	}
	want := fmt.Sprintf("%d modules share stream Macros/VBA/Module1", vba.MaxProjectModules)
	if fs := findingsOf(rec, "ole.malformed"); len(fs) == 0 || fs[0].Severity != parsers.Medium || !strings.Contains(fs[0].Detail, want) {
		t.Errorf("ole.malformed %+v, want Medium with %q", fs, want)
	}
	want = fmt.Sprintf("lists %d modules: only the first %d", copies+1, vba.MaxProjectModules)
	if fs := findingsOf(rec, "ole.limit"); len(fs) != 1 || !strings.Contains(fs[0].Detail, want) {
		t.Errorf("ole.limit %+v, want detail with %q", fs, want)
	}
	if names, _ := rec.MetaData["vba_modules"].([]string); len(names) != vba.MaxProjectModules {
		t.Errorf("vba_modules lists %d modules, want %d", len(names), vba.MaxProjectModules)
	}
	// Decompressed once: the budget holds the dir stream and one source.
	if used := budget.Used(); used > int64(2*len(code)) {
		t.Errorf("budget used %d bytes for a %d-byte source", used, len(code))
	}
}

// cancelSink cancels the message context when the first child arrives,
// as if the deadline passed while the parser emitted it.
type cancelSink struct {
	*parsertest.Recorder
	cancel context.CancelFunc
}

func (s cancelSink) Child(c parsers.Child) error {
	s.cancel()
	return s.Recorder.Child(c)
}

// TestParse_deadlineStopsModules: the module loop stops at the deadline.
func TestParse_deadlineStopsModules(t *testing.T) {
	spec := vba.ProjectSpec{Modules: []vba.ModuleSpec{
		{Name: "A", Code: "Sub A()\nEnd Sub"}, {Name: "B", Code: "Sub B()\nEnd Sub"}, {Name: "C", Code: "Sub C()\nEnd Sub"},
	}}
	data := buildCFB(vbaStreams(t, "Macros", spec))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &parsertest.Recorder{}
	in := &parsers.Input{Artifact: &parsers.Artifact{ID: "1", Name: "x.doc", Type: "ole"}, Data: data, Budget: parsers.NewBudget(ctx, parsers.DefaultLimits())}
	err := New().Parse(ctx, in, cancelSink{rec, cancel})
	if !errors.Is(err, parsers.ErrDeadline) {
		t.Errorf("err = %v, want ErrDeadline", err)
	}
	if names := childNames(rec); !slices.Equal(names, []string{"A.bas"}) {
		t.Errorf("children %v, want only A.bas", names)
	}
}

// TestDeepStorages checks that a chain of nested storages, which mscfb
// would turn into memory quadratic in the depth, is refused before mscfb
// opens it, while ordinary nesting still parses.
func TestDeepStorages(t *testing.T) {
	tests := []struct {
		depth   int
		wantErr error
	}{
		{depth: 8},
		{depth: maxStorageDepth + 1, wantErr: parsers.ErrTooDeep},
		{depth: 6000, wantErr: parsers.ErrTooDeep},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.depth), func(t *testing.T) {
			data := buildCFB(map[string][]byte{strings.Repeat("a/", tt.depth) + "s": []byte("TRIAGE-REGRESSION")})
			if _, err := CheckTree(data, parsers.Limits{}.WithDefaults().MaxEntries); !errors.Is(err, tt.wantErr) {
				t.Fatalf("CheckTree: %v, want %v", err, tt.wantErr)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			rec, err := parsertest.Run(t, New(), "deep.bin", "ole", data)
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
				t.Errorf("parse allocated %d MB", grew>>20)
			}
			if tt.wantErr == nil {
				if err != nil || rec.HasFinding("ole.malformed") {
					t.Fatalf("depth %d: err %v, findings %v", tt.depth, err, rec.Findings)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !rec.HasFinding("ole.malformed") {
				t.Fatalf("depth %d: err %v, findings %v", tt.depth, err, rec.Findings)
			}
		})
	}
}

// TestTryPasswords_boundsDerivationWork: a file declaring a huge spin count
// gets fewer tries, so the uninterruptible key derivations stay bounded.
func TestTryPasswords_boundsDerivationWork(t *testing.T) {
	for _, tt := range []struct{ rounds, want int }{{100_000, maxPasswordTries}, {400_000, 2}, {1_000_000, 1}, {0, maxPasswordTries}} {
		calls := 0
		enc := &encryption{verify: func(string) bool { calls++; return false }, rounds: tt.rounds}
		cands := []string{"a1", "b2", "c3", "d4", "e5", "f6", "g7", "h8", "i9", "j10"}
		tryPasswords(enc, cands, parsers.NewBudget(context.Background(), parsers.Limits{}))
		if calls != tt.want {
			t.Errorf("rounds %d: %d tries, want %d", tt.rounds, calls, tt.want)
		}
	}
}

// TestDecryptPackage_shortLastBlock: an agile EncryptedPackage whose
// stream ends in a partial cipher block (declared size included) is
// decrypted up to the last whole block and reported short; it used to
// index past the stream.
func TestDecryptPackage_shortLastBlock(t *testing.T) {
	key, salt := bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{9}, 16)
	a := &agileInfo{dataSalt: salt, dataHash: sha1.New, dataBlockSize: aes.BlockSize}
	plain := bytes.Repeat([]byte("TRIAGE-REGRESSION "), 230)[:4112] // one segment and a bit
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	pkg := binary.LittleEndian.AppendUint64(nil, uint64(len(plain)+4))
	for seg := 0; seg*4096 < len(plain); seg++ {
		chunk := plain[seg*4096 : min((seg+1)*4096, len(plain))]
		iv := sha1.Sum(binary.LittleEndian.AppendUint32(slices.Clone(salt), uint32(seg)))
		ct := make([]byte, len(chunk))
		cipher.NewCBCEncrypter(block, iv[:aes.BlockSize]).CryptBlocks(ct, chunk)
		pkg = append(pkg, ct...)
	}
	pkg = append(pkg, 1, 2, 3, 4) // a partial block
	got, err := a.decryptPackage(key, pkg, parsers.NewBudget(context.Background(), parsers.Limits{}))
	if err == nil || !bytes.Equal(got, plain) {
		t.Errorf("err %v, %d bytes (plain text: %v)", err, len(got), bytes.Equal(got, plain))
	}
}
