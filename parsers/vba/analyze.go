package vba

import (
	"encoding/base64"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"triage/parsers"
	"triage/parsers/iocs"
)

// AutoExec keywords, as olevba 0.60 lists them (AUTOEXEC_KEYWORDS and
// AUTOEXEC_KEYWORDS_REGEX). olevba searches each with word boundaries,
// case-insensitively, anywhere in the code, and reports the first match.
var autoExecWords = []string{
	"AutoExec", "AutoOpen", "DocumentOpen", "AutoExit", "AutoClose", "Document_Close",
	"DocumentBeforeClose", "DocumentChange", "AutoNew", "Document_New", "NewDocument",
	"Document_Open", "Document_BeforeClose", "Auto_Open", "Workbook_Open", "Workbook_Activate",
	"Auto_Ope", "Auto_Close", "Workbook_Close", "Workbook_BeforeClose", "Worksheet_Calculate",
}

// autoExecEvents are the ActiveX/InkPicture event suffixes olevba treats as
// auto-exec (\w+_<event>).
var autoExecEvents = []string{
	"Painted", "Painting", "GotFocus", "LostFocus", "MouseHover", "Click", "Change", "Resize",
	"BeforeNavigate2", "BeforeScriptExecute", "DocumentComplete", "DownloadBegin",
	"DownloadComplete", "FileDownload", "NavigateComplete2", "NavigateError", "ProgressChange",
	"PropertyChange", "SetSecureLockIcon", "StatusTextChange", "TitleChange", "MouseMove",
	"MouseEnter", "MouseLeave", "Layout", "OnConnecting", "FollowHyperlink", "ContentControlOnEnter",
}

// userEvents fire only on user interaction; other auto-exec triggers run by
// themselves when the document opens, closes or renders.
var userEvents = map[string]bool{
	"click": true, "change": true, "mousehover": true, "mousemove": true, "mouseenter": true,
	"mouseleave": true, "followhyperlink": true, "contentcontrolonenter": true, "documentchange": true,
}

// keywordCategories maps lower-case keywords (single words or dotted
// names) to the category triage scores them under. PowerShell, WMI and
// string obfuscation have their own findings and are not repeated here.
var keywordCategories = func() map[string]string {
	m := map[string]string{}
	add := func(cat string, words ...string) {
		for _, w := range words {
			m[w] = cat
		}
	}
	add("execute", "shell", "shellexecute", "shellexecutea", "shellexecutew", "wscript.shell",
		"shell.application", "vbhide", "vbnormalfocus", "vbminimizednofocus", "vbnormalnofocus",
		"vbminimizedfocus", "vbmaximizedfocus", "invokeverb", "invokeverbex", "macscript", "applescript",
		"executeexcel4macro", "mmc20.application", "shellbrowserwindow", "shellwindows", "controlpanelitem")
	add("obfuscated_call", "callbyname")
	add("download", "urldownloadtofile", "urldownloadtofilea", "urldownloadtofilew", "msxml2.xmlhttp",
		"msxml2.serverxmlhttp", "microsoft.xmlhttp", "winhttp.winhttprequest", "net.webclient",
		"downloadfile", "downloadstring", "downloaddata", "internetexplorer.application", "bitsadmin")
	add("file_write", "adodb.stream", "savetofile", "writetext", "createtextfile", "filecopy", "copyfile",
		"copyhere", "movehere", "movefile", "kill", "saveas", "mkdir", "setattr")
	add("dll_call", "virtualalloc", "virtualallocex", "rtlmovememory", "createthread", "createremotethread",
		"createuserthread", "writeprocessmemory", "queueapcthread", "virtualprotect", "settimer",
		"callwindowproc", "callwindowproca", "callwindowprocw", "enumsystemlanguagegroups",
		"enumsystemlanguagegroupsw", "enumdateformats", "enumdateformatsw", "enumdateformatsex",
		"enumdateformatsexex", "libc.dylib")
	add("environment", "environ", "expandenvironmentstrings", "win32_environment")
	add("hide", "application.visible", "showwindow", "sw_hide", "displayalerts")
	add("anti_analysis", "vmware", "vbox", "virtualbox", "sbiedll.dll", "sandboxiecontrolwndclass",
		"recentfiles.count", "application.username", "win32_computersystem", "win32_bios", "win32_diskdrive")
	add("registry", "regread", "regwrite", "regdelete", "regopenkeyex", "regopenkeyexa", "regopenkeyexw",
		"regqueryvalueex", "regqueryvalueexa", "regqueryvalueexw", "regsetvalueex", "regsetvalueexa",
		"regsetvalueexw", "savesetting", "getsetting")
	add("security_tamper", "vbproject", "vbcomponents", "codemodule", "addfromstring", "addfromfile",
		"accessvbom", "vbawarnings", "protectedview", "disableattachementsinpv", "disableinternetfilesinpv",
		"disableunsafelocationsinpv", "blockcontentexecutionfrominternet")
	add("keystrokes", "sendkeys", "appactivate")
	add("dde", "ddeinitiate", "ddeexecute")
	return m
}()

// memberExec are methods that run something when called on an object
// (WScript.Shell's Run/Exec, Shell.Application's ShellExecute).
var memberExec = map[string]bool{"run": true, "exec": true, "shellexecute": true}

// linePattern is matched on ASCII-lower-cased lines that contain its
// leading word must (cheap prefilter, then a small regexp).
type linePattern struct {
	category, must string
	re             *regexp.Regexp
}

// linePatterns are the line patterns, compiled on first use.
var linePatterns = sync.OnceValue(func() []linePattern {
	return []linePattern{
		{"file_write", "open", regexp.MustCompile(`\bopen\b[^\n]*\bfor\s+(?:output|binary|append|random)\b`)},
		{"file_write", "#", regexp.MustCompile(`\b(?:put|write|print)\s*#`)},
		{"dll_call", "declare", regexp.MustCompile(`\bdeclare\b[^\n]*\blib\b`)},
		{"environment", "%", regexp.MustCompile(`%(?:temp|tmp|appdata|localappdata|userprofile|public|programdata)%`)},
		{"hide", "screenupdating", regexp.MustCompile(`\bscreenupdating\s*=\s*false\b`)},
		{"hide", "-w", regexp.MustCompile(`-w(?:indowstyle)?\s+hid`)},
		{"download", "user-agent", regexp.MustCompile(`\buser-agent\b`)},
		{"download", "start-bitstransfer", regexp.MustCompile(`\bstart-bitstransfer\b`)},
		{"execute", "start-process", regexp.MustCompile(`\bstart-process\b`)},
	}
})

// mraptor's three flags (oletools mraptor 0.56): A auto-exec, W write to
// the file system or memory, X execute something outside the VBA engine.
// A is the auto-exec detection above. mraptor's X also counts CALL, RUN,
// EXEC and REGISTER, which are Excel 4 macro functions; in VBA "Call" is an
// ordinary statement, so they are left out, and CallByName and
// Win32_Process are added: they execute as surely as Shell.
var (
	mraptorWriteWords = wordSet("filecopy", "copyfile", "kill", "createtextfile", "virtualalloc",
		"rtlmovememory", "urldownloadtofile", "urldownloadtofilea", "altstartuppath", "writeprocessmemory",
		"adodb.stream", "writetext", "savetofile", "saveas", "saveasrtf", "filesaveas", "mkdir", "rmdir",
		"savesetting", "setattr")
	mraptorExecWords = wordSet("shell", "createobject", "getobject", "sendkeys", "macscript",
		"followhyperlink", "createthread", "shellexecute", "shellexecutea", "executeexcel4macro",
		"settimer", "callbyname", "win32_process")
	mraptorOpenWrite = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`\bopen\b[^\n]+\b(?:write|append|binary|output|random)\b`)
	})
	mraptorDeclare = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\bdeclare\b[^\n]+\blib\b`) })
)

func wordSet(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// Obfuscation and procedure patterns. Like every regexp of this package
// they are compiled on first use (sync.OnceValue), not at start-up.
var (
	replaceJunkRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)\bReplace\$?\s*\([^,\n]+,\s*"([^"\n]+)"\s*,\s*""\s*\)`)
	})
	stringLitRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`"(?:[^"\n]|"")*"`) })
	base64LitRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9+/]{100,}={0,2}$`) })
	hexLitRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:[0-9A-Fa-f]{2}){32,}$`) })
	procDefRE   = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[ \t]*(?:(?:public|private|friend)[ \t]+)?(?:static[ \t]+)?(?:sub|function|property[ \t]+(?:get|let|set))[ \t]+([\pL\pN_]+)`)
	})
)

// executableExts are the file extensions reported as executable names.
var executableExts = wordSet("exe", "pif", "scr", "msi", "vbs", "vbe", "js", "jse", "wsf", "wsh", "bat",
	"cmd", "dll", "hta", "cpl", "jar", "ps1", "lnk", "sct", "inf", "reg")

// maxWords bounds the words scanned in one text.
const maxWords = 4 << 20

// word is one identifier-like run of the code: Unicode letters, digits and
// underscores, as Python's \w (olevba's regexps) sees them.
type word struct {
	start, end int
	lower      string
}

func scanWords(s string) []word {
	var out []word
	for i := 0; i < len(s) && len(out) < maxWords; {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if !isWordRune(r) {
			i += size
			continue
		}
		start := i
		for i < len(s) {
			r, size = rune(s[i]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeRuneInString(s[i:])
			}
			if !isWordRune(r) {
				break
			}
			i += size
		}
		out = append(out, word{start: start, end: i, lower: strings.ToLower(s[start:i])})
	}
	return out
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// dotted returns "a.b" when words i and i+1 are joined by a single dot.
func dotted(s string, ws []word, i int) string {
	if i+1 < len(ws) && ws[i].end < len(s) && s[ws[i].end] == '.' && ws[i+1].start == ws[i].end+1 {
		return ws[i].lower + "." + ws[i+1].lower
	}
	return ""
}

// forLines calls fn with the bounds of each line of lower that contains
// must, until fn returns false.
func forLines(lower, must string, fn func(start, end int) bool) {
	for pos := 0; pos < len(lower); {
		i := strings.Index(lower[pos:], must)
		if i < 0 {
			return
		}
		ls := strings.LastIndexByte(lower[pos:pos+i], '\n') + pos + 1
		if ls < pos {
			ls = pos
		}
		le := strings.IndexByte(lower[pos+i:], '\n')
		if le < 0 {
			le = len(lower)
		} else {
			le += pos + i
		}
		if !fn(ls, le) {
			return
		}
		pos = le + 1
	}
}

// autoExecs returns olevba's auto-exec matches in text: for each keyword
// and each \w+_<event> pattern, in olevba's order, the first match.
func autoExecs(text string, ws []word) (found []string, autoRun bool) {
	first := map[string]string{} // keyword or "_event" → first match
	for _, w := range ws {
		if _, ok := autoExecIndex[w.lower]; ok {
			if _, seen := first[w.lower]; !seen {
				first[w.lower] = text[w.start:w.end]
			}
		}
		if i := strings.LastIndexByte(w.lower, '_'); i > 0 {
			ev := "_" + w.lower[i+1:]
			if _, ok := autoExecIndex[ev]; ok {
				if _, seen := first[ev]; !seen {
					first[ev] = text[w.start:w.end]
				}
			}
		}
	}
	for _, k := range autoExecOrder {
		m, ok := first[k]
		if !ok {
			continue
		}
		found = append(found, m)
		if strings.HasPrefix(k, "_") {
			autoRun = autoRun || !userEvents[k[1:]]
		} else {
			autoRun = autoRun || !userEvents[k]
		}
	}
	return found, autoRun
}

// autoExecOrder lists lower-case keywords then "_event" suffixes in
// olevba's order; autoExecIndex indexes it.
var autoExecOrder, autoExecIndex = func() ([]string, map[string]int) {
	var order []string
	for _, w := range autoExecWords {
		order = append(order, strings.ToLower(w))
	}
	for _, e := range autoExecEvents {
		order = append(order, "_"+strings.ToLower(e))
	}
	idx := map[string]int{}
	for i, k := range order {
		idx[k] = i
	}
	return order, idx
}()

// Analysis is what Analyze finds in one module's source.
type Analysis struct {
	// AutoExec holds olevba's auto-exec keyword matches (first match per
	// pattern, as olevba reports them).
	AutoExec []string
	// AutoRun is true when an auto-exec trigger fires without user
	// interaction (everything except click/change/mouse-style events).
	AutoRun bool
	// Suspicious lists keyword categories found in the raw or folded code.
	Suspicious map[string][]string
	// Folded is the source with constant expressions evaluated;
	// FoldChanged tells whether it differs from the source.
	Folded      string
	FoldChanged bool
	// mraptor flags.
	A, W, X bool
	// WMI is the evidence for a WMI process creation, PowerShell for a
	// PowerShell launch ("" when absent).
	WMI, PowerShell string
	// EncodedCommands are decoded -EncodedCommand payloads.
	EncodedCommands []string
	// Obfuscation signals, human-readable.
	Obfuscation []string
	ChrCalls    int
	// Procedures and Uncalled count defined and never-referenced procedures.
	Procedures, Uncalled int
	// URLs found in the raw and folded text; FoldedURLs only in the folded.
	URLs, FoldedURLs []string
	IPs              []string
	Executables      []string
}

// MRaptor reports whether mraptor would flag the code: an auto-exec
// trigger with a write or execute capability.
func (a *Analysis) MRaptor() bool { return a.A && (a.W || a.X) }

// Analyze scans VBA source (UTF-8). It is a pure function of its input and
// runs in time linear in its size.
func Analyze(code string) *Analysis {
	a := &Analysis{Suspicious: map[string][]string{}}
	collapsed := CollapseLines(code)
	a.Folded, a.FoldChanged = Fold(code)
	both := collapsed
	if a.FoldChanged {
		both = collapsed + "\n" + a.Folded
	}
	rawWords := scanWords(collapsed)
	words := rawWords
	if a.FoldChanged {
		words = scanWords(both)
	}
	lower := parsers.ASCIILower(both)

	a.AutoExec, a.AutoRun = autoExecs(collapsed, rawWords)
	a.A = len(a.AutoExec) > 0
	a.keywords(both, lower, words)
	a.W, a.X = writeExec(both, lower, words)
	a.wmi(lower, words)
	a.powershell(both)
	a.obfuscation(collapsed, rawWords)
	a.iocs(collapsed, both, words)
	return a
}

// MRaptorFlags returns mraptor's A, W and X flags for code (raw and
// folded), without the rest of the analysis.
func MRaptorFlags(code string) (a, w, x bool) {
	collapsed := CollapseLines(code)
	both := collapsed
	if folded, changed := Fold(code); changed {
		both += "\n" + folded
	}
	auto, _ := autoExecs(collapsed, scanWords(collapsed))
	w, x = writeExec(both, parsers.ASCIILower(both), scanWords(both))
	return len(auto) > 0, w, x
}

// keywords fills Suspicious from the keyword table and line patterns.
func (a *Analysis) keywords(text, lower string, ws []word) {
	add := func(cat, kw string) {
		if len(a.Suspicious[cat]) < 32 {
			a.Suspicious[cat] = appendUnique(a.Suspicious[cat], kw)
		}
	}
	for i, w := range ws {
		if cat, ok := keywordCategories[w.lower]; ok {
			add(cat, text[w.start:w.end])
		}
		if d := dotted(text, ws, i); d != "" {
			if cat, ok := keywordCategories[d]; ok {
				add(cat, text[w.start:ws[i+1].end])
			}
		}
		if memberExec[w.lower] && w.start > 0 && text[w.start-1] == '.' {
			add("execute", text[w.start-1:w.end])
		}
	}
	for _, p := range linePatterns() {
		forLines(lower, p.must, func(ls, le int) bool {
			if m := p.re.FindString(lower[ls:le]); m != "" {
				add(p.category, m)
				return false
			}
			return true
		})
	}
	for k := range a.Suspicious {
		sort.Strings(a.Suspicious[k])
	}
}

// writeExec returns mraptor's W and X flags.
func writeExec(text, lower string, ws []word) (w, x bool) {
	for i, wd := range ws {
		d := dotted(text, ws, i)
		w = w || mraptorWriteWords[wd.lower] || mraptorWriteWords[d]
		x = x || mraptorExecWords[wd.lower]
		if w && x {
			return true, true
		}
	}
	if !w {
		forLines(lower, "open", func(ls, le int) bool { w = mraptorOpenWrite().MatchString(lower[ls:le]); return !w })
	}
	if !x {
		forLines(lower, "declare", func(ls, le int) bool { x = mraptorDeclare().MatchString(lower[ls:le]); return !x })
	}
	return w, x
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return list
		}
	}
	return append(list, s)
}

func (a *Analysis) wmi(lower string, ws []word) {
	var process, create, startup, show bool
	for _, w := range ws {
		switch w.lower {
		case "win32_process":
			process = true
		case "create":
			create = true
		case "win32_processstartup":
			startup = true
		case "showwindow":
			show = true
		}
	}
	winmgmts := strings.Contains(lower, "winmgmts")
	switch {
	case winmgmts && process:
		a.WMI = "winmgmts with Win32_Process"
	case process && create:
		a.WMI = "Win32_Process with Create"
	case startup && show:
		a.WMI = "Win32_ProcessStartup with ShowWindow"
	case winmgmts:
		a.WMI = "winmgmts"
	}
}

// powershell looks for PowerShell in the text with cmd carets removed, and
// decodes -EncodedCommand payloads.
func (a *Analysis) powershell(text string) {
	plain := strings.ReplaceAll(text, "^", "")
	lower := parsers.ASCIILower(plain)
	for _, name := range []string{"powershell", "pwsh"} {
		for pos := 0; pos < len(lower); {
			i := strings.Index(lower[pos:], name)
			if i < 0 {
				break
			}
			at := pos + i
			end := at + len(name)
			pos = end
			if at > 0 && isWordByte(lower[at-1]) || end < len(lower) && isWordByte(lower[end]) && !strings.HasPrefix(lower[end:], ".exe") {
				continue
			}
			a.PowerShell = snippet(plain, at, end)
			break
		}
		if a.PowerShell != "" {
			break
		}
	}
	for _, b64 := range encodedArgs(plain, lower) {
		if cmd, ok := decodeEncodedCommand(b64); ok {
			a.EncodedCommands = appendUnique(a.EncodedCommands, cmd)
		}
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// encodedArgs finds the base64 arguments of -e, -ec, -enc … -EncodedCommand.
func encodedArgs(text, lower string) []string {
	var out []string
	for pos := 0; pos < len(lower) && len(out) < 8; {
		i := strings.Index(lower[pos:], "-e")
		if i < 0 {
			break
		}
		at := pos + i
		pos = at + 2
		if at > 0 && !strings.ContainsRune(" \t\"'", rune(lower[at-1])) {
			continue
		}
		j := at + 1
		for j < len(lower) && lower[j] >= 'a' && lower[j] <= 'z' {
			j++
		}
		flag := lower[at+1 : j]
		if flag != "ec" && !strings.HasPrefix("encodedcommand", flag) {
			continue
		}
		k := j
		for k < len(lower) && (lower[k] == ' ' || lower[k] == '\t') {
			k++
		}
		if k == j {
			continue
		}
		if k < len(lower) && (lower[k] == '"' || lower[k] == '\'') {
			k++
		}
		e := k
		for e < len(text) && isBase64Byte(text[e]) {
			e++
		}
		for e < len(text) && e-k < 4 && text[e] == '=' {
			e++
		}
		if e-k >= 40 {
			out = append(out, text[k:e])
		}
		pos = e
	}
	return out
}

func isBase64Byte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

// decodeEncodedCommand decodes a PowerShell -EncodedCommand argument
// (base64 of UTF-16LE).
func decodeEncodedCommand(s string) (string, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return "", false
		}
	}
	if len(b) < 4 || len(b)%2 != 0 {
		return "", false
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	out := string(utf16.Decode(u))
	printable := 0
	for _, r := range out {
		if r >= 0x20 && r < 0x7F || r == '\n' || r == '\r' || r == '\t' {
			printable++
		}
	}
	if printable*10 < len([]rune(out))*9 {
		return "", false
	}
	return out, true
}

// snippet returns the line around text[start:end], shortened.
func snippet(text string, start, end int) string {
	ls := strings.LastIndexAny(text[:start], "\r\n") + 1
	if start-ls > 120 {
		ls = start - 120
	}
	le := strings.IndexAny(text[end:], "\r\n")
	if le < 0 || le > 200 {
		le = min(len(text)-end, 200)
	}
	line := strings.ToValidUTF8(strings.TrimSpace(text[ls:end+le]), "")
	if len(line) > 240 {
		line = line[:240] + "…"
	}
	return line
}

func (a *Analysis) obfuscation(code string, ws []word) {
	for _, w := range ws {
		switch w.lower {
		case "chr", "chrw", "chrb", "strreverse":
		default:
			continue
		}
		j := w.end
		if j < len(code) && code[j] == '$' {
			j++
		}
		for j < len(code) && (code[j] == ' ' || code[j] == '\t') {
			j++
		}
		if j >= len(code) || code[j] != '(' {
			continue
		}
		if w.lower == "strreverse" {
			if !slices.Contains(a.Obfuscation, "StrReverse") {
				a.Obfuscation = append(a.Obfuscation, "StrReverse")
			}
			continue
		}
		a.ChrCalls++
	}
	if a.ChrCalls >= 10 && a.ChrCalls*1000 >= 5*len(code) {
		a.Obfuscation = append([]string{"dense Chr() calls (" + strconv.Itoa(a.ChrCalls) + ")"}, a.Obfuscation...)
	}
	lits := stringLitRE().FindAllString(code, -1)
	litText := strings.Join(lits, "\n")
	lower := parsers.ASCIILower(code)
	forLines(lower, "replace", func(ls, le int) bool {
		for _, m := range replaceJunkRE().FindAllStringSubmatch(code[ls:le], 8) {
			junk := strings.ReplaceAll(m[1], `""`, `"`)
			if strings.Count(litText, junk) >= 3 {
				a.Obfuscation = append(a.Obfuscation, "Replace() removing junk "+quoteVBA(junk)+" from string literals")
				return false
			}
		}
		return true
	})
	var b64, hex int
	for _, l := range lits {
		l = strings.Trim(l, `"`)
		switch {
		case len(l) < 64:
		case hexLitRE().MatchString(l):
			hex++
		case base64LitRE().MatchString(l) && strings.ContainsAny(l, "0123456789") && l != strings.ToLower(l) && l != strings.ToUpper(l):
			b64++
		}
	}
	if b64 > 0 {
		a.Obfuscation = append(a.Obfuscation, "long base64 string literals ("+strconv.Itoa(b64)+")")
	}
	if hex > 0 {
		a.Obfuscation = append(a.Obfuscation, "long hex string literals ("+strconv.Itoa(hex)+")")
	}
	a.deadCode(code, lower, ws)
}

// deadCode counts procedures never referenced (decoys): a name used only
// in its own definition and in "Name = …" return-value assignments.
func (a *Analysis) deadCode(code, lower string, ws []word) {
	refs := references(code, ws)
	var names []string
	for pos := 0; pos < len(lower); {
		le := strings.IndexByte(lower[pos:], '\n')
		if le < 0 {
			le = len(lower)
		} else {
			le += pos
		}
		line := lower[pos:le]
		pos = le + 1
		if !strings.Contains(line, "sub") && !strings.Contains(line, "function") && !strings.Contains(line, "property") {
			continue
		}
		if m := procDefRE().FindStringSubmatch(line); m != nil {
			names = append(names, m[1])
		}
	}
	for _, name := range names {
		a.Procedures++
		if refs[name] == 0 && !strings.Contains(name, "_") && !isAutoExecName(name) {
			a.Uncalled++
		}
	}
	if a.Procedures >= 12 && a.Uncalled >= 10 && a.Uncalled*10 >= a.Procedures*6 {
		a.Obfuscation = append(a.Obfuscation, strconv.Itoa(a.Uncalled)+" of "+strconv.Itoa(a.Procedures)+" procedures are never called")
	}
}

// references counts identifier uses (lower-case) other than procedure
// definitions and "Name = …" assignments at the start of a statement.
func references(code string, ws []word) map[string]int {
	counts := map[string]int{}
	prev := ""
	prevEnd := 0
	for n, w := range ws {
		p := prev
		prev = w.lower
		// The text between two words is scanned once in total.
		gap := code[prevEnd:w.start]
		prevEnd = w.end
		switch p {
		case "sub", "function", "get", "let", "set":
			continue // a definition (or Property Get/Let/Set)
		}
		atStart := n == 0 && strings.TrimSpace(gap) == ""
		if i := strings.LastIndexAny(gap, "\r\n:"); i >= 0 {
			atStart = strings.TrimSpace(gap[i+1:]) == ""
		}
		if atStart {
			rest := strings.TrimLeft(code[w.end:min(len(code), w.end+64)], " \t")
			if strings.HasPrefix(rest, "=") && !strings.HasPrefix(rest, "==") {
				continue // an assignment, e.g. a function's return value
			}
		}
		counts[w.lower]++
	}
	return counts
}

func isAutoExecName(name string) bool {
	_, ok := autoExecIndex[strings.ToLower(name)]
	return ok
}

func (a *Analysis) iocs(code, both string, ws []word) {
	raw := map[string]bool{}
	for _, u := range iocs.URLs(code) {
		raw[u] = true
		a.URLs = append(a.URLs, u)
	}
	if a.FoldChanged {
		for _, u := range iocs.URLs(a.Folded) {
			if !raw[u] {
				a.URLs = append(a.URLs, u)
				a.FoldedURLs = append(a.FoldedURLs, u)
			}
		}
	}
	for _, ip := range iocs.IPs(both) {
		a.IPs = appendUnique(a.IPs, ip)
	}
	for i := range ws {
		if d := dotted(both, ws, i); d != "" && executableExts[ws[i+1].lower] && len(a.Executables) < 64 {
			a.Executables = appendUnique(a.Executables, both[ws[i].start:ws[i+1].end])
		}
	}
}
