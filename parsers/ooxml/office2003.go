package ooxml

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"triage/parsers"
)

// Office 2003 XML limits.
const maxBinData = 50

// binData is one <w:binData w:name="…"> item of a Word 2003 XML document.
type binData struct {
	name string
	b64  strings.Builder
}

// scan2003 analyses an Office 2003 XML document (WordprocessingML 2003 or
// SpreadsheetML 2003): DDE fields and formulas, and the base64 <w:binData>
// items, of which editdata.mso holds the VBA project.
func (s *scan) scan2003(data []byte) {
	x := &xmlScan{}
	var (
		cur   *binData
		items int
		macro []string
	)
	s.walkXML(data, "document", "office 2003 xml", func(tok xml.Token) {
		x.token(tok)
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "binData" && items < maxBinData {
				cur = &binData{name: attr(t, "name")}
			}
		case xml.CharData:
			if cur != nil && int64(cur.b64.Len()) < 2*s.b.Limits.MaxArtifactBytes {
				cur.b64.Write(t)
			}
		case xml.EndElement:
			if t.Name.Local == "binData" && cur != nil {
				items++
				if s.emitBinData(cur) {
					macro = append(macro, cur.name)
				}
				cur = nil
			}
		}
	})
	for i := len(x.fields) - 1; i >= 0; i-- {
		x.checkInstr(x.fields[i].instr.String())
	}
	s.reportDDE(x.dde)
	s.out.Meta("has_vba", len(macro) > 0)
	if len(macro) > 0 {
		s.out.Finding(parsers.Finding{Code: "ooxml.macro", Severity: parsers.Medium,
			Detail: "Word 2003 XML document with a VBA project (" + strings.Join(macro, ", ") + ")",
			Attack: []string{"T1204.002", "T1059.005"}})
	}
}

// emitBinData decodes one binData item, unpacks an ActiveMime container
// and hands the result on. It reports whether the item is a VBA project.
func (s *scan) emitBinData(bd *binData) bool {
	raw := bd.b64.String()
	dec, err := s.b.ReadAll(base64.NewDecoder(base64.StdEncoding, &spaceless{r: strings.NewReader(raw)}), int64(len(raw)))
	if err != nil && !errors.Is(err, parsers.ErrLimit) {
		s.fail(fmt.Sprintf("binData %s: %v", bd.name, err), fmt.Errorf("ooxml: binData %q: %w", bd.name, errors.Join(parsers.ErrMalformed, err)))
	}
	name := bd.name
	if i := strings.LastIndexAny(name, "/\\"); i >= 0 {
		name = name[i+1:]
	}
	if name == "" {
		name = "binData"
	}
	isMacro := strings.EqualFold(name, "editdata.mso")
	if out, ok, aerr := s.activeMime(dec); ok {
		s.child(parsers.Child{Name: name + ".ole", Data: out, Err: aerr, Meta: map[string]any{"container": "ActiveMime"}})
		return isMacro
	}
	if len(dec) > 0 {
		s.child(parsers.Child{Name: name, Data: dec, Err: err})
	}
	return isMacro
}

// activeMime unpacks an ActiveMime (.mso) container: a header, then a
// zlib stream holding a compound file. ok is false when data is not one.
func (s *scan) activeMime(data []byte) (out []byte, ok bool, err error) {
	if !bytes.HasPrefix(data, []byte("ActiveMime")) {
		return nil, false, nil
	}
	// The zlib stream usually starts at 0x32; search the header for it.
	for off := 0x32; off < len(data)-2 && off < 4096; off++ {
		if data[off] != 0x78 || (uint16(data[off])<<8|uint16(data[off+1]))%31 != 0 {
			continue
		}
		zr, zerr := zlib.NewReader(bytes.NewReader(data[off:]))
		if zerr != nil {
			continue
		}
		out, err = s.b.ReadAll(zr, int64(len(data)-off))
		zr.Close()
		if len(out) > 0 {
			return out, true, err
		}
	}
	s.fail("ActiveMime container without a zlib stream", nil)
	return nil, false, nil
}
