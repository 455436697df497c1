package ooxml

import (
	"archive/zip"
	"bytes"
	"html"
	"strings"
	"testing"

	"triage/parsers/parsertest"
)

// file is one zip member of a generated package.
type file struct{ name, body string }

// zipOf builds a zip archive with the members in order.
func zipOf(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		method := zip.Deflate
		if f.body == "" {
			method = zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const (
	relNS      = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	wordMainCT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
	docmMainCT = "application/vnd.ms-word.document.macroEnabled.main+xml"
	xlsmMainCT = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
)

func contentTypesXML(overrides map[string]string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Default Extension="bin" ContentType="application/vnd.openxmlformats-officedocument.oleObject"/>`)
	for name, ct := range overrides {
		b.WriteString(`<Override PartName="/` + name + `" ContentType="` + ct + `"/>`)
	}
	b.WriteString(`</Types>`)
	return b.String()
}

// relsXML renders relationships; each rel is {id, type short name or URI,
// target, mode}.
func relsXML(rels ...[4]string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`)
	for _, r := range rels {
		typ := r[1]
		if !strings.Contains(typ, "/") {
			typ = relNS + "/" + typ
		}
		b.WriteString(`<Relationship Id="` + r[0] + `" Type="` + typ + `" Target="` + html.EscapeString(r[2]) + `"`)
		if r[3] != "" {
			b.WriteString(` TargetMode="` + r[3] + `"`)
		}
		b.WriteString(`/>`)
	}
	b.WriteString(`</Relationships>`)
	return b.String()
}

func documentXML(body string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="` + relNS + `" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><w:body>` + body + `</w:body></w:document>`
}

// docx builds a Word package with body as document content, extra
// document relationships and extra parts.
func docx(t testing.TB, mainCT, body string, docRels [][4]string, extra ...file) []byte {
	t.Helper()
	files := []file{
		{"[Content_Types].xml", contentTypesXML(map[string]string{"word/document.xml": mainCT})},
		{"_rels/.rels", relsXML([4]string{"rId1", "officeDocument", "word/document.xml", ""})},
		{"word/document.xml", documentXML(body)},
		{"word/_rels/document.xml.rels", relsXML(docRels...)},
	}
	return zipOf(t, append(files, extra...)...)
}

// videoBody is a paragraph holding an online video whose docPr links to
// relationship rId9.
func videoBody(embeddedHTML string) string {
	return `<w:p><w:r><w:drawing><wp:inline><wp:extent cx="1" cy="1"/>` +
		`<wp:docPr id="1" name="Video 1"><a:hlinkClick r:id="rId9"/>` +
		`<a:extLst><a:ext uri="{C809E66F-F1BF-436E-b5F7-EEA9579F0CBA}">` +
		`<wp15:webVideoPr xmlns:wp15="http://schemas.microsoft.com/office/word/2012/wordprocessingDrawing" embeddedHtml="` +
		html.EscapeString(embeddedHTML) + `" h="270" w="480"/></a:ext></a:extLst></wp:docPr></wp:inline></w:drawing></w:r></w:p>`
}

// corpusDir returns the shared corpus directory or skips the test.
func corpusDir(t testing.TB) string { return parsertest.SharedCorpus(t) }
