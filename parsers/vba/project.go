package vba

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf8"

	"triage/parsers"
)

// StreamFunc returns the raw content of a stream of one VBA project
// storage, named relative to that storage: "PROJECT", "PROJECTwm",
// "VBA/dir", "VBA/_VBA_PROJECT" or "VBA/<module stream>". Names compare
// case-insensitively, as in a compound file. It returns an error wrapping
// fs.ErrNotExist when the stream is absent.
type StreamFunc func(name string) ([]byte, error)

// Module kinds, from the PROJECT stream (olevba's file extensions).
const (
	KindProcedural = "procedural" // Module=  → .bas
	KindDocument   = "document"   // Document= → .cls
	KindClass      = "class"      // Class=    → .cls
	KindForm       = "form"       // BaseClass= → .frm
)

// Module is one extracted VBA module.
type Module struct {
	Name       string // module name (MODULENAME, in the project code page)
	StreamName string // stream path inside the VBA project storage, "VBA/<stream>"
	// Filename is the name olevba gives the module: the name plus .bas,
	// .cls or .frm from the PROJECT stream, or .vba when it is not listed.
	Filename string
	Kind     string     // KindProcedural, KindDocument, KindClass, KindForm or ""
	Type     ModuleType // MODULETYPE from the dir stream (0 when missing)
	// Code is the whole decompressed source decoded to UTF-8, including the
	// "Attribute VB_" header lines and the original CRLF line ends.
	Code       string
	TextOffset int // where the compressed source starts in the module stream
	PCodeSize  int // bytes before TextOffset: the compiled p-code cache
	StreamSize int // size of the module stream
	ReadOnly   bool
	Private    bool
	// Duplicate is true when an earlier module of the project names the
	// same stream at the same text offset: its Code (and Err) are that
	// module's, shared rather than decompressed again. Office never writes
	// such a project; a dir stream that repeats one module thousands of
	// times is a decompression amplifier.
	Duplicate bool
	// Err tells why Code is missing or partial (stream absent, text offset
	// past the stream end, corrupt compression, budget).
	Err error
}

// Source returns the code as olevba shows it: without the leading
// "Attribute VB_" lines.
func (m *Module) Source() string { return FilterAttributes(m.Code) }

// Protection is the decoded protection state of the PROJECT stream
// (MS-OVBA 2.3.1.16-18).
type Protection struct {
	// UserProtected etc. come from CMG (ProjectProtectionState).
	UserProtected, HostProtected, VBEProtected bool
	// Password is true when DPB holds a password hash or a password
	// rather than the single null byte of an unprotected project.
	Password bool
	// Hidden is true when GC (ProjectVisibilityState) is 0x00: the project
	// cannot be viewed without the password.
	Hidden bool
	// Raw values as found.
	CMG, DPB, GC string
}

// Locked reports whether the project is password-protected or hidden.
func (p Protection) Locked() bool { return p.Password || p.UserProtected || p.Hidden }

// Project is an extracted VBA project.
type Project struct {
	Name     string
	CodePage uint16
	SysKind  uint32
	Modules  []Module
	// ModuleKinds maps lower-case module names to their kind, from the
	// PROJECT stream.
	ModuleKinds map[string]string
	Protection  Protection
	// VBAProjectSize is the size of the VBA/_VBA_PROJECT stream: 7 bytes
	// of header when the project has no compiled p-code cache.
	VBAProjectSize int
	// VBAProjectVersion is the version field of _VBA_PROJECT (0xFFFF when
	// the p-code must be ignored).
	VBAProjectVersion uint16
	Dir               *Dir
	Warnings          []string
	// SkippedModules counts the modules of the dir stream past
	// MaxProjectModules, which were not extracted.
	SkippedModules int
}

// MaxProjectStream bounds the PROJECT stream text we parse.
const MaxProjectStream = 1 << 20

// MaxProjectModules bounds the modules extracted from one project (Office
// projects hold a few dozen at most); the rest are counted in
// Project.SkippedModules.
const MaxProjectModules = 512

// maxRetainedStreams bounds the raw module stream bytes ExtractProject
// keeps for reuse; streams past it are read again when needed.
const maxRetainedStreams = 16 << 20

// ExtractProject reads the VBA project whose streams open returns: it
// decompresses and parses the dir stream, reads the PROJECT stream for
// module kinds and protection, and decompresses every module's source.
// All decompression draws from budget. Each module stream is read once and
// each (stream, text offset) pair decompressed once: modules repeating one
// are marked Duplicate. At most MaxProjectModules modules are extracted.
// It returns the partial project and an error wrapping parsers.ErrMalformed
// (or a limit error: ErrTooMany past MaxProjectModules, a budget error) when
// the dir stream is damaged or cut; problems with one module are left on
// Module.Err.
func ExtractProject(ctx context.Context, open StreamFunc, budget *parsers.Budget) (*Project, error) {
	p := &Project{CodePage: DefaultCodePage, ModuleKinds: map[string]string{}}
	rawDir, err := open("VBA/dir")
	if err != nil {
		return p, fmt.Errorf("vba: dir stream: %w", err)
	}
	dirData, derr := decompress(rawDir, budget)
	if derr != nil && len(dirData) == 0 {
		return p, fmt.Errorf("vba: dir stream: %w", derr)
	}
	dir, perr := ParseDir(dirData)
	p.Dir = dir
	if dir.HasCodePage {
		p.CodePage = dir.CodePage
	}
	p.SysKind = dir.SysKind
	p.Name = DecodeCodePage(p.CodePage, dir.NameBytes)
	p.Warnings = append(p.Warnings, dir.Warnings...)
	var firstErr error
	switch {
	case derr != nil:
		firstErr = fmt.Errorf("vba: dir stream: %w", derr)
	case perr != nil:
		firstErr = perr
	}

	if raw, err := open("PROJECT"); err == nil {
		if len(raw) > MaxProjectStream {
			raw = raw[:MaxProjectStream]
			p.Warnings = append(p.Warnings, "PROJECT stream truncated")
		}
		p.parseProjectStream(raw)
	}
	if raw, err := open("VBA/_VBA_PROJECT"); err == nil {
		p.VBAProjectSize = len(raw)
		if len(raw) >= 4 {
			p.VBAProjectVersion = uint16(raw[2]) | uint16(raw[3])<<8
		}
	}

	mods := dir.Modules
	if len(mods) > MaxProjectModules {
		p.SkippedModules = len(mods) - MaxProjectModules
		mods = mods[:MaxProjectModules]
		if firstErr == nil {
			firstErr = fmt.Errorf("%w: vba: project lists %d modules, only the first %d were extracted", parsers.ErrTooMany, len(dir.Modules), MaxProjectModules)
		}
	}
	sc := &streamCache{open: open, budget: budget, raw: map[string]*rawStream{}, texts: map[textKey]*moduleText{}}
	for i := range mods {
		if err := ctx.Err(); err != nil {
			return p, fmt.Errorf("%w: %v", parsers.ErrDeadline, err)
		}
		if err := budget.Err(); err != nil {
			return p, err
		}
		p.Modules = append(p.Modules, p.extractModule(&mods[i], sc))
	}
	return p, firstErr
}

// streamCache reads the module streams of one project: each stream is
// opened once (its bytes kept while they fit in maxRetainedStreams) and
// each (stream, text offset) pair decompressed once.
type streamCache struct {
	open     StreamFunc
	budget   *parsers.Budget
	raw      map[string]*rawStream // by lower-case stream name
	retained int
	texts    map[textKey]*moduleText
}

type rawStream struct {
	data []byte // nil when not retained (or empty)
	size int
	err  error
}

type textKey struct {
	stream string // lower-case name
	offset uint32
}

type moduleText struct {
	code string
	err  error // decompression error
}

// stat opens name once and returns its size, or the error opening it.
func (c *streamCache) stat(name string) (*rawStream, []byte) {
	key := strings.ToLower(name)
	if rs, ok := c.raw[key]; ok {
		return rs, rs.data
	}
	data, err := c.open(name)
	rs := &rawStream{size: len(data), err: err}
	if err == nil && c.retained+len(data) <= maxRetainedStreams {
		rs.data = data
		c.retained += len(data)
	}
	c.raw[key] = rs
	return rs, data
}

// text returns the decompressed source of name from offset on; data is
// the stream when the caller holds it (nil otherwise). shared is true when
// an earlier call decompressed the same pair.
func (c *streamCache) text(name string, offset uint32, data []byte, cp uint16) (t *moduleText, shared bool) {
	key := textKey{strings.ToLower(name), offset}
	if t, ok := c.texts[key]; ok {
		return t, true
	}
	if data == nil {
		var err error
		if data, err = c.open(name); err != nil {
			t = &moduleText{err: err}
			c.texts[key] = t
			return t, false
		}
	}
	if int64(offset) > int64(len(data)) { // the size changed between reads
		offset = uint32(len(data))
	}
	code, derr := decompress(data[offset:], c.budget)
	t = &moduleText{code: DecodeCodePage(cp, code), err: derr}
	c.texts[key] = t
	return t, false
}

func (p *Project) extractModule(dm *DirModule, sc *streamCache) Module {
	m := Module{
		Name:       DecodeCodePage(p.CodePage, dm.NameBytes),
		Type:       dm.Type,
		TextOffset: int(dm.TextOffset),
		ReadOnly:   dm.ReadOnly,
		Private:    dm.Private,
	}
	if m.Name == "" {
		m.Name = dm.NameUnicode
	}
	kind, ok := p.ModuleKinds[strings.ToLower(m.Name)]
	m.Kind = kind
	ext := "vba"
	if ok {
		ext = kindExt[kind]
	}
	m.Filename = m.Name + "." + ext
	if !ok && dm.Type == Procedural {
		m.Kind = KindProcedural
	}

	// Try the names olevba tries, in its order.
	candidates := []string{DecodeCodePage(p.CodePage, dm.StreamNameBytes), dm.StreamUnicode, m.Name, dm.NameUnicode}
	var data []byte
	var err error = fs.ErrNotExist
	for _, name := range candidates {
		if name == "" {
			continue
		}
		var rs *rawStream
		rs, data = sc.stat("VBA/" + name)
		if err = rs.err; err == nil {
			m.StreamName = "VBA/" + name
			m.StreamSize = rs.size
			break
		}
	}
	if err != nil {
		m.Err = fmt.Errorf("vba: module %q: stream: %w", m.Name, err)
		return m
	}
	if !dm.HasOffset {
		m.Err = fmt.Errorf("%w: vba: module %q: no MODULEOFFSET record", parsers.ErrMalformed, m.Name)
		return m
	}
	if int64(dm.TextOffset) >= int64(m.StreamSize) {
		m.PCodeSize = m.StreamSize
		m.Err = fmt.Errorf("%w: vba: module %q: text offset %d at or past the stream end (%d bytes)", parsers.ErrMalformed, m.Name, dm.TextOffset, m.StreamSize)
		return m
	}
	m.PCodeSize = int(dm.TextOffset)
	t, shared := sc.text(m.StreamName, dm.TextOffset, data, p.CodePage)
	m.Code, m.Duplicate = t.code, shared
	if t.err != nil {
		m.Err = fmt.Errorf("vba: module %q: %w", m.Name, t.err)
	}
	return m
}

var kindExt = map[string]string{
	KindProcedural: "bas",
	KindDocument:   "cls",
	KindClass:      "cls",
	KindForm:       "frm",
}

// parseProjectStream reads the module list and protection values of the
// PROJECT stream (MS-OVBA 2.3.1), one "Key=Value" per line, as olevba does.
func (p *Project) parseProjectStream(raw []byte) {
	for len(raw) > 0 {
		var line []byte
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			line, raw = raw, nil
		}
		text := strings.TrimSpace(DecodeCodePage(p.CodePage, line))
		key, value, ok := strings.Cut(text, "=")
		if !ok {
			continue
		}
		lower := strings.ToLower(value)
		switch key {
		case "Document":
			name, _, _ := strings.Cut(lower, "/")
			p.ModuleKinds[name] = KindDocument
		case "Module":
			p.ModuleKinds[lower] = KindProcedural
		case "Class":
			p.ModuleKinds[lower] = KindClass
		case "BaseClass":
			p.ModuleKinds[lower] = KindForm
		case "CMG":
			p.Protection.CMG = unquote(value)
			if b, ok := decryptProjectValue(p.Protection.CMG); ok && len(b) >= 1 {
				p.Protection.UserProtected = b[0]&1 != 0
				p.Protection.HostProtected = b[0]&2 != 0
				p.Protection.VBEProtected = b[0]&4 != 0
			}
		case "DPB":
			p.Protection.DPB = unquote(value)
			if b, ok := decryptProjectValue(p.Protection.DPB); ok {
				p.Protection.Password = !(len(b) == 1 && b[0] == 0)
			}
		case "GC":
			p.Protection.GC = unquote(value)
			if b, ok := decryptProjectValue(p.Protection.GC); ok && len(b) >= 1 {
				p.Protection.Hidden = b[0] == 0x00
			}
		}
	}
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// decryptProjectValue undoes the Data Encryption of MS-OVBA 2.4.3 applied
// to the CMG, DPB and GC values (hex text). It returns the data bytes.
func decryptProjectValue(hexText string) ([]byte, bool) {
	if len(hexText)%2 != 0 || len(hexText) < 16 || len(hexText) > 4096 {
		return nil, false
	}
	enc := make([]byte, len(hexText)/2)
	for i := range enc {
		hi, ok1 := unhex(hexText[2*i])
		lo, ok2 := unhex(hexText[2*i+1])
		if !ok1 || !ok2 {
			return nil, false
		}
		enc[i] = hi<<4 | lo
	}
	seed := enc[0]
	versionEnc := enc[1]
	if seed^versionEnc != 2 {
		return nil, false
	}
	projKeyEnc := enc[2]
	unencrypted1 := seed ^ projKeyEnc
	encrypted1 := projKeyEnc
	encrypted2 := versionEnc
	pos := 3
	next := func() (byte, bool) {
		if pos >= len(enc) {
			return 0, false
		}
		be := enc[pos]
		pos++
		b := be ^ (encrypted2 + unencrypted1)
		encrypted2, encrypted1, unencrypted1 = encrypted1, be, b
		return b, true
	}
	for range int(seed&6) / 2 {
		if _, ok := next(); !ok {
			return nil, false
		}
	}
	var length uint32
	for i := range 4 {
		b, ok := next()
		if !ok {
			return nil, false
		}
		length |= uint32(b) << (8 * i)
	}
	if int64(length) > int64(len(enc)-pos) {
		return nil, false
	}
	data := make([]byte, 0, length)
	for range length {
		b, _ := next()
		data = append(data, b)
	}
	return data, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decompress runs a CompressedContainer through the budget.
func decompress(raw []byte, budget *parsers.Budget) ([]byte, error) {
	if budget == nil {
		return Decompress(raw, 32*parsers.MiB)
	}
	return budget.ReadAll(NewReader(raw), int64(len(raw)))
}

// FilterAttributes removes the leading "Attribute VB_" lines that Office
// adds to every module and the VBA editor hides, exactly as olevba's
// filter_vba does: lines are split on any line break and joined with "\n";
// a line with a colon is kept (it could hide a statement).
func FilterAttributes(code string) string {
	lines := splitLines(code)
	start := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "Attribute VB_") && !strings.Contains(l, ":") {
			start++
			continue
		}
		break
	}
	return strings.Join(lines[start:], "\n")
}

// splitLines splits like Python's str.splitlines: on \n, \r, \r\n and the
// other Unicode line boundaries, without a trailing empty line.
func splitLines(s string) []string {
	var lines []string
	start := 0
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= 0x80 {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		switch r {
		case '\n', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			lines = append(lines, s[start:i])
			start = i + size
		case '\r':
			lines = append(lines, s[start:i])
			if i+1 < len(s) && s[i+1] == '\n' {
				size = 2
			}
			start = i + size
		}
		i += size
	}
	if start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines
}
