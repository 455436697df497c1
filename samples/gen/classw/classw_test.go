package classw

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestHeader(t *testing.T) {
	empty, err := Empty("Il/lI/IlIl")
	if err != nil {
		t.Fatal(err)
	}
	hello, err := Hello("lIlIl/Main", "TRIAGE-REGRESSION")
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"empty": empty, "hello": hello} {
		if binary.BigEndian.Uint32(b) != Magic || binary.BigEndian.Uint16(b[6:]) != 52 {
			t.Errorf("%s: header % x", name, b[:8])
		}
	}
	if !bytes.Contains(empty, []byte("Il/lI/IlIl")) {
		t.Error("empty class lacks its name")
	}
	if !bytes.Contains(hello, []byte("TRIAGE-REGRESSION")) {
		t.Error("hello class lacks its message")
	}
}

func TestBadNames(t *testing.T) {
	for _, n := range []string{"", "a.b.C", "日本/X", "[I"} {
		if _, err := Empty(n); err == nil {
			t.Errorf("Empty(%q) = nil error", n)
		}
	}
}

// TestJVM loads the classes in a real JVM when one is installed: javap must
// accept the empty class, and java must run Main and print the message.
func TestJVM(t *testing.T) {
	java, err := exec.LookPath("java")
	if err != nil {
		t.Skip("java not installed")
	}
	javap, err := exec.LookPath("javap")
	if err != nil {
		t.Skip("javap not installed")
	}
	dir := t.TempDir()
	write := func(name string, b []byte) {
		p := filepath.Join(dir, filepath.FromSlash(name)+".class")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	empty, err := Empty("Il/lI/IlIl")
	if err != nil {
		t.Fatal(err)
	}
	write("Il/lI/IlIl", empty)
	hello, err := Hello("lIlIl/Main", "TRIAGE-REGRESSION")
	if err != nil {
		t.Fatal(err)
	}
	write("lIlIl/Main", hello)

	out, err := exec.Command(javap, "-cp", dir, "-v", "Il.lI.IlIl").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "public class Il.lI.IlIl") {
		t.Errorf("javap: %v\n%s", err, out)
	}
	out, err = exec.Command(java, "-Xshare:off", "-cp", dir, "lIlIl.Main").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "TRIAGE-REGRESSION" {
		t.Errorf("java lIlIl.Main: %v\n%s", err, out)
	}
}
