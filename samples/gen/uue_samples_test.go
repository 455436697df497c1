package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// uudecodeTool decodes a uuencoded text with GNU sharutils' uudecode, an
// independent reader of what uuencode writes; the test skips without it.
func uudecodeTool(t *testing.T, text []byte) []byte {
	t.Helper()
	tool, err := exec.LookPath("uudecode")
	if err != nil {
		t.Skip("uudecode (sharutils) not installed: apt-get install -y sharutils")
	}
	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(tool, "-o", out)
	cmd.Stdin = bytes.NewReader(text)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("uudecode: %v: %s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUUEZipJS(t *testing.T) {
	pm := parseMail(t, sample(t, "uue-zip-js"))
	uue := pm.attachment(t, "PO_4471.uue")
	if !bytes.HasPrefix(uue, []byte("begin 644 PO_4471.zip\r\n")) || !bytes.HasSuffix(uue, []byte("\r\n`\r\nend\r\n")) {
		t.Fatalf("attachment is not one uuencode block: %q", uue)
	}
	members := zipMembers(t, uudecodeTool(t, uue))
	f := members["PO_4471.pdf.js"]
	if f == nil || len(members) != 1 {
		t.Fatalf("members %v", members)
	}
	if js := string(readMember(t, f)); js != `WScript.Echo("`+Marker+`")`+"\r\n" {
		t.Errorf("script %q", js)
	}
}

func TestUUEMention(t *testing.T) {
	body := mailText(t, "uue-mention")
	if !strings.Contains(body, "\r\nbegin 644 report.txt\r\nfollowed by") {
		t.Error("the prose begin line is missing")
	}
	i := strings.Index(body, "begin 644 README.txt\r\n")
	if i < 0 {
		t.Fatal("no README.txt block")
	}
	got := uudecodeTool(t, []byte(body[i:]))
	if string(got) != "Backup job notes\r\nRuns nightly at 02:00; logs in /var/log/backup.\r\n" {
		t.Errorf("README.txt decodes to %q", got)
	}
}

func mailText(t *testing.T, slug string) string { return parseMail(t, sample(t, slug)).text() }
