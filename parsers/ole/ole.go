// Package ole parses OLE2 compound files (MS-CFB): Word, Excel and
// PowerPoint binary documents, vbaProject.bin parts and embedded OLE
// storages. It extracts VBA modules (as "vba" children for the vba
// parser), UserForm strings, document properties and OLE 1.0 packages,
// and reports encryption, locked VBA projects and VBA stomping.
package ole

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"triage/parsers"
	"triage/parsers/vba"
)

// Name is the parser name.
const Name = "ole"

// maxStreamsMeta bounds the stream paths listed in the "streams" meta.
const maxStreamsMeta = 200

// Parser parses compound files.
type Parser struct{}

// New returns an OLE parser.
func New() *Parser { return &Parser{} }

// Name implements parsers.Parser.
func (p *Parser) Name() string { return Name }

// Match implements parsers.Parser: compound files detected as "ole"
// (Outlook .msg files are detected as "msg" and belong to another parser).
func (p *Parser) Match(a *parsers.Artifact, head []byte) bool {
	return a != nil && a.Type == "ole"
}

// run holds the state of one Parse call.
type run struct {
	ctx     context.Context
	in      *parsers.Input
	out     parsers.Sink
	budget  *parsers.Budget
	errs    []error
	noChild bool // the pipeline refused a child: stop emitting
	modules []string
}

// Parse implements parsers.Parser.
func (p *Parser) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	d, err := openDoc(in.Data, in.Budget)
	if err != nil {
		out.Finding(parsers.Finding{Code: "ole.malformed", Severity: parsers.Low, Detail: err.Error()})
		return err
	}
	r := &run{ctx: ctx, in: in, out: out, budget: in.Budget}
	r.describe(d)
	r.encryption(d)
	r.vbaProjects(d, "")
	r.powerPoint(d)
	r.embedded(d)
	r.forms(d)
	r.properties(d)
	if len(d.problems) > 0 {
		out.Finding(parsers.Finding{Code: "ole.malformed", Severity: parsers.Low, Detail: strings.Join(d.problems, "; ")})
		r.errs = append(r.errs, fmt.Errorf("%w: ole: %s", parsers.ErrMalformed, d.problems[0]))
	}
	if err := r.budget.Err(); err != nil {
		r.errs = append(r.errs, err)
	}
	return errors.Join(r.errs...)
}

// child emits c unless the pipeline already refused one.
func (r *run) child(c parsers.Child) {
	if r.noChild {
		return
	}
	if err := r.out.Child(c); err != nil {
		r.noChild = true
		if errors.Is(err, parsers.ErrLimit) {
			r.errs = append(r.errs, err)
		}
	}
}

// describe sets the container metadata.
func (r *run) describe(d *doc) {
	var streams []string
	for _, e := range d.entries[1:] {
		if e.Dir {
			continue
		}
		if len(streams) == maxStreamsMeta {
			streams = append(streams, fmt.Sprintf("… %d more", countStreams(d)-maxStreamsMeta))
			break
		}
		streams = append(streams, e.Path)
	}
	r.out.Meta("streams", streams)
	r.out.Meta("clsid", d.root().CLSID)
	if app := application(d); app != "" {
		r.out.Meta("application", app)
	}
}

func countStreams(d *doc) int {
	n := 0
	for _, e := range d.entries[1:] {
		if !e.Dir {
			n++
		}
	}
	return n
}

// application names the Office application that wrote d, from its streams.
func application(d *doc) string {
	switch {
	case d.lookup("WordDocument") != nil:
		return "word"
	case d.lookup("Workbook") != nil || d.lookup("Book") != nil:
		return "excel"
	case d.lookup("PowerPoint Document") != nil:
		return "powerpoint"
	case d.lookup("EncryptedPackage") != nil:
		return "encrypted-ooxml"
	case d.lookup("VBA/dir") != nil:
		return "vba-project"
	case d.lookup("__substg1.0_0037001F") != nil || d.lookup("__properties_version1.0") != nil:
		return "outlook"
	}
	return ""
}

// --- encryption ---

var schemeNames = map[string]string{
	"agile":         "ECMA-376 agile encryption (AES)",
	"standard":      "ECMA-376 standard encryption (AES)",
	"extensible":    "ECMA-376 extensible encryption",
	"rc4":           "Office binary RC4 encryption",
	"rc4-cryptoapi": "Office binary RC4 CryptoAPI encryption",
	"xor":           "Office binary XOR obfuscation",
	"unknown":       "encryption of an unknown kind",
}

func (r *run) encryption(d *doc) {
	enc := d.detectEncryption()
	r.out.Meta("encrypted", enc != nil)
	if enc == nil {
		return
	}
	r.out.Meta("encryption", enc.Scheme)
	detail := fmt.Sprintf("%s (%s)", schemeNames[enc.Scheme], enc.Where)
	var candidates []string
	if r.in.Env != nil {
		candidates = r.in.Env.Passwords()
	}
	pw, ok := tryPasswords(enc, candidates, r.budget)
	switch {
	case ok && pw == DefaultExcelPassword:
		detail += `; the password is Excel's default "VelvetSweatshop": the file opens without a prompt while scanners see ciphertext`
	case ok:
		detail += "; a password found in the message opens it"
	case enc.verify == nil:
		detail += "; password not checked"
	default:
		detail += "; no known password opens it"
	}
	if ok {
		r.out.Meta("password_known", true)
	}
	r.out.Finding(parsers.Finding{Code: "ole.encrypted", Severity: parsers.Medium, Detail: detail})
	if !ok || enc.decrypt == nil {
		if !ok {
			r.errs = append(r.errs, fmt.Errorf("%w: ole: %s", parsers.ErrUnsupported, schemeNames[enc.Scheme]))
		}
		return
	}
	plain, err := enc.decrypt(pw)
	if err != nil && !errors.Is(err, parsers.ErrLimit) {
		d.problem(fmt.Sprintf("decrypting the %s: %v", enc.Where, err))
		err = fmt.Errorf("%w: ole: decrypt: %v", parsers.ErrMalformed, err)
	}
	if err != nil {
		r.errs = append(r.errs, err)
	}
	if len(plain) == 0 {
		return
	}
	how := "message password"
	if pw == DefaultExcelPassword {
		how = DefaultExcelPassword
	}
	name := "decrypted"
	if base := baseName(r.in.Artifact.Name); base != "" {
		name = "decrypted-" + base
	}
	c := parsers.Child{Name: name, Data: plain, Meta: map[string]any{"decrypted_with": how, "encryption": enc.Scheme}, Err: err}
	if err == nil && !isZip(plain) {
		c.Err = fmt.Errorf("%w: ole: decrypted package is not a zip archive", parsers.ErrMalformed)
	}
	r.child(c)
}

// --- VBA ---

// procRE finds procedure definitions in VBA source.
var procRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?im)^[ \t]*(?:(?:Public|Private|Friend)[ \t]+)?(?:Static[ \t]+)?(?:Sub|Function|Property[ \t]+(?:Get|Let|Set))[ \t]+\w`)
})

// vbaProjects extracts every VBA project of d. prefix names the container
// of d in stream paths (for storages embedded in a PowerPoint file).
func (r *run) vbaProjects(d *doc, prefix string) {
	roots := d.vbaRoots()
	if prefix == "" {
		r.out.Meta("has_vba", len(roots) > 0)
	}
	for _, root := range roots {
		if r.budget.Err() != nil {
			return
		}
		open := d.streamFunc(root)
		where := joinPath(prefix, root)
		proj, err := vba.ExtractProject(r.ctx, open, r.budget)
		if err != nil {
			r.errs = append(r.errs, err)
			if !errors.Is(err, parsers.ErrLimit) {
				d.problem(fmt.Sprintf("VBA project in %q: %v", where, err))
			}
		}
		if proj == nil {
			continue
		}
		for i := range proj.Modules {
			if proj.Modules[i].Duplicate {
				continue // its error is the first module's
			}
			switch err := proj.Modules[i].Err; {
			case err == nil:
			case errors.Is(err, parsers.ErrLimit):
				r.errs = append(r.errs, err)
			default:
				d.problem(err.Error())
			}
		}
		r.reportProject(proj, open, where)
	}
}

func joinPath(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "/" + b
}

// maxModuleNames bounds the module names listed in the ole.vba_project
// detail; maxModulesMeta those in the vba_modules meta.
const (
	maxModuleNames = 32
	maxModulesMeta = 512
)

// maxCrossModuleText bounds the source text crossModule analyses per
// project (mraptor runs at about 5 MB/s).
const maxCrossModuleText = 1 << 20

func (r *run) reportProject(proj *vba.Project, open vba.StreamFunc, root string) {
	where := root
	if where == "" {
		where = "the root storage"
	}
	var names []string
	for i := range proj.Modules {
		if r.budget.Err() != nil {
			break
		}
		m := &proj.Modules[i]
		names = append(names, m.Filename)
		if len(r.modules) < maxModulesMeta {
			r.modules = append(r.modules, m.Filename)
		}
		if m.Duplicate {
			continue // emitted once, with the module that first named the stream
		}
		src := m.Source()
		if strings.TrimSpace(src) == "" && m.Err == nil {
			continue
		}
		c := parsers.Child{
			Name: m.Filename,
			Type: "vba",
			Text: true,
			Data: []byte(src),
			Meta: map[string]any{
				"stream":      joinPath(root, m.StreamName),
				"module_type": moduleType(m),
				"code_page":   int(proj.CodePage),
			},
			Err: m.Err,
		}
		r.child(c)
	}
	r.out.Meta("vba_modules", r.modules)
	r.out.Meta("vba_code_page", int(proj.CodePage))
	listed := names
	if len(listed) > maxModuleNames {
		listed = append(listed[:maxModuleNames:maxModuleNames], fmt.Sprintf("… %d more", len(names)-maxModuleNames))
	}
	detail := fmt.Sprintf("VBA project %q in %s, code page %s: %s", proj.Name, where, vba.CodePageName(proj.CodePage), strings.Join(listed, ", "))
	if len(names) == 0 {
		detail = fmt.Sprintf("VBA project %q in %s with no modules", proj.Name, where)
	}
	r.out.Finding(parsers.Finding{Code: "ole.vba_project", Severity: parsers.Info, Detail: detail})
	if proj.SkippedModules > 0 {
		r.out.Finding(parsers.Finding{Code: "ole.limit", Severity: parsers.Low,
			Detail: fmt.Sprintf("VBA project %q in %s lists %d modules: only the first %d were extracted",
				proj.Name, where, len(proj.Modules)+proj.SkippedModules, vba.MaxProjectModules)})
	}
	r.sharedStreams(proj, root)

	if pr := proj.Protection; pr.Locked() {
		var why []string
		if pr.Password {
			why = append(why, "DPB holds a password hash")
		}
		if pr.UserProtected {
			why = append(why, "CMG marks it user-protected")
		}
		if pr.Hidden {
			why = append(why, "GC hides it from the editor")
		}
		r.out.Finding(parsers.Finding{
			Code: "ole.vba_locked", Severity: parsers.Low, Campaign: "emotet",
			Detail: "VBA project is password-protected: " + strings.Join(why, ", "),
		})
	}
	r.stomping(proj, open)
	r.crossModule(proj)
}

// sharedStreams reports module streams named by more than one module of
// proj: Office gives every module its own stream, so a shared one is a
// forged dir stream (at worst a decompression amplifier).
func (r *run) sharedStreams(proj *vba.Project, root string) {
	count := map[string]int{}
	var order []string
	for i := range proj.Modules {
		s := proj.Modules[i].StreamName
		if s == "" {
			continue
		}
		key := strings.ToLower(s)
		if count[key] == 0 {
			order = append(order, s)
		}
		count[key]++
	}
	var parts []string
	for _, s := range order {
		if n := count[strings.ToLower(s)]; n > 1 {
			parts = append(parts, fmt.Sprintf("%d modules share stream %s", n, joinPath(root, s)))
		}
	}
	if len(parts) == 0 {
		return
	}
	if len(parts) > 8 {
		parts = append(parts[:8:8], fmt.Sprintf("… %d more shared streams", len(parts)-8))
	}
	detail := strings.Join(parts, "; ")
	r.out.Finding(parsers.Finding{Code: "ole.malformed", Severity: parsers.Medium, Detail: detail})
	r.errs = append(r.errs, fmt.Errorf("%w: ole: VBA dir stream: %s", parsers.ErrMalformed, detail))
}

// crossModule applies mraptor to the project as a whole: Emotet-style
// documents put the auto-exec trigger in ThisDocument and the execute or
// write primitive in another module, which the per-module vba parser
// cannot connect. It reports only what no single module shows. Duplicate
// modules are skipped and at most maxCrossModuleText bytes analysed.
func (r *run) crossModule(proj *vba.Project) {
	var pa, pw, px bool
	var autoIn, capIn []string
	left := maxCrossModuleText
	for i := range proj.Modules {
		if r.budget.Err() != nil || left <= 0 {
			break
		}
		m := &proj.Modules[i]
		if m.Code == "" || m.Duplicate {
			continue
		}
		code := m.Code
		if len(code) > left {
			code = strings.ToValidUTF8(code[:left], "")
		}
		left -= len(code)
		a, w, x := vba.MRaptorFlags(code)
		if a && (w || x) {
			return // the vba parser reports this module itself
		}
		if a {
			pa = true
			autoIn = append(autoIn, m.Filename)
		}
		if w || x {
			pw, px = pw || w, px || x
			capIn = append(capIn, m.Filename)
		}
	}
	if !pa || !(pw || px) {
		return
	}
	var caps []string
	if pw {
		caps = append(caps, "write")
	}
	if px {
		caps = append(caps, "execute")
	}
	r.out.Finding(parsers.Finding{Code: "ole.vba_mraptor", Severity: parsers.High, Attack: []string{"T1204.002"},
		Detail: fmt.Sprintf("auto-exec in %s with %s in %s (mraptor across modules)",
			strings.Join(autoIn, ", "), strings.Join(caps, "/"), strings.Join(capIn, ", "))})
}

func moduleType(m *vba.Module) string {
	if m.Kind != "" {
		return m.Kind
	}
	if m.Type == vba.Procedural {
		return vba.KindProcedural
	}
	return "unknown"
}

// Stomping thresholds: an empty document module compiles to about 1 KB of
// p-code, so only a much larger cache behind a source without procedures
// counts; p-code string literals absent from the source count too.
const (
	stompPCodeMin     = 4096
	stompLiteralMin   = 10 // shortest p-code string literal considered
	stompLiteralLoose = 16 // with procedures in the source, only longer ones
)

// pcodeLiteralRE finds text runs in p-code: string literals and comments
// are stored there as they appear in the source.
var pcodeLiteralRE = regexp.MustCompile(`[\x20-\x7e]{10,}`)

// stomping reports modules whose compiled p-code does not match their
// source: VBA stomping (the source is wiped or replaced while Office runs
// the p-code of the matching version).
func (r *run) stomping(proj *vba.Project, open vba.StreamFunc) {
	if proj.VBAProjectSize <= 7 || proj.VBAProjectVersion == 0xFFFF {
		return // no p-code cache, or one Office must ignore
	}
	var hits []string
	for i := range proj.Modules {
		if r.budget.Err() != nil {
			break
		}
		m := &proj.Modules[i]
		if m.StreamName == "" || m.PCodeSize == 0 || m.Duplicate {
			continue
		}
		raw, err := open(m.StreamName)
		if err != nil || len(raw) < m.PCodeSize {
			continue
		}
		src := m.Source()
		hasProc := procRE().MatchString(src)
		var missing []string
		for _, lit := range pcodeLiteralRE.FindAllString(string(raw[:m.PCodeSize]), 64) {
			lit = strings.TrimSpace(lit)
			if len(lit) < stompLiteralMin || letters(lit) < 3 || strings.Contains(src, lit) {
				continue
			}
			if hasProc && len(lit) < stompLiteralLoose {
				continue
			}
			missing = append(missing, lit)
		}
		var why string
		switch {
		case !hasProc && m.PCodeSize >= stompPCodeMin:
			why = fmt.Sprintf("%s: %d bytes of p-code behind a source without procedures", m.Filename, m.PCodeSize)
		case !hasProc && len(missing) > 0:
			why = fmt.Sprintf("%s: p-code holds text absent from the (procedure-less) source", m.Filename)
		case hasProc && len(missing) >= 2:
			why = fmt.Sprintf("%s: p-code holds %d texts absent from the source", m.Filename, len(missing))
		default:
			continue
		}
		hits = append(hits, why)
		if len(missing) > 0 {
			r.child(parsers.Child{
				Name: m.Filename + ".pcode.strings",
				Type: "text",
				Text: true,
				Data: []byte(strings.Join(missing, "\n") + "\n"),
				Meta: map[string]any{"stream": m.StreamName},
			})
		}
	}
	if len(hits) > 0 {
		r.out.Finding(parsers.Finding{
			Code: "ole.vba_stomping", Severity: parsers.High, Attack: []string{"T1564.007"},
			Detail: "VBA source does not match the compiled p-code (VBA stomping): " + strings.Join(hits, "; "),
		})
	}
}

func letters(s string) int {
	n := 0
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			n++
		}
	}
	return n
}

// --- PowerPoint ---

// powerPoint handles the ExOleObjStg storages of a .ppt: VBA projects are
// extracted here, other embedded storages are emitted as children.
func (r *run) powerPoint(d *doc) {
	e := d.lookup("PowerPoint Document")
	if e == nil || e.Dir || d.pptEncrypted() {
		return
	}
	stream, err := d.read(e)
	if err != nil && len(stream) == 0 {
		r.errs = append(r.errs, err)
		return
	}
	stores, err := pptStorages(stream, r.budget)
	if err != nil {
		d.problem(err.Error())
	}
	hasVBA := false
	for _, s := range stores {
		if s.Err != nil {
			d.problem(s.Err.Error())
		}
		if len(s.Data) == 0 {
			continue
		}
		sub, err := openDoc(s.Data, r.budget)
		if err != nil {
			d.problem(fmt.Sprintf("ExOleObjStg at %d: %v", s.Offset, err))
			continue
		}
		where := fmt.Sprintf("ExOleObjStg@%d", s.Offset)
		if len(sub.vbaRoots()) > 0 {
			hasVBA = true
			r.vbaProjects(sub, where)
			continue
		}
		r.child(parsers.Child{Name: where, Data: s.Data, Meta: map[string]any{"ppt_offset": s.Offset}, Err: s.Err})
	}
	if hasVBA {
		r.out.Meta("has_vba", true)
	}
}

// --- embedded objects ---

// embedded emits OLE 1.0 packages (\x01Ole10Native), OOXML packages
// ("Package") and other object contents ("CONTENTS"), and records URLs of
// linked objects (\x01Ole monikers).
func (r *run) embedded(d *doc) {
	for _, e := range d.entries[1:] {
		if e.Dir || r.budget.Err() != nil {
			continue
		}
		switch strings.ToLower(e.Name) {
		case "\x01ole10native":
			r.native(d, e)
		case "package", "contents":
			if strings.EqualFold(e.Parent, "") {
				continue // a top-level CONTENTS is the document itself (e.g. Works)
			}
			data, err := d.read(e)
			if len(data) == 0 {
				continue
			}
			r.child(parsers.Child{Name: e.Path, Data: data, Meta: map[string]any{"stream": e.Path}, Err: err})
		case "\x01ole":
			data, _ := d.read(e)
			for _, u := range monikerURLs(data) {
				r.out.URL(u)
				r.out.Finding(parsers.Finding{Code: "ole.link_moniker", Severity: parsers.Medium,
					Detail: fmt.Sprintf("linked OLE object %s points to %s", e.Parent, u)})
			}
		}
	}
}

func (r *run) native(d *doc, e *entry) {
	data, err := d.read(e)
	if len(data) == 0 {
		return
	}
	n, perr := ParseNative(data)
	if perr != nil {
		d.problem(fmt.Sprintf("%s: %v", e.Path, perr))
	}
	if n != nil && n.LinkPath != "" {
		f := parsers.Finding{Code: "ole.embedded_object", Severity: parsers.Low,
			Detail: fmt.Sprintf("package %q links to %q", n.Label, n.LinkPath)}
		if riskyExtensions[extOf(n.LinkPath)] {
			f.Severity, f.Attack = parsers.Medium, []string{"T1204.002"}
		}
		r.out.Finding(f)
		return
	}
	if n == nil || n.Data == nil {
		return
	}
	name := n.Label
	if name == "" {
		name = baseName(n.SourcePath)
	}
	if name == "" {
		name = e.Path
	}
	meta := map[string]any{"ole10native_label": n.Label, "source_path": n.SourcePath, "stream": e.Path}
	if n.TempPath != "" {
		meta["temp_path"] = n.TempPath
	}
	if err == nil {
		err = perr
	}
	r.child(parsers.Child{Name: name, Data: n.Data, Meta: meta, Err: err})

	ext := extOf(name)
	kind := contentKind(n.Data)
	f := parsers.Finding{Code: "ole.embedded_object", Severity: parsers.Low,
		Detail: fmt.Sprintf("embedded file %q (%d bytes) from %q", name, len(n.Data), n.SourcePath)}
	if riskyExtensions[ext] || kind != "" {
		f.Severity = parsers.Medium
		f.Attack = []string{"T1204.002"}
		if kind != "" && kind != ext {
			f.Detail += fmt.Sprintf("; content is %s", kind)
		}
	}
	if ext == "lnk" || kind == "lnk" {
		f.Campaign = "lnk"
	}
	r.out.Finding(f)
}

// monikerURLs finds URLs in an \x01Ole stream (URL monikers are UTF-16).
func monikerURLs(b []byte) []string {
	var texts []string
	for align := 0; align < 2; align++ {
		texts = append(texts, utf16Runs(b, align)...)
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range texts {
		for _, m := range urlRE().FindAllString(t, 8) {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}

var urlRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)\b(?:https?|ftp|file)://[^\s"'<>\x00]+`) })

// --- forms ---

// forms emits the strings of every UserForm ("f" and "o" streams).
func (r *run) forms(d *doc) {
	for _, e := range d.entries[1:] {
		if !e.Dir || r.budget.Err() != nil {
			continue
		}
		o := d.lookup(e.Path + "/o")
		if o == nil || o.Dir || d.lookup(e.Path+"/f") == nil {
			continue
		}
		data, err := d.read(o)
		if len(data) == 0 {
			continue
		}
		strs := formStrings(data, r.budget.Limits.MaxTextBytes)
		if len(strs) == 0 {
			continue
		}
		r.child(parsers.Child{
			Name: e.Name + ".strings",
			Type: "text",
			Text: true,
			Data: []byte(strings.Join(strs, "\n") + "\n"),
			Meta: map[string]any{"stream": o.Path},
			Err:  err,
		})
	}
}

// --- properties ---

// longProperty is the value length past which properties are emitted as
// text for YARA (Emotet hid strings in document properties).
const longProperty = 40

func (r *run) properties(d *doc) {
	all := map[string]string{}
	for _, name := range []string{"\x05SummaryInformation", "\x05DocumentSummaryInformation"} {
		e := d.lookup(name)
		if e == nil || e.Dir {
			continue
		}
		data, _ := d.read(e)
		props, err := readProperties(data)
		if err != nil {
			d.problem(fmt.Sprintf("%q: %v", e.Path, err))
		}
		for k, v := range props {
			all[k] = v
		}
	}
	if len(all) == 0 {
		return
	}
	r.out.Meta("properties", all)
	long := false
	for _, v := range all {
		if len([]rune(v)) > longProperty {
			long = true
		}
	}
	if long {
		r.child(parsers.Child{Name: "properties.txt", Type: "text", Text: true, Data: []byte(propertiesText(all))})
	}
}
