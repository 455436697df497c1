package parsers

import "testing"

func TestASCIILower(t *testing.T) {
	in := "PowerShell -EncodedCommand \xff\xfeÄ"
	got := ASCIILower(in)
	if got != "powershell -encodedcommand \xff\xfeÄ" || len(got) != len(in) {
		t.Errorf("ASCIILower(%q) = %q", in, got)
	}
}

func TestIsBase64Byte(t *testing.T) {
	n := 0
	for c := 0; c < 256; c++ {
		if IsBase64Byte(byte(c)) {
			n++
		}
	}
	if n != 65 || !IsBase64Byte('/') || IsBase64Byte('-') {
		t.Errorf("%d base64 bytes, want 64 digits and '='", n)
	}
}
