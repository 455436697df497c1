// Package iocs finds URLs, domains and IP addresses in text. URLs are kept
// exactly as written; domains and IPs are derived from them and from bare
// addresses in the text.
package iocs

import (
	"net"
	"net/url"
	"regexp"
	"strings"
)

// urlRE matches URLs with the schemes malspam uses. It stops at whitespace,
// quotes and angle brackets, which end a URL in text, HTML and code.
var urlRE = regexp.MustCompile(`(?i)\b(?:https?|ftp|hxxps?|file|smb)://[^\s"'<>\x60\\^{}|\x00-\x1f\x7f]+`)

var ipRE = regexp.MustCompile(`\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b`)

// MaxURLs bounds the URLs returned for one text.
const MaxURLs = 1000

// URLs returns the URLs in s, in order of appearance, deduplicated, with
// trailing punctuation that ends a sentence or a code expression removed.
func URLs(s string) []string {
	raw := urlRE.FindAllString(s, MaxURLs)
	seen := make(map[string]bool, len(raw))
	var out []string
	for _, u := range raw {
		u = TrimURL(u)
		if u == "" || seen[u] {
			continue
		}
		if h := Host(u); h == "" {
			continue
		}
		seen[u] = true
		out = append(out, u)
	}
	return out
}

// TrimURL removes punctuation that ends a sentence or code around a URL:
// trailing dots, commas, semicolons, closing brackets without an opener.
func TrimURL(u string) string {
	for len(u) > 0 {
		c := u[len(u)-1]
		switch c {
		case '.', ',', ';', ':', '!', '?', ')', ']', '\'', '"', '*':
			if c == ')' && strings.Count(u, "(") >= strings.Count(u, ")") {
				return u
			}
			if c == ']' && strings.Count(u, "[") >= strings.Count(u, "]") {
				return u
			}
			u = u[:len(u)-1]
			continue
		}
		return u
	}
	return u
}

// Host returns the lowercase host of a URL (without port), or "".
// Defanged schemes (hxxp) are read as http.
func Host(raw string) string {
	s := raw
	if i := strings.Index(s, "://"); i > 0 {
		scheme := strings.ToLower(s[:i])
		if strings.HasPrefix(scheme, "hxxp") {
			s = "http" + s[4:]
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		// Fall back to a manual split for URLs net/url rejects.
		i := strings.Index(s, "://")
		if i < 0 {
			return ""
		}
		h := s[i+3:]
		if j := strings.IndexAny(h, "/?#"); j >= 0 {
			h = h[:j]
		}
		if j := strings.LastIndex(h, "@"); j >= 0 {
			h = h[j+1:]
		}
		if hh, _, err := net.SplitHostPort(h); err == nil {
			h = hh
		}
		return strings.ToLower(strings.Trim(h, "[]"))
	}
	return strings.ToLower(u.Hostname())
}

// IsIP reports whether host is a literal IPv4 or IPv6 address.
func IsIP(host string) bool { return net.ParseIP(host) != nil }

// IPs returns the IPv4 addresses written in s, deduplicated.
func IPs(s string) []string {
	raw := ipRE.FindAllString(s, MaxURLs)
	seen := map[string]bool{}
	var out []string
	for _, ip := range raw {
		if !seen[ip] {
			seen[ip] = true
			out = append(out, ip)
		}
	}
	return out
}
