package uue

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"triage/parsers"
	"triage/parsers/exe"
	"triage/parsers/parsertest"
)

// --- reference encoders ------------------------------------------------------

// encOpts vary how a reference encoder writes a block.
type encOpts struct {
	crlf       bool // CRLF line ends
	spaceZero  bool // ' ' for zero (historic) instead of '`'
	trailSpace bool // a trailing space on every data line (some mailers)
	noPad      bool // the last data line without its padding characters
	mode       string
	xx         bool // xxencode alphabet
}

const xxChars = "+-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// encode writes one begin … end block, independently of the decoder.
func encode(name string, data []byte, o encOpts) string {
	eol := "\n"
	if o.crlf {
		eol = "\r\n"
	}
	mode := o.mode
	if mode == "" {
		mode = "644"
	}
	ch := func(v byte) byte {
		v &= 0x3f
		switch {
		case o.xx:
			return xxChars[v]
		case v == 0 && !o.spaceZero:
			return '`'
		}
		return v + 0x20
	}
	var b strings.Builder
	b.WriteString("begin " + mode + " " + name + eol)
	for i := 0; i < len(data); i += 45 {
		chunk := data[i:min(i+45, len(data))]
		line := []byte{ch(byte(len(chunk)))}
		for j := 0; j < len(chunk); j += 3 {
			var g [3]byte
			copy(g[:], chunk[j:])
			line = append(line, ch(g[0]>>2), ch(g[0]<<4|g[1]>>4), ch(g[1]<<2|g[2]>>6), ch(g[2]))
		}
		if o.noPad && i+45 >= len(data) {
			line = line[:1+(len(chunk)*4+2)/3]
		}
		if o.trailSpace {
			line = append(line, ' ')
		}
		b.Write(line)
		b.WriteString(eol)
	}
	b.WriteByte(ch(0))
	b.WriteString(eol + "end" + eol)
	return b.String()
}

// encodeBase64 writes a POSIX `uuencode -m` block.
func encodeBase64(name string, data []byte, crlf bool) string {
	eol := "\n"
	if crlf {
		eol = "\r\n"
	}
	var b strings.Builder
	b.WriteString("begin-base64 644 " + name + eol)
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(data); i += 45 {
		chunk := data[i:min(i+45, len(data))]
		for j := 0; j < len(chunk); j += 3 {
			var g [3]byte
			n := copy(g[:], chunk[j:])
			q := []byte{alpha[g[0]>>2], alpha[(g[0]<<4|g[1]>>4)&0x3f], alpha[(g[1]<<2|g[2]>>6)&0x3f], alpha[g[2]&0x3f]}
			for k := n + 1; k < 4; k++ {
				q[k] = '='
			}
			b.Write(q)
		}
		b.WriteString(eol)
	}
	b.WriteString("====" + eol)
	return b.String()
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func zipWith(t testing.TB, name string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func parse(t testing.TB, name, typ, text string) (*parsertest.Recorder, error) {
	t.Helper()
	return parsertest.Run(t, New(), name, typ, []byte(text))
}

func finding(rec *parsertest.Recorder, code string) *parsers.Finding {
	for i := range rec.Findings {
		if rec.Findings[i].Code == code {
			return &rec.Findings[i]
		}
	}
	return nil
}

// --- tests -------------------------------------------------------------------

func TestParse_roundTrip(t *testing.T) {
	sizes := []int{1, 2, 3, 4, 44, 45, 46, 89, 90, 91, 1000, 70000}
	variants := map[string]encOpts{
		"backtick":           {},
		"space_zero":         {spaceZero: true},
		"crlf":               {crlf: true},
		"trailing_space":     {trailSpace: true},
		"crlf_trailing":      {crlf: true, trailSpace: true},
		"no_padding_on_last": {noPad: true},
		"mode_0755":          {mode: "0755"},
		"xxencode":           {xx: true},
		"xxencode_crlf":      {xx: true, crlf: true},
	}
	for vname, o := range variants {
		for _, n := range sizes {
			t.Run(fmt.Sprintf("%s_%d", vname, n), func(t *testing.T) {
				data := randBytes(uint64(n), n)
				rec, err := parse(t, "x.uue", "text", encode("file.bin", data, o))
				if err != nil {
					t.Fatalf("err %v", err)
				}
				if len(rec.Children) != 1 {
					t.Fatalf("%d children, want 1", len(rec.Children))
				}
				c := rec.Children[0]
				if c.Name != "file.bin" || c.Type != "" || !bytes.Equal(c.Data, data) {
					t.Errorf("child %q type %q: %d bytes, equal=%v", c.Name, c.Type, len(c.Data), bytes.Equal(c.Data, data))
				}
				wantEnc := EncUU
				if o.xx {
					wantEnc = EncXX
				}
				if c.Meta["uue_encoding"] != wantEnc {
					t.Errorf("encoding %v, want %s", c.Meta["uue_encoding"], wantEnc)
				}
				if rec.HasFinding(CodeMalformed) {
					t.Errorf("malformed on a valid block: %+v", rec.Findings)
				}
				if rec.MetaData["blocks"] != 1 {
					t.Errorf("blocks meta %v", rec.MetaData["blocks"])
				}
			})
		}
	}
}

func TestParse_base64RoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 3, 45, 46, 100, 4096} {
		for _, crlf := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d_crlf_%v", n, crlf), func(t *testing.T) {
				data := randBytes(uint64(n)+100, n)
				rec, err := parse(t, "body.txt", "text", "Hi,\n\n"+encodeBase64("report.bin", data, crlf)+"\nbye\n")
				if err != nil || len(rec.Children) != 1 {
					t.Fatalf("err %v, %d children", err, len(rec.Children))
				}
				c := rec.Children[0]
				if c.Name != "report.bin" || !bytes.Equal(c.Data, data) || c.Meta["uue_encoding"] != EncBase64 {
					t.Errorf("child %q %v: equal=%v", c.Name, c.Meta, bytes.Equal(c.Data, data))
				}
			})
		}
	}
}

// TestParse_agreesWithSharutils decodes what GNU sharutils' uuencode writes
// (uuencode and uuencode -m); skipped without the tool.
func TestParse_agreesWithSharutils(t *testing.T) {
	tool, err := exec.LookPath("uuencode")
	if err != nil {
		t.Skip("uuencode (sharutils) not installed: apt-get install -y sharutils")
	}
	dir := t.TempDir()
	for _, n := range []int{0, 1, 45, 46, 5000} {
		for _, flags := range [][]string{nil, {"-m"}} {
			t.Run(fmt.Sprintf("%d_%v", n, flags), func(t *testing.T) {
				data := randBytes(uint64(n)+200, n)
				f := filepath.Join(dir, "in.bin")
				if err := os.WriteFile(f, data, 0o600); err != nil {
					t.Fatal(err)
				}
				enc, err := exec.Command(tool, append(flags, f, "dir/out.exe")...).Output()
				if err != nil {
					t.Fatal(err)
				}
				rec, err := parsertest.Run(t, New(), "x.uue", "text", enc)
				if err != nil {
					t.Fatalf("err %v on %q", err, enc)
				}
				if n == 0 {
					if len(rec.Children) != 0 || rec.MetaData["blocks"] != 1 {
						t.Errorf("empty file: %d children, blocks %v", len(rec.Children), rec.MetaData["blocks"])
					}
					return
				}
				if len(rec.Children) != 1 || rec.Children[0].Name != "out.exe" || !bytes.Equal(rec.Children[0].Data, data) {
					t.Fatalf("children %d: want out.exe equal to the input", len(rec.Children))
				}
			})
		}
	}
}

func TestParse_multipleBlocksInProse(t *testing.T) {
	a, b, c := []byte("first file\n"), randBytes(1, 300), []byte("MZ third")
	text := "Hello,\r\n\r\nthe files you asked for:\r\n\r\n" +
		encode(`C:\Users\bob\Desktop\a.txt`, a, encOpts{crlf: true}) +
		"\r\nand\r\n" +
		encode("../../tmp/b.dat", b, encOpts{crlf: true}) +
		encodeBase64("sub/dir/c.exe", c, true) +
		"\r\n-- \r\nBob\r\n"
	rec, err := parse(t, "body.txt", "text", text)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ch := range rec.Children {
		got = append(got, ch.Name)
	}
	if diff := cmp.Diff([]string{"a.txt", "b.dat", "c.exe"}, got); diff != "" {
		t.Fatalf("names (-want +got):\n%s", diff)
	}
	for i, want := range [][]byte{a, b, c} {
		if !bytes.Equal(rec.Children[i].Data, want) {
			t.Errorf("child %d data differs", i)
		}
	}
	if rec.Children[0].Meta["uue_name"] != `C:\Users\bob\Desktop\a.txt` {
		t.Errorf("raw name meta %v", rec.Children[0].Meta)
	}
	if diff := cmp.Diff(map[string]any{"blocks": 3, "files": []string{"a.txt", "b.dat", "c.exe"}}, rec.MetaData); diff != "" {
		t.Errorf("meta (-want +got):\n%s", diff)
	}
	f := finding(rec, CodeEncodedFile)
	if f == nil || f.Severity != parsers.Medium || !strings.Contains(f.Detail, `"c.exe" has the executable extension .exe`) {
		t.Errorf("finding %+v: want medium naming c.exe", f)
	}
	if diff := cmp.Diff([]string{"T1027", "T1566.001"}, f.Attack); diff != "" || f.Campaign != "" {
		t.Errorf("attack/campaign %v %q", f.Attack, f.Campaign)
	}
}

func TestParse_severity(t *testing.T) {
	zipData := zipWith(t, "a.js", []byte(`WScript.Echo("TRIAGE-REGRESSION")`))
	tests := []struct {
		name, file string
		data       []byte
		want       parsers.Severity
	}{
		{"text_file", "notes.txt", []byte("meeting notes\nnothing else\n"), parsers.Low},
		{"pdf_name_and_content", "report.pdf", []byte("%PDF-1.4\n%%EOF\n"), parsers.Low},
		{"zip_by_name", "invoice.zip", zipData, parsers.Medium},
		{"zip_renamed_txt", "invoice.txt", zipData, parsers.Medium},
		{"exe_by_name", "PO_4471.exe", []byte("not really a program"), parsers.Medium},
		{"pe_by_content", "photo.jpg", exe.MinimalPE("TRIAGE-REGRESSION", false), parsers.Medium},
		{"mz_junk_jpg", "photo.jpg", append([]byte("MZ"), make([]byte, 200)...), parsers.Low},
		{"script_by_name", "run.vbs", []byte("x"), parsers.Medium},
		{"nested_uue", "inner.uue", []byte("x"), parsers.Medium},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := parse(t, "body.txt", "text", encode(tc.file, tc.data, encOpts{}))
			if err != nil {
				t.Fatal(err)
			}
			f := finding(rec, CodeEncodedFile)
			if f == nil || f.Severity != tc.want {
				t.Fatalf("finding %+v, want severity %v", f, tc.want)
			}
			if !strings.Contains(f.Detail, fmt.Sprintf("%q", tc.file)) {
				t.Errorf("detail %q does not name the file", f.Detail)
			}
		})
	}
}

func TestParse_malformed(t *testing.T) {
	data := randBytes(9, 200)
	good := encode("f.bin", data, encOpts{})
	lines := strings.Split(strings.TrimSuffix(good, "\n"), "\n")
	// lines: begin, 4 full lines + 1 of 20 bytes, "`", "end"
	join := func(ls ...string) string { return strings.Join(ls, "\n") + "\n" }
	tests := []struct {
		name, text string
		wantBytes  int    // decoded prefix length
		wantIn     string // in the malformed detail
	}{
		{"no_end_line", join(lines[:7]...), 200, "truncated"},
		{"junk_after_terminator", join(append(append([]string{}, lines[:7]...), "MORE")...), 200, "no end line after the zero-length line"},
		{"truncated", join(lines[:4]...), 135, "truncated"},
		{"bad_length_char", join(append(append(append([]string{}, lines[:3]...), "m"+lines[3][1:]), lines[4:]...)...), 90, "bad length or character"},
		{"prose_after_data", join(lines[0], lines[1], "Thanks, see you", "end"), 45, "bad length or character"},
		{"short_line", join(lines[0], lines[1][:30], lines[2], "`", "end"), 90, "shorter than their length character claims"},
		{"begin_before_end", join(lines[0], lines[1], lines[0], lines[1], "`", "end"), 45, "another begin line"},
		{"base64_no_terminator", "begin-base64 644 f.bin\nAAAA\nAAAA\n", 6, "truncated"},
		{"base64_prose", "begin-base64 644 f.bin\nAAAA\nnot base64!\n====\n", 3, "not base64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := parse(t, "body.txt", "text", tc.text)
			if !errors.Is(err, parsers.ErrMalformed) {
				t.Errorf("err %v, want ErrMalformed", err)
			}
			f := finding(rec, CodeMalformed)
			if f == nil || f.Severity != parsers.Low || !strings.Contains(f.Detail, tc.wantIn) {
				t.Fatalf("malformed finding %+v, want low containing %q", f, tc.wantIn)
			}
			if len(rec.Children) == 0 {
				t.Fatal("nothing emitted: what decoded must still be a child")
			}
			got := rec.Children[0].Data
			if len(got) != tc.wantBytes {
				t.Errorf("decoded %d bytes, want %d", len(got), tc.wantBytes)
			}
			if n := min(len(got), 21); strings.HasPrefix(tc.text, "begin 644") && !bytes.Equal(got[:n], data[:n]) {
				t.Error("first line decoded wrong")
			}
		})
	}
}

func TestParse_notABlock(t *testing.T) {
	tests := map[string]string{
		"prose_at_line_start": "To send a file, type\nbegin 644 report.txt\nand the mailer does the rest.\nend of story\n",
		"mid_line":            "We begin 644 new tasks today.\nM86)C\n",
		"no_mode":             "begin here\nM86)C\n`\nend\n",
		"mode_not_octal":      "begin 648 a.exe\n#86)C\n`\nend\n",
		"nothing_after":       "begin 644 a.exe",
		"base64_prose":        "begin-base64 644 a.exe\nhello there\n====\n",
		"no_begin_at_all":     strings.Repeat("plain text without the word\n", 1000),
		"blank_line_after":    "begin 644 a.exe\n\nend\n",
	}
	for name, text := range tests {
		t.Run(name, func(t *testing.T) {
			rec, err := parse(t, "body.txt", "text", text)
			if err != nil || len(rec.Children) != 0 || len(rec.Findings) != 0 || len(rec.MetaData) != 0 {
				t.Errorf("err %v, children %d, findings %+v, meta %v: want nothing", err, len(rec.Children), rec.Findings, rec.MetaData)
			}
		})
	}
}

// TestParse_strippedSpaces: a historic encoder's spaces for zero, stripped
// at line ends by a mailer, still decode to the right bytes; the short
// lines are reported.
func TestParse_strippedSpaces(t *testing.T) {
	data := append(append(randBytes(4, 40), make([]byte, 50)...), randBytes(5, 10)...)
	var text strings.Builder
	for _, l := range strings.SplitAfter(encode("z.bin", data, encOpts{spaceZero: true}), "\n") {
		text.WriteString(strings.TrimRight(l, " \n"))
		if strings.HasSuffix(l, "\n") {
			text.WriteString("\n")
		}
	}
	rec, err := parse(t, "body.txt", "text", text.String())
	if len(rec.Children) != 1 || !bytes.Equal(rec.Children[0].Data, data) {
		t.Fatalf("children %d: want the original bytes", len(rec.Children))
	}
	if !errors.Is(err, parsers.ErrMalformed) || !rec.HasFinding(CodeMalformed) {
		t.Errorf("err %v: want the short lines reported", err)
	}
}

func TestParse_emptyFileBlock(t *testing.T) {
	rec, err := parse(t, "body.txt", "text", "begin 644 empty.txt\n`\nend\n")
	if err != nil || len(rec.Children) != 0 || rec.MetaData["blocks"] != 1 || rec.HasFinding(CodeEncodedFile) {
		t.Errorf("err %v children %d meta %v findings %+v", err, len(rec.Children), rec.MetaData, rec.Findings)
	}
}

// TestParse_hugeLengthClaims: lines whose length character claims the
// maximum (63 bytes) with no data behind them expand 31 times; the artifact
// limit cuts them.
func TestParse_hugeLengthClaims(t *testing.T) {
	text := "begin 644 bomb.bin\n" + strings.Repeat("_\n", 100000) + "`\nend\n"
	l := parsers.DefaultLimits()
	l.MaxArtifactBytes = 64 * parsers.KiB
	rec, err := parsertest.RunLimits(t, New(), "body.txt", "text", []byte(text), l)
	if !errors.Is(err, parsers.ErrTooLarge) || !errors.Is(err, parsers.ErrMalformed) {
		t.Errorf("err %v: want ErrTooLarge and ErrMalformed", err)
	}
	if len(rec.Children) != 1 || len(rec.Children[0].Data) != 64*parsers.KiB || !errors.Is(rec.Children[0].Err, parsers.ErrTooLarge) {
		t.Fatalf("children %d: want one cut at 64 KiB with Err", len(rec.Children))
	}
	if !rec.HasFinding(CodeLimit) || !rec.HasFinding(CodeMalformed) {
		t.Errorf("findings %+v", rec.Findings)
	}
}

func TestParse_messageTotal(t *testing.T) {
	data := randBytes(3, 4000)
	text := encode("a.bin", data, encOpts{}) + encode("b.bin", data, encOpts{})
	l := parsers.DefaultLimits()
	l.MaxTotalBytes = 5000
	rec, err := parsertest.RunLimits(t, New(), "body.txt", "text", []byte(text), l)
	if !errors.Is(err, parsers.ErrTooLarge) {
		t.Errorf("err %v, want ErrTooLarge", err)
	}
	if len(rec.Children) != 2 || len(rec.Children[0].Data) != 4000 || len(rec.Children[1].Data) != 1000 {
		t.Fatalf("children %d: want 4000 + 1000 bytes", len(rec.Children))
	}
}

func TestParse_absurdBlockCount(t *testing.T) {
	var b strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&b, "begin 644 f%d.txt\n#86)C\n`\nend\n", i)
	}
	l := parsers.DefaultLimits()
	l.MaxEntries = 100
	rec, err := parsertest.RunLimits(t, New(), "body.txt", "text", []byte(b.String()), l)
	if !errors.Is(err, parsers.ErrTooMany) {
		t.Errorf("err %v, want ErrTooMany", err)
	}
	if len(rec.Children) != 100 || rec.MetaData["blocks"] != 100 || string(rec.Children[99].Data) != "abc" {
		t.Errorf("%d children, blocks %v", len(rec.Children), rec.MetaData["blocks"])
	}
	if f := finding(rec, CodeLimit); f == nil || f.Severity != parsers.Medium {
		t.Errorf("limit finding %+v", f)
	}
	if files, _ := rec.MetaData["files"].([]string); len(files) != 100 {
		t.Errorf("files meta has %d names", len(files))
	}
}

func TestParse_sinkLimit(t *testing.T) {
	text := encode("a.txt", []byte("a"), encOpts{}) + encode("b.txt", []byte("b"), encOpts{}) + encode("c.txt", []byte("c"), encOpts{})
	ctx := context.Background()
	in := &parsers.Input{Artifact: &parsers.Artifact{ID: "1", Name: "body.txt", Type: "text"}, Data: []byte(text), Budget: parsers.NewBudget(ctx, parsers.Limits{})}
	rec := &parsertest.Recorder{MaxChildren: 1}
	err := New().Parse(ctx, in, rec)
	if !errors.Is(err, parsers.ErrTooMany) || len(rec.Children) != 1 {
		t.Errorf("err %v, %d children: want ErrTooMany after one", err, len(rec.Children))
	}
}

func TestParse_deadline(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in := &parsers.Input{Artifact: &parsers.Artifact{ID: "1", Type: "text"}, Data: []byte(encode("a.txt", []byte("a"), encOpts{})), Budget: parsers.NewBudget(ctx, parsers.Limits{})}
	rec := &parsertest.Recorder{}
	if err := New().Parse(ctx, in, rec); !errors.Is(err, parsers.ErrDeadline) || len(rec.Children) != 0 {
		t.Errorf("err %v, %d children", err, len(rec.Children))
	}
}

func TestCleanName(t *testing.T) {
	tests := map[string]string{
		"invoice.zip":             "invoice.zip",
		`C:\temp\x.exe`:           "x.exe",
		"../../etc/passwd":        "passwd",
		"dir/":                    "uue-block-3.bin",
		"..":                      "uue-block-3.bin",
		"a\x01b.txt":              "a_b.txt",
		"bad\xffutf8.txt":         "bad_utf8.txt",
		strings.Repeat("é", 200):  strings.Repeat("é", 127),
		"  spaced name.doc.exe  ": "spaced name.doc.exe",
	}
	for in, want := range tests {
		if got := cleanName(in, 3); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatch(t *testing.T) {
	block := []byte("Hi\nbegin 644 a.zip\nM86)C\n")
	tests := []struct {
		name, file, typ string
		head            []byte
		want            bool
	}{
		{"text_any", "body.txt", "text", []byte("hello"), true},
		{"uue_name_binary", "PO_12345.uue", "binary", []byte{0, 1, 2}, true},
		{"uu_name", "x.UU", "empty", nil, true},
		{"xxe_name", "x.xxe", "text", nil, true},
		{"bat_with_block", "a.zip", "bat", block, true},
		{"bat_without", "a.bat", "bat", []byte("@echo off\n"), false},
		{"html_with_block", "body.html", "html", block, true},
		{"binary_ascii_block", "part-1.2", "binary", append([]byte{1}, block...), true},
		{"binary_not_ascii", "part-1.2", "binary", append(bytes.Repeat([]byte{0x90, 0}, 64), block...), false},
		{"zip", "a.zip", "zip", block, false},
		{"eml", "input.eml", "eml", block, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := New().Match(&parsers.Artifact{Name: tc.file, Type: tc.typ}, tc.head); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}
	if New().Match(nil, block) {
		t.Error("Match(nil) = true")
	}
}
