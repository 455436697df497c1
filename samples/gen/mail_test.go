package main

import (
	"bytes"
	"mime"
	"strings"
	"testing"

	"github.com/emersion/go-message/charset"
)

func decoder() *mime.WordDecoder {
	return &mime.WordDecoder{CharsetReader: charset.Reader}
}

func TestEncodeWords(t *testing.T) {
	long := strings.Repeat("至急の振込依頼です。", 8)
	tests := []struct {
		name, charset, in string
		prefix            string // expected start of the encoded value
	}{
		{"ascii", csUTF8, "Invoice 4821 payment due", "Invoice 4821 payment due"},
		{"utf8_mixed", csUTF8, "RE: Purchase Order #4471 / 注文書", "RE: Purchase Order #4471 / =?UTF-8?B?"},
		{"iso2022", csISO2022, "写真添付", "=?ISO-2022-JP?B?"},
		{"iso2022_long", csISO2022, long, "=?ISO-2022-JP?B?"},
		{"sjis", csShiftJIS, "【当選】からあげプレゼントクーポンのお知らせ", "=?Shift_JIS?B?"},
		{"utf8_two_words", csUTF8, "鈴木 一郎", "=?UTF-8?B?"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := encodeWords(tc.charset, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(enc, tc.prefix) {
				t.Errorf("encoded %q, want prefix %q", enc, tc.prefix)
			}
			for _, w := range strings.Fields(enc) {
				if len(w) > 75 {
					t.Errorf("word of %d characters: %q", len(w), w)
				}
				if strings.HasPrefix(w, "=?ISO-2022-JP?") {
					// Each word must decode on its own and end in ASCII.
					dec, err := decoder().Decode(w)
					if err != nil || strings.ContainsRune(dec, '\ufffd') {
						t.Errorf("word %q decodes to %q, %v", w, dec, err)
					}
				}
			}
			got, err := decoder().DecodeHeader(enc)
			if err != nil || got != tc.in {
				t.Errorf("round trip %q → %q → %q, %v", tc.in, enc, got, err)
			}
		})
	}
}

func TestRFC2231(t *testing.T) {
	tests := []struct {
		name, value string
		parts       int
	}{
		{"short", "写真.iqy", 1},
		{"continued", "請求書_2020年7月分_株式会社サンプル商事御中.pdf.lnk", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := rfc2231("filename", csUTF8, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(p, "filename*"); n != tc.parts {
				t.Errorf("%d parts in %q", n, p)
			}
			_, params, err := mime.ParseMediaType("attachment; " + p)
			if err != nil || params["filename"] != tc.value {
				t.Errorf("ParseMediaType(%q) = %q, %v", p, params["filename"], err)
			}
		})
	}
}

func TestWriteFieldFolds(t *testing.T) {
	var b bytes.Buffer
	v := strings.Repeat("word ", 40)
	writeField(&b, field{name: "X-Test", value: strings.TrimSpace(v)})
	lines := strings.Split(strings.TrimSuffix(b.String(), crlf), crlf)
	if len(lines) < 3 {
		t.Fatalf("not folded: %q", b.String())
	}
	for i, l := range lines {
		if len(l) > 76 {
			t.Errorf("line %d has %d characters", i, len(l))
		}
		if i > 0 && !strings.HasPrefix(l, " ") {
			t.Errorf("continuation line %d does not start with a space: %q", i, l)
		}
	}
	if unfolded := strings.ReplaceAll(b.String(), crlf+" ", " "); unfolded != "X-Test: "+strings.TrimSpace(v)+crlf {
		t.Errorf("unfolding does not restore the value: %q", unfolded)
	}

	b.Reset()
	writeField(&b, field{name: "X-Long", value: strings.Repeat("x", 2000), raw: true})
	if strings.Count(b.String(), crlf) != 1 {
		t.Error("raw field was folded")
	}
}

func TestTransferEncode(t *testing.T) {
	qp, err := transferEncode(cteQP, []byte("café\nline two é\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "caf=C3=A9\r\nline two =C3=A9\r\n"; string(qp) != want {
		t.Errorf("quoted-printable %q, want %q", qp, want)
	}
	b64 := base64Lines(bytes.Repeat([]byte{0xff}, 100))
	for _, l := range strings.Split(strings.TrimSuffix(string(b64), crlf), crlf) {
		if len(l) > 76 {
			t.Errorf("base64 line of %d", len(l))
		}
	}
	if _, err := transferEncode("x-uuencode", nil); err == nil {
		t.Error("unknown encoding accepted")
	}
}

func TestEncodeTextISO2022Lines(t *testing.T) {
	b, err := encodeText(csISO2022, "一行目\r\n二行目\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\x1b$B"); n != 2 {
		t.Errorf("%d JIS X 0208 escapes in %q, want one a line", n, b)
	}
	for _, l := range strings.Split(string(b), "\r\n") {
		// RFC 1468: every line ends in ASCII.
		if strings.Contains(l, "\x1b$B") && !strings.HasSuffix(l, "\x1b(B") {
			t.Errorf("line %q does not return to ASCII", l)
		}
	}
	if _, err := encodeText(csISO2022, "€"); err == nil {
		t.Error("a character outside the charset was accepted")
	}
}

func TestMultipartKeepsFinalLineBreak(t *testing.T) {
	leaf := &entity{ctype: "text/plain", cte: cte7bit, body: []byte("a\r\n")}
	b, err := multipart("mixed", "B", leaf).bytes()
	if err != nil {
		t.Fatal(err)
	}
	want := "Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\n\r\na\r\n\r\n--B--\r\n"
	if string(b) != want {
		t.Errorf("got %q\nwant %q", b, want)
	}
}
