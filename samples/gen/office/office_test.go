package office

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/richardlehane/msoleps"

	"triage/samples/gen/office/cfb/cfbread"
	"triage/samples/gen/office/ole"
	"triage/samples/gen/office/ovba"
	"triage/samples/gen/office/rtfread"
)

var when = time.Date(2019, 12, 16, 9, 30, 0, 0, time.UTC)

// cfbStreams reads every stream with mscfb, keyed by "/"-joined path (a
// leading control character of a name is dropped, as mscfb does), and the
// storages' CLSIDs.
func cfbStreams(t *testing.T, data []byte) (map[string][]byte, map[string]string) {
	t.Helper()
	s, ids, err := cfbread.ReadAll(data)
	if err != nil {
		t.Fatalf("mscfb: %v", err)
	}
	return s, ids
}

func project() *ovba.Project {
	return &ovba.Project{
		CodePage: 932,
		Modules: []ovba.Module{
			{Name: "ThisDocument", Kind: ovba.Document, Base: ovba.BaseWordDocument, Code: "Private Sub Document_Open()\n    MsgBox \"x\"\nEnd Sub"},
			{Name: "Module1", Code: "' コメント\nSub A()\nEnd Sub"},
		},
	}
}

// parsePackage parses Ole10Native package data (without the size prefix):
// the ANSI fields and data, and then the Unicode names (temp path, label,
// source path) as a second Package.
func parsePackage(t *testing.T, b []byte) (ole.Package, ole.Package) {
	t.Helper()
	le := binary.LittleEndian
	if le.Uint16(b) != 2 {
		t.Fatalf("package type %d", le.Uint16(b))
	}
	p := 2
	cstr := func() string {
		i := bytes.IndexByte(b[p:], 0)
		s := string(b[p : p+i])
		p += i + 1
		return s
	}
	var pkg ole.Package
	pkg.Label = cstr()
	pkg.SourcePath = cstr()
	if le.Uint32(b[p:]) != 0x00030000 {
		t.Fatalf("embedded marker % x", b[p:p+4])
	}
	p += 4
	n := int(le.Uint32(b[p:]))
	p += 4
	pkg.TempPath = string(b[p : p+n-1])
	p += n
	n = int(le.Uint32(b[p:]))
	p += 4
	pkg.Data = b[p : p+n]
	p += n
	var uni ole.Package
	for _, f := range []*string{&uni.TempPath, &uni.Label, &uni.SourcePath} {
		n = int(le.Uint32(b[p:]))
		p += 4
		u := make([]uint16, n)
		for i := range u {
			u[i] = le.Uint16(b[p+2*i:])
		}
		*f = string(utf16.Decode(u))
		p += 2 * n
	}
	if p != len(b) {
		t.Errorf("%d trailing package bytes", len(b)-p)
	}
	return pkg, uni
}

func TestDoc(t *testing.T) {
	pkg := ole.Package{Label: "請求書.pdf.lnk", SourcePath: `C:\Users\user\Desktop\請求書.pdf.lnk`, TempPath: `C:\Users\user\AppData\Local\Temp\請求書.pdf.lnk`, Data: []byte("L\x00\x00\x00lnk-bytes")}
	opts := DocOptions{
		Paragraphs: []string{"Invoice attached.", "Enable content to view."},
		Meta:       Meta{Title: "Invoice", Author: "Taro", Comments: "hidden-string", Created: when, Saved: when},
		Packages:   []ole.Package{pkg},
	}
	doc, err := Doc(project(), opts)
	if err != nil {
		t.Fatal(err)
	}
	s, ids := cfbStreams(t, doc)
	if ids[""] != "{00020906-0000-0000-C000-000000000046}" {
		t.Errorf("root CLSID %s", ids[""])
	}
	for _, name := range []string{"WordDocument", "1Table", "CompObj", "SummaryInformation", "Macros/PROJECT", "Macros/PROJECTwm",
		"Macros/VBA/dir", "Macros/VBA/_VBA_PROJECT", "Macros/VBA/ThisDocument", "Macros/VBA/Module1"} {
		if _, ok := s[name]; !ok {
			t.Errorf("missing stream %q", name)
		}
	}
	if ids["ObjectPool/_1573829142"] != "{0003000C-0000-0000-C000-000000000046}" {
		t.Errorf("package storage CLSID %q", ids["ObjectPool/_1573829142"])
	}

	// FIB and piece table.
	wd := s["WordDocument"]
	le := binary.LittleEndian
	if le.Uint16(wd) != 0xA5EC || le.Uint16(wd[2:]) != 0x00C1 {
		t.Fatalf("FIB wIdent/nFib % x", wd[:4])
	}
	flags := le.Uint16(wd[10:])
	if flags&0x0100 != 0 || flags&0x0200 == 0 {
		t.Errorf("FIB flags %04x: want fWhichTblStm set, fEncrypted clear", flags)
	}
	if int(le.Uint32(wd[64:])) != len(wd) {
		t.Errorf("cbMac %d, stream %d", le.Uint32(wd[64:]), len(wd))
	}
	table := s["1Table"]
	fcClx, lcbClx := le.Uint32(wd[154+33*8:]), le.Uint32(wd[154+33*8+4:])
	clx := table[fcClx : fcClx+lcbClx]
	if clx[0] != 0x02 {
		t.Fatalf("Clx starts %x", clx[0])
	}
	plc := clx[5:]
	ccp := le.Uint32(wd[64+12:])
	if le.Uint32(plc[4:]) != ccp {
		t.Errorf("piece ends at %d, ccpText %d", le.Uint32(plc[4:]), ccp)
	}
	fc := le.Uint32(plc[8+2:])
	if fc&0x40000000 == 0 {
		t.Fatalf("piece not compressed: %x", fc)
	}
	off := (fc &^ 0x40000000) / 2
	if text := string(wd[off : off+ccp]); text != "Invoice attached.\rEnable content to view.\r" {
		t.Errorf("text %q", text)
	}

	// SummaryInformation through msoleps.
	props, err := msoleps.NewFrom(bytes.NewReader(s["SummaryInformation"]))
	if err != nil {
		t.Fatalf("msoleps: %v", err)
	}
	got := map[string]string{}
	for _, p := range props.Property {
		got[p.Name] = p.String()
	}
	for k, v := range map[string]string{"Title": "Invoice", "Author": "Taro", "Comments": "hidden-string", "Template": "Normal.dotm"} {
		if got[k] != v {
			t.Errorf("property %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}

	// Ole10Native.
	native := s["ObjectPool/_1573829142/Ole10Native"]
	if int(le.Uint32(native)) != len(native)-4 {
		t.Fatalf("Ole10Native size %d for %d bytes", le.Uint32(native), len(native)-4)
	}
	back, uni := parsePackage(t, native[4:])
	if back.Label != "???.pdf.lnk" || !bytes.Equal(back.Data, pkg.Data) || !strings.HasSuffix(back.TempPath, `\Temp\???.pdf.lnk`) {
		t.Errorf("package read back as %+v", back)
	}
	if uni.Label != pkg.Label || uni.SourcePath != pkg.SourcePath || uni.TempPath != pkg.TempPath {
		t.Errorf("Unicode names read back as %+v", uni)
	}

	again, err := Doc(project(), opts)
	if err != nil || !bytes.Equal(again, doc) {
		t.Error("Doc not reproducible")
	}
}

func TestDocJapaneseText(t *testing.T) {
	doc, err := Doc(nil, DocOptions{Paragraphs: []string{"請求書を添付します。"}, CodePage: 932, LID: 0x0411, Meta: Meta{Title: "請求書"}})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := cfbStreams(t, doc)
	if _, ok := s["Macros/PROJECT"]; ok {
		t.Error("macro-free document has Macros")
	}
	wd, table := s["WordDocument"], s["1Table"]
	le := binary.LittleEndian
	fc := le.Uint32(table[5+8+2:])
	if fc&0x40000000 != 0 {
		t.Fatal("Japanese text stored compressed")
	}
	ccp := le.Uint32(wd[64+12:])
	var u []uint16
	for i := uint32(0); i < ccp; i++ {
		u = append(u, le.Uint16(wd[fc+2*i:]))
	}
	if got := string(utf16.Decode(u)); got != "請求書を添付します。\r" {
		t.Errorf("text %q", got)
	}
	if !bytes.Contains(s["SummaryInformation"], []byte{0x90, 0xbf, 0x8b, 0x81, 0x8f, 0x91}) { // 請求書 in Shift_JIS
		t.Error("Shift_JIS title missing")
	}
}

type biffRec struct {
	off  int
	typ  uint16
	data []byte
}

func parseBIFF(t *testing.T, b []byte) []biffRec {
	t.Helper()
	var recs []biffRec
	for p := 0; p < len(b); {
		if p+4 > len(b) {
			t.Fatalf("truncated record at %d", p)
		}
		typ, n := binary.LittleEndian.Uint16(b[p:]), int(binary.LittleEndian.Uint16(b[p+2:]))
		if p+4+n > len(b) {
			t.Fatalf("record %04x at %d overruns", typ, p)
		}
		recs = append(recs, biffRec{p, typ, b[p+4 : p+4+n]})
		p += 4 + n
	}
	return recs
}

func xlmWorkbook(vba bool) Workbook {
	w := Workbook{
		Sheets: []Sheet{
			{Name: "Sheet1", CodeName: "Sheet1", Cells: []Cell{{Row: 0, Col: 0, Text: "Invoice"}, {Row: 1, Col: 1, Number: 42}}},
			{Name: "Macro1", Macro: true, State: VeryHidden, Cells: []Cell{
				{Row: 1, Col: 0, Formula: `HALT()`},
				{Row: 0, Col: 0, Formula: `ALERT("TRIAGE-REGRESSION")`},
			}},
		},
		AutoOpen: &CellRef{Sheet: 1, Row: 0, Col: 0},
	}
	if vba {
		w.VBA = &ovba.Project{Modules: []ovba.Module{
			{Name: "ThisWorkbook", Kind: ovba.Document, Base: ovba.BaseExcelWorkbook, Code: "Private Sub Workbook_Open()\nEnd Sub"},
			{Name: "Sheet1", Kind: ovba.Document, Base: ovba.BaseExcelSheet},
		}}
	}
	return w
}

func TestXls(t *testing.T) {
	for _, vba := range []bool{false, true} {
		xls, err := Xls(xlmWorkbook(vba))
		if err != nil {
			t.Fatal(err)
		}
		s, ids := cfbStreams(t, xls)
		if ids[""] != "{00020820-0000-0000-C000-000000000046}" {
			t.Errorf("root CLSID %s", ids[""])
		}
		if _, ok := s["_VBA_PROJECT_CUR/VBA/dir"]; ok != vba {
			t.Errorf("VBA present = %v, want %v", ok, vba)
		}
		wb := s["Workbook"]
		recs := parseBIFF(t, wb)
		if recs[0].typ != rtBOF || binary.LittleEndian.Uint16(recs[0].data[2:]) != dtGlobals {
			t.Fatalf("first record %04x", recs[0].typ)
		}
		var sheets []string
		var lbl []byte
		for _, r := range recs {
			switch r.typ {
			case rtBoundSheet:
				pos := int(binary.LittleEndian.Uint32(r.data))
				state, dt := r.data[4], r.data[5]
				name := string(r.data[8 : 8+int(r.data[6])])
				if pos+8 > len(wb) || binary.LittleEndian.Uint16(wb[pos:]) != rtBOF {
					t.Fatalf("%s: lbPlyPos %d is not a BOF", name, pos)
				}
				sub := binary.LittleEndian.Uint16(wb[pos+6:])
				sheets = append(sheets, name)
				switch name {
				case "Sheet1":
					if state != 0 || dt != 0 || sub != dtWorksheet {
						t.Errorf("Sheet1 state %d dt %d BOF %x", state, dt, sub)
					}
				case "Macro1":
					if state != 2 || dt != 1 || sub != dtMacro {
						t.Errorf("Macro1 state %d dt %d BOF %x", state, dt, sub)
					}
				}
			case rtLbl:
				lbl = r.data
			}
		}
		if strings.Join(sheets, ",") != "Sheet1,Macro1" {
			t.Errorf("sheets %v", sheets)
		}
		if lbl == nil {
			t.Fatal("no Lbl")
		}
		le := binary.LittleEndian
		if le.Uint16(lbl)&0x0020 == 0 || lbl[3] != 1 || lbl[15] != 0x01 {
			t.Errorf("Lbl is not built-in Auto_Open: % x", lbl)
		}
		cce := int(le.Uint16(lbl[4:]))
		rgce := lbl[16 : 16+cce]
		if rgce[0] != 0x3A || le.Uint16(rgce[3:]) != 0 || le.Uint16(rgce[5:]) != 0 {
			t.Errorf("Auto_Open formula % x", rgce)
		}
		var formulas []string
		for _, r := range recs {
			if r.typ != rtFormula {
				continue
			}
			rg := r.data[22:]
			if int(le.Uint16(r.data[20:])) != len(rg) {
				t.Fatalf("cce mismatch")
			}
			var parts []string
			for p := 0; p < len(rg); {
				switch rg[p] {
				case 0x17:
					n := int(rg[p+1])
					parts = append(parts, `"`+string(rg[p+3:p+3+n])+`"`)
					p += 3 + n
				case 0x42:
					parts = append(parts, "f"+strconv.Itoa(int(le.Uint16(rg[p+2:])))+"/"+strconv.Itoa(int(rg[p+1])))
					p += 4
				default:
					t.Fatalf("unexpected ptg %x", rg[p])
				}
			}
			formulas = append(formulas, strconv.Itoa(int(le.Uint16(r.data)))+":"+strings.Join(parts, " "))
		}
		if got := strings.Join(formulas, "; "); got != `0:"TRIAGE-REGRESSION" f32886/1; 1:f54/0` /* ALERT = 0x8076 (command), HALT = 54 */ {
			t.Errorf("formulas %s", got)
		}
	}
	if _, err := Xls(Workbook{Sheets: []Sheet{{Name: "M", Macro: true, Cells: []Cell{{Formula: "SUM(A1:A2)"}}}}}); err == nil {
		t.Error("unsupported formula accepted")
	}
}

// zipParts opens an OOXML zip, checks every XML part is well-formed and
// returns the parts.
func zipParts(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("zip: %v", err)
	}
	parts := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if !f.Modified.Equal(zipTime) {
			t.Errorf("%s: modified %v", f.Name, f.Modified)
		}
		parts[f.Name] = b
		if strings.HasSuffix(f.Name, ".xml") || strings.HasSuffix(f.Name, ".rels") {
			d := xml.NewDecoder(bytes.NewReader(b))
			for {
				if _, err := d.Token(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("%s: not well-formed: %v", f.Name, err)
				}
			}
		}
	}
	ct := string(parts["[Content_Types].xml"])
	for name := range parts {
		if strings.HasSuffix(name, ".rels") || name == "[Content_Types].xml" {
			continue
		}
		ext := path.Ext(name)[1:]
		if !strings.Contains(ct, `PartName="/`+name+`"`) && !strings.Contains(ct, `Extension="`+ext+`"`) {
			t.Errorf("%s has no content type", name)
		}
	}
	return parts
}

type relationship struct {
	ID         string `xml:"Id,attr"`
	Type       string `xml:"Type,attr"`
	Target     string `xml:"Target,attr"`
	TargetMode string `xml:"TargetMode,attr"`
}

func rels(t *testing.T, parts map[string][]byte, name string) []relationship {
	t.Helper()
	var r struct {
		Rels []relationship `xml:"Relationship"`
	}
	if err := xml.Unmarshal(parts[name], &r); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	dir := path.Dir(path.Dir(name))
	for _, x := range r.Rels {
		if x.TargetMode == "External" {
			continue
		}
		target := path.Join(dir, x.Target)
		if dir == "." {
			target = x.Target
		}
		if _, ok := parts[target]; !ok {
			t.Errorf("%s: %s points at missing %s", name, x.ID, target)
		}
	}
	return r.Rels
}

func TestDocxVideo(t *testing.T) {
	html := `<iframe src="http://example.invalid/regress/video.html" width="640" height="360"></iframe><script>/*TRIAGE-REGRESSION*/</script>`
	docx, err := Docx(DocxOptions{Paragraphs: []string{"Watch the product video."}, Video: &OnlineVideo{EmbeddedHTML: html, LinkURL: "http://example.invalid/regress/video.html"}})
	if err != nil {
		t.Fatal(err)
	}
	parts := zipParts(t, docx)
	rels(t, parts, "_rels/.rels")
	rs := rels(t, parts, "word/_rels/document.xml.rels")
	// Walk document.xml with a namespace-aware decoder to the webVideoPr.
	d := xml.NewDecoder(bytes.NewReader(parts["word/document.xml"]))
	var stack []string
	var gotHTML, hlink string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			stack = append(stack, e.Name.Local)
			if e.Name.Space == nsWP15 && e.Name.Local == "webVideoPr" {
				if strings.Join(stack, "/") != "document/body/p/r/drawing/inline/docPr/extLst/ext/webVideoPr" {
					t.Errorf("webVideoPr at %s", strings.Join(stack, "/"))
				}
				for _, a := range e.Attr {
					if a.Name.Local == "embeddedHtml" {
						gotHTML = a.Value
					}
				}
			}
			if e.Name.Local == "hlinkClick" && stack[len(stack)-2] == "docPr" {
				for _, a := range e.Attr {
					if a.Name.Local == "id" {
						hlink = a.Value
					}
				}
			}
			if e.Name.Local == "ext" {
				for _, a := range e.Attr {
					if a.Name.Local == "uri" && a.Value != WebVideoExtURI {
						t.Errorf("ext uri %s", a.Value)
					}
				}
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if gotHTML != html {
		t.Errorf("embeddedHtml = %q", gotHTML)
	}
	found := false
	for _, r := range rs {
		if r.ID == hlink && r.TargetMode == "External" && r.Target == "http://example.invalid/regress/video.html" && r.Type == relHyperlink {
			found = true
		}
	}
	if !found {
		t.Errorf("hlinkClick %q has no external hyperlink relationship in %+v", hlink, rs)
	}
	if !bytes.HasPrefix(parts["word/media/image1.png"], []byte("\x89PNG")) {
		t.Error("thumbnail is not a PNG")
	}
}

func TestDocxTemplateAndDDE(t *testing.T) {
	docx, err := Docx(DocxOptions{
		Paragraphs:  []string{"Please see the attached form."},
		TemplateURL: "http://example.invalid/regress/template.dotm",
		Field:       []string{" DDE", `AUTO c:\\windows\\system32\\cmd.exe `, `"/k echo TRIAGE-REGRESSION"`, " "},
		FieldResult: "Loading…",
	})
	if err != nil {
		t.Fatal(err)
	}
	parts := zipParts(t, docx)
	rs := rels(t, parts, "word/_rels/settings.xml.rels")
	if len(rs) != 1 || rs[0].Type != relTemplate || rs[0].TargetMode != "External" || rs[0].Target != "http://example.invalid/regress/template.dotm" {
		t.Errorf("settings rels %+v", rs)
	}
	if !bytes.Contains(parts["word/settings.xml"], []byte(`<w:attachedTemplate r:id="`+rs[0].ID+`"/>`)) {
		t.Error("settings.xml lacks attachedTemplate")
	}
	var doc struct {
		Paras []struct {
			Runs []struct {
				Instr   string `xml:"instrText"`
				FldChar *struct {
					Type string `xml:"fldCharType,attr"`
				} `xml:"fldChar"`
			} `xml:"r"`
		} `xml:"body>p"`
	}
	if err := xml.Unmarshal(parts["word/document.xml"], &doc); err != nil {
		t.Fatal(err)
	}
	var instr, chars string
	for _, p := range doc.Paras {
		for _, r := range p.Runs {
			instr += r.Instr
			if r.FldChar != nil {
				chars += r.FldChar.Type + ","
			}
		}
	}
	if instr != ` DDEAUTO c:\\windows\\system32\\cmd.exe "/k echo TRIAGE-REGRESSION" ` {
		t.Errorf("instruction %q", instr)
	}
	if chars != "begin,separate,end," {
		t.Errorf("field chars %q", chars)
	}
}

func TestDocm(t *testing.T) {
	bin, err := project().Bin()
	if err != nil {
		t.Fatal(err)
	}
	docm, err := Docm(bin, DocxOptions{Paragraphs: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	parts := zipParts(t, docm)
	rs := rels(t, parts, "word/_rels/document.xml.rels")
	ok := false
	for _, r := range rs {
		ok = ok || r.Type == relVBA && r.Target == "vbaProject.bin"
	}
	if !ok {
		t.Error("no vbaProject relationship")
	}
	if !strings.Contains(string(parts["[Content_Types].xml"]), ctDocm) {
		t.Error("main part is not macro-enabled")
	}
	s, _ := cfbStreams(t, parts["word/vbaProject.bin"])
	if _, ok := s["VBA/dir"]; !ok {
		t.Error("vbaProject.bin lacks VBA/dir")
	}
	if _, err := Docm(nil, DocxOptions{}); err == nil {
		t.Error("Docm without project accepted")
	}
}

func TestXlsm(t *testing.T) {
	xlsm, err := Xlsm(xlmWorkbook(true))
	if err != nil {
		t.Fatal(err)
	}
	parts := zipParts(t, xlsm)
	rs := rels(t, parts, "xl/_rels/workbook.xml.rels")
	types := map[string]string{}
	for _, r := range rs {
		types[r.Target] = r.Type
	}
	if types["macrosheets/sheet1.xml"] != relMacro || types["vbaProject.bin"] != relVBA || types["worksheets/sheet1.xml"] != relWorksheet {
		t.Errorf("workbook rels %v", types)
	}
	var wb struct {
		Sheets []struct {
			Name  string `xml:"name,attr"`
			State string `xml:"state,attr"`
		} `xml:"sheets>sheet"`
		Names []struct {
			Name   string `xml:"name,attr"`
			Hidden string `xml:"hidden,attr"`
			Ref    string `xml:",chardata"`
		} `xml:"definedNames>definedName"`
	}
	if err := xml.Unmarshal(parts["xl/workbook.xml"], &wb); err != nil {
		t.Fatal(err)
	}
	if len(wb.Sheets) != 2 || wb.Sheets[1].Name != "Macro1" || wb.Sheets[1].State != "veryHidden" || wb.Sheets[0].State != "" {
		t.Errorf("sheets %+v", wb.Sheets)
	}
	if len(wb.Names) != 1 || wb.Names[0].Name != "_xlnm.Auto_Open" || wb.Names[0].Ref != "Macro1!$A$1" {
		t.Errorf("defined names %+v", wb.Names)
	}
	ms := string(parts["xl/macrosheets/sheet1.xml"])
	re := regexp.MustCompile(`<c r="A1"><f>ALERT\(&quot;TRIAGE-REGRESSION&quot;\)</f>.*<c r="A2"><f>HALT\(\)</f>`)
	if !re.MatchString(ms) || !strings.Contains(ms, "<xm:macrosheet ") {
		t.Errorf("macrosheet %s", ms)
	}

	plain := Workbook{Sheets: []Sheet{{Name: "Report", Cells: []Cell{{Row: 0, Col: 0, Text: "Q"}, {Row: 1, Col: 0, Number: 1.5}, {Row: 2, Col: 0, Formula: "SUM(A2:A2)", Number: 1.5}}}}}
	xlsx, err := Xlsx(plain)
	if err != nil {
		t.Fatal(err)
	}
	parts = zipParts(t, xlsx)
	for name := range parts {
		if strings.Contains(name, "vbaProject") || strings.Contains(name, "macrosheet") {
			t.Errorf("xlsx has %s", name)
		}
	}
	if !strings.Contains(string(parts["[Content_Types].xml"]), ctXlsx) {
		t.Error("xlsx main content type")
	}
	if _, err := Xlsx(xlmWorkbook(false)); err == nil {
		t.Error("Xlsx accepted a macro sheet")
	}
}

// TestRTFClass embeds an object of another class (Equation Editor) and
// rejects class names that would break the RTF.
func TestRTFClass(t *testing.T) {
	rtf, err := RTF(RTFOptions{Paragraphs: []string{"x"}, Class: "Equation.3", Native: make([]byte, 28)})
	if err != nil {
		t.Fatal(err)
	}
	s := string(rtf)
	if !strings.Contains(s, `{\*\objclass Equation.3}`) || strings.Contains(s, "Package") {
		t.Errorf("object class not written: %q", s)
	}
	// "Equation.3" in hex, as the OLE1 class name of the object data.
	if !strings.Contains(strings.Join(strings.Fields(s), ""), "0b0000004571756174696f6e2e3300") {
		t.Error("OLE1 class name missing from objdata")
	}
	if strings.Count(s, "{") != strings.Count(s, "}") {
		t.Error("unbalanced RTF")
	}
	for _, bad := range []string{"Equation}", `Eq\x`, "Equation 3"} {
		if _, err := RTF(RTFOptions{Class: bad}); err == nil {
			t.Errorf("class %q accepted", bad)
		}
	}
}

func TestRTF(t *testing.T) {
	pkg := ole.Package{Label: "invoice.js", SourcePath: `C:\Users\user\Desktop\invoice.js`, TempPath: `C:\Users\user\AppData\Local\Temp\invoice.js`, Data: []byte(`WScript.Echo("TRIAGE-REGRESSION");`)}
	rtf, err := RTF(RTFOptions{Paragraphs: []string{"Please open the invoice: 請求書"}, Package: pkg, Obfuscate: true})
	if err != nil {
		t.Fatal(err)
	}
	s := string(rtf)
	if !strings.HasPrefix(s, `{\rtf1`) || strings.Count(s, "{") != strings.Count(s, "}") {
		t.Fatalf("unbalanced RTF")
	}
	if !strings.Contains(s, `\u-30005?`) {
		t.Error("non-ASCII text not escaped")
	}
	raw, err := rtfread.ObjData(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(raw, `\dxjunk `) || !strings.Contains(raw, "\t") {
		t.Error("objdata not obfuscated")
	}
	obj, err := rtfread.ReadObject(s)
	if err != nil {
		t.Fatal(err)
	}
	if obj.Class != "Package" {
		t.Errorf("class %q", obj.Class)
	}
	back, uni := parsePackage(t, obj.Native)
	if back.Label != "invoice.js" || !bytes.Equal(back.Data, pkg.Data) {
		t.Errorf("package %+v", back)
	}
	if uni.Label != pkg.Label || uni.SourcePath != pkg.SourcePath || uni.TempPath != pkg.TempPath {
		t.Errorf("Unicode names read back as %+v", uni)
	}
	if !strings.Contains(s, `{\*\objclass Package}`) || !strings.Contains(s, `\objemb`) {
		t.Error("object header missing")
	}
}
