package lnk

import (
	"bytes"
	"encoding/binary"
	"strings"
)

// ShellItem is one item of an ID list, with what the parser could read of
// it. Only the common kinds are interpreted (libfwsi's "Windows Shell Item
// format"): root folders, volumes, file entries, network locations, the
// CFSF delegate wrapping a file entry, and URIs.
type ShellItem struct {
	Class byte
	Size  int
	// Kind is "root", "volume", "file", "network", "delegate", "uri",
	// "empty" or "unknown".
	Kind string
	// Name is the path component the item contributes: the long file name
	// when the item carries one, else the short (8.3) name; the drive
	// ("C:\"); the share; a root folder's GUID.
	Name      string
	ShortName string
	GUID      string
	IsDir     bool
}

// walkIDList walks the items of an ID list body (after IDListSize). It
// stops at the terminal item, at the first inconsistent item (reported),
// or after maxItems items (truncated).
func walkIDList(b []byte, maxItems int, pollErr func() error, problem func(string, ...any)) (items []ShellItem, truncated bool, err error) {
	off := 0
	for {
		if len(b)-off < 2 {
			problem("ID list has no terminal item (%d items read)", len(items))
			return items, false, nil
		}
		size := int(binary.LittleEndian.Uint16(b[off:]))
		if size == 0 {
			return items, false, nil
		}
		if size < 2 {
			problem("ID list item %d has size %d", len(items), size)
			return items, false, nil
		}
		if size > len(b)-off {
			problem("ID list item %d of %d bytes overruns the list (%d bytes left)", len(items), size, len(b)-off)
			return items, false, nil
		}
		if len(items) >= maxItems {
			return items, true, nil
		}
		if len(items)%1024 == 0 {
			if err := pollErr(); err != nil {
				return items, false, err
			}
		}
		items = append(items, parseShellItem(b[off:off+size]))
		off += size
	}
}

// parseShellItem interprets one item; it includes its 2-byte size.
func parseShellItem(it []byte) ShellItem {
	s := ShellItem{Size: len(it), Kind: "unknown"}
	if len(it) < 3 {
		s.Kind = "empty"
		return s
	}
	s.Class = it[2]
	switch {
	case s.Class == 0x1F:
		s.Kind = "root"
		if len(it) >= 20 {
			s.GUID = guidString(it[4:20])
			s.Name = rootFolderName(s.GUID)
		}
	case s.Class&0x70 == 0x20:
		s.Kind = "volume"
		if s.Class&0x01 != 0 {
			s.Name = fixedANSI(it, 3, 20)
		} else if len(it) >= 20 {
			// A shell folder in the volume position (the Desktop).
			s.GUID = guidString(it[4:20])
			s.Name = rootFolderName(s.GUID)
		}
	case s.Class&0x70 == 0x30:
		s.Kind = "file"
		fileEntry(&s, it, it)
	case s.Class&0x70 == 0x40:
		s.Kind = "network"
		s.Name = fixedANSI(it, 5, len(it))
	case s.Class == 0x74:
		s.Kind = "delegate"
		// Delegate item: sub-item data size at 4, "CFSF" at 6, then the
		// wrapped file entry (with its own size) at 10.
		if len(it) >= 14 && string(it[6:10]) == "CFSF" {
			sub := it[10:]
			if n := int(binary.LittleEndian.Uint16(sub)); n >= 3 && n <= len(sub) {
				sub = sub[:n]
			}
			if sub[2]&0x70 == 0x30 {
				s.Class = sub[2]
				fileEntry(&s, sub, it)
			}
		}
	case s.Class == 0x61:
		s.Kind = "uri"
		s.Name = findURI(it[3:])
	}
	return s
}

// fileEntry reads a file entry item: flags in the class (1 directory,
// 4 Unicode names), the primary name at 14, and the long name from the
// 0xBEEF0004 extension block, searched for in ext (the whole item).
func fileEntry(s *ShellItem, it, ext []byte) {
	s.IsDir = it[2]&0x01 != 0
	if it[2]&0x04 != 0 {
		s.ShortName = fixedUTF16(it, 14, len(it))
	} else {
		s.ShortName = fixedANSI(it, 14, len(it))
	}
	s.Name = s.ShortName
	if long := longName(ext); long != "" {
		s.Name = long
	}
}

var beef0004 = []byte{0x04, 0x00, 0xef, 0xbe}

// longName finds the 0xBEEF0004 extension block in an item and returns its
// long Unicode name. The name's offset inside the block depends on the
// block version: 18 bytes of fixed fields, 18 more from version 7 (MFT
// reference and unknowns), 2 from version 3 (long string size), 4 from
// version 9 and 4 from version 8.
func longName(it []byte) string {
	for from := 4; from < len(it); {
		i := bytes.Index(it[from:], beef0004)
		if i < 0 {
			return ""
		}
		sig := from + i
		from = sig + 1
		start := sig - 4
		if start < 3 {
			continue
		}
		size := int(binary.LittleEndian.Uint16(it[start:]))
		version := binary.LittleEndian.Uint16(it[start+2:])
		if size < 8 || start+size > len(it) || version < 3 {
			continue
		}
		off := 18
		if version >= 7 {
			off += 18
		}
		off += 2
		if version >= 9 {
			off += 4
		}
		if version >= 8 {
			off += 4
		}
		if off >= size {
			continue
		}
		if name, _ := cstringUTF16(it[start+off : start+size]); name != "" {
			return name
		}
	}
	return ""
}

// findURI returns the first URL-looking run in an URI item: UTF-16LE or
// ASCII text containing "://".
func findURI(b []byte) string {
	if i := bytes.Index(b, []byte{':', 0, '/', 0, '/', 0}); i >= 0 {
		start := i
		for start >= 2 && isURIByte(b[start-2]) && b[start-1] == 0 {
			start -= 2
		}
		s, _ := cstringUTF16(b[start:])
		return s
	}
	if i := bytes.Index(b, []byte("://")); i >= 0 {
		start := i
		for start >= 1 && isURIByte(b[start-1]) {
			start--
		}
		s, _ := cstringANSI(b[start:])
		return s
	}
	return ""
}

func isURIByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// rootFolderNames maps the root folder GUIDs seen in links to the path
// they stand for; "" means the next item carries the path (My Computer's
// drive, the network's share). Unknown GUIDs render as "::{GUID}".
var rootFolderNames = map[string]string{
	"20D04FE0-3AEA-1069-A2D8-08002B30309D": "",                        // My Computer
	"208D2C60-3AEA-1069-A2D7-08002B30309D": "",                        // My Network Places
	"F02C1A0D-BE21-4350-88B0-7367FC96EF3C": "",                        // Network
	"871C5380-42A0-1069-A2EA-08002B30309D": "",                        // Internet Explorer
	"59031A47-3F72-44A7-89C5-5595FE6B30EE": `%USERPROFILE%`,           // user's files
	"450D8FBA-AD25-11D0-98A8-0800361B1103": `%USERPROFILE%\Documents`, // My Documents
	"B4BFCC3A-DB2C-424C-B029-7FE99A87C641": `%USERPROFILE%\Desktop`,
	"374DE290-123F-4565-9164-39C4925E467B": `%USERPROFILE%\Downloads`,
}

func rootFolderName(guid string) string {
	if n, ok := rootFolderNames[guid]; ok {
		return n
	}
	return "::{" + guid + "}"
}

// idListPath joins the items' names into a path. It returns "" when no
// item names a volume, share, file, URI or known folder.
func idListPath(items []ShellItem) string {
	var path string
	useful := false
	for _, it := range items {
		switch it.Kind {
		case "root", "volume", "file", "delegate", "network", "uri":
		default:
			continue
		}
		if it.Name == "" {
			continue
		}
		if !strings.HasPrefix(it.Name, "::{") {
			useful = true
		}
		if path == "" {
			path = it.Name
			continue
		}
		path = joinPath(path, it.Name)
	}
	if !useful {
		return ""
	}
	return path
}
