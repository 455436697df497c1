package html

import (
	"strings"
	"testing"

	"triage/parsers/filetype"
	"triage/parsers/parsertest"
)

// BenchmarkParse_hostile measures 4 MiB documents built to stress the
// tokenizer loop and the script and data: URI analysis.
func BenchmarkParse_hostile(b *testing.B) {
	n := 4 << 20
	cases := map[string]string{
		"anchors":    strings.Repeat(`<a href="http://a.example/x">www.b.example</a>`, n/45),
		"tags":       strings.Repeat(`<p a=1 b=2 c=3>`, n/15),
		"script_cat": "<script>" + strings.Repeat(`"AAAA"+`, n/7) + "</script>",
		"script_b64": "<script>var a = \"" + strings.Repeat("A", n) + "\";</script>",
		"data_uris":  strings.Repeat(`<img src="data:application/octet-stream;base64,QUFB">`, n/55),
		"handlers":   strings.Repeat(`<b onclick="atob(1)">`, n/21),
		"attrs":      "<p " + strings.Repeat(`a=1 `, n/4) + ">",
	}
	for name, s := range cases {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				parsertest.Run(b, New(), "x.html", filetype.HTML, []byte(s))
			}
		})
	}
}
