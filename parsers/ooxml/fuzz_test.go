package ooxml

import (
	"strings"
	"testing"

	"triage/parsers"
	"triage/parsers/parsertest"
)

func FuzzParse(f *testing.F) {
	f.Add(docx(f, wordMainCT, videoBody(`<iframe src="http://example.invalid/v.html"></iframe>`),
		[][4]string{{"rId9", "hyperlink", "https://www.youtube.com/watch?v=a", "External"}}))
	f.Add(docx(f, wordMainCT, `<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>DDEAUTO cmd "/c x"</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>`, nil))
	f.Add(xlsm(f, "veryHidden", true, `EXEC("x")`, `HALT()`))
	f.Add([]byte(`<?xml version="1.0"?><pkg:package xmlns:pkg="http://schemas.microsoft.com/office/2006/xmlPackage"><pkg:part pkg:name="/word/vbaProject.bin"><pkg:binaryData>0M8R4KGxGuE=</pkg:binaryData></pkg:part></pkg:package>`))
	f.Add([]byte(`<?xml version="1.0"?><w:wordDocument xmlns:w="http://schemas.microsoft.com/office/word/2003/wordml"><w:binData w:name="editdata.mso">QWN0aXZlTWltZQ==</w:binData></w:wordDocument>`))
	p := New()
	f.Fuzz(func(t *testing.T, data []byte) {
		typ := "ooxml"
		if len(data) > 0 && data[0] == '<' {
			typ = "xml"
		}
		l := parsers.DefaultLimits()
		l.MaxArtifactBytes = 256 * parsers.KiB
		l.MaxTotalBytes = parsers.MiB
		rec, _ := parsertest.RunLimits(t, p, "fuzz", typ, data, l)
		for _, fd := range rec.Findings {
			if !strings.HasPrefix(fd.Code, "ooxml.") || fd.Severity < parsers.Info || fd.Severity > parsers.Critical {
				t.Fatalf("bad finding %+v", fd)
			}
		}
		if len(rec.Children) > maxChildren {
			t.Fatalf("%d children, cap %d", len(rec.Children), maxChildren)
		}
		for _, c := range rec.Children {
			if c.Name == "" {
				t.Fatal("child without a name")
			}
		}
	})
}
