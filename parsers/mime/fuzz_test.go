package mime

import (
	"os"
	"path/filepath"
	"testing"

	"triage/parsers/parsertest"
)

// FuzzParse: no input panics the MIME parser, and every child it emits
// carries a name.
func FuzzParse(f *testing.F) {
	f.Add([]byte("From: a@b\r\nSubject: x\r\n\r\nbody"))
	f.Add([]byte("From: a@b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@d\r\n\r\ny\r\n--b--\r\n"))
	f.Add([]byte("Subject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=\r\nContent-Type: application/x; name*=ISO-2022-JP''%1B%24B%3CL%3F%3F%1B%28B.iqy\r\nContent-Transfer-Encoding: base64\r\n\r\nV0VC\r\n"))
	// Real-world mail from other projects' fixtures, when present.
	for _, dir := range []string{"mikel-mail", "enmime"} {
		root := filepath.Join("..", "..", "..", "shared", "corpus", dir)
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
					f.Add(b)
				}
			}
			return nil
		})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, _ := parsertest.Run(t, New(), "f.eml", "eml", data)
		for _, c := range rec.Children {
			if c.Name == "" {
				t.Fatalf("child without a name: %+v", c)
			}
		}
	})
}
