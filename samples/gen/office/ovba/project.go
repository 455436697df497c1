// Package ovba writes VBA projects as Office stores them (MS-OVBA): the
// PROJECT and PROJECTwm streams, the VBA storage (dir, _VBA_PROJECT and one
// stream per module with its source in MS-OVBA compression) and, for
// UserForms, the MS-OFORMS designer storage.
package ovba

import (
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"

	"triage/samples/gen/office/cfb"
)

// ModuleKind selects the module type and its Attribute header.
type ModuleKind int

const (
	// Procedural is a standard module (Module1).
	Procedural ModuleKind = iota
	// Document is a host document module (ThisDocument, ThisWorkbook, Sheet1).
	Document
	// Class is a class module.
	Class
	// Form is a UserForm module; its controls are written to a designer storage.
	Form
)

// Well-known VB_Base values of document modules.
const (
	BaseWordDocument  = "1Normal.ThisDocument"
	BaseExcelWorkbook = "0{00020819-0000-0000-C000-000000000046}"
	BaseExcelSheet    = "0{00020820-0000-0000-C000-000000000046}"
)

// TextBox is a Microsoft Forms 2.0 TextBox on a UserForm.
type TextBox struct {
	Name  string
	Value string
}

// Module is one VBA module.
type Module struct {
	Name string
	Kind ModuleKind
	// Base is the VB_Base attribute of a Document module (see the Base*
	// constants); Form modules get one derived from the project.
	Base string
	// Code is the source after the Attribute lines; line ends become CRLF.
	Code string
	// TextBoxes are the controls of a Form module.
	TextBoxes []TextBox
}

// Project is a VBA project.
type Project struct {
	Name     string // PROJECTNAME; "Project" when empty
	ID       string // "{GUID}" of the PROJECT stream; derived from the content when empty
	CodePage int    // 1252 (default) or 932 (Shift_JIS)
	LCID     uint32 // 0x0409 when zero
	// DocString is the project description.
	DocString string
	// Password, when set, locks the project: CMG marks it user- and
	// VBE-protected, DPB carries the salted SHA-1 hash structure and GC
	// hides it.
	Password string
	Modules  []Module
}

func (p *Project) codec() (encoding.Encoding, error) {
	switch p.CodePage {
	case 0, 1252:
		return charmap.Windows1252, nil
	case 932:
		return japanese.ShiftJIS, nil
	}
	return nil, fmt.Errorf("ovba: unsupported code page %d", p.CodePage)
}

func (p *Project) codePage() uint16 {
	if p.CodePage == 0 {
		return 1252
	}
	return uint16(p.CodePage)
}

func (p *Project) name() string {
	if p.Name == "" {
		return "Project"
	}
	return p.Name
}

func (p *Project) lcid() uint32 {
	if p.LCID == 0 {
		return 0x0409
	}
	return p.LCID
}

// projectID returns the PROJECT ID, deriving a stable GUID from the module
// names and code when none is set.
func (p *Project) projectID() string {
	if p.ID != "" {
		return p.ID
	}
	var sb strings.Builder
	sb.WriteString(p.name())
	for _, m := range p.Modules {
		sb.WriteString("\x00" + m.Name + "\x00" + m.Code)
	}
	return guid("project", sb.String())
}

// guid derives a GUID string from a label and seed (deterministic, not random).
func guid(label, seed string) string {
	h := sha1.Sum([]byte(label + "\x00" + seed))
	return fmt.Sprintf("{%08X-%04X-%04X-%04X-%012X}",
		binary.BigEndian.Uint32(h[0:]), binary.BigEndian.Uint16(h[4:]),
		binary.BigEndian.Uint16(h[6:])&0x0FFF|0x4000, binary.BigEndian.Uint16(h[8:])&0x3FFF|0x8000,
		h[10:16])
}

func (p *Project) encode(enc encoding.Encoding, s string) ([]byte, error) {
	b, err := enc.NewEncoder().Bytes([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("ovba: %q is not representable in code page %d: %w", s, p.codePage(), err)
	}
	return b, nil
}

// Source returns the module's full source text (Attribute lines and code)
// with CRLF line ends, as stored (before code-page encoding).
func (p *Project) Source(m Module) string {
	var sb strings.Builder
	attr := func(k, v string) { sb.WriteString("Attribute " + k + " = " + v + "\r\n") }
	attr("VB_Name", `"`+m.Name+`"`)
	switch m.Kind {
	case Document:
		attr("VB_Base", `"`+m.Base+`"`)
		attr("VB_GlobalNameSpace", "False")
		attr("VB_Creatable", "False")
		attr("VB_PredeclaredId", "True")
		attr("VB_Exposed", "True")
		attr("VB_TemplateDerived", boolStr(strings.HasPrefix(m.Base, "1Normal.")))
		attr("VB_Customizable", "True")
	case Class:
		attr("VB_GlobalNameSpace", "False")
		attr("VB_Creatable", "False")
		attr("VB_PredeclaredId", "False")
		attr("VB_Exposed", "False")
	case Form:
		attr("VB_Base", `"0`+guid("form-typelib", p.projectID()+m.Name)+guid("form-class", p.projectID()+m.Name)+`"`)
		attr("VB_GlobalNameSpace", "False")
		attr("VB_Creatable", "False")
		attr("VB_PredeclaredId", "True")
		attr("VB_Exposed", "False")
		attr("VB_TemplateDerived", "False")
		attr("VB_Customizable", "False")
	}
	code := strings.ReplaceAll(strings.ReplaceAll(m.Code, "\r\n", "\n"), "\n", "\r\n")
	if code != "" && !strings.HasSuffix(code, "\r\n") {
		code += "\r\n"
	}
	sb.WriteString(code)
	return sb.String()
}

func boolStr(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// PCodeSize is the length of the placeholder performance cache written
// before each module's compressed source (MODULEOFFSET).
const PCodeSize = 0x80

// fakePCode returns a placeholder performance cache: a version-like header
// and filler. _VBA_PROJECT declares version 0xFFFF, so readers and VBA
// itself ignore it and compile from source.
func fakePCode(name string) []byte {
	b := make([]byte, PCodeSize)
	copy(b, []byte{0x01, 0x16, 0x03, 0x00})
	h := fnv.New32a()
	h.Write([]byte(name))
	binary.LittleEndian.PutUint32(b[4:], h.Sum32())
	for i := 8; i < len(b); i++ {
		b[i] = 0xFF
	}
	return b
}

// Write stores the project below st: PROJECT, PROJECTwm, VBA/ and one
// designer storage per Form module. For a .doc st is the "Macros"
// storage, for a .xls "_VBA_PROJECT_CUR", for vbaProject.bin the root.
func (p *Project) Write(st *cfb.Storage) error {
	if len(p.Modules) == 0 {
		return fmt.Errorf("ovba: project has no modules")
	}
	enc, err := p.codec()
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, m := range p.Modules {
		k := strings.ToUpper(m.Name)
		if m.Name == "" || seen[k] {
			return fmt.Errorf("ovba: empty or duplicate module name %q", m.Name)
		}
		seen[k] = true
		if m.Kind == Document && m.Base == "" {
			return fmt.Errorf("ovba: document module %q needs a VB_Base", m.Name)
		}
	}
	dir, err := p.dirStream(enc)
	if err != nil {
		return err
	}
	vba := st.Storage("VBA")
	vba.Stream("dir", Compress(dir))
	vba.Stream("_VBA_PROJECT", []byte{0xCC, 0x61, 0xFF, 0xFF, 0x00, 0x00, 0x00})
	for _, m := range p.Modules {
		src, err := p.encode(enc, p.Source(m))
		if err != nil {
			return err
		}
		vba.Stream(m.Name, append(fakePCode(m.Name), Compress(src)...))
		if m.Kind == Form {
			if err := p.writeDesigner(st, enc, m); err != nil {
				return err
			}
		}
	}
	proj, err := p.projectStream(enc)
	if err != nil {
		return err
	}
	st.Stream("PROJECT", proj)
	wm, err := p.projectWM(enc)
	if err != nil {
		return err
	}
	st.Stream("PROJECTwm", wm)
	return nil
}

// Bin returns a vbaProject.bin: a compound file whose root holds the project.
func (p *Project) Bin() ([]byte, error) {
	root := cfb.NewRoot(cfb.CLSID{})
	if err := p.Write(root); err != nil {
		return nil, err
	}
	return cfb.Marshal(root)
}

// dirStream builds the uncompressed dir stream (MS-OVBA 2.3.4.2).
func (p *Project) dirStream(enc encoding.Encoding) ([]byte, error) {
	le := binary.LittleEndian
	var b []byte
	u16 := func(v uint16) { b = le.AppendUint16(b, v) }
	u32 := func(v uint32) { b = le.AppendUint32(b, v) }
	rec32 := func(id uint16, v uint32) { u16(id); u32(4); u32(v) }
	bytesRec := func(id uint16, v []byte) { u16(id); u32(uint32(len(v))); b = append(b, v...) }
	mbcs := func(s string) ([]byte, error) { return p.encode(enc, s) }

	name, err := mbcs(p.name())
	if err != nil {
		return nil, err
	}
	doc, err := mbcs(p.DocString)
	if err != nil {
		return nil, err
	}
	// PROJECTINFORMATION
	rec32(0x0001, 0x00000001) // PROJECTSYSKIND: 32-bit Windows
	rec32(0x0002, p.lcid())   // PROJECTLCID
	rec32(0x0014, p.lcid())   // PROJECTLCIDINVOKE
	u16(0x0003)               // PROJECTCODEPAGE
	u32(2)
	u16(p.codePage())
	bytesRec(0x0004, name) // PROJECTNAME
	bytesRec(0x0005, doc)  // PROJECTDOCSTRING
	bytesRec(0x0040, utf16le(p.DocString))
	bytesRec(0x0006, nil) // PROJECTHELPFILEPATH: HelpFile1
	bytesRec(0x003D, nil) // HelpFile2
	rec32(0x0007, 0)      // PROJECTHELPCONTEXT
	rec32(0x0008, 0)      // PROJECTLIBFLAGS
	u16(0x0009)           // PROJECTVERSION
	u32(4)
	u32(0x65BE0257)       // VersionMajor
	u16(0x0011)           // VersionMinor
	bytesRec(0x000C, nil) // PROJECTCONSTANTS
	bytesRec(0x003C, nil)

	// PROJECTREFERENCES: stdole, a registered type library.
	bytesRec(0x0016, []byte("stdole")) // REFERENCENAME
	bytesRec(0x003E, utf16le("stdole"))
	libid := `*\G{00020430-0000-0000-C000-000000000046}#2.0#0#C:\Windows\System32\stdole2.tlb#OLE Automation`
	u16(0x000D) // REFERENCEREGISTERED
	u32(uint32(4 + len(libid) + 4 + 2))
	u32(uint32(len(libid)))
	b = append(b, libid...)
	u32(0)
	u16(0)

	// PROJECTMODULES
	u16(0x000F)
	u32(2)
	u16(uint16(len(p.Modules)))
	u16(0x0013) // PROJECTCOOKIE
	u32(2)
	u16(0xFFFF)
	for _, m := range p.Modules {
		mn, err := mbcs(m.Name)
		if err != nil {
			return nil, err
		}
		bytesRec(0x0019, mn)              // MODULENAME
		bytesRec(0x0047, utf16le(m.Name)) // MODULENAMEUNICODE
		bytesRec(0x001A, mn)              // MODULESTREAMNAME
		bytesRec(0x0032, utf16le(m.Name))
		bytesRec(0x001C, nil) // MODULEDOCSTRING
		bytesRec(0x0048, nil)
		rec32(0x0031, PCodeSize) // MODULEOFFSET
		rec32(0x001E, 0)         // MODULEHELPCONTEXT
		u16(0x002C)              // MODULECOOKIE
		u32(2)
		u16(0xFFFF)
		if m.Kind == Procedural {
			u16(0x0021) // MODULETYPE: procedural
		} else {
			u16(0x0022) // MODULETYPE: document, class or designer
		}
		u32(0)
		u16(0x002B) // module terminator
		u32(0)
	}
	u16(0x0010) // dir terminator
	u32(0)
	return b, nil
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

// projectStream builds the PROJECT stream (MS-OVBA 2.3.1).
func (p *Project) projectStream(enc encoding.Encoding) ([]byte, error) {
	id := p.projectID()
	var sb strings.Builder
	line := func(s string) { sb.WriteString(s + "\r\n") }
	line(`ID="` + id + `"`)
	hasForm := false
	for _, m := range p.Modules {
		if m.Kind == Form {
			hasForm = true
		}
	}
	for _, m := range p.Modules {
		if m.Kind == Document {
			line("Document=" + m.Name + "/&H00000000")
		}
	}
	if hasForm {
		line("Package={AC9F2F90-E877-11CE-9F68-00AA00574A4F}")
	}
	for _, m := range p.Modules {
		switch m.Kind {
		case Form:
			line("BaseClass=" + m.Name)
		case Procedural:
			line("Module=" + m.Name)
		case Class:
			line("Class=" + m.Name)
		}
	}
	line(`HelpFile=""`)
	line(`Name="` + p.name() + `"`)
	line(`HelpContextID="0"`)
	if p.DocString != "" {
		line(`Description="` + p.DocString + `"`)
	}
	line(`VersionCompatible32="393222000"`)
	state, password, visible := []byte{0, 0, 0, 0}, []byte{0}, []byte{0xFF}
	if p.Password != "" {
		state = []byte{0x05, 0, 0, 0} // fUserProtected | fVBEProtected
		pw, err := p.encode(enc, p.Password)
		if err != nil {
			return nil, err
		}
		password = passwordHash(pw, id)
		visible = []byte{0x00}
	}
	line(`CMG="` + encrypt(id, "CMG", state) + `"`)
	line(`DPB="` + encrypt(id, "DPB", password) + `"`)
	line(`GC="` + encrypt(id, "GC", visible) + `"`)
	line("")
	line("[Host Extender Info]")
	line("&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000")
	line("")
	line("[Workspace]")
	for _, m := range p.Modules {
		switch m.Kind {
		case Document:
			line(m.Name + "=0, 0, 0, 0, C")
		case Form:
			line(m.Name + "=0, 0, 0, 0, C, 44, 44, 1012, 566, C")
		default:
			line(m.Name + "=44, 44, 1012, 566, Z")
		}
	}
	return p.encode(enc, sb.String())
}

// projectWM builds the PROJECTwm stream: MBCS and UTF-16 module names.
func (p *Project) projectWM(enc encoding.Encoding) ([]byte, error) {
	var b []byte
	for _, m := range p.Modules {
		mn, err := p.encode(enc, m.Name)
		if err != nil {
			return nil, err
		}
		b = append(append(b, mn...), 0)
		b = append(append(b, utf16le(m.Name)...), 0, 0)
	}
	return append(b, 0, 0), nil
}

// passwordHash returns the 29-byte Hash Data Structure (MS-OVBA 2.4.4.1):
// 0xFF, the null-byte bitmaps of key and hash (3 bytes), a 4-byte salt, the
// SHA-1 of password||salt with 0x00 bytes replaced by 0x01, and a 0x00
// terminator. The salt is derived from the project id (deterministic).
func passwordHash(password []byte, projectID string) []byte {
	seed := sha1.Sum([]byte("salt\x00" + projectID))
	key := seed[:4]
	h := sha1.New()
	h.Write(password)
	h.Write(key)
	sum := h.Sum(nil)
	var grbit uint32
	enc := make([]byte, 0, 24)
	for i, c := range append(append([]byte(nil), key...), sum...) {
		if c != 0 {
			grbit |= 1 << i
		} else {
			c = 0x01
		}
		enc = append(enc, c)
	}
	out := []byte{0xFF, byte(grbit), byte(grbit >> 8), byte(grbit >> 16)}
	out = append(out, enc...)
	return append(out, 0x00)
}

// encrypt applies MS-OVBA 2.4.3.2 Data Encryption to data and returns the
// upper-case hex text. The seed and ignored bytes derive from the project id
// and field so the output is reproducible.
func encrypt(projectID, field string, data []byte) string {
	h := sha1.Sum([]byte(field + "\x00" + projectID))
	seed := h[0]
	const version = 2
	var projKey byte
	for i := 0; i < len(projectID); i++ {
		projKey += projectID[i]
	}
	out := []byte{seed, seed ^ version, seed ^ projKey}
	unencrypted1, encrypted1, encrypted2 := projKey, seed^projKey, seed^version
	put := func(c byte) {
		e := c ^ (encrypted2 + unencrypted1)
		out = append(out, e)
		encrypted2, encrypted1, unencrypted1 = encrypted1, e, c
	}
	ignored := int(seed&6) / 2
	for i := 0; i < ignored; i++ {
		put(h[1+i])
	}
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(data)))
	for _, c := range n {
		put(c)
	}
	for _, c := range data {
		put(c)
	}
	return fmt.Sprintf("%X", out)
}
