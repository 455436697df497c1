package filetype

import (
	"math/rand"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	pe := make([]byte, 0x100)
	copy(pe, "MZ")
	pe[0x3c] = 0x80
	copy(pe[0x80:], "PE\x00\x00")
	tests := []struct {
		name string
		data string
		file string
		want string
	}{
		{"eml", "From: a@b.example\r\nTo: c@d.example\r\nSubject: hi\r\n\r\nbody", "x.bin", EML},
		{"eml_with_nul_in_body", "From: a@b.example\r\nTo: c@d.example\r\nSubject: hi\r\n\r\nbody\x00\x01\x02 more", "", EML},
		{"eml_with_stray_line", "From: a@b.example\r\njunk line\r\nTo: c@d.example\r\nSubject: hi\r\n\r\nbody", "", EML},
		{"prose_then_fields", "Dear team,\r\nFrom: a@b.example\r\nSubject: hi\r\n\r\nbody", "", Text},
		{"mbox_eml", "From a@b Mon Jan  1 00:00:00 2024\nFrom: a@b\nSubject: x\n\nbody", "", EML},
		{"iqy", "WEB\r\n1\r\nhttp://127.0.0.1:9/q.html\r\n", "invoice.txt", IQY},
		{"text_mentions_web", "Notes\r\nWEB\r\n1\r\nhttp://example.invalid\r\n", "web.iqy", Text},
		{"lnk", "\x4c\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46rest", "a.pdf", LNK},
		{"zip", "PK\x03\x04plain zip", "a.docx", Zip},
		{"ooxml", "PK\x03\x04....[Content_Types].xml", "a.zip", OOXML},
		{"jar", "PK\x03\x04....META-INF/MANIFEST.MF", "a.zip", JAR},
		{"ole", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "a.txt", OLE},
		{"rtf", `{\rtf1\ansi hello}`, "a.doc", RTF},
		{"pe", string(pe), "a.pdf", PE},
		{"elf", "\x7fELF\x02\x01\x01", "a.txt", ELF},
		{"html", "<!DOCTYPE html><html><body>x</body></html>", "a.txt", HTML},
		{"hta", "<html><head><HTA:APPLICATION id=x></head></html>", "a.html", HTA},
		{"wsf", `<job id="a"><script language="JScript">WScript.Echo(1)</script></job>`, "a.txt", WSF},
		{"ps1", "$wc = New-Object Net.WebClient\r\nInvoke-Expression $x\r\n", "a.txt", PS1},
		{"vbs", "Dim x\r\nSet o = CreateObject(\"WScript.Shell\")\r\nEnd Sub\r\n", "a.txt", VBS},
		{"js", "var x = new ActiveXObject(\"MSXML2.XMLHTTP\");\r\nfunction f() { return 1; }\r\n", "a.txt", JS},
		{"bat", "@echo off\r\nset X=1\r\ngoto end\r\n", "a.txt", BAT},
		{"uue", "begin 644 PO_4471.zip\r\nM4$L#!!0````(`\r\n`\r\nend\r\n", "PO_4471.uue", UUE},
		{"uue_base64", "begin-base64 644 a.exe\nTVqQAAMAAAAEAAAA\n====\n", "", UUE},
		{"text_mentions_begin", "To decode: begin 644 is the first line\r\n", "", Text},
		{"wsh_ambiguous_js", `WScript.Echo("TRIAGE-REGRESSION")`, "IMG1.jpg.js", JS},
		{"wsh_ambiguous_vbs", `WScript.Echo("TRIAGE-REGRESSION")`, "a.vbs", VBS},
		{"plain_text", "Dear customer, thank you for your order.", "a.js", Text},
		{"empty", "", "a", Empty},
		{"binary", "\x00\x01\x02\x03\x04", "a.txt", Binary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect([]byte(tt.data), tt.file); got != tt.want {
				t.Errorf("Detect(%q, %q) = %q, want %q", tt.data, tt.file, got, tt.want)
			}
		})
	}
}

// TestLowerPrefix: lowerPrefix is strings.ToLower cut to n bytes, for
// ASCII, multi-byte runes whose lowercase is longer or shorter (İ, K),
// invalid UTF-8 (U+FFFD) and cuts inside a rune.
func TestLowerPrefix(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	pieces := []string{"A", "z", "MIME-Version: 1.0\r\n", "Content-Type: Multipart/Related", "\u0130", "\u212a", "\u00c9", "\u0399",
		"\u1e9e", "日本", "\xff", "\xe3\x81", "\xc3", "\r\n", "ſ", "\U0001F600", "Ⱥ", "ⱥ"}
	for i := range 3000 {
		var b strings.Builder
		for range rng.Intn(3000) {
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
		s := b.String()
		n := rng.Intn(5000)
		if i%3 == 0 {
			n = 4096
		}
		want := strings.ToLower(s)
		if len(want) > n {
			want = want[:n]
		}
		if got := string(lowerPrefix(nil, []byte(s), n)); got != want {
			t.Fatalf("lowerPrefix(%q, %d) = %q, want %q", clipStr(s), n, clipStr(got), clipStr(want))
		}
	}
}

func clipStr(s string) string { return s[:min(len(s), 200)] }
