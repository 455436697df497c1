// Package filetype names an artifact's type from its content, never from
// its file name, as a short lowercase word (eml, zip, lnk, iqy, …).
//
// The only use of a name is to pick a dialect where the content alone
// cannot: a one-line `WScript.Echo("x")` is valid JScript and VBScript.
package filetype

import (
	"bytes"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Types detected. Parsers match on these words.
const (
	EML     = "eml"
	Text    = "text"
	HTML    = "html"
	HTA     = "hta"
	XML     = "xml"
	Zip     = "zip"
	OOXML   = "ooxml"
	JAR     = "jar"
	Gzip    = "gzip"
	Tar     = "tar"
	SevenZ  = "7z"
	RAR     = "rar"
	ISO     = "iso"
	CAB     = "cab"
	OLE     = "ole"
	MSG     = "msg"
	VBA     = "vba"
	RTF     = "rtf"
	PDF     = "pdf"
	IQY     = "iqy"
	SLK     = "slk"
	LNK     = "lnk"
	JS      = "js"
	VBS     = "vbs"
	WSF     = "wsf"
	PS1     = "ps1"
	BAT     = "bat"
	PE      = "pe"
	ELF     = "elf"
	MachO   = "macho"
	Class   = "class"
	Image   = "image"
	MHT     = "mht"
	UUE     = "uue" // text that opens with a uuencode/xxencode "begin" line
	Binary  = "binary"
	Empty   = "empty"
	Unknown = Binary
)

// Scripts are the script types; ScriptTypes is used by rules and findings.
var scriptTypes = map[string]bool{JS: true, VBS: true, WSF: true, PS1: true, BAT: true, HTA: true}

// IsScript reports whether t is a script type.
func IsScript(t string) bool { return scriptTypes[t] }

// IsExecutable reports whether t is a native executable type.
func IsExecutable(t string) bool { return t == PE || t == ELF || t == MachO }

// IsTextual reports whether artifacts of type t are text to search for URLs.
// XML is not: its parts are full of namespace URIs, and the parsers that
// read XML (OOXML relationships, embedded HTML) report the real URLs.
func IsTextual(t string) bool {
	switch t {
	case Text, HTML, HTA, IQY, SLK, JS, VBS, WSF, PS1, BAT, VBA, MHT:
		return true
	}
	return false
}

// uueBeginRE is a uuencode (or xxencode, or uuencode -m) first line.
var uueBeginRE = regexp.MustCompile(`^begin(-base64)? [0-7]{3,4} +[^\s]`)

var lnkHeader = []byte{0x4c, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46}

// Detect returns the type of data. name only breaks ties between script
// dialects that the content cannot tell apart.
func Detect(data []byte, name string) string {
	if len(data) == 0 {
		return Empty
	}
	if t := magic(data); t != "" {
		if t == Zip {
			return zipKind(data)
		}
		if t == OLE {
			return oleKind(data)
		}
		if t == ISO {
			return ISO
		}
		return t
	}
	return textKind(data, name)
}

func magic(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("PK\x03\x04")), bytes.HasPrefix(b, []byte("PK\x05\x06")), bytes.HasPrefix(b, []byte("PK\x07\x08PK")):
		return Zip
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		return Gzip
	case bytes.HasPrefix(b, []byte("7z\xbc\xaf\x27\x1c")):
		return SevenZ
	case bytes.HasPrefix(b, []byte("Rar!\x1a\x07")):
		return RAR
	case bytes.HasPrefix(b, []byte("MSCF\x00\x00\x00\x00")):
		return CAB
	case bytes.HasPrefix(b, []byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}):
		return OLE
	case bytes.HasPrefix(b, lnkHeader):
		return LNK
	case bytes.HasPrefix(b, []byte(`{\rt`)):
		return RTF
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return PDF
	case bytes.HasPrefix(b, []byte("MZ")) && isPE(b):
		return PE
	case bytes.HasPrefix(b, []byte("\x7fELF")):
		return ELF
	case bytes.HasPrefix(b, []byte{0xfe, 0xed, 0xfa, 0xce}), bytes.HasPrefix(b, []byte{0xfe, 0xed, 0xfa, 0xcf}),
		bytes.HasPrefix(b, []byte{0xce, 0xfa, 0xed, 0xfe}), bytes.HasPrefix(b, []byte{0xcf, 0xfa, 0xed, 0xfe}):
		return MachO
	case bytes.HasPrefix(b, []byte{0xca, 0xfe, 0xba, 0xbe}):
		// Mach-O fat binary and Java class share the magic; a class file's
		// next 4 bytes are its version (major >= 45), a fat header's the arch
		// count (small).
		if len(b) >= 8 && int(b[6])<<8|int(b[7]) >= 45 {
			return Class
		}
		return MachO
	case bytes.HasPrefix(b, []byte("\x89PNG")), bytes.HasPrefix(b, []byte("\xff\xd8\xff")), bytes.HasPrefix(b, []byte("GIF8")):
		return Image
	case len(b) >= 0x8006 && string(b[0x8001:0x8006]) == "CD001":
		return ISO
	case len(b) >= 0x9006 && string(b[0x8801:0x8806]) == "CD001":
		return ISO
	case len(b) >= 262 && string(b[257:262]) == "ustar":
		return Tar
	}
	return ""
}

func isPE(b []byte) bool {
	if len(b) < 0x40 {
		return len(b) >= 2 // a truncated MZ is still reported as PE
	}
	off := int(b[0x3c]) | int(b[0x3d])<<8 | int(b[0x3e])<<16 | int(b[0x3f])<<24
	if off < 0 || off+4 > len(b) {
		return true
	}
	return string(b[off:off+4]) == "PE\x00\x00"
}

// zipKind tells plain zip from OOXML and JAR by the member names found in
// local file headers and the central directory.
func zipKind(b []byte) string {
	switch {
	case bytes.Contains(b, []byte("[Content_Types].xml")):
		return OOXML
	case bytes.Contains(b, []byte("META-INF/MANIFEST.MF")) || bytes.Contains(b, []byte(".class")):
		return JAR
	}
	return Zip
}

// oleKind tells an Outlook .msg from other compound files by its
// "__substg1.0_" stream names (UTF-16LE in the directory).
func oleKind(b []byte) string {
	if bytes.Contains(b, utf16("__substg1.0_")) || bytes.Contains(b, utf16("__properties_version1.0")) {
		return MSG
	}
	return OLE
}

func utf16(s string) []byte {
	out := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		out = append(out, s[i], 0)
	}
	return out
}

var (
	headerLineRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,76}:[ \t]?`)
	iqyURLRE     = regexp.MustCompile(`(?i)^(https?|ftp)://\S+`)
	iqyOptionRE  = regexp.MustCompile(`(?i)^(Selection|Formatting|PreFormattedTextToColumns|ConsecutiveDelimitersAsOne|SingleBlockTextImport|DisableDateRecognition|DisableRedirections)=\S*$`)
	batRE        = regexp.MustCompile(`(?im)^\s*(@echo\s+off|rem\s|set\s+\w+=|goto\s+:?\w+|if\s+(not\s+)?exist\s|start\s+""|call\s+:)`)
	ps1RE        = regexp.MustCompile(`(?i)(\$[a-z_][a-z0-9_]*\s*=|write-(output|host)|invoke-(expression|webrequest|restmethod)|\biex\b|new-object\s|\[system\.|-encodedcommand|\[convert\]::|\bparam\s*\(|get-childitem|start-process|set-executionpolicy|add-type\s)`)
	vbsRE        = regexp.MustCompile(`(?im)(^\s*dim\s+\w|^\s*(private\s+|public\s+)?(sub|function)\s+\w+|^\s*end\s+(sub|function|if)\b|^\s*set\s+\w+\s*=|^\s*on\s+error\s+resume\s+next|createobject\s*\(|^\s*'|\bthen\s*$|^\s*msgbox\b|wscript\.echo\s+["\w])`)
	jsRE         = regexp.MustCompile(`(?im)(\bvar\s+\w+\s*=|\b(let|const)\s+\w+\s*=|\bfunction\s*\w*\s*\(|new\s+activexobject\s*\(|\bwscript\.createobject\s*\(|;\s*$|=>|^\s*//|\beval\s*\(|\bthis\.)`)
	wshRE        = regexp.MustCompile(`(?i)\bwscript\.\w+`)
	htmlRE       = regexp.MustCompile(`(?i)<\s*(html|body|head|script|iframe|a\s+href|div|table|meta|form|!doctype\s+html|title|p>|br\s*/?>)`)
	xmlRE        = regexp.MustCompile(`^\s*<\?xml\s`)
)

// textKind classifies text-like content.
func textKind(b []byte, name string) string {
	head := b
	if len(head) > 16*1024 {
		head = head[:16*1024]
	}
	// UTF-16LE text (BOM) is decoded for classification only.
	if bytes.HasPrefix(head, []byte{0xff, 0xfe}) {
		head = fromUTF16LE(head[2:])
	} else if LooksUTF16LE(head) {
		// BOM-less UTF-16LE is recognised only as an IQY (Excel reads it).
		if isIQY(strings.TrimLeft(string(fromUTF16LE(head)), " \t\r\n")) {
			return IQY
		}
	}
	// A message is judged by its header block alone: a NUL or binary junk
	// in a body must not hide the whole message from the MIME parser.
	if hdr := headerBlock(head); len(hdr) > 0 && looksText(hdr) && isEML(string(hdr)) {
		if isMHT(head) {
			return MHT
		}
		return EML
	}
	if !looksText(head) {
		return Binary
	}
	s := strings.TrimPrefix(string(head), "\ufeff")
	trim := strings.TrimLeft(s, " \t\r\n")

	if isIQY(trim) {
		return IQY
	}
	if strings.HasPrefix(trim, "ID;P") {
		return SLK
	}
	if uueBeginRE.MatchString(trim) {
		// Encoded file text: its alphabet would otherwise pass for a
		// script or HTML, and script rules would read its noise.
		return UUE
	}
	if isEML(s) {
		if isMHT(bytes.TrimPrefix(head, []byte("\ufeff"))) {
			return MHT
		}
		return EML
	}
	lower := strings.ToLower(trim)
	if xmlRE.MatchString(trim) {
		if strings.Contains(lower, "<package") || strings.Contains(lower, "<job") {
			return WSF
		}
		if strings.Contains(lower, "<html") {
			return HTML
		}
		return XML
	}
	if strings.Contains(lower, "<hta:application") {
		return HTA
	}
	if (strings.HasPrefix(lower, "<job") || strings.HasPrefix(lower, "<package")) && strings.Contains(lower, "<script") {
		return WSF
	}
	if htmlRE.MatchString(trim) && strings.HasPrefix(trim, "<") {
		return HTML
	}
	if htmlRE.MatchString(trim) && strings.Count(lower, "<") > 3 && (strings.Contains(lower, "</") || strings.Contains(lower, "<script")) {
		return HTML
	}
	if !codeLike(lower) {
		// Prose: none of the tokens every script dialect needs. Skipping
		// the dialect expressions keeps detection cheap on mail bodies.
		return Text
	}
	if bt := batRE.FindAllStringIndex(s, 8); len(bt) >= 2 || strings.HasPrefix(strings.ToLower(trim), "@echo off") {
		return BAT
	}
	ps := len(ps1RE.FindAllStringIndex(s, 16))
	vb := len(vbsRE.FindAllStringIndex(s, 16))
	js := len(jsRE.FindAllStringIndex(s, 16))
	wsh := wshRE.MatchString(s)
	switch {
	case ps >= 2 && ps >= vb && ps >= js:
		return PS1
	case vb == 0 && js == 0 && wsh:
		return dialectByName(name)
	case vb > js && vb >= 1:
		return VBS
	case js > vb && js >= 2:
		return JS
	case js == vb && js >= 1 && wsh:
		return dialectByName(name)
	case ps >= 1 && strings.Contains(strings.ToLower(s), "powershell"):
		return PS1
	}
	return Text
}

// codeTokens are substrings (lowercase) of which any script has at least
// one: assignment, statement ends, blocks, variables, WSH objects, batch
// keywords.
var codeTokens = []string{"=", ";", "{", "$", "wscript", "createobject", "msgbox", "@echo", "goto", "rem ", "call ", "echo ", "dim ", "sub ", "function", "powershell", "invoke-", "write-", "iex"}

func codeLike(lower string) bool {
	for _, t := range codeTokens {
		if strings.Contains(lower, t) {
			return true
		}
	}
	return false
}

// dialectByName picks JScript or VBScript for content valid in both.
func dialectByName(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".vbs"), strings.HasSuffix(n, ".vbe"):
		return VBS
	case strings.HasSuffix(n, ".wsf"):
		return WSF
	}
	return JS
}

func isIQY(s string) bool {
	lines := strings.SplitN(s, "\n", 5)
	var ls []string
	for _, l := range lines {
		ls = append(ls, strings.TrimSpace(l))
	}
	if len(ls) >= 3 && strings.EqualFold(ls[0], "WEB") && ls[1] == "1" && iqyURLRE.MatchString(ls[2]) {
		return true
	}
	// Lines 1-2 may be omitted. A URL alone is too ambiguous, but a URL
	// followed only by Excel's option lines (and at most one POST line) is
	// an Excel-generated query.
	if len(ls) == 0 || !iqyURLRE.MatchString(ls[0]) {
		return false
	}
	rest := strings.SplitN(s, "\n", 17)
	if len(rest) > 16 {
		return false
	}
	opts, other := 0, 0
	for _, l := range rest[1:] {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
		case iqyOptionRE.MatchString(l):
			opts++
		default:
			other++
		}
	}
	return opts > 0 && other <= 1
}

// LooksUTF16LE reports whether b starts like BOM-less UTF-16LE ASCII text:
// its first few odd bytes are zero and its even bytes are not. Detect reads
// such text only as IQY; the IQY parser decodes by the same test.
func LooksUTF16LE(b []byte) bool {
	n := min(len(b), 16) &^ 1
	if n < 6 {
		return false
	}
	for i := 0; i < n; i += 2 {
		if b[i] == 0 || b[i+1] != 0 {
			return false
		}
	}
	return true
}

// headerBlock returns the bytes up to the first empty line (or all of b).
func headerBlock(b []byte) []byte {
	for _, sep := range [][]byte{[]byte("\r\n\r\n"), []byte("\n\n")} {
		if i := bytes.Index(b, sep); i >= 0 {
			return b[:i+len(sep)]
		}
	}
	return b
}

func isEML(s string) bool {
	lines := strings.SplitN(s, "\n", 40)
	hdr, known, junk := 0, 0, 0
	for i, l := range lines {
		l = strings.TrimRight(l, "\r")
		if l == "" {
			break
		}
		if (l[0] == ' ' || l[0] == '\t') && i > 0 {
			continue
		}
		if strings.HasPrefix(l, "From ") && i == 0 {
			continue // mbox separator
		}
		if !headerLineRE.MatchString(l) {
			// A stray line among fields (an evasion: go-message and some
			// clients reject it) does not make a message plain text; a
			// first line that is not a field does.
			if hdr == 0 || junk >= 2 {
				return false
			}
			junk++
			continue
		}
		hdr++
		switch strings.ToLower(l[:strings.IndexByte(l, ':')]) {
		case "from", "to", "subject", "date", "message-id", "received", "mime-version", "return-path", "content-type", "delivered-to", "x-mailer", "reply-to", "cc":
			known++
		}
	}
	return hdr >= 2 && known >= 2 && (junk == 0 || known >= 3)
}

// isMHT reports whether the first 4096 bytes of b lowercased (as
// strings.ToLower lowercases) look like a saved web page.
func isMHT(b []byte) bool {
	var buf [4096 + utf8.UTFMax]byte
	l := lowerPrefix(buf[:0], b, 4096)
	return bytes.Contains(l, []byte("multipart/related")) && !bytes.Contains(l, []byte("\nsubject:")) &&
		!bytes.Contains(l, []byte("\nmessage-id:")) && bytes.Contains(l, []byte("mime-version"))
}

// lowerPrefix appends the first n bytes of strings.ToLower(string(b)) to
// dst, lowercasing only as much of b as they need.
func lowerPrefix(dst, b []byte, n int) []byte {
	start := len(dst)
	for len(b) > 0 && len(dst)-start < n {
		if c := b[0]; c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			b = b[1:]
			continue
		}
		// strings.ToLower maps rune by rune; invalid bytes become U+FFFD.
		r, size := utf8.DecodeRune(b)
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
		b = b[size:]
	}
	if len(dst)-start > n {
		dst = dst[:start+n]
	}
	return dst
}

func looksText(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	ctrl := 0
	for _, c := range b {
		if c == 0 {
			return false
		}
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != 0x0c && c != 0x1b {
			ctrl++
		}
	}
	if ctrl*100 > len(b) {
		return false
	}
	// Non-UTF-8 text (Shift_JIS, Latin-1) is still text; reject only when
	// mostly high bytes that are not valid UTF-8 and there are no line breaks.
	if !utf8.Valid(b) && bytes.IndexByte(b, '\n') < 0 && len(b) > 512 {
		return false
	}
	return true
}

func fromUTF16LE(b []byte) []byte {
	out := make([]byte, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		if b[i+1] != 0 {
			r := rune(b[i]) | rune(b[i+1])<<8
			out = utf8.AppendRune(out, r)
			continue
		}
		out = append(out, b[i])
	}
	return out
}
