package xlm

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"triage/parsers"
)

// maxLines bounds the SYLK records read.
const maxLines = 1 << 20

// xlmCallRE finds function calls in formula text.
var xlmCallRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)\b([A-Z][A-Z0-9]*(?:\.[A-Z0-9]+)*)\s*\(`) })

// ddeFormulaRE matches a DDE formula: service|'topic'!item. Its counted
// repetitions make it costly to compile: it is compiled on first use.
var ddeFormulaRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)[A-Za-z0-9_.\\\-]+\s*\|\s*(?:'[^']{0,1000}'|[^\s'!|"]{1,1000})\s*![A-Za-z0-9$_.']{0,64}`)
})

// knownXLM are the function names reported from SYLK formulas.
var knownXLM = func() map[string]bool {
	m := map[string]bool{"URLDOWNLOADTOFILEA": true}
	for _, n := range ftab {
		m[n] = true
	}
	for _, n := range cetab {
		m[n] = true
	}
	return m
}()

// sylkFields splits a SYLK record on ';' (";;" is a literal ';').
func sylkFields(line string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == ';' {
			if i+1 < len(line) && line[i+1] == ';' {
				cur.WriteByte(';')
				i++
				continue
			}
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	return append(out, cur.String())
}

// parseSLK reads SYLK records: the O record's E flag marks a macro sheet,
// NN records define names, C records' E fields are formulas.
func parseSLK(data []byte, b *parsers.Budget) (*result, error) {
	r := newResult()
	var errs error
	n := 0
	for len(data) > 0 {
		if n++; n > maxLines {
			errs = fmt.Errorf("xlm: %w: more than %d SYLK records", parsers.ErrTooMany, maxLines)
			break
		}
		if n%4096 == 0 {
			if err := b.Err(); err != nil {
				errs = err
				break
			}
		}
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		f := sylkFields(strings.TrimRight(string(line), "\r"))
		switch f[0] {
		case "O":
			for _, x := range f[1:] {
				if x == "E" {
					r.macroSheet = true
				}
			}
		case "NN":
			if r.names >= maxNames {
				continue
			}
			r.names++
			for _, x := range f[1:] {
				if strings.HasPrefix(x, "N") && strings.HasPrefix(strings.ToLower(x[1:]), "auto_open") {
					r.autoOpen = append(r.autoOpen, x[1:])
				}
			}
		case "C":
			for _, x := range f[1:] {
				if !strings.HasPrefix(x, "E") {
					continue
				}
				r.slkFormula(x[1:])
			}
		}
	}
	return r, errs
}

func (r *result) slkFormula(expr string) {
	var names []string
	for _, m := range xlmCallRE().FindAllStringSubmatch(expr, 20) {
		name := strings.ToUpper(m[1])
		if knownXLM[name] {
			r.funcs[name] = true
			names = append(names, name)
		}
	}
	for _, m := range ddeFormulaRE().FindAllString(expr, 5) {
		if len(r.dde) < maxStrings {
			r.dde = append(r.dde, capString(m, maxShown))
		}
	}
	if suspiciousString(expr) && len(r.strs) < maxStrings {
		r.strs = append(r.strs, capString(expr, maxShown))
	}
	if len(names) > 0 && len(r.formulas) < maxFormulas {
		r.formulas = append(r.formulas, capString(expr, maxShown))
	}
}
