package ooxml

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf16"

	"triage/parsers"
)

// Excel limits.
const (
	maxSheetsMeta  = 200
	maxFormulas    = 100
	maxFormulaShow = 300
	maxNames       = 5000
	// maxSheetScan bounds the worksheet XML read for DDE formulas.
	maxSheetScan = 8 * parsers.MiB
)

// sheet is one workbook sheet.
type sheet struct {
	name  string
	state string // visible, hidden, veryHidden
	typ   string // worksheet, macrosheet, chartsheet, dialogsheet, …
	relID string
	part  string
}

// xlmCallRE finds the XLM functions and strings that matter in macro
// sheet formulas: execution, native calls, downloads, self-modification,
// obfuscation and sandbox checks.
var xlmCallRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\b(EXEC|CALL|REGISTER|REGISTER\.ID|URLDownloadToFile[AW]?|ShellExecute[AW]?|WinExec|CreateProcess[AW]?|VirtualAlloc|CreateThread|WriteProcessMemory|HALT|ALERT|RUN|FORMULA\.FILL|FORMULA|FOPEN|FWRITELN|FWRITE|FILE\.DELETE|SET\.VALUE|SET\.NAME|EVALUATE|GET\.WORKSPACE|GET\.DOCUMENT|GET\.CELL|WORKBOOK\.HIDE|ON\.TIME|CHAR|GOTO|RETURN)\b`)
})

// execCalls are the XLM functions and APIs that run code.
var execCalls = map[string]bool{
	"EXEC": true, "CALL": true, "REGISTER": true, "REGISTER.ID": true, "URLDOWNLOADTOFILE": true,
	"URLDOWNLOADTOFILEA": true, "URLDOWNLOADTOFILEW": true, "SHELLEXECUTE": true, "SHELLEXECUTEA": true,
	"SHELLEXECUTEW": true, "WINEXEC": true, "CREATEPROCESS": true, "CREATEPROCESSA": true, "CREATEPROCESSW": true,
	"VIRTUALALLOC": true, "CREATETHREAD": true, "WRITEPROCESSMEMORY": true,
}

// scanExcel reads the workbook (sheets, defined names), the macro sheets'
// formulas, worksheet formulas for DDE and the external DDE links.
func (s *scan) scanExcel() {
	wbName := ""
	if s.kind == "excel" {
		wbName = s.mainPart
	}
	if wbName == "" {
		for _, n := range []string{"xl/workbook.xml", "xl/workbook.bin"} {
			if s.k.get(n) != nil {
				wbName = s.k.get(n).name
				break
			}
		}
	}
	var (
		sheets []sheet
		names  []string
	)
	if wb := s.k.get(wbName); wb != nil {
		data := s.load(wb)
		var err error
		if strings.HasSuffix(strings.ToLower(wb.name), ".bin") {
			sheets, names, err = parseWorkbookBin(data, s.b)
		} else {
			sheets, names, err = parseWorkbookXML(data, s.b)
		}
		if err != nil {
			s.partErr(wb, err)
		}
		wrels := s.relsOf(wb.name)
		for i := range sheets {
			for _, r := range wrels {
				if r.id == sheets[i].relID {
					sheets[i].part = r.targetPart()
					sheets[i].typ = sheetType(r.short())
					break
				}
			}
			if p := s.k.get(sheets[i].part); p != nil && isMacrosheetPart(p.name, s.contentType(p)) {
				sheets[i].typ = "macrosheet"
			}
		}
	}
	if len(sheets) > 0 {
		meta := make([]map[string]string, 0, min(len(sheets), maxSheetsMeta))
		for _, sh := range sheets[:min(len(sheets), maxSheetsMeta)] {
			meta = append(meta, map[string]string{"name": sh.name, "state": sh.state, "type": sh.typ})
		}
		s.out.Meta("sheets", meta)
	}

	// Macro sheets: from the workbook, and any macro sheet part.
	var (
		macroSheets []string
		hidden      []string
		macroParts  = map[string]bool{}
	)
	for _, sh := range sheets {
		if sh.typ != "macrosheet" {
			continue
		}
		macroSheets = append(macroSheets, sh.name)
		macroParts[strings.ToLower(sh.part)] = true
		if sh.state == "hidden" || sh.state == "veryHidden" {
			hidden = append(hidden, fmt.Sprintf("%s (%s)", sh.name, sh.state))
		}
	}
	var (
		formulas []string
		funcs    = map[string]bool{}
		dde      []string
		scanned  int64
		skipped  int
	)
	for i, p := range s.k.parts {
		if i%256 == 0 && s.b.Err() != nil {
			return
		}
		lower := strings.ToLower(p.name)
		ct := s.contentType(p)
		switch {
		case isMacrosheetPart(p.name, ct) || macroParts[lower]:
			if !macroParts[lower] {
				macroParts[lower] = true
				macroSheets = append(macroSheets, p.name)
			}
			if strings.HasSuffix(lower, ".xml") {
				for _, f := range s.formulas(p) {
					if len(formulas) < maxFormulas {
						formulas = append(formulas, capString(f, maxFormulaShow))
					}
					for _, m := range xlmCallRE().FindAllString(f, -1) {
						funcs[strings.ToUpper(m)] = true
					}
				}
			}
		case strings.HasPrefix(lower, "xl/worksheets/") && strings.HasSuffix(lower, ".xml"),
			strings.HasPrefix(lower, "xl/externallinks/") && strings.HasSuffix(lower, ".xml"):
			// Worksheets are read for DDE formulas up to a total, so a big
			// benign workbook does not spend the message's budget.
			if p.zf != nil && int64(p.zf.UncompressedSize64) > maxSheetScan-scanned {
				skipped++
				continue
			}
			data := s.load(p)
			scanned += int64(len(data))
			if bytes.IndexByte(data, '|') >= 0 || bytes.Contains(data, []byte("ddeLink")) {
				dde = append(dde, s.scanDDE(p.name, data)...)
			}
		}
	}
	s.dde = append(s.dde, dde...)
	if skipped > 0 {
		s.out.Meta("sheets_not_scanned", skipped)
	}

	var autoOpen []string
	for _, n := range names {
		bare := strings.TrimPrefix(n, "_xlnm.")
		if strings.HasPrefix(strings.ToLower(bare), "auto_open") {
			autoOpen = append(autoOpen, n)
		}
	}
	if len(autoOpen) > 0 {
		s.out.Meta("auto_open_names", autoOpen)
	}
	if len(macroSheets) == 0 {
		return
	}
	s.out.Meta("macro_sheets", macroSheets)
	fl := make([]string, 0, len(funcs))
	for f := range funcs {
		fl = append(fl, f)
	}
	sort.Strings(fl)
	if len(fl) > 0 {
		s.out.Meta("xlm_functions", fl)
	}
	if len(formulas) > 0 {
		s.out.Meta("xlm_formulas", formulas)
	}
	calls := ""
	if len(fl) > 0 {
		calls = "; calls " + strings.Join(fl, ", ")
	}
	if len(hidden) > 0 {
		s.out.Finding(parsers.Finding{Code: "ooxml.xlm_macrosheet", Severity: parsers.High,
			Detail: "hidden Excel 4.0 macro sheet: " + strings.Join(hidden, ", ") + calls,
			Attack: []string{"T1564", "T1059"}})
	} else {
		s.out.Finding(parsers.Finding{Code: "ooxml.xlm_macrosheet", Severity: parsers.Medium,
			Detail: "Excel 4.0 macro sheet: " + strings.Join(macroSheets, ", ") + calls,
			Attack: []string{"T1059"}})
	}
	if len(autoOpen) > 0 {
		s.out.Finding(parsers.Finding{Code: "ooxml.xlm_autoopen", Severity: parsers.Critical,
			Detail:   fmt.Sprintf("defined name %s starts the Excel 4.0 macro sheet on open", strings.Join(autoOpen, ", ")),
			Campaign: "avaddon", Attack: []string{"T1204.002", "T1059"}})
	}
	var execs []string
	for _, f := range fl {
		if execCalls[f] {
			execs = append(execs, f)
		}
	}
	if len(execs) > 0 {
		s.out.Finding(parsers.Finding{Code: "ooxml.xlm_exec", Severity: parsers.High,
			Detail: "Excel 4.0 macro calls " + strings.Join(execs, ", "),
			Attack: []string{"T1059", "T1106"}})
	}
}

func sheetType(relShort string) string {
	switch relShort {
	case "worksheet":
		return "worksheet"
	case "xlMacrosheet", "xlIntlMacrosheet":
		return "macrosheet"
	case "chartsheet":
		return "chartsheet"
	case "dialogsheet":
		return "dialogsheet"
	}
	return relShort
}

// formulas returns the <f> texts of a SpreadsheetML part.
func (s *scan) formulas(p *part) []string {
	var (
		out []string
		in  bool
		cur strings.Builder
	)
	s.walkXML(s.load(p), "part "+p.name, fmt.Sprintf("part %q", p.name), func(tok xml.Token) {
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "f" {
				in = true
				cur.Reset()
			}
		case xml.CharData:
			if in && cur.Len() < maxFormulaText {
				cur.Write(t)
			}
		case xml.EndElement:
			if t.Name.Local == "f" && in {
				in = false
				if len(out) < 10*maxFormulas {
					out = append(out, cur.String())
				}
			}
		}
	})
	return out
}

// parseWorkbookXML reads the sheets (name, state, relationship id in
// sheet.part) and defined names of xl/workbook.xml.
func parseWorkbookXML(data []byte, b *parsers.Budget) ([]sheet, []string, error) {
	var (
		sheets []sheet
		names  []string
	)
	deadline, syntax := eachToken(data, b, func(tok xml.Token) bool {
		se, ok := tok.(xml.StartElement)
		if !ok {
			return true
		}
		switch se.Name.Local {
		case "sheet":
			if len(sheets) >= maxNames {
				return true
			}
			sh := sheet{name: attr(se, "name"), state: attr(se, "state"), typ: "worksheet"}
			for _, a := range se.Attr {
				if a.Name.Local == "id" {
					sh.relID = a.Value
				}
			}
			if sh.state == "" {
				sh.state = "visible"
			}
			sheets = append(sheets, sh)
		case "definedName":
			if len(names) < maxNames {
				names = append(names, attr(se, "name"))
			}
		}
		return true
	})
	if syntax != nil {
		return sheets, names, fmt.Errorf("ooxml: workbook: %w", errors.Join(parsers.ErrMalformed, syntax))
	}
	return sheets, names, deadline
}

// BIFF12 (xlsb) record types used here.
const (
	brtBundleSh = 156
	brtName     = 39
)

// parseWorkbookBin reads BrtBundleSh (sheets) and BrtName (defined names)
// records of an xlsb xl/workbook.bin.
func parseWorkbookBin(data []byte, b *parsers.Budget) ([]sheet, []string, error) {
	var (
		sheets []sheet
		names  []string
	)
	states := []string{"visible", "hidden", "veryHidden"}
	for i, n := 0, 0; i < len(data); n++ {
		if n%4096 == 0 {
			if err := b.Err(); err != nil {
				return sheets, names, err
			}
		}
		typ, ok := varint(data, &i, 2)
		if !ok {
			return sheets, names, fmt.Errorf("ooxml: workbook.bin: %w: bad record type at %d", parsers.ErrMalformed, i)
		}
		size, ok := varint(data, &i, 4)
		if !ok || size > len(data)-i {
			return sheets, names, fmt.Errorf("ooxml: workbook.bin: %w: bad record size at %d", parsers.ErrMalformed, i)
		}
		rec := data[i : i+size]
		i += size
		switch typ {
		case brtBundleSh:
			if len(rec) < 12 || len(sheets) >= maxNames {
				continue
			}
			st := binary.LittleEndian.Uint32(rec)
			state := fmt.Sprintf("state%d", st)
			if st < uint32(len(states)) {
				state = states[st]
			}
			j := 8
			relID, ok1 := wideString(rec, &j, true)
			name, ok2 := wideString(rec, &j, false)
			if !ok1 || !ok2 {
				continue
			}
			sheets = append(sheets, sheet{name: name, state: state, typ: "worksheet", relID: relID})
		case brtName:
			j := 9
			if len(rec) < j+4 || len(names) >= maxNames {
				continue
			}
			if name, ok := wideString(rec, &j, false); ok {
				names = append(names, name)
			}
		}
	}
	return sheets, names, nil
}

// varint reads a BIFF12 variable-length integer of at most n bytes.
func varint(data []byte, i *int, n int) (int, bool) {
	v := 0
	for k := 0; k < n; k++ {
		if *i >= len(data) {
			return 0, false
		}
		c := data[*i]
		*i++
		v |= int(c&0x7f) << (7 * k)
		if c&0x80 == 0 {
			return v, true
		}
	}
	return v, true
}

// wideString reads a BIFF12 XLWideString (uint32 count of UTF-16 units);
// nullable strings may hold 0xFFFFFFFF for "no string".
func wideString(rec []byte, j *int, nullable bool) (string, bool) {
	if *j+4 > len(rec) {
		return "", false
	}
	cch := binary.LittleEndian.Uint32(rec[*j:])
	*j += 4
	if nullable && cch == 0xFFFFFFFF {
		return "", true
	}
	if cch > uint32(len(rec)-*j)/2 {
		return "", false
	}
	u := make([]uint16, cch)
	for k := range u {
		u[k] = binary.LittleEndian.Uint16(rec[*j+2*k:])
	}
	*j += 2 * int(cch)
	return string(utf16.Decode(u)), true
}
