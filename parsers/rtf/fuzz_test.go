package rtf

import (
	"strings"
	"testing"

	"triage/parsers"
	"triage/parsers/parsertest"
)

func FuzzParse(f *testing.F) {
	f.Add(rtfObject("Package", ole1Embedded("Package", packageNative("a.js", `C:\a.js`, `C:\t\a.js`, []byte("x")))))
	f.Add(rtfObject("Equation.3", ole1Embedded("Equation.3", []byte{1, 2, 3})))
	f.Add([]byte(`{\rtf1{\object{\*\objclass \'77}{\*\objdata 32\bin6 FF}}}`))
	f.Add([]byte(`{\rtf1{\*\objdata 01{\*\x 02}0\'4103{\pict 04}\bin2 ` + "\x05\x06" + `}`))
	f.Add([]byte(`{\rt{{{{{\objdata 0105000002000000}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := parsers.DefaultLimits()
		l.MaxArtifactBytes = 256 * parsers.KiB
		l.MaxTotalBytes = parsers.MiB
		rec, _ := parsertest.RunLimits(t, New(), "fuzz.rtf", "rtf", data, l)
		for _, fd := range rec.Findings {
			if !strings.HasPrefix(fd.Code, "rtf.") || fd.Severity < parsers.Info || fd.Severity > parsers.Critical {
				t.Fatalf("bad finding %+v", fd)
			}
		}
		if len(rec.Children) > maxChildren {
			t.Fatalf("%d children", len(rec.Children))
		}
		total := 0
		for _, c := range rec.Children {
			if c.Name == "" {
				t.Fatal("child without a name")
			}
			total += len(c.Data)
		}
		if total > len(data) {
			t.Fatalf("children hold %d bytes from %d input bytes", total, len(data))
		}
	})
}
