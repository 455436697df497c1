package script

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"triage/parsers"
	"triage/parsers/filetype"
)

var (
	// assemblyLoadRE finds an in-memory .NET assembly load (lowercased code).
	assemblyLoadRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`\[(?:system\.)?reflection\.assembly\]::load\s*\(|\[appdomain\]::currentdomain\.load\s*\(`)
	})
	// addType is Add-Type used as a command.
	addType = word{s: "add-type", left: true, right: true}
	// delegates are the P/Invoke-free ways to call native functions.
	delegates = kw("getdelegateforfunctionpointer", "definedynamicassembly")
	// injectAPIs are the native calls of in-memory injection.
	injectAPIs = kw("virtualalloc", "writeprocessmemory", "createremotethread", "ntcreatethreadex", "createthread",
		"virtualprotect", "rtlmovememory")
)

// reflective reports PowerShell that compiles native-call signatures and
// uses them for injection, or loads an assembly from memory (catalogue
// §14). Text that merely mentions the API names, in a string or comment
// never handed to Add-Type, is context only.
func (t *traits) reflective() {
	if t.typ != filetype.PS1 {
		return
	}
	code := parsers.ASCIILower(psCode(t.s))
	api := find(t.low, injectAPIs...)
	var load, del string
	if strings.Contains(code, "assembly]::load") || strings.Contains(code, "currentdomain.load") {
		load = assemblyLoadRE().FindString(code)
	}
	if api != "" {
		del = find(code, delegates...)
	}
	var why string
	switch {
	case load != "":
		why = "loads a .NET assembly from memory: " + quote(load)
	case api != "" && findWord(code, addType) != "":
		why = fmt.Sprintf("compiles native signatures with Add-Type and uses %s", quote(api))
	case del != "":
		why = fmt.Sprintf("calls %s through %s", quote(api), quote(del))
	}
	if why != "" {
		t.out.Finding(parsers.Finding{
			Code:     "script.reflective_load",
			Severity: parsers.Critical,
			Detail:   why,
			Campaign: "netwalker",
			Attack:   attackReflect,
		})
		return
	}
	if api != "" {
		t.out.Finding(parsers.Finding{
			Code:     "script.pinvoke_unused",
			Severity: parsers.Info,
			Detail:   fmt.Sprintf("names %s but never compiles or calls it", quote(api)),
		})
	}
}

// psCode returns PowerShell source with comments removed and the content
// of strings and here-strings blanked, so that patterns match code only.
func psCode(s string) string {
	var b strings.Builder
	b.Grow(len(s) / 2)
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '<' && strings.HasPrefix(s[i:], "<#"):
			i = skipTo(s, i+2, "#>")
		case c == '#':
			i = skipTo(s, i+1, "\n")
			b.WriteByte('\n')
		case c == '@' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\'') && hereStart(s, i+2):
			q := s[i+1]
			i = skipTo(s, i+2, "\n"+string(q)+"@")
			b.WriteString(`""`)
		case c == '"':
			i = skipString(s, i+1, '"')
			b.WriteString(`""`)
		case c == '\'':
			i = skipString(s, i+1, '\'')
			b.WriteString(`""`)
		case c == '`' && i+1 < len(s):
			b.WriteByte(s[i+1])
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// hereStart reports whether only blanks follow up to the end of the line,
// as PowerShell requires after @" and @'.
func hereStart(s string, i int) bool {
	for ; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r':
		case '\n':
			return true
		default:
			return false
		}
	}
	return false
}

// skipTo returns the index after the next end at or after i, or len(s).
func skipTo(s string, i int, end string) int {
	if i > len(s) {
		return len(s)
	}
	j := strings.Index(s[i:], end)
	if j < 0 {
		return len(s)
	}
	return i + j + len(end)
}

// skipString returns the index after the string closing with q; a
// doubled quote and, in double-quoted strings, a backtick escape it.
func skipString(s string, i int, q byte) int {
	for i < len(s) {
		c := s[i]
		switch {
		case c == '`' && q == '"':
			i += 2
			continue
		case c == q && i+1 < len(s) && s[i+1] == q:
			i += 2
			continue
		case c == q:
			return i + 1
		}
		i++
	}
	return len(s)
}
