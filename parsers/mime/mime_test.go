package mime

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/encoding/japanese"

	"triage/parsers"
	"triage/parsers/parsertest"
)

func iso2022(t testing.TB, s string) string {
	t.Helper()
	b, err := japanese.ISO2022JP.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPasswords(t *testing.T) {
	tests := []struct {
		name, text string
		want       string
	}{
		{"english_colon", "Hello,\nthe password: 7731 opens it.", "7731"},
		{"japanese_fullwidth_colon", "添付ファイルのパスワード：7731\nよろしくお願いします", "7731"},
		{"japanese_brackets", "パスワードは「Abc-123」です。", "Abc-123"},
		{"next_line", "Password for the archive\n\n  x9Q2z\n\nThanks", "x9Q2z"},
		{"german", "Das Passwort ist: geheim42", "geheim42"},
		{"pw_equals", "PW=qwerty9", "qwerty9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Passwords(tt.text)
			found := false
			for _, g := range got {
				if g == tt.want {
					found = true
				}
			}
			if !found {
				t.Errorf("Passwords(%q) = %q, want it to contain %q", tt.text, got, tt.want)
			}
		})
	}
	if got := Passwords("Nothing to see here, just a newsletter."); len(got) != 0 {
		t.Errorf("passwords found in plain text: %q", got)
	}
}

func TestParse_japaneseHeadersAndRFC2231Name(t *testing.T) {
	subj := iso2022(t, "写真添付")
	body := iso2022(t, "XLS版をお送りします。ご確認ください。パスワード：7731")
	name := "写真.iqy"
	jisName := iso2022(t, name)
	var pct strings.Builder
	for _, b := range []byte(jisName) {
		fmt.Fprintf(&pct, "%%%02X", b)
	}
	msg := "From: =?ISO-2022-JP?B?" + b64(iso2022(t, "山田")) + "?= <yamada@sender.example.invalid>\r\n" +
		"To: staff@corp.example.invalid\r\n" +
		"Subject: =?ISO-2022-JP?B?" + b64(subj) + "?=\r\n" +
		"Date: Mon, 6 Aug 2018 10:00:00 +0900\r\nMessage-ID: <a@b>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n" +
		"--XX\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" + body + "\r\n" +
		"--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=ISO-2022-JP''" + pct.String() + "\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		b64("WEB\r\n1\r\nhttp://127.0.0.1:9/regress/q.html\r\n") + "\r\n--XX--\r\n"
	rec, err := parsertest.Run(t, New(), "m.eml", "eml", []byte(msg))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := rec.MetaData["subject"]; got != "写真添付" {
		t.Errorf("subject = %q, want 写真添付", got)
	}
	if got := rec.MetaData["from"]; got != "山田 <yamada@sender.example.invalid>" {
		t.Errorf("from = %q", got)
	}
	if len(rec.Children) != 2 {
		t.Fatalf("children = %d, want body and attachment", len(rec.Children))
	}
	if !strings.Contains(string(rec.Children[0].Data), "ご確認ください") {
		t.Errorf("body not decoded from ISO-2022-JP: %q", rec.Children[0].Data)
	}
	att := rec.Children[1]
	if att.Name != name {
		t.Errorf("attachment name = %q, want %q", att.Name, name)
	}
	if att.Meta["filename_encoding"] != "rfc2231" {
		t.Errorf("filename_encoding = %v", att.Meta["filename_encoding"])
	}
	if !bytes.HasPrefix(att.Data, []byte("WEB\r\n1\r\n")) {
		t.Errorf("attachment not base64-decoded: %q", att.Data)
	}
	if len(rec.Passwords) == 0 || rec.Passwords[0] != "7731" {
		t.Errorf("passwords = %q, want 7731 first", rec.Passwords)
	}
	if !rec.HasFinding("mail.lure_subject") {
		t.Errorf("lure subject not flagged: %+v", rec.Findings)
	}
}

func TestParse_rfc2047QuotedName(t *testing.T) {
	enc := "=?ISO-2022-JP?B?" + b64(iso2022(t, "請求書.zip")) + "?="
	msg := "From: a@b.invalid\r\nTo: c@d.invalid\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: application/zip; name=\"" + enc + "\"\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==\r\n--b--\r\n"
	rec, err := parsertest.Run(t, New(), "m.eml", "eml", []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Children) != 1 || rec.Children[0].Name != "請求書.zip" {
		t.Fatalf("children = %+v, want one named 請求書.zip", rec.Children)
	}
}

func TestParse_forwardedMessageIsAChild(t *testing.T) {
	inner := "From: x@evil.invalid\r\nSubject: inner\r\n\r\nhello\r\n"
	msg := "From: reporter@corp.invalid\r\nTo: soc@corp.invalid\r\nSubject: Fwd: phish\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nplease check\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n" + inner + "\r\n--b--\r\n"
	rec, err := parsertest.Run(t, New(), "m.eml", "eml", []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Children) != 2 {
		t.Fatalf("children = %d", len(rec.Children))
	}
	fw := rec.Children[1]
	if fw.Type != "" || !strings.HasPrefix(string(fw.Data), "From: x@evil.invalid") {
		t.Errorf("forwarded child = type %q data %q: want the raw message, type left to detection", fw.Type, fw.Data)
	}
}

// TestParse_malformed: every kind of broken MIME yields findings and
// children, never a panic or an empty result.
func TestParse_malformed(t *testing.T) {
	hdr := "From: a@b.invalid\r\nTo: c@d.invalid\r\nSubject: broken\r\nMIME-Version: 1.0\r\n"
	deep := hdr + "Content-Type: multipart/mixed; boundary=b0\r\n\r\n"
	for i := 0; i < 10000; i++ {
		deep += fmt.Sprintf("--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i, i+1)
	}
	deep += "--b10000\r\nContent-Type: text/plain\r\n\r\ndeepest\r\n"
	var many strings.Builder
	many.WriteString(hdr + "Content-Type: multipart/mixed; boundary=m\r\n\r\n")
	for i := 0; i < 100000; i++ {
		many.WriteString("--m\r\nContent-Type: text/plain\r\n\r\nx\r\n")
	}
	many.WriteString("--m--\r\n")
	tests := []struct {
		name, msg string
		finding   string
	}{
		{"unterminated_boundary", hdr + "Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nbody text here\r\n", "mime.bad_encoding"},
		{"no_parts", hdr + "Content-Type: multipart/mixed; boundary=zz\r\n\r\nno boundary ever appears http://example.invalid/x\r\n", "mime.malformed"},
		{"broken_base64", hdr + "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8gd29ybGQ=!!!%%%not base64\r\n", "mime.bad_encoding"},
		{"huge_header", hdr + "X-Junk: " + strings.Repeat("A", 2<<20) + "\r\nContent-Type: text/plain\r\n\r\nstill here\r\n", "mime.huge_header"},
		{"deep_nesting", deep, "limit.mime_nesting"},
		{"many_parts", many.String(), "limit.mime_parts"},
		{"unknown_charset", hdr + "Content-Type: text/plain; charset=x-no-such\r\n\r\nhello\r\n", "mime.unknown_charset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, _ := parsertest.Run(t, New(), "m.eml", "eml", []byte(tt.msg))
			if !rec.HasFinding(tt.finding) {
				t.Errorf("no %s finding; findings: %+v", tt.finding, rec.Findings)
			}
			if len(rec.Children) == 0 {
				t.Errorf("no children: the message's content was lost")
			}
		})
	}
}

func TestParse_mailSignals(t *testing.T) {
	msg := "From: \"代表取締役 佐藤\" <ceo.sato@freemail.example>\r\nTo: keiri@corp.example\r\nReply-To: sato.ceo@corp-example.example\r\n" +
		"Subject: RE: 至急\r\nAuthentication-Results: mx.corp.example; dmarc=fail header.from=corp.example\r\n\r\n本日中に振込をお願いします。\r\n"
	rec, err := parsertest.Run(t, New(), "m.eml", "eml", []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"mail.reply_to_mismatch", "mail.reply_without_thread", "mail.payment_request", "mail.auth_fail"} {
		if !rec.HasFinding(code) {
			t.Errorf("missing %s; findings: %+v", code, rec.Findings)
		}
	}
	// A normal reply with thread headers and a matching Reply-To stays quiet.
	ok := "From: a@corp.example\r\nTo: b@corp.example\r\nReply-To: a@corp.example\r\nSubject: RE: lunch\r\nIn-Reply-To: <x@corp.example>\r\nReferences: <x@corp.example>\r\n\r\nsounds good\r\n"
	rec, _ = parsertest.Run(t, New(), "m.eml", "eml", []byte(ok))
	for _, f := range rec.Findings {
		if f.Severity > parsers.Info {
			t.Errorf("benign reply got finding %+v", f)
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestParamValue_rfc2231ContinuationsInISO2022JP: Go's mime package drops
// the first section of a continued extended parameter in a non-UTF-8
// charset; triage must keep the whole name.
func TestParamValue_rfc2231ContinuationsInISO2022JP(t *testing.T) {
	name := "20200129_新型コロナウイルス通知.doc"
	jis := iso2022(t, name)
	var pct strings.Builder
	for _, b := range []byte(jis) {
		fmt.Fprintf(&pct, "%%%02X", b)
	}
	enc := pct.String()
	half := len(enc) / 2
	for half%3 != 0 {
		half--
	}
	raw := "attachment; filename*0*=ISO-2022-JP''" + enc[:half] + "; filename*1*=" + enc[half:]
	got, src, ok := paramValue(raw, "filename")
	if !ok || got != name || src != "rfc2231" {
		t.Errorf("paramValue = %q (%s, %v), want %q", got, src, ok, name)
	}
	if got, _, _ := paramValue(`attachment; filename="plain name.pdf"`, "filename"); got != "plain name.pdf" {
		t.Errorf("plain parameter = %q", got)
	}
}

func TestParse_languageMismatch(t *testing.T) {
	msg := func(to, subj string) string {
		return "From: buchhaltung@firma.example\r\nTo: " + to + "\r\nSubject: " + subj + "\r\nIn-Reply-To: <x@y>\r\n\r\nbody\r\n"
	}
	rec, _ := parsertest.Run(t, New(), "m.eml", "eml", []byte(msg("keiri@corp.co.jp", "AW: Rechnung 2019-09-16")))
	if !rec.HasFinding("mail.language_mismatch") {
		t.Errorf("German invoice to a .jp tenant not flagged: %+v", rec.Findings)
	}
	rec, _ = parsertest.Run(t, New(), "m.eml", "eml", []byte(msg("buchhaltung@firma.de", "AW: Rechnung 2019-09-16")))
	if rec.HasFinding("mail.language_mismatch") {
		t.Error("German invoice to a German tenant flagged")
	}
	p, err := NewWithSignals(Signals{JapaneseTenants: []string{"corp.example"}})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ = parsertest.Run(t, p, "m.eml", "eml", []byte(msg("keiri@corp.example", "Faktura 12/2019")))
	if !rec.HasFinding("mail.language_mismatch") {
		t.Error("configured tenant domain not honoured")
	}
}
