package ooxml

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"triage/parsers"
	"triage/parsers/parsertest"
)

// severityOf returns the highest severity recorded for code, or -1.
func severityOf(rec *parsertest.Recorder, code string) parsers.Severity {
	s := parsers.Severity(-1)
	for _, f := range rec.Findings {
		if f.Code == code && f.Severity > s {
			s = f.Severity
		}
	}
	return s
}

func detailOf(rec *parsertest.Recorder, code string) string {
	var d []string
	for _, f := range rec.Findings {
		if f.Code == code {
			d = append(d, f.Detail)
		}
	}
	return strings.Join(d, " | ")
}

func childNamed(rec *parsertest.Recorder, name string) *parsers.Child {
	for i := range rec.Children {
		if rec.Children[i].Name == name {
			return &rec.Children[i]
		}
	}
	return nil
}

func hasURL(rec *parsertest.Recorder, u string) bool {
	for _, x := range rec.URLs {
		if x == u {
			return true
		}
	}
	return false
}

func TestParser_Match(t *testing.T) {
	p := New()
	tests := []struct {
		typ  string
		head string
		want bool
	}{
		{"ooxml", "PK\x03\x04", true},
		{"zip", "PK\x03\x04", false},
		{"xml", `<?xml version="1.0"?><pkg:package xmlns:pkg="http://schemas.microsoft.com/office/2006/xmlPackage">`, true},
		{"xml", `<?xml version="1.0"?><?mso-application progid="Word.Document"?><w:wordDocument>`, true},
		{"xml", `<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">`, true},
		{"xml", `<?xml version="1.0"?><rss version="2.0">`, false},
		{"ole", "\xd0\xcf\x11\xe0", false},
	}
	for _, tt := range tests {
		if got := p.Match(&parsers.Artifact{Type: tt.typ}, []byte(tt.head)); got != tt.want {
			t.Errorf("Match(%s, %.40q) = %v, want %v", tt.typ, tt.head, got, tt.want)
		}
	}
}

func TestParse_onlineVideo(t *testing.T) {
	tests := []struct {
		name         string
		html         string
		hlink        string
		wantCritical bool
		wantReason   string
	}{
		{"youtube", `<iframe width="480" height="270" src="https://www.youtube.com/embed/dQw4w9WgXcQ?feature=oembed" frameborder="0" allowfullscreen></iframe>`,
			"https://www.youtube.com/watch?v=dQw4w9WgXcQ", false, ""},
		{"youtube_nocookie", `<iframe src="https://www.youtube-nocookie.com/embed/abc" width="480"></iframe>`,
			"https://www.youtube.com/watch?v=abc", false, ""},
		{"vimeo", `<iframe src="https://player.vimeo.com/video/1234" width="640"></iframe>`,
			"https://vimeo.com/1234", false, ""},
		{"other_host", `<iframe src="http://example.invalid/regress/video.html" width="640" height="360"></iframe>`,
			"https://www.youtube.com/watch?v=abc", true, "src host example.invalid is not a video provider"},
		{"script_after_iframe", `<iframe src="https://www.youtube.com/embed/abc"></iframe><script>/*TRIAGE-REGRESSION*/</script>`,
			"https://www.youtube.com/watch?v=abc", true, "contains <script"},
		{"data_scheme", `<iframe src="data:text/html;base64,PHNjcmlwdD4="></iframe>`, "", true, "src scheme data:"},
		{"save_blob", `<iframe src="https://www.youtube.com/embed/x"></iframe><a onclick="navigator.msSaveOrOpenBlob(b,'a.exe')">x</a>`,
			"", true, "contains mssaveoropenblob"},
		{"base64_run", `<iframe src="https://www.youtube.com/embed/x"></iframe>` + strings.Repeat("QUFB", 40), "", true, "base64 run of 160 characters"},
		{"host_mismatch", `<iframe src="https://www.youtube.com/embed/x"></iframe>`, "http://127.0.0.1:9/lure", true, "differs from link host 127.0.0.1"},
		{"oversized", `<iframe src="https://www.youtube.com/embed/x" title="` + strings.Repeat("a", 1100) + `"></iframe>`, "", true, "embedded HTML is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rels [][4]string
			if tt.hlink != "" {
				rels = append(rels, [4]string{"rId9", "hyperlink", tt.hlink, "External"})
			}
			data := docx(t, wordMainCT, videoBody(tt.html), rels)
			rec, err := parsertest.Run(t, New(), "video.docx", "ooxml", data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			wantSev := parsers.Low
			if tt.wantCritical {
				wantSev = parsers.Medium
			}
			if got := severityOf(rec, "ooxml.online_video"); got != wantSev {
				t.Errorf("ooxml.online_video severity = %v, want %v", got, wantSev)
			}
			crit := severityOf(rec, "ooxml.online_video_malicious") == parsers.Critical
			if crit != tt.wantCritical {
				t.Errorf("critical = %v, want %v; findings %+v", crit, tt.wantCritical, rec.Findings)
			}
			if tt.wantReason != "" && !strings.Contains(detailOf(rec, "ooxml.online_video_malicious"), tt.wantReason) {
				t.Errorf("detail %q lacks %q", detailOf(rec, "ooxml.online_video_malicious"), tt.wantReason)
			}
			c := childNamed(rec, "online_video_1.html")
			if c == nil || c.Type != "html" || !c.Text || string(c.Data) != tt.html {
				t.Fatalf("online video child = %+v, want the unescaped HTML typed html", c)
			}
			vids, _ := rec.MetaData["online_videos"].([]map[string]any)
			if len(vids) != 1 || vids[0]["hlink"] != tt.hlink {
				t.Errorf("online_videos meta = %v", rec.MetaData["online_videos"])
			}
			for _, f := range rec.Findings {
				if strings.HasPrefix(f.Code, "ooxml.online_video") && f.Campaign != "online-video" {
					t.Errorf("%s campaign = %q", f.Code, f.Campaign)
				}
			}
		})
	}
}

func TestParse_onlineVideoHost(t *testing.T) {
	data := docx(t, wordMainCT, videoBody(`<iframe src="http://example.invalid/regress/video.html"></iframe>`), nil)
	rec, _ := parsertest.Run(t, New(), "v.docx", "ooxml", data)
	vids, _ := rec.MetaData["online_videos"].([]map[string]any)
	if len(vids) != 1 || vids[0]["host"] != "example.invalid" || vids[0]["src"] != "http://example.invalid/regress/video.html" {
		t.Fatalf("online_videos = %v", rec.MetaData["online_videos"])
	}
	if !hasURL(rec, "http://example.invalid/regress/video.html") {
		t.Errorf("iframe src not reported as URL: %v", rec.URLs)
	}
}

func TestParse_remoteTemplate(t *testing.T) {
	settingsRels := func(target string) file {
		return file{"word/_rels/settings.xml.rels", relsXML([4]string{"rId1", "attachedTemplate", target, "External"})}
	}
	settings := file{"word/settings.xml", `<w:settings xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="` + relNS + `"><w:attachedTemplate r:id="rId1"/></w:settings>`}
	tests := []struct {
		name   string
		target string
		want   parsers.Severity
	}{
		{"http", "http://127.0.0.1:9/template.dotm", parsers.Critical},
		{"https", "https://example.invalid/t.dotm", parsers.Critical},
		{"https_plain_template", "https://example.invalid/corporate.dotx", parsers.High},
		{"unc", `\\example.invalid\share\t.dotm`, parsers.Medium},
		{"file_host", `file://example.invalid/share/t.dotm`, parsers.Medium},
		{"local", `file:///C:\Users\bob\AppData\Roaming\Microsoft\Templates\Normal.dotm`, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := docx(t, wordMainCT, `<w:p/>`, [][4]string{{"rId2", "settings", "settings.xml", ""}}, settings, settingsRels(tt.target))
			rec, err := parsertest.Run(t, New(), "t.docx", "ooxml", data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := severityOf(rec, "ooxml.remote_template"); got != tt.want {
				t.Fatalf("remote_template severity = %v, want %v; findings %+v", got, tt.want, rec.Findings)
			}
			if rec.MetaData["attached_template"] != tt.target {
				t.Errorf("attached_template = %v", rec.MetaData["attached_template"])
			}
			for _, f := range rec.Findings {
				if f.Code == "ooxml.remote_template" && (len(f.Attack) == 0 || f.Attack[0] != "T1221") {
					t.Errorf("finding %+v, want T1221", f)
				}
			}
			if tt.want >= 0 && !hasURL(rec, tt.target) {
				t.Errorf("URL %q not reported: %v", tt.target, rec.URLs)
			}
			if childNamed(rec, "word/settings.xml") == nil {
				t.Error("settings.xml not handed on")
			}
		})
	}
}

func TestParse_externalRelationships(t *testing.T) {
	data := docx(t, wordMainCT, `<w:p/>`, [][4]string{
		{"rId3", "oleObject", "http://127.0.0.1:9/x.html!", "External"},
		{"rId4", "frame", "http://example.invalid/frame.html", "External"},
		{"rId5", "hyperlink", "https://example.invalid/help", "External"},
		{"rId6", "image", "media/image1.png", ""},
		{"rId7", "oleObject", `file:///C:\Data\chart.xlsx`, "External"},
	})
	rec, err := parsertest.Run(t, New(), "x.docx", "ooxml", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var high, low int
	for _, f := range rec.Findings {
		if f.Code != "ooxml.external_relationship" {
			continue
		}
		switch f.Severity {
		case parsers.High:
			high++
			if !strings.Contains(f.Detail, "x.html!") {
				t.Errorf("OLE link detail %q", f.Detail)
			}
		case parsers.Low:
			low++
			if !strings.Contains(f.Detail, "frame") || !strings.Contains(f.Detail, "chart.xlsx") || strings.Contains(f.Detail, "hyperlink") {
				t.Errorf("low detail %q", f.Detail)
			}
		}
	}
	if high != 1 || low != 1 {
		t.Errorf("external_relationship findings high=%d low=%d, want 1 and 1: %+v", high, low, rec.Findings)
	}
	ext, _ := rec.MetaData["external_relationships"].([]map[string]string)
	if len(ext) != 4 {
		t.Errorf("external_relationships = %v, want 4 entries", ext)
	}
	for _, u := range []string{"http://127.0.0.1:9/x.html!", "http://example.invalid/frame.html", "https://example.invalid/help"} {
		if !hasURL(rec, u) {
			t.Errorf("URL %q not reported", u)
		}
	}
}

func TestParse_ddeSplitAcrossRuns(t *testing.T) {
	body := `<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>` +
		`<w:r><w:instrText xml:space="preserve"> DD</w:instrText></w:r>` +
		`<w:r><w:instrText>EAUTO c:\\Windows\\System32\\cmd.exe "/k echo TRIAGE-REGRESSION"</w:instrText></w:r>` +
		`<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>DDE result text</w:t></w:r>` +
		`<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>` +
		`<w:p><w:fldSimple w:instr=" PAGE "/></w:p>` +
		`<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>HYPERLINK "https://example.invalid"</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>`
	data := docx(t, wordMainCT, body, nil)
	rec, err := parsertest.Run(t, New(), "dde.docx", "ooxml", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if severityOf(rec, "ooxml.dde") != parsers.Critical {
		t.Fatalf("no critical ooxml.dde for a DDE field starting cmd.exe: %+v", rec.Findings)
	}
	dde, _ := rec.MetaData["dde"].([]string)
	want := `field: DDEAUTO c:\\Windows\\System32\\cmd.exe "/k echo TRIAGE-REGRESSION"`
	if len(dde) != 1 || dde[0] != want {
		t.Errorf("dde = %q, want [%q]", dde, want)
	}
}

func TestParse_ddeExcel(t *testing.T) {
	wb := `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="` + relNS + `"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>`
	sheet := `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1"><f>cmd|' /c echo TRIAGE-REGRESSION'!A0</f></c><c r="B1"><f>SUM(A1:A3)</f></c></row></sheetData></worksheet>`
	data := zipOf(t,
		file{"[Content_Types].xml", contentTypesXML(map[string]string{"xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"})},
		file{"_rels/.rels", relsXML([4]string{"rId1", "officeDocument", "xl/workbook.xml", ""})},
		file{"xl/workbook.xml", wb},
		file{"xl/_rels/workbook.xml.rels", relsXML([4]string{"rId1", "worksheet", "worksheets/sheet1.xml", ""})},
		file{"xl/worksheets/sheet1.xml", sheet},
	)
	rec, err := parsertest.Run(t, New(), "dde.xlsx", "ooxml", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	dde, _ := rec.MetaData["dde"].([]string)
	if len(dde) != 1 || dde[0] != "formula: cmd|' /c echo TRIAGE-REGRESSION'!A0" {
		t.Errorf("dde = %q", dde)
	}
	if rec.MetaData["document_kind"] != "excel" {
		t.Errorf("document_kind = %v", rec.MetaData["document_kind"])
	}
}

// xlsm builds a workbook with a macro sheet in the given state and
// optional Auto_Open name.
func xlsm(t testing.TB, state string, autoOpen bool, formulas ...string) []byte {
	t.Helper()
	st := ""
	if state != "" {
		st = ` state="` + state + `"`
	}
	names := ""
	if autoOpen {
		names = `<definedNames><definedName name="_xlnm.Auto_Open" hidden="1">Macro1!$A$1</definedName></definedNames>`
	}
	wb := `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="` + relNS + `"><sheets>` +
		`<sheet name="Sheet1" sheetId="1" r:id="rId1"/><sheet name="Macro1" sheetId="2"` + st + ` r:id="rId2"/></sheets>` + names + `</workbook>`
	var cells strings.Builder
	for i, f := range formulas {
		fmt.Fprintf(&cells, `<row r="%d"><c r="A%d" t="b"><f>%s</f><v>0</v></c></row>`, i+1, i+1, f)
	}
	ms := `<xm:macrosheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><sheetData>` + cells.String() + `</sheetData></xm:macrosheet>`
	return zipOf(t,
		file{"[Content_Types].xml", contentTypesXML(map[string]string{
			"xl/workbook.xml":           xlsmMainCT,
			"xl/macrosheets/sheet1.xml": "application/vnd.ms-excel.macrosheet+xml",
		})},
		file{"_rels/.rels", relsXML([4]string{"rId1", "officeDocument", "xl/workbook.xml", ""})},
		file{"xl/workbook.xml", wb},
		file{"xl/_rels/workbook.xml.rels", relsXML(
			[4]string{"rId1", "worksheet", "worksheets/sheet1.xml", ""},
			[4]string{"rId2", "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet", "macrosheets/sheet1.xml", ""})},
		file{"xl/worksheets/sheet1.xml", `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>`},
		file{"xl/macrosheets/sheet1.xml", ms},
	)
}

func TestParse_xlmMacrosheet(t *testing.T) {
	tests := []struct {
		name      string
		state     string
		autoOpen  bool
		formulas  []string
		wantSheet parsers.Severity
		wantAuto  bool
		wantExec  bool
		wantFuncs string
	}{
		{"very_hidden_auto_open", "veryHidden", true, []string{`ALERT("TRIAGE-REGRESSION")`, `HALT()`}, parsers.High, true, false, "ALERT,HALT"},
		{"hidden_exec", "hidden", false, []string{`EXEC("cmd /c echo TRIAGE-REGRESSION")`, `HALT()`}, parsers.High, false, true, "EXEC,HALT"},
		{"visible_register", "", true, []string{`REGISTER("urlmon","URLDownloadToFileA","JJCCJJ","dl")`, `CALL("Kernel32","WinExec","JCJ","x",0)`}, parsers.Medium, true, true, "CALL,REGISTER,URLDOWNLOADTOFILEA,WINEXEC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parsertest.Run(t, New(), "a.xlsm", "ooxml", xlsm(t, tt.state, tt.autoOpen, tt.formulas...))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := severityOf(rec, "ooxml.xlm_macrosheet"); got != tt.wantSheet {
				t.Errorf("xlm_macrosheet severity = %v, want %v", got, tt.wantSheet)
			}
			if got := severityOf(rec, "ooxml.xlm_autoopen") == parsers.Critical; got != tt.wantAuto {
				t.Errorf("critical xlm_autoopen = %v, want %v", got, tt.wantAuto)
			}
			if got := severityOf(rec, "ooxml.xlm_exec") == parsers.High; got != tt.wantExec {
				t.Errorf("xlm_exec = %v, want %v", got, tt.wantExec)
			}
			funcs, _ := rec.MetaData["xlm_functions"].([]string)
			if strings.Join(funcs, ",") != tt.wantFuncs {
				t.Errorf("xlm_functions = %v, want %s", funcs, tt.wantFuncs)
			}
			sheets, _ := rec.MetaData["sheets"].([]map[string]string)
			wantState := tt.state
			if wantState == "" {
				wantState = "visible"
			}
			if len(sheets) != 2 || sheets[1]["type"] != "macrosheet" || sheets[1]["state"] != wantState {
				t.Errorf("sheets = %v", sheets)
			}
			if childNamed(rec, "xl/macrosheets/sheet1.xml") == nil {
				t.Error("macro sheet not handed on")
			}
		})
	}
}

func TestParse_vbaProject(t *testing.T) {
	vba := "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 fake compound file"
	tests := []struct {
		name      string
		mainCT    string
		wantNote  bool
		partName  string
		relTarget string
	}{
		{"docm", docmMainCT, false, "word/vbaProject.bin", "vbaProject.bin"},
		{"docx_with_vba", wordMainCT, true, "word/vbaProject.bin", "vbaProject.bin"},
		{"renamed", docmMainCT, false, "word/innocent.dat", "innocent.dat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := docx(t, tt.mainCT, `<w:p/>`,
				[][4]string{{"rId7", "http://schemas.microsoft.com/office/2006/relationships/vbaProject", tt.relTarget, ""}},
				file{tt.partName, vba})
			rec, err := parsertest.Run(t, New(), "m.docx", "ooxml", data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if severityOf(rec, "ooxml.macro") != parsers.Medium {
				t.Fatalf("no medium ooxml.macro: %+v", rec.Findings)
			}
			if got := strings.Contains(detailOf(rec, "ooxml.macro"), "macro-free"); got != tt.wantNote {
				t.Errorf("macro-free note = %v, want %v (%s)", got, tt.wantNote, detailOf(rec, "ooxml.macro"))
			}
			if rec.MetaData["has_vba"] != true {
				t.Error("has_vba not true")
			}
			c := childNamed(rec, tt.partName)
			if c == nil || string(c.Data) != vba || c.Type != "" {
				t.Fatalf("vba child = %+v", c)
			}
			if rec.Children[0].Name != tt.partName {
				t.Errorf("first child = %s, want the VBA project first", rec.Children[0].Name)
			}
		})
	}
}

func TestParse_flatOPC(t *testing.T) {
	vba := []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 flat vba")
	b64 := base64.StdEncoding.EncodeToString(vba)
	doc := `<?xml version="1.0" standalone="yes"?><?mso-application progid="Word.Document"?>
<pkg:package xmlns:pkg="http://schemas.microsoft.com/office/2006/xmlPackage">
<pkg:part pkg:name="/_rels/.rels" pkg:contentType="application/vnd.openxmlformats-package.relationships+xml"><pkg:xmlData>` +
		relsXML([4]string{"rId1", "officeDocument", "word/document.xml", ""})[len(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`):] + `</pkg:xmlData></pkg:part>
<pkg:part pkg:name="/word/document.xml" pkg:contentType="` + docmMainCT + `"><pkg:xmlData>` +
		documentXML(`<w:p><w:fldSimple w:instr=" DDEAUTO cmd &quot;/c echo TRIAGE-REGRESSION&quot; "/></w:p>`)[len(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`)+1:] + `</pkg:xmlData></pkg:part>
<pkg:part pkg:name="/word/vbaProject.bin" pkg:contentType="application/vnd.ms-office.vbaProject"><pkg:binaryData>` + b64[:8] + "\n" + b64[8:] + `</pkg:binaryData></pkg:part>
</pkg:package>`
	rec, err := parsertest.Run(t, New(), "flat.xml", "xml", []byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if rec.MetaData["format"] != "flat_opc" || rec.MetaData["document_kind"] != "word" {
		t.Errorf("format %v kind %v", rec.MetaData["format"], rec.MetaData["document_kind"])
	}
	c := childNamed(rec, "word/vbaProject.bin")
	if c == nil || !bytes.Equal(c.Data, vba) {
		t.Fatalf("vba child = %+v", c)
	}
	if !rec.HasFinding("ooxml.macro") || !rec.HasFinding("ooxml.dde") {
		t.Errorf("findings %+v, want ooxml.macro and ooxml.dde", rec.Findings)
	}
	if d := childNamed(rec, "word/document.xml"); d == nil || !bytes.HasPrefix(d.Data, []byte("<w:document")) {
		t.Errorf("document child = %+v", d)
	}
}

func TestParse_word2003ActiveMime(t *testing.T) {
	cfb := []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 project")
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(cfb)
	zw.Close()
	mso := append([]byte("ActiveMime\x00\x00"), make([]byte, 0x32-12)...)
	mso = append(mso, z.Bytes()...)
	doc := `<?xml version="1.0"?><?mso-application progid="Word.Document"?>
<w:wordDocument xmlns:w="http://schemas.microsoft.com/office/word/2003/wordml"><w:docSuppData><w:binData w:name="editdata.mso">` +
		base64.StdEncoding.EncodeToString(mso) + `</w:binData></w:docSuppData><w:body><w:p/></w:body></w:wordDocument>`
	rec, err := parsertest.Run(t, New(), "w.xml", "xml", []byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	c := childNamed(rec, "editdata.mso.ole")
	if c == nil || !bytes.Equal(c.Data, cfb) {
		t.Fatalf("ActiveMime child = %+v", c)
	}
	if severityOf(rec, "ooxml.macro") != parsers.Medium {
		t.Errorf("findings %+v, want ooxml.macro", rec.Findings)
	}
}

func TestParse_manyEntries(t *testing.T) {
	files := make([]file, 0, 100000)
	files = append(files, file{"[Content_Types].xml", contentTypesXML(nil)})
	for i := 0; len(files) < 100000; i++ {
		files = append(files, file{fmt.Sprintf("word/x%d.xml", i), ""})
	}
	data := zipOf(t, files...)
	start := time.Now()
	rec, err := parsertest.Run(t, New(), "big.docx", "ooxml", data)
	t.Logf("parsed %d bytes in %v", len(data), time.Since(start))
	if !errors.Is(err, parsers.ErrTooMany) {
		t.Errorf("err = %v, want ErrTooMany", err)
	}
	if severityOf(rec, "ooxml.limit") != parsers.Low {
		t.Errorf("no low ooxml.limit: %+v", rec.Findings)
	}
	if n, _ := rec.MetaData["part_count"].(int); n != parsers.DefaultLimits().MaxEntries {
		t.Errorf("part_count = %v, want %d", rec.MetaData["part_count"], parsers.DefaultLimits().MaxEntries)
	}
	if parts, _ := rec.MetaData["parts"].([]string); len(parts) != maxPartsMeta {
		t.Errorf("parts meta has %d names, want %d", len(parts), maxPartsMeta)
	}
}

func TestParse_childCap(t *testing.T) {
	var extra []file
	for i := 0; i < 70; i++ {
		extra = append(extra, file{fmt.Sprintf("word/embeddings/oleObject%d.bin", i), "x"})
	}
	rec, err := parsertest.Run(t, New(), "many.docx", "ooxml", docx(t, wordMainCT, `<w:p/>`, nil, extra...))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(rec.Children) != maxChildren {
		t.Errorf("%d children, want %d", len(rec.Children), maxChildren)
	}
	if !rec.HasFinding("ooxml.limit") {
		t.Error("no ooxml.limit finding for the child cap")
	}
}

func TestParse_malformed(t *testing.T) {
	good := docx(t, wordMainCT, `<w:p/>`, nil)
	tests := []struct {
		name string
		typ  string
		data []byte
	}{
		{"truncated_zip", "ooxml", good[:len(good)/2]},
		{"garbage", "ooxml", []byte("PK\x03\x04 this is not a zip at all")},
		{"bad_xml", "ooxml", docx(t, wordMainCT, `<w:p><w:fldSimple w:instr="DDE x"`, nil)},
		{"no_signature", "xml", []byte("<?xml version='1.0'?><root/>")},
		{"empty_zip", "ooxml", zipOf(t)},
		{"directories_only", "ooxml", zipOf(t, file{"word/", ""}, file{"xl/", ""})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parsertest.Run(t, New(), "bad", tt.typ, tt.data)
			if !errors.Is(err, parsers.ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
			if severityOf(rec, "ooxml.malformed") != parsers.Low {
				t.Errorf("no low ooxml.malformed: %+v", rec.Findings)
			}
		})
	}
}

func TestParse_cleanDocument(t *testing.T) {
	data := docx(t, wordMainCT, `<w:p><w:r><w:t>Quarterly report</w:t></w:r></w:p>`,
		[][4]string{{"rId5", "hyperlink", "https://example.invalid/", "External"}})
	rec, err := parsertest.Run(t, New(), "clean.docx", "ooxml", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(rec.Findings) != 0 {
		t.Errorf("clean document has findings: %+v", rec.Findings)
	}
	if rec.MetaData["document_kind"] != "word" || rec.MetaData["has_vba"] != false {
		t.Errorf("meta = %v", rec.MetaData)
	}
	if childNamed(rec, "word/document.xml") == nil {
		t.Error("main document part not handed on")
	}
}
