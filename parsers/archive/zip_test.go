package archive

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"triage/parsers"
	"triage/parsers/parsertest"
)

const vbsSample = "Dim x\r\nWScript.Echo \"TRIAGE-REGRESSION\"\r\n"

func TestZip_Parse_members(t *testing.T) {
	tests := []struct {
		name      string
		files     []file
		children  map[string]string
		codes     []string
		campaign  map[string]string // finding code → campaign
		severity  map[string]parsers.Severity
		detailHas map[string]string
	}{
		{
			name:     "benign_documents",
			files:    []file{{name: "docs/", data: ""}, {name: "docs/report.pdf", data: "%PDF-1.4 TRIAGE"}, {name: "notes.txt", data: "hello; world;\nvar x = 1;\n"}},
			children: map[string]string{"docs/report.pdf": "%PDF-1.4 TRIAGE", "notes.txt": "hello; world;\nvar x = 1;\n"},
		},
		{
			name:     "lone_vbs_locky",
			files:    []file{{name: "8812345.vbs", data: vbsSample}},
			children: map[string]string{"8812345.vbs": vbsSample},
			codes:    []string{CodeLoneScript},
			campaign: map[string]string{CodeLoneScript: "locky"},
			severity: map[string]parsers.Severity{CodeLoneScript: parsers.High},
		},
		{
			name:     "lone_script_by_content",
			files:    []file{{name: "payload", data: vbsSample}},
			children: map[string]string{"payload": vbsSample},
			codes:    []string{CodeLoneScript},
		},
		{
			name:     "lone_text_with_semicolons_is_not_script",
			files:    []file{{name: "notes.txt", data: "var a = 1;\nvar b = 2;\nfunction f() {}\n"}},
			children: map[string]string{"notes.txt": "var a = 1;\nvar b = 2;\nfunction f() {}\n"},
		},
		{
			name:      "avaddon_double_extension",
			files:     []file{{name: "IMG123101.jpg.js", data: `WScript.Echo("TRIAGE-REGRESSION");`}},
			children:  map[string]string{"IMG123101.jpg.js": `WScript.Echo("TRIAGE-REGRESSION");`},
			codes:     []string{CodeDoubleExtension, CodeLoneScript},
			campaign:  map[string]string{CodeDoubleExtension: "avaddon", CodeLoneScript: "locky"},
			detailHas: map[string]string{CodeDoubleExtension: `"IMG123101.jpg.js" poses as .jpg but is .js`},
		},
		{
			name:     "adwind_jar_double_extension",
			files:    []file{{name: "Payment_Advice.pdf.jar", data: "PK\x03\x04 not really"}},
			children: map[string]string{"Payment_Advice.pdf.jar": "PK\x03\x04 not really"},
			codes:    []string{CodeDoubleExtension},
			campaign: map[string]string{CodeDoubleExtension: ""},
		},
		{
			name:     "lone_executable",
			files:    []file{{name: "Schedule_and_Scoresheet.exe", data: peStub()}},
			children: map[string]string{"Schedule_and_Scoresheet.exe": peStub()},
			codes:    []string{CodeLoneExecutable},
			severity: map[string]parsers.Severity{CodeLoneExecutable: parsers.High},
		},
		{
			name:     "lone_pe_by_content",
			files:    []file{{name: "invoice.dat", data: peStub()}},
			children: map[string]string{"invoice.dat": peStub()},
			codes:    []string{CodeLoneExecutable},
		},
		{
			name:     "executables_among_several",
			files:    []file{{name: "readme.txt", data: "read me"}, {name: "tool.exe", data: peStub()}, {name: "run.bat", data: "@echo off\r\necho TRIAGE-REGRESSION\r\n"}},
			children: map[string]string{"readme.txt": "read me", "tool.exe": peStub(), "run.bat": "@echo off\r\necho TRIAGE-REGRESSION\r\n"},
			codes:    []string{CodeExecutable},
			severity: map[string]parsers.Severity{CodeExecutable: parsers.Medium},
		},
		{
			name:      "path_traversal",
			files:     []file{{name: "../../evil.txt", data: "a"}, {name: "ok.txt", data: "b"}, {name: `C:\Windows\x.txt`, data: "c"}},
			children:  map[string]string{"../../evil.txt": "a", "ok.txt": "b", `C:\Windows\x.txt`: "c"},
			codes:     []string{CodePathTraversal},
			severity:  map[string]parsers.Severity{CodePathTraversal: parsers.Low},
			detailHas: map[string]string{CodePathTraversal: "2 member name(s)"},
		},
		{
			name:     "macos_companion_does_not_hide_lone_script",
			files:    []file{{name: "invoice.js", data: "var a = 1;"}, {name: "__MACOSX/._invoice.js", data: "\x00\x05\x16\x07"}},
			children: map[string]string{"invoice.js": "var a = 1;", "__MACOSX/._invoice.js": "\x00\x05\x16\x07"},
			codes:    []string{CodeLoneScript},
		},
		{
			name:     "lnk_double_extension",
			files:    []file{{name: "請求書.pdf.lnk", data: "L\x00\x00\x00"}},
			children: map[string]string{"請求書.pdf.lnk": "L\x00\x00\x00"},
			codes:    []string{CodeDoubleExtension},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := makeZip(t, tt.files...)
			rec, err := run(t, NewZip(), "x.zip", "zip", data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkListing(t, rec, tt.children, tt.codes)
			for code, c := range tt.campaign {
				if f := findingOf(rec, code); f == nil || f.Campaign != c {
					t.Errorf("%s campaign: got %+v, want %q", code, f, c)
				}
			}
			for code, s := range tt.severity {
				if f := findingOf(rec, code); f == nil || f.Severity != s {
					t.Errorf("%s severity: got %+v, want %v", code, f, s)
				}
			}
			for code, s := range tt.detailHas {
				if f := findingOf(rec, code); f == nil || !strings.Contains(f.Detail, s) {
					t.Errorf("%s detail: got %+v, want it to contain %q", code, f, s)
				}
			}
			if rec.MetaData["encrypted"] != false {
				t.Errorf("meta encrypted = %v", rec.MetaData["encrypted"])
			}
			if n := rec.MetaData["entries"]; n != len(tt.files) {
				t.Errorf("meta entries = %v, want %d", n, len(tt.files))
			}
			if m, _ := rec.MetaData["members"].([]string); len(m) != len(tt.children) {
				t.Errorf("meta members = %v", rec.MetaData["members"])
			}
		})
	}
}

func TestZip_Match(t *testing.T) {
	p := NewZip()
	for typ, want := range map[string]bool{"zip": true, "ooxml": false, "jar": false, "gzip": false} {
		if got := p.Match(&parsers.Artifact{Type: typ}, nil); got != want {
			t.Errorf("Match(%q) = %v", typ, got)
		}
	}
	if p.Name() != "zip" {
		t.Errorf("Name = %q", p.Name())
	}
}

func TestZip_Parse_zipCrypto(t *testing.T) {
	files := []ZipFile{
		{Name: "A1234567.js", Data: []byte(`WScript.Echo("TRIAGE-REGRESSION");`)},
		{Name: "readme.txt", Data: bytes.Repeat([]byte("password protected invoice\n"), 40)},
	}
	tests := []struct {
		name      string
		archive   string
		password  string
		env       []string
		zf        func([]ZipFile) []ZipFile
		opened    bool
		source    string
		detailHas string
	}{
		{name: "password_in_body", archive: "invoice.zip", password: "Kx82-body", env: []string{"nope", "Kx82-body"}, opened: true, source: sourceMessage, detailHas: `opened with password from the message "Kx82-body"`},
		{name: "common_password", archive: "invoice.zip", password: "infected", opened: true, source: sourceCommon},
		{name: "archive_name_password", archive: "A1234567-01.zip", password: "A1234567-01", opened: true, source: sourceName},
		{name: "unknown_password", archive: "invoice.zip", password: "zz-unguessable-zz", env: []string{"wrong"}, opened: false, detailHas: "not opened"},
		{name: "stored", archive: "invoice.zip", password: "1234", opened: true, source: sourceCommon, zf: func(f []ZipFile) []ZipFile {
			for i := range f {
				f[i].Store = true
			}
			return f
		}},
		{name: "data_descriptor_time_check", archive: "invoice.zip", password: "Kx82", env: []string{"Kx82"}, opened: true, source: sourceMessage, zf: func(f []ZipFile) []ZipFile {
			for i := range f {
				f[i].Descriptor = true
			}
			return f
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := slices.Clone(files)
			if tt.zf != nil {
				fs = tt.zf(fs)
			}
			var buf bytes.Buffer
			if err := WriteEncryptedZip(&buf, tt.password, fs); err != nil {
				t.Fatal(err)
			}
			rec, err := run(t, NewZip(), tt.archive, "zip", buf.Bytes(), tt.env...)
			if len(rec.Children) != 2 {
				t.Fatalf("children = %v", childNames(rec))
			}
			for i, c := range rec.Children {
				if c.Name != fs[i].Name {
					t.Errorf("child %d name %q", i, c.Name)
				}
				if tt.opened {
					if !bytes.Equal(c.Data, fs[i].Data) || c.Err != nil {
						t.Errorf("child %q: data %q err %v", c.Name, c.Data, c.Err)
					}
				} else if c.Data != nil || !errors.Is(c.Err, parsers.ErrUnsupported) {
					t.Errorf("child %q: data %q err %v; want no data, ErrUnsupported", c.Name, c.Data, c.Err)
				}
			}
			if rec.MetaData["encrypted"] != true || rec.MetaData["encryption"] != "zipcrypto" {
				t.Errorf("meta = %v", rec.MetaData)
			}
			f := findingOf(rec, CodeEncrypted)
			if f == nil || f.Severity != parsers.Medium || !slices.Equal(f.Attack, []string{"T1027"}) {
				t.Fatalf("encrypted finding = %+v", f)
			}
			if tt.detailHas != "" && !strings.Contains(f.Detail, tt.detailHas) {
				t.Errorf("detail %q lacks %q", f.Detail, tt.detailHas)
			}
			unopened := findingOf(rec, CodeEncryptedUnopened)
			if tt.opened {
				if err != nil || unopened != nil {
					t.Errorf("err %v, unopened finding %+v", err, unopened)
				}
				if rec.MetaData["password"] != tt.password || rec.MetaData["password_source"] != tt.source {
					t.Errorf("password meta = %q (%v), want %q (%s)", rec.MetaData["password"], rec.MetaData["password_source"], tt.password, tt.source)
				}
				if !slices.Contains(rec.Passwords, tt.password) {
					t.Errorf("password not offered to the sink: %v", rec.Passwords)
				}
			} else {
				if unopened == nil || rec.MetaData["password"] != "" {
					t.Errorf("unopened finding %+v, password meta %q", unopened, rec.MetaData["password"])
				}
			}
			if findingOf(rec, CodeExecutable) == nil {
				t.Errorf("a .js among two members should give %s: %v", CodeExecutable, codes(rec))
			}
		})
	}
}

// TestZip_Parse_zipCryptoCheckByteFalsePositive proves that a wrong
// password which passes the 1-in-256 check byte is rejected by the CRC.
func TestZip_Parse_zipCryptoCheckByteFalsePositive(t *testing.T) {
	content := []byte("Set o = CreateObject(\"WScript.Shell\")\r\nWScript.Echo \"TRIAGE-REGRESSION\"\r\n")
	var buf bytes.Buffer
	if err := WriteEncryptedZip(&buf, "right-one", []ZipFile{{Name: "a.vbs", Data: content}}); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	dir, err := readZipDir(data, parsers.NewBudget(t.Context(), parsers.Limits{}))
	if err != nil || len(dir.entries) != 1 {
		t.Fatalf("readZipDir: %v %v", err, dir)
	}
	e := dir.entries[0]
	e.locate(data)
	raw, _ := e.raw(data)
	var fake string
	for i := 0; i < 100000 && fake == ""; i++ {
		if p := fmt.Sprintf("wrong-%d", i); p != "right-one" {
			if _, ok := zipCryptoOpen(&e, raw, p); ok {
				fake = p
			}
		}
	}
	if fake == "" {
		t.Fatal("no check-byte collision found")
	}
	rec, err := run(t, NewZip(), "a.zip", "zip", data, fake, "right-one")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if rec.MetaData["password"] != "right-one" || len(rec.Children) != 1 || !bytes.Equal(rec.Children[0].Data, content) {
		t.Fatalf("password %q (collision %q), children %v", rec.MetaData["password"], fake, childMap(rec))
	}
}

func TestZip_Parse_aes(t *testing.T) {
	files := []file{
		{name: "invoice.pdf.exe", data: peStub()},
		{name: "note.txt", data: strings.Repeat("AES encrypted note\n", 50), store: true},
	}
	for _, strength := range []byte{1, 2, 3} {
		for _, version := range []uint16{1, 2} {
			name := fmt.Sprintf("aes%d_ae%d", 64+64*int(strength), version)
			t.Run(name, func(t *testing.T) {
				data := makeAESZip(t, "s3cret", strength, version, files...)
				rec, err := run(t, NewZip(), "x.zip", "zip", data, "s3cret")
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				want := map[string]string{files[0].name: files[0].data, files[1].name: files[1].data}
				if diff := cmp.Diff(want, childMap(rec)); diff != "" {
					t.Errorf("children (-want +got):\n%s", diff)
				}
				if got := rec.MetaData["encryption"]; got != fmt.Sprintf("aes-%d", 64+64*int(strength)) {
					t.Errorf("encryption = %v", got)
				}
				if rec.MetaData["password"] != "s3cret" || findingOf(rec, CodeEncryptedUnopened) != nil {
					t.Errorf("password %v, findings %v", rec.MetaData["password"], codes(rec))
				}
				if findingOf(rec, CodeDoubleExtension) == nil || findingOf(rec, CodeExecutable) == nil {
					t.Errorf("findings %v", codes(rec))
				}
			})
		}
	}
	t.Run("wrong_password", func(t *testing.T) {
		data := makeAESZip(t, "not-in-any-list", 3, 2, files...)
		rec, err := run(t, NewZip(), "x.zip", "zip", data, "s3cret")
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if findingOf(rec, CodeEncryptedUnopened) == nil || len(rec.Children) != 2 || rec.Children[0].Data != nil {
			t.Errorf("findings %v children %v", codes(rec), childMap(rec))
		}
	})
	t.Run("tampered_auth_code", func(t *testing.T) {
		data := makeAESZip(t, "s3cret", 3, 2, file{name: "a.txt", data: "hello hello hello"})
		i := bytes.Index(data, []byte("PK\x01\x02"))
		data[i-1] ^= 0xff // last byte of the authentication code
		rec, err := run(t, NewZip(), "x.zip", "zip", data, "s3cret")
		if !errors.Is(err, parsers.ErrMalformed) || findingOf(rec, CodeMalformed) == nil {
			t.Errorf("err %v findings %v", err, codes(rec))
		}
	})
}

// TestZip_Parse_corpus opens the password-protected zips of the shared
// corpus and compares each member with what Python's zipfile extracted
// (size and SHA-256 prefix, computed once with the password
// "infected-test").
func TestZip_Parse_corpus(t *testing.T) {
	dir := corpusDir(t)
	want := []struct {
		path, member string
		size         int
		sha          string
		encrypted    bool
	}{
		{"mikel-mail/spec/fixtures/attachments/test.zip", "test.pdf", 11464, "de896f66af1d7492", false},
		{"mikel-mail/spec/fixtures/attachments/test.zip", "__MACOSX/._test.pdf", 82, "8b08845b71016959", false},
		{"oletools/tests/test-data/msodde/dde-in-word2003.xml.zip", "dde-in-word2003.xml", 4153, "ed7d1f79dc163d7f", true},
		{"oletools/tests/test-data/msodde/dde-in-word2007.xml.zip", "dde-in-word2007.xml", 27289, "7cec567b1c8f43ba", true},
		{"oletools/tests/test-data/msodde/dde-test-from-office2003.doc.zip", "dde-test-from-office2003.doc", 24576, "8887ee7ce4b3c654", true},
		{"oletools/tests/test-data/msodde/dde-test-from-office2013-utf_16le-korean.doc.zip", "dde-test-from-office2013-utf_16le-korean.doc", 27648, "d70c2493bbf6cf4e", true},
		{"oletools/tests/test-data/msodde/dde-test-from-office2016.doc.zip", "dde-test-from-office2016.doc", 23552, "eee37f89a363b511", true},
		{"oletools/tests/test-data/ooxml/dde-in-word2003.xml.zip", "dde-in-word2003.xml", 4153, "ed7d1f79dc163d7f", true},
		{"oletools/tests/test-data/rtfobj/issue_185.rtf.zip", "issue_185.rtf", 133, "dc7ab9aa7d498643", true},
	}
	agree := 0
	for _, w := range want {
		data, err := os.ReadFile(filepath.Join(dir, w.path))
		if err != nil {
			t.Errorf("%s: %v", w.path, err)
			continue
		}
		rec, err := run(t, NewZip(), filepath.Base(w.path), "zip", data, "infected-test")
		if err != nil {
			t.Errorf("%s: %v", w.path, err)
			continue
		}
		for _, c := range rec.Children {
			if c.Name != w.member {
				continue
			}
			sum := sha256.Sum256(c.Data)
			if len(c.Data) == w.size && hex.EncodeToString(sum[:8]) == w.sha && c.Err == nil {
				agree++
			} else {
				t.Errorf("%s!%s: %d bytes sha %x err %v", w.path, w.member, len(c.Data), sum[:8], c.Err)
			}
		}
		if got := rec.MetaData["encrypted"]; got != w.encrypted {
			t.Errorf("%s: encrypted %v", w.path, got)
		}
		if w.encrypted && (rec.MetaData["password"] != "infected-test" || rec.MetaData["password_source"] != sourceMessage) {
			t.Errorf("%s: password %v from %v", w.path, rec.MetaData["password"], rec.MetaData["password_source"])
		}
	}
	t.Logf("corpus: %d/%d members agree with Python zipfile", agree, len(want))
	if agree != len(want) {
		t.Errorf("corpus agreement %d/%d", agree, len(want))
	}
}

func TestZip_Parse_bomb(t *testing.T) {
	const gib = int64(1) << 30
	body := zeroBomb(gib)
	data := makeRawZip(t, rawZipMember{
		fh:   zip.FileHeader{Name: "zeros.bin", Method: zip.Deflate, CompressedSize64: uint64(len(body)), UncompressedSize64: uint64(gib)},
		body: body,
	})
	l := parsers.DefaultLimits()
	ctx := t.Context()
	b := parsers.NewBudget(ctx, l)
	in := &parsers.Input{Artifact: &parsers.Artifact{Name: "bomb.zip", Type: "zip", Size: int64(len(data))}, Data: data, Budget: b, Env: parsertest.Env(nil)}
	rec := &parsertest.Recorder{}
	err := NewZip().Parse(ctx, in, rec)
	if !errors.Is(err, parsers.ErrLimit) {
		t.Errorf("err = %v, want ErrLimit", err)
	}
	f := findingOf(rec, CodeLimit)
	if f == nil || f.Severity != parsers.Medium || !strings.Contains(f.Detail, fmt.Sprintf("artifact larger than %d bytes", l.MaxArtifactBytes)) {
		t.Fatalf("limit finding = %+v", f)
	}
	if len(rec.Children) != 1 || !errors.Is(rec.Children[0].Err, parsers.ErrTooLarge) || int64(len(rec.Children[0].Data)) != l.MaxArtifactBytes {
		t.Fatalf("children: %d, err %v", len(rec.Children), rec.Children[0].Err)
	}
	if used := b.Used(); used > l.MaxTotalBytes || used < l.MaxArtifactBytes {
		t.Errorf("budget used %d", used)
	}
	t.Logf("1 GiB of zeros as %d compressed bytes: cut at %d bytes", len(body), len(rec.Children[0].Data))
}

func TestZip_Parse_ratioBomb(t *testing.T) {
	body := deflate(t, make([]byte, 20<<20))
	data := makeRawZip(t, rawZipMember{
		fh:   zip.FileHeader{Name: "zeros.bin", Method: zip.Deflate, CompressedSize64: uint64(len(body)), UncompressedSize64: 20 << 20},
		body: body,
	})
	rec, err := run(t, NewZip(), "r.zip", "zip", data)
	if !errors.Is(err, parsers.ErrLimit) {
		t.Errorf("err = %v", err)
	}
	if f := findingOf(rec, CodeLimit); f == nil || !strings.Contains(f.Detail, "expansion ratio above 200") {
		t.Fatalf("limit finding = %+v", f)
	}
	if len(rec.Children) != 1 || len(rec.Children[0].Data) >= 20<<20 || rec.Children[0].Err == nil {
		t.Fatalf("children = %d", len(rec.Children))
	}
}

func BenchmarkZip_bomb(b *testing.B) {
	body := zeroBomb(1 << 30)
	data := makeRawZip(b, rawZipMember{
		fh:   zip.FileHeader{Name: "zeros.bin", Method: zip.Deflate, CompressedSize64: uint64(len(body)), UncompressedSize64: 1 << 30},
		body: body,
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parsertest.Run(b, NewZip(), "bomb.zip", "zip", data); !errors.Is(err, parsers.ErrLimit) {
			b.Fatal(err)
		}
	}
}

func TestZip_Parse_maxEntries(t *testing.T) {
	var files []file
	for i := range 50 {
		files = append(files, file{name: fmt.Sprintf("f%02d.txt", i), data: "x"})
	}
	data := makeZip(t, files...)
	rec, err := parsertest.RunLimits(t, NewZip(), "many.zip", "zip", data, parsers.Limits{MaxEntries: 10})
	if !errors.Is(err, parsers.ErrLimit) {
		t.Errorf("err = %v", err)
	}
	if len(rec.Children) != 10 {
		t.Errorf("children = %d, want 10", len(rec.Children))
	}
	if f := findingOf(rec, CodeLimit); f == nil || !strings.Contains(f.Detail, "more than 10 entries") {
		t.Errorf("limit finding = %+v", f)
	}
}

func TestZip_Parse_sinkLimit(t *testing.T) {
	data := makeZip(t, file{name: "a.txt", data: "a"}, file{name: "b.txt", data: "b"}, file{name: "c.txt", data: "c"})
	ctx := t.Context()
	in := &parsers.Input{Artifact: &parsers.Artifact{Name: "x.zip", Type: "zip"}, Data: data, Budget: parsers.NewBudget(ctx, parsers.Limits{}), Env: parsertest.Env(nil)}
	rec := &parsertest.Recorder{MaxChildren: 2}
	err := NewZip().Parse(ctx, in, rec)
	if !errors.Is(err, parsers.ErrTooMany) || len(rec.Children) != 2 || findingOf(rec, CodeLimit) == nil {
		t.Errorf("err %v, children %d, findings %v", err, len(rec.Children), codes(rec))
	}
}

// zip64Claim rewrites a one-entry zip so a zip64 end record claims n
// entries.
func zip64Claim(t *testing.T, data []byte, n uint64) []byte {
	t.Helper()
	eocd := findEnd(data)
	cdSize, cdOff := le32(data[eocd+12:]), le32(data[eocd+16:])
	out := slices.Clone(data[:eocd])
	z64 := len(out)
	rec := make([]byte, end64Len)
	copy(rec, sigEnd64)
	binary.LittleEndian.PutUint64(rec[4:], end64Len-12)
	binary.LittleEndian.PutUint64(rec[24:], n)
	binary.LittleEndian.PutUint64(rec[32:], n)
	binary.LittleEndian.PutUint64(rec[40:], uint64(cdSize))
	binary.LittleEndian.PutUint64(rec[48:], uint64(cdOff))
	out = append(out, rec...)
	loc := make([]byte, end64LocLen)
	copy(loc, sigEnd64Locator)
	binary.LittleEndian.PutUint64(loc[8:], uint64(z64))
	out = append(out, loc...)
	end := make([]byte, endLen)
	copy(end, sigEnd)
	binary.LittleEndian.PutUint16(end[8:], 0xffff)
	binary.LittleEndian.PutUint16(end[10:], 0xffff)
	binary.LittleEndian.PutUint32(end[12:], 0xffffffff)
	binary.LittleEndian.PutUint32(end[16:], 0xffffffff)
	return append(out, end...)
}

func TestZip_Parse_hostile(t *testing.T) {
	base := makeZip(t, file{name: "a.txt", data: strings.Repeat("alpha ", 100)}, file{name: "b.js", data: "var b = 2;"})
	firstCentral := bytes.Index(base, []byte(sigCentral))
	secondLocal := bytes.Index(base[4:], []byte(sigLocal)) + 4

	t.Run("billion_entries_claimed", func(t *testing.T) {
		one := makeZip(t, file{name: "only.txt", data: "only"})
		rec, err := run(t, NewZip(), "x.zip", "zip", zip64Claim(t, one, 1_000_000_000))
		if !errors.Is(err, parsers.ErrMalformed) {
			t.Errorf("err = %v", err)
		}
		if f := findingOf(rec, CodeMalformed); f == nil || !strings.Contains(f.Detail, "declares 1000000000 entries, 1 readable") {
			t.Errorf("malformed = %+v", f)
		}
		if diff := cmp.Diff(map[string]string{"only.txt": "only"}, childMap(rec)); diff != "" {
			t.Errorf("children (-want +got):\n%s", diff)
		}
	})

	t.Run("garbage_after_end", func(t *testing.T) {
		data := append(slices.Clone(base), bytes.Repeat([]byte{0xcc}, 100)...)
		rec, err := run(t, NewZip(), "x.zip", "zip", data)
		if err != nil || len(rec.Children) != 2 || rec.MetaData["trailing_bytes"] != 100 {
			t.Errorf("err %v children %v meta %v", err, childNames(rec), rec.MetaData)
		}
	})

	t.Run("end_record_out_of_reach", func(t *testing.T) {
		data := append(slices.Clone(base), make([]byte, 70000)...)
		rec, err := run(t, NewZip(), "x.zip", "zip", data)
		if !errors.Is(err, parsers.ErrMalformed) {
			t.Errorf("err = %v", err)
		}
		if diff := cmp.Diff(map[string]string{"a.txt": strings.Repeat("alpha ", 100), "b.js": "var b = 2;"}, childMap(rec)); diff != "" {
			t.Errorf("local scan children (-want +got):\n%s", diff)
		}
	})

	t.Run("prefix_junk", func(t *testing.T) {
		data := append([]byte("#!/bin/sh\nexit 0\n"), base...)
		rec, err := run(t, NewZip(), "x.zip", "zip", data)
		if len(rec.Children) != 2 || rec.Children[0].Err != nil || !errors.Is(err, parsers.ErrMalformed) {
			t.Errorf("err %v children %v", err, rec.Children)
		}
	})

	t.Run("shared_local_header", func(t *testing.T) {
		// A quine-like archive: 1000 central records, all pointing at the
		// one local header.
		one := makeZip(t, file{name: "only.txt", data: strings.Repeat("only ", 50)})
		eocd := findEnd(one)
		cd := int(le32(one[eocd+16:]))
		record := one[cd:eocd]
		data := slices.Clone(one[:eocd])
		for range 999 {
			data = append(data, record...)
		}
		end := slices.Clone(one[eocd:])
		binary.LittleEndian.PutUint16(end[8:], 1000)
		binary.LittleEndian.PutUint16(end[10:], 1000)
		binary.LittleEndian.PutUint32(end[12:], uint32(1000*len(record)))
		data = append(data, end...)
		rec, err := run(t, NewZip(), "x.zip", "zip", data)
		if !errors.Is(err, parsers.ErrMalformed) {
			t.Errorf("err = %v", err)
		}
		if f := findingOf(rec, CodeMalformed); f == nil || !strings.Contains(f.Detail, "999 entries share another entry's local header") {
			t.Errorf("malformed = %+v", f)
		}
		if len(rec.Children) != 1 || rec.MetaData["entries"] != 1000 {
			t.Errorf("children = %v, entries %v; want the shared range once", childNames(rec), rec.MetaData["entries"])
		}
	})

	t.Run("overlapping_ranges", func(t *testing.T) {
		// Entry a's compressed size swallows entry b's local header.
		data := slices.Clone(base)
		binary.LittleEndian.PutUint32(data[firstCentral+20:], uint32(secondLocal+10))
		rec, _ := run(t, NewZip(), "x.zip", "zip", data)
		if f := findingOf(rec, CodeMalformed); f == nil || !strings.Contains(f.Detail, "overlap") {
			t.Errorf("malformed = %+v", f)
		}
		if len(rec.Children) != 2 {
			t.Errorf("children = %v", childNames(rec))
		}
	})

	t.Run("hidden_local_entry", func(t *testing.T) {
		// Drop b.js from the central directory; its local header stays.
		d, _ := readZipDir(base, parsers.NewBudget(t.Context(), parsers.Limits{}))
		one := slices.Clone(base[:firstCentral])
		first := base[firstCentral : firstCentral+centralLen+5]
		one = append(one, first...)
		end := make([]byte, endLen)
		copy(end, sigEnd)
		binary.LittleEndian.PutUint16(end[8:], 1)
		binary.LittleEndian.PutUint16(end[10:], 1)
		binary.LittleEndian.PutUint32(end[12:], uint32(len(first)))
		binary.LittleEndian.PutUint32(end[16:], uint32(firstCentral))
		one = append(one, end...)
		rec, err := run(t, NewZip(), "x.zip", "zip", one)
		if !errors.Is(err, parsers.ErrMalformed) || len(d.entries) != 2 {
			t.Errorf("err = %v", err)
		}
		if f := findingOf(rec, CodeMalformed); f == nil || !strings.Contains(f.Detail, "1 local entries missing from the central directory") {
			t.Errorf("malformed = %+v", f)
		}
		if diff := cmp.Diff(map[string]string{"a.txt": strings.Repeat("alpha ", 100), "b.js": "var b = 2;"}, childMap(rec)); diff != "" {
			t.Errorf("children (-want +got):\n%s", diff)
		}
	})

	t.Run("end_record_claims_no_entries", func(t *testing.T) {
		data := slices.Clone(base[:firstCentral])
		end := make([]byte, endLen)
		copy(end, sigEnd)
		binary.LittleEndian.PutUint32(end[16:], uint32(firstCentral))
		data = append(data, end...)
		rec, err := run(t, NewZip(), "x.zip", "zip", data)
		if !errors.Is(err, parsers.ErrMalformed) || !hasDetail(rec, CodeMalformed, "2 local entries missing from the central directory") {
			t.Errorf("err %v findings %+v", err, rec.Findings)
		}
		if len(rec.Children) != 2 {
			t.Errorf("children %v", childNames(rec))
		}
	})

	t.Run("crc_mismatch", func(t *testing.T) {
		stored := makeZip(t, file{name: "s.txt", data: "stored text", store: true})
		i := bytes.Index(stored, []byte("stored text"))
		stored = slices.Clone(stored)
		stored[i] = 'S'
		rec, err := run(t, NewZip(), "x.zip", "zip", stored)
		if !errors.Is(err, parsers.ErrMalformed) || len(rec.Children) != 1 || !errors.Is(rec.Children[0].Err, parsers.ErrMalformed) {
			t.Errorf("err %v children %+v", err, rec.Children)
		}
	})

	t.Run("unsupported_method", func(t *testing.T) {
		data := makeRawZip(t, rawZipMember{fh: zip.FileHeader{Name: "x.bin", Method: 14, CompressedSize64: 3}, body: []byte("abc")})
		rec, err := run(t, NewZip(), "x.zip", "zip", data)
		if err != nil || len(rec.Children) != 1 || !errors.Is(rec.Children[0].Err, parsers.ErrUnsupported) {
			t.Errorf("err %v children %+v", err, rec.Children)
		}
	})

	t.Run("many_descriptor_entries_before_padding", func(t *testing.T) {
		// Local headers deferring their sizes to a data descriptor, none
		// present, then a large tail: sizing each entry must not search
		// the tail again (it did, quadratic: seconds per 10 MiB).
		var data []byte
		for range 10000 {
			h := make([]byte, localLen)
			copy(h, sigLocal)
			binary.LittleEndian.PutUint16(h[6:], flagDescriptor)
			binary.LittleEndian.PutUint16(h[26:], 1) // a one-byte name
			data = append(append(data, h...), 'a')
		}
		data = append(data, make([]byte, 24<<20)...)
		start := time.Now()
		rec, err := run(t, NewZip(), "x.zip", "zip", data)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v", d)
		}
		if !errors.Is(err, parsers.ErrMalformed) || len(rec.Children) != 10000 {
			t.Errorf("err %v, %d children", err, len(rec.Children))
		}
	})

	t.Run("truncated_everywhere", func(t *testing.T) {
		recovered := 0
		for n := 0; n < len(base); n++ {
			rec, err := run(t, NewZip(), "x.zip", "zip", base[:n])
			assertInvariants(t, rec, err, parsers.Limits{})
			if n < firstCentral && err == nil && len(rec.Children) > 0 {
				t.Fatalf("truncated at %d: no error", n)
			}
			if n >= secondLocal && childMap(rec)["a.txt"] == strings.Repeat("alpha ", 100) {
				recovered++
			}
		}
		if recovered != len(base)-secondLocal {
			t.Errorf("first member recovered from %d of %d truncations past it", recovered, len(base)-secondLocal)
		}
	})
}

// TestZip_agreesWithArchiveZip compares member names and contents with the
// standard library's reader on generated archives.
func TestZip_agreesWithArchiveZip(t *testing.T) {
	data := makeZip(t, file{name: "dir/"}, file{name: "dir/a.txt", data: "A"}, file{name: "b.bin", data: string(make([]byte, 5000))}, file{name: "c", data: "c", store: true})
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := b.ReadFrom(rc); err != nil {
			t.Fatal(err)
		}
		want[f.Name] = b.String()
	}
	rec, err := run(t, NewZip(), "x.zip", "zip", data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, childMap(rec)); diff != "" {
		t.Errorf("(-archive/zip +ours):\n%s", diff)
	}
}
