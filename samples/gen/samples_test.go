package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/bodgit/sevenzip"
	_ "github.com/emersion/go-message/charset" // ISO-2022-JP, Shift_JIS
	"github.com/emersion/go-message/mail"
	"github.com/kdomanski/iso9660"
	"golang.org/x/text/encoding/japanese"

	"triage/samples/gen/lnkw"
)

// These tests open every generated sample with independent readers
// (go-message, archive/zip, bodgit/sevenzip, kdomanski/iso9660) and check
// the facts the catalogue asks for, so that a builder bug cannot hide
// behind byte-for-byte reproducibility.

// part is one decoded leaf of a message.
type part struct {
	ctype    string
	filename string
	body     []byte // transfer-decoded; text/* converted to UTF-8
}

type parsedMail struct {
	header mail.Header
	parts  []part
}

func parseMail(t *testing.T, raw []byte) parsedMail {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("mail.CreateReader: %v", err)
	}
	pm := parsedMail{header: r.Header}
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		body, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		var lp part
		lp.body = body
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			lp.ctype, _, _ = h.ContentType()
		case *mail.AttachmentHeader:
			lp.ctype, _, _ = h.ContentType()
			lp.filename, err = h.Filename()
			if err != nil {
				t.Errorf("attachment file name: %v", err)
			}
		}
		pm.parts = append(pm.parts, lp)
	}
	return pm
}

func (pm parsedMail) subject(t *testing.T) string {
	t.Helper()
	s, err := pm.header.Subject()
	if err != nil {
		t.Errorf("subject: %v", err)
	}
	return s
}

func (pm parsedMail) attachment(t *testing.T, name string) []byte {
	t.Helper()
	for _, p := range pm.parts {
		if p.filename == name {
			return p.body
		}
	}
	var names []string
	for _, p := range pm.parts {
		names = append(names, p.filename)
	}
	t.Fatalf("no attachment %q (have %q)", name, names)
	return nil
}

func (pm parsedMail) text() string {
	var b strings.Builder
	for _, p := range pm.parts {
		if strings.HasPrefix(p.ctype, "text/") && p.filename == "" {
			b.Write(p.body)
		}
	}
	return b.String()
}

func zipMembers(t *testing.T, b []byte) map[string]*zip.File {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("zip: %v", err)
	}
	m := map[string]*zip.File{}
	for _, f := range zr.File {
		m[f.Name] = f
	}
	return m
}

func readMember(t *testing.T, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatalf("open %q: %v", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 16<<20))
	if err != nil {
		t.Fatalf("read %q: %v", f.Name, err)
	}
	return b
}

func sample(t *testing.T, slug string) []byte {
	t.Helper()
	for _, s := range allSamples() {
		if s.Slug == slug {
			b, err := s.Build()
			if err != nil {
				t.Fatalf("%s: %v", slug, err)
			}
			return b
		}
	}
	t.Fatalf("no sample %q", slug)
	return nil
}

// lnkArguments pulls COMMAND_LINE_ARGUMENTS out of a link written by lnkw
// (no ID list; LinkInfo; then counted UTF-16 strings in flag order).
func lnkArguments(t *testing.T, b []byte) string {
	t.Helper()
	le := binary.LittleEndian
	if len(b) < lnkw.HeaderSize || !bytes.Equal(b[4:20], lnkw.CLSID[:]) {
		t.Fatalf("not a shell link")
	}
	flags := le.Uint32(b[20:])
	if show := le.Uint32(b[60:]); show != lnkw.ShowMinNoActivate {
		t.Errorf("ShowCommand %d", show)
	}
	if icon := int32(le.Uint32(b[56:])); icon != -102 {
		t.Errorf("IconIndex %d", icon)
	}
	off := lnkw.HeaderSize
	if flags&lnkw.HasLinkInfo != 0 {
		off += int(le.Uint32(b[off:]))
	}
	for _, f := range []uint32{lnkw.HasName, lnkw.HasRelativePath, lnkw.HasWorkingDir, lnkw.HasArguments} {
		if flags&f == 0 {
			continue
		}
		n := int(le.Uint16(b[off:]))
		u := make([]uint16, n)
		for i := range u {
			u[i] = le.Uint16(b[off+2+2*i:])
		}
		off += 2 + 2*n
		if f == lnkw.HasArguments {
			return string(utf16.Decode(u))
		}
	}
	t.Fatal("link has no arguments")
	return ""
}

// checkLnk verifies the §15 shortcut and that its encoded command decodes
// to the stage-2 URL.
func checkLnk(t *testing.T, b []byte) {
	t.Helper()
	args := lnkArguments(t, b)
	const pre = "-NoProfile -WindowStyle Hidden -EncodedCommand "
	if !strings.HasPrefix(args, pre) {
		t.Fatalf("arguments %q", args)
	}
	cmd := decodePSCommand(t, strings.TrimPrefix(args, pre))
	if !strings.Contains(cmd, "http://example.invalid/regress/stage2.ps1") || !strings.Contains(cmd, Marker) {
		t.Errorf("decoded command %q", cmd)
	}
	if !bytes.Contains(b, []byte(`%SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe`)) {
		t.Error("no %SystemRoot% powershell target")
	}
}

func TestIQYPhoto(t *testing.T) {
	raw := sample(t, "iqy-jp-photo")
	pm := parseMail(t, raw)
	if got := pm.subject(t); got != "写真添付" {
		t.Errorf("subject %q", got)
	}
	if !bytes.Contains(raw, []byte("Subject: =?ISO-2022-JP?B?")) {
		t.Error("subject is not ISO-2022-JP B-encoded")
	}
	if got := pm.text(); got != "XLS版をお送りします。ご確認ください。\r\n" {
		t.Errorf("body %q", got)
	}
	if !bytes.Contains(raw, []byte("charset=ISO-2022-JP")) {
		t.Error("body is not ISO-2022-JP")
	}
	// go-message falls back on the RFC 2047 name (Go's mime drops RFC 2231
	// values in charsets other than UTF-8); check the RFC 2231 form too.
	if got := pm.attachment(t, "写真.iqy"); string(got) != iqyBody {
		t.Errorf("iqy %q", got)
	}
	m := regexp.MustCompile(`filename\*=ISO-2022-JP''(\S+)`).FindSubmatch(raw)
	if m == nil {
		t.Fatal("no RFC 2231 ISO-2022-JP filename")
	}
	unesc, err := url.PathUnescape(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	name, err := japanese.ISO2022JP.NewDecoder().String(unesc)
	if err != nil || name != "写真.iqy" {
		t.Errorf("RFC 2231 filename %q, %v", name, err)
	}
	from, err := pm.header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "吉田 さくら" || strings.HasSuffix(from[0].Address, "corp.example") {
		t.Errorf("From %v, %v", from, err)
	}
}

func TestIQYRenamed(t *testing.T) {
	pm := parseMail(t, sample(t, "iqy-renamed-txt"))
	if got := pm.attachment(t, "invoice.txt"); string(got) != iqyBody {
		t.Errorf("invoice.txt %q", got)
	}
}

func TestForwardedIQY(t *testing.T) {
	pm := parseMail(t, sample(t, "forwarded-iqy"))
	if got := pm.subject(t); got != "Fwd: suspicious mail" {
		t.Errorf("subject %q", got)
	}
	inner := pm.attachment(t, "suspicious mail.eml")
	if !bytes.Equal(inner, sample(t, "iqy-jp-photo")) {
		t.Error("the attached message is not the §5 sample")
	}
	if addr, _ := pm.header.AddressList("From"); len(addr) != 1 || addr[0].Address != "soc-reporter@corp.example" {
		t.Errorf("From %v", addr)
	}
}

func TestZipPasswordJScript(t *testing.T) {
	pm := parseMail(t, sample(t, "zip-password-jscript"))
	if !strings.Contains(pm.text(), "パスワード：7731") {
		t.Errorf("body lacks the password: %q", pm.text())
	}
	members := zipMembers(t, pm.attachment(t, "請求書.zip"))
	sjis, err := japanese.ShiftJIS.NewEncoder().String("請求書.js")
	if err != nil {
		t.Fatal(err)
	}
	f := members[sjis]
	if f == nil || len(members) != 1 {
		t.Fatalf("members %v", members)
	}
	if f.Flags&0x1 == 0 || f.Flags&0x800 != 0 {
		t.Errorf("flags %#x: want encrypted, not UTF-8", f.Flags)
	}
	// Decrypt with the password from the body (PKWARE traditional).
	rc, err := f.OpenRaw()
	if err != nil {
		t.Fatal(err)
	}
	enc, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	plain := zipCryptoDecrypt("7731", enc)
	if plain[11] != byte(f.CRC32>>24) {
		t.Errorf("password check byte %#x, CRC high byte %#x", plain[11], f.CRC32>>24)
	}
	js, err := io.ReadAll(flate.NewReader(bytes.NewReader(plain[12:])))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`new ActiveXObject("MSXML2.XMLHTTP")`, "http://example.invalid/regress/p.exe", "ADODB.Stream", "SaveToFile", "WScript.Shell", "cmd /c echo " + Marker} {
		if !bytes.Contains(js, []byte(s)) {
			t.Errorf("script lacks %q", s)
		}
	}
}

func TestLnkPDFZip(t *testing.T) {
	pm := parseMail(t, sample(t, "lnk-pdf-zip"))
	members := zipMembers(t, pm.attachment(t, "請求書.zip"))
	f := members["請求書.pdf.lnk"]
	if f == nil || len(members) != 1 {
		t.Fatalf("members %v", members)
	}
	checkLnk(t, readMember(t, f))
}

func TestISOLnk(t *testing.T) {
	pm := parseMail(t, sample(t, "iso-lnk"))
	img := pm.attachment(t, "Invoice_2020-07.iso")
	im, err := iso9660.OpenImage(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	root, err := im.RootDir()
	if err != nil {
		t.Fatal(err)
	}
	kids, err := root.GetChildren()
	if err != nil || len(kids) != 1 {
		t.Fatalf("children %v, %v", kids, err)
	}
	if !strings.HasSuffix(kids[0].Name(), ".lnk") {
		t.Errorf("ISO member %q", kids[0].Name())
	}
	b, err := io.ReadAll(kids[0].Reader())
	if err != nil {
		t.Fatal(err)
	}
	checkLnk(t, b)
	pvd := img[16*2048:]
	if got := string(pvd[813:829]); got != "2020071510000000" || pvd[829] != 36 {
		t.Errorf("volume creation time %q %d", got, pvd[829])
	}
}

func TestAdwindJar(t *testing.T) {
	raw := sample(t, "adwind-jar")
	pm := parseMail(t, raw)
	outer := zipMembers(t, pm.attachment(t, "Payment_Advice.zip"))
	jf := outer["Payment_Advice.pdf.jar"]
	if jf == nil {
		t.Fatalf("zip members %v", outer)
	}
	jar := zipMembers(t, readMember(t, jf))
	if man := string(readMember(t, jar["META-INF/MANIFEST.MF"])); !strings.Contains(man, "Main-Class: lIlIl.Main\r\n") {
		t.Errorf("manifest %q", man)
	}
	il := regexp.MustCompile(`^[Il/]+\.class$`)
	classes, obf := 0, 0
	for name := range jar {
		if strings.HasSuffix(name, ".class") {
			classes++
			if il.MatchString(name) {
				obf++
			}
		}
	}
	if classes != 151 || obf != 150 || jar["lIlIl/Main.class"] == nil {
		t.Errorf("%d classes, %d I/l-only, Main present %v", classes, obf, jar["lIlIl/Main.class"] != nil)
	}
	if dat := jar["lIl.dat"]; dat == nil || len(readMember(t, dat)) != 4096 {
		t.Error("no 4 KB lIl.dat")
	}
	if !bytes.Contains(raw, []byte("From: HSBC Advising Service <advice@not-hsbc.example>")) {
		t.Error("From is not the HSBC look-alike")
	}
}

func TestHTMLSmuggling(t *testing.T) {
	pm := parseMail(t, sample(t, "html-smuggling"))
	html := string(pm.attachment(t, "Invoice_Secure.html"))
	for _, s := range []string{"atob(", "new Blob(", "msSaveOrOpenBlob", `a.download = "invoice.zip"`} {
		if !strings.Contains(html, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	m := regexp.MustCompile(`var data = "([A-Za-z0-9+/=]+)"`).FindStringSubmatch(html)
	if m == nil {
		t.Fatal("no base64 payload")
	}
	z, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	js := zipMembers(t, z)["invoice.pdf.js"]
	if js == nil || !strings.Contains(string(readMember(t, js)), `WScript.Echo("`+Marker+`")`) {
		t.Error("smuggled zip lacks invoice.pdf.js")
	}
}

func TestLocky7z(t *testing.T) {
	pm := parseMail(t, sample(t, "locky-7z-vbs"))
	if got := pm.subject(t); got != "Emailed Invoice - 583920" {
		t.Errorf("subject %q", got)
	}
	if !strings.Contains(pm.text(), "http://c.example.invalid/invoice.html") {
		t.Error("body lacks the link")
	}
	b := pm.attachment(t, "A1234567-01.7z")
	r, err := sevenzip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.File) != 1 || r.File[0].Name != "8812345.vbs" {
		t.Fatalf("7z members %v", r.File)
	}
	rc, err := r.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	vbs, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(regexp.MustCompile(`http://[a-e]\.example\.invalid/87abcXYZ`).FindAll(vbs, -1)); n != 5 {
		t.Errorf("%d rotating URLs, want 5", n)
	}
	for _, s := range []string{"MSXML2.XMLHTTP", "ADODB.Stream", `WScript.Echo "` + Marker + `"`} {
		if !bytes.Contains(vbs, []byte(s)) {
			t.Errorf("script lacks %q", s)
		}
	}
}

func TestAvaddon(t *testing.T) {
	pm := parseMail(t, sample(t, "avaddon-jpg-js"))
	if got := pm.subject(t); got != "Do you like my photo?" {
		t.Errorf("subject %q", got)
	}
	if got := strings.TrimSpace(pm.text()); got != ";)" {
		t.Errorf("body %q", got)
	}
	js := zipMembers(t, pm.attachment(t, "IMG123101.zip"))["IMG123101.jpg.js"]
	if js == nil || strings.TrimSpace(string(readMember(t, js))) != `WScript.Echo("`+Marker+`")` {
		t.Error("IMG123101.jpg.js missing or not the one-liner")
	}
}

func TestNetwalker(t *testing.T) {
	pm := parseMail(t, sample(t, "netwalker-vbs"))
	vbs := string(pm.attachment(t, "CORONAVIRUS_COVID-19.vbs"))
	m := regexp.MustCompile(`blob = "([A-Za-z0-9+/=]+)"`).FindStringSubmatch(vbs)
	if m == nil {
		t.Fatal("no blob")
	}
	pe, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil || !bytes.HasPrefix(pe, []byte("MZ")) {
		t.Errorf("blob does not decode to MZ: %v", err)
	}
	for _, s := range []string{"ADODB.Stream", "SaveToFile", "Scripting.FileSystemObject", "CreateTextFile", `%TEMP%") & "\qeSw.exe"`} {
		if !strings.Contains(vbs, s) {
			t.Errorf("script lacks %q", s)
		}
	}
}

func TestExecutableSamples(t *testing.T) {
	tests := []struct {
		slug, subject, zipName, member string
		strs                           []string
	}{
		{"fifa-exe-zip", "World_Cup_2018_Schedule_and_Scoresheet_V1.86_CB-DL-Manager", "World_Cup_2018_Schedule.zip", "Schedule_and_Scoresheet.exe", []string{Marker}},
		{"agenttesla-zip-exe", "RE: Purchase Order #4471 / 注文書", "PO_20200715.zip", "PO_20200715.exe", []string{Marker, "Becky", "FileZilla", "smtp", "BSJB"}},
	}
	for _, tc := range tests {
		t.Run(tc.slug, func(t *testing.T) {
			pm := parseMail(t, sample(t, tc.slug))
			if got := pm.subject(t); got != tc.subject {
				t.Errorf("subject %q", got)
			}
			members := zipMembers(t, pm.attachment(t, tc.zipName))
			f := members[tc.member]
			if f == nil || len(members) != 1 {
				t.Fatalf("members %v", members)
			}
			pe := readMember(t, f)
			if !bytes.HasPrefix(pe, []byte("MZ")) {
				t.Error("not a PE")
			}
			for _, s := range tc.strs {
				if !bytes.Contains(pe, []byte(s)) {
					t.Errorf("PE lacks %q", s)
				}
			}
		})
	}
}

func TestPolicySamples(t *testing.T) {
	elf := parseMail(t, sample(t, "policy-elf")).attachment(t, "backup_tool")
	if !bytes.HasPrefix(elf, []byte("\x7fELF")) {
		t.Error("backup_tool is not ELF")
	}
	macho := parseMail(t, sample(t, "policy-macho")).attachment(t, "backup_tool_mac")
	if !bytes.HasPrefix(macho, []byte{0xcf, 0xfa, 0xed, 0xfe}) {
		t.Error("backup_tool_mac is not Mach-O")
	}
}

func TestMailOnlyLures(t *testing.T) {
	tests := []struct {
		slug, subject, fromName, fromAddr string
		body                              []string
		headers                           map[string]string
	}{
		{"karaage-prize", "【当選】からあげプレゼントクーポンのお知らせ", "au お客さまセンター", "info@carrier-prize.example",
			[]string{"http://example.invalid/coupon?id=TRIAGE", "からあげプレゼントクーポン", "当選"},
			map[string]string{"Authentication-Results": "spf=fail"}},
		{"bec-ceo-transfer", "至急:本日中の振込依頼", "代表取締役 佐藤", "ceo.sato@freemail.example",
			[]string{"振込", "口座変更"},
			map[string]string{"Reply-To": "sato.ceo@corp-example.example", "Authentication-Results": "dmarc=fail", "To": "keiri@corp.example"}},
		{"pylocky-link-fr", "Facture impayée 2018-08", "Service Comptabilité", "comptabilite@factures-en-ligne.example",
			[]string{"http://example.invalid/facture_2018.zip"}, nil},
		{"emotet-link-invoice", "Invoice 4821 payment due", "Karen Miller", "karen.miller@smallbiz-accounting.example",
			[]string{"http://example.invalid/INVOICE-4821.doc"}, nil},
		{"plain-reply", "RE: 打ち合わせ日程の件", "鈴木 一郎", "suzuki@partner-co.example",
			[]string{"> 打ち合わせの日程ですが"},
			map[string]string{"In-Reply-To": "<20200714093012.1A2B3C@corp.example>", "References": "<20200714093012.1A2B3C@corp.example>"}},
		{"newsletter-ja", "【サンプル商事】メールマガジン 2020年8月号", "サンプル商事 広報部", "news@sample-shoji.example",
			[]string{"https://www.sample-shoji.example/news/2020/08/", `<a href="https://shop.sample-shoji.example/sale">`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.slug, func(t *testing.T) {
			pm := parseMail(t, sample(t, tc.slug))
			if got := pm.subject(t); got != tc.subject {
				t.Errorf("subject %q, want %q", got, tc.subject)
			}
			from, err := pm.header.AddressList("From")
			if err != nil || len(from) != 1 || from[0].Name != tc.fromName || from[0].Address != tc.fromAddr {
				t.Errorf("From %v, %v", from, err)
			}
			text := pm.text()
			for _, s := range tc.body {
				if !strings.Contains(text, s) {
					t.Errorf("body lacks %q", s)
				}
			}
			for k, v := range tc.headers {
				if got := pm.header.Get(k); !strings.Contains(got, v) {
					t.Errorf("%s: %q lacks %q", k, got, v)
				}
			}
			for _, p := range pm.parts {
				if p.filename != "" {
					t.Errorf("unexpected attachment %q", p.filename)
				}
			}
		})
	}
}

func TestCleanArchives(t *testing.T) {
	pdfs := zipMembers(t, parseMail(t, sample(t, "zip-of-pdfs")).attachment(t, "documents_2020-07.zip"))
	if len(pdfs) != 3 {
		t.Errorf("%d members, want 3", len(pdfs))
	}
	for name, f := range pdfs {
		if b := readMember(t, f); !strings.HasSuffix(name, ".pdf") || !bytes.HasPrefix(b, []byte("%PDF-1.4")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) {
			t.Errorf("%s is not a PDF", name)
		}
	}

	jar := zipMembers(t, parseMail(t, sample(t, "business-jar")).attachment(t, "report-tool-1.4.2.jar"))
	if man := string(readMember(t, jar["META-INF/MANIFEST.MF"])); !strings.Contains(man, "Main-Class: com.example.app.Main\r\n") {
		t.Errorf("manifest %q", man)
	}
	classes := 0
	for name := range jar {
		if strings.HasSuffix(name, ".class") {
			classes++
			if !strings.HasPrefix(name, "com/example/app/") {
				t.Errorf("unexpected class %s", name)
			}
		}
	}
	if classes != 6 || jar["com/example/app/Main.class"] == nil {
		t.Errorf("%d classes, Main present %v; want 6 with com/example/app/Main", classes, jar["com/example/app/Main.class"] != nil)
	}

	notes := string(parseMail(t, sample(t, "text-mentions-web")).attachment(t, "notes.txt"))
	if first, _, _ := strings.Cut(notes, "\n"); strings.TrimSpace(first) == "WEB" {
		t.Error("notes.txt starts like an IQY")
	}
	for _, s := range []string{"\nWEB\r\n1\r\n", "http://"} {
		if !strings.Contains(notes, s) {
			t.Errorf("notes.txt lacks %q", s)
		}
	}
}

func TestZipBomb(t *testing.T) {
	raw := sample(t, "zip-bomb")
	if len(raw) > 1100<<10 {
		t.Errorf("zip-bomb sample is %d bytes", len(raw))
	}
	members := zipMembers(t, parseMail(t, raw).attachment(t, "backup.zip"))
	f := members["data.bin"]
	if f == nil || len(members) != 1 {
		t.Fatalf("members %v", members)
	}
	if f.UncompressedSize64 != 256<<20 || f.CompressedSize64 > 400<<10 {
		t.Errorf("sizes %d → %d", f.CompressedSize64, f.UncompressedSize64)
	}
}

func TestBrokenMIME(t *testing.T) {
	raw := sample(t, "broken-mime")
	longest := 0
	for _, l := range bytes.Split(raw, []byte("\r\n")) {
		longest = max(longest, len(l))
	}
	if longest < 100*1024 {
		t.Errorf("longest line %d bytes", longest)
	}
	if n := bytes.Count(raw, []byte("Content-Type: multipart/mixed; boundary=\"=_nest_")); n != 200 {
		t.Errorf("%d nested multiparts, want 200", n)
	}
	if bytes.Contains(raw, []byte("--=_broken_top--")) {
		t.Error("top multipart is terminated")
	}
	if !bytes.Contains(raw, []byte("!!!@@@")) {
		t.Error("no broken base64")
	}
}

// zipCryptoDecrypt is an independent PKWARE traditional decryption
// (APPNOTE 6.1): it returns the 12-byte header followed by the data.
func zipCryptoDecrypt(password string, b []byte) []byte {
	step := func(c uint32, x byte) uint32 { return crc32.IEEETable[byte(c)^x] ^ c>>8 }
	k0, k1, k2 := uint32(0x12345678), uint32(0x23456789), uint32(0x34567890)
	update := func(x byte) {
		k0 = step(k0, x)
		k1 = (k1+k0&0xff)*134775813 + 1
		k2 = step(k2, byte(k1>>24))
	}
	for i := 0; i < len(password); i++ {
		update(password[i])
	}
	out := make([]byte, len(b))
	for i, c := range b {
		t := k2 | 2
		p := c ^ byte((t*(t^1))>>8)
		out[i] = p
		update(p)
	}
	return out
}

var urlRE = regexp.MustCompile(`https?://[^\s"'<>()\\]+`)

// TestInert checks every URL in every decoded part and in every zip member
// (OOXML parts included): hosts must be reserved (.invalid, .example) or
// 127.0.0.1:9. It also bounds sample sizes and requires the marker.
func TestInert(t *testing.T) {
	for _, s := range allSamples() {
		if s.Slug == "broken-mime" {
			continue // deliberately unparseable; its text has no URL
		}
		t.Run(s.Slug, func(t *testing.T) {
			raw, err := s.Build()
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) > 1500<<10 {
				t.Errorf("%d bytes", len(raw))
			}
			if !bytes.Contains(raw, []byte(Marker)) {
				t.Error("no marker")
			}
			if s.Slug == "avaddon-junk-header-js" {
				// Its stray header line is the point of the sample; a strict
				// parser rejects it, so read it without that line.
				raw = bytes.Replace(raw, []byte("\r\nIMG123101\r\n"), []byte("\r\n"), 1)
			}
			var texts []string
			for _, p := range parseMail(t, raw).parts {
				texts = append(texts, string(p.body))
				if bytes.HasPrefix(p.body, []byte("PK\x03\x04")) {
					for _, f := range zipMembers(t, p.body) {
						if f.Flags&1 == 0 && f.UncompressedSize64 < 1<<20 {
							texts = append(texts, string(readMember(t, f)))
						}
					}
				}
			}
			for _, tx := range texts {
				for _, u := range urlRE.FindAllString(tx, -1) {
					if err := inertURL(u, !s.Positive); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
}

// xmlNamespaceHosts name XML namespaces (OOXML parts), never fetched.
var xmlNamespaceHosts = map[string]bool{
	"schemas.openxmlformats.org": true, "schemas.microsoft.com": true, "purl.org": true, "www.w3.org": true,
}

// inertURL accepts reserved hosts, 127.0.0.1:9 and XML namespace names; a
// negative control may also link a real video provider (§4).
func inertURL(raw string, negative bool) error {
	u, err := url.Parse(strings.TrimRight(raw, ".,;"))
	if err != nil {
		return fmt.Errorf("URL %q: %v", raw, err)
	}
	h := u.Hostname()
	switch {
	case strings.HasSuffix(h, ".invalid"), strings.HasSuffix(h, ".example"), u.Host == "127.0.0.1:9", xmlNamespaceHosts[h]:
		return nil
	case negative && (h == "www.youtube.com" || h == "www.youtube-nocookie.com"):
		return nil
	}
	return fmt.Errorf("URL %q is not on a reserved host", raw)
}
