package ovba

import (
	"encoding/binary"

	"golang.org/x/text/encoding"

	"triage/samples/gen/office/cfb"
	"triage/samples/gen/office/ole"
)

// ClsidCacheIndexTextBox is the MS-OFORMS ClsidCacheIndex of a TextBox.
const ClsidCacheIndexTextBox = 23

// writeDesigner adds the designer storage of Form module m below st:
// \x01CompObj, \x03VBFrame, f (FormControl with one site per TextBox) and
// o (one MorphDataControl per TextBox).
func (p *Project) writeDesigner(st *cfb.Storage, enc encoding.Encoding, m Module) error {
	ds := st.Storage(m.Name)
	ds.CLSID = cfb.MSFormsForm
	ds.Stream("\x01CompObj", ole.CompObj(cfb.MSFormsForm, "Microsoft Forms 2.0 Form", "Embedded Object", "Forms.Form.1"))
	frame, err := p.encode(enc, "VERSION 5.00\r\n"+
		"Begin {C62A69F0-16DC-11CE-9E98-00AA00574A4F} "+m.Name+" \r\n"+
		"   Caption         =   \""+m.Name+"\"\r\n"+
		"   ClientHeight    =   3015\r\n"+
		"   ClientLeft      =   120\r\n"+
		"   ClientTop       =   465\r\n"+
		"   ClientWidth     =   4560\r\n"+
		"   StartUpPosition =   1  'CenterOwner\r\n"+
		"   TypeInfoVer     =   2\r\n"+
		"End\r\n")
	if err != nil {
		return err
	}
	ds.Stream("\x03VBFrame", frame)

	var objects [][]byte
	for _, tb := range m.TextBoxes {
		v, err := p.encode(enc, tb.Value)
		if err != nil {
			return err
		}
		objects = append(objects, morphDataTextBox(v))
	}
	var f []byte
	f, err = p.formControl(enc, m.TextBoxes, objects)
	if err != nil {
		return err
	}
	ds.Stream("f", f)
	var o []byte
	for _, obj := range objects {
		o = append(o, obj...)
	}
	ds.Stream("o", o)
	return nil
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// formControl builds the f stream (MS-OFORMS 2.2.10.1).
func (p *Project) formControl(enc encoding.Encoding, boxes []TextBox, objects [][]byte) ([]byte, error) {
	le := binary.LittleEndian
	// PropMask: fNextAvailableID | fDisplayedSize | fLogicalSize.
	var body []byte
	body = le.AppendUint32(body, 1<<3|1<<10|1<<11)
	body = le.AppendUint32(body, uint32(len(boxes)+1)) // NextAvailableID
	body = le.AppendUint32(body, 8043)                 // DisplayedSize (HIMETRIC)
	body = le.AppendUint32(body, 5318)
	body = le.AppendUint32(body, 8043) // LogicalSize
	body = le.AppendUint32(body, 5318)

	var b []byte
	b = append(b, 0x00, 0x04)
	b = le.AppendUint16(b, uint16(len(body)))
	b = append(b, body...)
	b = le.AppendUint16(b, 0) // CountOfSiteClassInfo

	var sites []byte
	var depths []byte
	for i, tb := range boxes {
		depths = append(depths, 0x00, 0x01) // depth 0, SITE_TYPE_OLECONTROL
		name, err := p.encode(enc, tb.Name)
		if err != nil {
			return nil, err
		}
		var s []byte
		// PropMask: fName | fID | fBitFlags | fObjectStreamSize | fTabIndex | fClsidCacheIndex | fPosition.
		s = le.AppendUint32(s, 1<<0|1<<2|1<<4|1<<5|1<<6|1<<7|1<<8)
		s = le.AppendUint32(s, 0x80000000|uint32(len(name))) // NameData: compressed (1 byte per char)
		s = le.AppendUint32(s, uint32(i+1))                  // ID
		s = le.AppendUint32(s, 0x00000033)                   // BitFlags: tab stop, visible, streamed...
		s = le.AppendUint32(s, uint32(len(objects[i])))      // ObjectStreamSize
		s = le.AppendUint16(s, uint16(i))                    // TabIndex
		s = le.AppendUint16(s, ClsidCacheIndexTextBox)
		s = pad4(append(s, name...))
		s = le.AppendUint32(s, uint32(120+480*i)) // SitePosition: top, left (HIMETRIC)
		s = le.AppendUint32(s, 240)
		site := le.AppendUint16(le.AppendUint16(nil, 0x0000), uint16(len(s)))
		sites = append(sites, append(site, s...)...)
	}
	depths = pad4(depths)
	b = le.AppendUint32(b, uint32(len(boxes)))
	b = le.AppendUint32(b, uint32(len(depths)+len(sites)))
	b = append(b, depths...)
	return append(b, sites...), nil
}

// morphDataTextBox builds one TextBox MorphDataControl (MS-OFORMS 2.2.5.1)
// whose Value is value (code-page bytes, stored "compressed").
func morphDataTextBox(value []byte) []byte {
	le := binary.LittleEndian
	var body []byte
	// PropMask: fVariousPropertyBits | fSize | fValue, plus the reserved high bit.
	body = le.AppendUint64(body, 1<<0|1<<8|1<<22|1<<31)
	body = le.AppendUint32(body, 0x2C80481B)                    // VariousPropertyBits (TextBox defaults)
	body = le.AppendUint32(body, 0x80000000|uint32(len(value))) // Value length, compressed
	body = le.AppendUint32(body, 2540)                          // Size: width, height (HIMETRIC)
	body = le.AppendUint32(body, 635)
	body = pad4(append(body, value...))
	var b []byte
	b = append(b, 0x00, 0x02)
	b = le.AppendUint16(b, uint16(len(body)))
	b = append(b, body...)
	// TextProps with no properties set.
	b = append(b, 0x00, 0x02)
	b = le.AppendUint16(b, 4)
	return le.AppendUint32(b, 0)
}
