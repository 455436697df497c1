package lnk

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
	"unicode/utf16"

	"golang.org/x/text/encoding/charmap"
)

// testLink describes a shell link for the builder. Empty strings are left
// out; the header flags follow from what is set.
type testLink struct {
	ansi        bool // StringData in the code page instead of UTF-16
	showCommand uint32
	iconIndex   int32
	hotKey      uint16
	extraFlags  LinkFlags

	idList   [][]byte // item bodies (class byte onwards); nil: no ID list
	linkInfo *testLinkInfo

	name, relPath, workDir, args, icon string
	// counts, if set, overrides CountCharacters of the StringData fields
	// by index (0 name … 4 icon).
	counts map[int]uint16

	envTarget, iconEnv, machineID string
	blocks                        [][]byte // raw extra data blocks, after the known ones
	noTerminal                    bool
	trailing                      []byte
}

type testLinkInfo struct {
	localBase, suffix string
	unicodeHeader     bool // LinkInfoHeaderSize 0x24 with Unicode paths
	netName, device   string
	driveType         uint32
	serial            uint32
	label             string
	sizeOverride      uint32
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func utf16z(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return append(b, 0, 0)
}

func ansi(s string) []byte {
	b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
	if err != nil {
		panic(err)
	}
	return b
}

func ansiz(s string) []byte { return append(ansi(s), 0) }

// fixedField pads b to n bytes (cutting it if longer).
func fixedField(b []byte, n int) []byte {
	out := make([]byte, n)
	copy(out, b)
	return out
}

func (t testLink) bytes() []byte {
	var flags LinkFlags
	if t.idList != nil {
		flags |= HasLinkTargetIDList
	}
	if t.linkInfo != nil {
		flags |= HasLinkInfo
	}
	strs := []struct {
		flag LinkFlags
		s    string
	}{{HasName, t.name}, {HasRelativePath, t.relPath}, {HasWorkingDir, t.workDir}, {HasArguments, t.args}, {HasIconLocation, t.icon}}
	for i, s := range strs {
		if s.s != "" || t.counts[i] != 0 {
			flags |= s.flag
		}
	}
	if !t.ansi {
		flags |= IsUnicode
	}
	if t.envTarget != "" {
		flags |= HasExpString
	}
	if t.iconEnv != "" {
		flags |= HasExpIcon
	}
	flags |= t.extraFlags

	b := le32(headerSize)
	b = append(b, linkCLSID[:]...)
	b = append(b, le32(uint32(flags))...)
	b = append(b, le32(0x20)...)     // FILE_ATTRIBUTE_ARCHIVE
	ft := uint64(132223104000000000) // 2020-01-01T00:00:00Z
	for range 3 {
		b = binary.LittleEndian.AppendUint64(b, ft)
	}
	b = append(b, le32(448000)...)
	b = append(b, le32(uint32(t.iconIndex))...)
	b = append(b, le32(t.showCommand)...)
	b = append(b, le16(t.hotKey)...)
	b = append(b, make([]byte, 10)...)

	if t.idList != nil {
		var list []byte
		for _, it := range t.idList {
			list = append(list, le16(uint16(len(it)+2))...)
			list = append(list, it...)
		}
		list = append(list, 0, 0)
		b = append(b, le16(uint16(len(list)))...)
		b = append(b, list...)
	}
	if li := t.linkInfo; li != nil {
		b = append(b, li.bytes()...)
	}
	for i, s := range strs {
		if flags&s.flag == 0 {
			continue
		}
		var enc []byte
		n := len(utf16.Encode([]rune(s.s)))
		if t.ansi {
			enc = ansi(s.s)
			n = len(enc)
		} else {
			enc = utf16z(s.s)
			enc = enc[:len(enc)-2]
		}
		if c, ok := t.counts[i]; ok {
			n = int(c)
		}
		b = append(b, le16(uint16(n))...)
		b = append(b, enc...)
	}
	if t.envTarget != "" {
		b = append(b, envBlock(sigEnvironment, t.envTarget)...)
	}
	if t.iconEnv != "" {
		b = append(b, envBlock(sigIconEnv, t.iconEnv)...)
	}
	if t.machineID != "" {
		b = append(b, trackerBlock(t.machineID)...)
	}
	for _, blk := range t.blocks {
		b = append(b, blk...)
	}
	if !t.noTerminal {
		b = append(b, 0, 0, 0, 0)
	}
	return append(b, t.trailing...)
}

func (li *testLinkInfo) bytes() []byte {
	hdr := uint32(0x1C)
	if li.unicodeHeader {
		hdr = 0x24
	}
	var flags uint32
	var body []byte // after the header
	var volOff, lbpOff, netOff, cpsOff, lbpOffU, cpsOffU uint32
	at := func() uint32 { return hdr + uint32(len(body)) }
	if li.localBase != "" {
		flags |= 1
		volOff = at()
		vol := le32(0)
		vol = append(vol, le32(li.driveType)...)
		vol = append(vol, le32(li.serial)...)
		vol = append(vol, le32(0x10)...)
		vol = append(vol, ansiz(li.label)...)
		copy(vol, le32(uint32(len(vol))))
		body = append(body, vol...)
		lbpOff = at()
		body = append(body, ansiz(li.localBase)...)
	}
	if li.netName != "" {
		flags |= 2
		netOff = at()
		n := le32(0)
		nflags := uint32(2)
		if li.device != "" {
			nflags |= 1
		}
		n = append(n, le32(nflags)...)
		n = append(n, le32(0x14)...) // NetNameOffset
		n = append(n, le32(0)...)    // DeviceNameOffset, set below
		n = append(n, le32(0x20000)...)
		n = append(n, ansiz(li.netName)...)
		if li.device != "" {
			copy(n[12:], le32(uint32(len(n))))
			n = append(n, ansiz(li.device)...)
		}
		copy(n, le32(uint32(len(n))))
		body = append(body, n...)
	}
	cpsOff = at()
	body = append(body, ansiz(li.suffix)...)
	if li.unicodeHeader {
		if li.localBase != "" {
			lbpOffU = at()
			body = append(body, utf16z(li.localBase)...)
		}
		cpsOffU = at()
		body = append(body, utf16z(li.suffix)...)
	}
	size := hdr + uint32(len(body))
	out := le32(size)
	if li.sizeOverride != 0 {
		out = le32(li.sizeOverride)
	}
	out = append(out, le32(hdr)...)
	out = append(out, le32(flags)...)
	out = append(out, le32(volOff)...)
	out = append(out, le32(lbpOff)...)
	out = append(out, le32(netOff)...)
	out = append(out, le32(cpsOff)...)
	if li.unicodeHeader {
		out = append(out, le32(lbpOffU)...)
		out = append(out, le32(cpsOffU)...)
	}
	return append(out, body...)
}

func envBlock(sig uint32, target string) []byte {
	b := le32(0x314)
	b = append(b, le32(sig)...)
	b = append(b, fixedField(ansiz(target), 260)...)
	return append(b, fixedField(utf16z(target), 520)...)
}

func trackerBlock(machine string) []byte {
	b := le32(0x60)
	b = append(b, le32(sigTracker)...)
	b = append(b, le32(0x58)...)
	b = append(b, le32(0)...)
	b = append(b, fixedField(ansiz(machine), 16)...)
	// Droid volume, droid file (version 1, node 02:00:5E:10:00:01), twice.
	vol := []byte{0x18, 0x2a, 0x76, 0xf6, 0x8e, 0x33, 0x74, 0x48, 0xb4, 0xd8, 0x06, 0xde, 0x16, 0x58, 0x6e, 0x7a}
	file := []byte{0xfd, 0xe6, 0x60, 0x4d, 0x6c, 0xf7, 0xea, 0x11, 0x9d, 0x93, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}
	for range 2 {
		b = append(b, vol...)
		b = append(b, file...)
	}
	return b
}

// Shell item bodies (class byte onwards).

func rootItem(guid []byte) []byte { return append([]byte{0x1f, 0x50}, guid...) }

var myComputerGUID = []byte{0xe0, 0x4f, 0xd0, 0x20, 0xea, 0x3a, 0x69, 0x10, 0xa2, 0xd8, 0x08, 0x00, 0x2b, 0x30, 0x30, 0x9d}

func volumeItem(drive string) []byte {
	return append([]byte{0x2f}, fixedField(ansiz(drive), 22)...)
}

// fileItem is a file entry with a short name and a version-9 0xBEEF0004
// extension holding the long name.
func fileItem(short, long string, dir bool) []byte {
	class := byte(0x32)
	if dir {
		class = 0x31
	}
	b := []byte{class, 0}
	b = append(b, le32(0)...) // file size
	b = append(b, le32(0)...) // DOS time
	b = append(b, le16(0)...) // attributes
	b = append(b, ansiz(short)...)
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	ext := le16(0)
	ext = append(ext, le16(9)...)
	ext = append(ext, le32(0xBEEF0004)...)
	ext = append(ext, make([]byte, 38)...) // times, id, MFT ref, sizes, unknowns
	ext = append(ext, utf16z(long)...)
	ext = append(ext, le16(0)...) // first extension version offset
	copy(ext, le16(uint16(len(ext))))
	return append(b, ext...)
}

// Values of the catalogue's sample (§15).
const (
	invoicePS     = `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
	invoicePSEnv  = `%SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe`
	invoiceIcon   = `%SystemRoot%\System32\imageres.dll`
	invoiceName   = "請求書.pdf.lnk"
	regressionCmd = "Write-Output 'TRIAGE-REGRESSION'"
)

func encodedCommand(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func invoiceArgs() string {
	return "-NoProfile -WindowStyle Hidden -EncodedCommand " + encodedCommand(regressionCmd)
}

// invoiceLink is the catalogue's `請求書.pdf.lnk`: PowerShell through
// LinkInfo, the ID list and the environment block, a hidden encoded
// command, imageres.dll's document icon and ShowCommand 7.
func invoiceLink() testLink {
	return testLink{
		showCommand: ShowMinimizedNoActive,
		iconIndex:   -102,
		idList: [][]byte{
			rootItem(myComputerGUID),
			volumeItem(`C:\`),
			fileItem("Windows", "Windows", true),
			fileItem("System32", "System32", true),
			fileItem("WINDOW~1", "WindowsPowerShell", true),
			fileItem("v1.0", "v1.0", true),
			fileItem("POWERS~1.EXE", "powershell.exe", false),
		},
		linkInfo:  &testLinkInfo{localBase: invoicePS, driveType: 3, serial: 0x1234abcd},
		name:      "請求書",
		args:      invoiceArgs(),
		icon:      invoiceIcon,
		envTarget: invoicePSEnv,
		machineID: "desktop-triage",
	}
}

// propertyStoreBlock is a PropertyStoreDataBlock holding one storage of
// VT_LPWSTR values with numeric IDs.
func propertyStoreBlock(fmtid []byte, values map[uint32]string) []byte {
	st := le32(0)
	st = append(st, le32(spsVersion)...)
	st = append(st, fmtid...)
	ids := make([]uint32, 0, len(values))
	for id := range values {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s := utf16z(values[id])
		v := le32(0)
		v = append(v, le32(id)...)
		v = append(v, 0)
		v = append(v, le16(0x1F)...)
		v = append(v, le16(0)...)
		v = append(v, le32(uint32(len(s)/2))...)
		v = append(v, s...)
		copy(v, le32(uint32(len(v))))
		st = append(st, v...)
	}
	st = append(st, le32(0)...) // terminal value
	copy(st, le32(uint32(len(st))))
	st = append(st, le32(0)...) // terminal storage
	b := le32(uint32(8 + len(st)))
	b = append(b, le32(sigPropertyStore)...)
	return append(b, st...)
}

// sidFMTID is 46588AE2-4CBC-4338-BBFC-139326986DCE on disk.
var sidFMTID = []byte{0xe2, 0x8a, 0x58, 0x46, 0xbc, 0x4c, 0x38, 0x43, 0xbb, 0xfc, 0x13, 0x93, 0x26, 0x98, 0x6d, 0xce}

// vistaIDListBlock is a VistaAndAboveIDListDataBlock holding items.
func vistaIDListBlock(items ...[]byte) []byte {
	var list []byte
	for _, it := range items {
		list = append(list, le16(uint16(len(it)+2))...)
		list = append(list, it...)
	}
	list = append(list, 0, 0)
	b := le32(uint32(8 + len(list)))
	b = append(b, le32(sigVistaIDList)...)
	return append(b, list...)
}
