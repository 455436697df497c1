package ole

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"golang.org/x/text/encoding/japanese"

	"triage/parsers"
	"triage/parsers/parsertest"
	"triage/parsers/vba"
)

// --- builders for inert test documents ---

// vbaStreams returns the streams of spec placed under root.
func vbaStreams(t testing.TB, root string, spec vba.ProjectSpec) map[string][]byte {
	t.Helper()
	m, err := spec.Streams()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for k, v := range m {
		out[joinPath(root, k)] = v
	}
	return out
}

func merge(ms ...map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// wordDocument is a minimal FIB: magic, no encryption flags.
func wordDocument() []byte {
	b := make([]byte, 0x200)
	binary.LittleEndian.PutUint16(b, 0xA5EC)
	binary.LittleEndian.PutUint16(b[2:], 0x00C1)
	return b
}

// nativeStream builds an \x01Ole10Native stream (OLE 1.0 Package).
func nativeStream(label, src, tmp string, data []byte) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0) // total, fixed below
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = append(append(b, label...), 0)
	b = append(append(b, src...), 0)
	b = binary.LittleEndian.AppendUint32(b, 0x00030000)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(tmp)+1))
	b = append(append(b, tmp...), 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	binary.LittleEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// inertLNK is a shell link header only (no target): enough for content
// detection, runs nothing.
func inertLNK() []byte {
	b := make([]byte, 76)
	copy(b, []byte{0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0x00, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46})
	return b
}

func utf16Bytes(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

// formStream mimics a UserForm "o" stream: binary control records around
// a TextBox value (ANSI) and a caption (UTF-16).
func formStream(value, caption string) []byte {
	b := []byte{0x00, 0x02, 0x18, 0x00, 0x35, 0x00, 0x00, 0x80, 0x01, 0x02}
	b = append(b, value...)
	b = append(b, 0x00, 0x00, 0x03, 0x80, 0x10)
	b = append(b, utf16Bytes(caption)...)
	return append(b, 0, 0, 0xFF, 0x01)
}

// summaryInformation builds a \x05SummaryInformation stream with string
// properties in code page 932 (Shift_JIS), as a Japanese Office writes it.
func summaryInformation(props map[uint32]string) []byte {
	ids := make([]uint32, 0, len(props))
	for id := range props {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var values [][]byte
	cp := binary.LittleEndian.AppendUint32(nil, 2) // VT_I2
	cp = binary.LittleEndian.AppendUint16(cp, 932)
	cp = append(cp, 0, 0)
	values = append(values, cp)
	for _, id := range ids {
		v := binary.LittleEndian.AppendUint32(nil, 0x1E)
		sjis, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(props[id]))
		if err != nil {
			panic(err)
		}
		s := append(sjis, 0)
		v = binary.LittleEndian.AppendUint32(v, uint32(len(s)))
		v = append(v, s...)
		for len(v)%4 != 0 {
			v = append(v, 0)
		}
		values = append(values, v)
	}
	allIDs := append([]uint32{1}, ids...)
	head := 8 + 8*len(allIDs)
	var sec []byte
	off := head
	for i, id := range allIDs {
		sec = binary.LittleEndian.AppendUint32(sec, id)
		sec = binary.LittleEndian.AppendUint32(sec, uint32(off))
		off += len(values[i])
	}
	body := sec
	for _, v := range values {
		body = append(body, v...)
	}
	section := binary.LittleEndian.AppendUint32(nil, uint32(8+len(body)))
	section = binary.LittleEndian.AppendUint32(section, uint32(len(allIDs)))
	section = append(section, body...)
	var out []byte
	out = binary.LittleEndian.AppendUint16(out, 0xFFFE)
	out = binary.LittleEndian.AppendUint16(out, 0)
	out = binary.LittleEndian.AppendUint32(out, 0x00020006)
	out = append(out, make([]byte, 16)...)
	out = binary.LittleEndian.AppendUint32(out, 1)
	out = append(out, fmtidSummary[:]...)
	out = binary.LittleEndian.AppendUint32(out, 48)
	return append(out, section...)
}

func encodedCommand(cmd string) string {
	return base64.StdEncoding.EncodeToString(utf16Bytes(cmd))
}

func chrs(s string) string {
	var parts []string
	for _, c := range s {
		parts = append(parts, fmt.Sprintf("Chr(%d)", c))
	}
	return strings.Join(parts, " & ")
}

// emotetSample is the catalogue §1 regression document: Document_Open
// calls a helper that builds "powershell -enc <Write-Output
// 'TRIAGE-REGRESSION'>" from Chr() codes and only MsgBoxes it; a
// never-called sub holds the WMI moniker; ten decoys; a locked project; the
// command repeated in a UserForm TextBox; an embedded LNK package.
func emotetSample(t testing.TB) []byte {
	t.Helper()
	cmd := "powershell -enc " + encodedCommand("Write-Output 'TRIAGE-REGRESSION'")
	var decoys strings.Builder
	for i := range 10 {
		fmt.Fprintf(&decoys, "Function Kx%d(a)\nKx%d = a * %d\nEnd Function\n", i, i, i+2)
	}
	helper := "Function Helper()\n  Dim c\n  c = " + chrs("powershell -enc ") + " & \"" + encodedCommand("Write-Output 'TRIAGE-REGRESSION'") + "\"\n  MsgBox c\nEnd Function\n" +
		"Sub NeverCalled()\n  Dim w\n  w = \"winmgmts:\\\\.\\root\\cimv2:Win32_Process\"\nEnd Sub\n" + decoys.String()
	spec := vba.ProjectSpec{Locked: true, Modules: []vba.ModuleSpec{
		{Name: "ThisDocument", Kind: vba.KindDocument, Code: "Sub Document_Open()\n  Helper\nEnd Sub\n"},
		{Name: "Module1", Code: helper},
		{Name: "UserForm1", Kind: vba.KindForm, Code: "Private Sub UserForm_Initialize()\nEnd Sub\n"},
	}}
	return buildCFB(merge(
		vbaStreams(t, "Macros", spec),
		map[string][]byte{
			"WordDocument":       wordDocument(),
			"1Table":             make([]byte, 64),
			"Macros/UserForm1/f": {0x00, 0x04, 0x18, 0x00},
			"Macros/UserForm1/o": formStream(cmd, "http://127.0.0.1:9/TRIAGE-REGRESSION"),
			"\x05SummaryInformation": summaryInformation(map[uint32]string{2: "請求書", 4: "Taro Yamada",
				6: "Invoice reference 2019-12 please enable content to view TRIAGE-REGRESSION"}),
			"ObjectPool/_1573545115/\x01Ole10Native": nativeStream("請求書.pdf.lnk", `C:\Users\taro\Desktop\請求書.pdf.lnk`,
				`C:\Users\taro\AppData\Local\Temp\請求書.pdf.lnk`, inertLNK()),
			"ObjectPool/_1573545115/\x01CompObj": make([]byte, 32),
		},
	))
}

func childNamed(rec *parsertest.Recorder, name string) *parsers.Child {
	for i := range rec.Children {
		if rec.Children[i].Name == name {
			return &rec.Children[i]
		}
	}
	return nil
}

func findingsOf(rec *parsertest.Recorder, code string) []parsers.Finding {
	var out []parsers.Finding
	for _, f := range rec.Findings {
		if f.Code == code {
			out = append(out, f)
		}
	}
	return out
}

var points = map[parsers.Severity]int{parsers.Info: 0, parsers.Low: 10, parsers.Medium: 30, parsers.High: 60, parsers.Critical: 100}

func TestParser_Match(t *testing.T) {
	p := New()
	for typ, want := range map[string]bool{"ole": true, "msg": false, "ooxml": false, "vba": false} {
		if got := p.Match(&parsers.Artifact{Type: typ}, Magic); got != want {
			t.Errorf("Match(%q) = %v", typ, got)
		}
	}
	if p.Name() != "ole" {
		t.Errorf("Name = %q", p.Name())
	}
}

func TestParse_emotetSample(t *testing.T) {
	data := emotetSample(t)
	rec, err := parsertest.Run(t, New(), "請求書.doc", "ole", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	// Modules, as olevba would name them, typed for the vba parser.
	for name, kind := range map[string]string{"ThisDocument.cls": "document", "Module1.bas": "procedural", "UserForm1.frm": "form"} {
		c := childNamed(rec, name)
		if c == nil {
			t.Fatalf("no child %s; children: %v", name, childNames(rec))
		}
		if c.Type != "vba" || !c.Text || c.Meta["module_type"] != kind || c.Meta["code_page"] != 1252 ||
			c.Meta["stream"] != "Macros/VBA/"+strings.TrimSuffix(name, name[strings.LastIndexByte(name, '.'):]) {
			t.Errorf("%s: type %q text %v meta %v", name, c.Type, c.Text, c.Meta)
		}
	}
	if !strings.Contains(string(childNamed(rec, "ThisDocument.cls").Data), "Sub Document_Open()") {
		t.Error("ThisDocument source missing")
	}
	if c := childNamed(rec, "UserForm1.strings"); c == nil || c.Type != "text" ||
		!strings.Contains(string(c.Data), "powershell -enc ") || !strings.Contains(string(c.Data), "http://127.0.0.1:9/TRIAGE-REGRESSION") {
		t.Errorf("form strings child: %+v", c)
	}
	if c := childNamed(rec, "properties.txt"); c == nil || !strings.Contains(string(c.Data), "comments: Invoice reference") {
		t.Errorf("properties child: %+v", c)
	}
	lnk := childNamed(rec, "請求書.pdf.lnk")
	if lnk == nil || lnk.Type != "" || !bytes.Equal(lnk.Data, inertLNK()) ||
		lnk.Meta["source_path"] != `C:\Users\taro\Desktop\請求書.pdf.lnk` || lnk.Meta["ole10native_label"] != "請求書.pdf.lnk" {
		t.Errorf("embedded LNK child: %+v", lnk)
	}

	want := map[string]parsers.Finding{
		"ole.vba_project":     {Severity: parsers.Info},
		"ole.vba_locked":      {Severity: parsers.Low, Campaign: "emotet"},
		"ole.embedded_object": {Severity: parsers.Medium, Campaign: "lnk"},
	}
	for code, w := range want {
		fs := findingsOf(rec, code)
		if len(fs) != 1 || fs[0].Severity != w.Severity || fs[0].Campaign != w.Campaign {
			t.Errorf("%s: %+v", code, fs)
		}
	}
	for _, bad := range []string{"ole.malformed", "ole.encrypted", "ole.vba_stomping"} {
		if rec.HasFinding(bad) {
			t.Errorf("unexpected %s: %+v", bad, findingsOf(rec, bad))
		}
	}
	if rec.MetaData["has_vba"] != true || rec.MetaData["encrypted"] != false || rec.MetaData["application"] != "word" {
		t.Errorf("meta: %v", rec.MetaData)
	}
	if props, _ := rec.MetaData["properties"].(map[string]string); props["title"] != "請求書" || props["author"] != "Taro Yamada" {
		t.Errorf("properties meta: %v", rec.MetaData["properties"])
	}
	if streams, _ := rec.MetaData["streams"].([]string); !slices.Contains(streams, "Macros/VBA/dir") {
		t.Errorf("streams meta: %v", streams)
	}

	// The pipeline hands each module to the vba parser: the document as a
	// whole must reach "malicious" (score >= 70).
	score := 0
	for _, f := range rec.Findings {
		score += points[f.Severity]
	}
	var vbaCodes []string
	for _, c := range rec.Children {
		if c.Type != "vba" {
			continue
		}
		vr, err := parsertest.Run(t, vba.New(), c.Name, "vba", c.Data)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range vr.Findings {
			score += points[f.Severity]
			vbaCodes = append(vbaCodes, f.Code)
		}
	}
	for _, code := range []string{"vba.autoexec", "vba.powershell", "vba.wmi_exec", "vba.obfuscation"} {
		if !slices.Contains(vbaCodes, code) {
			t.Errorf("vba parser did not report %s (got %v)", code, vbaCodes)
		}
	}
	if score < 70 {
		t.Errorf("score %d: the sample would not be malicious", score)
	}
}

func childNames(rec *parsertest.Recorder) []string {
	var out []string
	for _, c := range rec.Children {
		out = append(out, c.Name)
	}
	return out
}

func TestParse_crossModuleMraptor(t *testing.T) {
	spec := vba.ProjectSpec{Modules: []vba.ModuleSpec{
		{Name: "ThisWorkbook", Kind: vba.KindDocument, Code: "Private Sub Workbook_Open()\n  Module1.Go\nEnd Sub\n"},
		{Name: "Module1", Code: "Sub Go()\n  CreateObject(\"WScript.Shell\").Run \"cmd /c echo TRIAGE-REGRESSION\", 0\nEnd Sub\n"},
	}}
	data := buildCFB(merge(vbaStreams(t, "_VBA_PROJECT_CUR", spec), map[string][]byte{"Workbook": make([]byte, 64)}))
	rec, err := parsertest.Run(t, New(), "book.xls", "ole", data)
	if err != nil {
		t.Fatal(err)
	}
	fs := findingsOf(rec, "ole.vba_mraptor")
	if len(fs) != 1 || fs[0].Severity != parsers.High || !strings.Contains(fs[0].Detail, "ThisWorkbook.cls") || !strings.Contains(fs[0].Detail, "Module1.bas") {
		t.Errorf("ole.vba_mraptor: %+v", fs)
	}
	// One module with both: the vba parser reports it, the ole parser not.
	spec.Modules[1].Code += "Sub Auto_Open()\nEnd Sub\n"
	data = buildCFB(vbaStreams(t, "_VBA_PROJECT_CUR", spec))
	rec, _ = parsertest.Run(t, New(), "book.xls", "ole", data)
	if rec.HasFinding("ole.vba_mraptor") {
		t.Error("cross-module finding repeated for a single-module hit")
	}
}

func TestParse_stomping(t *testing.T) {
	// p-code with a string literal the (emptied) source lacks.
	pcode := append(make([]byte, 200), []byte("\x00\x1cpowershell -nop -w hidden TRIAGE-REGRESSION\x00")...)
	tests := []struct {
		name string
		spec vba.ProjectSpec
		want bool
	}{
		{"source_wiped_pcode_kept", vba.ProjectSpec{Modules: []vba.ModuleSpec{{Name: "Module1", Code: "", PCode: pcode}}}, true},
		{"large_pcode_no_procedures", vba.ProjectSpec{Modules: []vba.ModuleSpec{{Name: "Module1", Code: "' nothing", PCode: make([]byte, 6000)}}}, true},
		{"source_matches", vba.ProjectSpec{Modules: []vba.ModuleSpec{{Name: "Module1",
			Code: "Sub A()\nMsgBox \"powershell -nop -w hidden TRIAGE-REGRESSION\"\nEnd Sub", PCode: pcode}}}, false},
		{"empty_document_module", vba.ProjectSpec{Modules: []vba.ModuleSpec{{Name: "ThisDocument", Kind: vba.KindDocument, PCode: make([]byte, 900)}}}, false},
		{"no_pcode_cache", vba.ProjectSpec{NoPCode: true, Modules: []vba.ModuleSpec{{Name: "Module1", PCode: pcode}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parsertest.Run(t, New(), "x.doc", "ole", buildCFB(vbaStreams(t, "Macros", tt.spec)))
			if err != nil {
				t.Fatal(err)
			}
			fs := findingsOf(rec, "ole.vba_stomping")
			if (len(fs) > 0) != tt.want {
				t.Fatalf("stomping findings %+v, want %v", fs, tt.want)
			}
			if tt.want && (fs[0].Severity != parsers.High || !slices.Equal(fs[0].Attack, []string{"T1564.007"})) {
				t.Errorf("finding %+v", fs[0])
			}
			if tt.name == "source_wiped_pcode_kept" {
				c := childNamed(rec, "Module1.bas.pcode.strings")
				if c == nil || !strings.Contains(string(c.Data), "powershell -nop -w hidden") {
					t.Errorf("p-code strings child: %+v", c)
				}
			}
		})
	}
}

func TestParseNative(t *testing.T) {
	good := nativeStream("a.exe", `C:\a.exe`, `C:\Temp\a.exe`, []byte("MZ TRIAGE-REGRESSION"))
	n, err := ParseNative(good)
	if err != nil || n.Label != "a.exe" || n.SourcePath != `C:\a.exe` || n.TempPath != `C:\Temp\a.exe` || string(n.Data) != "MZ TRIAGE-REGRESSION" {
		t.Fatalf("ParseNative = %+v, %v", n, err)
	}
	for _, cut := range []int{0, 3, 7, 12, len(good) - 5} {
		n, err := ParseNative(good[:cut])
		if !errors.Is(err, parsers.ErrMalformed) {
			t.Errorf("cut at %d: err = %v", cut, err)
		}
		if n == nil {
			t.Errorf("cut at %d: nil result", cut)
		}
	}
	// A huge declared size yields what is present.
	huge := append([]byte{}, good...)
	binary.LittleEndian.PutUint32(huge[len(huge)-len("MZ TRIAGE-REGRESSION")-4:], 0xFFFFFFF0)
	n, err = ParseNative(huge)
	if !errors.Is(err, parsers.ErrMalformed) || string(n.Data) != "MZ TRIAGE-REGRESSION" {
		t.Errorf("huge size: %q %v", n.Data, err)
	}
}

func TestParse_embeddedExecutable(t *testing.T) {
	data := buildCFB(map[string][]byte{
		"WordDocument": wordDocument(),
		"ObjectPool/_1/\x01Ole10Native": nativeStream("invoice.pdf", `C:\invoice.pdf`, `C:\Temp\invoice.pdf`,
			append([]byte("MZ"), make([]byte, 100)...)),
		"ObjectPool/_2/\x01Ole10Native": nativeStream("notes.txt", `C:\notes.txt`, `C:\Temp\notes.txt`, []byte("TRIAGE-REGRESSION")),
		"ObjectPool/_3/\x01Ole":         append(make([]byte, 20), utf16Bytes("http://example.invalid/x.hta\x00")...),
	})
	rec, err := parsertest.Run(t, New(), "x.doc", "ole", data)
	if err != nil {
		t.Fatal(err)
	}
	sev := map[string]parsers.Severity{}
	for _, f := range findingsOf(rec, "ole.embedded_object") {
		switch {
		case strings.Contains(f.Detail, "invoice.pdf"):
			sev["invoice.pdf"] = f.Severity
			if !strings.Contains(f.Detail, "content is pe") {
				t.Errorf("disguised PE not named: %s", f.Detail)
			}
		case strings.Contains(f.Detail, "notes.txt"):
			sev["notes.txt"] = f.Severity
		}
	}
	if sev["invoice.pdf"] != parsers.Medium || sev["notes.txt"] != parsers.Low {
		t.Errorf("severities %v", sev)
	}
	if !slices.Contains(rec.URLs, "http://example.invalid/x.hta") || !rec.HasFinding("ole.link_moniker") {
		t.Errorf("link moniker: urls %v findings %+v", rec.URLs, rec.Findings)
	}
}

func TestExtractFromCFB_vbaProjectBin(t *testing.T) {
	// A vbaProject.bin holds the project at its root.
	data := buildCFB(vbaStreams(t, "", vba.ProjectSpec{CodePage: 932, Modules: []vba.ModuleSpec{
		{Name: "ThisWorkbook", Kind: vba.KindDocument, Code: "Private Sub Workbook_Open()\nMsgBox \"請求書\"\nEnd Sub"},
	}}))
	mods, err := ExtractFromCFB(context.Background(), data, testBudget())
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) != 1 || mods[0].Filename != "ThisWorkbook.cls" || mods[0].Source() != "Private Sub Workbook_Open()\nMsgBox \"請求書\"\nEnd Sub" {
		t.Fatalf("modules %+v", mods)
	}
}
