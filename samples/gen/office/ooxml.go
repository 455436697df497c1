package office

import (
	"archive/zip"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"
	"strings"
	"time"
)

// part is one OPC part.
type part struct {
	name  string
	ctype string // content type override; empty for parts covered by a Default
	data  []byte
}

// rel is one OPC relationship.
type rel struct {
	id, typ, target string
	external        bool
}

const (
	nsRel        = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	relOfficeDoc = nsRel + "/officeDocument"
	relCore      = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
	relApp       = nsRel + "/extended-properties"
	relStyles    = nsRel + "/styles"
	relSettings  = nsRel + "/settings"
	relImage     = nsRel + "/image"
	relHyperlink = nsRel + "/hyperlink"
	relTemplate  = nsRel + "/attachedTemplate"
	relWorksheet = nsRel + "/worksheet"
	relSST       = nsRel + "/sharedStrings"
	relVBA       = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
	relMacro     = "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet"

	ctRels     = "application/vnd.openxmlformats-package.relationships+xml"
	ctCore     = "application/vnd.openxmlformats-package.core-properties+xml"
	ctApp      = "application/vnd.openxmlformats-officedocument.extended-properties+xml"
	ctDocx     = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
	ctDocm     = "application/vnd.ms-word.document.macroEnabled.main+xml"
	ctWStyles  = "application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"
	ctSettings = "application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"
	ctXlsx     = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
	ctXlsm     = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
	ctSheet    = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
	ctMacro    = "application/vnd.ms-excel.macrosheet+xml"
	ctSST      = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
	ctXStyles  = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
	ctVBA      = "application/vnd.ms-office.vbaProject"

	xmlDecl = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\r\n"
)

// zipTime is the timestamp Office gives every OOXML zip member.
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// escape escapes s for XML text and attribute values.
func escape(s string) string {
	var sb strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			sb.WriteString("&amp;")
		case '<':
			sb.WriteString("&lt;")
		case '>':
			sb.WriteString("&gt;")
		case '"':
			sb.WriteString("&quot;")
		case '\'':
			sb.WriteString("&apos;")
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

func relsXML(rels []rel) []byte {
	var sb strings.Builder
	sb.WriteString(xmlDecl)
	sb.WriteString(`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`)
	for _, r := range rels {
		sb.WriteString(`<Relationship Id="` + r.id + `" Type="` + r.typ + `" Target="` + escape(r.target) + `"`)
		if r.external {
			sb.WriteString(` TargetMode="External"`)
		}
		sb.WriteString(`/>`)
	}
	sb.WriteString(`</Relationships>`)
	return []byte(sb.String())
}

// opcZip writes [Content_Types].xml then the parts, in the given order.
func opcZip(parts []part) ([]byte, error) {
	var ct strings.Builder
	ct.WriteString(xmlDecl)
	ct.WriteString(`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">`)
	ct.WriteString(`<Default Extension="rels" ContentType="` + ctRels + `"/>`)
	ct.WriteString(`<Default Extension="xml" ContentType="application/xml"/>`)
	exts := map[string]bool{}
	for _, p := range parts {
		switch {
		case strings.HasSuffix(p.name, ".png") && !exts["png"]:
			exts["png"] = true
			ct.WriteString(`<Default Extension="png" ContentType="image/png"/>`)
		case strings.HasSuffix(p.name, ".bin") && !exts["bin"]:
			exts["bin"] = true
			ct.WriteString(`<Default Extension="bin" ContentType="` + ctVBA + `"/>`)
		}
	}
	for _, p := range parts {
		if p.ctype != "" {
			ct.WriteString(`<Override PartName="/` + p.name + `" ContentType="` + p.ctype + `"/>`)
		}
	}
	ct.WriteString(`</Types>`)

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	all := append([]part{{name: "[Content_Types].xml", data: []byte(ct.String())}}, parts...)
	for _, p := range all {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Deflate, Modified: zipTime})
		if err != nil {
			return nil, fmt.Errorf("office: zip %s: %w", p.name, err)
		}
		if _, err := w.Write(p.data); err != nil {
			return nil, fmt.Errorf("office: zip %s: %w", p.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("office: zip: %w", err)
	}
	return buf.Bytes(), nil
}

func corePart(m Meta) part {
	var sb strings.Builder
	sb.WriteString(xmlDecl)
	sb.WriteString(`<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`)
	el := func(tag, v string) {
		if v != "" {
			sb.WriteString("<" + tag + ">" + escape(v) + "</" + tag + ">")
		}
	}
	el("dc:title", m.Title)
	el("dc:subject", m.Subject)
	el("dc:creator", m.Author)
	el("cp:keywords", m.Keywords)
	el("dc:description", m.Comments)
	el("cp:lastModifiedBy", m.LastAuthor)
	sb.WriteString("<cp:revision>2</cp:revision>")
	if !m.Created.IsZero() {
		sb.WriteString(`<dcterms:created xsi:type="dcterms:W3CDTF">` + m.Created.UTC().Format(time.RFC3339) + `</dcterms:created>`)
	}
	if !m.Saved.IsZero() {
		sb.WriteString(`<dcterms:modified xsi:type="dcterms:W3CDTF">` + m.Saved.UTC().Format(time.RFC3339) + `</dcterms:modified>`)
	}
	sb.WriteString(`</cp:coreProperties>`)
	return part{name: "docProps/core.xml", ctype: ctCore, data: []byte(sb.String())}
}

func appPart(app, template string) part {
	s := xmlDecl + `<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">`
	if template != "" {
		s += `<Template>` + escape(template) + `</Template>`
	}
	s += `<Application>` + app + `</Application><DocSecurity>0</DocSecurity><AppVersion>16.0000</AppVersion></Properties>`
	return part{name: "docProps/app.xml", ctype: ctApp, data: []byte(s)}
}

// OnlineVideo is a Word 2013+ "online video": a picture whose docPr carries
// an a:hlinkClick to the video page and a wp15:webVideoPr extension with
// the player's embedded HTML.
type OnlineVideo struct {
	EmbeddedHTML string // unescaped HTML, normally an <iframe>
	LinkURL      string // the hlinkClick target (video page)
	Width        int    // webVideoPr w/h in pixels; 640x360 when zero
	Height       int
}

// DocxOptions describes a Word document body and its extras.
type DocxOptions struct {
	Paragraphs []string
	// Table, when set, adds a table (first row as header) after the paragraphs.
	Table [][]string
	// Video adds an online video after the paragraphs.
	Video *OnlineVideo
	// TemplateURL adds an external attachedTemplate relationship from
	// word/settings.xml (remote template injection).
	TemplateURL string
	// Field, when set, adds a complex field whose instruction is split over
	// one run per element (as DDE/DDEAUTO lures do), with FieldResult as
	// the displayed result.
	Field       []string
	FieldResult string
	Meta        Meta
}

const (
	nsW    = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	nsWP   = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
	nsA    = "http://schemas.openxmlformats.org/drawingml/2006/main"
	nsPic  = "http://schemas.openxmlformats.org/drawingml/2006/picture"
	nsWP15 = "http://schemas.microsoft.com/office/word/2012/wordprocessingDrawing"
	// WebVideoExtURI is the a:ext uri that holds wp15:webVideoPr.
	WebVideoExtURI = "{C809E66F-F1BF-436E-b5F7-EEA9579F0CBA}"
)

// Docx builds a .docx.
func Docx(o DocxOptions) ([]byte, error) { return wordML(o, nil) }

// Docm builds a macro-enabled .docm carrying vbaProject.bin (see
// ovba.Project.Bin).
func Docm(vbaProject []byte, o DocxOptions) ([]byte, error) {
	if len(vbaProject) == 0 {
		return nil, fmt.Errorf("office: docm needs a vbaProject.bin")
	}
	return wordML(o, vbaProject)
}

func wordML(o DocxOptions, vba []byte) ([]byte, error) {
	docRels := []rel{
		{id: "rId1", typ: relStyles, target: "styles.xml"},
		{id: "rId2", typ: relSettings, target: "settings.xml"},
	}
	var parts []part
	var body strings.Builder
	para := func(text string) {
		if text == "" {
			body.WriteString(`<w:p/>`)
			return
		}
		body.WriteString(`<w:p><w:r><w:t xml:space="preserve">` + escape(text) + `</w:t></w:r></w:p>`)
	}
	for _, p := range o.Paragraphs {
		para(p)
	}
	if len(o.Table) > 0 {
		body.WriteString(`<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="0" w:type="auto"/></w:tblPr><w:tblGrid>`)
		for range o.Table[0] {
			body.WriteString(`<w:gridCol w:w="2400"/>`)
		}
		body.WriteString(`</w:tblGrid>`)
		for i, row := range o.Table {
			body.WriteString(`<w:tr>`)
			for _, cell := range row {
				rpr := ""
				if i == 0 {
					rpr = `<w:rPr><w:b/></w:rPr>`
				}
				body.WriteString(`<w:tc><w:tcPr><w:tcW w:w="2400" w:type="dxa"/></w:tcPr><w:p><w:r>` + rpr + `<w:t>` + escape(cell) + `</w:t></w:r></w:p></w:tc>`)
			}
			body.WriteString(`</w:tr>`)
		}
		body.WriteString(`</w:tbl><w:p/>`)
	}
	if len(o.Field) > 0 {
		body.WriteString(`<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>`)
		for _, piece := range o.Field {
			body.WriteString(`<w:r><w:instrText xml:space="preserve">` + escape(piece) + `</w:instrText></w:r>`)
		}
		body.WriteString(`<w:r><w:fldChar w:fldCharType="separate"/></w:r>`)
		body.WriteString(`<w:r><w:t xml:space="preserve">` + escape(o.FieldResult) + `</w:t></w:r>`)
		body.WriteString(`<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>`)
	}
	if v := o.Video; v != nil {
		w, h := v.Width, v.Height
		if w == 0 || h == 0 {
			w, h = 640, 360
		}
		thumb, err := thumbnailPNG()
		if err != nil {
			return nil, err
		}
		parts = append(parts, part{name: "word/media/image1.png", data: thumb})
		docRels = append(docRels,
			rel{id: "rId3", typ: relImage, target: "media/image1.png"},
			rel{id: "rId4", typ: relHyperlink, target: v.LinkURL, external: true})
		cx, cy := strconv.Itoa(w*9525), strconv.Itoa(h*9525) // pixels to EMU
		body.WriteString(`<w:p><w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0">`)
		body.WriteString(`<wp:extent cx="` + cx + `" cy="` + cy + `"/><wp:effectExtent l="0" t="0" r="0" b="0"/>`)
		body.WriteString(`<wp:docPr id="1" name="Video 1" descr="Online video">`)
		body.WriteString(`<a:hlinkClick xmlns:a="` + nsA + `" r:id="rId4"/>`)
		body.WriteString(`<a:extLst xmlns:a="` + nsA + `"><a:ext uri="` + WebVideoExtURI + `">`)
		body.WriteString(`<wp15:webVideoPr xmlns:wp15="` + nsWP15 + `" embeddedHtml="` + escape(v.EmbeddedHTML) + `" h="` + strconv.Itoa(h) + `" w="` + strconv.Itoa(w) + `"/>`)
		body.WriteString(`</a:ext></a:extLst></wp:docPr>`)
		body.WriteString(`<wp:cNvGraphicFramePr><a:graphicFrameLocks xmlns:a="` + nsA + `" noChangeAspect="1"/></wp:cNvGraphicFramePr>`)
		body.WriteString(`<a:graphic xmlns:a="` + nsA + `"><a:graphicData uri="` + nsPic + `"><pic:pic xmlns:pic="` + nsPic + `">`)
		body.WriteString(`<pic:nvPicPr><pic:cNvPr id="0" name="Video 1"><a:hlinkClick r:id="rId4"/></pic:cNvPr><pic:cNvPicPr><a:picLocks noChangeAspect="1" noChangeArrowheads="1"/></pic:cNvPicPr></pic:nvPicPr>`)
		body.WriteString(`<pic:blipFill><a:blip r:embed="rId3"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>`)
		body.WriteString(`<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="` + cx + `" cy="` + cy + `"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr>`)
		body.WriteString(`</pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>`)
	}
	body.WriteString(`<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440" w:header="708" w:footer="708" w:gutter="0"/></w:sectPr>`)

	doc := xmlDecl + `<w:document xmlns:w="` + nsW + `" xmlns:r="` + nsRel + `" xmlns:wp="` + nsWP + `"><w:body>` + body.String() + `</w:body></w:document>`

	settings := xmlDecl + `<w:settings xmlns:w="` + nsW + `" xmlns:r="` + nsRel + `">`
	if o.TemplateURL != "" {
		settings += `<w:attachedTemplate r:id="rId1"/>`
		parts = append(parts, part{name: "word/_rels/settings.xml.rels", data: relsXML([]rel{
			{id: "rId1", typ: relTemplate, target: o.TemplateURL, external: true}})})
	}
	settings += `<w:defaultTabStop w:val="708"/><w:characterSpacingControl w:val="doNotCompress"/><w:compat><w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat></w:settings>`

	styles := xmlDecl + `<w:styles xmlns:w="` + nsW + `"><w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Calibri" w:hAnsi="Calibri"/><w:sz w:val="22"/></w:rPr></w:rPrDefault></w:docDefaults>` +
		`<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>` +
		`<w:style w:type="table" w:styleId="TableGrid"><w:name w:val="Table Grid"/><w:tblPr><w:tblBorders><w:top w:val="single" w:sz="4" w:space="0" w:color="auto"/><w:bottom w:val="single" w:sz="4" w:space="0" w:color="auto"/><w:insideH w:val="single" w:sz="4" w:space="0" w:color="auto"/></w:tblBorders></w:tblPr></w:style></w:styles>`

	mainCT := ctDocx
	if vba != nil {
		mainCT = ctDocm
		docRels = append(docRels, rel{id: "rId9", typ: relVBA, target: "vbaProject.bin"})
		parts = append(parts, part{name: "word/vbaProject.bin", data: vba})
	}
	template := "Normal.dotm"
	if o.Meta.Template != "" {
		template = o.Meta.Template
	}
	all := []part{
		{name: "_rels/.rels", data: relsXML([]rel{
			{id: "rId3", typ: relApp, target: "docProps/app.xml"},
			{id: "rId2", typ: relCore, target: "docProps/core.xml"},
			{id: "rId1", typ: relOfficeDoc, target: "word/document.xml"}})},
		{name: "word/document.xml", ctype: mainCT, data: []byte(doc)},
		{name: "word/_rels/document.xml.rels", data: relsXML(docRels)},
		{name: "word/styles.xml", ctype: ctWStyles, data: []byte(styles)},
		{name: "word/settings.xml", ctype: ctSettings, data: []byte(settings)},
	}
	all = append(all, parts...)
	all = append(all, corePart(o.Meta), appPart("Microsoft Office Word", template))
	return opcZip(all)
}

// thumbnailPNG renders the video poster frame: a dark 64x36 image with a
// light "play" triangle.
func thumbnailPNG() ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 36))
	for y := 0; y < 36; y++ {
		for x := 0; x < 64; x++ {
			c := color.RGBA{0x20, 0x20, 0x20, 0xFF}
			dx, dy := x-26, y-18
			if dx >= 0 && dx < 14 && 2*dy <= 14-dx && 2*dy >= dx-14 {
				c = color.RGBA{0xEE, 0xEE, 0xEE, 0xFF}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("office: thumbnail: %w", err)
	}
	return buf.Bytes(), nil
}

// Xlsx builds a .xlsx (no macros: VBA and macro sheets are refused).
func Xlsx(w Workbook) ([]byte, error) {
	if w.VBA != nil {
		return nil, fmt.Errorf("office: xlsx cannot carry VBA; use Xlsm")
	}
	for _, s := range w.Sheets {
		if s.Macro {
			return nil, fmt.Errorf("office: xlsx cannot carry macro sheet %q; use Xlsm", s.Name)
		}
	}
	return spreadsheetML(w, nil)
}

// Xlsm builds a macro-enabled .xlsm: XLM macro sheets go to
// xl/macrosheets/, Auto_Open becomes the defined name _xlnm.Auto_Open and
// w.VBA, when set, is stored as xl/vbaProject.bin.
func Xlsm(w Workbook) ([]byte, error) {
	var vba []byte
	if w.VBA != nil {
		var err error
		if vba, err = w.VBA.Bin(); err != nil {
			return nil, err
		}
	}
	return spreadsheetML(w, vba)
}

func spreadsheetML(w Workbook, vba []byte) ([]byte, error) {
	if err := w.check(); err != nil {
		return nil, err
	}
	var sst []string
	sstIndex := map[string]int{}
	var parts []part
	var wbRels []rel
	var sheetsXML strings.Builder
	nWork, nMacro := 0, 0
	for i, s := range w.Sheets {
		rid := "rId" + strconv.Itoa(i+1)
		var name, ctype, typ, root string
		if s.Macro {
			nMacro++
			name = "macrosheets/sheet" + strconv.Itoa(nMacro) + ".xml"
			ctype, typ, root = ctMacro, relMacro, "xm:macrosheet"
		} else {
			nWork++
			name = "worksheets/sheet" + strconv.Itoa(nWork) + ".xml"
			ctype, typ, root = ctSheet, relWorksheet, "worksheet"
		}
		wbRels = append(wbRels, rel{id: rid, typ: typ, target: name})
		sheetsXML.WriteString(`<sheet name="` + escape(s.Name) + `" sheetId="` + strconv.Itoa(i+1) + `"`)
		switch s.State {
		case Hidden:
			sheetsXML.WriteString(` state="hidden"`)
		case VeryHidden:
			sheetsXML.WriteString(` state="veryHidden"`)
		}
		sheetsXML.WriteString(` r:id="` + rid + `"/>`)

		var sb strings.Builder
		sb.WriteString(xmlDecl)
		sb.WriteString(`<` + root + ` xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="` + nsRel + `"`)
		if s.Macro {
			sb.WriteString(` xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"`)
		}
		sb.WriteString(`>`)
		if s.CodeName != "" && vba != nil {
			sb.WriteString(`<sheetPr codeName="` + escape(s.CodeName) + `"/>`)
		}
		sb.WriteString(`<sheetData>`)
		cells := append([]Cell(nil), s.Cells...)
		sortCells(cells)
		for j := 0; j < len(cells); {
			row := cells[j].Row
			sb.WriteString(`<row r="` + strconv.Itoa(row+1) + `">`)
			for ; j < len(cells) && cells[j].Row == row; j++ {
				c := cells[j]
				ref := colName(c.Col) + strconv.Itoa(c.Row+1)
				switch {
				case c.Formula != "":
					sb.WriteString(`<c r="` + ref + `"><f>` + escape(c.Formula) + `</f><v>` + formatNumber(c.Number) + `</v></c>`)
				case c.Text != "":
					idx, ok := sstIndex[c.Text]
					if !ok {
						idx = len(sst)
						sstIndex[c.Text] = idx
						sst = append(sst, c.Text)
					}
					sb.WriteString(`<c r="` + ref + `" t="s"><v>` + strconv.Itoa(idx) + `</v></c>`)
				default:
					sb.WriteString(`<c r="` + ref + `"><v>` + formatNumber(c.Number) + `</v></c>`)
				}
			}
			sb.WriteString(`</row>`)
		}
		sb.WriteString(`</sheetData></` + root + `>`)
		parts = append(parts, part{name: "xl/" + name, ctype: ctype, data: []byte(sb.String())})
	}
	n := len(w.Sheets)
	wbRels = append(wbRels, rel{id: "rId" + strconv.Itoa(n+1), typ: relStyles, target: "styles.xml"})
	if len(sst) > 0 {
		var sb strings.Builder
		sb.WriteString(xmlDecl + `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="` + strconv.Itoa(len(sst)) + `" uniqueCount="` + strconv.Itoa(len(sst)) + `">`)
		for _, s := range sst {
			sb.WriteString(`<si><t xml:space="preserve">` + escape(s) + `</t></si>`)
		}
		sb.WriteString(`</sst>`)
		parts = append(parts, part{name: "xl/sharedStrings.xml", ctype: ctSST, data: []byte(sb.String())})
		wbRels = append(wbRels, rel{id: "rId" + strconv.Itoa(n+2), typ: relSST, target: "sharedStrings.xml"})
	}
	mainCT := ctXlsx
	if vba != nil || nMacro > 0 {
		mainCT = ctXlsm
	}
	if vba != nil {
		wbRels = append(wbRels, rel{id: "rId" + strconv.Itoa(n+3), typ: relVBA, target: "vbaProject.bin"})
		parts = append(parts, part{name: "xl/vbaProject.bin", data: vba})
	}

	var wb strings.Builder
	wb.WriteString(xmlDecl + `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="` + nsRel + `">`)
	if vba != nil {
		cn := w.CodeName
		if cn == "" {
			cn = "ThisWorkbook"
		}
		wb.WriteString(`<workbookPr codeName="` + escape(cn) + `"/>`)
	} else {
		wb.WriteString(`<workbookPr/>`)
	}
	wb.WriteString(`<bookViews><workbookView xWindow="0" yWindow="0" windowWidth="28800" windowHeight="12300"/></bookViews>`)
	wb.WriteString(`<sheets>` + sheetsXML.String() + `</sheets>`)
	if a := w.AutoOpen; a != nil {
		wb.WriteString(`<definedNames><definedName name="_xlnm.Auto_Open" hidden="1">` +
			escape(quoteSheet(w.Sheets[a.Sheet].Name)) + "!" + A1(a.Row, a.Col) + `</definedName></definedNames>`)
	}
	wb.WriteString(`<calcPr calcId="191029"/></workbook>`)

	styles := xmlDecl + `<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>`

	all := []part{
		{name: "_rels/.rels", data: relsXML([]rel{
			{id: "rId3", typ: relApp, target: "docProps/app.xml"},
			{id: "rId2", typ: relCore, target: "docProps/core.xml"},
			{id: "rId1", typ: relOfficeDoc, target: "xl/workbook.xml"}})},
		{name: "xl/workbook.xml", ctype: mainCT, data: []byte(wb.String())},
		{name: "xl/_rels/workbook.xml.rels", data: relsXML(wbRels)},
		{name: "xl/styles.xml", ctype: ctXStyles, data: []byte(styles)},
	}
	all = append(all, parts...)
	all = append(all, corePart(w.Meta), appPart("Microsoft Excel", ""))
	return opcZip(all)
}

func quoteSheet(name string) string {
	for _, r := range name {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return "'" + strings.ReplaceAll(name, "'", "''") + "'"
		}
	}
	return name
}

func sortCells(cs []Cell) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && (cs[j-1].Row > cs[j].Row || cs[j-1].Row == cs[j].Row && cs[j-1].Col > cs[j].Col); j-- {
			cs[j-1], cs[j] = cs[j], cs[j-1]
		}
	}
}

func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
