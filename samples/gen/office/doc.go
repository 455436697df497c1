// Package office builds Office documents for the regression samples: Word
// 97 .doc and Excel 97 .xls compound files (with VBA projects, XLM macro
// sheets, embedded OLE packages), OOXML .docx/.docm/.xlsx/.xlsm zips and RTF
// with embedded objects. Output is a pure function of the inputs.
package office

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"

	"triage/samples/gen/office/cfb"
	"triage/samples/gen/office/ole"
	"triage/samples/gen/office/ovba"
)

// Meta is the document metadata written to SummaryInformation (OLE) or
// docProps/core.xml (OOXML).
type Meta struct {
	Title    string
	Subject  string
	Author   string
	Keywords string
	// Comments is free text; Emotet documents hid strings here.
	Comments   string
	LastAuthor string
	Template   string
	Created    time.Time
	Saved      time.Time
}

// DocOptions describes a Word 97-2003 document.
type DocOptions struct {
	// Paragraphs are the body text, one paragraph each.
	Paragraphs []string
	// CodePage encodes the SummaryInformation strings: 1252 (default) or 932.
	CodePage int
	// LID is the FIB language id; 0x0409 (en-US) when zero, 0x0411 for Japanese.
	LID  uint16
	Meta Meta
	// Packages are files embedded as OLE Package objects under ObjectPool.
	Packages []ole.Package
}

// Word FIB constants (MS-DOC 2.5.2).
const (
	fibSize       = 900   // FibBase + fibRgW + fibRgLw + fibRgFcLcb97 + cswNew
	textOffset    = 0x400 // where the document text starts in WordDocument
	fibWIdent     = 0xA5EC
	fibNFib       = 0x00C1
	fibNFibBack   = 0x00BF
	fcLcbClxIndex = 33 // fcClx/lcbClx in FibRgFcLcb97
)

// Doc builds a .doc. p may be nil for a document without macros.
func Doc(p *ovba.Project, o DocOptions) ([]byte, error) {
	root := cfb.NewRoot(cfb.WordDocument)
	wd, table, err := wordStreams(o)
	if err != nil {
		return nil, err
	}
	root.Stream("WordDocument", wd)
	root.Stream("1Table", table)
	root.Stream("\x01CompObj", ole.CompObj(cfb.WordDocument, "Microsoft Word 97-2003 Document", "MSWordDoc", "Word.Document.8"))
	si, err := summary(o.CodePage, o.Meta, "Microsoft Office Word", "Normal.dotm")
	if err != nil {
		return nil, err
	}
	root.Stream("\x05SummaryInformation", si)
	if p != nil {
		if err := p.Write(root.Storage("Macros")); err != nil {
			return nil, err
		}
	}
	if len(o.Packages) > 0 {
		pool := root.Storage("ObjectPool")
		for i, pkg := range o.Packages {
			obj := pool.Storage(fmt.Sprintf("_%010d", 1573829142+i))
			obj.CLSID = cfb.Package
			obj.Stream("\x01CompObj", ole.CompObj(cfb.Package, "Package", "Package", "Package"))
			obj.Stream("\x01Ole10Native", pkg.Ole10Native())
			obj.Stream("\x03ObjInfo", []byte{0x00, 0x00, 0x03, 0x00, 0x04, 0x00})
		}
	}
	return cfb.Marshal(root)
}

// wordStreams returns the WordDocument stream (FIB and text) and the
// 1Table stream (the Clx piece table that maps character positions to the
// text).
func wordStreams(o DocOptions) (wd, table []byte, err error) {
	text := strings.Join(o.Paragraphs, "\r")
	text = strings.ReplaceAll(text, "\n", "\r") + "\r"
	units := utf16.Encode([]rune(text))
	ccp := len(units)
	var body []byte
	compressed := true
	for _, r := range text {
		if r > 0xFF {
			compressed = false
			break
		}
	}
	if compressed {
		body, err = charmap.Windows1252.NewEncoder().Bytes([]byte(text))
		if err != nil {
			return nil, nil, fmt.Errorf("office: body text: %w", err)
		}
	} else {
		for _, u := range units {
			body = binary.LittleEndian.AppendUint16(body, u)
		}
	}
	le := binary.LittleEndian
	wd = make([]byte, textOffset+len(body))
	copy(wd[textOffset:], body)
	lid := o.LID
	if lid == 0 {
		lid = 0x0409
	}
	// FibBase.
	le.PutUint16(wd[0:], fibWIdent)
	le.PutUint16(wd[2:], fibNFib)
	le.PutUint16(wd[6:], lid)
	le.PutUint16(wd[10:], 0x0200|0x1000) // fWhichTblStm (1Table), fExtChar; fEncrypted clear
	le.PutUint16(wd[12:], fibNFibBack)
	// fibRgW97: 14 shorts; lidFE is the last.
	le.PutUint16(wd[32:], 14)
	le.PutUint16(wd[34+13*2:], lid)
	// fibRgLw97: 22 longs; cbMac [0], ccpText [3].
	le.PutUint16(wd[62:], 22)
	le.PutUint32(wd[64:], uint32(len(wd)))
	le.PutUint32(wd[64+3*4:], uint32(ccp))
	// fibRgFcLcb97: 93 pairs.
	le.PutUint16(wd[152:], 93)

	// Clx: one Pcdt holding a PlcPcd with a single piece.
	fc := uint32(textOffset)
	if compressed {
		fc = fc*2 | 0x40000000
	}
	var plc []byte
	plc = le.AppendUint32(plc, 0)
	plc = le.AppendUint32(plc, uint32(ccp))
	plc = le.AppendUint16(plc, 0) // Pcd flags
	plc = le.AppendUint32(plc, fc)
	plc = le.AppendUint16(plc, 0) // prm
	table = append([]byte{0x02}, le.AppendUint32(nil, uint32(len(plc)))...)
	table = append(table, plc...)
	le.PutUint32(wd[154+fcLcbClxIndex*8:], 0)
	le.PutUint32(wd[154+fcLcbClxIndex*8+4:], uint32(len(table)))
	// cswNew = 0 at wd[898:900] (already zero).
	return wd, table, nil
}

// summary encodes Meta as a SummaryInformation stream.
func summary(codePage int, m Meta, app, template string) ([]byte, error) {
	enc, err := codec(codePage)
	if err != nil {
		return nil, err
	}
	e := func(s string) ([]byte, error) {
		if s == "" {
			return nil, nil
		}
		b, err := enc.NewEncoder().Bytes([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("office: property %q: %w", s, err)
		}
		return b, nil
	}
	if m.Template != "" {
		template = m.Template
	}
	var s ole.Summary
	s.CodePage = codePage
	for _, f := range []struct {
		dst *[]byte
		v   string
	}{{&s.Title, m.Title}, {&s.Subject, m.Subject}, {&s.Author, m.Author}, {&s.Keywords, m.Keywords},
		{&s.Comments, m.Comments}, {&s.LastAuthor, m.LastAuthor}, {&s.Template, template},
		{&s.RevNumber, "2"}, {&s.AppName, app}} {
		if *f.dst, err = e(f.v); err != nil {
			return nil, err
		}
	}
	s.Created, s.Saved = m.Created, m.Saved
	s.Pages = 1
	return ole.SummaryInformation(s)
}

func codec(codePage int) (encoding.Encoding, error) {
	switch codePage {
	case 0, 1252:
		return charmap.Windows1252, nil
	case 932:
		return japanese.ShiftJIS, nil
	}
	return nil, fmt.Errorf("office: unsupported code page %d", codePage)
}
