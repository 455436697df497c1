package uue

import (
	"errors"
	"strings"
	"testing"

	"triage/parsers"
	"triage/parsers/parsertest"
)

func FuzzParse(f *testing.F) {
	data := randBytes(11, 200)
	f.Add([]byte(encode("a.exe", data, encOpts{})))
	f.Add([]byte(encode("a.bin", data, encOpts{crlf: true, trailSpace: true})))
	f.Add([]byte(encode("a.xxe", data, encOpts{xx: true})))
	f.Add([]byte(encode("a.bin", data, encOpts{spaceZero: true, noPad: true})))
	f.Add([]byte(encodeBase64("dir/b.zip", data, true)))
	f.Add([]byte("Hi\n" + encode(`C:\x\c.js`, []byte("WScript.Echo(1)"), encOpts{}) + "bye\n" + encodeBase64("d", []byte("x"), false)))
	f.Add([]byte("begin 644 bomb.bin\n_\n_\n_\n`\nend\n"))
	f.Add([]byte("begin 644 a\nM86)C\nbegin 644 b\n#86)C\n`\nMORE\n"))
	f.Add([]byte("begin-base64 644 x\nAA==AAAA\nnot base64\n"))
	f.Add([]byte("begin 644 report.txt\nand then\nend\n"))
	f.Add([]byte(strings.Repeat("begin 644 f\n#86)C\n`\nend\n", 50)))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := parsers.DefaultLimits()
		l.MaxArtifactBytes = 64 * parsers.KiB
		l.MaxTotalBytes = 256 * parsers.KiB
		l.MaxEntries = 20
		rec, err := parsertest.RunLimits(t, New(), "fuzz.uue", "text", data, l)
		for _, fd := range rec.Findings {
			if !strings.HasPrefix(fd.Code, "uue.") || fd.Severity < parsers.Info || fd.Severity > parsers.Critical {
				t.Fatalf("bad finding %+v", fd)
			}
		}
		if rec.HasFinding(CodeMalformed) != errors.Is(err, parsers.ErrMalformed) {
			t.Fatalf("malformed finding and error disagree: %v / %+v", err, rec.Findings)
		}
		if len(rec.Children) > l.MaxEntries {
			t.Fatalf("%d children past MaxEntries", len(rec.Children))
		}
		total := 0
		for _, c := range rec.Children {
			if c.Name == "" || strings.ContainsAny(c.Name, `/\`) || len(c.Name) > maxNameBytes || c.Type != "" {
				t.Fatalf("bad child name %q / type %q", c.Name, c.Type)
			}
			if len(c.Data) == 0 || len(c.Data) > int(l.MaxArtifactBytes) {
				t.Fatalf("child %q of %d bytes", c.Name, len(c.Data))
			}
			total += len(c.Data)
		}
		if total > int(l.MaxTotalBytes) {
			t.Fatalf("children hold %d bytes, past the total", total)
		}
		// A uuencode line claims at most 63 bytes, even a one-byte line;
		// base64 gives 3 bytes per 4 characters.
		if total > 63*(strings.Count(string(data), "\n")+1)+len(data) {
			t.Fatalf("children hold %d bytes from %d lines", total, strings.Count(string(data), "\n")+1)
		}
		if len(rec.Children) > 0 && !rec.HasFinding(CodeEncodedFile) {
			t.Fatal("children without an encoded_file finding")
		}
	})
}
