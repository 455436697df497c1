package lnk

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// Candidate is one place a link names its target.
type Candidate struct {
	// Source is "link_info", "network", "env_target", "relative_path" or
	// "target_idlist".
	Source string
	Path   string
}

// Targets lists the target paths the link records, most authoritative
// first: the LinkInfo local path (LocalBasePath + CommonPathSuffix), the
// LinkInfo network path, the EnvironmentVariableDataBlock target, the
// relative path, and the path built from the target ID list.
func (l *Link) Targets() []Candidate {
	var out []Candidate
	add := func(src, p string) {
		if strings.TrimSpace(p) != "" {
			out = append(out, Candidate{src, p})
		}
	}
	add("link_info", l.LinkInfo.LocalPath())
	add("network", l.LinkInfo.NetworkPath())
	add("env_target", l.Extra.EnvTargetPath())
	add("relative_path", l.RelativePath)
	add("target_idlist", l.IDListPath)
	return out
}

// Target returns the most authoritative target path, or "".
func (l *Link) Target() string {
	if c := l.Targets(); len(c) > 0 {
		return c[0].Path
	}
	return ""
}

// CommandLine renders what the link runs: the target, quoted when it
// contains white space, then a space and the arguments.
func (l *Link) CommandLine() string {
	t := l.Target()
	if strings.ContainsAny(t, " \t") && !strings.HasPrefix(t, `"`) {
		t = `"` + t + `"`
	}
	switch {
	case t == "":
		return l.Arguments
	case l.Arguments == "":
		return t
	}
	return t + " " + l.Arguments
}

// lolbins are the Windows binaries that turn a shortcut into a script or
// download launcher (catalogue §15), by lowercase base name without ".exe".
var lolbins = map[string]bool{
	"powershell": true, "pwsh": true, "cmd": true, "mshta": true,
	"wscript": true, "cscript": true, "rundll32": true, "regsvr32": true,
	"certutil": true, "bitsadmin": true,
}

// baseName returns the lowercase last component of a Windows or URL path,
// without surrounding quotes and white space.
func baseName(p string) string {
	p = strings.Trim(strings.TrimSpace(p), `"'`)
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		p = p[i+1:]
	}
	return strings.ToLower(strings.TrimSpace(p))
}

// LOLBin returns the base name ("powershell.exe") when path names one of
// the launcher binaries, else "".
func LOLBin(path string) string {
	b := baseName(path)
	if lolbins[strings.TrimSuffix(b, ".exe")] {
		return b
	}
	return ""
}

// Argument indicators (catalogue §15). PowerShell accepts any unambiguous
// prefix of a parameter name, so options are matched as a word and then
// checked against the full name.
var (
	optionValueRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)(?:^|[\s"'(])[-/\x{2013}\x{2014}]([a-z]+)(?:\s+|:)['"]?([A-Za-z0-9+/=]+)`)
	})
	optionRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)(?:^|[\s"'(])[-/\x{2013}\x{2014}]([a-z]+)\b`) })
	fromBase64RE = regexp.MustCompile(`(?i)frombase64string`)
	iexRE        = regexp.MustCompile(`(?i)\biex\b|invoke-expression`)
	downloadRE   = regexp.MustCompile(`(?i)\.?download(?:string|file|data)`)
	httpRE       = regexp.MustCompile(`(?i)\bhttps?:(?://|\\\\)`)
	caretRE      = regexp.MustCompile(`\^[A-Za-z0-9]`)
)

// maxPadding is the white-space run above which arguments are padded to
// push the payload out of the Properties dialog (which shows 260 chars).
const maxPadding = 260

func isPrefixOf(word, full string, minLen int) bool {
	w := strings.ToLower(word)
	return len(w) >= minLen && strings.HasPrefix(full, w)
}

// SuspiciousArguments returns, in a fixed order, the reasons the argument
// string looks like a malicious launcher's: a hidden window, -NoProfile,
// an encoded command, an execution-policy bypass, FromBase64String, IEX,
// a .Download* call, an http(s) URL, caret-split words (two or more
// carets before a letter or digit, which cmd drops) and a white-space run
// longer than 260 characters.
func SuspiciousArguments(args string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(r string) {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	for _, m := range optionValueRE().FindAllStringSubmatch(args, 100) {
		opt, val := m[1], m[2]
		switch {
		case isPrefixOf(opt, "windowstyle", 1) && strings.EqualFold(val, "hidden"):
			add(fmt.Sprintf("hidden window (-%s %s)", opt, val))
		case (isPrefixOf(opt, "encodedcommand", 1) || strings.EqualFold(opt, "ec")) && len(val) >= 8:
			add(fmt.Sprintf("encoded command (-%s)", opt))
		case (isPrefixOf(opt, "executionpolicy", 2) || strings.EqualFold(opt, "ep")) && strings.EqualFold(val, "bypass"):
			add(fmt.Sprintf("execution policy bypass (-%s %s)", opt, val))
		}
	}
	for _, m := range optionRE().FindAllStringSubmatch(args, 100) {
		if isPrefixOf(m[1], "noprofile", 3) {
			add(fmt.Sprintf("no profile (-%s)", m[1]))
		}
	}
	if fromBase64RE.MatchString(args) {
		add("FromBase64String")
	}
	if iexRE.MatchString(args) {
		add("IEX (Invoke-Expression)")
	}
	if m := downloadRE.FindString(args); m != "" {
		add(strings.TrimPrefix(m, "."))
	}
	if httpRE.MatchString(args) {
		add("http(s) URL")
	}
	if n := len(caretRE.FindAllStringIndex(args, -1)); n >= 2 {
		add(fmt.Sprintf("caret-split words (%d carets)", n))
	}
	if n := longestSpaceRun(args); n > maxPadding {
		add(fmt.Sprintf("white-space padding (%d characters)", n))
	}
	return out
}

func longestSpaceRun(s string) int {
	best, run := 0, 0
	for _, r := range s {
		if unicode.IsSpace(r) {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}

// Document extensions: a target with one of these is a document shortcut,
// and an icon path with one is a document's icon.
var docExts = map[string]bool{
	".pdf": true, ".doc": true, ".docx": true, ".docm": true, ".xls": true,
	".xlsx": true, ".xlsm": true, ".ppt": true, ".pptx": true, ".rtf": true,
	".txt": true, ".jpg": true, ".jpeg": true, ".png": true,
}

// docIconBinaries are executables whose icons are documents' icons.
var docIconBinaries = map[string]bool{
	"winword.exe": true, "excel.exe": true, "powerpnt.exe": true,
	"acrord32.exe": true, "acrobat.exe": true, "msedge.exe": true,
	"wordpad.exe": true,
}

func extOf(base string) string {
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		return base[i:]
	}
	return ""
}

// DocumentIcon reports whether an icon source (path, optionally with
// ",index") at index names a document-looking icon, and says why. The
// rule is deliberately small:
//   - any icon of imageres.dll (the shell's document and file-type icons);
//   - shell32.dll icons 0 and 1 (blank and text document);
//   - an icon taken from a document (.pdf, .docx, .xlsx, .txt, …);
//   - an icon taken from an Office or PDF reader executable.
func DocumentIcon(loc string, index int32) (string, bool) {
	loc = strings.TrimSpace(loc)
	if i := strings.LastIndexByte(loc, ','); i >= 0 {
		if n, err := strconv.ParseInt(strings.TrimSpace(loc[i+1:]), 10, 32); err == nil {
			loc, index = loc[:i], int32(n)
		}
	}
	b := baseName(loc)
	switch {
	case b == "":
		return "", false
	case b == "imageres.dll":
		return fmt.Sprintf("imageres.dll icon %d", index), true
	case b == "shell32.dll" && (index == 0 || index == 1):
		return fmt.Sprintf("shell32.dll document icon %d", index), true
	case docExts[extOf(b)]:
		return fmt.Sprintf("icon of document %q", b), true
	case docIconBinaries[b]:
		return fmt.Sprintf("icon of %s", b), true
	}
	return "", false
}

// docLookalike returns the inner document extension of a name like
// "invoice.pdf.lnk", or "".
func docLookalike(name string) string {
	b := strings.TrimSuffix(baseName(name), ".lnk")
	if e := extOf(b); docExts[e] {
		return e
	}
	return ""
}
