// Package html analyses HTML and HTA artifacts: mail bodies, HTML
// attachments and application files.
//
// Malspam uses HTML in three ways. A phishing body shows one address and
// links to another. A credential page posts a password form to its own
// server. A smuggling attachment carries its payload inside: a base64 string
// a script turns into a Blob and saves (msSaveOrOpenBlob, createObjectURL
// plus a.download), or a data: URI behind a download link (catalogue §4).
// The parser tokenizes the document once, reports absolute URLs from
// attributes, and hands every embedded payload back to the pipeline as a
// child.
package html

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"

	xhtml "golang.org/x/net/html"

	"triage/parsers"
	"triage/parsers/filetype"
)

// Name is the parser's registry name.
const Name = "html"

// Bounds on the work spent on one document.
const (
	maxTokens      = 1 << 20          // tokens read
	maxAttrs       = 256              // attributes read per tag
	maxURLs        = 1000             // URLs reported
	maxScripts     = 512              // scripts (and event handlers) kept
	maxScriptBytes = 16 * parsers.MiB // script text kept in all
	maxAnchorText  = 2 * parsers.KiB  // visible text kept per link
	maxTitle       = 200              // title bytes kept
	maxDataURIs    = 64               // data: URIs examined
	maxPayloads    = 8                // payload children emitted
	checkEvery     = 4096             // tokens between deadline checks
	maxDetail      = 160              // quoted bytes in a finding's detail
)

// ATT&CK tags.
var (
	attackLink     = []string{"T1566.002"}
	attackSmuggle  = []string{"T1027.006"}
	attackRedirect = []string{"T1204.001"}
)

// Parser analyses HTML. The zero value is ready to use.
type Parser struct{}

// New returns an HTML parser.
func New() *Parser { return &Parser{} }

// Name implements parsers.Parser.
func (*Parser) Name() string { return Name }

// Match implements parsers.Parser: HTML and HTA documents.
func (*Parser) Match(a *parsers.Artifact, _ []byte) bool {
	return a != nil && (a.Type == filetype.HTML || a.Type == filetype.HTA)
}

// Parse implements parsers.Parser.
func (p *Parser) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	if in == nil || in.Artifact == nil {
		return fmt.Errorf("html: %w: no input", parsers.ErrMalformed)
	}
	budget := in.Budget
	if budget == nil {
		budget = parsers.NewBudget(ctx, parsers.Limits{})
	}
	d := &doc{out: out, budget: budget, seenURL: map[string]bool{}, payloads: map[[32]byte]bool{}}
	err := d.tokenize(in.Data)
	d.closeAnchor()
	d.closeForms()
	if e := d.analyseScripts(); e != nil {
		err = errors.Join(err, e)
	}
	d.report()
	return errors.Join(err, d.childErr)
}

// doc is the state of one parse.
type doc struct {
	out    parsers.Sink
	budget *parsers.Budget

	seenURL map[string]bool
	urls    int

	// Open <a>.
	inA       bool
	aHref     string
	aText     strings.Builder
	links     int
	mismatch  int
	firstMism string
	// tracked counts mismatched links whose target carries the shown
	// site in its query or path: click trackers (and open redirects).
	tracked      int
	firstTracked string

	// Open forms, innermost last.
	forms         []form
	formCount     int
	credForm      string // detail of the first credential form
	loosePassword bool   // a password input outside any form

	inTitle bool
	title   strings.Builder

	scripts     []string
	scriptBytes int
	inScript    bool
	download    string // first download attribute seen

	iframes      int
	hiddenIframe string
	refresh      string
	dataURIs     int

	payloads  map[[32]byte]bool
	nPayloads int
	childErr  error

	smuggling []string // reasons
	smuggled  []string // details of decoded script payloads
	dataPay   []string // details of data: URI payloads
}

type form struct {
	action   string
	password bool
}

// tokenize reads the document token by token.
func (d *doc) tokenize(data []byte) error {
	z := xhtml.NewTokenizer(bytes.NewReader(data))
	for n := 0; ; n++ {
		if n >= maxTokens {
			return fmt.Errorf("html: %w: more than %d tokens", parsers.ErrTooMany, maxTokens)
		}
		if n%checkEvery == 0 {
			if err := d.budget.Err(); err != nil {
				return fmt.Errorf("html: %w", err)
			}
		}
		switch z.Next() {
		case xhtml.ErrorToken:
			if err := z.Err(); err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("html: %w: %v", parsers.ErrMalformed, err)
			}
			return nil
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			var attrs []attr
			for hasAttr && len(attrs) < maxAttrs {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				attrs = append(attrs, attr{string(k), string(v)})
			}
			d.start(tag, attrs)
		case xhtml.EndTagToken:
			name, _ := z.TagName()
			d.end(string(name))
		case xhtml.TextToken:
			d.text(z.Text())
		}
	}
}

type attr struct{ key, val string }

func get(attrs []attr, key string) (string, bool) {
	for _, a := range attrs {
		if a.key == key {
			return a.val, true
		}
	}
	return "", false
}

// urlAttrs are the attributes whose value is a URL.
var urlAttrs = map[string]bool{
	"href": true, "src": true, "action": true, "formaction": true,
	"data": true, "background": true, "poster": true,
}

func (d *doc) start(tag string, attrs []attr) {
	for _, a := range attrs {
		v := strings.TrimSpace(a.val)
		switch {
		case urlAttrs[a.key]:
			if isDataURI(v) {
				name, _ := get(attrs, "download")
				d.dataURI(v, name)
			} else {
				d.url(v)
			}
		case strings.HasPrefix(a.key, "on") && len(a.key) > 2 && v != "":
			d.addScript(v)
		case a.key == "download" && d.download == "" && strings.TrimSpace(a.val) != "":
			d.download = strings.TrimSpace(a.val)
		}
	}
	switch tag {
	case "a":
		d.closeAnchor()
		if href, ok := get(attrs, "href"); ok {
			d.inA, d.aHref = true, strings.TrimSpace(href)
			d.aText.Reset()
			d.links++
		}
	case "form":
		d.formCount++
		action, _ := get(attrs, "action")
		d.forms = append(d.forms, form{action: strings.TrimSpace(action)})
	case "input":
		if t, _ := get(attrs, "type"); strings.EqualFold(strings.TrimSpace(t), "password") {
			if len(d.forms) > 0 {
				d.forms[len(d.forms)-1].password = true
			} else {
				d.loosePassword = true
			}
		}
	case "script":
		d.inScript = true
	case "title":
		d.inTitle = true
	case "iframe", "frame":
		d.iframes++
		if d.hiddenIframe == "" && hiddenFrame(attrs) {
			src, _ := get(attrs, "src")
			d.hiddenIframe = strings.TrimSpace(src)
			if d.hiddenIframe == "" {
				d.hiddenIframe = "(no src)"
			}
		}
	case "meta":
		if he, _ := get(attrs, "http-equiv"); strings.EqualFold(strings.TrimSpace(he), "refresh") {
			content, _ := get(attrs, "content")
			if u := refreshURL(content); u != "" {
				d.url(u)
				if isAbsolute(u) && d.refresh == "" {
					d.refresh = u
				}
			}
		}
	}
}

func (d *doc) end(tag string) {
	switch tag {
	case "a":
		d.closeAnchor()
	case "form":
		if n := len(d.forms); n > 0 {
			d.judgeForm(d.forms[n-1])
			d.forms = d.forms[:n-1]
		}
	case "script":
		d.inScript = false
	case "title":
		d.inTitle = false
	}
}

func (d *doc) text(b []byte) {
	switch {
	case d.inScript:
		d.addScript(string(b))
	case d.inTitle:
		if room := maxTitle - d.title.Len(); room > 0 {
			d.title.Write(b[:min(room, len(b))])
		}
	}
	if d.inA && !d.inScript {
		if room := maxAnchorText - d.aText.Len(); room > 0 {
			d.aText.Write(b[:min(room, len(b))])
		}
	}
}

func (d *doc) addScript(s string) {
	if len(d.scripts) >= maxScripts || d.scriptBytes+len(s) > maxScriptBytes {
		return
	}
	d.scripts = append(d.scripts, s)
	d.scriptBytes += len(s)
}

// url reports an absolute URL once.
func (d *doc) url(u string) {
	if !isAbsolute(u) || d.seenURL[u] || d.urls >= maxURLs {
		return
	}
	d.seenURL[u] = true
	d.urls++
	d.out.URL(u)
}

func (d *doc) closeAnchor() {
	if !d.inA {
		return
	}
	d.inA = false
	shown := shownHost(d.aText.String())
	target := linkHost(d.aHref)
	if shown == "" || target == "" || site(shown) == site(target) {
		return
	}
	if carriesHost(d.aHref, shown) {
		d.tracked++
		if d.firstTracked == "" {
			d.firstTracked = fmt.Sprintf("text shows %s, the link goes to %s with it in the URL", quote(shown), quote(target))
		}
		return
	}
	d.mismatch++
	if d.firstMism == "" {
		d.firstMism = fmt.Sprintf("text shows %s but the link goes to %s", quote(shown), quote(target))
	}
}

func (d *doc) closeForms() {
	for i := len(d.forms) - 1; i >= 0; i-- {
		d.judgeForm(d.forms[i])
	}
	d.forms = nil
}

func (d *doc) judgeForm(f form) {
	if !f.password || d.credForm != "" {
		return
	}
	if isAbsolute(f.action) && linkHost(f.action) != "" {
		d.credForm = "password form posts to " + quote(f.action)
		return
	}
	// A form without an external action may still be sent by script.
	d.loosePassword = true
}

// report emits the document-level findings and meta.
func (d *doc) report() {
	if d.mismatch > 0 {
		d.out.Finding(parsers.Finding{
			Code:     "html.link_mismatch",
			Severity: parsers.Medium,
			Detail:   fmt.Sprintf("%d link(s) whose text shows another site; first: %s", d.mismatch, d.firstMism),
			Attack:   attackLink,
		})
	}
	if d.tracked > 0 {
		// Newsletters route every link through a click tracker that
		// names the destination; so does an open redirect. A weak
		// signal, not a suspicious one on its own.
		d.out.Finding(parsers.Finding{
			Code:     "html.link_redirect",
			Severity: parsers.Low,
			Detail:   fmt.Sprintf("%d link(s) through another site that carries the shown one; first: %s", d.tracked, d.firstTracked),
			Attack:   attackLink,
		})
	}
	if d.credForm == "" && d.loosePassword {
		if u := scriptPostURL(d.scripts); u != "" {
			d.credForm = "password input sent by script to " + quote(u)
		}
	}
	if d.credForm != "" {
		d.out.Finding(parsers.Finding{
			Code:     "html.form_credentials",
			Severity: parsers.Medium,
			Detail:   d.credForm,
		})
	}
	if len(d.smuggling) > 0 {
		d.out.Finding(parsers.Finding{
			Code:     "html.smuggling",
			Severity: parsers.High,
			Detail:   "script assembles and saves a file: " + strings.Join(d.smuggling, "; "),
			Attack:   attackSmuggle,
		})
	}
	if len(d.smuggled) > 0 {
		d.out.Finding(parsers.Finding{
			Code:     "html.smuggled_payload",
			Severity: parsers.High,
			Detail:   strings.Join(d.smuggled, "; "),
			Attack:   attackSmuggle,
		})
	}
	if len(d.dataPay) > 0 {
		d.out.Finding(parsers.Finding{
			Code:     "html.data_uri_payload",
			Severity: parsers.High,
			Detail:   strings.Join(d.dataPay, "; "),
			Attack:   attackSmuggle,
		})
	}
	if d.refresh != "" {
		d.out.Finding(parsers.Finding{
			Code:     "html.meta_refresh",
			Severity: parsers.Low,
			Detail:   "meta refresh to " + quote(d.refresh),
			Attack:   attackRedirect,
		})
	}
	if d.hiddenIframe != "" {
		d.out.Finding(parsers.Finding{
			Code:     "html.iframe_hidden",
			Severity: parsers.Low,
			Detail:   "invisible frame loads " + quote(d.hiddenIframe),
		})
	}
	if t := strings.Join(strings.Fields(d.title.String()), " "); t != "" {
		d.out.Meta("title", t)
	}
	d.out.Meta("links", d.links)
	d.out.Meta("forms", d.formCount)
	d.out.Meta("scripts", len(d.scripts))
	d.out.Meta("iframes", d.iframes)
	d.out.Meta("urls", d.urls)
	if d.dataURIs > 0 {
		d.out.Meta("data_uris", d.dataURIs)
	}
}

// emit hands a decoded payload to the pipeline once per content.
func (d *doc) emit(name string, data []byte, cut error) bool {
	if d.childErr != nil || d.nPayloads >= maxPayloads {
		return false
	}
	sum := sha256.Sum256(data)
	if d.payloads[sum] {
		return false
	}
	d.payloads[sum] = true
	d.nPayloads++
	c := parsers.Child{Name: name, Data: data}
	if cut != nil {
		c.Err = cut
	}
	if err := d.out.Child(c); err != nil {
		d.childErr = fmt.Errorf("html: payload %q: %w", name, err)
		return false
	}
	return true
}

// quote shortens untrusted text for a finding's detail.
func quote(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxDetail {
		cut := maxDetail
		for cut > 0 && s[cut]&0xc0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return fmt.Sprintf("%q", s)
}
