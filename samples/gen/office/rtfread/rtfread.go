// Package rtfread reads the embedded object of an RTF document back,
// independently of the writers, so the generator's tests can check what
// office.RTF produced.
package rtfread

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Object is an OLE1 embedded object ([MS-OLEDS] 2.2.4 EmbeddedObject).
type Object struct {
	Class  string // ClassName, without its NUL
	Native []byte // NativeData
}

// ctrlWord is an RTF control word with its optional parameter and
// delimiting space.
var ctrlWord = regexp.MustCompile(`\\[a-z]+-?[0-9]* ?`)

// ObjData returns the text of the first {\*\objdata …} group, as written.
func ObjData(rtf string) (string, error) {
	const open = `{\*\objdata`
	i := strings.Index(rtf, open)
	if i < 0 {
		return "", errors.New("rtfread: no objdata group")
	}
	j := strings.IndexByte(rtf[i:], '}')
	if j < 0 {
		return "", errors.New("rtfread: objdata group not closed")
	}
	return rtf[i+len(open) : i+j], nil
}

// ReadObject decodes the first \objdata group of rtf as RTF readers do
// (control words and whitespace inside the hex are skipped) and parses the
// OLE1 object in it.
func ReadObject(rtf string) (Object, error) {
	raw, err := ObjData(rtf)
	if err != nil {
		return Object{}, err
	}
	clean := strings.Join(strings.Fields(ctrlWord.ReplaceAllString(raw, "")), "")
	b, err := hex.DecodeString(clean)
	if err != nil {
		return Object{}, fmt.Errorf("rtfread: objdata hex: %w", err)
	}
	return parseOLE1(b)
}

// parseOLE1 reads OLEVersion, FormatID (2: embedded), then the ClassName,
// TopicName and ItemName length-prefixed strings, then the NativeData size
// and bytes.
func parseOLE1(b []byte) (Object, error) {
	le := binary.LittleEndian
	if len(b) < 8 || le.Uint32(b) != 0x0501 || le.Uint32(b[4:]) != 2 {
		return Object{}, fmt.Errorf("rtfread: OLE1 header % x", b[:min(8, len(b))])
	}
	p := 8
	u32 := func() (int, error) {
		if len(b)-p < 4 {
			return 0, errors.New("rtfread: OLE1 object truncated")
		}
		n := int(le.Uint32(b[p:]))
		p += 4
		if n > len(b)-p {
			return 0, fmt.Errorf("rtfread: length %d beyond the %d bytes left", n, len(b)-p)
		}
		return n, nil
	}
	var names [3]string // class, topic, item
	for i := range names {
		n, err := u32()
		if err != nil {
			return Object{}, err
		}
		if n > 0 {
			if b[p+n-1] != 0 {
				return Object{}, fmt.Errorf("rtfread: name %d not NUL-terminated", i)
			}
			names[i] = string(b[p : p+n-1])
		}
		p += n
	}
	n, err := u32()
	if err != nil {
		return Object{}, err
	}
	return Object{Class: names[0], Native: b[p : p+n]}, nil
}
