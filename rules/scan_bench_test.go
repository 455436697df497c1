package rules

import (
	"bytes"
	"testing"
	"time"
)

func BenchmarkScan(b *testing.B) {
	set, err := Load(Options{})
	if err != nil {
		b.Fatal(err)
	}
	text := bytes.Repeat([]byte("Please see the website for the webinar schedule; reply by Friday.\r\n"), 60)
	for _, c := range []struct {
		name string
		data []byte
		v    Vars
	}{
		{"text-4KB", text, Vars{Filename: "body.txt", Extension: "txt", Filetype: "text", ParentType: "eml", Depth: 1}},
		{"pdf-names-only", text, Vars{Filename: "report.pdf", Extension: "pdf", Filetype: "pdf", ParentType: "eml", Depth: 1}},
		{"raw-message", text, Vars{Filename: "input.eml", Filetype: "eml"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			for i := 0; i < b.N; i++ {
				if _, err := set.Scan(c.data, c.v, time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
