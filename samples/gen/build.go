package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/kdomanski/iso9660"

	"triage/samples/gen/classw"
)

// Small file builders shared by the samples. Every one of them is
// deterministic: fixed times, no map iteration, a seeded PRNG.

// rng is SplitMix64: tiny, and its output never changes with the Go version
// (math/rand's helpers are not promised to stay stable).
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

func (r *rng) bytes(n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], r.next())
		copy(b[i:], w[:])
	}
	return b
}

// zipEntry is one member of a generated zip.
type zipEntry struct {
	name     string
	data     []byte
	modified time.Time
	store    bool // Store instead of Deflate
}

// zipArchive writes a zip with fixed member times.
func zipArchive(entries []zipEntry) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		if e.modified.IsZero() {
			return nil, fmt.Errorf("gen: zip member %q has no time", e.name)
		}
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: e.modified}
		if e.store {
			h.Method = zip.Store
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, fmt.Errorf("gen: zip %q: %w", e.name, err)
		}
		if _, err := w.Write(e.data); err != nil {
			return nil, fmt.Errorf("gen: zip %q: %w", e.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gen: zip: %w", err)
	}
	return buf.Bytes(), nil
}

// zerosZip writes a zip whose one member is n zero bytes, deflated at the
// best level, streaming so that the zeros are never held in memory.
func zerosZip(name string, n int64, modified time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified})
	if err != nil {
		return nil, fmt.Errorf("gen: zip %q: %w", name, err)
	}
	chunk := make([]byte, 1<<20)
	for left := n; left > 0; {
		c := chunk
		if int64(len(c)) > left {
			c = c[:left]
		}
		if _, err := w.Write(c); err != nil {
			return nil, fmt.Errorf("gen: zip %q: %w", name, err)
		}
		left -= int64(len(c))
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gen: zip: %w", err)
	}
	return buf.Bytes(), nil
}

// jarClass is a class to put in a JAR: an empty class unless main is set.
type jarClass struct {
	name string // internal name, e.g. com/example/app/Main
	main string // message printed by main, or "" for an empty class
}

// jarArchive builds a JAR: the manifest first, then classes, then
// resources in the given order.
func jarArchive(manifest string, classes []jarClass, resources []zipEntry, modified time.Time) ([]byte, error) {
	entries := []zipEntry{
		{name: "META-INF/", data: nil, modified: modified, store: true},
		{name: "META-INF/MANIFEST.MF", data: []byte(manifest), modified: modified},
	}
	for _, c := range classes {
		var b []byte
		var err error
		if c.main != "" {
			b, err = classw.Hello(c.name, c.main)
		} else {
			b, err = classw.Empty(c.name)
		}
		if err != nil {
			return nil, err
		}
		entries = append(entries, zipEntry{name: c.name + ".class", data: b, modified: modified})
	}
	return zipArchive(append(entries, resources...))
}

// manifest renders a JAR manifest with CRLF line ends.
func manifest(mainClass string) string {
	return "Manifest-Version: 1.0\r\nCreated-By: 1.8.0_251 (Oracle Corporation)\r\nMain-Class: " + mainClass + "\r\n\r\n"
}

// minimalPDF is a one-page PDF showing one line of text, with a correct
// cross-reference table.
func minimalPDF(title, line string) []byte {
	esc := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
	content := fmt.Sprintf("BT /F1 12 Tf 72 720 Td (%s) Tj ET", esc.Replace(line))
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		fmt.Sprintf("<< /Title (%s) /Producer (triage sample generator) >>", esc.Replace(title)),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// isoFile is one file to put at the root of an ISO image.
type isoFile struct {
	name string // mangled by the writer to an ISO 9660 level-1 name
	data []byte
}

// isoImage writes an ISO 9660 image with github.com/kdomanski/iso9660. The
// writer stamps the volume descriptor with the clock and runtime.GOOS, so
// those fields are overwritten afterwards with fixed values.
func isoImage(volID string, files []isoFile, stamp time.Time) ([]byte, error) {
	w, err := iso9660.NewWriter()
	if err != nil {
		return nil, fmt.Errorf("gen: iso: %w", err)
	}
	defer w.Cleanup()
	for _, f := range files {
		if err := w.AddFile(bytes.NewReader(f.data), f.name); err != nil {
			return nil, fmt.Errorf("gen: iso %q: %w", f.name, err)
		}
	}
	var buf bytes.Buffer
	if err := w.WriteTo(&buf, volID); err != nil {
		return nil, fmt.Errorf("gen: iso: %w", err)
	}
	img := buf.Bytes()
	const pvd = 16 * 2048
	if len(img) < pvd+2048 || img[pvd] != 1 || string(img[pvd+1:pvd+6]) != "CD001" {
		return nil, fmt.Errorf("gen: iso: no primary volume descriptor at sector 16")
	}
	copy(img[pvd+8:pvd+40], fmt.Sprintf("%-32s", "LINUX"))
	// ECMA-119 8.4.26.1: 16 digits then the offset from GMT in 15-minute units.
	_, off := stamp.Zone()
	ts := append([]byte(stamp.Format("20060102150405")+"00"), byte(int8(off/900)))
	for _, at := range []int{813, 830, 864} { // creation, modification, effective
		copy(img[pvd+at:pvd+at+17], ts)
	}
	// The writer leaves directory-record dates zero; stamp the root record
	// and every record of the (flat) root directory (ECMA-119 9.1.5).
	rec := []byte{byte(stamp.Year() - 1900), byte(stamp.Month()), byte(stamp.Day()),
		byte(stamp.Hour()), byte(stamp.Minute()), byte(stamp.Second()), byte(int8(off / 900))}
	root := img[pvd+156 : pvd+190]
	copy(root[18:25], rec)
	lba, size := int(binary.LittleEndian.Uint32(root[2:])), int(binary.LittleEndian.Uint32(root[10:]))
	if lba*2048+size > len(img) {
		return nil, fmt.Errorf("gen: iso: root directory outside the image")
	}
	dir := img[lba*2048 : lba*2048+size]
	for i := 0; i < len(dir) && dir[i] != 0; i += int(dir[i]) {
		if i+25 > len(dir) {
			return nil, fmt.Errorf("gen: iso: truncated directory record")
		}
		copy(dir[i+18:i+25], rec)
	}
	return img, nil
}

// psEncodedCommand is PowerShell's -EncodedCommand form of cmd: base64 of
// its UTF-16LE bytes.
func psEncodedCommand(cmd string) string {
	u := utf16.Encode([]rune(cmd))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return base64.StdEncoding.EncodeToString(b)
}
