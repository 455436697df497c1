package mime

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

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

// TestMatcher_prefilter: the words a signal expression needs never hide a
// match: for texts in any case, with folding runes (ſ for s, K for k),
// the expression only matches where the prefilter lets it run.
func TestMatcher_prefilter(t *testing.T) {
	cs, err := compileSignals(DefaultSignals())
	if err != nil {
		t.Fatal(err)
	}
	words := []string{"invoice", "Emailed Invoice - 12345", "new doc 2020-01-02 - page 3", "message from 42", "status of invoice",
		"payment", "Rechnung", "faktura", "facture", "purchase order", "PO#", "RFQ", "remittance", "payment advice", "SWIFT",
		"photos?", "pictures of you?", "scan?", "images?", "world cup", "FIFA", "corona", "Covid", "wire transfer", "urgent: payment",
		"URGENT bank transfer", "bank account change", "bank details update", "congratulations", "you have won", "you won", "prize", "PRIZE"}
	folds := []func(string) string{
		func(s string) string { return s },
		strings.ToUpper,
		strings.ToLower,
		func(s string) string { return strings.ReplaceAll(s, "s", "ſ") },
		func(s string) string { return strings.ReplaceAll(strings.ToUpper(s), "K", "\u212a") },
		func(s string) string { return strings.ReplaceAll(s, " ", "\u00a0") },
	}
	var texts []string
	for _, w := range words {
		for _, f := range folds {
			texts = append(texts, f(w), "Re: "+f(w)+"\nplease see below", "x"+f(w)+"x", "\xff"+f(w)+"\xfe")
		}
	}
	checked, filtered := 0, 0
	for _, ms := range [][]matcher{cs.lure, cs.payment, cs.prize} {
		for _, m := range ms {
			if m.re == nil {
				continue
			}
			if len(m.need) == 0 && !strings.Contains(m.re.String(), `\p`) {
				t.Errorf("%s: no required words found", m.re)
			}
			for _, text := range texts {
				lower := strings.ToLower(text)
				may := m.mayMatch(text, lower)
				if !may {
					filtered++
				}
				if m.re.MatchString(text) {
					checked++
					if !may {
						t.Errorf("%s matches %q but the prefilter (need %q) skips it", m.re, text, m.need)
					}
				}
			}
		}
	}
	if checked < 100 || filtered < 100 {
		t.Errorf("only %d matching and %d filtered texts", checked, filtered)
	}
}

// TestPwHints: every word the password expressions name holds a hint,
// so the hint scan never skips a text they would match.
func TestPwHints(t *testing.T) {
	for _, w := range []string{"password", "passwort", "passcode", "pass", "pwd", "pw", "kennwort", "mot de passe", "contraseña", "senha",
		"hasło", "haslo", "parola", "密码", "密碼", "パスワード", "ﾊﾟｽﾜｰﾄﾞ", "暗証番号", "解凍", "解凍パスワード", "解凍キー", "비밀번호"} {
		if !pwLine.MatchString(w) {
			t.Errorf("%q is not a password word", w)
		}
		if !hasHint(w) || !hasHint(strings.ToUpper(w)) {
			t.Errorf("no hint in %q", w)
		}
	}
}

func TestJoinPrefix(t *testing.T) {
	texts := []string{"", "abc", "", strings.Repeat("x", 50), "日本語", ""}
	for i := 0; i <= len(texts); i++ {
		for n := 0; n < 80; n++ {
			want := strings.Join(texts[:i], "\n")
			if len(want) > n {
				want = want[:n]
			}
			if got := joinPrefix(texts[:i], "\n", n); got != want {
				t.Fatalf("joinPrefix(%q, %d) = %q, want %q", texts[:i], n, got, want)
			}
		}
	}
}

// TestHasHint: hasHint(text) is "strings.ToLower(text) holds one of the
// password words' hints" (the original 17, before the redundant ones were
// dropped), for texts in any case, with runes that lowercase to a hint's
// letters (K Kelvin, Ñ, Ł), invalid UTF-8 and cut-off hints.
func TestHasHint(t *testing.T) {
	all := []string{"pass", "pwd", "pw", "kennwort", "mot de passe", "contraseña", "senha", "hasło", "haslo", "parola", "密码", "密碼", "パスワード", "ﾊﾟｽﾜｰﾄﾞ", "暗証番号", "解凍", "비밀번호"}
	old := func(text string) bool {
		l := strings.ToLower(text)
		for _, h := range all {
			if strings.Contains(l, h) {
				return true
			}
		}
		return false
	}
	// Every rune lowercasing to a hint's first rune can start a match, and
	// no rune but itself lowercases to a rune of a hint that hasHint
	// compares as bytes (those starting with a non-ASCII rune).
	for r := rune(0); r <= unicode.MaxRune; r++ {
		lr := unicode.ToLower(r)
		for _, h := range pwHints {
			if first, _ := utf8.DecodeRuneInString(h); lr == first && !slices.Contains(hintStarts[utf8.AppendRune(nil, r)[0]], h) {
				t.Errorf("%q (%U) lowercases to the start of %q but its lead byte is not a hint start", r, r, h)
			}
			if h[0] >= utf8.RuneSelf && lr != r && strings.ContainsRune(h, lr) {
				t.Errorf("%q (%U) lowercases to a rune of %q, which hasHint compares as bytes", r, r, h)
			}
		}
	}
	rng := rand.New(rand.NewSource(1))
	pieces := []string{"PASS", "Pa", "sS", "p", "W", "d", "\u212aennwort", "KENNWORT", "CONTRASEÑA", "contrase", "Ñ", "HASŁO", "Has", "ł", "LO", "senHA",
		"PAROLA", "密", "码", "碼", "パスワ", "ード", "ﾊﾟｽﾜｰﾄﾞ", "暗証番号", "解", "凍", "비밀", "번호", "\xff", "\xe3\x83", "\xc5", " ", "\n", "x", "é", "’", "ſ", "İ"}
	for i := range 20000 {
		var b strings.Builder
		for range rng.Intn(12) {
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
		text := b.String()
		if got, want := hasHint(text), old(text); got != want {
			t.Fatalf("#%d hasHint(%q) = %v, want %v", i, text, got, want)
		}
	}
}

// TestParse_unknownCharsetOrEncodingDoesNotHideLaterParts: a text part
// with a bogus charset or transfer encoding is kept (undecoded) and the
// attachments after it are still opened.
func TestParse_unknownCharsetOrEncodingDoesNotHideLaterParts(t *testing.T) {
	zipB64 := "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==" // an empty zip
	for _, tt := range []struct{ name, partHeader, finding string }{
		{"charset", "Content-Type: text/plain; charset=x-bogus\r\n", "mime.unknown_charset"},
		{"encoding", "Content-Type: text/plain\r\nContent-Transfer-Encoding: x-bogus\r\n", "mime.unknown_encoding"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msg := "From: a@b.invalid\r\nSubject: invoice\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
				"--b\r\n" + tt.partHeader + "\r\nsee attached\r\n" +
				"--b\r\nContent-Type: application/zip; name=invoice.zip\r\nContent-Disposition: attachment; filename=invoice.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n" + zipB64 + "\r\n--b--\r\n"
			rec, _ := parsertest.Run(t, New(), "m.eml", "eml", []byte(msg))
			if !rec.HasFinding(tt.finding) {
				t.Errorf("no %s finding: %+v", tt.finding, rec.Findings)
			}
			var names []string
			for _, c := range rec.Children {
				names = append(names, c.Name)
			}
			if len(rec.Children) != 2 || rec.Children[1].Name != "invoice.zip" || !strings.Contains(string(rec.Children[0].Data), "see attached") {
				t.Errorf("children %q: want the text part and invoice.zip", names)
			}
		})
	}
}

func TestParse_worldCupLureSubject(t *testing.T) {
	for subject, want := range map[string]bool{
		"World_Cup_2018_Schedule_and_Scoresheet_V1.86_CB-DL-Manager": true,
		"FIFA World Cup tickets: you have been selected":             true,
		"Worldcupboard catalogue":                                    false,
		"Minutes of the cup final planning":                          false,
	} {
		msg := "From: a@b.invalid\r\nSubject: " + subject + "\r\n\r\nhello\r\n"
		rec, _ := parsertest.Run(t, New(), "m.eml", "eml", []byte(msg))
		if got := rec.HasFinding("mail.lure_subject"); got != want {
			t.Errorf("%q: lure_subject %v, want %v (%+v)", subject, got, want, rec.Findings)
		}
	}
}

// TestParse_unreadablePartHeaderDoesNotHideLaterParts: a part whose
// header cannot be read is skipped; the attachment after it is opened.
func TestParse_unreadablePartHeaderDoesNotHideLaterParts(t *testing.T) {
	msg := "From: a@b.invalid\r\nSubject: invoice\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nthis header line has no colon\r\n\r\nsee attached\r\nsecond line\r\n" +
		"--b\r\nContent-Type: application/zip; name=invoice.zip\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==\r\n--b--\r\n"
	rec, _ := parsertest.Run(t, New(), "m.eml", "eml", []byte(msg))
	var names []string
	for _, c := range rec.Children {
		names = append(names, c.Name)
	}
	if !slices.Contains(names, "invoice.zip") {
		t.Errorf("children %q: the attachment after the unreadable part was lost", names)
	}
	found := false
	for _, f := range rec.Findings {
		found = found || (f.Code == "mime.malformed" && strings.Contains(f.Detail, "skipped to the next boundary"))
	}
	if !found {
		t.Errorf("no finding for the skipped part: %+v", rec.Findings)
	}
}

// TestDropJunkHeaderLines: stray lines in header blocks are dropped (and
// only there); a message without any is returned as is.
func TestDropJunkHeaderLines(t *testing.T) {
	clean := "From: a@b.invalid\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\njunk-looking body line\r\n--b--\r\n"
	cb := []byte(clean)
	if out, n := dropJunkHeaderLines(cb); n != 0 || &out[0] != &cb[0] {
		t.Errorf("clean message copied or changed: %d dropped", n)
	}
	for _, tt := range []struct {
		name, in, want string
		n              int
	}{
		{"top", "From: a@b.invalid\r\njunk top line\r\nSubject: x\r\n\r\nbody\r\n", "From: a@b.invalid\r\nSubject: x\r\n\r\nbody\r\n", 1},
		{"part", "Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\njunk\r\nContent-Type: application/zip\r\n\r\nUEsF\r\n--b--\r\n",
			"Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/zip\r\n\r\nUEsF\r\n--b--\r\n", 1},
		{"nested", "Subject: x\r\nContent-Type: multipart/mixed; BOUNDARY=\"outer\"\r\n\r\n--outer\r\nContent-Type: multipart/alternative;\r\n boundary=inner\r\n\r\n--inner\r\n???\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--inner--\r\n--outer--\r\n",
			"Subject: x\r\nContent-Type: multipart/mixed; BOUNDARY=\"outer\"\r\n\r\n--outer\r\nContent-Type: multipart/alternative;\r\n boundary=inner\r\n\r\n--inner\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--inner--\r\n--outer--\r\n", 1},
		{"not-a-header", "Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nno fields at all\r\n\r\nbody\r\n--b--\r\n",
			"Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nno fields at all\r\n\r\nbody\r\n--b--\r\n", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, n := dropJunkHeaderLines([]byte(tt.in))
			if n != tt.n || string(out) != tt.want {
				t.Errorf("dropped %d, got\n%q\nwant %d,\n%q", n, out, tt.n, tt.want)
			}
		})
	}
}

// TestParse_junkHeaderLineDoesNotHideAttachment: a stray line opening an
// attachment's part header, or in the message's own header, no longer
// hides the attachment.
func TestParse_junkHeaderLineDoesNotHideAttachment(t *testing.T) {
	att := "Content-Type: application/zip; name=x.zip\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==\r\n--b--\r\n"
	for name, msg := range map[string]string{
		"part": "From: a@b.invalid\r\nSubject: t\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\njunk line without colon\r\n" + att,
		"top":  "From: a@b.invalid\r\njunk top line\r\nSubject: t\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" + att,
	} {
		rec, _ := parsertest.Run(t, New(), "m.eml", "eml", []byte(msg))
		found := false
		for _, c := range rec.Children {
			found = found || c.Name == "x.zip"
		}
		if !found || !rec.HasFinding("mime.header_junk") {
			t.Errorf("%s: x.zip found %v, findings %+v", name, found, rec.Findings)
		}
	}
}

func TestDropJunkHeaderLines_wrapsAndBodies(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
		n              int
	}{
		{"unindented-param", "Subject: x\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: application/zip;\nname=\"a.zip\"\n\nUEsF\n--b--\n",
			"Subject: x\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: application/zip;\n name=\"a.zip\"\n\nUEsF\n--b--\n", 1},
		{"no-blank-before-body", "Subject: x\r\nContent-Type: multipart/alternative;\r\n boundary=\"zz\"\r\nThis is a multi-part message in MIME format.\r\n--zz\r\nContent-Type: text/plain\r\n\r\nhi\r\n--zz--\r\n",
			"Subject: x\r\nContent-Type: multipart/alternative;\r\n boundary=\"zz\"\r\nThis is a multi-part message in MIME format.\r\n--zz\r\nContent-Type: text/plain\r\n\r\nhi\r\n--zz--\r\n", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, n := dropJunkHeaderLines([]byte(tt.in))
			if n != tt.n || string(out) != tt.want {
				t.Errorf("changed %d, got\n%q\nwant %d,\n%q", n, out, tt.n, tt.want)
			}
		})
	}
}
