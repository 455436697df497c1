package pipeline

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
)

// These tests run the whole engine on messages carrying uuencoded files
// the three ways malspam sends them: a .uue attachment, a begin … end block
// inline in a text body, and a part with Content-Transfer-Encoding
// x-uuencode (which go-message cannot decode, so the MIME walker keeps the
// raw text for the uue parser).

// uuencodeText is a plain uuencoder (backtick for zero, LF lines).
func uuencodeText(name string, data []byte) string {
	ch := func(v byte) byte {
		if v&0x3f == 0 {
			return '`'
		}
		return v&0x3f + 0x20
	}
	var b strings.Builder
	b.WriteString("begin 644 " + name + "\n")
	for i := 0; i < len(data); i += 45 {
		chunk := data[i:min(i+45, len(data))]
		b.WriteByte(ch(byte(len(chunk))))
		for j := 0; j < len(chunk); j += 3 {
			var g [3]byte
			copy(g[:], chunk[j:])
			b.Write([]byte{ch(g[0] >> 2), ch(g[0]<<4 | g[1]>>4), ch(g[1]<<2 | g[2]>>6), ch(g[2])})
		}
		b.WriteByte('\n')
	}
	b.WriteString("`\nend\n")
	return b.String()
}

func jsZip(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("PO_4471.pdf.js")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(`WScript.Echo("TRIAGE-REGRESSION")` + "\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func uueMessage(parts ...string) string {
	var b strings.Builder
	b.WriteString("From: Purchasing <po@supplier.example>\r\nTo: sales@corp.example\r\n" +
		"Subject: RE: Purchase Order #4471\r\nDate: Wed, 15 Jul 2020 11:24:50 +0900\r\n" +
		"Message-ID: <uue.4471@supplier.example>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"=_uue\"\r\n\r\n")
	for _, p := range parts {
		b.WriteString("--=_uue\r\n" + p)
	}
	b.WriteString("--=_uue--\r\n")
	return b.String()
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestTriage_uuencodedFiles(t *testing.T) {
	eng, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	z := jsZip(t)
	body := "Content-Type: text/plain; charset=us-ascii\r\n\r\nPlease see the attached order.\r\n"
	b64 := base64.StdEncoding.EncodeToString([]byte(crlf(uuencodeText("PO_4471.zip", z))))
	var b64Lines strings.Builder
	for len(b64) > 76 {
		b64Lines.WriteString(b64[:76] + "\r\n")
		b64 = b64[76:]
	}
	b64Lines.WriteString(b64 + "\r\n")
	tests := []struct {
		name string
		msg  string
		// carrier is the name of the artifact holding the uuencoded text.
		carrier, zipName string
	}{
		{"uue_attachment_base64", uueMessage(body,
			"Content-Type: application/octet-stream; name=\"PO_4471.uue\"\r\nContent-Disposition: attachment; filename=\"PO_4471.uue\"\r\n"+
				"Content-Transfer-Encoding: base64\r\n\r\n"+b64Lines.String()),
			"PO_4471.uue", "PO_4471.zip"},
		{"inline_block_in_text_body", uueMessage("Content-Type: text/plain; charset=us-ascii\r\n\r\n" +
			crlf("Hello,\n\nthe invoice follows.\n\n"+uuencodeText("invoice.zip", z)+"\nRegards\n")),
			"body.txt", "invoice.zip"},
		{"x_uuencode_part", uueMessage(body,
			"Content-Type: application/zip; name=\"invoice.zip\"\r\nContent-Disposition: attachment; filename=\"invoice.zip\"\r\n"+
				"Content-Transfer-Encoding: x-uuencode\r\n\r\n"+crlf(uuencodeText("invoice.zip", z))),
			"invoice.zip", "invoice.zip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := eng.Triage(context.Background(), "input.eml", []byte(tc.msg))
			if err != nil {
				t.Fatal(err)
			}
			var carrier *Artifact
			for _, a := range rep.Artifacts {
				if a.Name == tc.carrier && a.Type != "zip" {
					carrier = a
				}
			}
			if carrier == nil || !artifactFinding(carrier, "uue.encoded_file") {
				t.Fatalf("no uue.encoded_file on %q: %+v", tc.carrier, summary(rep))
			}
			zips := byType(rep, "zip")
			if len(zips) != 1 || zips[0].Name != tc.zipName || zips[0].Parent != carrier.ID {
				t.Fatalf("zip artifacts: %+v", summary(rep))
			}
			js := byType(rep, "js")
			if len(js) != 1 || js[0].Parent != zips[0].ID || js[0].Name != "PO_4471.pdf.js" {
				t.Fatalf("js artifacts: %+v", summary(rep))
			}
			if rep.Verdict == Clean {
				t.Errorf("verdict %s (score %d), want at least suspicious", rep.Verdict, rep.Score)
			}
		})
	}
}

func summary(rep *Report) []string {
	var out []string
	for _, a := range rep.Artifacts {
		var codes []string
		for _, f := range a.Findings {
			codes = append(codes, f.Code)
		}
		out = append(out, a.ID+" "+a.Name+" ["+a.Type+"] "+strings.Join(codes, ","))
	}
	return out
}
