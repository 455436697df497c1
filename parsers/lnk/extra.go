package lnk

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// ExtraData block signatures (MS-SHLLINK 2.5).
const (
	sigEnvironment   = 0xA0000001
	sigConsole       = 0xA0000002
	sigTracker       = 0xA0000003
	sigConsoleFE     = 0xA0000004
	sigSpecialFolder = 0xA0000005
	sigDarwin        = 0xA0000006
	sigIconEnv       = 0xA0000007
	sigShim          = 0xA0000008
	sigPropertyStore = 0xA0000009
	sigKnownFolder   = 0xA000000B
	sigVistaIDList   = 0xA000000C
)

var blockNames = map[uint32]string{
	sigEnvironment:   "environment",
	sigConsole:       "console",
	sigTracker:       "tracker",
	sigConsoleFE:     "console_fe",
	sigSpecialFolder: "special_folder",
	sigDarwin:        "darwin",
	sigIconEnv:       "icon_environment",
	sigShim:          "shim",
	sigPropertyStore: "property_store",
	sigKnownFolder:   "known_folder",
	sigVistaIDList:   "vista_idlist",
}

// extraData reads the ExtraData blocks from off up to the terminal block.
// A block that overruns the file is read as far as it goes, then parsing
// stops. It returns only the deadline error.
func (p *parser) extraData(off int) error {
	d := p.data
	for n := 0; ; n++ {
		left := len(d) - off
		if left == 0 {
			p.problem("no terminal block after %d extra data blocks", n)
			return nil
		}
		if left < 4 {
			p.problem("extra data cut at offset %d (%d bytes)", off, left)
			return nil
		}
		size := binary.LittleEndian.Uint32(d[off:])
		if size < 4 {
			p.l.Trailing = d[off+4:]
			return nil
		}
		if n >= p.opts.MaxItems {
			p.extraTruncated = true
			return nil
		}
		if n%256 == 0 {
			if err := p.pollErr(); err != nil {
				return err
			}
		}
		if size < 8 {
			p.problem("extra data block of %d bytes at offset %d", size, off)
			return nil
		}
		if left < 8 {
			p.problem("extra data block signature cut at offset %d", off)
			return nil
		}
		sig := binary.LittleEndian.Uint32(d[off+4:])
		ok := true
		end := off + int(min(uint64(size), uint64(left)))
		if uint64(size) > uint64(left) {
			p.problem("extra data block 0x%08X of %d bytes at offset %d overruns the file (%d bytes left)", sig, size, off, left)
			ok = false
		}
		p.block(sig, d[off:end])
		if !ok {
			return nil
		}
		off = end
	}
}

// block interprets one extra data block; b holds the block from its size
// field and may be shorter than the block declares.
func (p *parser) block(sig uint32, b []byte) {
	e := &p.l.Extra
	name, known := blockNames[sig]
	if !known {
		name = fmt.Sprintf("unknown(0x%08X)", sig)
	}
	e.Blocks = append(e.Blocks, name)
	switch sig {
	case sigEnvironment:
		e.EnvTargetANSI = fixedANSI(b, 8, 260)
		e.EnvTarget = fixedUTF16(b, 268, 520)
	case sigIconEnv:
		e.IconEnvANSI = fixedANSI(b, 8, 260)
		e.IconEnv = fixedUTF16(b, 268, 520)
	case sigDarwin:
		e.DarwinIDANSI = fixedANSI(b, 8, 260)
		e.DarwinID = fixedUTF16(b, 268, 520)
	case sigTracker:
		// Length, Version, MachineID[16], Droid[2] GUIDs, DroidBirth[2].
		e.MachineID = fixedANSI(b, 16, 16)
		if len(b) >= 96 {
			e.DroidVolume = guidString(b[32:48])
			e.DroidFile = guidString(b[48:64])
			e.BirthDroidVolume = guidString(b[64:80])
			e.BirthDroidFile = guidString(b[80:96])
		}
	case sigConsoleFE:
		if len(b) >= 12 {
			e.CodePage = binary.LittleEndian.Uint32(b[8:])
			e.HasCodePage = true
		}
	case sigSpecialFolder:
		if len(b) >= 12 {
			e.SpecialFolderID = binary.LittleEndian.Uint32(b[8:])
			e.HasSpecialFolder = true
		}
	case sigKnownFolder:
		if len(b) >= 24 {
			e.KnownFolderID = guidString(b[8:24])
		}
	case sigShim:
		e.ShimLayer = fixedUTF16(b, 8, len(b))
	case sigConsole:
		e.ConsoleFaceName = fixedUTF16(b, 44, 64)
	case sigPropertyStore:
		if len(b) > 8 {
			e.Properties = append(e.Properties, propertyStore(b[8:], maxProperties-len(e.Properties))...)
		}
	case sigVistaIDList:
		// An alternate target ID list: used for the path when the main
		// list is absent. Its extent is the block's, so a damaged list
		// cannot move the parse.
		items, truncated, _ := walkIDList(b[min(8, len(b)):], p.opts.MaxItems, p.pollErr, func(f string, a ...any) {
			p.problem("VistaAndAboveIDList: "+f, a...)
		})
		if truncated {
			p.extraTruncated = true
		}
		if len(p.l.IDList) == 0 {
			p.l.IDList = items
			p.l.IDListPath = idListPath(items)
		}
	}
}

// MACAddress returns the MAC address embedded in a version-1 (time-based)
// droid file GUID, as in TrackerDataBlocks written by Windows, or "".
func MACAddress(guid string) string {
	// XXXXXXXX-XXXX-1XXX-XXXX-NNNNNNNNNNNN
	if len(guid) != 36 || guid[14] != '1' {
		return ""
	}
	n := guid[24:]
	return fmt.Sprintf("%s:%s:%s:%s:%s:%s", n[0:2], n[2:4], n[4:6], n[6:8], n[8:10], n[10:12])
}

// Property is a string value of a serialized property store
// (MS-PROPSTORE): its format ID, its numeric ID or name, and the value.
type Property struct {
	FormatID string
	ID       string
	Value    string
}

// Property store bounds: stores and values walked, strings kept.
const (
	maxPropertyStores = 64
	maxPropertyValues = 1024
	maxProperties     = 64
)

const (
	spsVersion     = 0x53505331 // "1SPS"
	fmtidNamedProp = "D5CDD505-2E9C-101B-9397-08002B2CF9AE"
	// FMTID and ID of System.Security.OwnerSID... as links record it.
	fmtidSID = "46588AE2-4CBC-4338-BBFC-139326986DCE"
)

// propertyStore reads the string properties (VT_LPWSTR, VT_LPSTR,
// VT_BSTR) of a serialized property storage sequence; other types are
// skipped. It keeps at most limit properties.
func propertyStore(b []byte, limit int) []Property {
	var out []Property
	off := 0
	values := 0
	for range maxPropertyStores {
		if len(b)-off < 4 || len(out) >= limit {
			return out
		}
		size := int(binary.LittleEndian.Uint32(b[off:]))
		if size == 0 || size < 24 || size > len(b)-off {
			return out
		}
		st := b[off : off+size]
		off += size
		if binary.LittleEndian.Uint32(st[4:]) != spsVersion {
			continue
		}
		fmtid := guidString(st[8:24])
		named := fmtid == fmtidNamedProp
		for v := 24; len(st)-v >= 4 && values < maxPropertyValues && len(out) < limit; values++ {
			vsize := int(binary.LittleEndian.Uint32(st[v:]))
			if vsize < 9 || vsize > len(st)-v {
				break
			}
			val := st[v : v+vsize]
			v += vsize
			var id string
			var typed []byte
			if named {
				n := int(binary.LittleEndian.Uint32(val[4:]))
				if n > vsize-9 {
					continue
				}
				id, _ = cstringUTF16(val[9 : 9+n])
				typed = val[9+n:]
			} else {
				id = strconv.FormatUint(uint64(binary.LittleEndian.Uint32(val[4:])), 10)
				typed = val[9:]
			}
			if s, ok := typedString(typed); ok {
				out = append(out, Property{FormatID: fmtid, ID: id, Value: s})
			}
		}
	}
	return out
}

// typedString decodes a TypedPropertyValue holding a string.
func typedString(t []byte) (string, bool) {
	if len(t) < 8 {
		return "", false
	}
	n := int(binary.LittleEndian.Uint32(t[4:]))
	body := t[8:]
	switch binary.LittleEndian.Uint16(t) {
	case 0x1F: // VT_LPWSTR: character count including the NUL
		s, _ := cstringUTF16(body[:min(len(body), 2*n)])
		return s, true
	case 0x1E: // VT_LPSTR: byte count including the NUL
		s, _ := cstringANSI(body[:min(len(body), n)])
		return s, true
	case 0x08: // VT_BSTR: byte count
		s, _ := cstringUTF16(body[:min(len(body), n)])
		return s, true
	}
	return "", false
}

// OwnerSID returns the owner SID a property store recorded, or "".
func (e *ExtraData) OwnerSID() string {
	for _, p := range e.Properties {
		if p.FormatID == fmtidSID && p.ID == "4" {
			return p.Value
		}
	}
	return ""
}
