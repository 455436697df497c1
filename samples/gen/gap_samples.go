package main

import (
	"encoding/binary"
	"time"

	"triage/parsers/exe"
	"triage/samples/gen/lnkw"
	"triage/samples/gen/office"
	"triage/samples/gen/office/ovba"
)

// gapSamples closes the gaps `triage rules lint` and `triage rules
// coverage` reported: a positive for every rule that never fired and a
// near-miss negative for every campaign that had none.
func gapSamples() []Sample {
	return []Sample{
		// Positives.
		{"malicious", "emotet-caret-cmd", "emotet", 1,
			"§1 December 2020 Emotet variant: 会議資料_1221.doc whose Document_Open (ThisDocument) calls Module1, which Shells the string literal cmd /c msg %username% /v Word experienced an error trying to open the file. & P^Ow^er^she^L^L -w hidden -ENCOD <base64 UTF-16LE of Write-Output 'TRIAGE-REGRESSION'>; reply-chain subject without thread headers.",
			true, emotetCaretCmd},
		{"malicious", "emotet-doc-wmi", "emotet", 1,
			"§1 Emotet WMI launch, January 2020 coronavirus lure (IPA): Document_Open in ThisDocument sets Win32_ProcessStartup ShowWindow = 0 and calls GetObject(\"winmgmts:\\\\.\\root\\cimv2:Win32_Process\").Create with powershell -enc <base64 UTF-16LE of Write-Output 'TRIAGE-REGRESSION'>.",
			true, emotetDocWMI},
		{"malicious", "emotet-payment-doc", "emotet", 2,
			"§2 August 2017 Emotet wave: the §1 document (emotet-doc-jp's 請求書.doc, byte for byte) attached as PAYMENT 225EWF.doc to an English payment-confirmation mail.",
			true, emotetPaymentDoc},
		{"malicious", "iqy-dde-response", "iqy", 5,
			"§5 companion fixture: the web-query response q.html (an Excel HTML table whose one cell is =cmd|' /c echo TRIAGE-REGRESSION'!A0) delivered as q.xls (HTML saved with .xls, as Excel opens it) in the 写真添付 lure.",
			true, iqyDDEResponse},
		{"malicious", "jrat-config-jar", "adwind", 8,
			"§8 older jRAT build: SWIFT_Copy_MT103.zip holding SWIFT_Copy_MT103.jar with one-letter classes a/a, a/b, a/c (Main-Class a.a prints TRIAGE-REGRESSION), a 16-byte random key.dat, a 1 KB random enc.dat and a config.xml naming c2.example.invalid:9; fake SWIFT transfer notice.",
			true, jratConfigJar},
		{"malicious", "agenttesla-autoit", "agenttesla", 12,
			"§12 AutoIt variant: RE: Purchase Order #4472 / 注文書 with PO_20200716.zip holding PO_20200716.exe, a hello-world PE whose overlay carries the AutoIt script header (AU3!EA06, >>>AUTOIT SCRIPT<<<) and the plain script MsgBox(0,\"\",\"TRIAGE-REGRESSION\").",
			true, agentTeslaAutoIt},
		{"malicious", "pylocky-zip-exe", "pylocky", 6,
			"§6 fixture: French invoice mail with facture_2018.zip holding facture.exe, a hello-world PE standing in for an Inno Setup installer (overlay with the Inno Setup Setup Data (5.5.7) header) that wraps a PyInstaller program (_MEIPASS2 string, a CArchive with the MEI\\x0c\\x0b\\x0a\\x0b\\x0e cookie and one stored script printing TRIAGE-REGRESSION).",
			true, pylockyZipExe},
		{"malicious", "netwalker-ps1", "netwalker", 14,
			"§14 reflective loading: CORONAVIRUS_COVID-19.ps1 compiles VirtualAlloc/CreateThread P/Invoke signatures with Add-Type -TypeDefinition $src (never called) and passes a 4 KB zero array to [System.Reflection.Assembly]::Load (which rejects it); prints only TRIAGE-REGRESSION.",
			true, netwalkerPS1},
		{"malicious", "rtf-equation", "lnk", 15,
			"RTF exploit vehicle of the 2017 Japanese RTF waves: an RTF (named 注文書_0612.doc) with \\object\\objemb, \\objclass Equation.3 and \\objdata holding an OLE1 object of class Equation.3 whose native data is 28 zero bytes (no MTEF, nothing to exploit).",
			true, rtfEquation},

		// Near-miss negatives.
		{"clean", "pylocky-portal-fr", "pylocky", 6,
			"Near miss for §6: a genuine French invoice notification (Votre facture 2018-08 est disponible) from the supplier's own authenticated domain, linking an https customer-portal page, not an archive.",
			false, pylockyPortalFR},
		{"clean", "karaage-au-newsletter", "karaage", 9,
			"Near miss for §9: a genuine carrier promotion from \"au お客さまセンター\" <info@au.com> with SPF/DKIM/DMARC pass, mentioning a プレゼント campaign and linking campaign pages (on .example hosts); no 当選 or からあげ wording.",
			false, karaageAuNewsletter},
		{"clean", "fifa-club-newsletter", "fifa", 10,
			"Near miss for §10: a sports club's newsletter mentioning the World Cup public viewing, with a one-page PDF match schedule attached; no executable, ticket or prize wording.",
			false, fifaClubNewsletter},
		{"clean", "bec-internal-schedule", "bec", 11,
			"Near miss for §11: an internal finance reply (keiri@corp.example to staff@corp.example, Reply-To on the same domain, SPF/DKIM/DMARC pass, In-Reply-To and References present) about the monthly 振込 schedule.",
			false, becInternalSchedule},
		{"clean", "agenttesla-po-pdf", "agenttesla", 12,
			"Near miss for §12: a genuine purchase order (subject Purchase Order #4471) from an authenticated supplier domain with PO_4471.pdf attached.",
			false, agentTeslaPOPDF},
		{"clean", "netwalker-regress-ps1", "netwalker", 14,
			"Near miss for §14 (the catalogue's regress.ps1): a here-string holding the VirtualAlloc/CreateThread P/Invoke signature text that is never passed to Add-Type, and a 200 KB (204800-byte) zero array XORed with 0x5A in a loop, sent internally by the security team.",
			false, netwalkerRegressPS1},
		{"clean", "lnk-network-folder", "lnk", 15,
			"Near miss for §15: Reports.zip holding Reports.lnk, a shortcut to the network folder \\\\fileserver.corp.example\\share\\Reports (LinkInfo CommonNetworkRelativeLink, directory attributes, shell32.dll,3 folder icon, normal show command, no arguments), from IT.",
			false, lnkNetworkFolder},
	}
}

// --- §1/§2 Emotet ------------------------------------------------------------

// helloCommand is the inert PowerShell every encoded command here decodes to.
func helloCommand() string { return psEncodedCommand("Write-Output '" + Marker + "'") }

// caretCommand is the December 2020 cmd line: a fake error through msg,
// then caret-split PowerShell with a hidden window and an encoded command.
func caretCommand() string {
	return "cmd /c msg %username% /v Word experienced an error trying to open the file. & P^Ow^er^she^L^L -w hidden -ENCOD " + helloCommand()
}

func emotetCaretCmd() ([]byte, error) {
	when := time.Date(2020, 12, 21, 0, 12, 0, 0, time.UTC)
	p := &ovba.Project{
		CodePage: 932,
		LCID:     0x0411,
		Modules: []ovba.Module{
			{Name: "ThisDocument", Kind: ovba.Document, Base: ovba.BaseWordDocument,
				Code: "Private Sub Document_Open()\n    Nq4Start\nEnd Sub\n"},
			{Name: "Module1", Kind: ovba.Procedural, Code: "Option Explicit\n\n" +
				"Public Sub Nq4Start()\n" +
				"    Dim c As String\n" +
				"    c = \"" + caretCommand() + "\"\n" +
				"    Shell c, vbHide\n" +
				"End Sub\n"},
		},
	}
	doc, err := lureDoc(p, when)
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2020, 12, 21, 9, 31, 17, 0, jst),
			from:    [2]string{"鈴木 一郎", "office@hijacked-sender.example"},
			to:      [2]string{"", "tanaka@corp.example"},
			subject: "RE: 会議資料の件",
			charset: csISO2022,
			msgID:   "20201221093117.C4A7E1@hijacked-sender.example",
		},
		charset: csISO2022, cte: cte7bit,
		body: "お世話になっております。\n\n" +
			"先日の会議資料を添付いたします。\n" +
			"ご確認のほどよろしくお願いいたします。\n\n" +
			"> 会議資料をお送りいただけますでしょうか。\n",
		boundary: "----=_NextPart_000_0A31_01D6D7B2.4C5D6E70",
		files:    []file{{"会議資料_1221.doc", ctDoc, csISO2022, doc}},
	}.bytes()
}

// wmiDocumentOpen is ThisDocument of emotet-doc-wmi: the 2019 waves' WMI
// process launch with a hidden window, in the auto-exec procedure itself.
func wmiDocumentOpen() string {
	return "Private Sub Document_Open()\n" +
		"    Dim cmd As String, st As Object, cfg As Object, pr As Object, pid As Long\n" +
		"    cmd = \"powershell -enc \" & \"" + helloCommand() + "\"\n" +
		"    Set st = GetObject(\"winmgmts:\\\\.\\root\\cimv2:Win32_ProcessStartup\")\n" +
		"    Set cfg = st.SpawnInstance_\n" +
		"    cfg.ShowWindow = 0\n" +
		"    Set pr = GetObject(\"winmgmts:\\\\.\\root\\cimv2:Win32_Process\")\n" +
		"    pr.Create cmd, Null, cfg, pid\n" +
		"End Sub\n"
}

func emotetDocWMI() ([]byte, error) {
	when := time.Date(2020, 1, 28, 23, 5, 0, 0, time.UTC)
	p := &ovba.Project{
		CodePage: 932,
		LCID:     0x0411,
		Modules: []ovba.Module{
			{Name: "ThisDocument", Kind: ovba.Document, Base: ovba.BaseWordDocument, Code: wmiDocumentOpen()},
		},
	}
	doc, err := lureDoc(p, when)
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2020, 1, 29, 8, 47, 2, 0, jst),
			from:    [2]string{"障害保健福祉推進室", "suishin@welfare-notice.example"},
			to:      [2]string{"", "soumu@corp.example"},
			subject: "新型コロナウイルスにかかる注意喚起",
			charset: csISO2022,
			msgID:   "20200129084702.3B8D@welfare-notice.example",
		},
		charset: csISO2022, cte: cte7bit,
		body: "障害者福祉サービス事業所 ご担当者さま\n\n" +
			"いつもお世話になっております。\n" +
			"新型コロナウイルスによる感染症の発生について、注意喚起の通知を添付いたします。\n" +
			"ご確認のうえ、感染予防の対策をお願いいたします。\n\n" +
			"保健福祉局 障害保健福祉推進室\n" +
			"〒000-0000 (住所は省略)\n" +
			"TEL 000-000-0000 / FAX 000-000-0000\n",
		boundary: "----=_NextPart_000_0011_01D5D6A1.9E2F3A40",
		// The name is UTF-8: a name this long needs RFC 2231 continuations,
		// and split ISO-2022-JP continuations are decoded wrongly by the
		// engine (see the report; not what this sample is about).
		files: []file{{"20200129_新型コロナウイルス通知.doc", ctDoc, csUTF8, doc}},
	}.bytes()
}

func emotetPaymentDoc() ([]byte, error) {
	doc, err := emotetDoc(false, false)
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2017, 8, 23, 9, 17, 40, 0, est),
			from:    [2]string{"David Clark", "d.clark@ap-remittance.example"},
			to:      [2]string{"", "billing@corp.example"},
			subject: "Payment Confirmation",
			msgID:   "20170823091740.225EWF@ap-remittance.example",
		},
		charset: csASCII, cte: cte7bit,
		body: "Hello,\n\n" +
			"Please find attached the payment confirmation for your records.\n" +
			"If the document does not display correctly, click Enable Content.\n\n" +
			"Regards,\nDavid Clark\nAccounts Payable\n",
		boundary: "=_emotet_payment_0701",
		files:    []file{{"PAYMENT 225EWF.doc", ctDoc, csUTF8, doc}},
	}.bytes()
}

// --- §5 IQY --------------------------------------------------------------------

// iqyResponse is q.html, what the §5 query URL returned: an Excel HTML table
// whose one cell is a DDE formula (stored here, never served).
const iqyResponse = `<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel">
<head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><title>q</title></head>
<body>
<table>
<tr><td>=cmd|' /c echo ` + Marker + `'!A0</td></tr>
</table>
</body>
</html>
`

func iqyDDEResponse() ([]byte, error) {
	return email{
		header: hdr{
			date:    time.Date(2018, 8, 6, 11, 2, 36, 0, jst),
			from:    [2]string{"吉田 さくら", "yoshida.sakura@kt-mailer.example"},
			to:      [2]string{"", "tanaka@corp.example"},
			subject: "写真添付",
			charset: csISO2022,
			msgID:   "20180806110236.7E21A0C5D6@kt-mailer.example",
			extra:   []field{{name: "X-Mailer", value: "Microsoft Outlook 16.0"}},
		},
		charset: csISO2022, cte: cte7bit,
		body:     "XLS版をお送りします。ご確認ください。\n",
		boundary: "------------_5B67AF14_0002",
		files:    []file{{"q.xls", ctXls, csUTF8, toCRLF([]byte(iqyResponse))}},
	}.bytes()
}

// --- §8 jRAT -------------------------------------------------------------------

func jratConfigJar() ([]byte, error) {
	when := time.Date(2017, 7, 14, 8, 2, 30, 0, cet)
	r := rng{s: 0x1a7c0f}
	config := `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<properties>
<comment>` + Marker + ` inert sample</comment>
<entry key="NAME">` + Marker + `</entry>
<entry key="HOST">c2.example.invalid</entry>
<entry key="PORT">9</entry>
<entry key="DELAY">3000</entry>
</properties>
`
	jar, err := jarArchive(manifest("a.a"), []jarClass{
		{name: "a/a", main: Marker},
		{name: "a/b"},
		{name: "a/c"},
	}, []zipEntry{
		{name: "key.dat", data: r.bytes(16), modified: when},
		{name: "enc.dat", data: r.bytes(1024), modified: when},
		{name: "config.xml", data: []byte(config), modified: when},
	}, when)
	if err != nil {
		return nil, err
	}
	z, err := zipArchive([]zipEntry{{name: "SWIFT_Copy_MT103.jar", data: jar, modified: when}})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2017, 7, 14, 8, 9, 12, 0, cet),
			from:    [2]string{"International Payments", "payments@swift-transfer-notice.example"},
			to:      [2]string{"", "accounts@corp.example"},
			subject: "SWIFT transfer copy MT103 - payment released",
			msgID:   "20170714080912.MT103.payments@swift-transfer-notice.example",
		},
		charset: csASCII, cte: cte7bit,
		body: "Dear Sir/Madam,\n\n" +
			"Please find attached the SWIFT copy (MT103) of the transfer made to your account today.\n" +
			"Kindly confirm receipt of the funds.\n\n" +
			"Regards,\nInternational Payments Desk\n",
		boundary: "=_jrat_0801",
		files:    []file{{"SWIFT_Copy_MT103.zip", "application/zip", csUTF8, z}},
	}.bytes()
}

// --- §12 AutoIt ----------------------------------------------------------------

// autoitScriptSig is the 16 bytes that open an AutoIt v3 compiled-script
// blob, before the AU3!EA06 type marker.
var autoitScriptSig = []byte{0xa3, 0x48, 0x4b, 0xbe, 0x98, 0x6c, 0x4a, 0xa9, 0x99, 0x4c, 0x53, 0x0a, 0x86, 0xd6, 0x48, 0x7d}

// autoitExe is a hello-world PE with an AutoIt script blob appended as an
// overlay. Real compilers encrypt the script; this one is plain text.
func autoitExe(script string) []byte {
	b := exe.MinimalPE(Marker+"\r\n", false)
	b = append(b, autoitScriptSig...)
	b = append(b, "AU3!EA06"...)
	b = append(b, ">>>AUTOIT SCRIPT<<<\x00"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(script)))
	b = append(b, script...)
	return append(b, "AU3!EA06"...)
}

func agentTeslaAutoIt() ([]byte, error) {
	when := time.Date(2020, 7, 16, 10, 2, 44, 0, jst)
	z, err := zipArchive([]zipEntry{{name: "PO_20200716.exe", data: autoitExe(`MsgBox(0,"","` + Marker + `")` + "\r\n"), modified: when}})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2020, 7, 16, 10, 6, 3, 0, jst),
			from:    [2]string{"Purchasing Department", "purchasing@global-trade-supply.example"},
			to:      [2]string{"", "marketing@corp.example"},
			subject: "RE: Purchase Order #4472 / 注文書",
			msgID:   "20200716100603.4472.purchasing@global-trade-supply.example",
		},
		charset: csUTF8, cte: cteQP,
		body: "Dear Sir/Madam,\n\n" +
			"Following our previous mail, please find the revised purchase order PO_20200716 attached.\n" +
			"Kindly confirm price and delivery date.\n\n" +
			"注文書を再送いたします。ご確認をお願いいたします。\n\n" +
			"Best regards,\nPurchasing Department\n",
		boundary: "=_agenttesla_1201",
		files:    []file{{"PO_20200716.zip", "application/zip", csUTF8, z}},
	}.bytes()
}

// --- §6 PyLocky ----------------------------------------------------------------

// pyInstallerArchive is a PyInstaller CArchive (PKG): one stored entry, the
// table of contents, then the 88-byte cookie (magic MEI\x0c\x0b\x0a\x0b\x0e,
// package length, TOC offset and length, Python version, Python DLL name).
func pyInstallerArchive(name string, data []byte) []byte {
	be := binary.BigEndian
	pkg := append([]byte(nil), data...)
	tocOff := len(pkg)
	// TOC entry: entry length, data offset, stored and full length, the
	// compression flag, the type code ('s' = script), then the NUL-padded
	// name; the entry is padded to 16 bytes.
	entryLen := 18 + len(name) + 1
	entryLen += (16 - entryLen%16) % 16
	var toc []byte
	toc = be.AppendUint32(toc, uint32(entryLen))
	toc = be.AppendUint32(toc, 0)
	toc = be.AppendUint32(toc, uint32(len(data)))
	toc = be.AppendUint32(toc, uint32(len(data)))
	toc = append(toc, 0, 's')
	toc = append(toc, name...)
	toc = append(toc, make([]byte, entryLen-18-len(name))...)
	pkg = append(pkg, toc...)
	const cookieLen = 88
	pkg = append(pkg, "MEI\x0c\x0b\x0a\x0b\x0e"...)
	pkg = be.AppendUint32(pkg, uint32(len(pkg)+cookieLen-8))
	pkg = be.AppendUint32(pkg, uint32(tocOff))
	pkg = be.AppendUint32(pkg, uint32(len(toc)))
	pkg = be.AppendUint32(pkg, 27)
	lib := make([]byte, 64)
	copy(lib, "python27.dll")
	return append(pkg, lib...)
}

// pyLockyExe is a hello-world PE standing in for an Inno Setup installer:
// its overlay opens with the 64-byte setup-data ID and carries a
// PyInstaller program (bootloader stand-in, its _MEIPASS2 string and a
// CArchive).
func pyLockyExe() []byte {
	b := exe.MinimalPE(Marker+"\r\n", false)
	id := make([]byte, 64)
	copy(id, "Inno Setup Setup Data (5.5.7)")
	b = append(b, id...)
	b = append(b, exe.MinimalPE(Marker+"\r\n", false)...)
	b = append(b, "_MEIPASS2\x00"...)
	return append(b, pyInstallerArchive("facture", []byte("print('"+Marker+"')\n"))...)
}

func pylockyZipExe() ([]byte, error) {
	when := time.Date(2018, 8, 22, 7, 58, 0, 0, cet)
	z, err := zipArchive([]zipEntry{{name: "facture.exe", data: pyLockyExe(), modified: when}})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2018, 8, 22, 8, 3, 51, 0, cet),
			from:    [2]string{"Service Comptabilité", "comptabilite@factures-en-ligne.example"},
			to:      [2]string{"", "contact@corp.example"},
			subject: "Facture impayée 2018-08 - relance",
			msgID:   "20180822080351.2018-08-r@factures-en-ligne.example",
		},
		charset: csUTF8, cte: cteQP,
		body: "Bonjour,\n\n" +
			"Veuillez trouver ci-joint la facture n° 2018-08 restée impayée.\n" +
			"Merci d'ouvrir le fichier joint et de procéder au règlement sous 48 heures.\n\n" +
			"Cordialement,\nService Comptabilité\n",
		boundary: "=_pylocky_0601",
		files:    []file{{"facture_2018.zip", "application/zip", csUTF8, z}},
	}.bytes()
}

// --- §14 Netwalker -------------------------------------------------------------

// pinvokeSignatures is C# declaring VirtualAlloc and CreateThread.
const pinvokeSignatures = `using System;
using System.Runtime.InteropServices;
public static class K32 {
    [DllImport("kernel32.dll")]
    public static extern IntPtr VirtualAlloc(IntPtr lpAddress, UIntPtr dwSize, uint flAllocationType, uint flProtect);
    [DllImport("kernel32.dll")]
    public static extern IntPtr CreateThread(IntPtr lpThreadAttributes, UIntPtr dwStackSize, IntPtr lpStartAddress, IntPtr lpParameter, uint dwCreationFlags, IntPtr lpThreadId);
}`

// reflectivePS1 compiles the signatures (never calling them) and hands a
// zero array to Assembly::Load, which throws.
const reflectivePS1 = `# ` + Marker + ` inert sample: the native functions are declared but never
# called, and the "assembly" is 4096 zero bytes, which Assembly::Load rejects.
$src = @"
` + pinvokeSignatures + `
"@
Add-Type -TypeDefinition $src
$bytes = New-Object byte[] 4096
try {
    [System.Reflection.Assembly]::Load($bytes) | Out-Null
} catch {
}
Write-Output '` + Marker + `'
`

func netwalkerPS1() ([]byte, error) {
	return email{
		header: hdr{
			date:    time.Date(2020, 3, 24, 14, 20, 9, 0, time.UTC),
			from:    [2]string{"IT Service Desk", "servicedesk@covid19-it-support.example"},
			to:      [2]string{"", "staff@corp.example"},
			subject: "COVID-19 remote work check",
			msgID:   "20200324142009.ps1.servicedesk@covid19-it-support.example",
		},
		charset: csASCII, cte: cte7bit,
		body: "Dear all,\n\n" +
			"IT has prepared a script that checks your PC for the coronavirus (COVID-19) remote-work setup.\n" +
			"Right-click the attached file and choose Run with PowerShell.\n\n" +
			"IT Service Desk\n",
		boundary: "=_netwalker_1401",
		files:    []file{{"CORONAVIRUS_COVID-19.ps1", "application/octet-stream", csUTF8, toCRLF([]byte(reflectivePS1))}},
	}.bytes()
}

// regressPS1 is the catalogue's §14 regress.ps1: the signature text stays
// in a here-string, and the 200 KB array is built and XORed at run time so
// the file stays small.
const regressPS1 = `# ` + Marker + ` regression fixture for the endpoint-protection test.
# The signature text below is documentation only; nothing compiles or calls it.
$signature = @"
` + pinvokeSignatures + `
"@
$b = New-Object byte[] 204800
for ($i = 0; $i -lt $b.Length; $i++) { $b[$i] = $b[$i] -bxor 0x5A }
Write-Output ('` + Marker + ` ' + $b.Length + ' bytes, ' + $signature.Length + ' characters of signature text')
`

func netwalkerRegressPS1() ([]byte, error) {
	return email{
		header: hdr{
			date:    time.Date(2020, 9, 1, 16, 12, 0, 0, jst),
			from:    [2]string{"Naoki Ito", "n.ito@corp.example"},
			to:      [2]string{"", "soc@corp.example"},
			subject: "regress.ps1 for the monthly EDR regression run",
			msgID:   "20200901161200.regress.n.ito@corp.example",
			trace:   corpTrace(),
		},
		charset: csASCII, cte: cte7bit,
		body: "Hi SOC team,\n\n" +
			"As agreed, attached is regress.ps1 for this month's endpoint-protection regression run.\n" +
			"It only builds a zero buffer, XORs it and prints its size; the P/Invoke text is a\n" +
			"here-string used as test data and is never compiled.\n\n" +
			"Regards,\nNaoki Ito\nSecurity Engineering\n",
		boundary: "=_regress_1402",
		files:    []file{{"regress.ps1", "application/octet-stream", csUTF8, toCRLF([]byte(regressPS1))}},
	}.bytes()
}

// --- RTF Equation Editor -----------------------------------------------------

func rtfEquation() ([]byte, error) {
	rtf, err := office.RTF(office.RTFOptions{
		Paragraphs: []string{"注文書", "下記の通り注文いたします。数量と金額をご確認ください。"},
		Class:      "Equation.3",
		Native:     make([]byte, 28), // an EQNOLEFILEHDR's size, all zero: no MTEF
	})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2018, 6, 12, 9, 40, 18, 0, jst),
			from:    [2]string{"購買部 井上", "inoue@chumon-center.example"},
			to:      [2]string{"", "eigyo@corp.example"},
			subject: "注文書の送付",
			charset: csISO2022,
			msgID:   "20180612094018.EQ03@chumon-center.example",
		},
		charset: csISO2022, cte: cte7bit,
		body:     "お世話になっております。\n\n注文書を添付いたします。\nご確認のほどよろしくお願いいたします。\n",
		boundary: "=_rtfeq_1501",
		files:    []file{{"注文書_0612.doc", ctDoc, csISO2022, rtf}},
	}.bytes()
}

// --- negatives ---------------------------------------------------------------

func pylockyPortalFR() ([]byte, error) {
	return email{
		header: hdr{
			date:    time.Date(2018, 8, 28, 6, 0, 0, 0, cet),
			from:    [2]string{"Énergie Sud", "factures@energie-sud.example"},
			to:      [2]string{"", "contact@corp.example"},
			subject: "Votre facture 2018-08 est disponible",
			msgID:   "20180828060000.2018-08.factures@energie-sud.example",
			trace:   passTrace("energie-sud.example"),
		},
		charset: csUTF8, cte: cteQP,
		body: "Bonjour,\n\n" +
			"Votre facture du mois d'août 2018 (n° 2018-08) est disponible dans votre espace client.\n" +
			"Montant : 1 248,00 EUR, prélevé le 5 septembre 2018.\n\n" +
			"Consulter la facture : https://espace-client.energie-sud.example/factures/2018-08\n\n" +
			"Ceci est un message automatique, merci de ne pas y répondre.\n" +
			"Énergie Sud - Service Client\n",
	}.bytes()
}

func karaageAuNewsletter() ([]byte, error) {
	return email{
		header: hdr{
			date:    time.Date(2019, 6, 14, 12, 0, 0, 0, jst),
			from:    [2]string{"au お客さまセンター", "info@au.com"},
			to:      [2]string{"", "user01@corp.example"},
			subject: "【au】夏のキャンペーンのお知らせ",
			charset: csISO2022,
			msgID:   "20190614120000.summer2019@au.com",
			trace:   passTrace("au.com"),
			extra:   []field{{name: "List-Unsubscribe", value: "<https://www.au-news.example/mail/stop/>"}},
		},
		charset: csISO2022, cte: cte7bit,
		body: "auをご利用いただきありがとうございます。\n\n" +
			"■夏のキャンペーンのお知らせ\n" +
			"期間中に対象の料金プランへお申し込みいただいた方に、\n" +
			"Pontaポイントをプレゼントいたします。\n" +
			"詳しくはキャンペーンページをご覧ください。\n" +
			"https://www.au-news.example/campaign/summer2019/\n\n" +
			"■ご利用料金のご確認\n" +
			"https://www.au-news.example/support/bill/\n\n" +
			"本メールは送信専用です。配信停止はこちら：https://www.au-news.example/mail/stop/\n\n" +
			"KDDI株式会社 au お客さまセンター\n",
	}.bytes()
}

func fifaClubNewsletter() ([]byte, error) {
	return email{
		header: hdr{
			date:    time.Date(2018, 6, 8, 18, 30, 0, 0, bst),
			from:    [2]string{"Riverside FC", "newsletter@riverside-fc.example"},
			to:      [2]string{"", "members@corp.example"},
			subject: "Club newsletter June 2018: World Cup viewing in the clubhouse",
			msgID:   "20180608183000.june@riverside-fc.example",
			trace:   passTrace("riverside-fc.example"),
			extra:   []field{{name: "List-Id", value: "<newsletter.riverside-fc.example>"}},
		},
		charset: csUTF8, cte: cteQP,
		body: "Dear members,\n\n" +
			"The 2018 FIFA World Cup starts on 14 June. We will show the group-stage matches\n" +
			"on the big screen in the clubhouse; the schedule is attached as a PDF.\n" +
			"Youth training moves to Saturday mornings during the tournament.\n\n" +
			"See you at the club,\nThe Riverside FC committee\n",
		boundary: "=_fifa_club_1001",
		files: []file{{"World_Cup_2018_Viewing_Schedule.pdf", "application/pdf", csUTF8,
			minimalPDF("World Cup 2018 viewing schedule", "Riverside FC - World Cup 2018 viewing schedule (TRIAGE-REGRESSION)")}},
	}.bytes()
}

func becInternalSchedule() ([]byte, error) {
	parent := "<20200915101500.7F3A@corp.example>"
	return email{
		header: hdr{
			date:    time.Date(2020, 9, 15, 11, 2, 0, 0, jst),
			from:    [2]string{"経理部 中村", "keiri@corp.example"},
			to:      [2]string{"", "staff@corp.example"},
			replyTo: [2]string{"経理部", "keiri@corp.example"},
			subject: "RE: 今月の振込スケジュールについて",
			charset: csISO2022,
			msgID:   "20200915110200.8A1B@corp.example",
			trace:   corpTrace(),
			extra:   []field{{name: "In-Reply-To", value: parent}, {name: "References", value: parent}},
		},
		charset: csISO2022, cte: cte7bit,
		body: "各位\n\n" +
			"経理部の中村です。\n" +
			"今月の取引先への振込は、通常どおり25日に実行します。\n" +
			"支払依頼書は20日までに経費精算システムで申請してください。\n" +
			"振込先の変更がある場合は、取引先からの正式な書面を添えて経理部までご相談ください。\n\n" +
			"経理部 中村\n\n" +
			"> 今月の振込日程を教えてください。\n" +
			"> 営業部 高橋\n",
	}.bytes()
}

func agentTeslaPOPDF() ([]byte, error) {
	return email{
		header: hdr{
			date:    time.Date(2020, 7, 14, 16, 40, 0, 0, jst),
			from:    [2]string{"Maria Lopez", "m.lopez@northwind-components.example"},
			to:      [2]string{"", "tanaka@corp.example"},
			subject: "Purchase Order #4471",
			msgID:   "20200714164000.4471.m.lopez@northwind-components.example",
			trace:   passTrace("northwind-components.example"),
		},
		charset: csASCII, cte: cte7bit,
		body: "Dear Tanaka-san,\n\n" +
			"Please find attached our purchase order #4471 for 200 units of part A-1120,\n" +
			"as quoted on 10 July. Delivery to our Osaka warehouse by 31 July.\n\n" +
			"Best regards,\nMaria Lopez\nProcurement, Northwind Components\n",
		boundary: "=_po_pdf_1202",
		files: []file{{"PO_4471.pdf", "application/pdf", csUTF8,
			minimalPDF("Purchase Order 4471", "Purchase Order #4471 - 200 x A-1120 (TRIAGE-REGRESSION)")}},
	}.bytes()
}

func lnkNetworkFolder() ([]byte, error) {
	when := time.Date(2020, 4, 6, 1, 30, 0, 0, time.UTC)
	l := lnkw.Link{
		NetName:        `\\fileserver.corp.example\share`,
		PathSuffix:     "Reports",
		IconLocation:   `%SystemRoot%\System32\shell32.dll`,
		IconIndex:      3,
		ShowCommand:    lnkw.ShowNormal,
		FileAttributes: lnkw.FileAttributeDirectory,
		Created:        when,
		Accessed:       when,
		Written:        when,
	}
	lnk, err := l.Bytes()
	if err != nil {
		return nil, err
	}
	z, err := zipArchive([]zipEntry{{name: "Reports.lnk", data: lnk, modified: time.Date(2020, 4, 6, 10, 35, 0, 0, jst)}})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2020, 4, 6, 10, 40, 0, 0, jst),
			from:    [2]string{"情報システム部 山口", "yamaguchi@corp.example"},
			to:      [2]string{"", "staff@corp.example"},
			subject: "月次レポートの共有フォルダ",
			charset: csISO2022,
			msgID:   "20200406104000.lnk.yamaguchi@corp.example",
			trace:   corpTrace(),
		},
		charset: csISO2022, cte: cte7bit,
		body: "各位\n\n" +
			"情報システム部です。\n" +
			"月次レポートの保存先を共有フォルダに移しました。\n" +
			"添付のショートカットをデスクトップに置くと、\\\\fileserver.corp.example\\share\\Reports が開きます。\n\n" +
			"情報システム部 山口\n",
		boundary: "=_lnk_share_1502",
		files:    []file{{"Reports.zip", "application/zip", csUTF8, z}},
	}.bytes()
}
