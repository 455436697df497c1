// Package rtf parses Rich Text Format documents for embedded objects, the
// way rtfobj (oletools) and Word read them: every \objdata destination's
// hex is decoded tolerating whitespace, junk control words, \binN raw
// bytes and odd digit counts; the OLE 1.0 object header is parsed; OLE
// Package files and native object data are handed on as children.
//
// It flags Equation Editor objects (CVE-2017-11882 family), OLE2Link/URL
// moniker objects (CVE-2017-0199), packaged executables and obfuscated
// object data.
package rtf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"triage/parsers"
	"triage/parsers/iocs"
)

// Name is the parser's registry name.
const Name = "rtf"

// Output bounds.
const (
	maxChildren    = 50
	maxDetailItems = 5
	maxURLs        = 100
	// defaultMaxTokens bounds the tokens of one document: far above any
	// real document of the input size limit.
	defaultMaxTokens = 64 << 20
)

// riskyExt are file extensions that run code when opened.
var riskyExt = map[string]bool{
	"exe": true, "scr": true, "com": true, "pif": true, "cpl": true, "dll": true, "msi": true, "msp": true,
	"bat": true, "cmd": true, "js": true, "jse": true, "vbs": true, "vbe": true, "wsf": true, "wsh": true,
	"wsc": true, "hta": true, "ps1": true, "psm1": true, "lnk": true, "jar": true, "class": true, "inf": true,
	"reg": true, "scf": true, "sct": true, "url": true, "gadget": true, "msc": true, "chm": true, "iqy": true,
	"slk": true, "application": true, "appref-ms": true,
}

// Parser parses RTF documents.
type Parser struct {
	maxTokens int
}

// New returns an RTF parser.
func New() *Parser { return &Parser{maxTokens: defaultMaxTokens} }

// Name implements parsers.Parser.
func (*Parser) Name() string { return Name }

// Match implements parsers.Parser.
func (*Parser) Match(a *parsers.Artifact, head []byte) bool {
	return a.Type == "rtf"
}

// Parse implements parsers.Parser.
func (p *Parser) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	b := in.Budget
	if b == nil {
		b = parsers.NewBudget(ctx, parsers.Limits{})
	}
	maxTokens := p.maxTokens
	if maxTokens <= 0 {
		maxTokens = defaultMaxTokens
	}
	data := in.Data
	var (
		errs      []error
		malformed []string
		limits    []string
	)
	if !bytes.HasPrefix(data, []byte(`{\rt`)) {
		malformed = append(malformed, "no {\\rt header")
		errs = append(errs, fmt.Errorf("rtf: %w: no {\\rt header", parsers.ErrMalformed))
	} else if hdr := header(data); hdr != `\rtf1` {
		out.Meta("header", hdr)
	}

	t := newTokenizer(data, b, maxTokens)
	t.run()
	if t.err != nil {
		errs = append(errs, t.err)
		if t.tokenCut {
			limits = append(limits, fmt.Sprintf("more than %d tokens: the rest of the document was not read", maxTokens))
		}
	}
	if t.openAtEnd > 0 || t.unbalanced > 0 {
		malformed = append(malformed, fmt.Sprintf("unbalanced groups (%d unclosed, %d extra closing braces)", t.openAtEnd, t.unbalanced))
	}
	if t.overflowed {
		limits = append(limits, fmt.Sprintf("destinations nested deeper than %d were not examined", maxDests))
	}
	if t.tooMany {
		limits = append(limits, fmt.Sprintf("%d objects; only the first %d were decoded", t.objectCount, maxObjects))
	}
	out.Meta("object_count", t.objectCount)
	out.Meta("max_depth", t.maxDepth)
	if len(t.classes) > 0 {
		out.Meta("objclass", t.classes)
	}

	r := &report{out: out, b: b, urls: map[string]bool{}}
	for i, o := range t.objects {
		if err := b.Charge(int64(len(o.data))); err != nil && !o.cut {
			o.cut = true
			errs = append(errs, fmt.Errorf("rtf: object %d: %w", i+1, err))
		}
		if o.cut {
			limits = append(limits, fmt.Sprintf("object %d: data cut at %d bytes", i+1, len(o.data)))
			errs = append(errs, fmt.Errorf("rtf: object %d: %w: object data cut at %d bytes", i+1, parsers.ErrTooLarge, len(o.data)))
		}
		if m := r.object(i+1, o); m != "" {
			malformed = append(malformed, m)
		}
	}
	r.finish()

	if len(limits) > 0 {
		out.Finding(parsers.Finding{Code: "rtf.limit", Severity: parsers.Low, Detail: strings.Join(limits, "; ")})
	}
	if len(malformed) > 0 {
		out.Finding(parsers.Finding{Code: "rtf.malformed", Severity: parsers.Low, Detail: joinCapped(malformed)})
		if len(errs) == 0 || !errors.Is(errors.Join(errs...), parsers.ErrMalformed) {
			errs = append(errs, fmt.Errorf("rtf: %w: %s", parsers.ErrMalformed, malformed[0]))
		}
	}
	return errors.Join(errs...)
}

// header returns the first control word of the document (\rtf1 normally;
// Word accepts anything starting with \rt).
func header(data []byte) string {
	i := 1
	j := i + 1
	for j < len(data) && j < 64 && (isLetter(data[j]) || isDigit(data[j])) {
		j++
	}
	return string(data[i:j])
}

// report turns decoded objects into meta, children and findings.
type report struct {
	out      parsers.Sink
	b        *parsers.Budget
	objects  []map[string]any
	summary  []string
	packages []string // risky packaged files
	equation []string
	links    []string
	obfusc   []string
	urls     map[string]bool
	children int
	childCut int
}

func (r *report) url(u string) {
	if u != "" && !r.urls[u] && len(r.urls) < maxURLs {
		r.urls[u] = true
		r.out.URL(u)
	}
}

func (r *report) child(c parsers.Child) {
	if r.children >= maxChildren {
		r.childCut++
		return
	}
	if err := r.out.Child(c); err != nil {
		r.childCut++
		r.children = maxChildren
		return
	}
	r.children++
}

// object reports one decoded object; it returns a malformation note.
func (r *report) object(n int, o *object) string {
	m := map[string]any{"index": n, "offset": o.start, "size": len(o.data)}
	if o.class != "" {
		m["declared_class"] = o.class
	}
	var childErr error
	if o.cut {
		childErr = fmt.Errorf("rtf: object %d: %w", n, parsers.ErrTooLarge)
	}
	var tricks []string
	if o.words > 0 {
		tricks = append(tricks, fmt.Sprintf("%d control words", o.words))
	}
	if o.symbols > 0 {
		tricks = append(tricks, fmt.Sprintf("%d \\'hh symbols", o.symbols))
	}
	if o.bins > 0 {
		tricks = append(tricks, fmt.Sprintf("%d \\bin runs", o.bins))
	}
	if o.groups > 0 {
		tricks = append(tricks, fmt.Sprintf("%d nested groups", o.groups))
	}
	if o.nonHex > 0 {
		tricks = append(tricks, fmt.Sprintf("%d non-hex characters", o.nonHex))
	}
	if len(tricks) > 0 {
		r.obfusc = append(r.obfusc, fmt.Sprintf("object %d: %s", n, strings.Join(tricks, ", ")))
		m["obfuscation"] = tricks
	}
	defer func() { r.objects = append(r.objects, m) }()

	note := ""
	obj, err := parseOLE1(o.data)
	class := o.class
	if err != nil {
		note = fmt.Sprintf("object %d: %v", n, err)
	}
	if obj != nil && obj.class != "" {
		class = obj.class
	}
	if err != nil {
		// A damaged header: hand on the raw object data instead.
		obj = nil
	}
	m["class"] = class
	lowerClass := strings.ToLower(class)
	equation := isEquation(class) || isEquation(o.class)
	native := o.data
	if obj != nil {
		native = obj.native
	}
	if clsid := rootCLSID(native); clsid != "" {
		m["clsid"] = clsid
		equation = equation || equationCLSIDs[clsid]
		if clsid == stdOleLink {
			r.links = append(r.links, fmt.Sprintf("object %d (CLSID StdOleLink)", n))
		}
	}
	if equation {
		r.equation = append(r.equation, fmt.Sprintf("object %d (%s)", n, orNone(class)))
	}
	if obj == nil {
		if len(o.data) > 0 {
			r.child(parsers.Child{Name: fmt.Sprintf("object%d.bin", n), Data: o.data, Err: childErr})
		}
		r.summary = append(r.summary, fmt.Sprintf("object %d: %s, %d bytes, not an OLE1 object", n, orNone(class), len(o.data)))
		r.checkLink(n, class, o.data)
		return note
	}
	m["format"] = map[uint32]string{formatLinked: "linked", formatEmbedded: "embedded"}[obj.format]
	m["ole_version"] = fmt.Sprintf("%#08x", obj.version)
	if obj.topic != "" {
		m["topic"] = obj.topic
	}
	if obj.item != "" {
		m["item"] = obj.item
	}
	if obj.truncated {
		note = fmt.Sprintf("object %d: native data shorter than its declared %d bytes", n, obj.size)
	}
	m["native_size"] = len(obj.native)
	r.checkLink(n, class, obj.native)

	if lowerClass == "package" {
		pk, perr := parsePackage(obj.native)
		if perr != nil && note == "" {
			note = fmt.Sprintf("object %d: %v", n, perr)
		}
		if pk != nil {
			name := pk.name()
			m["name"] = name
			m["source_path"] = pk.src
			m["temp_path"] = pk.temp
			desc := fmt.Sprintf("object %d: Package %q (%d bytes)", n, name, len(pk.data))
			ext := strings.ToLower(strings.TrimPrefix(path.Ext(name), "."))
			tempExt := strings.ToLower(strings.TrimPrefix(path.Ext(strings.ReplaceAll(pk.temp, `\`, "/")), "."))
			if riskyExt[ext] || riskyExt[tempExt] {
				r.packages = append(r.packages, desc)
			}
			if tempExt != "" && tempExt != ext {
				desc += fmt.Sprintf(", temp path extension .%s differs", tempExt)
			}
			r.summary = append(r.summary, desc)
			if pk.data != nil {
				if name == "" {
					name = fmt.Sprintf("object%d.package", n)
				}
				r.child(parsers.Child{Name: name, Data: pk.data, Err: childErr,
					Meta: map[string]any{"source_path": pk.src, "temp_path": pk.temp, "rtf_object": n}})
			}
			return note
		}
	}
	r.summary = append(r.summary, fmt.Sprintf("object %d: %s, %d bytes", n, orNone(class), len(obj.native)))
	if len(obj.native) > 0 {
		r.child(parsers.Child{Name: fmt.Sprintf("object%d_%s", n, safeName(class)), Data: obj.native, Err: childErr,
			Meta: map[string]any{"class": class, "rtf_object": n}})
	}
	return note
}

// checkLink looks for OLE2Link objects and URL monikers.
func (r *report) checkLink(n int, class string, data []byte) {
	urls := monikerURLs(data)
	link := strings.EqualFold(class, "OLE2Link") || len(urls) > 0
	if strings.EqualFold(class, "OLE2Link") {
		for _, s := range utf16Strings(data) {
			urls = append(urls, iocs.URLs(s)...)
		}
	}
	for _, u := range urls {
		r.url(u)
	}
	if link {
		d := fmt.Sprintf("object %d (%s)", n, orNone(class))
		if len(urls) > 0 {
			d += " → " + urls[0]
		}
		r.links = append(r.links, d)
	}
}

func (r *report) finish() {
	if len(r.objects) > 0 {
		r.out.Meta("objects", r.objects)
	}
	if len(r.summary) > 0 {
		sev := parsers.Low
		detail := fmt.Sprintf("%d embedded object(s): %s", len(r.summary), joinCapped(r.summary))
		if len(r.packages) > 0 {
			sev = parsers.Medium
			detail = "packaged file that runs code when opened: " + joinCapped(r.packages) + "; " + detail
		}
		r.out.Finding(parsers.Finding{Code: "rtf.object", Severity: sev, Detail: detail, Attack: attackIf(len(r.packages) > 0, "T1204.002")})
	}
	if len(r.equation) > 0 {
		r.out.Finding(parsers.Finding{Code: "rtf.equation_editor", Severity: parsers.High,
			Detail: "Equation Editor object (EQNEDT32 exploits, CVE-2017-11882/CVE-2018-0802): " + joinCapped(r.equation),
			Attack: []string{"T1203"}})
	}
	if len(r.links) > 0 {
		r.out.Finding(parsers.Finding{Code: "rtf.ole2link", Severity: parsers.High,
			Detail: "OLE2Link / URL moniker object fetching a remote document (CVE-2017-0199): " + joinCapped(r.links),
			Attack: []string{"T1203", "T1221"}})
	}
	if len(r.obfusc) > 0 {
		r.out.Finding(parsers.Finding{Code: "rtf.obfuscated_objdata", Severity: parsers.Medium,
			Detail: "object data interleaved with RTF constructs Word ignores (evasion): " + joinCapped(r.obfusc),
			Attack: []string{"T1027"}})
	}
	if r.childCut > 0 {
		r.out.Finding(parsers.Finding{Code: "rtf.limit", Severity: parsers.Info,
			Detail: fmt.Sprintf("%d objects were not handed on: child limit reached", r.childCut)})
	}
}

// isEquation reports whether a class name is Equation Editor 2.0/3.0
// (EQNEDT32.EXE); MathType's Equation.DSMT* is not.
func isEquation(class string) bool {
	c := strings.ToLower(strings.TrimSpace(class))
	return c == "equation" || strings.HasPrefix(c, "equation.2") || strings.HasPrefix(c, "equation.3")
}

func attackIf(ok bool, ids ...string) []string {
	if ok {
		return ids
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "no class"
	}
	return s
}

// safeName keeps letters, digits, dots and dashes of a class name.
func safeName(s string) string {
	var b strings.Builder
	for _, c := range s {
		if b.Len() >= 64 {
			break
		}
		if c < 0x80 && (isLetter(byte(c)) || isDigit(byte(c)) || c == '.' || c == '-' || c == '_') {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "object"
	}
	return b.String()
}

func joinCapped(items []string) string {
	if len(items) <= maxDetailItems {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:maxDetailItems], "; ") + fmt.Sprintf("; and %d more", len(items)-maxDetailItems)
}
