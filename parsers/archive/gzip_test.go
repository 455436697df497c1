package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/parsertest"
)

func makeGzip(t testing.TB, name string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Name = name
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func makeTar(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if strings.HasSuffix(f.name, "/") {
			hdr.Typeflag, hdr.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "link", Linkname: "a.txt", Typeflag: tar.TypeSymlink}); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGzip_Parse(t *testing.T) {
	tarball := makeTar(t, file{name: "pkg/"}, file{name: "pkg/a.txt", data: "alpha"}, file{name: "pkg/run.ps1", data: "Write-Output 'TRIAGE-REGRESSION'"})
	tests := []struct {
		name     string
		outer    string
		data     []byte
		children map[string]string
		codes    []string
		meta     map[string]any
	}{
		{
			name:     "fname_header",
			outer:    "attachment.gz",
			data:     makeGzip(t, "invoice.js", []byte(`WScript.Echo("TRIAGE-REGRESSION");`)),
			children: map[string]string{"invoice.js": `WScript.Echo("TRIAGE-REGRESSION");`},
			codes:    []string{CodeLoneScript},
			meta:     map[string]any{"gzip_name": "invoice.js", "entries": 1},
		},
		{
			name:     "name_from_outer",
			outer:    "dir/report.txt.GZ",
			data:     makeGzip(t, "", []byte("plain report")),
			children: map[string]string{"report.txt": "plain report"},
			meta:     map[string]any{"entries": 1},
		},
		{
			name:     "tar_gz",
			outer:    "bundle.tgz",
			data:     makeGzip(t, "", tarball),
			children: map[string]string{"pkg/a.txt": "alpha", "pkg/run.ps1": "Write-Output 'TRIAGE-REGRESSION'"},
			codes:    []string{CodeExecutable},
			meta:     map[string]any{"tar": true, "entries": 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := run(t, NewGzip(), tt.outer, "gzip", tt.data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.children, childMap(rec)); diff != "" {
				t.Errorf("children (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.codes, codes(rec)); diff != "" {
				t.Errorf("codes (-want +got):\n%s", diff)
			}
			for k, v := range tt.meta {
				if rec.MetaData[k] != v {
					t.Errorf("meta %s = %v, want %v", k, rec.MetaData[k], v)
				}
			}
		})
	}
}

func TestTar_Parse(t *testing.T) {
	data := makeTar(t, file{name: "a.txt", data: "alpha"}, file{name: "../escape.sh", data: "echo hi"})
	if got := filetype.Detect(data, "x.tar"); got != filetype.Tar {
		t.Fatalf("filetype.Detect = %q", got)
	}
	p := NewTar()
	if !p.Match(&parsers.Artifact{Type: filetype.Tar}, data) || p.Name() != "tar" {
		t.Fatal("Match/Name")
	}
	rec, err := run(t, p, "x.tar", "tar", data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"a.txt": "alpha", "../escape.sh": "echo hi"}, childMap(rec)); diff != "" {
		t.Errorf("children (-want +got):\n%s", diff)
	}
	if findingOf(rec, CodePathTraversal) == nil {
		t.Errorf("findings %v", codes(rec))
	}
	t.Run("truncated", func(t *testing.T) {
		cut := bytes.Index(data, []byte("alpha")) + 3
		rec, err := run(t, p, "x.tar", "tar", data[:cut])
		if !errors.Is(err, parsers.ErrMalformed) || len(rec.Children) != 1 || !errors.Is(rec.Children[0].Err, parsers.ErrMalformed) {
			t.Errorf("err %v children %+v", err, rec.Children)
		}
	})
	t.Run("max_entries", func(t *testing.T) {
		var files []file
		for i := range 20 {
			files = append(files, file{name: fmt.Sprintf("%d.txt", i), data: "x"})
		}
		rec, err := parsertest.RunLimits(t, p, "x.tar", "tar", makeTar(t, files...), parsers.Limits{MaxEntries: 5})
		if !errors.Is(err, parsers.ErrLimit) || len(rec.Children) != 5 || findingOf(rec, CodeLimit) == nil {
			t.Errorf("err %v children %d findings %v", err, len(rec.Children), codes(rec))
		}
	})
}

func TestGzip_Parse_hostile(t *testing.T) {
	t.Run("bomb_1GiB", func(t *testing.T) {
		var buf bytes.Buffer
		buf.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
		buf.Write(zeroBomb(1 << 30))
		buf.Write(make([]byte, 8)) // CRC and size are never reached
		rec, err := run(t, NewGzip(), "zeros.gz", "gzip", buf.Bytes())
		if !errors.Is(err, parsers.ErrLimit) {
			t.Errorf("err = %v", err)
		}
		if f := findingOf(rec, CodeLimit); f == nil || !strings.Contains(f.Detail, "artifact larger than") {
			t.Errorf("finding %+v", f)
		}
		if len(rec.Children) != 1 || rec.Children[0].Name != "zeros" || !errors.Is(rec.Children[0].Err, parsers.ErrTooLarge) {
			t.Errorf("children %+v", childNames(rec))
		}
	})
	t.Run("ratio", func(t *testing.T) {
		rec, err := run(t, NewGzip(), "z.gz", "gzip", makeGzip(t, "z", make([]byte, 8<<20)))
		if !errors.Is(err, parsers.ErrLimit) {
			t.Errorf("err = %v", err)
		}
		if f := findingOf(rec, CodeLimit); f == nil || !strings.Contains(f.Detail, "expansion ratio above 200") {
			t.Errorf("finding %+v", f)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		data := makeGzip(t, "a.txt", bytes.Repeat([]byte("some text "), 1000))
		for n := 0; n < len(data); n++ {
			rec, err := run(t, NewGzip(), "a.gz", "gzip", data[:n])
			assertInvariants(t, rec, err, parsers.Limits{})
			if !errors.Is(err, parsers.ErrMalformed) || findingOf(rec, CodeMalformed) == nil {
				t.Fatalf("truncated at %d: err %v findings %v", n, err, codes(rec))
			}
		}
	})
	t.Run("checksum", func(t *testing.T) {
		data := makeGzip(t, "a.txt", []byte("checksummed"))
		data[len(data)-6] ^= 1
		rec, err := run(t, NewGzip(), "a.gz", "gzip", data)
		if !errors.Is(err, parsers.ErrMalformed) || len(rec.Children) != 1 {
			t.Errorf("err %v children %v", err, childNames(rec))
		}
	})
}
