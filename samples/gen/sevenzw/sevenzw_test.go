package sevenzw

import (
	"bytes"
	"hash/crc32"
	"io"
	"testing"
	"time"

	"github.com/bodgit/sevenzip"
)

func TestWriteReadBack(t *testing.T) {
	when := time.Date(2017, 9, 18, 9, 30, 0, 0, time.UTC)
	big := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320 000 bytes: multi-byte numbers
	tests := []struct {
		name  string
		files []File
	}{
		{"one", []File{{Name: "8812345.vbs", Data: []byte("WScript.Echo \"TRIAGE-REGRESSION\"\r\n"), Modified: when}}},
		{"three", []File{
			{Name: "a.txt", Data: []byte("alpha"), Modified: when},
			{Name: "dir/請求書.js", Data: []byte("WScript.Echo(\"TRIAGE-REGRESSION\");"), Modified: when.Add(time.Hour)},
			{Name: "big.bin", Data: big, Modified: when},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tc.files); err != nil {
				t.Fatal(err)
			}
			r, err := sevenzip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatalf("sevenzip.NewReader: %v", err)
			}
			if len(r.File) != len(tc.files) {
				t.Fatalf("read %d files, wrote %d", len(r.File), len(tc.files))
			}
			for i, f := range r.File {
				want := tc.files[i]
				if f.Name != want.Name {
					t.Errorf("file %d name %q, want %q", i, f.Name, want.Name)
				}
				if !f.Modified.Equal(want.Modified) {
					t.Errorf("file %d modified %v, want %v", i, f.Modified, want.Modified)
				}
				rc, err := f.Open()
				if err != nil {
					t.Fatalf("open %q: %v", f.Name, err)
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Fatalf("read %q: %v", f.Name, err)
				}
				if !bytes.Equal(got, want.Data) {
					t.Errorf("file %q: content differs (%d vs %d bytes)", f.Name, len(got), len(want.Data))
				}
				// The reader exposes but does not check member CRCs.
				if f.CRC32 != crc32.ChecksumIEEE(got) {
					t.Errorf("file %q: stored CRC %08x, content CRC %08x", f.Name, f.CRC32, crc32.ChecksumIEEE(got))
				}
			}
		})
	}
}

func TestWriteRejects(t *testing.T) {
	for _, files := range [][]File{nil, {{Name: "empty"}}, {{Data: []byte("x")}}} {
		if err := Write(io.Discard, files); err == nil {
			t.Errorf("Write(%v) = nil error", files)
		}
	}
}

func TestWriteNumber(t *testing.T) {
	tests := []struct {
		v    uint64
		want []byte
	}{
		{0, []byte{0}},
		{0x7f, []byte{0x7f}},
		{0x80, []byte{0x80, 0x80}},
		{0x3fff, []byte{0xbf, 0xff}},
		{0x4000, []byte{0xc0, 0x00, 0x40}},
		{320000, []byte{0xc4, 0x00, 0xe2}},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		writeNumber(&b, tc.v)
		if !bytes.Equal(b.Bytes(), tc.want) {
			t.Errorf("writeNumber(%#x) = % x, want % x", tc.v, b.Bytes(), tc.want)
		}
	}
}

// TestCorruptHeaderDetected makes sure the read-back test could fail: the
// reader checks the start-header and header CRCs this package computes.
func TestCorruptHeaderDetected(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, []File{{Name: "x.txt", Data: []byte("hello world")}}); err != nil {
		t.Fatal(err)
	}
	for _, off := range []int{12, buf.Len() - 3} { // start header, header
		b := bytes.Clone(buf.Bytes())
		b[off] ^= 0x01
		if _, err := sevenzip.NewReader(bytes.NewReader(b), int64(len(b))); err == nil {
			t.Errorf("byte %d flipped: archive opened without error", off)
		}
	}
}
