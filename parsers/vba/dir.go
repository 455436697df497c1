package vba

import (
	"encoding/binary"
	"fmt"

	"triage/parsers"
)

// Record ids of the decompressed dir stream (MS-OVBA 2.3.4.2).
const (
	recSysKind        = 0x0001
	recLCID           = 0x0002
	recCodePage       = 0x0003
	recProjectName    = 0x0004
	recDocString      = 0x0005
	recHelpFile       = 0x0006
	recHelpContext    = 0x0007
	recLibFlags       = 0x0008
	recVersion        = 0x0009
	recConstants      = 0x000C
	recRefRegistered  = 0x000D
	recRefProject     = 0x000E
	recModules        = 0x000F
	recDirTerminator  = 0x0010
	recProjectCookie  = 0x0013
	recLCIDInvoke     = 0x0014
	recRefName        = 0x0016
	recModuleName     = 0x0019
	recStreamName     = 0x001A
	recModuleDoc      = 0x001C
	recModuleHelp     = 0x001E
	recModuleProc     = 0x0021
	recModuleDocClass = 0x0022
	recModuleReadOnly = 0x0025
	recModulePrivate  = 0x0028
	recModuleTerm     = 0x002B
	recModuleCookie   = 0x002C
	recRefControl     = 0x002F
	recRefExtended    = 0x0030
	recModuleOffset   = 0x0031
	recStreamNameU    = 0x0032
	recRefOriginal    = 0x0033
	recConstantsU     = 0x003C
	recHelpFile2      = 0x003D
	recRefNameU       = 0x003E
	recDocStringU     = 0x0040
	recModuleNameU    = 0x0047
	recModuleDocU     = 0x0048
	recCompatVersion  = 0x004A
)

// MaxModules bounds the modules read from one dir stream. Office itself
// caps a project far below this.
const MaxModules = 4096

// ModuleType is the MODULETYPE record of a module.
type ModuleType uint16

// Module types (MS-OVBA 2.3.4.2.3.2.8).
const (
	Procedural    ModuleType = recModuleProc     // a standard module (.bas)
	DocumentClass ModuleType = recModuleDocClass // a document, class or designer module
)

// DirModule is one MODULE record of the dir stream. Byte fields are in the
// project code page; Dir.Decode turns them into text.
type DirModule struct {
	NameBytes       []byte
	NameUnicode     string // MODULENAMEUNICODE, if present
	StreamNameBytes []byte
	StreamUnicode   string // MODULESTREAMNAME's Unicode copy
	DocStringBytes  []byte
	TextOffset      uint32
	HasOffset       bool
	HelpContext     uint32
	Cookie          uint16
	Type            ModuleType // 0 when the record is missing
	ReadOnly        bool
	Private         bool
	Terminated      bool // a MODULE terminator (0x002B) closed the record
}

// Dir is the parsed dir stream of a VBA project.
type Dir struct {
	SysKind      uint32
	CodePage     uint16
	HasCodePage  bool
	LCID         uint32
	NameBytes    []byte
	References   int // REFERENCE records seen (all kinds)
	ModuleCount  int // PROJECTMODULES.Count as declared
	Modules      []DirModule
	Warnings     []string // tolerated deviations from MS-OVBA
	Unterminated bool     // the stream ended before the dir terminator
}

// ParseDir parses a decompressed dir stream. It walks the records by id and
// size rather than in the strict order of MS-OVBA, so optional, reordered or
// unknown records are skipped, as olevba tolerates them. A record whose size
// passes the end of the stream ends the walk: the result holds what was read
// and the error wraps parsers.ErrMalformed.
func ParseDir(data []byte) (*Dir, error) {
	d := &Dir{}
	var cur *DirModule
	pos := 0
	warn := func(format string, args ...any) {
		if len(d.Warnings) < 32 {
			d.Warnings = append(d.Warnings, fmt.Sprintf(format, args...))
		}
	}
	flush := func() {
		if cur != nil {
			d.Modules = append(d.Modules, *cur)
			cur = nil
		}
	}
	for {
		if pos == len(data) {
			d.Unterminated = true
			break
		}
		if pos+6 > len(data) {
			flush()
			return d, fmt.Errorf("%w: vba: dir: truncated record header at %d", parsers.ErrMalformed, pos)
		}
		id := binary.LittleEndian.Uint16(data[pos:])
		size := binary.LittleEndian.Uint32(data[pos+2:])
		body := pos + 6
		// Records of a fixed layout are read with that layout whatever
		// their size field says, as olevba does: PROJECTVERSION's "size" is
		// a reserved 4 followed by 6 bytes of version numbers, and the
		// MODULETYPE, READONLY, PRIVATE and terminator records carry a
		// reserved field where others have a size.
		if n, ok := fixedSize[id]; ok {
			size = n
		}
		if uint64(body)+uint64(size) > uint64(len(data)) {
			flush()
			return d, fmt.Errorf("%w: vba: dir: record %#04x at %d declares %d bytes, %d left", parsers.ErrMalformed, id, pos, size, len(data)-body)
		}
		val := data[body : body+int(size)]
		pos = body + int(size)

		switch id {
		case recSysKind:
			d.SysKind = le32(val)
		case recLCID:
			d.LCID = le32(val)
		case recCodePage:
			if len(val) >= 2 {
				d.CodePage = binary.LittleEndian.Uint16(val)
				d.HasCodePage = true
			}
		case recProjectName:
			if len(val) > 128 {
				warn("project name of %d bytes (max 128)", len(val))
			}
			d.NameBytes = val
		case recRefName, recRefRegistered, recRefProject, recRefControl, recRefOriginal:
			d.References++
		case recModules:
			if len(val) >= 2 {
				d.ModuleCount = int(binary.LittleEndian.Uint16(val))
			}
		case recModuleName:
			flush()
			if len(d.Modules) >= MaxModules {
				return d, fmt.Errorf("%w: vba: dir: more than %d modules", parsers.ErrTooMany, MaxModules)
			}
			cur = &DirModule{NameBytes: val}
		case recModuleNameU:
			if cur != nil {
				cur.NameUnicode = decodeUTF16(val)
			}
		case recStreamName:
			if cur != nil {
				cur.StreamNameBytes = val
			}
		case recStreamNameU:
			if cur != nil {
				cur.StreamUnicode = decodeUTF16(val)
			}
		case recModuleDoc:
			if cur != nil {
				cur.DocStringBytes = val
			}
		case recModuleOffset:
			if cur != nil {
				cur.TextOffset, cur.HasOffset = le32(val), true
			}
		case recModuleHelp:
			if cur != nil {
				cur.HelpContext = le32(val)
			}
		case recModuleCookie:
			if cur != nil && len(val) >= 2 {
				cur.Cookie = binary.LittleEndian.Uint16(val)
			}
		case recModuleProc, recModuleDocClass:
			if cur != nil {
				cur.Type = ModuleType(id)
			}
		case recModuleReadOnly:
			if cur != nil {
				cur.ReadOnly = true
			}
		case recModulePrivate:
			if cur != nil {
				cur.Private = true
			}
		case recModuleTerm:
			if cur != nil {
				cur.Terminated = true
			}
			flush()
		case recDirTerminator:
			flush()
			if d.ModuleCount != len(d.Modules) {
				warn("PROJECTMODULES declares %d modules, %d present", d.ModuleCount, len(d.Modules))
			}
			return d, nil
		case recLCIDInvoke, recDocString, recDocStringU, recHelpFile, recHelpFile2, recHelpContext,
			recLibFlags, recVersion, recConstants, recConstantsU, recRefNameU, recRefExtended,
			recProjectCookie, recModuleDocU, recCompatVersion:
			// Known records that carry nothing triage needs.
		default:
			warn("unknown record %#04x at %d", id, pos-int(size)-6)
		}
	}
	flush()
	if d.ModuleCount != len(d.Modules) {
		warn("PROJECTMODULES declares %d modules, %d present", d.ModuleCount, len(d.Modules))
	}
	return d, nil
}

// fixedSize lists the records whose body size is fixed by MS-OVBA.
var fixedSize = map[uint16]uint32{
	recSysKind: 4, recCompatVersion: 4, recLCID: 4, recLCIDInvoke: 4, recCodePage: 2,
	recHelpContext: 4, recLibFlags: 4, recVersion: 6, recModules: 2, recProjectCookie: 2,
	recModuleOffset: 4, recModuleHelp: 4, recModuleCookie: 2,
	recModuleProc: 0, recModuleDocClass: 0, recModuleReadOnly: 0, recModulePrivate: 0,
	recModuleTerm: 0, recDirTerminator: 0,
}

func le32(b []byte) uint32 {
	if len(b) < 4 {
		var tmp [4]byte
		copy(tmp[:], b)
		return binary.LittleEndian.Uint32(tmp[:])
	}
	return binary.LittleEndian.Uint32(b)
}
