// Package xlm finds Excel 4.0 (XLM) macros in legacy Excel workbooks (the
// BIFF5/BIFF8 Workbook stream of a compound file) and in SYLK files:
// macro sheets and their visibility, Auto_Open names, and the functions
// the macro formulas call (EXEC, CALL, REGISTER, …).
package xlm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/richardlehane/mscfb"

	"triage/parsers"
	"triage/parsers/iocs"
	"triage/parsers/ole"
)

// Name is the parser's registry name.
const Name = "xlm"

// Bounds.
const (
	maxRecords     = 1 << 20
	maxSheets      = 1000
	maxNames       = 5000
	maxFormulas    = 100
	maxStrings     = 50
	maxShown       = 200
	maxDetailItems = 5
)

// Parser finds XLM macros.
type Parser struct{}

// New returns an XLM parser.
func New() *Parser { return &Parser{} }

// Name implements parsers.Parser.
func (*Parser) Name() string { return Name }

// Match implements parsers.Parser: compound files (legacy Excel) and SYLK.
func (*Parser) Match(a *parsers.Artifact, head []byte) bool {
	return a.Type == "ole" || a.Type == "slk"
}

// sheet is one BOUNDSHEET.
type sheet struct {
	name  string
	typ   string
	state string
	pos   uint32
}

// result collects what one workbook holds.
type result struct {
	sheets     []sheet
	autoOpen   []string
	names      int
	funcs      map[string]bool
	formulas   []string
	strs       []string
	dde        []string
	macroSheet bool // a macro sheet substream or sheet type exists
	hidden     []string
	encrypted  bool
	badFormula int
}

func newResult() *result { return &result{funcs: map[string]bool{}} }

// Parse implements parsers.Parser.
func (p *Parser) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	b := in.Budget
	if b == nil {
		b = parsers.NewBudget(ctx, parsers.Limits{})
	}
	if in.Artifact.Type == "slk" || bytes.HasPrefix(in.Data, []byte("ID;")) {
		r, err := parseSLK(in.Data, b)
		r.report(out, "slk")
		return err
	}
	stream, name, err := workbookStream(in.Data, b)
	if stream == nil {
		// Not a workbook (a Word or PowerPoint file): nothing to report,
		// unless the compound file itself is broken, which the OLE parser
		// reports.
		if err != nil && errors.Is(err, parsers.ErrLimit) {
			return err
		}
		return nil
	}
	out.Meta("stream", name)
	r := newResult()
	perr := r.parseBIFF(stream, b, out)
	r.report(out, "biff")
	return errors.Join(err, perr)
}

// workbookStream returns the Workbook (BIFF8) or Book (BIFF5) stream of
// the compound file's root storage.
func workbookStream(data []byte, b *parsers.Budget) (stream []byte, name string, err error) {
	defer func() {
		if r := recover(); r != nil {
			stream, name = nil, ""
			err = fmt.Errorf("xlm: compound file: %w: %v", parsers.ErrMalformed, r)
		}
	}()
	streams, err := ole.CheckTree(data, b.Limits.MaxEntries)
	if err != nil {
		return nil, "", fmt.Errorf("xlm: compound file: %w", err)
	}
	doc, err := mscfb.New(bytes.NewReader(data))
	if err != nil {
		return nil, "", fmt.Errorf("xlm: compound file: %w", errors.Join(parsers.ErrMalformed, err))
	}
	var book *mscfb.File
	for i, f := range doc.File {
		if i >= b.Limits.MaxEntries {
			break
		}
		if len(f.Path) != 0 || f.FileInfo().IsDir() {
			continue
		}
		switch {
		case strings.EqualFold(f.Name, "Workbook"):
			book = f
		case strings.EqualFold(f.Name, "Book") && book == nil:
			book = f
		}
	}
	if book == nil {
		return nil, "", nil
	}
	s, err := streams.Read(book, b)
	if err != nil && !errors.Is(err, parsers.ErrLimit) && !errors.Is(err, parsers.ErrMalformed) {
		err = fmt.Errorf("xlm: read %s stream: %w", book.Name, errors.Join(parsers.ErrMalformed, err))
	} else if err != nil {
		err = fmt.Errorf("xlm: read %s stream: %w", book.Name, err)
	}
	return s, book.Name, err
}

// parseBIFF walks the workbook globals and sheet substreams.
func (r *result) parseBIFF(s []byte, b *parsers.Budget, out parsers.Sink) error {
	biff8 := true
	bySheetPos := map[int]int{}
	curType := -1 // BOF dt of the current substream
	var errs []error
	n := 0
	truncated, count := records(s, maxRecords, func(rec record) bool {
		if n++; n%4096 == 0 && b.Err() != nil {
			errs = append(errs, b.Err())
			return false
		}
		switch rec.typ {
		case recBOF, recBOF2, recBOF3, recBOF4:
			if len(rec.data) >= 4 {
				vers := binary.LittleEndian.Uint16(rec.data)
				dt := int(binary.LittleEndian.Uint16(rec.data[2:]))
				if curType == -1 {
					biff8 = rec.typ == recBOF && vers == 0x0600
					out.Meta("biff_version", biffName(rec.typ, vers))
				}
				curType = dt
				if dt == dtMacroSheet {
					r.macroSheet = true
					if i, ok := bySheetPos[rec.off]; ok && r.sheets[i].typ != "macrosheet" {
						r.sheets[i].typ = "macrosheet"
					}
				}
			}
		case recEOF:
			curType = 0
		case recFilePass:
			r.encrypted = true
			return false
		case recBoundSheet:
			if len(rec.data) < 7 || len(r.sheets) >= maxSheets {
				return true
			}
			sh := sheet{
				pos:   binary.LittleEndian.Uint32(rec.data),
				state: sheetStates[rec.data[4]&0x03],
				typ:   sheetTypes[rec.data[5]],
				name:  shortString(rec.data[6:], biff8),
			}
			if sh.typ == "" {
				sh.typ = fmt.Sprintf("type%d", rec.data[5])
			}
			if sh.state == "" {
				sh.state = fmt.Sprintf("state%d", rec.data[4]&0x03)
			}
			bySheetPos[int(sh.pos)] = len(r.sheets)
			r.sheets = append(r.sheets, sh)
		case recName:
			r.name(rec.data, biff8)
		case recFormula:
			if curType == dtMacroSheet {
				r.formula(rec.data, biff8)
			}
		}
		return true
	})
	out.Meta("records", count)
	for _, sh := range r.sheets {
		if sh.typ == "macrosheet" {
			r.macroSheet = true
			if sh.state != "visible" {
				r.hidden = append(r.hidden, fmt.Sprintf("%s (%s)", sh.name, sh.state))
			}
		}
	}
	if truncated {
		errs = append(errs, fmt.Errorf("xlm: %w: workbook stream ends inside a record", parsers.ErrMalformed))
		out.Finding(parsers.Finding{Code: "xlm.malformed", Severity: parsers.Low, Detail: "workbook stream ends inside a record"})
	}
	if count >= maxRecords {
		errs = append(errs, fmt.Errorf("xlm: %w: more than %d records", parsers.ErrTooMany, maxRecords))
		out.Finding(parsers.Finding{Code: "xlm.limit", Severity: parsers.Low, Detail: fmt.Sprintf("only the first %d records were read", maxRecords)})
	}
	return errors.Join(errs...)
}

func biffName(typ, vers uint16) string {
	switch {
	case typ == recBOF && vers == 0x0600:
		return "BIFF8"
	case typ == recBOF && vers == 0x0500:
		return "BIFF5"
	case typ == recBOF4:
		return "BIFF4"
	case typ == recBOF3:
		return "BIFF3"
	case typ == recBOF2:
		return "BIFF2"
	}
	return fmt.Sprintf("BIFF(%#04x)", vers)
}

// name reads a NAME (Lbl) record.
func (r *result) name(d []byte, biff8 bool) {
	if len(d) < 15 || r.names >= maxNames {
		return
	}
	r.names++
	flags := binary.LittleEndian.Uint16(d)
	cch := int(d[3])
	var name string
	switch {
	case flags&0x0020 != 0: // fBuiltin: a one-character code
		code := d[14]
		if biff8 {
			// A flags byte precedes the character; a UTF-16 character
			// has its low byte first either way.
			if len(d) < 16 {
				return
			}
			code = d[15]
		}
		if int(code) < len(builtinNames) {
			name = builtinNames[code]
		} else {
			name = fmt.Sprintf("builtin#%d", code)
		}
	case biff8:
		name = unicodeNoCch(d[14:], cch)
	default:
		name = latin1(d[14:min(len(d), 14+cch)])
	}
	if strings.HasPrefix(strings.ToLower(name), "auto_open") {
		if flags&0x0001 != 0 {
			name += " (hidden)"
		}
		r.autoOpen = append(r.autoOpen, name)
	}
}

// formula reads a FORMULA record of a macro sheet.
func (r *result) formula(d []byte, biff8 bool) {
	if len(d) < 22 {
		return
	}
	cce := int(binary.LittleEndian.Uint16(d[20:]))
	rgce := d[22:min(len(d), 22+cce)]
	calls, strs, err := walkFormula(rgce, biff8)
	if err != nil {
		r.badFormula++
	}
	var names []string
	for _, c := range calls {
		r.funcs[c.name] = true
		names = append(names, c.name)
	}
	for _, s := range strs {
		if suspiciousString(s) && len(r.strs) < maxStrings {
			r.strs = append(r.strs, capString(s, maxShown))
		}
	}
	if len(names) > 0 && len(r.formulas) < maxFormulas {
		row := binary.LittleEndian.Uint16(d)
		col := binary.LittleEndian.Uint16(d[2:])
		r.formulas = append(r.formulas, fmt.Sprintf("%s%d: %s", colName(int(col&0xFF)), row+1, strings.Join(names, ", ")))
	}
}

func colName(c int) string {
	s := ""
	for c >= 0 {
		s = string(rune('A'+c%26)) + s
		c = c/26 - 1
	}
	return s
}

// report turns a result into meta and findings.
func (r *result) report(out parsers.Sink, format string) {
	if len(r.sheets) > 0 {
		meta := make([]map[string]string, 0, len(r.sheets))
		for _, sh := range r.sheets {
			meta = append(meta, map[string]string{"name": sh.name, "type": sh.typ, "state": sh.state})
		}
		out.Meta("sheets", meta)
	}
	if r.encrypted {
		out.Meta("encrypted", true)
	}
	if len(r.autoOpen) > 0 {
		out.Meta("auto_open_names", r.autoOpen)
	}
	funcs := make([]string, 0, len(r.funcs))
	for f := range r.funcs {
		funcs = append(funcs, f)
	}
	sort.Strings(funcs)
	if len(funcs) > 0 {
		out.Meta("xlm_functions", funcs)
	}
	if len(r.formulas) > 0 {
		out.Meta("xlm_formulas", r.formulas)
	}
	if len(r.strs) > 0 {
		out.Meta("xlm_strings", r.strs)
		for _, s := range r.strs {
			for _, u := range iocs.URLs(s) {
				out.URL(u)
			}
		}
	}
	if r.badFormula > 0 {
		out.Meta("unparsed_formulas", r.badFormula)
	}
	if len(r.dde) > 0 {
		out.Meta("dde", r.dde)
		out.Finding(parsers.Finding{Code: "xlm.dde", Severity: parsers.High,
			Detail: "DDE formula (runs a program when links update): " + joinCapped(r.dde),
			Attack: []string{"T1559.002"}})
	}
	var execs []string
	for _, f := range funcs {
		if execFuncs[f] {
			execs = append(execs, f)
		}
	}
	for _, s := range r.strs {
		if strings.Contains(strings.ToLower(s), "urldownloadtofile") {
			execs = append(execs, "URLDownloadToFile")
			break
		}
	}
	if !r.macroSheet {
		if len(execs) > 0 {
			out.Finding(parsers.Finding{Code: "xlm.exec", Severity: parsers.High,
				Detail: "Excel 4.0 formulas call " + strings.Join(execs, ", "), Attack: []string{"T1059", "T1106"}})
		}
		return
	}
	calls := ""
	if len(funcs) > 0 {
		calls = "; calls " + strings.Join(funcs, ", ")
	}
	if len(r.hidden) > 0 {
		out.Finding(parsers.Finding{Code: "xlm.macrosheet", Severity: parsers.High,
			Detail: "hidden Excel 4.0 macro sheet: " + strings.Join(r.hidden, ", ") + calls,
			Attack: []string{"T1564", "T1059"}})
	} else {
		out.Finding(parsers.Finding{Code: "xlm.macrosheet", Severity: parsers.Medium,
			Detail: "Excel 4.0 macro sheet (" + format + ")" + calls, Attack: []string{"T1059"}})
	}
	if len(r.autoOpen) > 0 {
		out.Finding(parsers.Finding{Code: "xlm.autoopen", Severity: parsers.High,
			Detail:   "defined name " + strings.Join(r.autoOpen, ", ") + " runs the Excel 4.0 macro sheet on open",
			Campaign: "avaddon", Attack: []string{"T1204.002", "T1059"}})
	}
	if len(execs) > 0 {
		out.Finding(parsers.Finding{Code: "xlm.exec", Severity: parsers.High,
			Detail: "Excel 4.0 macro calls " + strings.Join(execs, ", "), Attack: []string{"T1059", "T1106"}})
	}
}

func capString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) > n {
		r = r[:n]
	}
	return string(r)
}

func joinCapped(items []string) string {
	if len(items) <= maxDetailItems {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:maxDetailItems], "; ") + fmt.Sprintf("; and %d more", len(items)-maxDetailItems)
}
