package lnkw

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
)

// parsed is what readBack recovers from a link.
type parsed struct {
	Flags       uint32
	IconIndex   int32
	ShowCommand uint32
	Written     uint64
	BasePath    string
	VolumeLabel string
	Strings     []string
	EnvTarget   string
	EnvIcon     string
}

// readBack is an independent, strict reader of the subset lnkw writes.
func readBack(b []byte) (parsed, error) {
	le := binary.LittleEndian
	var p parsed
	if len(b) < HeaderSize || le.Uint32(b) != HeaderSize || !bytes.Equal(b[4:20], CLSID[:]) {
		return p, fmt.Errorf("bad header")
	}
	p.Flags = le.Uint32(b[20:])
	p.Written = le.Uint64(b[44:])
	p.IconIndex = int32(le.Uint32(b[56:]))
	p.ShowCommand = le.Uint32(b[60:])
	off := HeaderSize
	if p.Flags&HasLinkInfo != 0 {
		size := int(le.Uint32(b[off:]))
		info := b[off : off+size]
		if le.Uint32(info[8:]) != 1 {
			return p, fmt.Errorf("link info flags %d", le.Uint32(info[8:]))
		}
		vol := info[le.Uint32(info[12:]):]
		label := vol[le.Uint32(vol[12:]):]
		p.VolumeLabel = string(label[:bytes.IndexByte(label, 0)])
		base := info[le.Uint32(info[16:]):]
		p.BasePath = string(base[:bytes.IndexByte(base, 0)])
		suffix := info[le.Uint32(info[24:]):]
		if len(suffix) != 1 || suffix[0] != 0 {
			return p, fmt.Errorf("common path suffix %q", suffix)
		}
		off += size
	}
	for _, f := range []uint32{HasName, HasRelativePath, HasWorkingDir, HasArguments, HasIconLocation} {
		if p.Flags&f == 0 {
			continue
		}
		n := int(le.Uint16(b[off:]))
		off += 2
		u := make([]uint16, n)
		for i := range u {
			u[i] = le.Uint16(b[off+2*i:])
		}
		off += 2 * n
		p.Strings = append(p.Strings, string(utf16.Decode(u)))
	}
	for {
		size := int(le.Uint32(b[off:]))
		if size < 4 {
			break
		}
		sig := le.Uint32(b[off+4:])
		blk := b[off : off+size]
		uni := blk[8+260:]
		u := make([]uint16, 0, 260)
		for i := 0; i+1 < len(uni) && le.Uint16(uni[i:]) != 0; i += 2 {
			u = append(u, le.Uint16(uni[i:]))
		}
		ansi := string(blk[8 : 8+bytes.IndexByte(blk[8:8+260], 0)])
		if ansi != string(utf16.Decode(u)) {
			return p, fmt.Errorf("block %#x: ANSI %q vs Unicode %q", sig, ansi, string(utf16.Decode(u)))
		}
		switch sig {
		case EnvironmentVariableBlock:
			p.EnvTarget = ansi
		case IconEnvironmentBlock:
			p.EnvIcon = ansi
		}
		off += size
	}
	if off+4 != len(b) {
		return p, fmt.Errorf("trailing bytes: terminal block at %d of %d", off, len(b))
	}
	return p, nil
}

func TestBytes(t *testing.T) {
	when := time.Date(2020, 7, 15, 1, 2, 3, 0, time.UTC)
	tests := []struct {
		name string
		link Link
		want parsed
	}{
		{
			name: "powershell_pdf_lure",
			link: Link{
				LocalBasePath: `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
				EnvTarget:     `%SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe`,
				Arguments:     "-NoProfile -WindowStyle Hidden -EncodedCommand AAAA",
				IconLocation:  `%SystemRoot%\System32\imageres.dll`,
				IconIndex:     -102,
				ShowCommand:   ShowMinNoActivate,
				Written:       when,
				VolumeLabel:   "OS",
			},
			want: parsed{
				Flags:       IsUnicode | HasLinkInfo | HasArguments | HasIconLocation | HasExpString | HasExpIcon,
				IconIndex:   -102,
				ShowCommand: 7,
				Written:     132392485230000000,
				BasePath:    `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
				VolumeLabel: "OS",
				Strings:     []string{"-NoProfile -WindowStyle Hidden -EncodedCommand AAAA", `%SystemRoot%\System32\imageres.dll`},
				EnvTarget:   `%SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe`,
				EnvIcon:     `%SystemRoot%\System32\imageres.dll`,
			},
		},
		{
			name: "relative_unicode_name",
			link: Link{
				RelativePath: `.\請求書.pdf`,
				Name:         "請求書",
				WorkingDir:   `C:\Users\Public`,
			},
			want: parsed{
				Flags:       IsUnicode | HasName | HasRelativePath | HasWorkingDir,
				ShowCommand: ShowNormal,
				Strings:     []string{"請求書", `.\請求書.pdf`, `C:\Users\Public`},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.link.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			got, err := readBack(b)
			if err != nil {
				t.Fatalf("read back: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("read back (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNetworkLink reads back a shortcut to a folder on a share: LinkInfo
// with only a CommonNetworkRelativeLink and the path suffix.
func TestNetworkLink(t *testing.T) {
	l := Link{NetName: `\\srv.corp.example\share`, PathSuffix: "Reports", FileAttributes: FileAttributeDirectory,
		IconLocation: `%SystemRoot%\System32\shell32.dll`, IconIndex: 3}
	b, err := l.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if flags := le.Uint32(b[20:]); flags != IsUnicode|HasLinkInfo|HasIconLocation|HasExpIcon {
		t.Errorf("flags %#x", flags)
	}
	info := b[HeaderSize:]
	size := le.Uint32(info)
	info = info[:size]
	type li struct {
		HeaderSize, Flags, VolOff, BaseOff uint32
		CNRLSize, CNRLFlags, NetOff        uint32
		DevOff, Provider                   uint32
		NetName, Suffix                    string
	}
	cnrl := info[le.Uint32(info[20:]):]
	cstr := func(b []byte) string { return string(b[:bytes.IndexByte(b, 0)]) }
	got := li{le.Uint32(info[4:]), le.Uint32(info[8:]), le.Uint32(info[12:]), le.Uint32(info[16:]),
		le.Uint32(cnrl), le.Uint32(cnrl[4:]), le.Uint32(cnrl[8:]), le.Uint32(cnrl[12:]), le.Uint32(cnrl[16:]),
		cstr(cnrl[le.Uint32(cnrl[8:]):]), cstr(info[le.Uint32(info[24:]):])}
	want := li{0x1c, 2, 0, 0, 0x14 + uint32(len(l.NetName)) + 1, 2, 0x14, 0, NetworkProviderLanMan, l.NetName, "Reports"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LinkInfo (-want +got):\n%s", diff)
	}
	if int(size) != 0x1c+int(got.CNRLSize)+len("Reports")+1 {
		t.Errorf("LinkInfo size %d", size)
	}
	if a := le.Uint32(b[24:]); a != FileAttributeDirectory {
		t.Errorf("attributes %#x", a)
	}
}

func TestBytesErrors(t *testing.T) {
	for _, l := range []Link{
		{},
		{RelativePath: `.\x`, PathSuffix: "Reports"},
		{NetName: `\\サーバ\share`},
		{LocalBasePath: `C:\データ\x.exe`},
		{LocalBasePath: `C:\x.exe`, EnvTarget: string(bytes.Repeat([]byte("a"), 300))},
	} {
		if _, err := l.Bytes(); err == nil {
			t.Errorf("Bytes(%+v) = nil error", l)
		}
	}
}
