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

var ipRE = regexp.MustCompile(`\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b`)

// MaxURLs bounds the URLs returned for one text.
const MaxURLs = 1000

// URLs returns the URLs in s, in order of appearance, deduplicated, with
// trailing punctuation that ends a sentence or a code expression removed.
func URLs(s string) []string {
	raw := findURLs(s, MaxURLs)
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

var schemes = map[string]bool{"http": true, "https": true, "ftp": true, "hxxp": true, "hxxps": true, "file": true, "smb": true}

// findURLs is urlRE.FindAllString without the regular expression: it
// anchors on "://", which is much faster on long bodies.
func findURLs(s string, max int) []string {
	var out []string
	off := 0
	for len(out) < max {
		i := strings.Index(s[off:], "://")
		if i < 0 {
			break
		}
		i += off
		// The scheme: letters right before "://", preceded by a non-word byte.
		j := i
		for j > 0 && i-j < 6 && isLetter(s[j-1]) {
			j--
		}
		end := i + 3
		for end < len(s) && urlByte(s[end]) {
			end++
		}
		off = end
		if j == i || (j > 0 && isWord(s[j-1])) || !schemes[strings.ToLower(s[j:i])] || end == i+3 {
			continue
		}
		out = append(out, s[j:end])
	}
	return out
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isWord(c byte) bool   { return isLetter(c) || c >= '0' && c <= '9' || c == '_' }

// urlByte reports whether c may continue a URL: what urlRE's class allows.
func urlByte(c byte) bool {
	if c <= 0x20 || c == 0x7f {
		return false
	}
	switch c {
	case '"', '\'', '<', '>', '`', '\\', '^', '{', '}', '|':
		return false
	}
	return true
}

// TrimURL removes punctuation that ends a sentence or code around a URL:
// trailing dots, commas, semicolons, closing brackets without an opener.
func TrimURL(u string) string {
	// The brackets are counted once, at the first closing one: only closing
	// brackets are trimmed, so a run of them costs one pass, not one each.
	counted := false
	var openP, closeP, openB, closeB int
	for len(u) > 0 {
		c := u[len(u)-1]
		if (c == ')' || c == ']') && !counted {
			openP, closeP = strings.Count(u, "("), strings.Count(u, ")")
			openB, closeB = strings.Count(u, "["), strings.Count(u, "]")
			counted = true
		}
		switch c {
		case '.', ',', ';', ':', '!', '?', '\'', '"', '*':
		case ')':
			if openP >= closeP {
				return u
			}
			closeP--
		case ']':
			if openB >= closeB {
				return u
			}
			closeB--
		default:
			return u
		}
		u = u[:len(u)-1]
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
