package xlm

import (
	"bytes"
	"strings"
	"testing"

	"triage/parsers"
	"triage/parsers/parsertest"
)

func FuzzParse(f *testing.F) {
	exec := append(ptgStr("calc"), ptgFuncVar(1, 0x006E, false)...)
	f.Add(compoundFile(f, map[string][]byte{"Workbook": buildWorkbook([]xlsSheet{{name: "M", typ: 1, state: 2, formulas: [][]byte{exec}}}, [][]byte{autoOpenName(true)}, false)}))
	f.Add(buildWorkbook([]xlsSheet{{name: "M", typ: 1, formulas: [][]byte{exec, {0x19, 0x04, 0xff, 0xff}}}}, [][]byte{userName("Auto_Open")}, false))
	f.Add([]byte("ID;PWXL;N;E\nO;E\nNN;NAuto_Open;ER1C1\nC;Y1;X1;EEXEC(\"x\")\nC;Y2;X1;E=cmd|'/c x'!A0\n"))
	p := New()
	f.Fuzz(func(t *testing.T, data []byte) {
		l := parsers.DefaultLimits()
		l.MaxArtifactBytes = 256 * parsers.KiB
		l.MaxTotalBytes = parsers.MiB
		var rec *parsertest.Recorder
		if bytes.HasPrefix(data, []byte("ID;")) {
			rec, _ = parsertest.RunLimits(t, p, "fuzz.slk", "slk", data, l)
		} else if bytes.HasPrefix(data, []byte{0xd0, 0xcf, 0x11, 0xe0}) {
			rec, _ = parsertest.RunLimits(t, p, "fuzz.xls", "ole", data, l)
		} else {
			// A bare BIFF stream: exercise the record walker directly.
			r := newResult()
			rec = &parsertest.Recorder{}
			_ = r.parseBIFF(data, parsers.NewBudget(t.Context(), l), rec)
			r.report(rec, "biff")
		}
		for _, fd := range rec.Findings {
			if !strings.HasPrefix(fd.Code, "xlm.") || fd.Severity < parsers.Info || fd.Severity > parsers.Critical {
				t.Fatalf("bad finding %+v", fd)
			}
		}
		if len(rec.Children) != 0 {
			t.Fatalf("xlm emitted %d children", len(rec.Children))
		}
	})
}
