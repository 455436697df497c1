package vba

import (
	"slices"
	"strings"
	"testing"

	"triage/parsers"
	"triage/parsers/parsertest"
)

func TestParser_Match(t *testing.T) {
	p := New()
	for typ, want := range map[string]bool{"vba": true, "ole": false, "text": false, "vbs": false} {
		if got := p.Match(&parsers.Artifact{Type: typ}, nil); got != want {
			t.Errorf("Match(%q) = %v", typ, got)
		}
	}
	if p.Name() != Name || Name != "vba" {
		t.Errorf("Name = %q", p.Name())
	}
}

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

func TestParser_emotetLikeModule(t *testing.T) {
	b64 := encodedCommand("Write-Output 'TRIAGE-REGRESSION'")
	code := "Sub Document_Open()\r\n" +
		"  Dim c\r\n" +
		"  c = " + chrs("powershell") + " & \" -enc " + b64 + "\"\r\n" +
		"  u = \"http://\" & \"127.0.0.1:9/\" & \"a.invalid\"\r\n" +
		"  CreateObject(\"WScript.Shell\").Run c, 0\r\n" +
		"End Sub\r\n" +
		"Sub Unused()\r\n  GetObject(\"winmgmts:\\\\.\\root\\cimv2:Win32_Process\").Create \"calc.exe\"\r\nEnd Sub\r\n"
	rec, err := parsertest.Run(t, New(), "ThisDocument.cls", "vba", []byte(code))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]parsers.Severity{
		"vba.autoexec":    parsers.Medium,
		"vba.powershell":  parsers.High,
		"vba.wmi_exec":    parsers.High,
		"vba.mraptor":     parsers.High,
		"vba.obfuscation": parsers.Low,
		"vba.suspicious":  parsers.Low,
		"vba.iocs":        parsers.Low,
	}
	for code, sev := range want {
		if got := severityOf(rec, code); got != sev {
			t.Errorf("%s severity = %v, want %v", code, got, sev)
		}
	}
	for _, f := range rec.Findings {
		switch f.Code {
		case "vba.autoexec":
			if f.Campaign != "emotet" || !slices.Equal(f.Attack, []string{"T1204.002"}) || !strings.Contains(f.Detail, "Document_Open") {
				t.Errorf("autoexec finding %+v", f)
			}
		case "vba.wmi_exec":
			if !slices.Equal(f.Attack, []string{"T1047"}) {
				t.Errorf("wmi finding %+v", f)
			}
		case "vba.powershell":
			if !slices.Equal(f.Attack, []string{"T1059.001"}) || !strings.Contains(f.Detail, "TRIAGE-REGRESSION") {
				t.Errorf("powershell finding %+v", f)
			}
		}
	}
	var folded, ps1 *parsers.Child
	for i, c := range rec.Children {
		switch c.Name {
		case "ThisDocument.cls.folded":
			folded = &rec.Children[i]
		case "ThisDocument.cls.ps1":
			ps1 = &rec.Children[i]
		}
	}
	if folded == nil || folded.Type != "text" || !folded.Text || !strings.Contains(string(folded.Data), `"powershell -enc `) {
		t.Errorf("folded child: %+v", folded)
	}
	if ps1 == nil || ps1.Type != "ps1" || string(ps1.Data) != "Write-Output 'TRIAGE-REGRESSION'" {
		t.Errorf("ps1 child: %+v", ps1)
	}
	if !slices.Contains(rec.URLs, "http://127.0.0.1:9/a.invalid") {
		t.Errorf("URL from folded text not reported: %q", rec.URLs)
	}
	if rec.MetaData["mraptor"] != "A-X" {
		t.Errorf("mraptor meta %v", rec.MetaData["mraptor"])
	}
}

func TestParser_benignModule(t *testing.T) {
	code := "Attribute VB_Name = \"Module1\"\r\nSub FormatReport()\r\n  Range(\"A1\").Value = \"Total\"\r\n  Range(\"A1\").Font.Bold = True\r\nEnd Sub\r\n"
	rec, err := parsertest.Run(t, New(), "Module1.bas", "vba", []byte(code))
	if err != nil {
		t.Fatal(err)
	}
	score := 0
	points := map[parsers.Severity]int{parsers.Info: 0, parsers.Low: 10, parsers.Medium: 30, parsers.High: 60, parsers.Critical: 100}
	for _, f := range rec.Findings {
		score += points[f.Severity]
	}
	if score != 0 || len(rec.Children) != 0 {
		t.Errorf("benign module scored %d with findings %+v and %d children", score, rec.Findings, len(rec.Children))
	}
	// The module was analysed, not skipped: its one procedure is counted.
	if rec.MetaData["mraptor"] != "---" || rec.MetaData["procedures"] != 1 {
		t.Errorf("meta %v, want mraptor --- and 1 procedure", rec.MetaData)
	}
}

func TestParser_invalidUTF8(t *testing.T) {
	rec, err := parsertest.Run(t, New(), "m.bas", "vba", []byte("Sub AutoOpen()\r\n\xff\xfe Shell \"x\"\r\nEnd Sub"))
	if err != nil {
		t.Fatal(err)
	}
	if !rec.HasFinding("vba.autoexec") || !rec.HasFinding("vba.mraptor") {
		t.Errorf("findings %+v", rec.Findings)
	}
}
