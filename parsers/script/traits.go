package script

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/iocs"
)

// traits runs the pattern checks over one script's text and reports.
type traits struct {
	s   string // the text
	low string // s with ASCII letters lowercased (same offsets)
	typ string
	out parsers.Sink
	// obfuscation reasons gathered by the checks, reported once.
	obf []string
}

var (
	// httpObj names an HTTP client object or download command.
	httpObj = append(kw("msxml2.xmlhttp", "msxml2.serverxmlhttp", "microsoft.xmlhttp", "winhttp.winhttprequest",
		"serverxmlhttp", "net.webclient", "invoke-webrequest", "invoke-restmethod", "downloadstring",
		"downloadfile", "downloaddata", "start-bitstransfer", "urldownloadtofile"),
		bounded("iwr"), bounded("irm"), then("bitsadmin", "/transfer", 120), then("certutil", "-urlcache", 80),
		then("curl", " -o ", 120))
	// selfWrite names download commands that also write the file, so they
	// need no separate write primitive.
	selfWrite = append(kw("downloadfile", "urldownloadtofile", "start-bitstransfer"),
		then("bitsadmin", "/transfer", 120), then("certutil", "-urlcache", 80), then("invoke-webrequest", "-outf", 200),
		word{s: "iwr", left: true, right: true, sameLineWith: "-outf", within: 200}, then("curl", " -o ", 120))
	// writeExec names a primitive that writes a download to disk or runs it.
	writeExec = append(kw("adodb.stream", "savetofile", "wscript.shell", "shell.application", "shellexecute",
		"start-process", "invoke-expression", "createtextfile", "writeallbytes", "set-content", "out-file", "invoke-item"),
		bounded("iex"), word{s: ".run", right: true}, word{s: ".exec", right: true})
	// shellObj and shellRun together are a shell-object execution.
	shellObj = kw("wscript.shell", "shell.application")
	shellRun = []word{{s: ".run", right: true}, {s: ".exec", right: true}, {s: ".shellexecute", right: true}}
	// procWords name process creation through WMI or PowerShell.
	procWords = kw("win32_process", "start-process")
	// lolbins are script hosts and proxies that run a target.
	lolbins = []string{"mshta", "rundll32", "regsvr32", "wscript", "cscript"}
	// launchPSRE and cmdRE find PowerShell with switches and cmd /c, carets
	// allowed; they run on the lowercased text only when a prefilter hits.
	launchPSRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?:p\^*o\^*w\^*e\^*r\^*s\^*h\^*e\^*l\^*l|pwsh)(?:\.exe)?["']?\s+["']?(?:-|/|\x{2013}|\x{2014})\^*[a-z]`)
	})
	cmdRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\bc\^*m\^*d(?:\.exe)?["']?\s+/[ck]\b`) })
)

// downloader reports an HTTP object together with a write or exec
// primitive (catalogue §7: MSXML2.XMLHTTP with ADODB.Stream).
func (t *traits) downloader() {
	get := find(t.low, httpObj...)
	self := find(t.low, selfWrite...)
	put := find(t.low, writeExec...)
	if self == "" && (get == "" || put == "") {
		return
	}
	var detail string
	switch {
	case get != "" && put != "":
		detail = fmt.Sprintf("HTTP client %s with write/exec primitive %s", quote(get), quote(put))
	default:
		detail = fmt.Sprintf("download-and-write command %s", quote(self))
	}
	t.out.Finding(parsers.Finding{
		Code:     "script.downloader",
		Severity: parsers.High,
		Detail:   detail,
		Attack:   attackDownload,
	})
}

// urlRotation reports three or more URLs that share one path on different
// hosts: a downloader trying the same payload path on several compromised
// sites (catalogue §7).
func (t *traits) urlRotation(urls []string) {
	hosts := map[string]map[string]bool{}
	for _, u := range urls {
		path := urlPath(u)
		if path == "" || path == "/" {
			continue
		}
		h := iocs.Host(u)
		if h == "" {
			continue
		}
		if hosts[path] == nil {
			hosts[path] = map[string]bool{}
		}
		hosts[path][h] = true
	}
	best, n := "", 0
	for path, hs := range hosts {
		if len(hs) > n || (len(hs) == n && path < best) {
			best, n = path, len(hs)
		}
	}
	if n < 3 {
		return
	}
	var names []string
	for h := range hosts[best] {
		names = append(names, h)
	}
	sort.Strings(names)
	if len(names) > 5 {
		names = append(names[:5], "…")
	}
	t.out.Finding(parsers.Finding{
		Code:     "script.url_rotation",
		Severity: parsers.Medium,
		Detail:   fmt.Sprintf("%d hosts serve the same path %s: %s", n, quote(best), strings.Join(names, ", ")),
		Campaign: "locky",
		Attack:   attackDownload,
	})
}

// urlPath returns the path, query and fragment of a URL as written.
func urlPath(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return ""
	}
	rest := u[i+3:]
	j := strings.IndexAny(rest, "/?#")
	if j < 0 {
		return ""
	}
	return rest[j:]
}

// exec reports code that starts processes.
func (t *traits) exec() {
	var what string
	if obj := find(t.low, shellObj...); obj != "" {
		if run := find(t.low, shellRun...); run != "" {
			what = fmt.Sprintf("%s with %s", quote(obj), quote(run))
		}
	}
	if what == "" {
		what = quote(t.launch())
	}
	if what == `""` {
		return
	}
	t.out.Finding(parsers.Finding{
		Code:     "script.exec",
		Severity: parsers.Medium,
		Detail:   "starts a process: " + what,
		Attack:   execAttack(t.typ),
	})
}

// launch returns a process launch written in the code, or "".
func (t *traits) launch() string {
	carets := strings.IndexByte(t.low, '^') >= 0
	if carets || strings.Contains(t.low, "powershell") || strings.Contains(t.low, "pwsh") {
		if m := launchPSRE().FindString(t.low); m != "" {
			return m
		}
	}
	if carets || strings.Contains(t.low, "cmd") {
		if m := cmdRE().FindString(t.low); m != "" {
			return m
		}
	}
	for _, name := range lolbins {
		if m := lolbinRun(t.low, name); m != "" {
			return m
		}
	}
	return find(t.low, procWords...)
}

// lolbinRun finds name used as a command: optional .exe, an optional
// quote, blanks, then an argument (wscript x.js, but not WScript.Echo).
func lolbinRun(low, name string) string {
	from := 0
	for n := 0; n < maxOccurrences; n++ {
		i := strings.Index(low[from:], name)
		if i < 0 {
			return ""
		}
		i += from
		from = i + 1
		if i > 0 && isWordByte(low[i-1]) {
			continue
		}
		j := i + len(name)
		if strings.HasPrefix(low[j:], ".exe") {
			j += 4
		}
		if j < len(low) && (low[j] == '"' || low[j] == '\'') {
			j++
		}
		k := j
		for k < len(low) && (low[k] == ' ' || low[k] == '\t') {
			k++
		}
		if k > j && k < len(low) && low[k] != '\r' && low[k] != '\n' && low[k] != '=' {
			return low[i:min(len(low), k+16)]
		}
	}
	return ""
}

// execAttack maps a script type to its ATT&CK interpreter technique.
func execAttack(typ string) []string {
	switch typ {
	case filetype.PS1:
		return []string{"T1059.001"}
	case filetype.BAT:
		return []string{"T1059.003"}
	case filetype.JS:
		return []string{"T1059.007"}
	case filetype.VBS:
		return []string{"T1059.005"}
	case filetype.HTA:
		return []string{"T1218.005"}
	}
	return []string{"T1059"}
}

var (
	// evalWords run a string as code; decodeWords produce one.
	evalWords   = []word{bounded("eval"), bounded("execute"), bounded("executeglobal"), bounded("iex"), bounded("invoke-expression")}
	decodeWords = []string{"atob", "unescape", "fromcharcode", "frombase64string", "decodeuricomponent", "strreverse", "-join", "[char]", "-bxor", "gzipstream", "deflatestream"}
	substrRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`%[a-z0-9_]+:~-?\d+(?:,-?\d+)?%`) })
)

// evalDecoded finds an eval word with a decoding call on the same line.
func evalDecoded(low string) string {
	for _, w := range evalWords {
		from := 0
		for n := 0; n < maxOccurrences; n++ {
			i := strings.Index(low[from:], w.s)
			if i < 0 {
				break
			}
			i += from
			end := i + len(w.s)
			from = i + 1
			if (i > 0 && isWordByte(low[i-1])) || (end < len(low) && isWordByte(low[end])) {
				continue
			}
			win := low[end:min(len(low), end+120)]
			if nl := strings.IndexAny(win, "\r\n"); nl >= 0 {
				win = win[:nl]
			}
			for _, d := range decodeWords {
				if j := strings.Index(win, d); j >= 0 {
					return low[i : end+j+len(d)]
				}
			}
		}
	}
	return ""
}

// obfuscation reports the weak signals of hidden code once, as one Low
// finding listing them.
func (t *traits) obfuscation() {
	n := len(t.s)
	if n == 0 && len(t.obf) == 0 {
		return
	}
	reasons := append([]string(nil), t.obf...)
	if c := countAll(t.low, "fromcharcode", "chr(", "chrw(", "chrb(", "[char]"); c >= 20 && c*500 >= n {
		reasons = append(reasons, fmt.Sprintf("%d character-code calls", c))
	}
	if c := countJoints(t.s); c >= 40 && c*250 >= n {
		reasons = append(reasons, fmt.Sprintf("%d string concatenations", c))
	}
	if m := evalDecoded(t.low); m != "" {
		reasons = append(reasons, "evaluates decoded content: "+quote(m))
	}
	if strings.Contains(t.low, "-bxor") && strings.Contains(t.low, "byte[]") {
		reasons = append(reasons, "XOR loop over a byte array")
	}
	if t.typ == filetype.BAT {
		if c := countCarets(t.s, 64); c >= 8 {
			reasons = append(reasons, fmt.Sprintf("%d caret-split words", c))
		}
		if strings.Contains(t.low, ":~") {
			if c := len(substrRE().FindAllStringIndex(t.low, 64)); c >= 10 {
				reasons = append(reasons, fmt.Sprintf("%d variable-substring expansions", c))
			}
		}
	}
	if len(reasons) == 0 {
		return
	}
	t.out.Finding(parsers.Finding{
		Code:     "script.obfuscation",
		Severity: parsers.Low,
		Detail:   strings.Join(reasons, "; "),
		Attack:   attackObfuscate,
	})
}
