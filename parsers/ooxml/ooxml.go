// Package ooxml parses Office Open XML packages (.docx/.xlsx/.pptx and their
// macro-enabled and template variants, zip or Flat OPC XML) and the Office
// 2003 XML formats, for the structures malspam abuses: VBA projects,
// embedded OLE objects, external relationships (remote templates, OLE
// links), online-video embedded HTML, DDE fields and formulas, and Excel 4.0
// (XLM) macro sheets with Auto_Open names.
//
// It never recurses: vbaProject.bin, embedded objects, ActiveX binaries,
// macro sheets and the main document parts are handed to the pipeline as
// children, so the OLE/VBA parsers and YARA rules see them.
package ooxml

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"triage/parsers"
)

// Name is the parser's registry name.
const Name = "ooxml"

// Bounds on what one package contributes to the report.
const (
	maxChildren     = 50
	maxPartsMeta    = 200
	maxContentTypes = 100
	maxExternalMeta = 100
	maxURLs         = 500
	maxDetailItems  = 5
)

// Parser parses OOXML packages.
type Parser struct{}

// New returns an OOXML parser.
func New() *Parser { return &Parser{} }

// Name implements parsers.Parser.
func (*Parser) Name() string { return Name }

// Match implements parsers.Parser: OOXML zip packages, and XML documents
// that are Flat OPC packages or Office 2003 Word/Excel XML.
func (*Parser) Match(a *parsers.Artifact, head []byte) bool {
	switch a.Type {
	case "ooxml":
		return true
	case "xml":
		return isFlatOPC(head) || is2003XML(head)
	}
	return false
}

func isFlatOPC(b []byte) bool {
	return bytes.Contains(b, []byte("schemas.microsoft.com/office/2006/xmlPackage"))
}

func is2003XML(b []byte) bool {
	return bytes.Contains(b, []byte("schemas.microsoft.com/office/word/2003/wordml")) ||
		bytes.Contains(b, []byte("urn:schemas-microsoft-com:office:spreadsheet")) ||
		bytes.Contains(b, []byte(`progid="Word.Document"`)) ||
		bytes.Contains(b, []byte(`progid="Excel.Sheet"`))
}

// scan is the state of one Parse call.
type scan struct {
	in  *parsers.Input
	out parsers.Sink
	b   *parsers.Budget
	k   *pkg
	ct  *contentTypes

	rels     map[string][]rel // lower-case source part → its relationships
	mainPart string
	kind     string

	errs      []error
	malformed []string
	urls      map[string]bool
	videos    []video
	dde       []string
	emitted   map[*part]bool
	children  int
	childCut  int
}

// Parse implements parsers.Parser.
func (p *Parser) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	b := in.Budget
	if b == nil {
		b = parsers.NewBudget(ctx, parsers.Limits{})
	}
	s := &scan{in: in, out: out, b: b, rels: map[string][]rel{}, urls: map[string]bool{}, emitted: map[*part]bool{}}
	data := in.Data
	maxEntries := b.Limits.MaxEntries
	if maxEntries <= 0 {
		maxEntries = parsers.DefaultLimits().MaxEntries
	}
	var (
		k   *pkg
		cut int
		err error
	)
	switch {
	case bytes.HasPrefix(data, []byte("PK")):
		k, cut, err = openZip(data, b, maxEntries)
	case isFlatOPC(head(data, 64*parsers.KiB)):
		k, cut, err = openFlat(data, b, maxEntries)
		out.Meta("format", "flat_opc")
	case is2003XML(head(data, 64*parsers.KiB)):
		out.Meta("format", "office2003_xml")
		s.scan2003(data)
		return s.finish()
	default:
		s.fail("not a zip or Office XML package", fmt.Errorf("ooxml: %w: no zip or Office XML signature", parsers.ErrMalformed))
		return s.finish()
	}
	if err != nil {
		s.fail(err.Error(), err)
	}
	if k == nil {
		return s.finish()
	}
	s.k = k
	if cut > 0 {
		out.Finding(parsers.Finding{Code: "ooxml.limit", Severity: parsers.Low,
			Detail: fmt.Sprintf("package lists %d more parts than the %d examined", cut, maxEntries)})
		s.errs = append(s.errs, fmt.Errorf("ooxml: %w: more than %d parts", parsers.ErrTooMany, maxEntries))
	}
	s.run()
	return s.finish()
}

func head(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// fail records a structural problem.
func (s *scan) fail(detail string, err error) {
	if len(s.malformed) < 10 {
		s.malformed = append(s.malformed, detail)
	}
	if err != nil && len(s.errs) < 10 {
		s.errs = append(s.errs, err)
	}
}

// partErr records a part that could not be read completely.
func (s *scan) partErr(p *part, err error) {
	if err == nil {
		return
	}
	if errors.Is(err, parsers.ErrLimit) || errors.Is(err, parsers.ErrUnsupported) {
		if len(s.errs) < 10 {
			s.errs = append(s.errs, err)
		}
		return
	}
	s.fail(fmt.Sprintf("part %s: %v", p.name, err), err)
}

// walkXML feeds fn every token of a part: the deadline's error is kept,
// a syntax error reported as malformed, what (for the finding) and where
// (for the error) naming the part.
func (s *scan) walkXML(data []byte, what, where string, fn func(xml.Token)) {
	deadline, syntax := eachToken(data, s.b, func(tok xml.Token) bool {
		fn(tok)
		return true
	})
	if deadline != nil {
		s.errs = append(s.errs, deadline)
	}
	if syntax != nil {
		s.fail(fmt.Sprintf("%s: %v", what, syntax), fmt.Errorf("ooxml: %s: %w", where, errors.Join(parsers.ErrMalformed, syntax)))
	}
}

func (s *scan) finish() error {
	if len(s.malformed) > 0 {
		s.out.Finding(parsers.Finding{Code: "ooxml.malformed", Severity: parsers.Low,
			Detail: strings.Join(s.malformed, "; ")})
	}
	return errors.Join(s.errs...)
}

func (s *scan) url(u string) {
	if u == "" || s.urls[u] || len(s.urls) >= maxURLs {
		return
	}
	s.urls[u] = true
	s.out.URL(u)
}

// load reads a part, recording read problems once.
func (s *scan) load(p *part) []byte {
	data, err := s.k.load(p)
	if err != nil && !p.reported {
		p.reported = true
		s.partErr(p, err)
	}
	return data
}

// contentType returns the content type of p.
func (s *scan) contentType(p *part) string {
	if p.ctype != "" {
		return p.ctype
	}
	return s.ct.of(p.name)
}

func (s *scan) run() {
	k := s.k
	names := make([]string, 0, min(len(k.parts), maxPartsMeta))
	for _, p := range k.parts {
		if len(names) >= maxPartsMeta {
			break
		}
		names = append(names, p.name)
	}
	s.out.Meta("parts", names)
	s.out.Meta("part_count", len(k.parts))
	if len(k.dups) > 0 {
		s.fail("duplicate part names: "+strings.Join(k.dups, ", "), nil)
	}

	if p := k.get("[Content_Types].xml"); p != nil {
		ct, err := parseContentTypes(s.load(p), s.b)
		s.ct = ct
		if err != nil {
			s.partErr(p, err)
		}
		s.out.Meta("content_types", ct.all)
	} else if !k.flat {
		s.fail("no [Content_Types].xml", fmt.Errorf("ooxml: %w: no [Content_Types].xml", parsers.ErrMalformed))
	}

	s.readRels()
	s.findMain()
	s.checkVBA()
	s.checkExternal()
	if err := s.b.Err(); err != nil {
		s.errs = append(s.errs, err)
		return
	}
	s.scanWord()
	s.scanExcel()
	s.reportDDE(s.dde)
	s.emitChildren()
}

// readRels parses every relationships part.
func (s *scan) readRels() {
	for i, p := range s.k.parts {
		if i%256 == 0 && s.b.Err() != nil {
			return
		}
		src, ok := sourceOfRels(p.name)
		if !ok {
			continue
		}
		rs, err := parseRels(s.load(p), src, s.b)
		if err != nil {
			s.partErr(p, err)
		}
		key := strings.ToLower(src)
		if _, dup := s.rels[key]; !dup {
			s.rels[key] = rs
		}
	}
}

// relsOf returns the relationships owned by part name.
func (s *scan) relsOf(name string) []rel { return s.rels[strings.ToLower(name)] }

// findMain finds the main document part and the document kind.
func (s *scan) findMain() {
	for _, r := range s.relsOf("") {
		if r.short() == "officeDocument" && !r.external() {
			if s.k.get(r.targetPart()) != nil {
				s.mainPart = s.k.get(r.targetPart()).name
				break
			}
		}
	}
	if s.mainPart == "" {
		for _, n := range []string{"word/document.xml", "xl/workbook.xml", "xl/workbook.bin", "ppt/presentation.xml"} {
			if p := s.k.get(n); p != nil {
				s.mainPart = p.name
				break
			}
		}
	}
	ct := ""
	if p := s.k.get(s.mainPart); p != nil {
		ct = strings.ToLower(s.contentType(p))
	}
	lower := strings.ToLower(s.mainPart)
	switch {
	case strings.Contains(ct, "wordprocessingml") || strings.Contains(ct, "ms-word") || strings.HasPrefix(lower, "word/"):
		s.kind = "word"
	case strings.Contains(ct, "spreadsheetml") || strings.Contains(ct, "ms-excel") || strings.HasPrefix(lower, "xl/"):
		s.kind = "excel"
	case strings.Contains(ct, "presentationml") || strings.Contains(ct, "ms-powerpoint") || strings.HasPrefix(lower, "ppt/"):
		s.kind = "powerpoint"
	default:
		s.kind = "other"
	}
	s.out.Meta("document_kind", s.kind)
	if s.mainPart != "" {
		s.out.Meta("main_part", s.mainPart)
		s.out.Meta("main_content_type", ct)
		s.out.Meta("macro_enabled", strings.Contains(ct, "macroenabled"))
	}
}

// vbaParts returns the VBA project parts: by name, content type or
// relationship type.
func (s *scan) vbaParts() []*part {
	var out []*part
	seen := map[*part]bool{}
	add := func(p *part) {
		if p != nil && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range s.k.parts {
		if strings.EqualFold(path.Base(p.name), "vbaProject.bin") || strings.Contains(strings.ToLower(s.contentType(p)), "vbaproject") {
			add(p)
		}
	}
	for _, rs := range s.sortedRels() {
		for _, r := range rs {
			if r.short() == "vbaProject" && !r.external() {
				add(s.k.get(r.targetPart()))
			}
		}
	}
	return out
}

// sortedRels returns the relationship lists in a stable order.
func (s *scan) sortedRels() [][]rel {
	keys := make([]string, 0, len(s.rels))
	for k := range s.rels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]rel, 0, len(keys))
	for _, k := range keys {
		out = append(out, s.rels[k])
	}
	return out
}

func (s *scan) checkVBA() {
	vba := s.vbaParts()
	s.out.Meta("has_vba", len(vba) > 0)
	if len(vba) == 0 {
		return
	}
	names := make([]string, len(vba))
	for i, p := range vba {
		names[i] = p.name
	}
	detail := "VBA project present: " + strings.Join(names, ", ")
	if p := s.k.get(s.mainPart); p != nil {
		ct := strings.ToLower(s.contentType(p))
		if ct != "" && !strings.Contains(ct, "macroenabled") {
			detail += fmt.Sprintf("; the main part is declared macro-free (%s): a macro project in a macro-free document type is a disguise", ct)
		}
	}
	s.out.Finding(parsers.Finding{Code: "ooxml.macro", Severity: parsers.Medium, Detail: detail,
		Attack: []string{"T1204.002", "T1059.005"}})
}

// Where an external target is fetched from.
const (
	targetLocal = iota // a local path: no fetch from another machine
	targetShare        // a network share (SMB/WebDAV): a fetch, and an NTLM leak
	targetWeb          // an internet URL
)

// targetKind classifies an external relationship target.
func targetKind(target string) int {
	t := strings.ToLower(strings.TrimSpace(target))
	switch {
	case strings.HasPrefix(t, "http://"), strings.HasPrefix(t, "https://"), strings.HasPrefix(t, "ftp://"),
		strings.HasPrefix(t, "mhtml:"), strings.HasPrefix(t, "//"):
		return targetWeb
	case strings.HasPrefix(t, "\\\\"):
		return targetShare
	case strings.HasPrefix(t, "file://"):
		rest := strings.TrimPrefix(t, "file://")
		// file:///C:/… is local; file://host/share is not.
		if strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, "localhost/") {
			return targetLocal
		}
		return targetShare
	case strings.Contains(t, "://"):
		return targetWeb
	}
	return targetLocal
}

// urlish reports whether an external target is worth reporting as a URL.
func urlish(target string) bool {
	t := strings.ToLower(strings.TrimSpace(target))
	return strings.Contains(t, "://") || strings.HasPrefix(t, "\\\\") || strings.HasPrefix(t, "mhtml:")
}

func (s *scan) checkExternal() {
	var (
		meta  []map[string]string
		other []string
		// By target kind: remote templates and OLE links.
		templates [3][]string
		oleLinks  [3][]string
	)
	for _, rs := range s.sortedRels() {
		for _, r := range rs {
			if !r.external() {
				continue
			}
			short := r.short()
			if len(meta) < maxExternalMeta {
				meta = append(meta, map[string]string{"source": r.source, "type": short, "target": r.target})
			}
			if urlish(r.target) {
				s.url(r.target)
			}
			switch short {
			case "hyperlink":
				// Context only: the URL is reported above.
			case "attachedTemplate":
				k := targetKind(r.target)
				templates[k] = append(templates[k], r.target)
			case "oleObject":
				k := targetKind(r.target)
				oleLinks[k] = append(oleLinks[k], r.target)
			default:
				other = append(other, short+" → "+r.target)
			}
		}
	}
	if len(meta) > 0 {
		s.out.Meta("external_relationships", meta)
	}
	for _, k := range []int{targetWeb, targetShare, targetLocal} {
		if len(templates[k]) > 0 {
			s.out.Meta("attached_template", templates[k][0])
			break
		}
	}
	switch {
	case len(templates[targetWeb]) > 0:
		// A macro-enabled template fetched over the internet is the
		// template-injection payload itself.
		sev := parsers.High
		for _, t := range templates[targetWeb] {
			if macroTemplateRE().MatchString(t) {
				sev = parsers.Critical
			}
		}
		s.out.Finding(parsers.Finding{Code: "ooxml.remote_template", Severity: sev,
			Detail: "document loads its template from the internet: " + joinCapped(templates[targetWeb]),
			Attack: []string{"T1221"}})
	case len(templates[targetShare]) > 0:
		s.out.Finding(parsers.Finding{Code: "ooxml.remote_template", Severity: parsers.Medium,
			Detail: "document loads its template from a network share: " + joinCapped(templates[targetShare]),
			Attack: []string{"T1221", "T1187"}})
	}
	if len(oleLinks[targetWeb]) > 0 {
		s.out.Finding(parsers.Finding{Code: "ooxml.external_relationship", Severity: parsers.High,
			Detail: "OLE link to an object on the internet (fetched and activated on open): " + joinCapped(oleLinks[targetWeb]),
			Attack: []string{"T1203", "T1221"}})
	}
	if len(oleLinks[targetShare]) > 0 {
		s.out.Finding(parsers.Finding{Code: "ooxml.external_relationship", Severity: parsers.Medium,
			Detail: "OLE link to an object on a network share: " + joinCapped(oleLinks[targetShare]),
			Attack: []string{"T1187"}})
	}
	for _, t := range oleLinks[targetLocal] {
		other = append(other, "oleObject → "+t)
	}
	if len(other) > 0 {
		s.out.Finding(parsers.Finding{Code: "ooxml.external_relationship", Severity: parsers.Low,
			Detail: "external relationships: " + joinCapped(other)})
	}
}

func joinCapped(items []string) string {
	if len(items) <= maxDetailItems {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:maxDetailItems], "; ") + fmt.Sprintf("; and %d more", len(items)-maxDetailItems)
}

// emitChildren hands the parts other parsers and rules need to the
// pipeline, most important first.
func (s *scan) emitChildren() {
	for _, p := range s.vbaParts() {
		s.childPart(p)
	}
	for i, v := range s.videos {
		s.child(parsers.Child{Name: fmt.Sprintf("online_video_%d.html", i+1), Data: []byte(v.html), Type: "html", Text: true,
			Meta: map[string]any{"source_part": v.part}})
	}
	var embedded, activeX, macro, main []*part
	for _, p := range s.k.parts {
		lower := strings.ToLower(p.name)
		ct := strings.ToLower(s.contentType(p))
		switch {
		case strings.Contains(lower, "/embeddings/") || strings.Contains(ct, "oleobject"):
			embedded = append(embedded, p)
		case strings.Contains(lower, "/activex/") && strings.HasSuffix(lower, ".bin"):
			activeX = append(activeX, p)
		case isMacrosheetPart(p.name, ct):
			macro = append(macro, p)
		}
	}
	for _, n := range []string{s.mainPart, "word/document.xml", "xl/workbook.xml", "ppt/presentation.xml", "word/settings.xml"} {
		if p := s.k.get(n); p != nil {
			main = append(main, p)
		}
	}
	for _, group := range [][]*part{embedded, macro, activeX, main} {
		for _, p := range group {
			s.childPart(p)
		}
	}
	if s.childCut > 0 {
		s.out.Finding(parsers.Finding{Code: "ooxml.limit", Severity: parsers.Info,
			Detail: fmt.Sprintf("%d parts were not handed on: child limit reached", s.childCut)})
	}
}

func (s *scan) childPart(p *part) {
	if p == nil || s.emitted[p] {
		return
	}
	s.emitted[p] = true
	data := s.load(p)
	if len(data) == 0 && p.err != nil {
		return
	}
	s.child(parsers.Child{Name: p.name, Data: data, Err: p.err})
}

func (s *scan) child(c parsers.Child) {
	if s.children >= maxChildren {
		s.childCut++
		return
	}
	if err := s.out.Child(c); err != nil {
		s.childCut++
		s.children = maxChildren
		if len(s.errs) < 10 {
			s.errs = append(s.errs, err)
		}
		return
	}
	s.children++
}

// isMacrosheetPart reports whether a part is an Excel 4.0 macro sheet.
func isMacrosheetPart(name, ctype string) bool {
	if strings.Contains(strings.ToLower(ctype), "macrosheet") {
		return true
	}
	lower := strings.ToLower(name)
	for _, dir := range []string{"xl/macrosheets/", "xl/intlmacrosheets/"} {
		if rest, ok := strings.CutPrefix(lower, dir); ok {
			return !strings.Contains(rest, "/") && !strings.HasPrefix(rest, "binaryindex") &&
				(strings.HasSuffix(rest, ".xml") || strings.HasSuffix(rest, ".bin"))
		}
	}
	return false
}

// macroTemplateRE matches template URLs naming a macro-enabled document.
var macroTemplateRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\.(dotm|docm|xltm|xlsm|xlam|potm|pptm|ppam)([?#].*)?$`)
})
