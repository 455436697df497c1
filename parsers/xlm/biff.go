package xlm

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
)

// BIFF record types used here.
const (
	recFormula    = 0x0006
	recEOF        = 0x000A
	recName       = 0x0018
	recFilePass   = 0x002F
	recContinue   = 0x003C
	recBoundSheet = 0x0085
	recBOF2       = 0x0009
	recBOF3       = 0x0209
	recBOF4       = 0x0409
	recBOF        = 0x0809
)

// BOF substream types (dt).
const (
	dtGlobals    = 0x0005
	dtVBModule   = 0x0006
	dtWorksheet  = 0x0010
	dtChart      = 0x0020
	dtMacroSheet = 0x0040
)

// sheet types of BOUNDSHEET.dt.
var sheetTypes = map[byte]string{0x00: "worksheet", 0x01: "macrosheet", 0x02: "chart", 0x06: "vbmodule"}

// visibility of BOUNDSHEET.hsState.
var sheetStates = map[byte]string{0: "visible", 1: "hidden", 2: "veryHidden"}

// builtinNames are the built-in defined names (MS-XLS 2.5.158 Lbl).
var builtinNames = []string{"Consolidate_Area", "Auto_Open", "Auto_Close", "Extract", "Database", "Criteria",
	"Print_Area", "Print_Titles", "Recorder", "Data_Form", "Auto_Activate", "Auto_Deactivate", "Sheet_Title", "_FilterDatabase"}

// ftab holds the XLM-relevant built-in functions (MS-XLS 2.5.198.17 Ftab).
var ftab = map[uint16]string{
	0x0001: "IF", 0x001E: "REPT", 0x001F: "MID", 0x0035: "GOTO", 0x0036: "HALT", 0x0037: "RETURN",
	0x0057: "ECHO", 0x0058: "SET.NAME", 0x005A: "DEREF", 0x0067: "LINKS", 0x0069: "ISREF",
	0x006A: "GET.FORMULA", 0x006B: "GET.NAME", 0x006C: "SET.VALUE", 0x006E: "EXEC", 0x006F: "CHAR",
	0x0073: "LEFT", 0x0074: "RIGHT", 0x0077: "REPLACE", 0x0078: "SUBSTITUTE", 0x0079: "CODE", 0x007B: "DIRECTORY",
	0x007C: "FIND", 0x0084: "FOPEN", 0x0085: "FCLOSE", 0x0086: "FSIZE", 0x0087: "FREADLN", 0x0088: "FREAD",
	0x0089: "FWRITELN", 0x008A: "FWRITE", 0x0094: "INDIRECT", 0x0095: "REGISTER", 0x0096: "CALL",
	0x00A6: "FILES", 0x00AB: "FOR", 0x00AC: "WHILE", 0x00AD: "BREAK", 0x00AE: "NEXT", 0x00AF: "INITIATE",
	0x00B0: "REQUEST", 0x00B1: "POKE", 0x00B2: "EXECUTE", 0x00B3: "TERMINATE", 0x00B9: "GET.CELL",
	0x00BA: "GET.WORKSPACE", 0x00BB: "GET.WINDOW", 0x00BC: "GET.DOCUMENT", 0x00C9: "UNREGISTER",
	0x00EC: "CREATE.OBJECT", 0x00F8: "PAUSE", 0x0101: "EVALUATE", 0x010B: "REGISTER.ID", 0x010C: "GET.WORKBOOK",
	0x0150: "CONCATENATE",
}

// cetab holds the XLM-relevant command equivalents (MS-XLS 2.5.198.4 Cetab).
var cetab = map[uint16]string{
	0x0001: "OPEN", 0x0004: "SAVE", 0x0005: "SAVE.AS", 0x0006: "FILE.DELETE", 0x000A: "QUIT", 0x0010: "CLOSE",
	0x0011: "RUN", 0x003D: "DEFINE.NAME", 0x005D: "HIDE", 0x005E: "UNHIDE", 0x0060: "FORMULA",
	0x0061: "FORMULA.FILL", 0x0062: "FORMULA.ARRAY", 0x006D: "SELECT", 0x0076: "ALERT", 0x007A: "MESSAGE",
	0x0083: "SEND.KEYS", 0x0094: "ON.TIME", 0x0095: "WAIT", 0x00A8: "ON.KEY", 0x017F: "WORKBOOK.HIDE",
	0x0180: "WORKBOOK.UNHIDE",
}

// execFuncs run programs or native code.
var execFuncs = map[string]bool{"EXEC": true, "CALL": true, "REGISTER": true, "REGISTER.ID": true}

// record is one BIFF record.
type record struct {
	off  int // offset of the record header in the stream
	typ  uint16
	data []byte
}

// records walks the BIFF records of a stream, at most max of them. It
// reports whether the stream ended inside a record.
func records(s []byte, max int, fn func(record) bool) (truncated bool, count int) {
	for off := 0; off+4 <= len(s) && count < max; count++ {
		typ := binary.LittleEndian.Uint16(s[off:])
		size := int(binary.LittleEndian.Uint16(s[off+2:]))
		start := off + 4
		end := start + size
		if end > len(s) {
			end = len(s)
			truncated = true
		}
		if !fn(record{off: off, typ: typ, data: s[start:end]}) {
			return truncated, count + 1
		}
		off = end
	}
	return truncated, count
}

// shortString reads a BIFF8 ShortXLUnicodeString (cch u8, flags u8,
// chars) or, for BIFF5, a byte-counted 8-bit string.
func shortString(b []byte, biff8 bool) string {
	if len(b) < 1 {
		return ""
	}
	cch := int(b[0])
	if !biff8 {
		return latin1(b[1:min(len(b), 1+cch)])
	}
	if len(b) < 2 {
		return ""
	}
	return unicodeNoCch(b[1:], cch)
}

// unicodeNoCch reads an XLUnicodeStringNoCch: a flags byte (bit 0: UTF-16)
// then cch characters.
func unicodeNoCch(b []byte, cch int) string {
	if len(b) < 1 {
		return ""
	}
	flags := b[0]
	b = b[1:]
	if flags&1 == 0 {
		return latin1(b[:min(len(b), cch)])
	}
	n := min(cch, len(b)/2)
	u := make([]uint16, n)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// ptgSizes8 and ptgSizes5 are the operand sizes of the classified tokens
// (base type 0x20–0x3F) in BIFF8 and BIFF5; -1 marks an unsupported token.
var ptgSizes8 = map[byte]int{
	0x20: 7, 0x21: 2, 0x22: 3, 0x23: 4, 0x24: 4, 0x25: 8, 0x26: 6, 0x27: 6, 0x28: 6, 0x29: 2,
	0x2A: 4, 0x2B: 8, 0x2C: 4, 0x2D: 8, 0x39: 6, 0x3A: 6, 0x3B: 10, 0x3C: 6, 0x3D: 10,
}

var ptgSizes5 = map[byte]int{
	0x20: 7, 0x21: 2, 0x22: 3, 0x23: 14, 0x24: 3, 0x25: 6, 0x26: 6, 0x27: 6, 0x28: 6, 0x29: 2,
	0x2A: 3, 0x2B: 6, 0x2C: 3, 0x2D: 6, 0x39: 24, 0x3A: 17, 0x3B: 20, 0x3C: 17, 0x3D: 20,
}

// call is one function called by a formula.
type call struct {
	name  string
	isCmd bool
}

// walkFormula reads a formula's tokens and returns the functions it calls
// and its string constants. Unknown tokens end the walk (err != nil).
func walkFormula(rgce []byte, biff8 bool) (calls []call, strs []string, err error) {
	sizes := ptgSizes8
	if !biff8 {
		sizes = ptgSizes5
	}
	for i := 0; i < len(rgce); {
		ptg := rgce[i]
		i++
		switch {
		case ptg == 0x01 || ptg == 0x02: // PtgExp, PtgTbl
			if biff8 {
				i += 4
			} else {
				i += 3
			}
		case ptg >= 0x03 && ptg <= 0x16: // operators, PtgParen, PtgMissArg
		case ptg == 0x17: // PtgStr
			if i >= len(rgce) {
				return calls, strs, fmt.Errorf("truncated string at %d", i)
			}
			cch := int(rgce[i])
			i++
			if !biff8 {
				end := min(len(rgce), i+cch)
				strs = append(strs, latin1(rgce[i:end]))
				i = end
				continue
			}
			if i >= len(rgce) {
				return calls, strs, fmt.Errorf("truncated string at %d", i)
			}
			wide := rgce[i]&1 != 0
			strs = append(strs, unicodeNoCch(rgce[i:], cch))
			i++
			if wide {
				i += 2 * cch
			} else {
				i += cch
			}
		case ptg == 0x19: // PtgAttr
			if i >= len(rgce) {
				return calls, strs, fmt.Errorf("truncated attribute at %d", i)
			}
			grbit := rgce[i]
			i++
			if grbit&0x04 != 0 && i+2 <= len(rgce) { // tAttrChoose
				cases := int(binary.LittleEndian.Uint16(rgce[i:]))
				i += 2 + 2*(cases+1)
			} else {
				i += 2
			}
		case ptg == 0x1C || ptg == 0x1D: // PtgErr, PtgBool
			i++
		case ptg == 0x1E: // PtgInt
			i += 2
		case ptg == 0x1F: // PtgNum
			i += 8
		case ptg >= 0x20 && ptg <= 0x7F:
			base := ptg&0x1F | 0x20
			size, ok := sizes[base]
			if !ok {
				return calls, strs, fmt.Errorf("unsupported token %#02x at %d", ptg, i-1)
			}
			if i+size > len(rgce) {
				return calls, strs, fmt.Errorf("truncated token %#02x at %d", ptg, i-1)
			}
			switch base {
			case 0x21: // PtgFunc
				calls = append(calls, lookup(binary.LittleEndian.Uint16(rgce[i:]), false))
			case 0x22: // PtgFuncVar
				tab := binary.LittleEndian.Uint16(rgce[i+1:])
				calls = append(calls, lookup(tab&0x7FFF, tab&0x8000 != 0))
			}
			i += size
		default:
			return calls, strs, fmt.Errorf("unsupported token %#02x at %d", ptg, i-1)
		}
	}
	return calls, strs, nil
}

func lookup(id uint16, isCmd bool) call {
	if isCmd {
		if n, ok := cetab[id]; ok {
			return call{name: n, isCmd: true}
		}
		return call{name: fmt.Sprintf("CMD#%d", id), isCmd: true}
	}
	if n, ok := ftab[id]; ok {
		return call{name: n}
	}
	if id == 0x00FF {
		return call{name: "UDF"}
	}
	return call{name: fmt.Sprintf("FUNC#%d", id)}
}

// suspiciousString reports whether a formula string constant names an API,
// a program or a URL worth showing.
func suspiciousString(s string) bool {
	l := strings.ToLower(s)
	for _, k := range []string{"urldownloadtofile", "shellexecute", "winexec", "createprocess", "virtualalloc",
		"createthread", "writeprocessmemory", "kernel32", "urlmon", "shell32", "rundll32", "regsvr32", "mshta",
		"powershell", "cmd", "wscript", "cscript", "certutil", "bitsadmin", "http:", "https:", "\\\\", ".exe", ".dll"} {
		if strings.Contains(l, k) {
			return true
		}
	}
	return false
}
