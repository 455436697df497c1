package vba

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"triage/parsers"
	"triage/parsers/parsertest"
)

func FuzzDecompress(f *testing.F) {
	f.Add(Compress([]byte("Attribute VB_Name = \"M\"\r\nSub AutoOpen()\r\nEnd Sub\r\n")))
	f.Add(Compress(bytes.Repeat([]byte("abc"), 3000)))
	f.Add([]byte{0x01, 0x03, 0xB0, 0x02, 0x61, 0x45, 0x00})
	f.Add(bomb(3))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 20
		out, err := Decompress(data, limit)
		if len(out) > limit {
			t.Fatalf("%d bytes past the %d limit", len(out), limit)
		}
		if err != nil && !errors.Is(err, parsers.ErrMalformed) && !errors.Is(err, parsers.ErrTooLarge) {
			t.Fatalf("unexpected error class: %v", err)
		}
		// Anything we compress comes back (an incompressible partial last
		// chunk is stored raw, padded with zeros to 4096 bytes).
		if len(data) <= 3*4096 {
			back, err := Decompress(Compress(data), 0)
			if err != nil || !bytes.HasPrefix(back, data) || len(bytes.Trim(back[len(data):], "\x00")) != 0 {
				t.Fatalf("round trip of %d bytes: %v", len(data), err)
			}
		}
	})
}

func FuzzDir(f *testing.F) {
	for _, spec := range []ProjectSpec{
		{Modules: []ModuleSpec{{Name: "M", Code: "x"}}},
		{CodePage: 932, Locked: true, Modules: []ModuleSpec{{Name: "ThisDocument", Kind: KindDocument}, {Name: "F", Kind: KindForm}}},
	} {
		streams, err := spec.Streams()
		if err != nil {
			f.Fatal(err)
		}
		d, _ := Decompress(streams["VBA/dir"], 0)
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDir(data)
		if d == nil {
			t.Fatal("nil Dir")
		}
		if len(d.Modules) > MaxModules {
			t.Fatalf("%d modules", len(d.Modules))
		}
		if err != nil && !errors.Is(err, parsers.ErrMalformed) && !errors.Is(err, parsers.ErrTooMany) {
			t.Fatalf("unexpected error class: %v", err)
		}
		for _, m := range d.Modules {
			_ = DecodeCodePage(d.CodePage, m.NameBytes)
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("Sub Document_Open()\r\n  c = " + chrs("powershell") + " & \" -enc " + encodedCommand("Write-Output 'TRIAGE-REGRESSION'") + "\"\r\n  Shell c\r\nEnd Sub\r\n"))
	f.Add([]byte("s = \"a\": s = s & s & s\r\nx = Replace(StrReverse(\"cba\"), \"b\", \"\") & Mid(\"xyz\", 2)\r\n"))
	f.Add([]byte("x = Chr(Asc(\"A\") Xor 1) & ChrW(-1) & Chr(&H41&) ' \"comment\r\nConst P = \"http://\" & \"example.invalid\""))
	f.Add([]byte(strings.Repeat("(", 200) + "\"a\"" + strings.Repeat(")", 200)))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := parsertest.Run(t, New(), "M.bas", "vba", data)
		if err != nil {
			t.Fatalf("error on source text: %v", err)
		}
		for _, fd := range rec.Findings {
			if !strings.HasPrefix(fd.Code, "vba.") || fd.Detail == "" {
				t.Fatalf("bad finding %+v", fd)
			}
		}
		for _, c := range rec.Children {
			if !strings.HasPrefix(c.Name, "M.bas.") || c.Type == "" || !c.Text {
				t.Fatalf("bad child %q %q", c.Name, c.Type)
			}
		}
	})
}
