package ooxml

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"triage/parsers"
)

// DDE bounds.
const (
	maxFieldDepth  = 64
	maxInstrBytes  = 8 * parsers.KiB
	maxDDE         = 50
	maxDDEShown    = 500
	maxFormulaText = 8 * parsers.KiB
)

// ddeFormulaRE matches a DDE formula: service|'topic'!item or
// service|topic!item, as in =cmd|' /c calc'!A0. Its counted repetitions
// make it costly to compile (milliseconds): it is compiled on first use.
var ddeFormulaRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)[A-Za-z0-9_.\\\-]+\s*\|\s*(?:'[^']{0,1000}'|[^\s'!|"]{1,1000})\s*![A-Za-z0-9$_.']{0,64}`)
})

// field is one Word field being read (between fldChar begin and end).
type field struct {
	instr strings.Builder
	sep   bool // past the separate mark: the rest is the field result
}

// xmlScan walks one XML part and collects DDE field codes, DDE formulas
// and DDE links. It understands WordprocessingML (2003 and 2007+),
// SpreadsheetML 2003 (ss:Formula) and 2007+ (<f>, <ddeLink>).
type xmlScan struct {
	fields  []*field
	deep    int // begin marks past maxFieldDepth
	inInstr bool
	inF     bool
	f       strings.Builder
	dde     []string
}

func (x *xmlScan) add(kind, s string) {
	s = strings.Join(strings.Fields(s), " ")
	if len(x.dde) >= maxDDE || s == "" {
		return
	}
	x.dde = append(x.dde, kind+": "+capString(s, maxDDEShown))
}

// checkInstr records a field instruction whose field type is DDE/DDEAUTO.
func (x *xmlScan) checkInstr(instr string) {
	f := strings.Fields(instr)
	if len(f) == 0 {
		return
	}
	switch strings.ToUpper(strings.Trim(f[0], `"`)) {
	case "DDE", "DDEAUTO":
		x.add("field", instr)
	}
}

func (x *xmlScan) checkFormula(f string) {
	for _, m := range ddeFormulaRE().FindAllString(f, 5) {
		x.add("formula", m)
	}
}

func (x *xmlScan) token(tok xml.Token) {
	switch t := tok.(type) {
	case xml.StartElement:
		switch t.Name.Local {
		case "fldChar":
			switch attr(t, "fldCharType") {
			case "begin":
				if len(x.fields) >= maxFieldDepth {
					x.deep++
					return
				}
				x.fields = append(x.fields, &field{})
			case "separate":
				if x.deep == 0 && len(x.fields) > 0 {
					x.fields[len(x.fields)-1].sep = true
				}
			case "end":
				if x.deep > 0 {
					x.deep--
					return
				}
				if n := len(x.fields); n > 0 {
					x.checkInstr(x.fields[n-1].instr.String())
					x.fields = x.fields[:n-1]
				}
			}
		case "instrText":
			x.inInstr = true
		case "fldSimple":
			x.checkInstr(attr(t, "instr"))
		case "f":
			x.inF = true
			x.f.Reset()
		case "ddeLink":
			x.add("link", attr(t, "ddeService")+" "+attr(t, "ddeTopic"))
		}
		for _, a := range t.Attr {
			if a.Name.Local == "Formula" { // SpreadsheetML 2003
				x.checkFormula(a.Value)
			}
		}
	case xml.CharData:
		if x.inInstr && x.deep == 0 && len(x.fields) > 0 {
			top := x.fields[len(x.fields)-1]
			if !top.sep && top.instr.Len() < maxInstrBytes {
				top.instr.Write(t)
			}
		}
		if x.inF && x.f.Len() < maxFormulaText {
			x.f.Write(t)
		}
	case xml.EndElement:
		switch t.Name.Local {
		case "instrText":
			x.inInstr = false
		case "f":
			if x.inF {
				x.checkFormula(x.f.String())
			}
			x.inF = false
		}
	}
}

// scanDDE runs an xmlScan over data and returns the DDE commands found.
func (s *scan) scanDDE(name string, data []byte) []string {
	x := &xmlScan{}
	s.walkXML(data, "part "+name, fmt.Sprintf("part %q", name), x.token)
	// Fields still open at the end of the part are judged too.
	for i := len(x.fields) - 1; i >= 0; i-- {
		x.checkInstr(x.fields[i].instr.String())
	}
	return x.dde
}

var ddeExecRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(cmd(\.exe)?|powershell(\.exe)?|pwsh|mshta|wscript|cscript|rundll32|regsvr32|certutil|bitsadmin|msiexec)\b`)
})

// reportDDE reports the DDE commands found across the package.
func (s *scan) reportDDE(found []string) {
	if len(found) == 0 {
		return
	}
	s.out.Meta("dde", found)
	// A DDE field that starts a shell or script host is an execution
	// primitive, not a data link: malicious on its own.
	sev := parsers.High
	for _, f := range found {
		if ddeExecRE().MatchString(f) {
			sev = parsers.Critical
		}
	}
	s.out.Finding(parsers.Finding{Code: "ooxml.dde", Severity: sev,
		Detail: "DDE command (runs a program when the document updates its links): " + joinCapped(found),
		Attack: []string{"T1559.002"}})
}
