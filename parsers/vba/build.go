package vba

import (
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/text/encoding"
)

// This file builds VBA project storages (the inverse of ExtractProject) for
// tests and sample generators. The output is the stream set of a VBA
// project storage as MS-OVBA describes it and olevba reads it.

// ModuleSpec describes one module to build.
type ModuleSpec struct {
	Name string
	Kind string // KindProcedural (default), KindDocument, KindClass or KindForm
	// Code is the source without the Attribute VB_Name line, which Build
	// adds; line ends are converted to CRLF.
	Code string
	// PCode is written before the compressed source (the p-code cache);
	// nil writes a small placeholder.
	PCode []byte
	// Stream names the module stream (default Name). Modules naming one
	// stream share it, as in a forged dir stream: the first of them
	// writes it.
	Stream string
}

// ProjectSpec describes a VBA project to build.
type ProjectSpec struct {
	Name     string // default "VBAProject"
	CodePage uint16 // default 1252
	Modules  []ModuleSpec
	// Locked writes a password-protected project: a DPB holding a password
	// hash, CMG with fUserProtected, GC with visibility off.
	Locked bool
	// NoPCode writes a 7-byte _VBA_PROJECT stream (no compiled cache).
	NoPCode bool
}

// Streams returns the project's streams keyed by their path in the project
// storage ("PROJECT", "PROJECTwm", "VBA/dir", "VBA/_VBA_PROJECT",
// "VBA/<module>"). Text that the code page cannot encode is an error.
func (s ProjectSpec) Streams() (map[string][]byte, error) {
	if s.Name == "" {
		s.Name = "VBAProject"
	}
	if s.CodePage == 0 {
		s.CodePage = DefaultCodePage
	}
	enc := func(text string) ([]byte, error) { return encodeCodePage(s.CodePage, text) }
	out := map[string][]byte{}

	var dir []byte
	rec := func(id uint16, data []byte) {
		dir = binary.LittleEndian.AppendUint16(dir, id)
		dir = binary.LittleEndian.AppendUint32(dir, uint32(len(data)))
		dir = append(dir, data...)
	}
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	u16 := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	name, err := enc(s.Name)
	if err != nil {
		return nil, err
	}
	rec(recSysKind, u32(1))
	rec(recCompatVersion, u32(0x6B))
	rec(recLCID, u32(0x409))
	rec(recLCIDInvoke, u32(0x409))
	rec(recCodePage, u16(s.CodePage))
	rec(recProjectName, name)
	rec(recDocString, nil)
	rec(recDocStringU, nil)
	rec(recHelpFile, nil)
	rec(recHelpFile2, nil)
	rec(recHelpContext, u32(0))
	rec(recLibFlags, u32(0))
	// PROJECTVERSION: reserved 4, major 4, minor 2.
	dir = binary.LittleEndian.AppendUint16(dir, recVersion)
	dir = binary.LittleEndian.AppendUint32(dir, 4)
	dir = binary.LittleEndian.AppendUint32(dir, 0x5A3C1D2E)
	dir = binary.LittleEndian.AppendUint16(dir, 0x11)
	rec(recConstants, nil)
	rec(recConstantsU, nil)
	// One REFERENCE of each kind, as Office writes them.
	stdole := []byte(`*\G{00020430-0000-0000-C000-000000000046}#2.0#0#C:\Windows\System32\stdole2.tlb#OLE Automation`)
	rec(recRefName, []byte("stdole"))
	rec(recRefNameU, utf16le("stdole"))
	regBody := append(u32(uint32(len(stdole))), stdole...)
	regBody = append(regBody, 0, 0, 0, 0, 0, 0)
	rec(recRefRegistered, regBody)
	rec(recRefName, []byte("MSForms"))
	rec(recRefNameU, utf16le("MSForms"))
	orig := []byte(`*\G{0D452EE1-E08F-101A-852E-02608C4D0BB4}#2.0#0#C:\Windows\System32\FM20.DLL#Microsoft Forms 2.0 Object Library`)
	rec(recRefOriginal, orig)
	twiddled := []byte(`*\G{00000000-0000-0000-0000-000000000000}#0.0#0#C:\Temp\MSForms.exd#Microsoft Forms 2.0 Object Library`)
	ctl := append(u32(uint32(len(twiddled))), twiddled...)
	ctl = append(ctl, 0, 0, 0, 0, 0, 0)
	rec(recRefControl, ctl)
	ext := append(u32(uint32(len(orig))), orig...)
	ext = append(ext, 0, 0, 0, 0, 0, 0)
	ext = append(ext, make([]byte, 16)...)
	ext = append(ext, u32(0)...)
	rec(recRefExtended, ext)
	rec(recRefName, []byte("Other"))
	rec(recRefNameU, utf16le("Other"))
	absolute := []byte(`*\CC:\Temp\Other.xlsm`)
	projBody := append(u32(uint32(len(absolute))), absolute...)
	projBody = append(projBody, u32(0)...)
	projBody = append(projBody, u32(1)...)
	projBody = append(projBody, 0, 0)
	rec(recRefProject, projBody)

	rec(recModules, u16(uint16(len(s.Modules))))
	rec(recProjectCookie, u16(0xFFFF))
	var project strings.Builder
	project.WriteString("ID=\"{5312AC8A-349D-4950-BDD0-49BE3C4DD0F0}\"\r\n")
	var projectWM []byte
	for _, m := range s.Modules {
		mname, err := enc(m.Name)
		if err != nil {
			return nil, err
		}
		kind := m.Kind
		if kind == "" {
			kind = KindProcedural
		}
		switch kind {
		case KindDocument:
			project.WriteString("Document=" + m.Name + "/&H00000000\r\n")
		case KindClass:
			project.WriteString("Class=" + m.Name + "\r\n")
		case KindForm:
			project.WriteString("BaseClass=" + m.Name + "\r\n")
		default:
			project.WriteString("Module=" + m.Name + "\r\n")
		}
		projectWM = append(append(projectWM, mname...), 0)
		projectWM = append(append(projectWM, utf16le(m.Name)...), 0, 0)

		code := "Attribute VB_Name = \"" + m.Name + "\"\r\n" + crlf(m.Code)
		raw, err := enc(code)
		if err != nil {
			return nil, err
		}
		pcode := m.PCode
		if pcode == nil {
			pcode = make([]byte, 64)
			pcode[0], pcode[1] = 0x01, 0x16
		}
		stream := m.Stream
		if stream == "" {
			stream = m.Name
		}
		sname, err := enc(stream)
		if err != nil {
			return nil, err
		}
		if _, ok := out["VBA/"+stream]; !ok {
			out["VBA/"+stream] = append(append([]byte{}, pcode...), Compress(raw)...)
		}

		rec(recModuleName, mname)
		rec(recModuleNameU, utf16le(m.Name))
		rec(recStreamName, sname)
		rec(recStreamNameU, utf16le(stream))
		rec(recModuleDoc, nil)
		rec(recModuleDocU, nil)
		rec(recModuleOffset, u32(uint32(len(pcode))))
		rec(recModuleHelp, u32(0))
		rec(recModuleCookie, u16(0xFFFF))
		if kind == KindProcedural {
			rec(recModuleProc, nil)
		} else {
			rec(recModuleDocClass, nil)
		}
		rec(recModuleTerm, nil)
	}
	rec(recDirTerminator, nil)
	out["VBA/dir"] = Compress(dir)

	fmt.Fprintf(&project, "Name=\"%s\"\r\nHelpContextID=\"0\"\r\nVersionCompatible32=\"393222000\"\r\n", s.Name)
	cmg, dpb, gc := []byte{0, 0, 0, 0}, []byte{0}, []byte{0xFF}
	if s.Locked {
		cmg = []byte{1, 0, 0, 0}
		dpb = make([]byte, 29)
		dpb[0] = 0xFF
		for i := 1; i < len(dpb)-1; i++ {
			dpb[i] = byte(0x11 * i)
		}
		gc = []byte{0}
	}
	fmt.Fprintf(&project, "CMG=\"%s\"\r\nDPB=\"%s\"\r\nGC=\"%s\"\r\n\r\n[Host Extender Info]\r\n&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000\r\n",
		EncryptProjectValue(0x41, cmg), EncryptProjectValue(0x8F, dpb), EncryptProjectValue(0x2D, gc))
	projText, err := enc(project.String())
	if err != nil {
		return nil, err
	}
	out["PROJECT"] = projText
	out["PROJECTwm"] = append(projectWM, 0, 0)
	if s.NoPCode {
		out["VBA/_VBA_PROJECT"] = []byte{0xCC, 0x61, 0xFF, 0xFF, 0x00, 0x00, 0x00}
	} else {
		out["VBA/_VBA_PROJECT"] = append([]byte{0xCC, 0x61, 0xB5, 0x00, 0x00, 0x01, 0x00}, make([]byte, 256)...)
	}
	return out, nil
}

// EncryptProjectValue applies MS-OVBA 2.4.3.2 Data Encryption (as used for
// CMG, DPB and GC) with the given seed and returns upper-case hex.
func EncryptProjectValue(seed byte, data []byte) string {
	const version = 2
	projKey := byte(0)
	out := []byte{seed, seed ^ version, seed ^ projKey}
	unencrypted1 := projKey
	encrypted1 := seed ^ projKey
	encrypted2 := seed ^ version
	put := func(b byte) {
		be := b ^ (encrypted2 + unencrypted1)
		out = append(out, be)
		encrypted2, encrypted1, unencrypted1 = encrypted1, be, b
	}
	for range int(seed&6) / 2 {
		put(0x00)
	}
	for i := range 4 {
		put(byte(len(data) >> (8 * i)))
	}
	for _, b := range data {
		put(b)
	}
	return strings.ToUpper(fmt.Sprintf("%x", out))
}

func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			b = binary.LittleEndian.AppendUint16(b, uint16(0xD800+(r>>10)))
			b = binary.LittleEndian.AppendUint16(b, uint16(0xDC00+(r&0x3FF)))
			continue
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(r))
	}
	return b
}

// encodeCodePage encodes UTF-8 text into a Windows code page.
func encodeCodePage(cp uint16, s string) ([]byte, error) {
	if isASCII([]byte(s)) {
		return []byte(s), nil
	}
	e, ok := codePages[cp]
	if !ok {
		return nil, fmt.Errorf("vba: code page %d not supported for encoding", cp)
	}
	b, err := encoding.HTMLEscapeUnsupported(e.NewEncoder()).Bytes([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("vba: encode to cp%d: %w", cp, err)
	}
	return b, nil
}
