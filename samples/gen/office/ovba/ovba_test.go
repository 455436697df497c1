package ovba

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"

	"golang.org/x/text/encoding/japanese"

	"triage/samples/gen/office/cfb"
	"triage/samples/gen/office/cfb/cfbread"
)

// decompress is an independent MS-OVBA 2.4.1 decompressor, written from the
// specification's pseudocode for these tests.
func decompress(in []byte) ([]byte, error) {
	if len(in) == 0 || in[0] != 0x01 {
		return nil, errors.New("bad signature")
	}
	var out []byte
	pos := 1
	for pos < len(in) {
		if pos+2 > len(in) {
			return nil, errors.New("truncated chunk header")
		}
		hdr := binary.LittleEndian.Uint16(in[pos:])
		size := int(hdr&0x0FFF) + 3
		if hdr>>12&0x7 != 0b011 {
			return nil, fmt.Errorf("bad chunk signature in header %04x", hdr)
		}
		end := pos + size
		if end > len(in) {
			return nil, errors.New("chunk runs past the end")
		}
		chunkStart := len(out)
		p := pos + 2
		if hdr&0x8000 == 0 {
			if size != 4098 {
				return nil, fmt.Errorf("raw chunk of size %d", size)
			}
			out = append(out, in[p:end]...)
			pos = end
			continue
		}
		for p < end {
			flags := in[p]
			p++
			for bit := 0; bit < 8 && p < end; bit++ {
				if flags&(1<<bit) == 0 {
					out = append(out, in[p])
					p++
					continue
				}
				if p+2 > end {
					return nil, errors.New("truncated copy token")
				}
				tok := binary.LittleEndian.Uint16(in[p:])
				p += 2
				diff := len(out) - chunkStart
				bitCount := 4
				for 1<<bitCount < diff {
					bitCount++
				}
				lengthMask := uint16(0xFFFF) >> bitCount
				length := int(tok&lengthMask) + 3
				offset := int(tok>>(16-bitCount)) + 1
				if offset > diff {
					return nil, fmt.Errorf("offset %d beyond chunk position %d", offset, diff)
				}
				src := len(out) - offset
				for i := 0; i < length; i++ {
					out = append(out, out[src+i])
				}
			}
		}
		if len(out)-chunkStart > 4096 {
			return nil, errors.New("chunk decompresses to more than 4096 bytes")
		}
		pos = end
	}
	return out, nil
}

func lcg(n int, seed uint32) []byte {
	b := make([]byte, n)
	for i := range b {
		seed = seed*1664525 + 1013904223
		b[i] = byte(seed >> 24)
	}
	return b
}

func TestCompressRoundTrip(t *testing.T) {
	vba := []byte(strings.Repeat("Attribute VB_Name = \"Module1\"\r\nSub AutoOpen()\r\n    MsgBox Chr(84) & Chr(82)\r\nEnd Sub\r\n", 90))
	tests := []struct {
		name     string
		in       []byte
		maxRatio float64 // compressed/original must not exceed this (0: unchecked)
	}{
		{"empty", nil, 0},
		{"one byte", []byte{'x'}, 0},
		{"abc", []byte("abc"), 0},
		{"spec example", []byte("#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"), 0.95},
		{"run", bytes.Repeat([]byte{'a'}, 10000), 0.05},
		{"vba source over several chunks", vba, 0.2},
		{"exactly one chunk", lcg(4096, 1)[:4096], 0},
		{"random two chunks", lcg(8192, 2), 0},
		{"text then random tail", append(bytes.Repeat([]byte("abcd"), 1100), lcg(300, 3)...), 0},
		{"binary with zeros", append(make([]byte, 5000), lcg(100, 4)...), 0.1},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			c := Compress(tc.in)
			got, err := decompress(c)
			if err != nil {
				t.Fatalf("decompress: %v", err)
			}
			if !bytes.Equal(got, tc.in) {
				t.Fatalf("round trip: got %d bytes, want %d", len(got), len(tc.in))
			}
			if tc.maxRatio > 0 {
				if r := float64(len(c)) / float64(len(tc.in)); r > tc.maxRatio {
					t.Errorf("compression ratio %.3f above %.3f: matching is not working", r, tc.maxRatio)
				}
			}
		})
	}
}

// TestCompressRawChunkPadding documents the one case where round trip is
// not exact: a short incompressible last chunk is stored raw and padded.
func TestCompressRawChunkPadding(t *testing.T) {
	in := lcg(4000, 9)
	got, err := decompress(Compress(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4096 || !bytes.Equal(got[:4000], in) || !bytes.Equal(got[4000:], make([]byte, 96)) {
		t.Errorf("got %d bytes; want the input then zero padding to 4096", len(got))
	}
}

// TestCompressHandVector checks exact output derived by hand from the
// MS-OVBA rules: "abcabcabc" is three literals and one CopyToken (offset 3,
// length 6; 4 offset bits at position 3, so token (3-1)<<12 | (6-3)).
func TestCompressHandVector(t *testing.T) {
	want := []byte{0x01, 0x05, 0xB0, 0x08, 'a', 'b', 'c', 0x03, 0x20}
	if got := Compress([]byte("abcabcabc")); !bytes.Equal(got, want) {
		t.Errorf("Compress = % x, want % x", got, want)
	}
	got, err := decompress(want)
	if err != nil || string(got) != "abcabcabc" {
		t.Errorf("decompress = %q, %v", got, err)
	}
}

// record is one dir stream record.
type record struct {
	id   uint16
	data []byte
}

// parseDir walks the dir stream per MS-OVBA 2.3.4.2, handling the records
// whose size field does not describe their payload.
func parseDir(t *testing.T, b []byte) []record {
	t.Helper()
	var recs []record
	le := binary.LittleEndian
	for p := 0; p < len(b); {
		if p+6 > len(b) {
			t.Fatalf("truncated record at %d", p)
		}
		id := le.Uint16(b[p:])
		size := int(le.Uint32(b[p+2:]))
		p += 6
		if id == 0x0009 { // PROJECTVERSION: Reserved(4)=4, Major(4), Minor(2)
			if size != 4 {
				t.Fatalf("PROJECTVERSION reserved = %d", size)
			}
			size = 6
		}
		if p+size > len(b) {
			t.Fatalf("record %04x size %d runs past the end", id, size)
		}
		recs = append(recs, record{id, b[p : p+size]})
		p += size
		if id == 0x0010 {
			if p != len(b) {
				t.Errorf("%d bytes after the terminator", len(b)-p)
			}
			break
		}
	}
	return recs
}

func streams(t *testing.T, bin []byte) map[string][]byte {
	t.Helper()
	s, _, err := cfbread.ReadAll(bin)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sampleProject() *Project {
	return &Project{
		CodePage: 932,
		Modules: []Module{
			{Name: "ThisDocument", Kind: Document, Base: BaseWordDocument, Code: "Private Sub Document_Open()\n    Run1\nEnd Sub\n"},
			{Name: "Module1", Kind: Procedural, Code: "' 請求書のマクロ\nSub Run1()\n    MsgBox UserForm1.TextBox1.Text\nEnd Sub\n"},
			{Name: "UserForm1", Kind: Form, TextBoxes: []TextBox{{Name: "TextBox1", Value: "powershell -enc VwByAGkAdABlAA=="}, {Name: "TextBox2", Value: "second"}}},
		},
	}
}

func TestProjectBin(t *testing.T) {
	p := sampleProject()
	bin, err := p.Bin()
	if err != nil {
		t.Fatal(err)
	}
	s := streams(t, bin)
	for _, name := range []string{"PROJECT", "PROJECTwm", "VBA/dir", "VBA/_VBA_PROJECT", "VBA/ThisDocument", "VBA/Module1", "VBA/UserForm1",
		"UserForm1/f", "UserForm1/o", "UserForm1/VBFrame", "UserForm1/CompObj"} {
		if _, ok := s[name]; !ok {
			t.Errorf("stream %q missing", name)
		}
	}
	if got := s["VBA/_VBA_PROJECT"]; !bytes.Equal(got, []byte{0xCC, 0x61, 0xFF, 0xFF, 0x00, 0x00, 0x00}) {
		t.Errorf("_VBA_PROJECT = % x", got)
	}

	dir, err := decompress(s["VBA/dir"])
	if err != nil {
		t.Fatalf("dir: %v", err)
	}
	recs := parseDir(t, dir)
	var ids []uint16
	modules := map[string]uint32{} // stream name -> text offset
	var cur string
	var codePage uint16
	for _, r := range recs {
		ids = append(ids, r.id)
		switch r.id {
		case 0x0003:
			codePage = binary.LittleEndian.Uint16(r.data)
		case 0x001A:
			cur = string(r.data)
		case 0x0031:
			modules[cur] = binary.LittleEndian.Uint32(r.data)
		}
	}
	if codePage != 932 {
		t.Errorf("PROJECTCODEPAGE = %d", codePage)
	}
	wantPrefix := []uint16{0x0001, 0x0002, 0x0014, 0x0003, 0x0004, 0x0005, 0x0040, 0x0006, 0x003D, 0x0007, 0x0008, 0x0009, 0x000C, 0x003C, 0x0016, 0x003E, 0x000D, 0x000F, 0x0013}
	if len(ids) < len(wantPrefix) || fmt.Sprint(ids[:len(wantPrefix)]) != fmt.Sprint(wantPrefix) {
		t.Errorf("record ids %04x", ids)
	}
	if len(modules) != 3 {
		t.Fatalf("modules %v", modules)
	}
	sjis := japanese.ShiftJIS.NewDecoder()
	for name, off := range modules {
		raw := s["VBA/"+name]
		if int(off) > len(raw) {
			t.Fatalf("%s: offset %d beyond %d bytes", name, off, len(raw))
		}
		src, err := decompress(raw[off:])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		text, err := sjis.Bytes(src)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(text), `Attribute VB_Name = "`+name+`"`+"\r\n") {
			t.Errorf("%s source starts %q", name, text[:min(40, len(text))])
		}
		if name == "Module1" && !strings.Contains(string(text), "' 請求書のマクロ\r\nSub Run1()") {
			t.Errorf("Module1 source lost its Japanese comment: %q", text)
		}
		if name == "ThisDocument" && !strings.Contains(string(text), `Attribute VB_Base = "1Normal.ThisDocument"`) {
			t.Errorf("ThisDocument lacks VB_Base: %q", text)
		}
	}

	proj := string(s["PROJECT"])
	for _, want := range []string{`ID="{`, "Document=ThisDocument/&H00000000\r\n", "Module=Module1\r\n", "BaseClass=UserForm1\r\n",
		"Package={AC9F2F90-E877-11CE-9F68-00AA00574A4F}\r\n", `Name="Project"`, `HelpContextID="0"`, `VersionCompatible32="393222000"`,
		"\r\nCMG=\"", "\r\nDPB=\"", "\r\nGC=\"", "[Host Extender Info]", "[Workspace]"} {
		if !strings.Contains(proj, want) {
			t.Errorf("PROJECT lacks %q", want)
		}
	}
	wm := s["PROJECTwm"]
	if !bytes.HasPrefix(wm, append([]byte("ThisDocument\x00"), utf16z("ThisDocument")...)) || !bytes.HasSuffix(wm, []byte{0, 0}) {
		t.Errorf("PROJECTwm = % x", wm)
	}

	// The TextBox values read back the way oletools' oleform walks f and o.
	values := readForm(t, s["UserForm1/f"], s["UserForm1/o"])
	if fmt.Sprint(values) != "[TextBox1=powershell -enc VwByAGkAdABlAA== TextBox2=second]" {
		t.Errorf("form values %q", values)
	}

	again, err := sampleProject().Bin()
	if err != nil || !bytes.Equal(again, bin) {
		t.Error("Bin is not reproducible")
	}
}

func utf16z(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return append(b, 0, 0)
}

// readForm follows MS-OFORMS 2.2.10.1 (FormControl) and 2.2.5.1
// (MorphDataControl) for the property subsets the writer uses.
func readForm(t *testing.T, f, o []byte) []string {
	t.Helper()
	le := binary.LittleEndian
	if f[0] != 0 || f[1] != 4 {
		t.Fatalf("FormControl version % x", f[:2])
	}
	cb := int(le.Uint16(f[2:]))
	mask := le.Uint32(f[4:])
	p := 4 + cb
	if mask&(1<<6) != 0 {
		t.Fatal("BooleanProperties present: class table handling differs")
	}
	if n := le.Uint16(f[p:]); n != 0 {
		t.Fatalf("CountOfSiteClassInfo = %d", n)
	}
	p += 2
	nSites := int(le.Uint32(f[p:]))
	countBytes := int(le.Uint32(f[p+4:]))
	p += 8
	if p+countBytes != len(f) {
		t.Errorf("CountOfBytes %d, remaining %d", countBytes, len(f)-p)
	}
	depths := (2*nSites + 3) / 4 * 4
	p += depths
	var out []string
	op := 0
	for i := 0; i < nSites; i++ {
		cbSite := int(le.Uint16(f[p+2:]))
		site := f[p+4 : p+4+cbSite]
		p += 4 + cbSite
		smask := le.Uint32(site)
		if smask != 0x1F5 {
			t.Fatalf("site mask %x", smask)
		}
		nameLen := int(le.Uint32(site[4:]) & 0x7FFFFFFF)
		objSize := int(le.Uint32(site[16:]))
		clsidIdx := le.Uint16(site[22:])
		name := string(site[24 : 24+nameLen])
		if clsidIdx != ClsidCacheIndexTextBox {
			t.Errorf("%s ClsidCacheIndex %d", name, clsidIdx)
		}
		obj := o[op : op+objSize]
		op += objSize
		if obj[0] != 0 || obj[1] != 2 {
			t.Fatalf("MorphData version % x", obj[:2])
		}
		cbm := int(le.Uint16(obj[2:]))
		pm := le.Uint64(obj[4:])
		if pm&(1<<22) == 0 {
			t.Fatalf("%s: fValue not set", name)
		}
		valLen := int(le.Uint32(obj[16:]) & 0x7FFFFFFF)
		// ExtraDataBlock: Size (8 bytes) then Value.
		val := string(obj[20+8 : 20+8+valLen])
		if tp := obj[4+cbm:]; len(tp) < 4 || tp[0] != 0 || tp[1] != 2 {
			t.Errorf("%s: TextProps % x", name, tp)
		}
		out = append(out, name+"="+val)
	}
	if op != len(o) {
		t.Errorf("o has %d trailing bytes", len(o)-op)
	}
	return out
}

// decrypt reverses MS-OVBA 2.4.3 Data Encryption.
func decrypt(t *testing.T, hexText string) []byte {
	t.Helper()
	b, err := hex.DecodeString(hexText)
	if err != nil {
		t.Fatal(err)
	}
	seed := b[0]
	version := b[1] ^ seed
	projKey := b[2] ^ seed
	if version != 2 {
		t.Fatalf("version %d", version)
	}
	unenc1, enc1, enc2 := projKey, b[2], b[1]
	ignored := int(seed&6) / 2
	p := 3
	next := func() byte {
		c := b[p] ^ (enc2 + unenc1)
		enc2, enc1, unenc1 = enc1, b[p], c
		p++
		return c
	}
	for i := 0; i < ignored; i++ {
		next()
	}
	var n [4]byte
	for i := range n {
		n[i] = next()
	}
	l := int(binary.LittleEndian.Uint32(n[:]))
	if p+l != len(b) {
		t.Fatalf("length %d but %d bytes remain", l, len(b)-p)
	}
	out := make([]byte, l)
	for i := range out {
		out[i] = next()
	}
	return out
}

func field(proj, key string) string {
	i := strings.Index(proj, "\r\n"+key+"=\"")
	rest := proj[i+len(key)+4:]
	return rest[:strings.IndexByte(rest, '"')]
}

func TestProtection(t *testing.T) {
	tests := []struct {
		name     string
		password string
		cmg      []byte
		dpbLen   int
		gc       []byte
	}{
		{"open", "", []byte{0, 0, 0, 0}, 1, []byte{0xFF}},
		{"locked", "regress", []byte{5, 0, 0, 0}, 29, []byte{0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Project{Password: tc.password, Modules: []Module{{Name: "Module1", Code: "Sub A()\nEnd Sub"}}}
			root := cfb.NewRoot(cfb.CLSID{})
			if err := p.Write(root); err != nil {
				t.Fatal(err)
			}
			bin, err := cfb.Marshal(root)
			if err != nil {
				t.Fatal(err)
			}
			proj := string(streams(t, bin)["PROJECT"])
			id := proj[4 : strings.IndexByte(proj[4:], '"')+4]
			var key byte
			for i := 0; i < len(id); i++ {
				key += id[i]
			}
			if got := decrypt(t, field(proj, "CMG")); !bytes.Equal(got, tc.cmg) {
				t.Errorf("CMG = % x", got)
			}
			if got := decrypt(t, field(proj, "GC")); !bytes.Equal(got, tc.gc) {
				t.Errorf("GC = % x", got)
			}
			dpb := decrypt(t, field(proj, "DPB"))
			if len(dpb) != tc.dpbLen {
				t.Fatalf("DPB has %d bytes", len(dpb))
			}
			if tc.dpbLen == 29 {
				if dpb[0] != 0xFF || dpb[28] != 0 || bytes.IndexByte(dpb[4:28], 0) >= 0 {
					t.Errorf("hash structure % x", dpb)
				}
			}
			b, _ := hex.DecodeString(field(proj, "DPB"))
			if b[2]^b[0] != key {
				t.Errorf("ProjKey %x, want checksum %x of %s", b[2]^b[0], key, id)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name string
		p    Project
	}{
		{"no modules", Project{}},
		{"duplicate", Project{Modules: []Module{{Name: "A"}, {Name: "a"}}}},
		{"document without base", Project{Modules: []Module{{Name: "ThisDocument", Kind: Document}}}},
		{"bad code page", Project{CodePage: 65001, Modules: []Module{{Name: "A"}}}},
		{"unencodable", Project{Modules: []Module{{Name: "A", Code: "' 日本語"}}}},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			if _, err := tc.p.Bin(); err == nil {
				t.Error("Bin succeeded")
			}
		})
	}
}
