package ole

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"
)

func TestReadProperties(t *testing.T) {
	good := summaryInformation(map[uint32]string{2: "請求書", 4: "山田 太郎", 6: "TRIAGE-REGRESSION"})
	props, err := readProperties(good)
	if err != nil {
		t.Fatal(err)
	}
	if props["title"] != "請求書" || props["author"] != "山田 太郎" || props["comments"] != "TRIAGE-REGRESSION" {
		t.Errorf("props = %v", props)
	}
	absurdCount := append([]byte{}, good...)
	binary.LittleEndian.PutUint32(absurdCount[48+4:], 0x7FFFFFFF) // NumProperties
	badOffset := append([]byte{}, good...)
	binary.LittleEndian.PutUint32(badOffset[44:], 0xFFFFFF00) // section offset
	hugeString := append([]byte{}, good...)
	// First string value's length field: after the code page property.
	off := 48 + 8 + 8*4 + 8
	binary.LittleEndian.PutUint32(hugeString[off+4:], 0xFFFFFFF0)
	for name, b := range map[string][]byte{
		"absurd_count": absurdCount, "bad_offset": badOffset, "truncated": good[:60],
		"huge_string": hugeString, "empty": nil, "sets_count": append(append([]byte{}, good[:24]...), 0xFF, 0xFF, 0xFF, 0xFF),
	} {
		t.Run(name, func(t *testing.T) {
			props, err := readProperties(b)
			if name == "huge_string" {
				if err != nil || props["title"] != "" || props["author"] != "山田 太郎" {
					t.Errorf("huge string: %v %v", props, err)
				}
				return
			}
			if err == nil && len(props) > 0 {
				t.Errorf("accepted damaged stream: %v", props)
			}
		})
	}
}

func TestFormStrings(t *testing.T) {
	b := formStream("cmd /c powershell -w hidden", "Caption Text")
	b = append(b, 0x01) // shift the next UTF-16 string to an odd offset
	b = append(b, utf16Bytes("odd offset text")...)
	b = append(b, 0x00, 0x00, 0x10, 0x80, 'a', 'b', 0x00) // short runs are dropped
	got := formStrings(b, 1<<16)
	for _, want := range []string{"cmd /c powershell -w hidden", "Caption Text", "odd offset text"} {
		if !slices.Contains(got, want) {
			t.Errorf("missing %q in %q", want, got)
		}
	}
	for _, s := range got {
		if len(s) < minFormString || strings.IndexFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' }) >= 0 {
			t.Errorf("noise kept: %q", s)
		}
	}
	if got := formStrings(b, 20); len(strings.Join(got, "\n")) > 20 {
		t.Errorf("limit not applied: %q", got)
	}
}
