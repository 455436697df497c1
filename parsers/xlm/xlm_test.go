package xlm

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/parsertest"
	"triage/samples/gen/office/cfb"
)

// biff builds BIFF8 records.
type biff struct{ bytes.Buffer }

func (w *biff) rec(typ uint16, data []byte) {
	binary.Write(w, binary.LittleEndian, typ)
	binary.Write(w, binary.LittleEndian, uint16(len(data)))
	w.Write(data)
}

func u16(v int) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(v)) }
func u32(v int) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(v)) }

func bofRec(dt int) []byte {
	return bytes.Join([][]byte{u16(0x0600), u16(dt), u16(0x0DBB), u16(0x07CC), u32(0), u32(6)}, nil)
}

// xlsSheet is one sheet of a generated workbook.
type xlsSheet struct {
	name     string
	typ      byte // 0 worksheet, 1 macro sheet
	state    byte // 0 visible, 1 hidden, 2 very hidden
	formulas [][]byte
}

// ptg helpers.
func ptgStr(s string) []byte { return append([]byte{0x17, byte(len(s)), 0}, s...) }
func ptgFuncVar(args int, id int, cmd bool) []byte {
	if cmd {
		id |= 0x8000
	}
	return append([]byte{0x42, byte(args)}, u16(id)...)
}

// buildWorkbook builds a BIFF8 Workbook stream.
func buildWorkbook(sheets []xlsSheet, names [][]byte, filepass bool) []byte {
	var subs [][]byte
	for _, sh := range sheets {
		var s biff
		dt := 0x0010
		if sh.typ == 1 {
			dt = 0x0040
		}
		s.rec(recBOF, bofRec(dt))
		for i, f := range sh.formulas {
			d := bytes.Join([][]byte{u16(i), u16(0), u16(15), make([]byte, 8), u16(0), u32(0), u16(len(f)), f}, nil)
			s.rec(recFormula, d)
		}
		s.rec(recEOF, nil)
		subs = append(subs, s.Bytes())
	}
	build := func(pos []int) []byte {
		var g biff
		g.rec(recBOF, bofRec(dtGlobals))
		if filepass {
			g.rec(recFilePass, []byte{1, 0, 1, 0, 2, 0})
		}
		for i, sh := range sheets {
			d := append(u32(pos[i]), sh.state, sh.typ, byte(len(sh.name)), 0)
			g.rec(recBoundSheet, append(d, sh.name...))
		}
		for _, n := range names {
			g.rec(recName, n)
		}
		g.rec(recEOF, nil)
		return g.Bytes()
	}
	pos := make([]int, len(sheets))
	glob := build(pos)
	off := len(glob)
	for i, s := range subs {
		pos[i] = off
		off += len(s)
	}
	glob = build(pos)
	return append(glob, bytes.Join(subs, nil)...)
}

// autoOpenName is a built-in Auto_Open NAME record pointing at a cell.
func autoOpenName(hidden bool) []byte {
	flags := 0x0020
	if hidden {
		flags |= 0x0001
	}
	rgce := []byte{0x3A, 0, 0, 0, 0, 0, 0} // PtgRef3d
	return bytes.Join([][]byte{u16(flags), {0, 1}, u16(len(rgce)), u16(0), u16(0), {0, 0, 0, 0}, {0, 0x01}, rgce}, nil)
}

// userName is a user-defined NAME record.
func userName(name string) []byte {
	return bytes.Join([][]byte{u16(0), {0, byte(len(name))}, u16(0), u16(0), u16(0), {0, 0, 0, 0}, {0}, []byte(name)}, nil)
}

func compoundFile(t testing.TB, streams map[string][]byte) []byte {
	t.Helper()
	root := cfb.NewRoot(cfb.CLSID{})
	for name, data := range streams {
		root.Put(name, data)
	}
	b, err := cfb.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func severityOf(rec *parsertest.Recorder, code string) parsers.Severity {
	s := parsers.Severity(-1)
	for _, f := range rec.Findings {
		if f.Code == code && f.Severity > s {
			s = f.Severity
		}
	}
	return s
}

func TestParse_biff(t *testing.T) {
	exec := append(ptgStr("cmd /c echo TRIAGE-REGRESSION"), ptgFuncVar(1, 0x006E, false)...)
	alert := append(ptgStr("TRIAGE-REGRESSION"), ptgFuncVar(1, 0x0076, true)...)
	halt := ptgFuncVar(0, 0x0036, false)
	register := bytes.Join([][]byte{ptgStr("urlmon"), ptgStr("URLDownloadToFileA"), ptgStr("JJCCJJ"), ptgFuncVar(3, 0x0095, false)}, nil)
	tests := []struct {
		name      string
		sheets    []xlsSheet
		names     [][]byte
		wantSheet parsers.Severity
		wantAuto  bool
		wantExec  bool
		funcs     string
		autoNames string
	}{
		{
			name:      "very_hidden_auto_open",
			sheets:    []xlsSheet{{name: "Sheet1"}, {name: "Macro1", typ: 1, state: 2, formulas: [][]byte{alert, halt}}},
			names:     [][]byte{autoOpenName(true)},
			wantSheet: parsers.High, wantAuto: true, funcs: "ALERT,HALT", autoNames: "Auto_Open (hidden)",
		},
		{
			name:      "hidden_exec_user_name",
			sheets:    []xlsSheet{{name: "Data"}, {name: "x", typ: 1, state: 1, formulas: [][]byte{exec, register, halt}}},
			names:     [][]byte{userName("auto_open7")},
			wantSheet: parsers.High, wantAuto: true, wantExec: true, funcs: "EXEC,HALT,REGISTER", autoNames: "auto_open7",
		},
		{
			name:      "visible_no_auto_open",
			sheets:    []xlsSheet{{name: "Macro1", typ: 1, formulas: [][]byte{halt}}},
			names:     [][]byte{userName("Print_Me")},
			wantSheet: parsers.Medium, funcs: "HALT",
		},
		{
			name:      "plain_workbook",
			sheets:    []xlsSheet{{name: "Sheet1"}, {name: "Sheet2"}},
			wantSheet: -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := compoundFile(t, map[string][]byte{"Workbook": buildWorkbook(tt.sheets, tt.names, false)})
			if typ := filetype.Detect(data, "x.xls"); typ != "ole" {
				t.Fatalf("generated file detected as %s", typ)
			}
			rec, err := parsertest.Run(t, New(), "x.xls", "ole", data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := severityOf(rec, "xlm.macrosheet"); got != tt.wantSheet {
				t.Errorf("xlm.macrosheet = %v, want %v; %+v", got, tt.wantSheet, rec.Findings)
			}
			if got := rec.HasFinding("xlm.autoopen"); got != tt.wantAuto {
				t.Errorf("xlm.autoopen = %v, want %v", got, tt.wantAuto)
			}
			if got := severityOf(rec, "xlm.exec") == parsers.High; got != tt.wantExec {
				t.Errorf("xlm.exec = %v, want %v", got, tt.wantExec)
			}
			funcs, _ := rec.MetaData["xlm_functions"].([]string)
			if strings.Join(funcs, ",") != tt.funcs {
				t.Errorf("xlm_functions = %v, want %s", funcs, tt.funcs)
			}
			names, _ := rec.MetaData["auto_open_names"].([]string)
			if strings.Join(names, ",") != tt.autoNames {
				t.Errorf("auto_open_names = %v, want %s", names, tt.autoNames)
			}
			sheets, _ := rec.MetaData["sheets"].([]map[string]string)
			if len(sheets) != len(tt.sheets) {
				t.Fatalf("sheets = %v", sheets)
			}
			for i, sh := range tt.sheets {
				if sheets[i]["name"] != sh.name || sheets[i]["type"] != sheetTypes[sh.typ] || sheets[i]["state"] != sheetStates[sh.state] {
					t.Errorf("sheet %d = %v, want %s/%s/%s", i, sheets[i], sh.name, sheetTypes[sh.typ], sheetStates[sh.state])
				}
			}
			for _, f := range rec.Findings {
				if f.Code == "xlm.autoopen" && (f.Campaign != "avaddon" || f.Severity != parsers.High) {
					t.Errorf("autoopen finding %+v", f)
				}
			}
		})
	}
}

func TestParse_biffStrings(t *testing.T) {
	f := bytes.Join([][]byte{ptgStr("http://127.0.0.1:9/p.exe"), ptgStr("C:\\x.exe"), ptgStr("urlmon"), ptgFuncVar(3, 0x0096, false)}, nil)
	data := compoundFile(t, map[string][]byte{"Workbook": buildWorkbook([]xlsSheet{{name: "M", typ: 1, state: 2, formulas: [][]byte{f}}}, nil, false)})
	rec, err := parsertest.Run(t, New(), "x.xls", "ole", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(rec.URLs) != 1 || rec.URLs[0] != "http://127.0.0.1:9/p.exe" {
		t.Errorf("URLs = %v", rec.URLs)
	}
	if s, _ := rec.MetaData["xlm_strings"].([]string); len(s) != 3 {
		t.Errorf("xlm_strings = %v", s)
	}
	if !rec.HasFinding("xlm.exec") {
		t.Errorf("CALL not reported: %+v", rec.Findings)
	}
}

func TestParse_encrypted(t *testing.T) {
	stream := buildWorkbook([]xlsSheet{{name: "M", typ: 1, formulas: [][]byte{ptgFuncVar(0, 0x36, false)}}}, [][]byte{autoOpenName(false)}, true)
	rec, err := parsertest.Run(t, New(), "e.xls", "ole", compoundFile(t, map[string][]byte{"Workbook": stream}))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if rec.MetaData["encrypted"] != true {
		t.Errorf("encrypted not set: %v", rec.MetaData)
	}
	if len(rec.Findings) != 0 {
		t.Errorf("findings on an encrypted workbook: %+v", rec.Findings)
	}
}

func TestParse_notWorkbook(t *testing.T) {
	rec, err := parsertest.Run(t, New(), "d.doc", "ole", compoundFile(t, map[string][]byte{"WordDocument": []byte("x"), "1Table": []byte("y")}))
	if err != nil || len(rec.Findings) != 0 || len(rec.MetaData) != 0 {
		t.Errorf("Word file: err %v findings %+v meta %v", err, rec.Findings, rec.MetaData)
	}
}

func TestParse_hostile(t *testing.T) {
	good := buildWorkbook([]xlsSheet{{name: "M", typ: 1, state: 1, formulas: [][]byte{ptgFuncVar(0, 0x36, false)}}}, [][]byte{autoOpenName(false)}, false)
	manyRecords := append([]byte(nil), good[:len(good)-4]...)
	manyRecords = append(manyRecords, bytes.Repeat([]byte{0x00, 0x02, 0, 0}, maxRecords+10)...)
	tests := []struct {
		name   string
		data   []byte
		errIs  error
		finds  string
		stream bool
		// maxRecords bounds the records walked (0: no bound).
		maxRecords int
	}{
		{"truncated_record", compoundFile(t, map[string][]byte{"Workbook": append(good[:len(good)-2:len(good)-2], 0x06, 0x00, 0xff, 0x7f, 1)}), parsers.ErrMalformed, "xlm.malformed", true, 0},
		{"many_records", compoundFile(t, map[string][]byte{"Workbook": manyRecords}), parsers.ErrTooMany, "xlm.limit", true, 0},
		{"broken_cfb", append([]byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}, bytes.Repeat([]byte{0xff}, 600)...), nil, "", false, 0},
		{"bad_formula_tokens", compoundFile(t, map[string][]byte{"Workbook": buildWorkbook([]xlsSheet{{name: "M", typ: 1, formulas: [][]byte{{0x18, 0x99, 0xff}, {0x42}}}}, nil, false)}), nil, "xlm.macrosheet", true, 0},
		// The Workbook stream declares 2 GiB over a sector chain that loops:
		// it is read up to the loop (three sectors, at most 384 records),
		// not 32 MiB round and round.
		{"looping_stream", loopingWorkbook(t, good), parsers.ErrMalformed, "", true, 384},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parsertest.Run(t, New(), "h.xls", "ole", tt.data)
			if tt.errIs != nil && !errors.Is(err, tt.errIs) {
				t.Errorf("err = %v, want %v", err, tt.errIs)
			}
			if tt.finds != "" && !rec.HasFinding(tt.finds) {
				t.Errorf("no %s finding: %+v", tt.finds, rec.Findings)
			}
			if _, ok := rec.MetaData["stream"]; ok != tt.stream {
				t.Errorf("stream meta present = %v, want %v", ok, tt.stream)
			}
			if n, _ := rec.MetaData["records"].(int); tt.maxRecords > 0 && n > tt.maxRecords {
				t.Errorf("%d records walked, want at most %d", n, tt.maxRecords)
			}
		})
	}
}

// loopingWorkbook returns a compound file whose Workbook stream (good
// padded to FAT sectors) declares 2 GiB and whose third sector links back
// to the first.
func loopingWorkbook(t *testing.T, good []byte) []byte {
	d := compoundFile(t, map[string][]byte{"Workbook": append(slices.Clone(good), make([]byte, 8192)...)})
	var name []byte
	for _, c := range "Workbook" {
		name = append(name, byte(c), 0)
	}
	entry := bytes.Index(d, name)
	if entry < 0 {
		t.Fatal("Workbook entry not found")
	}
	start := binary.LittleEndian.Uint32(d[entry+116:])
	binary.LittleEndian.PutUint32(d[entry+120:], 0x7FFFFFF0)
	fat := 512 * (int(binary.LittleEndian.Uint32(d[0x4C:])) + 1)
	binary.LittleEndian.PutUint32(d[fat+4*int(start+2):], start)
	return d
}

func TestParse_slk(t *testing.T) {
	tests := []struct {
		name     string
		slk      string
		want     []string
		notWant  []string
		funcs    string
		wantDDE  string
		autoOpen string
	}{
		{
			name: "auto_open_exec",
			slk:  "ID;PWXL;N;E\r\nO;L;D;V0;K47;G100 0.001;E\r\nNN;NAuto_open;ER1C1\r\nC;Y1;X1;K0;EEXEC(\"cmd /c echo TRIAGE-REGRESSION\")\r\nC;Y2;X1;K0;EHALT()\r\nE\r\n",
			want: []string{"xlm.macrosheet", "xlm.autoopen", "xlm.exec"}, funcs: "EXEC,HALT", autoOpen: "Auto_open",
		},
		{
			name:    "dde_formula",
			slk:     "ID;PWXL;N;E\nC;Y1;X1;K0;E=cmd|' /c echo TRIAGE-REGRESSION'!A0\nE\n",
			want:    []string{"xlm.dde"},
			notWant: []string{"xlm.macrosheet"}, wantDDE: "cmd|' /c echo TRIAGE-REGRESSION'!A0",
		},
		{
			name:    "plain_data",
			slk:     "ID;PWXL;N;E\nC;Y1;X1;K\"Name\"\nC;Y1;X2;K42;ESUM(R1C1:R1C1)\nE\n",
			notWant: []string{"xlm.macrosheet", "xlm.autoopen", "xlm.exec", "xlm.dde"},
		},
		{
			name: "semicolon_escape",
			slk:  "ID;P\nO;E\nC;Y1;X1;EALERT(\"a;;b\")\n",
			want: []string{"xlm.macrosheet"}, funcs: "ALERT",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if typ := filetype.Detect([]byte(tt.slk), "x.slk"); typ != "slk" {
				t.Fatalf("detected as %s", typ)
			}
			rec, err := parsertest.Run(t, New(), "x.slk", "slk", []byte(tt.slk))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			for _, c := range tt.want {
				if !rec.HasFinding(c) {
					t.Errorf("missing %s: %+v", c, rec.Findings)
				}
			}
			for _, c := range tt.notWant {
				if rec.HasFinding(c) {
					t.Errorf("unexpected %s: %+v", c, rec.Findings)
				}
			}
			funcs, _ := rec.MetaData["xlm_functions"].([]string)
			if strings.Join(funcs, ",") != tt.funcs {
				t.Errorf("xlm_functions = %v, want %s", funcs, tt.funcs)
			}
			if tt.wantDDE != "" {
				if dde, _ := rec.MetaData["dde"].([]string); len(dde) != 1 || dde[0] != tt.wantDDE {
					t.Errorf("dde = %q", dde)
				}
			}
			if names, _ := rec.MetaData["auto_open_names"].([]string); strings.Join(names, ",") != tt.autoOpen {
				t.Errorf("auto_open_names = %v", names)
			}
		})
	}
}

// TestCorpus_excel4 checks the oletools Excel 4.0 samples: olevba's test
// asserts an XLM macro sheet and Auto_Open in each.
func TestCorpus_excel4(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "oletools", "tests", "test-data", "excel4-macros")
	for _, name := range []string{"excel4_sample_macro.xls", "excel4_sample_macro.xlt", "excel4_sample_macro_excel5_format.xls", "excel4_sample_macro.slk"} {
		t.Run(strings.ReplaceAll(name, ".", "_"), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			typ := filetype.Detect(data, name)
			if !New().Match(&parsers.Artifact{Type: typ}, data) {
				t.Fatalf("Match(%s) = false", typ)
			}
			rec, err := parsertest.Run(t, New(), name, typ, data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			for _, c := range []string{"xlm.macrosheet", "xlm.autoopen"} {
				if !rec.HasFinding(c) {
					t.Errorf("missing %s: %+v", c, rec.Findings)
				}
			}
			// olevba's code for these files contains HALT() and, except
			// for the Excel 5 file, ALERT(; we find ALERT there too.
			funcs, _ := rec.MetaData["xlm_functions"].([]string)
			if strings.Join(funcs, ",") != "ALERT,HALT" {
				t.Errorf("xlm_functions = %v, want ALERT and HALT", funcs)
			}
			if typ == "ole" {
				sheets, _ := rec.MetaData["sheets"].([]map[string]string)
				if len(sheets) != 2 || sheets[0]["name"] != "Macro1" || sheets[0]["type"] != "macrosheet" {
					t.Errorf("sheets = %v", sheets)
				}
			}
		})
	}
}

// TestCorpus_olevbaAgreement checks that a macro sheet is reported exactly
// for the compound and SYLK files in which olevba finds an XLM macro sheet.
func TestCorpus_olevbaAgreement(t *testing.T) {
	corpus := corpusDir(t)
	summary := parsertest.OlevbaSummary(t)
	agree, total := 0, 0
	for _, s := range summary {
		if s.Kind != "OLE" && s.Kind != "SLK" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(corpus, s.File))
		if err != nil {
			t.Errorf("%s: %v", s.File, err)
			continue
		}
		typ := filetype.Detect(data, s.File)
		if !New().Match(&parsers.Artifact{Type: typ}, data) {
			continue
		}
		total++
		rec, _ := parsertest.Run(t, New(), filepath.Base(s.File), typ, data)
		want, err := olevbaXLM(filepath.Join(corpus, "expected", "olevba", s.File+".json"))
		if err != nil {
			t.Errorf("%s: %v", s.File, err)
			continue
		}
		if got := rec.HasFinding("xlm.macrosheet"); got != want {
			t.Errorf("%s: xlm.macrosheet = %v, olevba XLM = %v", s.File, got, want)
			continue
		}
		agree++
	}
	if total == 0 {
		t.Fatal("no compound or SYLK files in the olevba summary")
	}
	t.Logf("macro sheet detection agrees with olevba on %d/%d compound/SYLK files", agree, total)
}

// olevbaXLM reports whether olevba's JSON for a file shows an Excel 4.0
// macro sheet. Its xlm_macro.txt pseudo-module alone does not: olevba adds
// one to every XLS with VBA.
func olevbaXLM(path string) (bool, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	var results []struct {
		Container *string `json:"container"`
		Macros    []struct {
			Code string `json:"code"`
		} `json:"macros"`
	}
	if err := json.Unmarshal(raw, &results); err != nil {
		return false, err
	}
	for _, r := range results {
		if r.Container != nil {
			continue // olevba's result for a file it decrypted
		}
		for _, m := range r.Macros {
			if strings.Contains(m.Code, "Excel 4.0 macro sheet") || strings.Contains(m.Code, "Excel 4 macros extracted") {
				return true, nil
			}
		}
	}
	return false, nil
}

// corpusDir returns the shared corpus directory or skips the test.
func corpusDir(t testing.TB) string { return parsertest.SharedCorpus(t) }

// TestParse_deepStorages checks that a compound file whose storages nest
// thousands deep (quadratic memory in mscfb) is refused before mscfb opens
// it, while a shallow one is still read.
func TestParse_deepStorages(t *testing.T) {
	wb := buildWorkbook([]xlsSheet{{name: "M", typ: 1, state: 1, formulas: [][]byte{ptgFuncVar(0, 0x36, false)}}}, [][]byte{autoOpenName(false)}, false)
	for _, tt := range []struct {
		depth   int
		wantErr error
	}{{4, nil}, {6000, parsers.ErrTooDeep}} {
		data := compoundFile(t, map[string][]byte{"Workbook": wb, strings.Repeat("a/", tt.depth) + "s": []byte("TRIAGE-REGRESSION")})
		rec, err := parsertest.Run(t, New(), "deep.xls", "ole", data)
		if !errors.Is(err, tt.wantErr) {
			t.Fatalf("depth %d: err %v, want %v", tt.depth, err, tt.wantErr)
		}
		if got := rec.HasFinding("xlm.macrosheet"); got != (tt.wantErr == nil) {
			t.Errorf("depth %d: macro sheet reported %v, findings %+v", tt.depth, got, rec.Findings)
		}
	}
}
