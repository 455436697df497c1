package names

import "testing"

func TestDoubleExtension(t *testing.T) {
	tests := []struct {
		name         string
		outer, inner string
		ok           bool
	}{
		{"invoice.pdf.lnk", "lnk", "pdf", true},
		{"IMG123101.jpg.js", "js", "jpg", true},
		{"a.doc.exe", "exe", "doc", true},
		{"Payment_Advice.pdf.jar", "jar", "pdf", true},
		{"report.docx   .exe", "exe", "docx", true},
		{"report.docx\t.exe  ", "exe", "docx", true},
		{"Scan.PDF.EXE", "exe", "pdf", true},
		{"dir/sub\\photo.jpeg.vbs", "vbs", "jpeg", true},
		{"請求書.pdf.lnk", "lnk", "pdf", true},
		{"invoice\u202efdp.exe", "exe", "pdf", true},
		{"invoice\u202etxt.scr", "scr", "txt", true},
		{"photo\u202egpj.js", "js", "jpg", true},
		{"doc\u2800\u2800.pdf\u2800.exe", "exe", "pdf", true},
		{"archive.zip.iso", "iso", "zip", true},
		{"invoice.pdf", "", "", false},
		{"setup.exe", "", "", false},
		{"archive.tar.gz", "", "", false},
		{"v1.2.exe", "", "", false},
		{"notes.txt.bak", "", "", false},
		{".pdf.exe", "exe", "pdf", true},
		{"", "", "", false},
		{"a.pdf/b.exe", "", "", false},
		{"\u202e", "", "", false},
		{"name.exe\u202e", "", "", false},
	}
	for _, tt := range tests {
		outer, inner, ok := DoubleExtension(tt.name)
		if outer != tt.outer || inner != tt.inner || ok != tt.ok {
			t.Errorf("DoubleExtension(%q) = %q, %q, %v; want %q, %q, %v", tt.name, outer, inner, ok, tt.outer, tt.inner, tt.ok)
		}
	}
}

func TestExt(t *testing.T) {
	tests := map[string]string{
		"a.PDF":            "pdf",
		"a.tar.gz":         "gz",
		"noext":            "",
		"dir.d/noext":      "",
		`C:\x\y.Exe`:       "exe",
		"report.docx .js ": "js",
		"trailing.":        "",
	}
	for in, want := range tests {
		if got := Ext(in); got != want {
			t.Errorf("Ext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBase(t *testing.T) {
	tests := map[string]string{
		"a/b/c.txt":   "c.txt",
		`a\b\c.txt`:   "c.txt",
		`a/b\c.txt`:   "c.txt",
		"c.txt":       "c.txt",
		"dir/":        "",
		"../../x.exe": "x.exe",
	}
	for in, want := range tests {
		if got := Base(in); got != want {
			t.Errorf("Base(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClasses(t *testing.T) {
	tests := []struct {
		ext                      string
		exec, script, doc, image bool
	}{
		{"exe", true, false, false, false},
		{".EXE", true, false, false, false},
		{"js", true, true, false, false},
		{"vbe", true, true, false, false},
		{"hta", true, true, false, false},
		{"ps1", true, true, false, false},
		{"cmd", true, true, false, false},
		{"lnk", true, false, false, false},
		{"iso", true, false, false, false},
		{"pdf", false, false, true, false},
		{"jpg", false, false, true, true},
		{"zip", false, false, true, false},
		{"", false, false, false, false},
		{"xyz", false, false, false, false},
	}
	for _, tt := range tests {
		if got := IsExecutableExt(tt.ext); got != tt.exec {
			t.Errorf("IsExecutableExt(%q) = %v", tt.ext, got)
		}
		if got := IsScriptExt(tt.ext); got != tt.script {
			t.Errorf("IsScriptExt(%q) = %v", tt.ext, got)
		}
		if got := IsDocumentExt(tt.ext); got != tt.doc {
			t.Errorf("IsDocumentExt(%q) = %v", tt.ext, got)
		}
		if got := IsImageExt(tt.ext); got != tt.image {
			t.Errorf("IsImageExt(%q) = %v", tt.ext, got)
		}
	}
}

func FuzzDoubleExtension(f *testing.F) {
	for _, s := range []string{"invoice.pdf.lnk", "a\u202efdp.exe", "x.docx   .exe", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		outer, inner, ok := DoubleExtension(s)
		if ok && !IsExecutableExt(outer) {
			t.Fatalf("DoubleExtension(%q): outer %q not executable", s, outer)
		}
		if !ok && (outer != "" || inner != "") {
			t.Fatalf("DoubleExtension(%q): not ok but %q %q", s, outer, inner)
		}
	})
}
