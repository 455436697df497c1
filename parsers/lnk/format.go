package lnk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/text/encoding/charmap"

	"triage/parsers"
)

// Sizes and constants of MS-SHLLINK.
const (
	headerSize = 0x4C
	// maxPathChars is MAX_PATH: Windows reads at most this many characters
	// of NAME_STRING, RELATIVE_PATH, WORKING_DIR and ICON_LOCATION,
	// whatever CountCharacters says, and the next structure starts right
	// after them (COMMAND_LINE_ARGUMENTS is not capped).
	maxPathChars = 260
	// defaultMaxItems bounds the shell items walked in the target ID list
	// and the extra data blocks read when Parse is called without a Budget.
	defaultMaxItems = 10000
	// maxProblems bounds the structural problems kept.
	maxProblems = 32
)

// linkCLSID is 00021401-0000-0000-C000-000000000046 as stored on disk.
var linkCLSID = [16]byte{0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46}

// LinkFlags is the ShellLinkHeader LinkFlags field (MS-SHLLINK 2.1.1).
type LinkFlags uint32

// Link flags.
const (
	HasLinkTargetIDList         LinkFlags = 1 << 0
	HasLinkInfo                 LinkFlags = 1 << 1
	HasName                     LinkFlags = 1 << 2
	HasRelativePath             LinkFlags = 1 << 3
	HasWorkingDir               LinkFlags = 1 << 4
	HasArguments                LinkFlags = 1 << 5
	HasIconLocation             LinkFlags = 1 << 6
	IsUnicode                   LinkFlags = 1 << 7
	ForceNoLinkInfo             LinkFlags = 1 << 8
	HasExpString                LinkFlags = 1 << 9
	RunInSeparateProcess        LinkFlags = 1 << 10
	HasDarwinID                 LinkFlags = 1 << 12
	RunAsUser                   LinkFlags = 1 << 13
	HasExpIcon                  LinkFlags = 1 << 14
	NoPidlAlias                 LinkFlags = 1 << 15
	RunWithShimLayer            LinkFlags = 1 << 17
	ForceNoLinkTrack            LinkFlags = 1 << 18
	EnableTargetMetadata        LinkFlags = 1 << 19
	DisableLinkPathTracking     LinkFlags = 1 << 20
	DisableKnownFolderTracking  LinkFlags = 1 << 21
	DisableKnownFolderAlias     LinkFlags = 1 << 22
	AllowLinkToLink             LinkFlags = 1 << 23
	UnaliasOnSave               LinkFlags = 1 << 24
	PreferEnvironmentPath       LinkFlags = 1 << 25
	KeepLocalIDListForUNCTarget LinkFlags = 1 << 26
)

var linkFlagNames = [...]string{
	"HasLinkTargetIDList", "HasLinkInfo", "HasName", "HasRelativePath",
	"HasWorkingDir", "HasArguments", "HasIconLocation", "IsUnicode",
	"ForceNoLinkInfo", "HasExpString", "RunInSeparateProcess", "Unused1",
	"HasDarwinID", "RunAsUser", "HasExpIcon", "NoPidlAlias", "Unused2",
	"RunWithShimLayer", "ForceNoLinkTrack", "EnableTargetMetadata",
	"DisableLinkPathTracking", "DisableKnownFolderTracking",
	"DisableKnownFolderAlias", "AllowLinkToLink", "UnaliasOnSave",
	"PreferEnvironmentPath", "KeepLocalIDListForUNCTarget",
}

// Names returns the names of the set flags, lowest bit first; bits the
// specification does not define are named "Bit<n>".
func (f LinkFlags) Names() []string {
	return bitNames(uint32(f), linkFlagNames[:])
}

var fileAttributeNames = [...]string{
	"READONLY", "HIDDEN", "SYSTEM", "Reserved1", "DIRECTORY", "ARCHIVE",
	"Reserved2", "NORMAL", "TEMPORARY", "SPARSE_FILE", "REPARSE_POINT",
	"COMPRESSED", "OFFLINE", "NOT_CONTENT_INDEXED", "ENCRYPTED",
}

func bitNames(v uint32, names []string) []string {
	var out []string
	for i := range 32 {
		if v&(1<<i) == 0 {
			continue
		}
		if i < len(names) {
			out = append(out, names[i])
		} else {
			out = append(out, fmt.Sprintf("Bit%d", i))
		}
	}
	return out
}

// Show commands (MS-SHLLINK 2.1: every other value means SW_SHOWNORMAL).
const (
	ShowNormal            = 1
	ShowMaximized         = 3
	ShowMinimizedNoActive = 7
)

// Header is the ShellLinkHeader.
type Header struct {
	Flags          LinkFlags
	FileAttributes uint32
	CreationTime   time.Time // zero when the FILETIME is zero or out of range
	AccessTime     time.Time
	WriteTime      time.Time
	FileSize       uint32
	IconIndex      int32
	ShowCommand    uint32
	HotKey         uint16
}

// FileAttributeNames returns the FILE_ATTRIBUTE_* names of the target's
// attributes as recorded in the header.
func (h Header) FileAttributeNames() []string {
	return bitNames(h.FileAttributes, fileAttributeNames[:])
}

// ShowCommandName renders ShowCommand as a word.
func (h Header) ShowCommandName() string {
	switch h.ShowCommand {
	case ShowMaximized:
		return "maximized"
	case ShowMinimizedNoActive:
		return "minimized_noactive"
	default:
		return "normal"
	}
}

// HotKeyName renders the hot key ("CTRL+ALT+F5"), or "" when none is set.
func (h Header) HotKeyName() string {
	if h.HotKey == 0 {
		return ""
	}
	key, mods := byte(h.HotKey), byte(h.HotKey>>8)
	var parts []string
	if mods&0x02 != 0 {
		parts = append(parts, "CTRL")
	}
	if mods&0x04 != 0 {
		parts = append(parts, "ALT")
	}
	if mods&0x01 != 0 {
		parts = append(parts, "SHIFT")
	}
	switch {
	case key >= '0' && key <= '9', key >= 'A' && key <= 'Z':
		parts = append(parts, string(rune(key)))
	case key >= 0x70 && key <= 0x87:
		parts = append(parts, fmt.Sprintf("F%d", key-0x6F))
	case key == 0x90:
		parts = append(parts, "NUMLOCK")
	case key == 0x91:
		parts = append(parts, "SCROLLLOCK")
	case key == 0:
	default:
		parts = append(parts, fmt.Sprintf("0x%02X", key))
	}
	return strings.Join(parts, "+")
}

// LinkInfo is the LinkInfo structure (MS-SHLLINK 2.3).
type LinkInfo struct {
	Size       uint32
	HeaderSize uint32
	Flags      uint32 // 1 VolumeIDAndLocalBasePath, 2 CommonNetworkRelativeLinkAndPathSuffix
	// Ignored is set when the header says ForceNoLinkInfo: the structure
	// is present but Windows does not use it.
	Ignored bool

	HasVolume         bool
	DriveType         uint32
	DriveSerial       uint32
	VolumeLabel       string
	LocalBasePath     string // system code page
	LocalBasePathU    string // LocalBasePathUnicode, header size >= 0x24
	CommonPathSuffix  string
	CommonPathSuffixU string

	HasNetwork      bool
	NetFlags        uint32
	NetName         string
	DeviceName      string
	NetworkProvider uint32
}

// BasePath returns the local base path, preferring the Unicode variant.
func (li *LinkInfo) BasePath() string {
	if li.LocalBasePathU != "" {
		return li.LocalBasePathU
	}
	return li.LocalBasePath
}

// Suffix returns the common path suffix, preferring the Unicode variant.
func (li *LinkInfo) Suffix() string {
	if li.CommonPathSuffixU != "" {
		return li.CommonPathSuffixU
	}
	return li.CommonPathSuffix
}

var driveTypeNames = [...]string{"unknown", "no_root_dir", "removable", "fixed", "remote", "cdrom", "ramdisk"}

// DriveTypeName renders DriveType as a word ("fixed", "removable", …).
func (li *LinkInfo) DriveTypeName() string {
	if int(li.DriveType) < len(driveTypeNames) {
		return driveTypeNames[li.DriveType]
	}
	return fmt.Sprintf("0x%x", li.DriveType)
}

// LocalPath joins the local base path and the common path suffix, or ""
// when the link has no local path.
func (li *LinkInfo) LocalPath() string {
	if li == nil || li.Ignored || !li.HasVolume {
		return ""
	}
	return joinPath(li.BasePath(), li.Suffix())
}

// NetworkPath joins the network share name and the common path suffix, or
// "" when the link has no network location.
func (li *LinkInfo) NetworkPath() string {
	if li == nil || li.Ignored || !li.HasNetwork || li.NetName == "" {
		return ""
	}
	return joinPath(li.NetName, li.Suffix())
}

func joinPath(base, suffix string) string {
	if base == "" || suffix == "" {
		return base + suffix
	}
	if strings.HasSuffix(base, `\`) || strings.HasPrefix(suffix, `\`) {
		return base + suffix
	}
	return base + `\` + suffix
}

// Link is a parsed shell link. Fields of structures that are absent or
// were cut off keep their zero values; Problems lists what was wrong.
type Link struct {
	Header Header

	// IDList holds the walked items of the LinkTargetIDList (bounded).
	IDList []ShellItem
	// IDListPath is a best-effort path built from the ID list's file
	// system items ("C:\Windows\System32\cmd.exe"), or "".
	IDListPath string
	// IDListTruncated is set when the item limit stopped the walk.
	IDListTruncated bool

	LinkInfo *LinkInfo

	// StringData. Present tells which were actually read.
	Name, RelativePath, WorkingDir, Arguments, IconLocation string
	Present                                                 LinkFlags
	// OverlongStrings names the StringData fields whose CountCharacters
	// exceeded MAX_PATH (Windows reads only 260 characters of them).
	OverlongStrings []string

	Extra ExtraData

	// Trailing is what follows the terminal block (it aliases the input).
	Trailing []byte

	// Problems lists structural violations, in file order.
	Problems []string
}

// ExtraData holds what the parser reads from the ExtraData blocks.
type ExtraData struct {
	// Blocks names every block seen, in order ("environment", "tracker",
	// "unknown(0x…)").
	Blocks []string

	EnvTargetANSI, EnvTarget         string // EnvironmentVariableDataBlock
	IconEnvANSI, IconEnv             string // IconEnvironmentDataBlock
	DarwinIDANSI, DarwinID           string // DarwinDataBlock
	MachineID                        string // TrackerDataBlock
	DroidVolume, DroidFile           string // TrackerDataBlock GUIDs
	BirthDroidVolume, BirthDroidFile string
	KnownFolderID                    string
	SpecialFolderID                  uint32
	HasSpecialFolder                 bool
	CodePage                         uint32
	HasCodePage                      bool
	ShimLayer                        string
	ConsoleFaceName                  string
	// Properties holds the string values of the PropertyStoreDataBlock.
	Properties []Property
}

// EnvTargetPath returns the environment-variable target, preferring the
// Unicode variant.
func (e *ExtraData) EnvTargetPath() string {
	if e.EnvTarget != "" {
		return e.EnvTarget
	}
	return e.EnvTargetANSI
}

// IconEnvPath returns the environment-variable icon path, preferring the
// Unicode variant.
func (e *ExtraData) IconEnvPath() string {
	if e.IconEnv != "" {
		return e.IconEnv
	}
	return e.IconEnvANSI
}

// Has reports whether the StringData field selected by f was read.
func (l *Link) Has(f LinkFlags) bool { return l.Present&f != 0 }

// Options bound one parse.
type Options struct {
	// MaxItems bounds the shell items walked and the extra data blocks
	// read; 0 means 10000.
	MaxItems int
	// Err, if set, is polled in loops; a non-nil result stops the parse
	// (the message deadline).
	Err func() error
}

// Parse parses a shell link. It returns what it could read and, for a
// damaged file, an error wrapping parsers.ErrMalformed (the details are in
// Link.Problems); the link is nil only when data is not a shell link at
// all.
func Parse(data []byte) (*Link, error) {
	return ParseOptions(data, Options{})
}

// ParseOptions is Parse with explicit bounds. Besides ErrMalformed, the
// error can wrap parsers.ErrTooMany (an item limit cut a walk: the rest of
// the file is still parsed) or the error returned by opts.Err.
func ParseOptions(data []byte, opts Options) (*Link, error) {
	if opts.MaxItems <= 0 {
		opts.MaxItems = defaultMaxItems
	}
	p := &parser{data: data, opts: opts, l: &Link{}}
	stop := p.run()
	var errs []error
	if len(p.l.Problems) > 0 {
		errs = append(errs, fmt.Errorf("lnk: %w: %s", parsers.ErrMalformed, p.l.Problems[0]))
	}
	if p.l.IDListTruncated || p.extraTruncated {
		errs = append(errs, fmt.Errorf("lnk: %w: more than %d items", parsers.ErrTooMany, opts.MaxItems))
	}
	if stop != nil {
		errs = append(errs, fmt.Errorf("lnk: %w", stop))
	}
	if p.notLink {
		return nil, errors.Join(errs...)
	}
	return p.l, errors.Join(errs...)
}

type parser struct {
	data           []byte
	opts           Options
	l              *Link
	notLink        bool
	extraTruncated bool
}

func (p *parser) problem(format string, args ...any) {
	if len(p.l.Problems) < maxProblems {
		p.l.Problems = append(p.l.Problems, fmt.Sprintf(format, args...))
	}
}

func (p *parser) pollErr() error {
	if p.opts.Err == nil {
		return nil
	}
	return p.opts.Err()
}

// run parses the sections in order and stops at the first one whose
// extent cannot be trusted. It returns only the deadline error.
func (p *parser) run() error {
	d := p.data
	if len(d) < headerSize {
		if len(d) >= 20 && binary.LittleEndian.Uint32(d) == headerSize && [16]byte(d[4:20]) == linkCLSID {
			p.problem("header cut at %d of %d bytes", len(d), headerSize)
			return nil
		}
		p.notLink = true
		p.problem("%d bytes: too short for a shell link header", len(d))
		return nil
	}
	if binary.LittleEndian.Uint32(d) != headerSize || [16]byte(d[4:20]) != linkCLSID {
		p.notLink = true
		p.problem("not a shell link: header size 0x%x, CLSID %s", binary.LittleEndian.Uint32(d), guidString(d[4:20]))
		return nil
	}
	h := &p.l.Header
	h.Flags = LinkFlags(binary.LittleEndian.Uint32(d[20:]))
	h.FileAttributes = binary.LittleEndian.Uint32(d[24:])
	h.CreationTime = filetime(binary.LittleEndian.Uint64(d[28:]))
	h.AccessTime = filetime(binary.LittleEndian.Uint64(d[36:]))
	h.WriteTime = filetime(binary.LittleEndian.Uint64(d[44:]))
	h.FileSize = binary.LittleEndian.Uint32(d[52:])
	h.IconIndex = int32(binary.LittleEndian.Uint32(d[56:]))
	h.ShowCommand = binary.LittleEndian.Uint32(d[60:])
	h.HotKey = binary.LittleEndian.Uint16(d[64:])

	off := headerSize
	var ok bool
	var err error
	if h.Flags&HasLinkTargetIDList != 0 {
		if off, ok, err = p.idList(off); !ok || err != nil {
			return err
		}
	}
	if h.Flags&HasLinkInfo != 0 {
		if off, ok = p.linkInfo(off); !ok {
			return nil
		}
	}
	if off, ok = p.stringData(off); !ok {
		return nil
	}
	return p.extraData(off)
}

func (p *parser) idList(off int) (int, bool, error) {
	d := p.data
	if len(d)-off < 2 {
		p.problem("target ID list size cut at offset %d", off)
		return off, false, nil
	}
	size := int(binary.LittleEndian.Uint16(d[off:]))
	start, end := off+2, off+2+size
	ok := true
	if end > len(d) {
		p.problem("target ID list of %d bytes at offset %d overruns the file (%d bytes left)", size, off, len(d)-start)
		end, ok = len(d), false
	}
	items, truncated, err := walkIDList(d[start:end], p.opts.MaxItems, p.pollErr, p.problem)
	p.l.IDList = items
	p.l.IDListTruncated = truncated
	p.l.IDListPath = idListPath(items)
	return off + 2 + size, ok, err
}

// linkInfo parses the LinkInfo at off. It returns the offset after it and
// whether parsing can go on.
func (p *parser) linkInfo(off int) (int, bool) {
	d := p.data
	if len(d)-off < 4 {
		p.problem("LinkInfo size cut at offset %d", off)
		return off, false
	}
	size := binary.LittleEndian.Uint32(d[off:])
	li := &LinkInfo{Size: size, Ignored: p.l.Header.Flags&ForceNoLinkInfo != 0}
	p.l.LinkInfo = li
	ok := true
	end := off + int(min(uint64(size), uint64(len(d)-off)))
	if uint64(size) > uint64(len(d)-off) {
		p.problem("LinkInfo of %d bytes at offset %d overruns the file (%d bytes left)", size, off, len(d)-off)
		ok = false
	}
	if size < 0x1C {
		p.problem("LinkInfo size %d below the 28-byte minimum", size)
		if size < 4 {
			return off, false
		}
	}
	b := d[off:end]
	if len(b) < 0x1C {
		p.problem("LinkInfo header cut at %d bytes", len(b))
		return off, false
	}
	li.HeaderSize = binary.LittleEndian.Uint32(b[4:])
	li.Flags = binary.LittleEndian.Uint32(b[8:])
	volOff := binary.LittleEndian.Uint32(b[12:])
	lbpOff := binary.LittleEndian.Uint32(b[16:])
	netOff := binary.LittleEndian.Uint32(b[20:])
	cpsOff := binary.LittleEndian.Uint32(b[24:])
	if li.HeaderSize < 0x1C || uint64(li.HeaderSize) > uint64(size) {
		p.problem("LinkInfo header size 0x%x outside 0x1c..0x%x", li.HeaderSize, size)
	}
	var lbpOffU, cpsOffU uint32
	if li.HeaderSize >= 0x24 {
		if len(b) < 0x24 {
			p.problem("LinkInfo optional offsets cut")
		} else {
			lbpOffU = binary.LittleEndian.Uint32(b[28:])
			cpsOffU = binary.LittleEndian.Uint32(b[32:])
		}
	}
	str := func(what string, o uint32, unicode bool) string {
		if uint64(o) >= uint64(len(b)) {
			p.problem("LinkInfo %s offset 0x%x outside its %d bytes", what, o, len(b))
			return ""
		}
		var s string
		var terminated bool
		if unicode {
			s, terminated = cstringUTF16(b[o:])
		} else {
			s, terminated = cstringANSI(b[o:])
		}
		if !terminated {
			p.problem("LinkInfo %s not terminated inside the structure", what)
		}
		return s
	}
	if li.Flags&1 != 0 {
		li.HasVolume = true
		p.volumeID(li, b, volOff)
		li.LocalBasePath = str("LocalBasePath", lbpOff, false)
		if lbpOffU != 0 {
			li.LocalBasePathU = str("LocalBasePathUnicode", lbpOffU, true)
		}
	}
	if li.Flags&2 != 0 {
		li.HasNetwork = true
		p.networkLink(li, b, netOff)
	}
	li.CommonPathSuffix = str("CommonPathSuffix", cpsOff, false)
	if cpsOffU != 0 {
		li.CommonPathSuffixU = str("CommonPathSuffixUnicode", cpsOffU, true)
	}
	return off + int(min(uint64(size), uint64(len(d)-off))), ok
}

func (p *parser) volumeID(li *LinkInfo, b []byte, o uint32) {
	if uint64(o)+0x10 > uint64(len(b)) {
		p.problem("VolumeID at 0x%x outside the LinkInfo", o)
		return
	}
	v := b[o:]
	vsize := binary.LittleEndian.Uint32(v)
	if vsize <= 0x10 || uint64(vsize) > uint64(len(v)) {
		p.problem("VolumeID size %d invalid (%d bytes left)", vsize, len(v))
		vsize = uint32(len(v))
	}
	v = v[:vsize]
	li.DriveType = binary.LittleEndian.Uint32(v[4:])
	li.DriveSerial = binary.LittleEndian.Uint32(v[8:])
	labelOff := binary.LittleEndian.Uint32(v[12:])
	unicode := false
	if labelOff == 0x14 && len(v) >= 0x14 {
		labelOff = binary.LittleEndian.Uint32(v[16:])
		unicode = true
	}
	if uint64(labelOff) >= uint64(len(v)) {
		p.problem("volume label offset 0x%x outside the VolumeID", labelOff)
		return
	}
	if unicode {
		li.VolumeLabel, _ = cstringUTF16(v[labelOff:])
	} else {
		li.VolumeLabel, _ = cstringANSI(v[labelOff:])
	}
}

func (p *parser) networkLink(li *LinkInfo, b []byte, o uint32) {
	if uint64(o)+0x14 > uint64(len(b)) {
		p.problem("CommonNetworkRelativeLink at 0x%x outside the LinkInfo", o)
		return
	}
	n := b[o:]
	nsize := binary.LittleEndian.Uint32(n)
	if nsize < 0x14 || uint64(nsize) > uint64(len(n)) {
		p.problem("CommonNetworkRelativeLink size %d invalid (%d bytes left)", nsize, len(n))
		nsize = uint32(len(n))
	}
	n = n[:nsize]
	li.NetFlags = binary.LittleEndian.Uint32(n[4:])
	netNameOff := binary.LittleEndian.Uint32(n[8:])
	devOff := binary.LittleEndian.Uint32(n[12:])
	li.NetworkProvider = binary.LittleEndian.Uint32(n[16:])
	if uint64(netNameOff) < uint64(len(n)) {
		li.NetName, _ = cstringANSI(n[netNameOff:])
	} else {
		p.problem("NetName offset 0x%x outside the CommonNetworkRelativeLink", netNameOff)
	}
	if li.NetFlags&1 != 0 && devOff != 0 {
		if uint64(devOff) < uint64(len(n)) {
			li.DeviceName, _ = cstringANSI(n[devOff:])
		} else {
			p.problem("DeviceName offset 0x%x outside the CommonNetworkRelativeLink", devOff)
		}
	}
	if netNameOff > 0x14 && len(n) >= 0x1C {
		if u := binary.LittleEndian.Uint32(n[20:]); u != 0 && uint64(u) < uint64(len(n)) {
			if s, _ := cstringUTF16(n[u:]); s != "" {
				li.NetName = s
			}
		}
		if u := binary.LittleEndian.Uint32(n[24:]); u != 0 && uint64(u) < uint64(len(n)) {
			if s, _ := cstringUTF16(n[u:]); s != "" {
				li.DeviceName = s
			}
		}
	}
}

// stringData reads the StringData fields present in the header flags.
func (p *parser) stringData(off int) (int, bool) {
	d := p.data
	unicode := p.l.Header.Flags&IsUnicode != 0
	fields := []struct {
		flag   LinkFlags
		name   string
		dst    *string
		capped bool
	}{
		{HasName, "NAME_STRING", &p.l.Name, true},
		{HasRelativePath, "RELATIVE_PATH", &p.l.RelativePath, true},
		{HasWorkingDir, "WORKING_DIR", &p.l.WorkingDir, true},
		{HasArguments, "COMMAND_LINE_ARGUMENTS", &p.l.Arguments, false},
		{HasIconLocation, "ICON_LOCATION", &p.l.IconLocation, true},
	}
	for _, f := range fields {
		if p.l.Header.Flags&f.flag == 0 {
			continue
		}
		if len(d)-off < 2 {
			p.problem("%s count cut at offset %d", f.name, off)
			return off, false
		}
		count := int(binary.LittleEndian.Uint16(d[off:]))
		off += 2
		if f.capped && count > maxPathChars {
			p.l.OverlongStrings = append(p.l.OverlongStrings, fmt.Sprintf("%s (%d characters declared)", f.name, count))
			count = maxPathChars
		}
		n := count
		if unicode {
			n *= 2
		}
		ok := true
		if n > len(d)-off {
			p.problem("%s of %d characters at offset %d overruns the file (%d bytes left)", f.name, count, off-2, len(d)-off)
			n, ok = len(d)-off, false
		}
		raw := d[off : off+n]
		if unicode {
			*f.dst, _ = cstringUTF16(raw)
		} else {
			*f.dst, _ = cstringANSI(raw)
		}
		p.l.Present |= f.flag
		off += n
		if !ok {
			return off, false
		}
	}
	return off, true
}

// cstringANSI decodes b up to its first NUL as Windows-1252 (the system
// code page of the machines the corpus comes from; undefined bytes become
// U+FFFD). It reports whether a NUL was found.
func cstringANSI(b []byte) (string, bool) {
	terminated := false
	for i, c := range b {
		if c == 0 {
			b, terminated = b[:i], true
			break
		}
	}
	return decodeANSI(b), terminated
}

func decodeANSI(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	s, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(s)
}

// cstringUTF16 decodes UTF-16LE b up to its first NUL character; lone
// surrogates and an odd last byte become U+FFFD.
func cstringUTF16(b []byte) (string, bool) {
	u := make([]uint16, 0, min(len(b)/2, 4096))
	terminated := false
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			terminated = true
			break
		}
		u = append(u, c)
	}
	s := string(utf16.Decode(u))
	if !terminated && len(b)%2 == 1 {
		s += "\uFFFD"
	}
	return s, terminated
}

// fixedANSI and fixedUTF16 read NUL-terminated strings from fixed-size
// fields that may be cut short.
func fixedANSI(b []byte, off, size int) string {
	if off >= len(b) {
		return ""
	}
	s, _ := cstringANSI(b[off:min(len(b), off+size)])
	return s
}

func fixedUTF16(b []byte, off, size int) string {
	if off >= len(b) {
		return ""
	}
	s, _ := cstringUTF16(b[off:min(len(b), off+size)])
	return s
}

// filetime converts a FILETIME; zero and out-of-range values give the zero
// time.
func filetime(ft uint64) time.Time {
	if ft == 0 {
		return time.Time{}
	}
	const (
		ticksPerSecond = 10_000_000
		epochDelta     = 11644473600 // seconds from 1601-01-01 to 1970-01-01
	)
	secs := int64(ft/ticksPerSecond) - epochDelta
	t := time.Unix(secs, int64(ft%ticksPerSecond)*100).UTC()
	if t.Year() > 9999 {
		return time.Time{}
	}
	return t
}

// guidString renders a 16-byte on-disk GUID as
// XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX.
func guidString(b []byte) string {
	if len(b) < 16 {
		return ""
	}
	return fmt.Sprintf("%08X-%04X-%04X-%X-%X",
		binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint16(b[4:]),
		binary.LittleEndian.Uint16(b[6:]), b[8:10], b[10:16])
}
