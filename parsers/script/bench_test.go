package script

import (
	"strings"
	"testing"

	"triage/parsers/filetype"
	"triage/parsers/parsertest"
)

// BenchmarkParse_hostile measures 4 MiB inputs built to defeat the
// matchers: repeated keywords, carets, joints, blobs, arrays.
func BenchmarkParse_hostile(b *testing.B) {
	n := 4 << 20
	cases := map[string]string{
		"powershell": strings.Repeat("powershell -e -w -x a b c d e f ", n/32),
		"carets":     strings.Repeat("p^o^w^e^r^s^h^e^l^l ", n/20),
		"concat":     strings.Repeat(`"AAAA" & "`, n/10),
		"b64":        strings.Repeat("TVqQAAMAAAAEAAAA", n/16),
		"array":      strings.Repeat("0x4D,0x5A,", n/10),
		"quotes":     strings.Repeat(`"'`, n/2),
		"enc":        strings.Repeat(" -enc AAAAAAAAAAAAAAAAAAAAAAAAAAAA", n/32),
		"frombase64": strings.Repeat("FromBase64String('AAAAAAAAAAAAAAAAAAAAAAAAAAAA') ", n/48),
		"urls":       strings.Repeat("http://a.example/x http://b.example/x ", n/40),
		"psheres":    strings.Repeat("@\"\n<#\n'", n/7),
		"prose":      strings.Repeat("The quick brown fox jumps over the lazy dog. Dim x = 1\n", n/55),
	}
	for name, s := range cases {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				parsertest.Run(b, New(), "x", filetype.PS1, []byte(s))
			}
		})
	}
}
