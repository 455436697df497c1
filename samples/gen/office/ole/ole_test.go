package ole

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/richardlehane/msoleps"

	"triage/samples/gen/office/cfb"
)

func TestCompObj(t *testing.T) {
	b := CompObj(cfb.WordDocument, "Microsoft Word 97-2003 Document", "MSWordDoc", "Word.Document.8")
	le := binary.LittleEndian
	if le.Uint32(b) != 0xFFFE0001 || le.Uint32(b[4:]) != 0x0A03 || le.Uint32(b[8:]) != 0xFFFFFFFF {
		t.Fatalf("header % x", b[:12])
	}
	if !bytes.Equal(b[12:28], cfb.WordDocument[:]) {
		t.Errorf("CLSID % x", b[12:28])
	}
	p := 28
	var got []string
	for i := 0; i < 3; i++ {
		n := int(le.Uint32(b[p:]))
		got = append(got, string(b[p+4:p+4+n-1]))
		if b[p+4+n-1] != 0 {
			t.Errorf("string %d not NUL-terminated", i)
		}
		p += 4 + n
	}
	if got[0] != "Microsoft Word 97-2003 Document" || got[1] != "MSWordDoc" || got[2] != "Word.Document.8" {
		t.Errorf("strings %q", got)
	}
	if le.Uint32(b[p:]) != 0x71B239F4 || len(b) != p+16 {
		t.Errorf("Unicode marker or tail wrong: % x", b[p:])
	}
}

func TestOLE1Object(t *testing.T) {
	native := Package{Label: "a.js", SourcePath: `C:\a.js`, TempPath: `C:\t\a.js`, Data: []byte("x")}.Native()
	b := OLE1Object("Package", native)
	le := binary.LittleEndian
	if le.Uint32(b) != 0x0501 || le.Uint32(b[4:]) != 2 || le.Uint32(b[8:]) != 8 || string(b[12:20]) != "Package\x00" {
		t.Fatalf("header % x", b[:20])
	}
	if le.Uint32(b[20:]) != 0 || le.Uint32(b[24:]) != 0 || int(le.Uint32(b[28:])) != len(native) {
		t.Errorf("topic/item/size % x", b[20:32])
	}
	if !bytes.Equal(b[32:32+len(native)], native) || len(b) != 32+len(native)+8 {
		t.Error("native data or trailer wrong")
	}
	ole10 := Package{Data: []byte("x")}.Ole10Native()
	if int(le.Uint32(ole10)) != len(ole10)-4 {
		t.Error("Ole10Native size prefix")
	}
}

func TestSummaryInformation(t *testing.T) {
	when := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	b, err := SummaryInformation(Summary{Title: []byte("T"), Author: []byte("Author Name"), Comments: []byte("c"), Created: when, Pages: 3})
	if err != nil {
		t.Fatal(err)
	}
	r, err := msoleps.NewFrom(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range r.Property {
		got[p.Name] = p.String()
	}
	for k, v := range map[string]string{"Title": "T", "Author": "Author Name", "Comments": "c", "PageCount": "3"} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all %v)", k, got[k], v, got)
		}
	}
	if got["CreateTime"] == "" {
		t.Errorf("no CreateTime in %v", got)
	}
	if _, err := SummaryInformation(Summary{CodePage: 65001}); err == nil {
		t.Error("unsupported code page accepted")
	}
}
