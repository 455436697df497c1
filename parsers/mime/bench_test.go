package mime

import (
	"bytes"
	"encoding/base64"
	"math/rand"
	"testing"

	"triage/parsers/parsertest"
)

// largeBase64Message is a message with a 5 MB PDF-like attachment in
// base64 (76-column CRLF lines) and a short text body.
func largeBase64Message() []byte {
	pdf := make([]byte, 5<<20)
	rand.New(rand.NewSource(1)).Read(pdf)
	copy(pdf, "%PDF-1.7\n% TRIAGE-REGRESSION\n")
	var b bytes.Buffer
	b.WriteString("From: Billing <billing@sender.example.invalid>\r\nTo: staff@corp.example.invalid\r\nSubject: Invoice 4711\r\n" +
		"Date: Mon, 2 Jan 2006 15:04:05 +0000\r\nMessage-ID: <bench@example.invalid>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Please find the invoice attached.\r\n--b1\r\nContent-Type: application/pdf; name=\"invoice.pdf\"\r\n" +
		"Content-Disposition: attachment; filename=\"invoice.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(pdf)
	for i := 0; i < len(enc); i += 76 {
		b.WriteString(enc[i:min(i+76, len(enc))])
		b.WriteString("\r\n")
	}
	b.WriteString("--b1--\r\n")
	return b.Bytes()
}

// BenchmarkParse_largeBase64 parses a message with a 5 MB base64
// attachment; MB/s counts the raw message.
func BenchmarkParse_largeBase64(b *testing.B) {
	msg := largeBase64Message()
	p := New()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		rec, err := parsertest.Run(b, p, "m.eml", "eml", msg)
		if err != nil || len(rec.Children) != 2 || len(rec.Children[1].Data) != 5<<20 {
			b.Fatalf("err %v, %d children", err, len(rec.Children))
		}
	}
}
