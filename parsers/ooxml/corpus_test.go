package ooxml

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/parsertest"
)

// TestCorpus_oletools checks the oletools test files against what
// oletools' own tests assert about them (expected/oletools/…).
func TestCorpus_oletools(t *testing.T) {
	corpus := corpusDir(t)
	td := filepath.Join(corpus, "oletools", "tests", "test-data")
	dec := filepath.Join(corpus, "oletools", "_decrypted", "tests", "test-data")
	tests := []struct {
		file     string
		want     []string // finding codes that must be present
		none     bool     // no findings at all
		dde      []string // substrings, one DDE entry each, in order
		child    string   // a child that must be handed on
		url      string
		kind     string
		xlmSheet bool
	}{
		// msodde test_basic.py: dde_links_count 1, contains cmd and calc.
		{file: filepath.Join(dec, "msodde", "dde-in-word2007.xml"), want: []string{"ooxml.dde"}, dde: []string{"cmd.exe \"/k calc.exe\""}, kind: "word"},
		{file: filepath.Join(dec, "msodde", "dde-in-word2003.xml"), want: []string{"ooxml.dde"}, dde: []string{"cmd.exe \"/k calc.exe\""}},
		{file: filepath.Join(td, "msodde", "dde-in-excel2003.xml"), want: []string{"ooxml.dde"}, dde: []string{"cmd|'/c calc.exe'"}},
		// msodde test_excel: dde_links ["cmd /c calc.exe"].
		{file: filepath.Join(td, "msodde", "dde-test.xlsx"), want: []string{"ooxml.dde"}, dde: []string{"link: cmd /c calc.exe"}, kind: "excel"},
		{file: filepath.Join(td, "msodde", "dde-test.xlsm"), want: []string{"ooxml.dde"}, dde: []string{"link: cmd /c calc.exe"}, kind: "excel"},
		{file: filepath.Join(td, "msodde", "dde-test.docx"), want: []string{"ooxml.dde"}, dde: []string{"DDEAUTO c:", "DDE c:", "ddeauto ünicöde-test"}, kind: "word"},
		{file: filepath.Join(td, "msodde", "dde-test.docm"), want: []string{"ooxml.dde"}, dde: []string{"DDEAUTO c:", "DDE c:", "ddeauto ünicöde-test"}, kind: "word"},
		{file: filepath.Join(td, "msodde", "harmless-clean.docx"), none: true, kind: "word", child: "word/document.xml"},
		{file: filepath.Join(td, "msodde", "harmless-clean.docm"), none: true, kind: "word"},
		{file: filepath.Join(td, "msodde", "harmless-clean.xml"), none: true, kind: "word"},
		{file: filepath.Join(td, "msodde", "harmless-clean-2003.xml"), none: true},
		// olevba test_xlm: the same macro sheet saved as OOXML; olevba
		// cannot extract it, a better tool may.
		{file: filepath.Join(td, "excel4-macros", "excel4_sample_macro.xlsm"), want: []string{"ooxml.xlm_macrosheet", "ooxml.xlm_autoopen"}, xlmSheet: true, child: "xl/macrosheets/sheet1.xml"},
		{file: filepath.Join(td, "excel4-macros", "excel4_sample_macro.xltm"), want: []string{"ooxml.xlm_macrosheet", "ooxml.xlm_autoopen"}, xlmSheet: true},
		{file: filepath.Join(td, "excel4-macros", "excel4_sample_macro.xlsb"), want: []string{"ooxml.xlm_macrosheet", "ooxml.xlm_autoopen"}, xlmSheet: true, child: "xl/macrosheets/sheet1.bin"},
		// oleobj test_external_links: external_relationship_found.
		{file: filepath.Join(td, "oleobj", "external_link", "sample_with_external_link_to_doc.docx"), want: []string{"ooxml.external_relationship"},
			url: "https://raw.githubusercontent.com/decalage2/oletools/master/tests/test-data/msodde/harmless-clean.doc"},
		{file: filepath.Join(td, "oleobj", "external_link", "sample_with_external_link_to_doc.xlsx"), want: []string{"ooxml.external_relationship"}},
		{file: filepath.Join(td, "oleobj", "external_link", "sample_with_external_link_to_doc.pptx"), want: []string{"ooxml.external_relationship"}},
		// oleobj test_md5: embedded_object_count_ge 1.
		{file: filepath.Join(td, "oleobj", "embedded-simple-2007.docx"), none: true, child: "word/embeddings/oleObject1.bin"},
		{file: filepath.Join(td, "oleobj", "embedded-simple-2007.xlsx"), none: true, child: "xl/embeddings/oleObject1.bin"},
		{file: filepath.Join(td, "oleobj", "embedded-simple-2007.pptx"), none: true, child: "ppt/embeddings/oleObject1.bin"},
		{file: filepath.Join(td, "oleobj", "embedded-simple-2007.xml"), none: true, child: "word/embeddings/oleObject1.bin"},
		// olevba: four VBA modules.
		{file: filepath.Join(td, "oleform", "oleform-PR314.docm"), want: []string{"ooxml.macro"}, child: "word/vbaProject.bin"},
	}
	p := New()
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(filepath.Base(tt.file), ".", "_"), func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			typ := filetype.Detect(data, tt.file)
			if !p.Match(&parsers.Artifact{Type: typ}, head(data, 8192)) {
				t.Fatalf("Match(%s) = false", typ)
			}
			rec, err := parsertest.Run(t, p, filepath.Base(tt.file), typ, data)
			if err != nil {
				t.Errorf("Parse: %v", err)
			}
			for _, c := range tt.want {
				if !rec.HasFinding(c) {
					t.Errorf("missing finding %s; got %+v", c, rec.Findings)
				}
			}
			if tt.none && len(rec.Findings) > 0 {
				t.Errorf("want no findings, got %+v", rec.Findings)
			}
			if tt.dde != nil {
				dde, _ := rec.MetaData["dde"].([]string)
				if len(dde) != len(tt.dde) {
					t.Fatalf("dde = %q, want %d entries", dde, len(tt.dde))
				}
				for i, want := range tt.dde {
					if !strings.Contains(dde[i], want) {
						t.Errorf("dde[%d] = %q, want it to contain %q", i, dde[i], want)
					}
				}
			}
			if tt.child != "" && childNamed(rec, tt.child) == nil {
				t.Errorf("child %s missing", tt.child)
			}
			if tt.url != "" && !hasURL(rec, tt.url) {
				t.Errorf("URL %s missing from %v", tt.url, rec.URLs)
			}
			if tt.kind != "" && rec.MetaData["document_kind"] != tt.kind {
				t.Errorf("document_kind = %v, want %s", rec.MetaData["document_kind"], tt.kind)
			}
			if tt.xlmSheet {
				sheets, _ := rec.MetaData["sheets"].([]map[string]string)
				if len(sheets) == 0 || sheets[0]["name"] != "Macro1" || sheets[0]["type"] != "macrosheet" {
					t.Errorf("sheets = %v", sheets)
				}
				if names, _ := rec.MetaData["auto_open_names"].([]string); len(names) != 1 {
					t.Errorf("auto_open_names = %v", names)
				}
			}
		})
	}
}

// TestCorpus_olevbaAgreement checks that has_vba agrees with olevba on
// every OOXML and Office XML file olevba analysed.
func TestCorpus_olevbaAgreement(t *testing.T) {
	corpus := corpusDir(t)
	summary := parsertest.OlevbaSummary(t)
	p := New()
	agree, total := 0, 0
	for _, s := range summary {
		if s.Kind != "OOXML" && s.Kind != "XML2003/FlatOPC" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(corpus, s.File))
		if err != nil {
			t.Errorf("%s: %v", s.File, err)
			continue
		}
		typ := filetype.Detect(data, s.File)
		if !p.Match(&parsers.Artifact{Type: typ}, head(data, 8192)) {
			t.Errorf("%s: Match(%s) = false", s.File, typ)
			continue
		}
		total++
		rec, _ := parsertest.Run(t, p, filepath.Base(s.File), typ, data)
		// olevba reports Excel 2003 XML as "Text", the whole file being one
		// pseudo-module named after the file: that is no VBA.
		modules := 0
		for _, m := range s.Macros {
			if m != s.File {
				modules++
			}
		}
		if got, want := rec.MetaData["has_vba"] == true, modules > 0; got != want {
			t.Errorf("%s: has_vba = %v, olevba found modules %v", s.File, got, s.Macros)
			continue
		}
		agree++
	}
	if total == 0 {
		t.Fatal("no OOXML files in the olevba summary")
	}
	t.Logf("has_vba agrees with olevba on %d/%d OOXML/Office XML files", agree, total)
}
