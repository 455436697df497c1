// Package iqy parses Excel web query files (.iqy): a short text file whose
// lines are the query type ("WEB"), a version ("1"), the URL Excel fetches,
// optional POST parameters and, in Excel-generated files, key=value options.
//
// An IQY attachment is the first stage of a download chain (catalogue §5):
// opening it makes Excel fetch the URL, whose content can start PowerShell
// through DDE. The parser reports the structure and judges the URLs.
package iqy

import (
	"context"
	"encoding/binary"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/iocs"
)

// Name is the parser's registry name.
const Name = "iqy"

// Bounds on what one IQY file may make the parser keep. Real files are a
// few hundred bytes.
const (
	maxParseBytes  = 1 * parsers.MiB // bytes of the file that are parsed
	maxLines       = 1000            // non-blank lines examined
	maxURLs        = 100             // URLs kept
	maxURLFindings = 20              // iqy.url findings emitted
	maxOptions     = 64              // option lines kept
	maxLineBytes   = 8 * parsers.KiB // a kept line is cut here
)

// Campaign and ATT&CK tags from catalogue §5.
const campaign = "iqy"

// Parser parses IQY files. The zero value is ready to use.
type Parser struct{}

// New returns an IQY parser.
func New() *Parser { return &Parser{} }

// Name implements parsers.Parser.
func (*Parser) Name() string { return Name }

// Match implements parsers.Parser: content detected as IQY, or a text file
// declared .iqy (Excel opens it as a web query by its extension, and the
// first two lines are optional).
func (*Parser) Match(a *parsers.Artifact, _ []byte) bool {
	if a == nil {
		return false
	}
	if a.Type == filetype.IQY {
		return true
	}
	return a.Type == filetype.Text && strings.HasSuffix(strings.ToLower(a.Name), ".iqy")
}

var (
	queryTypeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z]{2,16}$`) })
	versionRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{1,4}$`) })
	urlLineRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)^[a-z][a-z0-9+.-]{1,15}://\S`) })
	optionRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]{0,63})=(.*)$`) })
)

// knownOptions are the option keys Excel writes after the URL. A line right
// after the URL whose key is not one of them is the POST parameter line.
var knownOptions = map[string]bool{
	"selection":                    true,
	"formatting":                   true,
	"preformattedtexttocolumns":    true,
	"consecutivedelimitersasone":   true,
	"singleblocktextimport":        true,
	"disabledaterecognition":       true,
	"disableredirections":          true,
	"refreshonfileopen":            true,
	"fillformulas":                 true,
	"preservecolumninfo":           true,
	"preserveformatting":           true,
	"textfilecolumndatatypes":      true,
	"webconsecutivedelimitersas1":  true,
	"websingleblocktextimport":     true,
	"webdisabledaterecognition":    true,
	"webpreformattedtexttocolumns": true,
	"webformatting":                true,
	"webselectiontype":             true,
	"webtables":                    true,
}

// Query is what an IQY file says.
type Query struct {
	QueryType string
	Version   string
	URLs      []string
	PostData  string
	Options   map[string]string
	// Oddities are structural deviations, in file order.
	Oddities []string
}

// Parse implements parsers.Parser.
func (*Parser) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("iqy: %w: %v", parsers.ErrDeadline, err)
	}
	data := in.Data
	var oddities []string
	if len(data) > maxParseBytes {
		data = data[:maxParseBytes]
		oddities = append(oddities, fmt.Sprintf("file of %d bytes; only the first %d parsed", len(in.Data), maxParseBytes))
	}
	q := ParseText(Decode(data))
	q.Oddities = append(oddities, q.Oddities...)

	out.Meta("urls", q.URLs)
	if q.QueryType != "" {
		out.Meta("query_type", q.QueryType)
	}
	if q.Version != "" {
		out.Meta("version", q.Version)
	}
	if q.PostData != "" {
		out.Meta("post_data", q.PostData)
	}
	if len(q.Options) > 0 {
		out.Meta("options", q.Options)
	}

	detail := "Excel web query (IQY) file: opening it makes Excel fetch remote content"
	if len(q.URLs) > 0 {
		detail += fmt.Sprintf(" from %q", q.URLs[0])
		if len(q.URLs) > 1 {
			detail += fmt.Sprintf(" and %d more URL(s)", len(q.URLs)-1)
		}
	}
	out.Finding(parsers.Finding{
		Code:     "iqy.file",
		Severity: parsers.Medium,
		Detail:   detail,
		Campaign: campaign,
		Attack:   []string{"T1566.001", "T1204.002"},
	})

	flagged := 0
	for _, u := range q.URLs {
		out.URL(u)
		if iocs.Host(u) == "" {
			q.Oddities = append(q.Oddities, fmt.Sprintf("URL %q has no host", u))
		}
		reasons := URLReasons(u)
		if len(reasons) == 0 || flagged >= maxURLFindings {
			continue
		}
		flagged++
		out.Finding(parsers.Finding{
			Code:     "iqy.url",
			Severity: parsers.High,
			Detail:   fmt.Sprintf("web query URL %q: %s", u, strings.Join(reasons, "; ")),
			Campaign: campaign,
			Attack:   []string{"T1105"},
		})
	}

	var err error
	if len(q.URLs) == 0 {
		q.Oddities = append(q.Oddities, "no URL line")
		err = fmt.Errorf("iqy: %w: no URL line", parsers.ErrMalformed)
	}
	if len(q.Oddities) > 0 {
		out.Finding(parsers.Finding{
			Code:     "iqy.malformed",
			Severity: parsers.Low,
			Detail:   "unusual IQY structure: " + strings.Join(q.Oddities, "; "),
			Campaign: campaign,
		})
	}
	return err
}

// Decode returns the text of an IQY file: UTF-16 (with a byte order mark,
// or UTF-16LE without one) is converted, a UTF-8 byte order mark dropped.
func Decode(b []byte) string {
	switch {
	case len(b) >= 2 && b[0] == 0xff && b[1] == 0xfe:
		return fromUTF16(b[2:], binary.LittleEndian)
	case len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff:
		return fromUTF16(b[2:], binary.BigEndian)
	case filetype.LooksUTF16LE(b):
		return fromUTF16(b, binary.LittleEndian)
	}
	s := string(b)
	return strings.TrimPrefix(s, "\ufeff")
}

func fromUTF16(b []byte, order binary.ByteOrder) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, order.Uint16(b[i:]))
	}
	return string(utf16.Decode(u))
}

// ParseText reads the lines of an IQY file. The layout (Microsoft KB
// Q157482) is: query type, version, URL, optional POST parameters; the
// first two lines may be omitted, and Excel-generated files add key=value
// option lines. Leading blank lines and CRLF endings are accepted.
func ParseText(s string) Query {
	q := Query{}
	raw := strings.Split(s, "\n")
	lines := make([]string, 0, min(len(raw), maxLines))
	nonBlank := 0
	for _, l := range raw {
		l = strings.TrimSpace(l)
		if l != "" {
			nonBlank++
			if nonBlank > maxLines {
				q.Oddities = append(q.Oddities, fmt.Sprintf("more than %d lines; the rest ignored", maxLines))
				break
			}
		}
		lines = append(lines, l)
	}
	i := 0
	skipBlank := func() {
		for i < len(lines) && lines[i] == "" {
			i++
		}
	}
	skipBlank()
	// Query type and version.
	if i < len(lines) && queryTypeRE().MatchString(lines[i]) {
		q.QueryType = lines[i]
		if !strings.EqualFold(q.QueryType, "WEB") {
			q.Oddities = append(q.Oddities, fmt.Sprintf("query type %q (Excel web queries use WEB)", cut(q.QueryType)))
		}
		i++
		skipBlank()
		if i < len(lines) && versionRE().MatchString(lines[i]) {
			q.Version = lines[i]
			i++
			skipBlank()
		} else {
			q.Oddities = append(q.Oddities, "no version line after the query type")
		}
	} else if i < len(lines) && versionRE().MatchString(lines[i]) {
		q.Version = lines[i]
		q.Oddities = append(q.Oddities, "version line without a query type")
		i++
		skipBlank()
	}
	// URL lines, then the positional POST line right after them.
	for i < len(lines) && isURLLine(lines[i]) {
		q.addURL(lines[i])
		i++
	}
	if len(q.URLs) > 0 && i < len(lines) && lines[i] != "" && !isOption(lines[i]) {
		q.PostData = cut(lines[i])
		i++
	}
	// The rest: options, further URLs, anything else is an oddity.
	stray := 0
	for ; i < len(lines); i++ {
		l := lines[i]
		switch {
		case l == "":
		case isURLLine(l):
			q.addURL(l)
		case optionRE().MatchString(l):
			m := optionRE().FindStringSubmatch(l)
			if q.Options == nil {
				q.Options = map[string]string{}
			}
			if len(q.Options) < maxOptions {
				q.Options[m[1]] = cut(m[2])
			}
		default:
			stray++
			if stray == 1 {
				q.Oddities = append(q.Oddities, fmt.Sprintf("unexpected line %q", cut(l)))
			}
		}
	}
	if stray > 1 {
		q.Oddities = append(q.Oddities, fmt.Sprintf("%d unexpected lines in all", stray))
	}
	if len(q.URLs) >= maxURLs {
		q.Oddities = append(q.Oddities, fmt.Sprintf("%d or more URL lines", maxURLs))
	}
	return q
}

func (q *Query) addURL(l string) {
	if len(q.URLs) >= maxURLs {
		return
	}
	q.URLs = append(q.URLs, cut(l))
}

func isURLLine(l string) bool { return urlLineRE().MatchString(l) }

// isOption reports whether l is an option line Excel writes (Selection=…),
// as opposed to a POST parameter line (name=value&…).
func isOption(l string) bool {
	m := optionRE().FindStringSubmatch(l)
	return m != nil && knownOptions[strings.ToLower(m[1])]
}

// cut bounds a kept line without splitting a UTF-8 sequence.
func cut(s string) string {
	if len(s) <= maxLineBytes {
		return s
	}
	n := maxLineBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// fetchExts are path endings of a second-stage payload (catalogue §5 and
// InQuest's IQY hunting notes).
var fetchExts = []string{".exe", ".ps1", ".hta", ".vbs", ".dat", ".zip", ".js", ".dll", ".scr"}

// freeHosts are dynamic DNS and free hosting suffixes: no company serves its
// own web queries from them. A short list on purpose.
var freeHosts = []string{
	"duckdns.org", "ddns.net", "no-ip.org", "no-ip.biz", "no-ip.info", "hopto.org", "zapto.org",
	"sytes.net", "serveftp.com", "myftp.biz", "dynu.net", "dyndns.org", "afraid.org", "mooo.com",
	"ngrok.io", "ngrok-free.app", "trycloudflare.com", "000webhostapp.com", "pastebin.com",
	"transfer.sh", "workers.dev", "glitch.me",
	// Free TLDs once given away by Freenom.
	"tk", "ml", "ga", "cf", "gq",
}

// URLReasons says why a web query URL looks like a payload fetch: a bare IP
// host, a path ending in an executable or archive extension, or a dynamic
// DNS or free hosting domain. It returns nil for an unremarkable URL.
func URLReasons(u string) []string {
	var reasons []string
	host := iocs.Host(u)
	switch {
	case host == "":
	case iocs.IsIP(host):
		reasons = append(reasons, "host is a bare IP address "+host)
	case isNumericHost(host):
		reasons = append(reasons, "host is a numeric IP address "+host)
	default:
		for _, s := range freeHosts {
			if host == s || strings.HasSuffix(host, "."+s) {
				reasons = append(reasons, "host "+host+" is on a dynamic DNS or free hosting domain ("+s+")")
				break
			}
		}
	}
	p := strings.ToLower(urlPath(u))
	for _, e := range fetchExts {
		if strings.HasSuffix(p, e) {
			reasons = append(reasons, "path ends in "+e)
			break
		}
	}
	return reasons
}

// isNumericHost reports a host written as one decimal or hex number
// (http://2130706433/), which browsers and WinINet read as an IPv4 address.
func isNumericHost(h string) bool {
	if strings.HasPrefix(h, "0x") {
		h = h[2:]
		if h == "" {
			return false
		}
		return strings.Trim(h, "0123456789abcdef") == ""
	}
	return h != "" && strings.Trim(h, "0123456789") == ""
}

// urlPath returns the path of a URL as written: after the authority, before
// the query or fragment. It does not use net/url, which rejects the
// ["param"] placeholders IQY files carry.
func urlPath(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return ""
	}
	rest := u[i+3:]
	j := strings.IndexByte(rest, '/')
	if k := strings.IndexAny(rest, "?#"); k >= 0 && (j < 0 || k < j) {
		return ""
	}
	if j < 0 {
		return ""
	}
	p := rest[j:]
	if k := strings.IndexAny(p, "?#"); k >= 0 {
		p = p[:k]
	}
	return p
}
