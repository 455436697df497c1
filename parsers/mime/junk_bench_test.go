package mime

import (
	"encoding/base64"
	"strings"
	"testing"
)

func BenchmarkDropJunkHeaderLines(b *testing.B) {
	payload := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("%PDF-1.4 TRIAGE-REGRESSION ", 200000)))
	var sb strings.Builder
	sb.WriteString("From: a@b.invalid\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for i := 0; i < len(payload); i += 76 {
		sb.WriteString(payload[i:min(i+76, len(payload))])
		sb.WriteString("\r\n")
	}
	sb.WriteString("--b--\r\n")
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		if _, n := dropJunkHeaderLines(data); n != 0 {
			b.Fatal(n)
		}
	}
}
