// Package lnkw writes Windows shell links (.lnk, MS-SHLLINK) for inert
// test samples: a ShellLinkHeader, a LinkInfo with a local base path, the
// StringData strings in UTF-16LE, and the environment-variable blocks that
// Explorer writes for %VAR% targets and icons.
//
// Only what the samples need is written: no LinkTargetIDList, no tracker
// or property-store blocks. A network target (a UNC share) is written as a
// LinkInfo CommonNetworkRelativeLink.
package lnkw

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf16"
)

// HeaderSize is the fixed ShellLinkHeader size.
const HeaderSize = 0x4c

// CLSID is the LinkCLSID 00021401-0000-0000-C000-000000000046 as stored.
var CLSID = [16]byte{0x01, 0x14, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}

// LinkFlags bits (MS-SHLLINK 2.1.1).
const (
	HasLinkTargetIDList = 1 << 0
	HasLinkInfo         = 1 << 1
	HasName             = 1 << 2
	HasRelativePath     = 1 << 3
	HasWorkingDir       = 1 << 4
	HasArguments        = 1 << 5
	HasIconLocation     = 1 << 6
	IsUnicode           = 1 << 7
	HasExpString        = 1 << 9
	HasExpIcon          = 1 << 14
)

// ShowCommand values.
const (
	ShowNormal        = 1
	ShowMaximized     = 3
	ShowMinNoActivate = 7
)

// Extra data block signatures.
const (
	EnvironmentVariableBlock = 0xa0000001
	IconEnvironmentBlock     = 0xa0000007
)

// File attributes of the target.
const (
	FileAttributeDirectory = 0x10
	FileAttributeArchive   = 0x20
)

// NetworkProviderLanMan is WNNC_NET_LANMAN, the SMB network provider.
const NetworkProviderLanMan = 0x00020000

// Link describes one shortcut. Empty strings are left out (and their flag
// bit cleared).
type Link struct {
	// LocalBasePath is the resolved target, e.g.
	// C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe.
	LocalBasePath string
	// EnvTarget, when set, is written as an EnvironmentVariableDataBlock
	// (e.g. %SystemRoot%\System32\...\powershell.exe).
	EnvTarget    string
	Name         string // NAME_STRING (the comment)
	RelativePath string
	WorkingDir   string
	Arguments    string
	// IconLocation is the icon file; IconIndex the (possibly negative
	// resource) index, as in "imageres.dll,-102". An IconLocation holding
	// '%' is also written as an IconEnvironmentDataBlock.
	IconLocation string
	IconIndex    int32
	ShowCommand  uint32
	// FileAttributes and FileSize describe the target.
	FileAttributes uint32
	FileSize       uint32
	// Times of the target; the zero time is written as 0.
	Created, Accessed, Written time.Time
	// VolumeLabel, DriveSerial and DriveType fill the LinkInfo VolumeID.
	VolumeLabel string
	DriveSerial uint32
	DriveType   uint32 // 3 = DRIVE_FIXED when zero
	// NetName, when set, is a UNC share (\\server\share) written as a
	// CommonNetworkRelativeLink (LanMan provider), and PathSuffix is the
	// CommonPathSuffix below it (e.g. Reports). A link needs a local base
	// path, a network name or a relative path.
	NetName    string
	PathSuffix string
}

// Bytes renders the link.
func (l *Link) Bytes() ([]byte, error) {
	if l.LocalBasePath == "" && l.NetName == "" && l.RelativePath == "" {
		return nil, errors.New("lnkw: no local base path, network name or relative path")
	}
	if l.PathSuffix != "" && l.NetName == "" {
		return nil, errors.New("lnkw: a path suffix needs a network name")
	}
	var flags uint32 = IsUnicode
	strs := []struct {
		flag uint32
		s    string
	}{
		{HasName, l.Name},
		{HasRelativePath, l.RelativePath},
		{HasWorkingDir, l.WorkingDir},
		{HasArguments, l.Arguments},
		{HasIconLocation, l.IconLocation},
	}
	for _, s := range strs {
		if s.s != "" {
			flags |= s.flag
		}
	}
	if l.LocalBasePath != "" || l.NetName != "" {
		flags |= HasLinkInfo
	}
	if l.EnvTarget != "" {
		flags |= HasExpString
	}
	expIcon := l.IconLocation != "" && bytes.ContainsRune([]byte(l.IconLocation), '%')
	if expIcon {
		flags |= HasExpIcon
	}

	var b bytes.Buffer
	le := binary.LittleEndian
	put32 := func(v uint32) { b.Write(le.AppendUint32(nil, v)) }
	put32(HeaderSize)
	b.Write(CLSID[:])
	put32(flags)
	put32(l.FileAttributes)
	for _, t := range []time.Time{l.Created, l.Accessed, l.Written} {
		b.Write(le.AppendUint64(nil, filetime(t)))
	}
	put32(l.FileSize)
	put32(uint32(l.IconIndex))
	show := l.ShowCommand
	if show == 0 {
		show = ShowNormal
	}
	put32(show)
	b.Write(make([]byte, 2+2+4+4)) // HotKey, Reserved1..3
	if b.Len() != HeaderSize {
		return nil, fmt.Errorf("lnkw: header is %d bytes", b.Len())
	}

	if flags&HasLinkInfo != 0 {
		info, err := l.linkInfo()
		if l.LocalBasePath == "" {
			info, err = l.networkLinkInfo()
		}
		if err != nil {
			return nil, err
		}
		b.Write(info)
	}
	for _, s := range strs {
		if s.s == "" {
			continue
		}
		u := utf16.Encode([]rune(s.s))
		if len(u) > 0xffff {
			return nil, fmt.Errorf("lnkw: string data: %d characters", len(u))
		}
		b.Write(le.AppendUint16(nil, uint16(len(u))))
		for _, c := range u {
			b.Write(le.AppendUint16(nil, c))
		}
	}
	if l.EnvTarget != "" {
		blk, err := envBlock(EnvironmentVariableBlock, l.EnvTarget)
		if err != nil {
			return nil, err
		}
		b.Write(blk)
	}
	if expIcon {
		blk, err := envBlock(IconEnvironmentBlock, l.IconLocation)
		if err != nil {
			return nil, err
		}
		b.Write(blk)
	}
	put32(0) // TerminalBlock
	return b.Bytes(), nil
}

// linkInfo renders a LinkInfo with VolumeIDAndLocalBasePath.
func (l *Link) linkInfo() ([]byte, error) {
	base, err := ansi(l.LocalBasePath)
	if err != nil {
		return nil, fmt.Errorf("lnkw: local base path: %w", err)
	}
	label, err := ansi(l.VolumeLabel)
	if err != nil {
		return nil, fmt.Errorf("lnkw: volume label: %w", err)
	}
	le := binary.LittleEndian
	driveType := l.DriveType
	if driveType == 0 {
		driveType = 3
	}
	var vol []byte
	vol = le.AppendUint32(vol, uint32(16+len(label)+1)) // VolumeIDSize
	vol = le.AppendUint32(vol, driveType)
	vol = le.AppendUint32(vol, l.DriveSerial)
	vol = le.AppendUint32(vol, 16) // VolumeLabelOffset
	vol = append(vol, label...)
	vol = append(vol, 0)

	const headerSize = 0x1c
	volOff := headerSize
	baseOff := volOff + len(vol)
	suffixOff := baseOff + len(base) + 1
	size := suffixOff + 1
	var b []byte
	b = le.AppendUint32(b, uint32(size))
	b = le.AppendUint32(b, headerSize)
	b = le.AppendUint32(b, 1) // VolumeIDAndLocalBasePath
	b = le.AppendUint32(b, uint32(volOff))
	b = le.AppendUint32(b, uint32(baseOff))
	b = le.AppendUint32(b, 0) // CommonNetworkRelativeLinkOffset
	b = le.AppendUint32(b, uint32(suffixOff))
	b = append(b, vol...)
	b = append(b, base...)
	b = append(b, 0)
	b = append(b, 0) // CommonPathSuffix: empty
	return b, nil
}

// networkLinkInfo renders a LinkInfo with only
// CommonNetworkRelativeLinkAndPathSuffix, as Explorer writes for a
// shortcut to a folder on a share: the CommonNetworkRelativeLink (flag
// ValidNetType, the LanMan provider, NetName) then the CommonPathSuffix.
func (l *Link) networkLinkInfo() ([]byte, error) {
	net, err := ansi(l.NetName)
	if err != nil {
		return nil, fmt.Errorf("lnkw: network name: %w", err)
	}
	suffix, err := ansi(l.PathSuffix)
	if err != nil {
		return nil, fmt.Errorf("lnkw: path suffix: %w", err)
	}
	le := binary.LittleEndian
	const cnrlHeader = 0x14
	var cnrl []byte
	cnrl = le.AppendUint32(cnrl, uint32(cnrlHeader+len(net)+1)) // size: header and NetName
	cnrl = le.AppendUint32(cnrl, 2)                             // ValidNetType
	cnrl = le.AppendUint32(cnrl, cnrlHeader)                    // NetNameOffset
	cnrl = le.AppendUint32(cnrl, 0)                             // DeviceNameOffset (no ValidDevice)
	cnrl = le.AppendUint32(cnrl, NetworkProviderLanMan)
	cnrl = append(cnrl, net...)
	cnrl = append(cnrl, 0)

	const headerSize = 0x1c
	netOff := headerSize
	suffixOff := netOff + len(cnrl)
	size := suffixOff + len(suffix) + 1
	var b []byte
	b = le.AppendUint32(b, uint32(size))
	b = le.AppendUint32(b, headerSize)
	b = le.AppendUint32(b, 2) // CommonNetworkRelativeLinkAndPathSuffix
	b = le.AppendUint32(b, 0) // VolumeIDOffset
	b = le.AppendUint32(b, 0) // LocalBasePathOffset
	b = le.AppendUint32(b, uint32(netOff))
	b = le.AppendUint32(b, uint32(suffixOff))
	b = append(b, cnrl...)
	b = append(b, suffix...)
	return append(b, 0), nil
}

// envBlock renders an EnvironmentVariableDataBlock or
// IconEnvironmentDataBlock: 260 ANSI bytes then 260 UTF-16 units.
func envBlock(sig uint32, s string) ([]byte, error) {
	a, err := ansi(s)
	if err != nil {
		return nil, fmt.Errorf("lnkw: environment block: %w", err)
	}
	u := utf16.Encode([]rune(s))
	if len(a) >= 260 || len(u) >= 260 {
		return nil, fmt.Errorf("lnkw: environment block: %q longer than 259 characters", s)
	}
	le := binary.LittleEndian
	var b []byte
	b = le.AppendUint32(b, 0x314)
	b = le.AppendUint32(b, sig)
	ta := make([]byte, 260)
	copy(ta, a)
	b = append(b, ta...)
	tu := make([]byte, 520)
	for i, c := range u {
		le.PutUint16(tu[2*i:], c)
	}
	return append(b, tu...), nil
}

// ansi returns s as single-byte text; only ASCII is accepted so that the
// code page never matters.
func ansi(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] == 0 {
			return nil, fmt.Errorf("non-ASCII or NUL in %q", s)
		}
	}
	return []byte(s), nil
}

// filetime converts t to 100 ns intervals since 1601-01-01 UTC.
func filetime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	const epochDiff = 116444736000000000 // 1601 → 1970 in 100 ns
	return uint64(t.UnixNano()/100) + epochDiff
}
