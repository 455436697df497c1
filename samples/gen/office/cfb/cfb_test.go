package cfb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"triage/samples/gen/office/cfb/cfbread"
	"unicode/utf16"
)

// pattern returns n deterministic bytes.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

// readAll reads every stream with mscfb, keyed by "/"-joined path (names as
// mscfb reports them: a leading control character is dropped).
func readAll(t *testing.T, data []byte) (map[string][]byte, map[string]string) {
	t.Helper()
	s, ids, err := cfbread.ReadAll(data)
	if err != nil {
		t.Fatalf("mscfb: %v", err)
	}
	return s, ids
}

func TestMarshalRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		streams map[string]int // path -> size
	}{
		{"empty root", nil},
		{"one mini stream", map[string]int{"a": 10}},
		{"cutoff edges", map[string]int{"x4095": 4095, "x4096": 4096, "x4097": 4097, "x64": 64, "x65": 65, "zero": 0}},
		{"word-like", map[string]int{
			"WordDocument": 5000, "1Table": 700, "\x05SummaryInformation": 300, "\x01CompObj": 114,
			"Macros/PROJECT": 400, "Macros/PROJECTwm": 40, "Macros/VBA/dir": 500, "Macros/VBA/_VBA_PROJECT": 7,
			"Macros/VBA/ThisDocument": 1200, "Macros/VBA/Module1": 3000,
			"ObjectPool/_1573829142/\x01Ole10Native": 2200, "ObjectPool/_1573829142/\x03ObjInfo": 6,
		}},
		{"many siblings", func() map[string]int {
			m := map[string]int{}
			for i := 0; i < 37; i++ {
				m[fmt.Sprintf("S/stream%02d", i)] = 100 + 97*i
			}
			return m
		}()},
		{"mini stream over many sectors", func() map[string]int {
			m := map[string]int{}
			for i := 0; i < 300; i++ {
				m[fmt.Sprintf("d%d/m", i)] = 3000
			}
			return m
		}()},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			root := NewRoot(WordDocument)
			want := map[string][]byte{}
			i := 0
			for _, p := range slices.Sorted(maps.Keys(tc.streams)) {
				data := pattern(tc.streams[p], byte(i))
				i++
				root.Put(p, data)
				want[mscfbPath(p)] = data
			}
			out, err := Marshal(root)
			if err != nil {
				t.Fatal(err)
			}
			if len(out)%512 != 0 {
				t.Errorf("size %d is not a multiple of 512", len(out))
			}
			got, clsids := readAll(t, out)
			if len(got) != len(want) {
				t.Errorf("got %d streams, want %d", len(got), len(want))
			}
			for p, w := range want {
				g, ok := got[p]
				if !ok {
					t.Errorf("stream %q missing", p)
					continue
				}
				if !bytes.Equal(g, w) {
					t.Errorf("stream %q: %d bytes differ from the %d written", p, len(g), len(w))
				}
			}
			if clsids[""] != "{00020906-0000-0000-C000-000000000046}" {
				t.Errorf("root CLSID %q", clsids[""])
			}
			hasMini := false
			for _, n := range tc.streams {
				hasMini = hasMini || n > 0 && n < 4096
			}
			if nMini := binary.LittleEndian.Uint32(out[0x40:]); hasMini != (nMini > 0) {
				t.Errorf("MiniFAT sectors = %d, small streams present = %v", nMini, hasMini)
			}
			checkDirectory(t, out)
			again, err := Marshal(root)
			if err != nil || !bytes.Equal(again, out) {
				t.Errorf("second Marshal differs (err %v)", err)
			}
		})
	}
}

// mscfbPath drops the leading control character mscfb strips from names.
func mscfbPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if s != "" && s[0] < 0x20 {
			parts[i] = s[1:]
		}
	}
	return strings.Join(parts, "/")
}

// TestDIFAT needs more than 109 FAT sectors (> 7 MB of sectors).
func TestDIFAT(t *testing.T) {
	root := NewRoot(ExcelWorkbook)
	big := pattern(8<<20, 7)
	root.Stream("Workbook", big)
	root.Put("_VBA_PROJECT_CUR/VBA/dir", []byte("small"))
	out, err := Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint32(out[0x48:]); n == 0 {
		t.Fatalf("expected DIFAT sectors, header says %d", n)
	}
	got, clsids := readAll(t, out)
	if !bytes.Equal(got["Workbook"], big) {
		t.Error("Workbook differs")
	}
	if string(got["_VBA_PROJECT_CUR/VBA/dir"]) != "small" {
		t.Errorf("dir = %q", got["_VBA_PROJECT_CUR/VBA/dir"])
	}
	if clsids[""] != "{00020820-0000-0000-C000-000000000046}" {
		t.Errorf("root CLSID %q", clsids[""])
	}
	checkDirectory(t, out)
}

// checkDirectory parses the directory independently of mscfb and checks
// the MS-CFB invariants of every storage's child tree: binary-search order
// by the CFB comparison, black root, no red node with a red child, equal
// black height on every path.
func checkDirectory(t *testing.T, out []byte) {
	t.Helper()
	le := binary.LittleEndian
	fat := func(n uint32) uint32 {
		// FAT sector k is listed in the header DIFAT (enough for these tests
		// except TestDIFAT, whose directory lies in the first FAT sector anyway).
		per := uint32(128)
		sec := le.Uint32(out[0x4C+4*(n/per):])
		return le.Uint32(out[512+int(sec)*512+int(n%per)*4:])
	}
	var dir []byte
	for s := le.Uint32(out[0x30:]); s != endOfChain; s = fat(s) {
		dir = append(dir, out[512+int(s)*512:512+int(s+1)*512]...)
	}
	type ent struct {
		name               string
		typ, color         byte
		left, right, child uint32
	}
	var es []ent
	for off := 0; off+128 <= len(dir); off += 128 {
		e := dir[off : off+128]
		n := int(le.Uint16(e[0x40:]))
		var u []uint16
		for i := 0; i+2 < n; i += 2 {
			u = append(u, le.Uint16(e[i:]))
		}
		es = append(es, ent{string(utf16.Decode(u)), e[0x42], e[0x43], le.Uint32(e[0x44:]), le.Uint32(e[0x48:]), le.Uint32(e[0x4C:])})
	}
	if es[0].typ != typeRoot || es[0].name != "Root Entry" {
		t.Fatalf("entry 0 = %+v", es[0])
	}
	visited := make([]bool, len(es))
	var walk func(id uint32, lo, hi string) int
	walk = func(id uint32, lo, hi string) int {
		if id == noStream {
			return 1
		}
		if int(id) >= len(es) || visited[id] {
			t.Fatalf("bad or repeated id %d", id)
		}
		visited[id] = true
		e := es[id]
		if lo != "" && compareNames(lo, e.name) >= 0 || hi != "" && compareNames(e.name, hi) >= 0 {
			t.Errorf("%q out of order between %q and %q", e.name, lo, hi)
		}
		if e.color == colorRed {
			for _, c := range []uint32{e.left, e.right} {
				if c != noStream && es[c].color == colorRed {
					t.Errorf("red %q has red child %q", e.name, es[c].name)
				}
			}
		}
		bl := walk(e.left, lo, e.name)
		br := walk(e.right, e.name, hi)
		if bl != br {
			t.Errorf("black height differs below %q: %d vs %d", e.name, bl, br)
		}
		if e.child != noStream {
			if es[e.child].color != colorBlack {
				t.Errorf("child tree root %q of %q is red", es[e.child].name, e.name)
			}
			walk(e.child, "", "")
		}
		if e.color == colorBlack {
			bl++
		}
		return bl
	}
	visited[0] = true
	if es[0].child != noStream {
		walk(es[0].child, "", "")
	}
	for i, e := range es {
		if e.typ != 0 && !visited[i] {
			t.Errorf("entry %d %q unreachable", i, e.name)
		}
	}
}

func TestCompareNames(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"b", "aa", -1},
		{"VBA", "dir", 1},
		{"dir", "DIR", 0},
		{"PROJECT", "PROJECTwm", -1},
		{"_VBA_PROJECT", "ThisDocument", 1}, // '_' (0x5F) sorts after 'T'
		{"\x01CompObj", "WordDocument", -1},
		{"abc", "abd", -1},
	}
	for _, tc := range tests {
		if got := compareNames(tc.a, tc.b); got != tc.want {
			t.Errorf("compareNames(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(*Storage)
	}{
		{"long name", func(s *Storage) { s.Stream(strings.Repeat("x", 32), nil) }},
		{"empty name", func(s *Storage) { s.Stream("", nil) }},
		{"forbidden char", func(s *Storage) { s.Stream("a:b", nil) }},
		{"stream then storage", func(s *Storage) { s.Stream("x", nil); s.Storage("X") }},
		{"storage then stream", func(s *Storage) { s.Storage("x"); s.Stream("x", nil) }},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			root := NewRoot(CLSID{})
			tc.build(root)
			if _, err := Marshal(root); err == nil {
				t.Error("Marshal succeeded")
			}
		})
	}
}

func TestCLSID(t *testing.T) {
	c, err := ParseCLSID("{00020906-0000-0000-C000-000000000046}")
	if err != nil {
		t.Fatal(err)
	}
	want := CLSID{0x06, 0x09, 0x02, 0x00, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46}
	if c != want {
		t.Errorf("ParseCLSID = % x", c[:])
	}
	if c.String() != "00020906-0000-0000-C000-000000000046" {
		t.Errorf("String = %s", c)
	}
	if _, err := ParseCLSID("0002090-0000-0000-C000-000000000046"); err == nil {
		t.Error("short CLSID accepted")
	}
}

func TestReplaceStream(t *testing.T) {
	root := NewRoot(CLSID{})
	root.Stream("a", []byte("one"))
	root.Stream("A", []byte("two"))
	out, err := Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, out)
	if len(got) != 1 || string(got["a"]) != "two" {
		t.Errorf("got %q", got)
	}
}
