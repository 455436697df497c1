package html

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"triage/parsers"
	"triage/parsers/filetype"
)

// Bounds on embedded payloads.
const (
	minLiteral   = 100       // base64 characters of a script literal worth decoding
	maxLiterals  = 64        // literals examined per script
	maxGlue      = 80        // bytes of concatenation code between two pieces
	headChars    = 48 * 1024 // base64 characters decoded to sniff a payload's type
	maxNameBytes = 200
)

// payloadTypes are the detected types of a decoded payload worth handing
// on: archives, executables, Office and other containers.
var payloadTypes = map[string]bool{
	filetype.Zip: true, filetype.OOXML: true, filetype.JAR: true, filetype.Gzip: true,
	filetype.SevenZ: true, filetype.RAR: true, filetype.ISO: true, filetype.CAB: true,
	filetype.OLE: true, filetype.MSG: true, filetype.RTF: true, filetype.LNK: true,
	filetype.PE: true, filetype.ELF: true, filetype.MachO: true, filetype.Class: true,
	filetype.HTA: true, filetype.WSF: true,
}

// payloadMIMEs are data: URI media types that carry files, not page
// resources.
var payloadMIMEs = map[string]bool{
	"application/zip": true, "application/x-zip-compressed": true, "application/x-zip": true,
	"application/octet-stream": true, "application/x-msdownload": true, "application/x-msdos-program": true,
	"application/x-dosexec": true, "application/x-executable": true, "application/vnd.microsoft.portable-executable": true,
	"application/x-7z-compressed": true, "application/x-rar-compressed": true, "application/vnd.rar": true,
	"application/x-rar": true, "application/java-archive": true, "application/x-java-archive": true,
	"application/x-iso9660-image": true, "application/x-cd-image": true, "application/vnd.ms-cab-compressed": true,
	"application/hta": true, "application/x-ms-shortcut": true, "application/msword": true,
	"application/x-ole-storage": true, "application/gzip": true, "application/x-gzip": true,
	"application/x-msi": true, "application/x-ms-installer": true, "application/rtf": true,
	"application/x-javascript": true, "application/javascript": true, "text/javascript": true,
	"application/x-vbscript": true, "text/vbscript": true,
}

func isPayloadMIME(m string) bool {
	return payloadMIMEs[m] || strings.HasPrefix(m, "application/vnd.ms-") ||
		strings.HasPrefix(m, "application/vnd.openxmlformats-officedocument.")
}

func isDataURI(v string) bool { return len(v) >= 5 && strings.EqualFold(v[:5], "data:") }

// splitDataURI splits data:[mime][;params][;base64],payload.
func splitDataURI(v string) (mime string, isB64 bool, payload string, ok bool) {
	header, payload, ok := strings.Cut(v[5:], ",")
	if !ok {
		return "", false, "", false
	}
	parts := strings.Split(header, ";")
	mime = strings.ToLower(strings.TrimSpace(parts[0]))
	for _, p := range parts[1:] {
		if strings.EqualFold(strings.TrimSpace(p), "base64") {
			isB64 = true
		}
	}
	return mime, isB64, payload, true
}

// dataURI decodes a data: URI and hands it on when it carries a file.
func (d *doc) dataURI(v, name string) {
	if d.dataURIs >= maxDataURIs {
		return
	}
	d.dataURIs++
	mime, isB64, payload, ok := splitDataURI(v)
	if !ok {
		return
	}
	if !isB64 {
		if p, err := url.PathUnescape(payload); err == nil {
			payload = p
		}
	}
	// The type is sniffed from the first bytes only: most data: URIs are
	// inline images, not worth a copy of their whole payload.
	var head []byte
	if isB64 {
		payload = cleanBase64(payload)
		head = decodeHead(payload)
	} else {
		head = []byte(payload[:min(len(payload), headChars)])
	}
	typ := filetype.Detect(head, name)
	if !isPayloadMIME(mime) && !payloadTypes[typ] {
		return
	}
	data, cut := d.decode(payload, isB64)
	if len(data) == 0 {
		return
	}
	typ = filetype.Detect(data, name)
	if name = cleanName(name); name == "" {
		name = "data_uri.bin"
	}
	if d.emit(name, data, cut) {
		if mime == "" {
			mime = "no media type"
		}
		d.dataPay = append(d.dataPay, fmt.Sprintf("data: URI (%s) holds %s of %d bytes, emitted as %s", quote(mime), typ, len(data), quote(name)))
	}
}

// decode decodes a payload under the budget.
func (d *doc) decode(payload string, isB64 bool) ([]byte, error) {
	if !isB64 {
		return d.budget.ReadAll(strings.NewReader(payload), 0)
	}
	return d.budget.ReadAll(base64.NewDecoder(base64.RawStdEncoding, strings.NewReader(payload)), 0)
}

// cleanBase64 drops whitespace and padding and a final lone character, so
// the raw decoder accepts what browsers accept.
func cleanBase64(s string) string {
	if strings.ContainsAny(s, " \t\r\n") {
		s = strings.Join(strings.Fields(s), "")
	}
	s = strings.TrimRight(s, "=")
	if i := strings.IndexByte(s, '='); i >= 0 {
		s = s[:i]
	}
	if len(s)%4 == 1 {
		s = s[:len(s)-1]
	}
	return s
}

// decodeHead decodes the first headChars characters of clean base64.
func decodeHead(s string) []byte {
	if len(s) > headChars {
		s = s[:headChars]
	}
	dst := make([]byte, base64.RawStdEncoding.DecodedLen(len(s)))
	n, _ := base64.RawStdEncoding.Decode(dst, []byte(s))
	return dst[:n]
}

// cleanName keeps a file name readable: one line, bounded.
func cleanName(n string) string {
	n = strings.TrimSpace(n)
	if i := strings.IndexAny(n, "\r\n"); i >= 0 {
		n = n[:i]
	}
	if len(n) > maxNameBytes {
		n = n[:maxNameBytes]
	}
	return n
}

// dlNamePattern finds a download name after the literal prefilter pre.
type dlNamePattern struct {
	pre string
	re  *regexp.Regexp
}

// The script patterns run only when a literal prefilter hits, and those
// without a case-sensitive literal run on an ASCII-lowercased copy (same
// offsets) so that the regexp engine can skip ahead on their prefix.
var (
	atobRE      = regexp.MustCompile(`\batob\s*\(`)
	uint8RE     = regexp.MustCompile(`\bUint8Array\b`)
	blobRE      = regexp.MustCompile(`\bnew\s+Blob\s*\(`)
	msSaveRE    = regexp.MustCompile(`\bmsSave(?:OrOpen)?Blob\s*\(`)
	objectURLRE = regexp.MustCompile(`\bcreateObjectURL\s*\(`)
	downloadRE  = regexp.MustCompile(`\.download\s*=|setattribute\s*\(\s*["']download["']`)
	clickRE     = regexp.MustCompile(`\.click\s*\(\s*\)|\bdispatchEvent\s*\(`)
	dataInJSRE  = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`data:[a-z0-9.+-]*(?:/[a-z0-9.+-]+)?(?:;[a-z0-9=._-]+)*,[a-z0-9+/=%._-]+`)
	})
	// dlNameREs find the name a script saves under (lowercased text; the
	// name is read from the original at the same offsets). Their counted
	// repetitions make them costly to compile: they are compiled on first
	// use, not at start-up.
	dlNameREs = sync.OnceValue(func() []dlNamePattern {
		return []dlNamePattern{
			{".download", regexp.MustCompile(`\.download\s*=\s*["'\x60]([^"'\x60\r\n]{1,200})["'\x60]`)},
			{"setattribute", regexp.MustCompile(`setattribute\s*\(\s*["']download["']\s*,\s*["']([^"'\r\n]{1,200})["']`)},
			{"mssave", regexp.MustCompile(`mssave(?:oropen)?blob\s*\([^,;]{1,300},\s*["']([^"'\r\n]{1,200})["']`)},
			{"new file", regexp.MustCompile(`new\s+file\s*\(\s*\[[^\]]{0,300}\]\s*,\s*["']([^"'\r\n]{1,200})["']`)},
		}
	})
	// payloadExts are file extensions of a name worth saving.
	payloadExts = []string{".zip", ".rar", ".7z", ".iso", ".img", ".vhd", ".exe", ".scr", ".msi", ".js", ".jse",
		".vbs", ".vbe", ".wsf", ".hta", ".lnk", ".jar", ".doc", ".docx", ".docm", ".xls", ".xlsx", ".xlsm", ".xlsb",
		".ppt", ".pptx", ".pptm", ".one", ".cab", ".gz"}
)

// analyseScripts looks for HTML smuggling in each script: a Blob built from
// base64, a save primitive, base64 literals that decode to files, data:
// URIs in code.
func (d *doc) analyseScripts() error {
	seen := map[string]bool{}
	for _, s := range d.scripts {
		if err := d.budget.Err(); err != nil {
			return fmt.Errorf("html: %w", err)
		}
		low := parsers.ASCIILower(s)
		lits := literals(s)
		for _, r := range smugglingReasons(s, low, lits) {
			if !seen[r] {
				seen[r] = true
				d.smuggling = append(d.smuggling, r)
			}
		}
		name := downloadName(s, low)
		if name == "" {
			name = d.download
		}
		for _, lit := range lits {
			d.literal(lit, name)
		}
		if strings.Contains(low, "data:") {
			for _, m := range dataInJSRE().FindAllStringIndex(low, maxDataURIs) {
				d.dataURI(s[m[0]:m[1]], name)
			}
		}
	}
	return nil
}

// smugglingReasons names the smuggling primitives a script uses.
func smugglingReasons(s, low string, lits []string) []string {
	has := func(pre string, re *regexp.Regexp, text string) bool {
		return strings.Contains(text, pre) && re.MatchString(text)
	}
	var r []string
	atob := has("atob", atobRE, s)
	blob := has("Blob", blobRE, s)
	if atob && has("Uint8Array", uint8RE, s) {
		r = append(r, "atob() into a Uint8Array")
	} else if atob && blob {
		r = append(r, "atob() into a Blob")
	}
	if blob && len(lits) > 0 {
		r = append(r, fmt.Sprintf("Blob beside a %d-character base64 literal", len(lits[0])))
	}
	if strings.Contains(s, "msSave") {
		if m := msSaveRE.FindString(s); m != "" {
			r = append(r, strings.TrimRight(m, " \t(")+"()")
		}
	}
	if has("createObjectURL", objectURLRE, s) && (has("download", downloadRE, low) || has("click", clickRE, s) || has("dispatchEvent", clickRE, s)) {
		r = append(r, "createObjectURL() with a download link or click")
	}
	return r
}

// downloadName returns the file name a script saves under, if written.
func downloadName(s, low string) string {
	for _, p := range dlNameREs() {
		if !strings.Contains(low, p.pre) {
			continue
		}
		if m := p.re.FindStringSubmatchIndex(low); m != nil {
			return cleanName(s[m[2]:m[3]])
		}
	}
	return fileNameLiteral(s, low)
}

// fileNameLiteral returns the first short string literal that names a
// file with a payload extension ("invoice.zip").
func fileNameLiteral(s, low string) string {
	i := strings.IndexAny(s, "\"'`")
	for i >= 0 && i < len(s) {
		q := s[i]
		j := i + 1
		for j < len(s) && j-i <= 101 && strings.IndexByte("\"'`\\/\r\n<>", s[j]) < 0 {
			j++
		}
		if j >= len(s) {
			return ""
		}
		if s[j] == q && j-i > 1 && j-i <= 101 {
			for _, ext := range payloadExts {
				if strings.HasSuffix(low[i+1:j], ext) && j-i-1 > len(ext) {
					return cleanName(s[i+1 : j])
				}
			}
		}
		k := strings.IndexAny(s[j:], "\"'`")
		if k < 0 {
			return ""
		}
		i = j + k
	}
	return ""
}

// literal decodes a base64 literal and hands it on when it is a file.
func (d *doc) literal(lit, name string) {
	if d.nPayloads >= maxPayloads || d.childErr != nil {
		return
	}
	b64 := cleanBase64(lit)
	head := decodeHead(b64)
	typ := filetype.Detect(head, name)
	if !payloadTypes[typ] && !(name != "" && filetype.IsScript(typ)) {
		return
	}
	data, cut := d.decode(b64, true)
	if len(data) == 0 {
		return
	}
	typ = filetype.Detect(data, name)
	if name == "" {
		name = "smuggled.bin"
	}
	if d.emit(name, data, cut) {
		d.smuggled = append(d.smuggled, fmt.Sprintf("script base64 literal decodes to %s of %d bytes, emitted as %s", typ, len(data), quote(name)))
	}
}

// literals returns the base64 string literals of a script of at least
// minLiteral characters, joining pieces concatenated with + or listed in
// an array ("UEsD" + "BBQ…", ["UEsD", "BBQ…"].join("")).
func literals(s string) []string {
	var out []string
	i := 0
	for i < len(s) && len(out) < maxLiterals {
		q := s[i]
		if q != '"' && q != '\'' && q != '`' {
			i++
			continue
		}
		end, ok := piece(s, i)
		if !ok {
			i++
			continue
		}
		var b strings.Builder
		b.WriteString(s[i+1 : end])
		i = end + 1
		for {
			k, ok := glue(s, i)
			if !ok {
				break
			}
			e, ok := piece(s, k)
			if !ok {
				break
			}
			b.WriteString(s[k+1 : e])
			i = e + 1
		}
		if b.Len() >= minLiteral {
			out = append(out, b.String())
		}
	}
	return out
}

// piece reads a quoted run of base64 characters starting at the quote at
// i and returns the index of its closing quote.
func piece(s string, i int) (int, bool) {
	q := s[i]
	j := i + 1
	for j < len(s) && parsers.IsBase64Byte(s[j]) {
		j++
	}
	if j == i+1 || j >= len(s) || s[j] != q {
		return 0, false
	}
	return j, true
}

// glue skips concatenation code after a closing quote (spaces, + or a
// comma) and returns the index of the next opening quote.
func glue(s string, i int) (int, bool) {
	op := false
	for k := i; k < len(s) && k-i <= maxGlue; k++ {
		switch c := s[k]; c {
		case ' ', '\t', '\r', '\n':
		case '+', ',':
			op = true
		case '"', '\'', '`':
			return k, op
		default:
			return 0, false
		}
	}
	return 0, false
}
