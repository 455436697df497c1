package pipeline

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"math/rand"
	"strings"
	"testing"
)

// typicalMessage builds a ~50 KB business message: a text and an HTML body
// and one zipped attachment (a PDF-like document and a small text file).
func typicalMessage(tb testing.TB) []byte {
	tb.Helper()
	rng := rand.New(rand.NewSource(1))
	words := strings.Fields("invoice payment order meeting schedule project report quarterly budget review please find attached regards thanks team update")
	para := func(n int) string {
		var sb strings.Builder
		for i := 0; i < n; i++ {
			sb.WriteString(words[rng.Intn(len(words))])
			sb.WriteByte(' ')
			if i%12 == 11 {
				sb.WriteString("\r\n")
			}
		}
		return sb.String()
	}
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	f, _ := zw.Create("Q3-report.pdf")
	doc := make([]byte, 30000)
	copy(doc, "%PDF-1.4\n")
	for i := 9; i < len(doc); i++ {
		doc[i] = byte(rng.Intn(256))
	}
	f.Write(doc)
	f, _ = zw.Create("notes.txt")
	f.Write([]byte(para(400)))
	zw.Close()
	att := base64.StdEncoding.EncodeToString(zbuf.Bytes())
	var lines []string
	for len(att) > 76 {
		lines = append(lines, att[:76])
		att = att[76:]
	}
	lines = append(lines, att)
	var m strings.Builder
	m.WriteString("From: Alice Example <alice@example.invalid>\r\nTo: bob@example.invalid\r\nSubject: Q3 report\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <bench@example.invalid>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n")
	m.WriteString("--outer\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	body := para(900)
	m.WriteString(body + "\r\nhttps://portal.example.invalid/reports/q3\r\n")
	m.WriteString("--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>" + body + "</p><a href=\"https://portal.example.invalid/reports/q3\">portal</a></body></html>\r\n--alt--\r\n")
	m.WriteString("--outer\r\nContent-Type: application/zip; name=\"Q3-report.zip\"\r\nContent-Disposition: attachment; filename=\"Q3-report.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	m.WriteString(strings.Join(lines, "\r\n"))
	m.WriteString("\r\n--outer--\r\n")
	return []byte(m.String())
}

// BenchmarkTriage_typical50KB reports messages per second and allocations
// for one typical message through the whole engine (MIME, zip, YARA, verdict).
//
//	go test -run '^$' -bench Triage -benchmem ./pipeline/
func BenchmarkTriage_typical50KB(b *testing.B) {
	eng, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	msg := typicalMessage(b)
	rep, err := eng.Triage(context.Background(), "bench.eml", msg)
	if err != nil {
		b.Fatal(err)
	}
	if len(rep.Artifacts) < 4 {
		b.Fatalf("benchmark message parsed into %d artifacts; want bodies and the zip's members", len(rep.Artifacts))
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := eng.Triage(context.Background(), "bench.eml", msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
