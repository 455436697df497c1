package html

import (
	"net/url"
	"regexp"
	"strings"
	"sync"

	"triage/parsers"
	"triage/parsers/iocs"
)

// absoluteSchemes are the URL schemes reported as URLs.
var absoluteSchemes = map[string]bool{"http": true, "https": true, "ftp": true, "file": true, "smb": true}

// isAbsolute reports a URL with a reported scheme and a host.
func isAbsolute(u string) bool {
	i := strings.Index(u, "://")
	if i <= 0 || i > 10 {
		return false
	}
	return absoluteSchemes[strings.ToLower(u[:i])] && iocs.Host(u) != ""
}

// linkHost returns the host an href leads to, or "" for relative links and
// schemes without one (mailto:, tel:, javascript:).
func linkHost(href string) string {
	i := strings.Index(href, "://")
	if i <= 0 || i > 10 {
		return ""
	}
	switch strings.ToLower(href[:i]) {
	case "http", "https", "ftp":
		return iocs.Host(href)
	}
	return ""
}

// hostTextRE matches link text that is a host name or URL on its own.
var hostTextRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)^(?:[a-z][a-z0-9+.-]{0,9}://)?((?:[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\.)+[a-z]{2,24})(?::\d{1,5})?(?:[/?#]\S*)?$`)
})

// fileExts are "TLDs" that are file extensions in link text (invoice.pdf).
var fileExts = map[string]bool{
	"html": true, "htm": true, "php": true, "asp": true, "aspx": true, "jsp": true,
	"pdf": true, "doc": true, "docx": true, "docm": true, "xls": true, "xlsx": true, "xlsm": true,
	"ppt": true, "pptx": true, "zip": true, "rar": true, "exe": true, "jpg": true, "jpeg": true,
	"png": true, "gif": true, "txt": true, "js": true, "css": true, "csv": true, "xml": true,
	"json": true, "msg": true, "eml": true, "iso": true, "img": true, "lnk": true, "vbs": true,
}

// shownHost returns the host the visible text of a link shows: a URL in
// the text, or text that is itself a host name ("www.mybank.example").
func shownHost(text string) string {
	t := strings.Join(strings.Fields(text), " ")
	if t == "" {
		return ""
	}
	if us := iocs.URLs(t); len(us) > 0 {
		if strings.HasPrefix(strings.ToLower(us[0]), "hxxp") {
			return "" // defanged on purpose: a warning, not a lure
		}
		return iocs.Host(us[0])
	}
	if strings.ContainsRune(t, ' ') {
		return ""
	}
	t = strings.TrimRight(t, ".,;:!?)")
	m := hostTextRE().FindStringSubmatch(t)
	if m == nil {
		return ""
	}
	host := strings.ToLower(m[1])
	if fileExts[host[strings.LastIndexByte(host, '.')+1:]] {
		return ""
	}
	return host
}

// secondLevels are the second-level labels under which a country code
// registers names (example.co.jp, example.com.au, example.co.uk).
var secondLevels = map[string]bool{
	"co": true, "ne": true, "or": true, "ac": true, "go": true, "ad": true, "ed": true, "gr": true, "lg": true,
	"com": true, "net": true, "org": true, "edu": true, "gov": true, "mil": true, "ltd": true, "plc": true,
	"sch": true, "nhs": true, "gob": true, "nic": true, "biz": true, "info": true,
}

// site approximates the registrable domain of a host: its last two labels,
// or three under a country-code second level.
func site(host string) string {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if iocs.IsIP(h) {
		return h
	}
	labels := strings.Split(h, ".")
	n := 2
	if len(labels) >= 3 && len(labels[len(labels)-1]) == 2 && secondLevels[labels[len(labels)-2]] {
		n = 3
	}
	if len(labels) <= n {
		return h
	}
	return strings.Join(labels[len(labels)-n:], ".")
}

// refreshURL reads the URL of a meta refresh content ("5; url=…").
func refreshURL(content string) string {
	_, rest, ok := strings.Cut(content, ";")
	if !ok {
		_, rest, ok = strings.Cut(content, ",")
		if !ok {
			return ""
		}
	}
	rest = strings.TrimSpace(rest)
	if len(rest) >= 3 && strings.EqualFold(rest[:3], "url") {
		r := strings.TrimSpace(rest[3:])
		if strings.HasPrefix(r, "=") {
			rest = strings.TrimSpace(r[1:])
		}
	}
	return strings.TrimSpace(strings.Trim(rest, `"'`))
}

// hiddenFrame reports an iframe sized 0/1 pixel or styled invisible.
func hiddenFrame(attrs []attr) bool {
	if _, ok := get(attrs, "hidden"); ok {
		return true
	}
	for _, k := range []string{"width", "height"} {
		v, _ := get(attrs, k)
		switch strings.TrimSuffix(strings.TrimSpace(strings.ToLower(v)), "px") {
		case "0", "1":
			return true
		}
	}
	style, _ := get(attrs, "style")
	style = strings.ToLower(strings.Join(strings.Fields(style), ""))
	return strings.Contains(style, "display:none") || strings.Contains(style, "visibility:hidden") ||
		strings.Contains(style, "width:0") || strings.Contains(style, "height:0")
}

// postWords name script code that sends data somewhere.
var postWords = []string{"xmlhttprequest", "fetch(", "$.ajax", "$.post", ".submit(", "sendbeacon"}

// scriptPostURL returns the first absolute URL in a script that sends data.
func scriptPostURL(scripts []string) string {
	for _, s := range scripts {
		low := parsers.ASCIILower(s)
		sends := false
		for _, w := range postWords {
			sends = sends || strings.Contains(low, w)
		}
		if !sends {
			continue
		}
		for _, u := range iocs.URLs(s) {
			if linkHost(u) != "" {
				return u
			}
		}
	}
	return ""
}

// carriesHost reports whether href passes a full URL on host as a query
// parameter value, plain or percent-encoded (up to twice), as a click
// tracker or redirector does with its destination. A host merely named in
// the path or query ("evil.invalid/paypal.com/login") does not count.
func carriesHost(href, host string) bool {
	i := strings.Index(href, "://")
	if i < 0 {
		return false
	}
	rest := href[i+3:]
	j := strings.IndexAny(rest, "/?#")
	if j < 0 {
		return false
	}
	rest = strings.ToLower(rest[j:])
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return false
	}
	for k := 0; k < 3; k++ {
		if strings.Contains(rest, "=http://"+host) || strings.Contains(rest, "=https://"+host) {
			return true
		}
		dec, err := url.QueryUnescape(rest)
		if err != nil || dec == rest {
			return false
		}
		rest = dec
	}
	return false
}
