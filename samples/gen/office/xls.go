package office

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"

	"triage/samples/gen/office/cfb"
	"triage/samples/gen/office/ole"
	"triage/samples/gen/office/ovba"
)

// SheetState is a sheet's visibility (BOUNDSHEET hsState, OOXML state).
type SheetState int

const (
	Visible SheetState = iota
	Hidden
	VeryHidden
)

// Cell is one cell. A non-empty Formula makes it a formula cell (Number is
// then its cached value, for OOXML); otherwise a non-empty Text makes it a
// string cell; otherwise it holds Number.
type Cell struct {
	Row, Col int // zero-based
	Text     string
	Number   float64
	// Formula is written without the leading '='. In .xls only macro-sheet
	// calls of the form NAME() or NAME("text", ...) are supported, for NAME
	// in ALERT, HALT, RETURN, EXEC.
	Formula string
}

// Sheet is a worksheet or an Excel 4.0 macro sheet.
type Sheet struct {
	Name  string
	Macro bool // an XLM macro sheet
	State SheetState
	// CodeName is the sheet's VBA document module, when the workbook has VBA.
	CodeName string
	Cells    []Cell
}

// Workbook describes a workbook for Xls, Xlsx and Xlsm.
type Workbook struct {
	Sheets []Sheet
	// AutoOpen, when set, defines the built-in name Auto_Open pointing at
	// that cell of sheet AutoOpen.Sheet (index into Sheets).
	AutoOpen *CellRef
	// VBA is an optional VBA project (Xls and Xlsm only).
	VBA *ovba.Project
	// CodeName is the workbook's VBA document module (e.g. ThisWorkbook).
	CodeName string
	Meta     Meta
}

// CellRef addresses one cell of a sheet.
type CellRef struct {
	Sheet    int
	Row, Col int
}

// A1 formats a zero-based cell position as an absolute A1 reference ($A$1).
func A1(row, col int) string {
	return "$" + colName(col) + "$" + strconv.Itoa(row+1)
}

func colName(col int) string {
	s := ""
	for col++; col > 0; col = (col - 1) / 26 {
		s = string(rune('A'+(col-1)%26)) + s
	}
	return s
}

func (w *Workbook) check() error {
	if len(w.Sheets) == 0 {
		return fmt.Errorf("office: workbook has no sheets")
	}
	if w.AutoOpen != nil && (w.AutoOpen.Sheet < 0 || w.AutoOpen.Sheet >= len(w.Sheets)) {
		return fmt.Errorf("office: Auto_Open sheet %d out of range", w.AutoOpen.Sheet)
	}
	for _, s := range w.Sheets {
		for _, c := range s.Cells {
			if c.Row < 0 || c.Row > 65535 || c.Col < 0 || c.Col > 255 {
				return fmt.Errorf("office: cell (%d,%d) of %q out of range", c.Row, c.Col, s.Name)
			}
		}
	}
	return nil
}

// BIFF8 record types.
const (
	rtBOF         = 0x0809
	rtEOF         = 0x000A
	rtCodePage    = 0x0042
	rtWindow1     = 0x003D
	rtWindow2     = 0x023E
	rtFont        = 0x0031
	rtXF          = 0x00E0
	rtStyle       = 0x0293
	rtBoundSheet  = 0x0085
	rtSupBook     = 0x01AE
	rtExternSheet = 0x0017
	rtLbl         = 0x0018
	rtSST         = 0x00FC
	rtLabelSST    = 0x00FD
	rtNumber      = 0x0203
	rtFormula     = 0x0006
	rtDimensions  = 0x0200
	rtObProj      = 0x00D3
	rtCodeName    = 0x01BA
)

// BOF substream types.
const (
	dtGlobals   = 0x0005
	dtWorksheet = 0x0010
	dtMacro     = 0x0040
)

const cellXF = 15 // the first cell XF after the 15 style XFs

type biff struct{ b []byte }

func (w *biff) rec(typ uint16, data []byte) {
	w.b = binary.LittleEndian.AppendUint16(w.b, typ)
	w.b = binary.LittleEndian.AppendUint16(w.b, uint16(len(data)))
	w.b = append(w.b, data...)
}

func bof(dt uint16) []byte {
	le := binary.LittleEndian
	var b []byte
	b = le.AppendUint16(b, 0x0600) // BIFF8
	b = le.AppendUint16(b, dt)
	b = le.AppendUint16(b, 0x0DBB) // rupBuild
	b = le.AppendUint16(b, 0x07CC) // rupYear
	b = le.AppendUint32(b, 0x000100C1)
	return le.AppendUint32(b, 0x00000606)
}

// xlString returns a ShortXLUnicodeString (8-bit length) or, with long, an
// XLUnicodeString (16-bit length): compressed Latin-1 when possible,
// UTF-16LE otherwise.
func xlString(s string, long bool) ([]byte, error) {
	u := utf16.Encode([]rune(s))
	if len(u) > 255 && !long {
		return nil, fmt.Errorf("office: string %q longer than 255 characters", s)
	}
	var b []byte
	if long {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(u)))
	} else {
		b = append(b, byte(len(u)))
	}
	return append(b, xlChars(u)...), nil
}

// xlChars returns the fHighByte flag and the characters.
func xlChars(u []uint16) []byte {
	high := false
	for _, c := range u {
		if c > 0xFF {
			high = true
		}
	}
	if !high {
		b := []byte{0x00}
		for _, c := range u {
			b = append(b, byte(c))
		}
		return b
	}
	b := []byte{0x01}
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

// Xls builds an Excel 97-2003 workbook: a Workbook stream of BIFF8 records
// (globals with BOUNDSHEETs, the Auto_Open name and SST; one substream per
// sheet) plus the VBA project under _VBA_PROJECT_CUR.
func Xls(w Workbook) ([]byte, error) {
	if err := w.check(); err != nil {
		return nil, err
	}
	// The globals hold the sheets' stream offsets, so build the sheet
	// substreams first and the globals twice (size does not depend on offsets).
	var sst []string
	sstIndex := map[string]int{}
	var sheets [][]byte
	for _, s := range w.Sheets {
		b, err := sheetStream(s, w.VBA != nil, func(t string) int {
			if i, ok := sstIndex[t]; ok {
				return i
			}
			sstIndex[t] = len(sst)
			sst = append(sst, t)
			return len(sst) - 1
		})
		if err != nil {
			return nil, err
		}
		sheets = append(sheets, b)
	}
	offsets := make([]int, len(sheets))
	globals, err := globalsStream(w, sst, offsets)
	if err != nil {
		return nil, err
	}
	pos := len(globals)
	for i, s := range sheets {
		offsets[i] = pos
		pos += len(s)
	}
	if globals, err = globalsStream(w, sst, offsets); err != nil {
		return nil, err
	}
	stream := globals
	for _, s := range sheets {
		stream = append(stream, s...)
	}

	root := cfb.NewRoot(cfb.ExcelWorkbook)
	root.Stream("Workbook", stream)
	root.Stream("\x01CompObj", ole.CompObj(cfb.ExcelWorkbook, "Microsoft Excel 2003 Worksheet", "Biff8", "Excel.Sheet.8"))
	si, err := summary(1252, w.Meta, "Microsoft Excel", "")
	if err != nil {
		return nil, err
	}
	root.Stream("\x05SummaryInformation", si)
	if w.VBA != nil {
		if err := w.VBA.Write(root.Storage("_VBA_PROJECT_CUR")); err != nil {
			return nil, err
		}
	}
	return cfb.Marshal(root)
}

func globalsStream(w Workbook, sst []string, offsets []int) ([]byte, error) {
	le := binary.LittleEndian
	var g biff
	g.rec(rtBOF, bof(dtGlobals))
	g.rec(rtCodePage, le.AppendUint16(nil, 1200))
	if w.VBA != nil {
		g.rec(rtObProj, nil)
		name := w.CodeName
		if name == "" {
			name = "ThisWorkbook"
		}
		cn, err := xlString(name, true)
		if err != nil {
			return nil, err
		}
		g.rec(rtCodeName, cn)
	}
	g.rec(rtWindow1, []byte{0x68, 0x01, 0x0E, 0x01, 0x5C, 0x3A, 0xBE, 0x23, 0x38, 0x00, 0, 0, 0, 0, 0x01, 0x00, 0x58, 0x02})
	font := []byte{0xC8, 0x00, 0x00, 0x00, 0xFF, 0x7F, 0x90, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}
	arial, _ := xlString("Arial", false)
	g.rec(rtFont, append(font, arial...))
	for i := 0; i < 16; i++ {
		xf := make([]byte, 20)
		if i < 15 {
			le.PutUint16(xf[4:], 0xFFF5) // style XF
			xf[9] = 0xF4
		} else {
			le.PutUint16(xf[4:], 0x0001) // cell XF, parent style 0
		}
		xf[6] = 0x20
		le.PutUint16(xf[18:], 0x20C0)
		g.rec(rtXF, xf)
	}
	g.rec(rtStyle, []byte{0x00, 0x80, 0x00, 0xFF}) // "Normal"
	for i, s := range w.Sheets {
		var b []byte
		b = le.AppendUint32(b, uint32(offsets[i]))
		b = append(b, byte(s.State))
		if s.Macro {
			b = append(b, 0x01)
		} else {
			b = append(b, 0x00)
		}
		name, err := xlString(s.Name, false)
		if err != nil {
			return nil, err
		}
		g.rec(rtBoundSheet, append(b, name...))
	}
	if w.AutoOpen != nil {
		// A self-referencing SUPBOOK and one XTI so the name's ptgRef3d can
		// address the sheet.
		g.rec(rtSupBook, le.AppendUint16(le.AppendUint16(nil, uint16(len(w.Sheets))), 0x0401))
		var x []byte
		x = le.AppendUint16(x, 1)
		x = le.AppendUint16(x, 0)
		x = le.AppendUint16(x, uint16(w.AutoOpen.Sheet))
		x = le.AppendUint16(x, uint16(w.AutoOpen.Sheet))
		g.rec(rtExternSheet, x)
		var l []byte
		l = le.AppendUint16(l, 0x0020|0x0001) // fBuiltin | fHidden
		l = append(l, 0x00, 0x01)             // chKey, cch
		l = le.AppendUint16(l, 7)             // cce
		l = le.AppendUint16(l, 0)             // reserved3
		l = le.AppendUint16(l, 0)             // itab: workbook scope
		l = append(l, 0, 0, 0, 0)             // reserved4..7
		l = append(l, 0x00, 0x01)             // name: fHighByte=0, built-in 0x01 = Auto_Open
		l = append(l, 0x3A)                   // ptgRef3d
		l = le.AppendUint16(l, 0)             // ixti
		l = le.AppendUint16(l, uint16(w.AutoOpen.Row))
		l = le.AppendUint16(l, uint16(w.AutoOpen.Col)) // absolute row and column
		g.rec(rtLbl, l)
	}
	if len(sst) > 0 {
		var b []byte
		b = le.AppendUint32(b, uint32(len(sst)))
		b = le.AppendUint32(b, uint32(len(sst)))
		for _, s := range sst {
			x, err := xlString(s, true)
			if err != nil {
				return nil, err
			}
			b = append(b, x...)
		}
		if len(b) > 8224 {
			return nil, fmt.Errorf("office: shared strings exceed one SST record")
		}
		g.rec(rtSST, b)
	}
	g.rec(rtEOF, nil)
	return g.b, nil
}

func sheetStream(s Sheet, vba bool, intern func(string) int) ([]byte, error) {
	le := binary.LittleEndian
	var w biff
	if s.Macro {
		w.rec(rtBOF, bof(dtMacro))
	} else {
		w.rec(rtBOF, bof(dtWorksheet))
	}
	if vba && s.CodeName != "" {
		cn, err := xlString(s.CodeName, true)
		if err != nil {
			return nil, err
		}
		w.rec(rtCodeName, cn)
	}
	cells := append([]Cell(nil), s.Cells...)
	sortCells(cells)
	rmin, rmax, cmin, cmax := 0, 0, 0, 0
	for i, c := range cells {
		if i == 0 || c.Row < rmin {
			rmin = c.Row
		}
		if i == 0 || c.Col < cmin {
			cmin = c.Col
		}
		rmax = max(rmax, c.Row+1)
		cmax = max(cmax, c.Col+1)
	}
	var d []byte
	d = le.AppendUint32(d, uint32(rmin))
	d = le.AppendUint32(d, uint32(rmax))
	d = le.AppendUint16(d, uint16(cmin))
	d = le.AppendUint16(d, uint16(cmax))
	d = le.AppendUint16(d, 0)
	w.rec(rtDimensions, d)
	for _, c := range cells {
		var b []byte
		b = le.AppendUint16(b, uint16(c.Row))
		b = le.AppendUint16(b, uint16(c.Col))
		b = le.AppendUint16(b, cellXF)
		switch {
		case c.Formula != "":
			rgce, err := compileXLM(c.Formula)
			if err != nil {
				return nil, err
			}
			b = le.AppendUint64(b, math.Float64bits(c.Number)) // cached value
			b = le.AppendUint16(b, 0x0001)                     // fAlwaysCalc
			b = le.AppendUint32(b, 0)                          // chn
			b = le.AppendUint16(b, uint16(len(rgce)))
			w.rec(rtFormula, append(b, rgce...))
		case c.Text != "":
			w.rec(rtLabelSST, le.AppendUint32(b, uint32(intern(c.Text))))
		default:
			w.rec(rtNumber, le.AppendUint64(b, math.Float64bits(c.Number)))
		}
	}
	w.rec(rtWindow2, []byte{0xB6, 0x06, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	w.rec(rtEOF, nil)
	return w.b, nil
}

// xlmFuncs maps the supported macro functions to their Ftab indexes.
var xlmFuncs = map[string]uint16{
	"ALERT":  0x8076, // a command-equivalent function: Cetab 118 with fCeFunc set
	"HALT":   54,
	"RETURN": 55,
	"EXEC":   110,
}

// compileXLM compiles NAME() / NAME("text", ...) into Rgce: one ptgStr per
// argument, then ptgFuncVar (value class) with the argument count. ptgFuncVar
// is what Excel emits for these variable-arity macro functions.
func compileXLM(f string) ([]byte, error) {
	open := strings.IndexByte(f, '(')
	if open <= 0 || !strings.HasSuffix(f, ")") {
		return nil, fmt.Errorf("office: unsupported formula %q", f)
	}
	name := strings.ToUpper(f[:open])
	ftab, ok := xlmFuncs[name]
	if !ok {
		return nil, fmt.Errorf("office: unsupported macro function %q", name)
	}
	args, err := splitStringArgs(f[open+1 : len(f)-1])
	if err != nil {
		return nil, fmt.Errorf("office: formula %q: %w", f, err)
	}
	var rgce []byte
	for _, a := range args {
		s, err := xlString(a, false)
		if err != nil {
			return nil, err
		}
		rgce = append(rgce, 0x17) // ptgStr
		rgce = append(rgce, s...)
	}
	rgce = append(rgce, 0x42, byte(len(args))) // ptgFuncVarV, cparams
	return binary.LittleEndian.AppendUint16(rgce, ftab), nil
}

// splitStringArgs parses a comma-separated list of double-quoted strings
// ("" escapes a quote).
func splitStringArgs(s string) ([]string, error) {
	var args []string
	s = strings.TrimSpace(s)
	for s != "" {
		if s[0] != '"' {
			return nil, fmt.Errorf("only string arguments are supported")
		}
		var sb strings.Builder
		i := 1
		for ; i < len(s); i++ {
			if s[i] == '"' {
				if i+1 < len(s) && s[i+1] == '"' {
					sb.WriteByte('"')
					i++
					continue
				}
				break
			}
			sb.WriteByte(s[i])
		}
		if i >= len(s) {
			return nil, fmt.Errorf("unterminated string")
		}
		args = append(args, sb.String())
		s = strings.TrimSpace(s[i+1:])
		if s != "" {
			if s[0] != ',' {
				return nil, fmt.Errorf("expected ','")
			}
			s = strings.TrimSpace(s[1:])
			if s == "" {
				return nil, fmt.Errorf("trailing ','")
			}
		}
	}
	return args, nil
}
