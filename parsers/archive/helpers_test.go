package archive

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/aes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"triage/parsers"
	"triage/parsers/parsertest"
)

// file is one member of a generated test archive.
type file struct {
	name  string
	data  string
	store bool
}

// peStub is enough of a PE for content detection.
func peStub() string {
	b := make([]byte, 0x80)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x40)
	copy(b[0x40:], "PE\x00\x00")
	return string(b) + "TRIAGE-REGRESSION"
}

// makeZip builds a zip with the standard library writer.
func makeZip(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		fh := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		if f.store || strings.HasSuffix(f.name, "/") {
			fh.Method = zip.Store
		}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawZipMember is one member written with CreateRaw.
type rawZipMember struct {
	fh   zip.FileHeader
	body []byte
}

func makeRawZip(t testing.TB, members ...rawZipMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range members {
		w, err := zw.CreateRaw(&members[i].fh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(members[i].body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func deflate(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// makeAESZip builds a WinZip AES archive: an encryptor written from the
// specification, to round-trip the decryptor.
func makeAESZip(t testing.TB, password string, strength byte, version uint16, files ...file) []byte {
	t.Helper()
	info := aesInfo{version: version, strength: strength}
	kl := info.keyLen()
	var members []rawZipMember
	for i, f := range files {
		method := uint16(zip.Deflate)
		body := deflate(t, []byte(f.data))
		if f.store {
			method, body = zip.Store, []byte(f.data)
		}
		salt := sha256.Sum256([]byte{byte(i), strength})
		dk, err := pbkdf2.Key(sha1.New, password, salt[:kl/2], aesIterations, 2*kl+2)
		if err != nil {
			t.Fatal(err)
		}
		block, err := aes.NewCipher(dk[:kl])
		if err != nil {
			t.Fatal(err)
		}
		ct := append([]byte(nil), body...)
		newAESCTR(block, nil).xor(ct)
		h := hmac.New(sha1.New, dk[kl:2*kl])
		h.Write(ct)
		var data []byte
		data = append(data, salt[:kl/2]...)
		data = append(data, dk[2*kl:]...)
		data = append(data, ct...)
		data = append(data, h.Sum(nil)[:aesMACLen]...)
		extra := []byte{0x01, 0x99, 7, 0, byte(version), 0, 'A', 'E', strength, byte(method), byte(method >> 8)}
		crc := crc32.ChecksumIEEE([]byte(f.data))
		if version == 2 {
			crc = 0
		}
		members = append(members, rawZipMember{
			fh: zip.FileHeader{
				Name: f.name, Method: methodAES, Flags: flagEncrypted, CRC32: crc, Extra: extra,
				CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(f.data)),
			},
			body: data,
		})
	}
	return makeRawZip(t, members...)
}

// zeroBomb returns a raw deflate stream that inflates to n zero bytes,
// written directly with fixed Huffman codes (one literal, then matches of
// length 258 at distance 1): about 13 bits per 258 bytes, built in
// milliseconds without compressing anything.
func zeroBomb(n int64) []byte {
	var w bitWriter
	w.bits(1, 1) // BFINAL
	w.bits(1, 2) // BTYPE = fixed Huffman
	w.code(0x30, 8)
	n--
	// Match: length code 285 (8 bits 11000101), distance code 0 (5 bits).
	for ; n >= 258; n -= 258 {
		w.code(0xc5, 8)
		w.code(0, 5)
	}
	for ; n > 0; n-- {
		w.code(0x30, 8)
	}
	w.code(0, 7) // end of block
	return w.flush()
}

type bitWriter struct {
	out []byte
	acc uint64
	n   uint
}

func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.n
	w.n += n
	for w.n >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

// code writes a Huffman code most significant bit first.
func (w *bitWriter) code(c uint64, n uint) {
	var r uint64
	for i := uint(0); i < n; i++ {
		r = r<<1 | (c>>i)&1
	}
	w.bits(r, n)
}

func (w *bitWriter) flush() []byte {
	if w.n > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc, w.n = 0, 0
	}
	return w.out
}

// run parses data with p and default limits.
func run(t testing.TB, p parsers.Parser, name, typ string, data []byte, passwords ...string) (*parsertest.Recorder, error) {
	t.Helper()
	return parsertest.Run(t, p, name, typ, data, passwords...)
}

func runLimits(t testing.TB, p parsers.Parser, name, typ string, data []byte, l parsers.Limits, passwords ...string) (*parsertest.Recorder, error) {
	t.Helper()
	return parsertest.RunLimits(t, p, name, typ, data, l, passwords...)
}

func findingOf(rec *parsertest.Recorder, code string) *parsers.Finding {
	for i := range rec.Findings {
		if rec.Findings[i].Code == code {
			return &rec.Findings[i]
		}
	}
	return nil
}

// hasDetail reports a finding with code whose detail contains s.
func hasDetail(rec *parsertest.Recorder, code, s string) bool {
	for _, f := range rec.Findings {
		if f.Code == code && strings.Contains(f.Detail, s) {
			return true
		}
	}
	return false
}

func codes(rec *parsertest.Recorder) []string {
	var out []string
	for _, f := range rec.Findings {
		out = append(out, f.Code)
	}
	return out
}

// checkListing fails t unless rec holds exactly the children (name to
// data) and the finding codes (in any order) wanted.
func checkListing(t testing.TB, rec *parsertest.Recorder, children map[string]string, wantCodes []string) {
	t.Helper()
	if diff := cmp.Diff(children, childMap(rec)); diff != "" {
		t.Errorf("children (-want +got):\n%s", diff)
	}
	got := slices.Sorted(slices.Values(codes(rec)))
	if diff := cmp.Diff(slices.Sorted(slices.Values(wantCodes)), got); diff != "" {
		t.Errorf("finding codes (-want +got):\n%s\n%v", diff, rec.Findings)
	}
}

// childMap maps child names to their data.
func childMap(rec *parsertest.Recorder) map[string]string {
	m := map[string]string{}
	for _, c := range rec.Children {
		m[c.Name] = string(c.Data)
	}
	return m
}

func childNames(rec *parsertest.Recorder) []string {
	var out []string
	for _, c := range rec.Children {
		out = append(out, c.Name)
	}
	return out
}

// corpusDir returns the shared corpus, skipping the test when absent.
func corpusDir(t testing.TB) string { return parsertest.SharedCorpus(t) }

// assertInvariants checks what every parse must satisfy.
func assertInvariants(t testing.TB, rec *parsertest.Recorder, err error, l parsers.Limits) {
	t.Helper()
	l = l.WithDefaults()
	for _, c := range rec.Children {
		if int64(len(c.Data)) > l.MaxArtifactBytes {
			t.Fatalf("child %q has %d bytes, above the artifact limit", c.Name, len(c.Data))
		}
		if c.Type != "" {
			t.Fatalf("archive member %q has a type %q", c.Name, c.Type)
		}
	}
	if len(rec.Children) > l.MaxEntries+1 {
		t.Fatalf("%d children above MaxEntries %d", len(rec.Children), l.MaxEntries)
	}
	for _, f := range rec.Findings {
		if !strings.HasPrefix(f.Code, "archive.") {
			t.Fatalf("finding code %q", f.Code)
		}
	}
	if err != nil && !errors.Is(err, parsers.ErrMalformed) && !errors.Is(err, parsers.ErrLimit) && !errors.Is(err, parsers.ErrUnsupported) {
		t.Fatalf("error %v wraps no sentinel", err)
	}
}
