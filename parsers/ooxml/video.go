package ooxml

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/net/html"

	"triage/parsers"
	"triage/parsers/iocs"
)

// video is one online video (wp15:webVideoPr) of a document.
type video struct {
	part    string
	html    string // embeddedHtml, XML-unescaped
	src     string // the iframe src
	host    string
	hlink   string // the docPr hlinkClick target
	reasons []string
}

// Online-video limits: the HTML kept in meta and the videos per document.
const (
	maxVideoHTMLMeta = 4 * parsers.KiB
	maxVideos        = 20
	normalVideoHTML  = 1 * parsers.KiB
)

// videoHosts are the providers Word's "Online Video" embeds; their
// subdomains are allowed too.
var videoHosts = []string{"youtube.com", "youtube-nocookie.com", "youtu.be", "vimeo.com", "dailymotion.com"}

var (
	htmlMarkersRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)<\s*script|<\s*object|<\s*embed|<\s*form|<\s*meta|mssaveoropenblob|atob\s*\(|document\.write|\.click\s*\(`)
	})
	base64RunRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[A-Za-z0-9+/]{100,}={0,2}`) })
)

// scanVideos finds every webVideoPr in a WordprocessingML part and the
// hlinkClick relationship of the drawing it belongs to.
func (s *scan) scanVideos(p *part, data []byte) {
	var (
		inDocPr int
		hlinkID string
	)
	s.walkXML(data, "part "+p.name, fmt.Sprintf("part %q", p.name), func(tok xml.Token) {
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "docPr":
				inDocPr++
				hlinkID = ""
			case "hlinkClick":
				if inDocPr > 0 {
					hlinkID = attr(t, "id")
				}
			case "webVideoPr":
				if len(s.videos) >= maxVideos {
					return
				}
				v := video{part: p.name, html: attr(t, "embeddedHtml")}
				if hlinkID != "" {
					for _, r := range s.relsOf(p.name) {
						if r.id == hlinkID {
							v.hlink = r.target
							break
						}
					}
				}
				s.videos = append(s.videos, v)
			}
		case xml.EndElement:
			if t.Name.Local == "docPr" && inDocPr > 0 {
				inDocPr--
			}
		}
	})
}

// reportVideos judges the online videos found.
func (s *scan) reportVideos() {
	if len(s.videos) == 0 {
		return
	}
	var (
		meta []map[string]any
		bad  []string
	)
	for i := range s.videos {
		v := &s.videos[i]
		v.src = iframeSrc(v.html)
		v.host = hostOf(v.src)
		v.reasons = videoReasons(v)
		if v.src != "" && urlish(v.src) {
			s.url(v.src)
		}
		if v.hlink != "" && urlish(v.hlink) {
			s.url(v.hlink)
		}
		m := map[string]any{"embedded_html": capString(v.html, maxVideoHTMLMeta), "src": v.src, "host": v.host, "hlink": v.hlink}
		if len(v.reasons) > 0 {
			m["reasons"] = v.reasons
			bad = append(bad, fmt.Sprintf("video %d (%s): %s", i+1, v.part, strings.Join(v.reasons, ", ")))
		}
		meta = append(meta, m)
	}
	s.out.Meta("online_videos", meta)
	// A plain provider iframe is context (a YouTube embed is a real use);
	// anything else in embeddedHtml already raises the Critical finding.
	sev := parsers.Low
	if len(bad) > 0 {
		sev = parsers.Medium
	}
	s.out.Finding(parsers.Finding{Code: "ooxml.online_video", Severity: sev,
		Detail:   fmt.Sprintf("%d online video(s) with embedded HTML (rare in inbound mail)", len(s.videos)),
		Campaign: "online-video", Attack: []string{"T1204.002"}})
	if len(bad) > 0 {
		s.out.Finding(parsers.Finding{Code: "ooxml.online_video_malicious", Severity: parsers.Critical,
			Detail:   "online video embedded HTML is not a plain video-provider iframe: " + joinCapped(bad),
			Campaign: "online-video", Attack: []string{"T1204.002", "T1027", "T1105"}})
	}
}

// iframeSrc returns the src of the first iframe, or of the first element
// with a src when there is no iframe.
func iframeSrc(h string) string {
	z := html.NewTokenizer(strings.NewReader(h))
	first := ""
	for n := 0; n < 10000; n++ {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		name, hasAttr := z.TagName()
		for hasAttr {
			var k, v []byte
			k, v, hasAttr = z.TagAttr()
			if string(k) != "src" {
				continue
			}
			if string(name) == "iframe" {
				return strings.TrimSpace(string(v))
			}
			if first == "" {
				first = strings.TrimSpace(string(v))
			}
		}
	}
	return first
}

// hostOf returns the lowercase host of a URL, also for protocol-relative
// ones; "" when there is none.
func hostOf(u string) string {
	u = strings.TrimSpace(u)
	if strings.HasPrefix(u, "//") {
		u = "http:" + u
	}
	if !strings.Contains(u, "://") {
		return ""
	}
	return strings.TrimSuffix(iocs.Host(u), ".")
}

func allowedVideoHost(h string) bool {
	for _, d := range videoHosts {
		if h == d || strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	return false
}

// siteOf folds a host to its site for the iframe/link comparison: the
// provider aliases and the last two labels.
func siteOf(h string) string {
	switch {
	case h == "youtu.be", h == "youtube-nocookie.com", strings.HasSuffix(h, ".youtube-nocookie.com"):
		return "youtube.com"
	}
	labels := strings.Split(h, ".")
	if len(labels) > 2 {
		labels = labels[len(labels)-2:]
	}
	return strings.Join(labels, ".")
}

// videoReasons lists why an embedded video's HTML is not a plain provider
// iframe; nil means it looks normal.
func videoReasons(v *video) []string {
	var r []string
	src := strings.ToLower(strings.TrimSpace(v.src))
	switch {
	case src == "":
		r = append(r, "no iframe src")
	case strings.HasPrefix(src, "data:"), strings.HasPrefix(src, "file:"), strings.HasPrefix(src, "javascript:"),
		strings.HasPrefix(src, "vbscript:"), strings.HasPrefix(src, "mhtml:"), strings.HasPrefix(src, "ms-"):
		scheme := src
		if i := strings.IndexByte(scheme, ':'); i >= 0 {
			scheme = scheme[:i+1]
		}
		r = append(r, "src scheme "+scheme)
	case v.host == "":
		r = append(r, "src has no host")
	case !allowedVideoHost(v.host):
		r = append(r, "src host "+v.host+" is not a video provider")
	}
	seen := map[string]bool{}
	for _, m := range htmlMarkersRE().FindAllString(v.html, 20) {
		m = strings.ToLower(strings.Join(strings.Fields(m), ""))
		if !seen[m] {
			seen[m] = true
			r = append(r, "contains "+m)
		}
	}
	if run := base64RunRE().FindString(v.html); run != "" {
		r = append(r, fmt.Sprintf("base64 run of %d characters", len(run)))
	}
	if len(v.html) > normalVideoHTML {
		r = append(r, fmt.Sprintf("embedded HTML is %d bytes", len(v.html)))
	}
	if lh := hostOf(v.hlink); lh != "" && v.host != "" && siteOf(lh) != siteOf(v.host) {
		r = append(r, fmt.Sprintf("iframe host %s differs from link host %s", v.host, lh))
	}
	return r
}

// capString cuts s to at most n bytes on a rune boundary.
func capString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
