package rtf

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"triage/parsers"
	"triage/parsers/parsertest"
)

func le32(b *bytes.Buffer, v int) { binary.Write(b, binary.LittleEndian, uint32(v)) }
func le16(b *bytes.Buffer, v int) { binary.Write(b, binary.LittleEndian, uint16(v)) }

func lpString(b *bytes.Buffer, s string) {
	if s == "" {
		le32(b, 0)
		return
	}
	le32(b, len(s)+1)
	b.WriteString(s)
	b.WriteByte(0)
}

// ole1Embedded builds an OLE 1.0 embedded object.
func ole1Embedded(class string, native []byte) []byte {
	var b bytes.Buffer
	le32(&b, 0x0501)
	le32(&b, formatEmbedded)
	lpString(&b, class)
	lpString(&b, "")
	lpString(&b, "")
	le32(&b, len(native))
	b.Write(native)
	return b.Bytes()
}

// packageNative builds OLE Package native data.
func packageNative(label, src, temp string, data []byte) []byte {
	var b bytes.Buffer
	le16(&b, 2)
	b.WriteString(label + "\x00" + src + "\x00")
	le16(&b, 0)
	le16(&b, 3)
	le32(&b, len(temp)+1)
	b.WriteString(temp + "\x00")
	le32(&b, len(data))
	b.Write(data)
	return b.Bytes()
}

// hexLines renders data as hex in 64-character lines, as Word does.
func hexLines(data []byte) string {
	h := hex.EncodeToString(data)
	var b strings.Builder
	for len(h) > 64 {
		b.WriteString(h[:64] + "\r\n")
		h = h[64:]
	}
	b.WriteString(h)
	return b.String()
}

func rtfObject(class string, objdata []byte) []byte {
	return []byte(`{\rtf1\ansi{\fonttbl{\f0 Calibri;}}\pard Invoice attached.` +
		`{\object\objemb\objw100\objh100{\*\objclass ` + class + `}{\*\objdata ` + hexLines(objdata) + `}}\par}`)
}

func severityOf(rec *parsertest.Recorder, code string) parsers.Severity {
	s := parsers.Severity(-1)
	for _, f := range rec.Findings {
		if f.Code == code && f.Severity > s {
			s = f.Severity
		}
	}
	return s
}

func objectsMeta(rec *parsertest.Recorder) []map[string]any {
	o, _ := rec.MetaData["objects"].([]map[string]any)
	return o
}

func TestParse_package(t *testing.T) {
	payload := []byte("WScript.Echo(\"TRIAGE-REGRESSION\")\r\n")
	tests := []struct {
		name    string
		label   string
		temp    string
		wantSev parsers.Severity
	}{
		{"script", "invoice.js", `C:\Users\x\AppData\Local\Temp\invoice.js`, parsers.Medium},
		{"renamed_temp", "invoice.txt", `C:\Users\x\AppData\Local\Temp\invoice.vbs`, parsers.Medium},
		{"text", "notes.txt", `C:\Users\x\AppData\Local\Temp\notes.txt`, parsers.Low},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := rtfObject("Package", ole1Embedded("Package", packageNative(tt.label, `C:\x\`+tt.label, tt.temp, payload)))
			rec, err := parsertest.Run(t, New(), "a.rtf", "rtf", data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(rec.Children) != 1 || rec.Children[0].Name != tt.label || !bytes.Equal(rec.Children[0].Data, payload) || rec.Children[0].Type != "" {
				t.Fatalf("children = %+v, want the packaged file", rec.Children)
			}
			if got := severityOf(rec, "rtf.object"); got != tt.wantSev {
				t.Errorf("rtf.object severity = %v, want %v", got, tt.wantSev)
			}
			objs := objectsMeta(rec)
			if len(objs) != 1 || objs[0]["class"] != "Package" || objs[0]["name"] != tt.label || objs[0]["format"] != "embedded" {
				t.Errorf("objects meta = %v", objs)
			}
			if rec.MetaData["object_count"] != 1 {
				t.Errorf("object_count = %v", rec.MetaData["object_count"])
			}
			if rec.HasFinding("rtf.obfuscated_objdata") || rec.HasFinding("rtf.malformed") {
				t.Errorf("unexpected findings %+v", rec.Findings)
			}
		})
	}
}

func TestParse_equationEditor(t *testing.T) {
	tests := []struct {
		name     string
		objclass string
		class    string
		native   []byte
	}{
		{"ole1_class", "Equation.3", "Equation.3", []byte{0x1c, 0, 0, 0, 2, 0, 0x9e, 0xc4}},
		{"disguised_clsid", "Word.Document.8", "Word.Document.8", cfbWithCLSID("0002CE02-0000-0000-C000-000000000046")},
		{"objclass_only", "Equation.3", "Word.Document.8", []byte{1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parsertest.Run(t, New(), "e.rtf", "rtf", rtfObject(tt.objclass, ole1Embedded(tt.class, tt.native)))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if severityOf(rec, "rtf.equation_editor") != parsers.High {
				t.Fatalf("no high rtf.equation_editor: %+v", rec.Findings)
			}
			if cls, _ := rec.MetaData["objclass"].([]string); len(cls) != 1 || cls[0] != tt.objclass {
				t.Errorf("objclass = %v", rec.MetaData["objclass"])
			}
			if len(rec.Children) != 1 || !bytes.Equal(rec.Children[0].Data, tt.native) {
				t.Errorf("children = %+v, want the native data", rec.Children)
			}
		})
	}
	// MathType equations are not Equation Editor objects.
	rec, _ := parsertest.Run(t, New(), "m.rtf", "rtf", rtfObject("Equation.DSMT4", ole1Embedded("Equation.DSMT4", []byte{1})))
	if rec.HasFinding("rtf.equation_editor") {
		t.Errorf("MathType object flagged: %+v", rec.Findings)
	}
}

// cfbWithCLSID builds the first sectors of a compound file whose root
// entry has the given CLSID.
func cfbWithCLSID(clsid string) []byte {
	b := make([]byte, 1024)
	copy(b, cfbMagic)
	binary.LittleEndian.PutUint16(b[0x1e:], 9)
	binary.LittleEndian.PutUint32(b[0x30:], 0) // directory at sector 0
	root := b[512:]
	copy(root, []byte("R\x00o\x00o\x00t\x00"))
	var g [16]byte
	h := strings.ReplaceAll(clsid, "-", "")
	raw, _ := hex.DecodeString(h)
	binary.LittleEndian.PutUint32(g[0:], binary.BigEndian.Uint32(raw[0:]))
	binary.LittleEndian.PutUint16(g[4:], binary.BigEndian.Uint16(raw[4:]))
	binary.LittleEndian.PutUint16(g[6:], binary.BigEndian.Uint16(raw[6:]))
	copy(g[8:], raw[8:])
	copy(root[0x50:], g[:])
	return b
}

func TestParse_ole2link(t *testing.T) {
	url := "http://127.0.0.1:9/template.hta"
	var native bytes.Buffer
	native.Write(cfbMagic)
	native.WriteString("\x00\x00junk")
	native.Write(urlMoniker)
	u16 := []byte{}
	for _, c := range url + "\x00" {
		u16 = append(u16, byte(c), 0)
	}
	le32(&native, len(u16))
	native.Write(u16)
	rec, err := parsertest.Run(t, New(), "l.rtf", "rtf", rtfObject("Word.Document.8", ole1Embedded("OLE2Link", native.Bytes())))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if severityOf(rec, "rtf.ole2link") != parsers.High {
		t.Fatalf("no high rtf.ole2link: %+v", rec.Findings)
	}
	if len(rec.URLs) != 1 || rec.URLs[0] != url {
		t.Errorf("URLs = %v, want [%s]", rec.URLs, url)
	}
}

func TestParse_obfuscatedHex(t *testing.T) {
	obj := ole1Embedded("Package", packageNative("a.txt", `C:\a.txt`, `C:\t\a.txt`, []byte("TRIAGE-REGRESSION")))
	h := hex.EncodeToString(obj)
	// Split the hex with whitespace, junk control words, an ignorable
	// group, an odd digit dropped before \'hh, raw \bin bytes and a final
	// odd digit: Word decodes all of these to the same object.
	mid := len(h) / 4 * 2
	binByte := obj[mid/2+2]
	obfuscated := h[:10] + "\r\n \t" + h[10:20] + `\foo123 ` + h[20:30] + `{\*\junk 4142}` + h[30:mid] +
		"7" + `\'41` + h[mid:mid+4] + `\bin1 ` + string([]byte{binByte}) + h[mid+6:] + "F"
	data := []byte(`{\rtf1{\object\objemb{\*\objclass Package}{\*\objdata ` + obfuscated + `}}}`)
	rec, err := parsertest.Run(t, New(), "o.rtf", "rtf", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(rec.Children) != 1 || string(rec.Children[0].Data) != "TRIAGE-REGRESSION" || rec.Children[0].Name != "a.txt" {
		t.Fatalf("children = %+v", rec.Children)
	}
	if severityOf(rec, "rtf.obfuscated_objdata") != parsers.Medium {
		t.Errorf("no medium rtf.obfuscated_objdata: %+v", rec.Findings)
	}
	objs := objectsMeta(rec)
	if len(objs) != 1 || objs[0]["size"] != len(obj) {
		t.Errorf("objects = %v, want size %d", objs, len(obj))
	}
}

// TestParse_rtfobjQuirks pins rtfobj's reading of odd constructs.
func TestParse_rtfobjQuirks(t *testing.T) {
	tests := []struct {
		name string
		rtf  string
		want []byte
	}{
		{"bin_without_param", `{\rtf1{\*\objdata 0102\bin 0304}}`, []byte{1, 2, 3, 4}},
		{"bin_negative", `{\rtf1{\*\objdata 0102\bin-5 0304}}`, []byte{1, 2, 3, 4}},
		{"bin_raw", `{\rtf1{\*\objdata 0102\bin2 ` + "\x03\x04" + `}}`, []byte{1, 2, 3, 4}},
		{"bin_past_end", `{\rtf1{\*\objdata 01\bin999 ` + "\x02", []byte{1, 2}},
		{"odd_length", `{\rtf1{\*\objdata 0102030}}`, []byte{1, 2, 3}},
		{"nested_destination_excluded", `{\rtf1{\*\objdata 01{\pict 0202}03}}`, []byte{1, 3}},
		{"plain_group_included", `{\rtf1{\*\objdata 01{\b 02}03}}`, []byte{1, 2, 3}},
		{"ignorable_group_skipped", `{\rtf1{\*\objdata 01{\*\unknownword 02}03}}`, []byte{1, 3}},
		{"destination_at_same_level", `{\rtf1{\footer x \objdata 0102}}`, []byte{1, 2}},
		{"param_eats_digits", `{\rtf1{\*\objdata\ab12 0102}}`, []byte{1, 2}},
		{"unclosed", `{\rtf1{\*\objdata 0A0B`, []byte{0x0a, 0x0b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, _ := parsertest.Run(t, New(), "q.rtf", "rtf", []byte(tt.rtf))
			if rec.MetaData["object_count"] != 1 {
				t.Fatalf("object_count = %v", rec.MetaData["object_count"])
			}
			if len(rec.Children) != 1 || !bytes.Equal(rec.Children[0].Data, tt.want) {
				t.Fatalf("children = %+v, want data %x", rec.Children, tt.want)
			}
		})
	}
}

// TestMonikerURLs_declaredLength: a URL moniker whose length field passes
// the end of the object is read up to the data present, and decoding it
// allocates for at most maxOLEString characters, not for the rest of the
// object (ten monikers in an 8 MiB object asked for 80 MiB).
func TestMonikerURLs_declaredLength(t *testing.T) {
	url := "http://127.0.0.1:9/a.hta"
	var obj []byte
	for range 10 {
		obj = append(obj, urlMoniker...)
		obj = binary.LittleEndian.AppendUint32(obj, 0xFFFFFFFF)
		for _, c := range url + "\x00" {
			obj = append(obj, byte(c), 0)
		}
	}
	obj = append(obj, make([]byte, 8<<20)...)
	var got []string
	allocs := allocatedBytes(func() { got = monikerURLs(obj) })
	if len(got) != 10 || got[0] != url {
		t.Errorf("URLs = %q", got)
	}
	if allocs > 1<<20 {
		t.Errorf("decoding 10 monikers allocated %d bytes", allocs)
	}
}

// allocatedBytes returns the bytes f allocates.
func allocatedBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestParse_hugeHexRun(t *testing.T) {
	// 100 MB of hex in one run: decoding is linear and cut by the budget.
	data := make([]byte, 0, 100<<20+64)
	data = append(data, `{\rtf1{\*\objdata `...)
	data = append(data, bytes.Repeat([]byte("0"), 100<<20)...)
	data = append(data, "}}"...)
	l := parsers.DefaultLimits()
	l.MaxArtifactBytes = parsers.MiB
	rec, err := parsertest.RunLimits(t, New(), "big.rtf", "rtf", data, l)
	if !errors.Is(err, parsers.ErrTooLarge) {
		t.Errorf("err = %v, want ErrTooLarge", err)
	}
	if !rec.HasFinding("rtf.limit") {
		t.Errorf("no rtf.limit finding: %+v", rec.Findings)
	}
	if len(rec.Children) != 1 || len(rec.Children[0].Data) != parsers.MiB || !errors.Is(rec.Children[0].Err, parsers.ErrTooLarge) {
		t.Fatalf("child: %d children, want one of %d bytes with ErrTooLarge", len(rec.Children), parsers.MiB)
	}
}

func TestParse_deepNesting(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{\rtf1`)
	const depth = 200000
	for i := 0; i < depth; i++ {
		b.WriteString(`{\pict `)
	}
	b.WriteString("abcdef")
	for i := 0; i < depth; i++ {
		b.WriteString(`}`)
	}
	b.WriteString(`{\*\objdata 0102}}`)
	rec, _ := parsertest.Run(t, New(), "deep.rtf", "rtf", b.Bytes())
	if !rec.HasFinding("rtf.limit") {
		t.Errorf("no rtf.limit for %d nested destinations: %+v", depth, rec.Findings)
	}
	if rec.MetaData["max_depth"] != depth+1 {
		t.Errorf("max_depth = %v", rec.MetaData["max_depth"])
	}
	if len(rec.Children) != 1 || !bytes.Equal(rec.Children[0].Data, []byte{1, 2}) {
		t.Errorf("the object after the deep nest was not decoded: %+v", rec.Children)
	}
}

func TestParse_tokenLimit(t *testing.T) {
	p := &Parser{maxTokens: 1000}
	data := []byte(`{\rtf1` + strings.Repeat(`\par x`, 5000) + `}`)
	rec, err := parsertest.Run(t, p, "t.rtf", "rtf", data)
	if !errors.Is(err, parsers.ErrTooMany) {
		t.Errorf("err = %v, want ErrTooMany", err)
	}
	if !rec.HasFinding("rtf.limit") {
		t.Errorf("no rtf.limit: %+v", rec.Findings)
	}
}

func TestParse_malformed(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{"unbalanced", `{\rtf1{\b bold}`},
		{"no_header", `hello {\rtf1}`},
		{"not_ole1", `{\rtf1{\*\objdata 00000000ffffffff}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parsertest.Run(t, New(), "m.rtf", "rtf", []byte(tt.data))
			if !errors.Is(err, parsers.ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
			if severityOf(rec, "rtf.malformed") != parsers.Low {
				t.Errorf("no low rtf.malformed: %+v", rec.Findings)
			}
		})
	}
}

func TestParse_plainDocument(t *testing.T) {
	rec, err := parsertest.Run(t, New(), "p.rtf", "rtf", []byte(`{\rtf1\ansi{\fonttbl{\f0 Arial;}}\f0 Hello \b world\b0 .\par}`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(rec.Findings) != 0 || len(rec.Children) != 0 || rec.MetaData["object_count"] != 0 {
		t.Errorf("plain document: findings %+v children %d meta %v", rec.Findings, len(rec.Children), rec.MetaData)
	}
}

// TestCorpus_rtfobj compares object counts and classes with what the
// oletools tests assert for their RTF files.
func TestCorpus_rtfobj(t *testing.T) {
	corpus := corpusDir(t)
	tests := []struct {
		file      string
		objects   int
		objclass  string
		equation  bool
		noFinding bool
	}{
		// test_issue_251.py: \bin without parameter; rtf_objects_count 1.
		{file: "oletools/tests/test-data/rtfobj/issue_251.rtf", objects: 1, objclass: "Equation.3", equation: true},
		// test_issue_185.py: \bin followed by a space; rtf_objects_count 1.
		{file: "oletools/_decrypted/tests/test-data/rtfobj/issue_185.rtf", objects: 1},
		{file: "oletools/tests/test-data/msodde/RTF-Spec-1.7.rtf", objects: 0, noFinding: true},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpus, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			rec, _ := parsertest.Run(t, New(), filepath.Base(tt.file), "rtf", data)
			if rec.MetaData["object_count"] != tt.objects || len(objectsMeta(rec)) != tt.objects {
				t.Errorf("object_count = %v (%d in meta), rtfobj finds %d", rec.MetaData["object_count"], len(objectsMeta(rec)), tt.objects)
			}
			if tt.objclass != "" {
				if cls, _ := rec.MetaData["objclass"].([]string); len(cls) == 0 || cls[0] != tt.objclass {
					t.Errorf("objclass = %v, want %s", rec.MetaData["objclass"], tt.objclass)
				}
			}
			if got := rec.HasFinding("rtf.equation_editor"); got != tt.equation {
				t.Errorf("equation_editor = %v, want %v", got, tt.equation)
			}
			if tt.noFinding && len(rec.Findings) > 0 {
				t.Errorf("findings %+v, want none", rec.Findings)
			}
		})
	}
}

// corpusDir returns the shared corpus directory or skips the test.
func corpusDir(t testing.TB) string { return parsertest.SharedCorpus(t) }
