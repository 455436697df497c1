package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	"triage/samples/gen/lnkw"
	"triage/samples/gen/office/rtfread"
)

// These tests read the gap samples back with independent readers and
// check the facts each rule or near miss depends on.

// decodePSCommand decodes a PowerShell -EncodedCommand value.
func decodePSCommand(t *testing.T, b64 string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw)%2 != 0 {
		t.Fatalf("encoded command %q: %v", b64, err)
	}
	u := make([]uint16, len(raw)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(raw[2*i:])
	}
	return string(utf16.Decode(u))
}

func TestGapSampleList(t *testing.T) {
	pos, neg := 0, 0
	for _, s := range gapSamples() {
		if s.Positive {
			pos++
			if s.Class != "malicious" {
				t.Errorf("%s: positive in %s/", s.Slug, s.Class)
			}
		} else {
			neg++
		}
	}
	if pos != 9 || neg != 7 {
		t.Errorf("%d positives and %d negatives, want 9 and 7", pos, neg)
	}
}

func TestEmotetCaretCmd(t *testing.T) {
	c := caretCommand()
	const pre = "cmd /c msg %username% /v Word experienced an error trying to open the file. & P^Ow^er^she^L^L -w hidden -ENCOD "
	if !strings.HasPrefix(c, pre) {
		t.Fatalf("command %q", c)
	}
	if got := decodePSCommand(t, strings.TrimPrefix(c, pre)); got != "Write-Output '"+Marker+"'" {
		t.Errorf("encoded command decodes to %q", got)
	}
	if strings.Contains(strings.ToLower(c), "powershell") {
		t.Error("powershell is not caret-split")
	}
	name, doc, h := officeAttachment(t, sample(t, "emotet-caret-cmd"))
	if name != "会議資料_1221.doc" {
		t.Errorf("attachment %q", name)
	}
	if h.Get("In-Reply-To") != "" || h.Get("References") != "" {
		t.Error("thread headers present")
	}
	names := cfbNames(t, doc)
	for _, s := range []string{"WordDocument", "Macros/VBA/ThisDocument", "Macros/VBA/Module1"} {
		if _, ok := names[s]; !ok {
			t.Errorf("no stream %s", s)
		}
	}
}

func TestEmotetDocWMI(t *testing.T) {
	src := wmiDocumentOpen()
	for _, s := range []string{
		"Private Sub Document_Open()",
		`GetObject("winmgmts:\\.\root\cimv2:Win32_ProcessStartup")`,
		"cfg.ShowWindow = 0",
		`GetObject("winmgmts:\\.\root\cimv2:Win32_Process")`,
		"pr.Create cmd, Null, cfg, pid",
	} {
		if !strings.Contains(src, s) {
			t.Errorf("ThisDocument lacks %q", s)
		}
	}
	m := regexp.MustCompile(`cmd = "powershell -enc " & "([A-Za-z0-9+/=]+)"`).FindStringSubmatch(src)
	if m == nil {
		t.Fatal("no powershell -enc literal")
	}
	if got := decodePSCommand(t, m[1]); got != "Write-Output '"+Marker+"'" {
		t.Errorf("encoded command decodes to %q", got)
	}
	name, doc, _ := officeAttachment(t, sample(t, "emotet-doc-wmi"))
	if name != "20200129_新型コロナウイルス通知.doc" {
		t.Errorf("attachment %q", name)
	}
	names := cfbNames(t, doc)
	if _, ok := names["Macros/VBA/ThisDocument"]; !ok {
		t.Error("no ThisDocument module")
	}
	if _, ok := names["Macros/VBA/Module1"]; ok {
		t.Error("the WMI launch must sit in ThisDocument only")
	}
}

func TestEmotetPaymentDoc(t *testing.T) {
	name, doc, _ := officeAttachment(t, sample(t, "emotet-payment-doc"))
	if name != "PAYMENT 225EWF.doc" {
		t.Errorf("attachment %q", name)
	}
	if !regexp.MustCompile(`(PAYMENT|INVOICE|Invoice)[ _-]?[A-Z0-9]{4,}\.doc[mx]?$`).MatchString(name) {
		t.Error("name does not look like the §2 lures")
	}
	_, jp, _ := officeAttachment(t, sample(t, "emotet-doc-jp"))
	if !bytes.Equal(doc, jp) {
		t.Error("not the §1 document")
	}
}

func TestIQYDDEResponse(t *testing.T) {
	pm := parseMail(t, sample(t, "iqy-dde-response"))
	if got := pm.subject(t); got != "写真添付" {
		t.Errorf("subject %q", got)
	}
	q := string(pm.attachment(t, "q.xls"))
	if !strings.HasPrefix(q, "<html") || !strings.Contains(q, "<td>=cmd|' /c echo "+Marker+"'!A0</td>") {
		t.Errorf("q.xls %q", q)
	}
	if n := strings.Count(q, "<td>"); n != 1 {
		t.Errorf("%d cells", n)
	}
}

func TestJRATConfigJar(t *testing.T) {
	outer := zipMembers(t, parseMail(t, sample(t, "jrat-config-jar")).attachment(t, "SWIFT_Copy_MT103.zip"))
	jf := outer["SWIFT_Copy_MT103.jar"]
	if jf == nil || len(outer) != 1 {
		t.Fatalf("zip members %v", outer)
	}
	jar := zipMembers(t, readMember(t, jf))
	if man := string(readMember(t, jar["META-INF/MANIFEST.MF"])); !strings.Contains(man, "Main-Class: a.a\r\n") {
		t.Errorf("manifest %q", man)
	}
	for _, c := range []string{"a/a.class", "a/b.class", "a/c.class"} {
		if b := jar[c]; b == nil || !bytes.HasPrefix(readMember(t, b), []byte{0xca, 0xfe, 0xba, 0xbe}) {
			t.Errorf("no class %s", c)
		}
	}
	if !bytes.Contains(readMember(t, jar["a/a.class"]), []byte(Marker)) {
		t.Error("a.a does not print the marker")
	}
	for name, size := range map[string]int{"key.dat": 16, "enc.dat": 1024} {
		if f := jar[name]; f == nil || len(readMember(t, f)) != size {
			t.Errorf("%s missing or not %d bytes", name, size)
		}
	}
	if f := jar["config.xml"]; f == nil || !bytes.Contains(readMember(t, f), []byte("c2.example.invalid")) || bytes.Contains(readMember(t, f), []byte("http")) {
		t.Error("no config.xml naming only c2.example.invalid")
	}
}

func TestAgentTeslaAutoIt(t *testing.T) {
	pm := parseMail(t, sample(t, "agenttesla-autoit"))
	if got := pm.subject(t); got != "RE: Purchase Order #4472 / 注文書" {
		t.Errorf("subject %q", got)
	}
	members := zipMembers(t, pm.attachment(t, "PO_20200716.zip"))
	f := members["PO_20200716.exe"]
	if f == nil || len(members) != 1 {
		t.Fatalf("members %v", members)
	}
	pe := readMember(t, f)
	if !bytes.HasPrefix(pe, []byte("MZ")) {
		t.Fatal("not a PE")
	}
	i := bytes.Index(pe, autoitScriptSig)
	if i < 0 || !bytes.HasPrefix(pe[i+16:], []byte("AU3!EA06>>>AUTOIT SCRIPT<<<\x00")) {
		t.Fatal("no AutoIt script blob")
	}
	body := pe[i+16+8+20:]
	n := int(binary.LittleEndian.Uint32(body))
	if got := string(body[4 : 4+n]); got != `MsgBox(0,"","`+Marker+`")`+"\r\n" {
		t.Errorf("script %q", got)
	}
}

func TestPyLockyZipExe(t *testing.T) {
	members := zipMembers(t, parseMail(t, sample(t, "pylocky-zip-exe")).attachment(t, "facture_2018.zip"))
	f := members["facture.exe"]
	if f == nil || len(members) != 1 {
		t.Fatalf("members %v", members)
	}
	pe := readMember(t, f)
	for _, s := range []string{"MZ", "Inno Setup Setup Data (5.5.7)", "_MEIPASS2"} {
		if !bytes.Contains(pe, []byte(s)) {
			t.Errorf("facture.exe lacks %q", s)
		}
	}
	// Read the CArchive back from its cookie, as PyInstaller's archive
	// viewer does.
	be := binary.BigEndian
	cookie := pe[len(pe)-88:]
	if string(cookie[:8]) != "MEI\x0c\x0b\x0a\x0b\x0e" {
		t.Fatalf("cookie % x", cookie[:8])
	}
	pkgLen, tocOff, tocLen := int(be.Uint32(cookie[8:])), int(be.Uint32(cookie[12:])), int(be.Uint32(cookie[16:]))
	if lib := string(bytes.TrimRight(cookie[24:], "\x00")); be.Uint32(cookie[20:]) != 27 || lib != "python27.dll" {
		t.Errorf("python %d %q", be.Uint32(cookie[20:]), lib)
	}
	pkg := pe[len(pe)-pkgLen:]
	toc := pkg[tocOff : tocOff+tocLen]
	entryLen := int(be.Uint32(toc))
	pos, clen, ulen := int(be.Uint32(toc[4:])), int(be.Uint32(toc[8:])), int(be.Uint32(toc[12:]))
	name := string(bytes.TrimRight(toc[18:entryLen], "\x00"))
	if entryLen != tocLen || entryLen%16 != 0 || toc[16] != 0 || toc[17] != 's' || name != "facture" || clen != ulen {
		t.Errorf("TOC entry len %d flag %d type %c name %q", entryLen, toc[16], toc[17], name)
	}
	if got := string(pkg[pos : pos+ulen]); got != "print('"+Marker+"')\n" {
		t.Errorf("script %q", got)
	}
}

func TestNetwalkerScripts(t *testing.T) {
	ps1 := string(parseMail(t, sample(t, "netwalker-ps1")).attachment(t, "CORONAVIRUS_COVID-19.ps1"))
	for _, s := range []string{"\r\nAdd-Type -TypeDefinition $src\r\n", "[System.Reflection.Assembly]::Load($bytes)",
		"$bytes = New-Object byte[] 4096", "VirtualAlloc", "CreateThread", "Write-Output '" + Marker + "'"} {
		if !strings.Contains(ps1, s) {
			t.Errorf("CORONAVIRUS_COVID-19.ps1 lacks %q", s)
		}
	}
	reg := string(parseMail(t, sample(t, "netwalker-regress-ps1")).attachment(t, "regress.ps1"))
	for _, s := range []string{"$signature = @\"\r\n", "VirtualAlloc", "CreateThread", "New-Object byte[] 204800", "-bxor 0x5A"} {
		if !strings.Contains(reg, s) {
			t.Errorf("regress.ps1 lacks %q", s)
		}
	}
	for _, s := range []string{"Add-Type", "Assembly]::Load", "Invoke-Expression", "IEX"} {
		if strings.Contains(reg, s) {
			t.Errorf("regress.ps1 contains %q", s)
		}
	}
	if len(reg) > 4096 {
		t.Errorf("regress.ps1 is %d bytes", len(reg))
	}
}

func TestRTFEquation(t *testing.T) {
	_, rtf, _ := officeAttachment(t, sample(t, "rtf-equation"))
	s := string(rtf)
	if !strings.HasPrefix(s, `{\rtf1`) || !strings.Contains(s, `{\object\objemb`) || !strings.Contains(s, `{\*\objclass Equation.3}`) {
		t.Fatal("no embedded Equation.3 object")
	}
	obj, err := rtfread.ReadObject(s)
	if err != nil {
		t.Fatal(err)
	}
	if obj.Class != "Equation.3" {
		t.Errorf("class %q", obj.Class)
	}
	if !bytes.Equal(obj.Native, make([]byte, 28)) {
		t.Errorf("native data % x", obj.Native)
	}
}

func TestLnkNetworkFolder(t *testing.T) {
	members := zipMembers(t, parseMail(t, sample(t, "lnk-network-folder")).attachment(t, "Reports.zip"))
	f := members["Reports.lnk"]
	if f == nil || len(members) != 1 {
		t.Fatalf("members %v", members)
	}
	b := readMember(t, f)
	le := binary.LittleEndian
	if len(b) < lnkw.HeaderSize || !bytes.Equal(b[4:20], lnkw.CLSID[:]) {
		t.Fatal("not a shell link")
	}
	flags := le.Uint32(b[20:])
	if flags&lnkw.HasLinkInfo == 0 || flags&lnkw.HasArguments != 0 {
		t.Errorf("flags %#x", flags)
	}
	if attr, icon, show := le.Uint32(b[24:]), int32(le.Uint32(b[56:])), le.Uint32(b[60:]); attr != lnkw.FileAttributeDirectory || icon != 3 || show != lnkw.ShowNormal {
		t.Errorf("attributes %#x icon %d show %d", attr, icon, show)
	}
	info := b[lnkw.HeaderSize:]
	info = info[:le.Uint32(info)]
	if le.Uint32(info[8:]) != 2 || le.Uint32(info[12:]) != 0 || le.Uint32(info[16:]) != 0 {
		t.Fatalf("LinkInfo flags %d", le.Uint32(info[8:]))
	}
	cnrl := info[le.Uint32(info[20:]):]
	net := cnrl[le.Uint32(cnrl[8:]):]
	suffix := info[le.Uint32(info[24:]):]
	path := string(net[:bytes.IndexByte(net, 0)]) + `\` + string(suffix[:bytes.IndexByte(suffix, 0)])
	if path != `\\fileserver.corp.example\share\Reports` || le.Uint32(cnrl[16:]) != lnkw.NetworkProviderLanMan {
		t.Errorf("target %q provider %#x", path, le.Uint32(cnrl[16:]))
	}
	if !bytes.Contains(b, []byte(`%SystemRoot%\System32\shell32.dll`)) {
		t.Error("no folder icon")
	}
}

func TestGapNearMissMails(t *testing.T) {
	tests := []struct {
		slug, subject, fromAddr string
		attachment              string
		body, notBody           []string
		headers                 map[string]string
	}{
		{"pylocky-portal-fr", "Votre facture 2018-08 est disponible", "factures@energie-sud.example", "",
			[]string{"https://espace-client.energie-sud.example/factures/2018-08"}, []string{".zip"},
			map[string]string{"Authentication-Results": "dkim=pass"}},
		{"karaage-au-newsletter", "【au】夏のキャンペーンのお知らせ", "info@au.com", "",
			[]string{"プレゼント"}, []string{"当選", "からあげ", "おめでとう"},
			map[string]string{"Authentication-Results": "spf=pass smtp.mailfrom=au.com; dkim=pass header.d=au.com"}},
		{"fifa-club-newsletter", "Club newsletter June 2018: World Cup viewing in the clubhouse", "newsletter@riverside-fc.example",
			"World_Cup_2018_Viewing_Schedule.pdf", []string{"World Cup"}, []string{"ticket", "prize", "winner"}, nil},
		{"bec-internal-schedule", "RE: 今月の振込スケジュールについて", "keiri@corp.example", "",
			[]string{"振込"}, nil,
			map[string]string{"In-Reply-To": "<20200915101500.7F3A@corp.example>", "References": "<20200915101500.7F3A@corp.example>",
				"Reply-To": "keiri@corp.example", "To": "staff@corp.example", "Authentication-Results": "dkim=pass header.d=corp.example"}},
		{"agenttesla-po-pdf", "Purchase Order #4471", "m.lopez@northwind-components.example", "PO_4471.pdf",
			[]string{"purchase order #4471"}, nil, map[string]string{"Authentication-Results": "dmarc=pass"}},
	}
	for _, tc := range tests {
		t.Run(tc.slug, func(t *testing.T) {
			pm := parseMail(t, sample(t, tc.slug))
			if got := pm.subject(t); got != tc.subject {
				t.Errorf("subject %q", got)
			}
			if from, err := pm.header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != tc.fromAddr {
				t.Errorf("From %v, %v", from, err)
			}
			text := pm.text()
			for _, s := range tc.body {
				if !strings.Contains(text, s) {
					t.Errorf("body lacks %q", s)
				}
			}
			for _, s := range tc.notBody {
				if strings.Contains(strings.ToLower(text), strings.ToLower(s)) {
					t.Errorf("body contains %q", s)
				}
			}
			for k, v := range tc.headers {
				if got := pm.header.Get(k); !strings.Contains(got, v) {
					t.Errorf("%s: %q lacks %q", k, got, v)
				}
			}
			var atts []string
			for _, p := range pm.parts {
				if p.filename != "" {
					atts = append(atts, p.filename)
					if !bytes.HasPrefix(p.body, []byte("%PDF-1.4")) {
						t.Errorf("%s is not a PDF", p.filename)
					}
				}
			}
			if tc.attachment == "" && len(atts) != 0 || tc.attachment != "" && (len(atts) != 1 || atts[0] != tc.attachment) {
				t.Errorf("attachments %q, want %q", atts, tc.attachment)
			}
		})
	}
}
