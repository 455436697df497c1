package hostile

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/richardlehane/mscfb"

	"triage/parsers"
	"triage/parsers/vba"
)

// The generators must build what they claim, or a passing TestHostile
// proves nothing: these tests check each structure with an independent
// reader (the standard library, mscfb, the vba package's dir parser).

func TestZipQuine(t *testing.T) {
	q := ZipQuine()
	zr, err := zip.NewReader(bytes.NewReader(q), int64(len(q)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 {
		t.Fatalf("%d members, want 1", len(zr.File))
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc) // archive/zip checks the CRC at EOF
	if err != nil {
		t.Fatalf("read member: %v", err)
	}
	if !bytes.Equal(got, q) {
		t.Fatalf("member (%d bytes) is not the archive (%d bytes)", len(got), len(q))
	}
}

func TestZerosDeflate(t *testing.T) {
	const size = 5<<20 + 123
	got, err := io.ReadAll(flate.NewReader(bytes.NewReader(zerosDeflate(size))))
	if err != nil {
		t.Fatal(err)
	}
	// zerosDeflate rounds up to whole 1 MiB blocks.
	if len(got) != 6<<20 || bytes.IndexFunc(got, func(r rune) bool { return r != 0 }) >= 0 {
		t.Fatalf("inflated %d bytes (non-zero at %d), want 6 MiB of zeros", len(got), bytes.IndexFunc(got, func(r rune) bool { return r != 0 }))
	}
}

func openZip(t *testing.T, b []byte) *zip.Reader {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

func TestZip42(t *testing.T) {
	z := Zip42(3, 4, 3<<20)
	top := openZip(t, z)
	if len(top.File) != 4 {
		t.Fatalf("top level: %d members, want 4", len(top.File))
	}
	lvl := z
	for depth := 0; depth < 2; depth++ {
		zr := openZip(t, lvl)
		rc, err := zr.File[len(zr.File)-1].Open()
		if err != nil {
			t.Fatal(err)
		}
		inner, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("level %d: %v", depth, err)
		}
		if !strings.HasSuffix(zr.File[0].Name, ".zip") {
			t.Fatalf("level %d member %q is not a zip", depth, zr.File[0].Name)
		}
		lvl = inner
	}
	bottom := openZip(t, lvl)
	if len(bottom.File) != 4 || bottom.File[0].UncompressedSize64 != 3<<20 {
		t.Fatalf("bottom: %d members of %d bytes", len(bottom.File), bottom.File[0].UncompressedSize64)
	}
	rc, err := bottom.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := io.ReadAll(rc)
	if err != nil || len(leaf) != 3<<20 {
		t.Fatalf("leaf: %d bytes, %v", len(leaf), err)
	}
}

func TestZipOverlaps(t *testing.T) {
	// Every member of the stored overlap zip is readable with a valid CRC,
	// and member i's data holds the local headers of all later members.
	z := zipStoredOverlap(20, 100)
	zr := openZip(t, z)
	if len(zr.File) != 20 {
		t.Fatalf("%d members, want 20", len(zr.File))
	}
	var total int
	for i, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		if got := bytes.Count(b, []byte("PK\x03\x04")); got != 19-i {
			t.Errorf("member %d holds %d local headers, want %d", i, got, 19-i)
		}
		total += len(b)
	}
	// 20 headers of 43 bytes, then the kernel: member i holds 960-43(i+1).
	if total != 20*960-43*210 {
		t.Errorf("members total %d bytes, want %d", total, 20*960-43*210)
	}
	// The shared-header zip: every record names the same local header.
	s := openZip(t, zipSharedOverlap(50, 1<<20))
	if len(s.File) != 50 {
		t.Fatalf("%d members, want 50", len(s.File))
	}
	for _, f := range s.File {
		off, err := f.DataOffset()
		if err != nil || off != 30+int64(len("kernel.bin")) {
			t.Fatalf("member %s data at %d (%v), want the shared kernel", f.Name, off, err)
		}
	}
	rc, _ := s.File[49].Open()
	if b, err := io.ReadAll(rc); err != nil || len(b) != 1<<20 {
		t.Fatalf("kernel: %d bytes, %v", len(b), err)
	}
}

func TestOOXMLManyParts(t *testing.T) {
	zr := openZip(t, ooxmlManyParts(1000))
	if len(zr.File) != 1004 {
		t.Fatalf("%d parts, want 1004", len(zr.File))
	}
	if zr.File[0].Name != "[Content_Types].xml" {
		t.Fatalf("first part %q", zr.File[0].Name)
	}
}

// cfbStreams reads every stream of a compound file with mscfb.
func cfbStreams(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	r, err := mscfb.New(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for e, err := r.Next(); err == nil; e, err = r.Next() {
		if e.Size == 0 {
			continue
		}
		data, err := io.ReadAll(e)
		if err != nil {
			t.Fatalf("%s: %v", e.Name, err)
		}
		out[strings.Join(append(append([]string{}, e.Path...), e.Name), "/")] = data
	}
	return out
}

func TestCFB(t *testing.T) {
	// Uncorrupted, the hand-built layout is a valid compound file: each
	// corrupted case differs from it only by its one defect.
	s := cfbStreams(t, CFB(nil))
	if got := s["WordDocument"]; len(got) != 4096 || !bytes.HasPrefix(got, []byte("TRIAGE-REGRESSION")) {
		t.Fatalf("WordDocument stream: %d bytes %q", len(got), got[:min(len(got), 20)])
	}
	for name, corrupt := range map[string]func(*cfbLayout){"fat-loop": cfbFATLoop, "dir-loop": cfbDirLoop, "past-end": cfbFATPastEnd, "difat": cfbDIFATAbsurd} {
		if bytes.Equal(CFB(corrupt), CFB(nil)) {
			t.Errorf("%s: corruption changed nothing", name)
		}
	}
}

func TestVBADirs(t *testing.T) {
	tests := []struct {
		name    string
		cfb     []byte
		wantErr error
		modules int
	}{
		{"absurd sizes", vbaProject(dirAbsurdSizes()), parsers.ErrMalformed, 1},
		{"module flood", vbaModuleFlood(5000), parsers.ErrTooMany, vba.MaxModules},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := cfbStreams(t, tt.cfb)
			raw, ok := s["Macros/VBA/dir"]
			if !ok {
				t.Fatalf("no Macros/VBA/dir stream; streams: %d", len(s))
			}
			dir, err := vba.Decompress(raw, 0)
			if err != nil {
				t.Fatalf("dir does not decompress: %v", err)
			}
			d, err := vba.ParseDir(dir)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("ParseDir error %v, want %v", err, tt.wantErr)
			}
			if len(d.Modules) != tt.modules || d.ModuleCount != 0xFFFF {
				t.Errorf("%d modules of %d declared, want %d of 65535", len(d.Modules), d.ModuleCount, tt.modules)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	// Each wrapped file comes back out of the message intact.
	data := []byte("\x00\x01binary payload TRIAGE-REGRESSION")
	m := attach("a.bin", "application/octet-stream", data)
	i := bytes.Index(m, []byte("base64\r\n\r\n"))
	j := bytes.Index(m, []byte("\r\n--hostile-b--"))
	if i < 0 || j < i {
		t.Fatalf("no base64 body in %q", m)
	}
	var got []byte
	for _, line := range bytes.Split(m[i+len("base64\r\n\r\n"):j], []byte("\r\n")) {
		dec := make([]byte, len(line))
		n, err := base64.StdEncoding.Decode(dec, line)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, dec[:n]...)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("round trip: %q", got)
	}
	if n := bytes.Count(nestedMultipart(100), []byte("multipart/mixed")); n != 101 {
		t.Errorf("nestedMultipart(100): %d multipart levels, want 101", n)
	}
	if n := bytes.Count(manyParts(1000), []byte("\r\n--p\r\n")); n != 1000 {
		t.Errorf("manyParts(1000): %d delimiters, want 1000", n)
	}
	for _, n := range []int{60_000_000, 100_000_000} {
		m := rtfHexMessage(n)
		if len(m) < n || (n < 64<<20) != (len(m) < 64<<20) {
			t.Errorf("rtfHexMessage(%d): %d bytes", n, len(m))
		}
	}
}
