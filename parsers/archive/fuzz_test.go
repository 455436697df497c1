package archive

import (
	"archive/zip"
	"bytes"
	"testing"
	"time"

	"triage/parsers"
	"triage/parsers/parsertest"
)

// fuzzLimits keep fuzzing fast: small outputs, few entries.
var fuzzLimits = parsers.Limits{MaxArtifactBytes: 1 << 20, MaxTotalBytes: 4 << 20, MaxEntries: 64}

type seedFunc func(testing.TB) [][]byte

func zipSeeds(t testing.TB) [][]byte {
	var enc bytes.Buffer
	if err := WriteEncryptedZip(&enc, "infected", []ZipFile{{Name: "a.js", Data: []byte("var a = 1;")}, {Name: "b.txt", Data: []byte("bbbb"), Descriptor: true}}); err != nil {
		t.Fatal(err)
	}
	return [][]byte{
		makeZip(t, file{name: "a.txt", data: "alpha"}, file{name: "d/", data: ""}, file{name: "b.exe", data: peStub(), store: true}),
		enc.Bytes(),
		makeAESZip(t, "infected", 3, 2, file{name: "x.vbs", data: vbsSample}),
	}
}

func gzipSeeds(t testing.TB) [][]byte {
	return [][]byte{
		makeGzip(t, "a.js", []byte("var a = 1;")),
		makeGzip(t, "", makeTar(t, file{name: "a.txt", data: "alpha"})),
		makeTar(t, file{name: "b.txt", data: "beta"}),
	}
}

func sevenZipSeeds(t testing.TB) [][]byte {
	files := []szFile{{name: "d", dir: true}, {name: "d/a.txt", data: "alpha"}, {name: "e.txt"}, {name: "b.js", data: "var b;"}}
	return [][]byte{
		make7z(t, szOpts{}, files...),
		make7z(t, szOpts{solid: true, lzma: true, encodeHeader: true}, files...),
		make7z(t, szOpts{lzma: true, password: "infected"}, files...),
	}
}

func rarSeeds(t testing.TB) [][]byte {
	files := []rarFile{{name: "d", dir: true}, {name: "d/a.txt", data: "alpha"}, {name: "b.exe", data: peStub()}}
	return [][]byte{
		makeRAR5(t, rarOpts{}, files...),
		makeRAR5(t, rarOpts{password: "infected"}, files...),
		makeRAR4(t, files...),
	}
}

func isoSeeds(t testing.TB) [][]byte {
	entries := []isoEntry{{path: "a.txt", data: "alpha"}, {path: "d/b.exe", data: peStub(), hidden: true}}
	return [][]byte{
		makeISO(t, isoOpts{joliet: true}, entries...),
		makeISO(t, isoOpts{rockRidge: true}, entries...),
	}
}

func fuzzParser(f *testing.F, p parsers.Parser, typ string, seeds ...seedFunc) {
	for _, s := range seeds {
		for _, b := range s(f) {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		rec, err := parsertest.RunLimits(t, p, "fuzz."+typ, typ, data, fuzzLimits, "infected")
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("slow: %v", d)
		}
		assertInvariants(t, rec, err, fuzzLimits)
	})
}

// FuzzParse runs every archive parser on every input.
func FuzzParse(f *testing.F) {
	for _, s := range []seedFunc{zipSeeds, gzipSeeds, sevenZipSeeds, rarSeeds} {
		for _, b := range s(f) {
			f.Add(b)
		}
	}
	all := []struct {
		p   parsers.Parser
		typ string
	}{{NewZip(), "zip"}, {NewGzip(), "gzip"}, {NewTar(), "tar"}, {NewSevenZip(), "7z"}, {NewRar(), "rar"}, {NewISO(), "iso"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, x := range all {
			rec, err := parsertest.RunLimits(t, x.p, "fuzz", x.typ, data, fuzzLimits)
			assertInvariants(t, rec, err, fuzzLimits)
		}
	})
}

// FuzzZip also checks our listing against archive/zip: every file the
// standard library reads from a well-formed archive is one of ours.
func FuzzZip(f *testing.F) {
	for _, b := range zipSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		rec, err := parsertest.RunLimits(t, NewZip(), "fuzz.zip", "zip", data, fuzzLimits, "infected")
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("slow: %v", d)
		}
		assertInvariants(t, rec, err, fuzzLimits)
		zr, zerr := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if zerr != nil || len(zr.File) > fuzzLimits.MaxEntries || findingOf(rec, CodeMalformed) != nil {
			return
		}
		ours := map[string]bool{}
		for _, c := range rec.Children {
			ours[c.Name] = true
		}
		for _, zf := range zr.File {
			if zf.FileInfo().IsDir() || isDirName(zf.Name) || zf.NonUTF8 {
				continue
			}
			if !ours[zf.Name] {
				t.Fatalf("archive/zip lists %q, we do not (ours: %v)", zf.Name, childNames(rec))
			}
		}
	})
}

func FuzzGzip(f *testing.F)     { fuzzParser(f, NewGzip(), "gzip", gzipSeeds) }
func FuzzTar(f *testing.F)      { fuzzParser(f, NewTar(), "tar", gzipSeeds) }
func FuzzSevenZip(f *testing.F) { fuzzParser(f, NewSevenZip(), "7z", sevenZipSeeds) }
func FuzzRar(f *testing.F)      { fuzzParser(f, NewRar(), "rar", rarSeeds) }
func FuzzISO(f *testing.F)      { fuzzParser(f, NewISO(), "iso", isoSeeds) }
