package ole

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"

	"triage/parsers"
)

// PowerPoint binary records (MS-PPT 2.3.1): an 8-byte header (recVer in the
// low 4 bits and recInstance in the high 12 bits of the first word, recType,
// recLen) and a body; recVer 0xF marks a container of records.
const (
	pptHeaderSize       = 8
	pptExOleObjStg      = 0x1011 // an embedded OLE storage, maybe zlib-compressed
	pptCryptSession     = 0x2F14
	pptMaxDepth         = 16
	pptMaxRecordsFactor = 16 // records walked per MaxEntries
)

// walkPPT calls fn for every record of a PowerPoint stream, descending into
// containers. It stops at the first header that does not fit, and after
// maxRecords records.
func walkPPT(data []byte, maxRecords int, fn func(typ, inst uint16, body []byte, off int)) error {
	count := 0
	var walk func(b []byte, base, depth int) error
	walk = func(b []byte, base, depth int) error {
		pos := 0
		for pos+pptHeaderSize <= len(b) {
			if count >= maxRecords {
				return fmt.Errorf("%w: ole: more than %d PowerPoint records", parsers.ErrTooMany, maxRecords)
			}
			count++
			verInst := binary.LittleEndian.Uint16(b[pos:])
			typ := binary.LittleEndian.Uint16(b[pos+2:])
			size := binary.LittleEndian.Uint32(b[pos+4:])
			body := pos + pptHeaderSize
			if uint64(body)+uint64(size) > uint64(len(b)) {
				// Office leaves partial records at the end of streams and
				// containers; like olevba, stop walking this one quietly.
				return nil
			}
			rec := b[body : body+int(size)]
			fn(typ, verInst>>4, rec, base+pos)
			if verInst&0x0F == 0x0F && typ != pptCryptSession && depth < pptMaxDepth {
				if err := walk(rec, base+body, depth+1); err != nil {
					return err
				}
			}
			pos = body + int(size)
		}
		return nil
	}
	return walk(data, 0, 0)
}

// findPPTRecord finds the body of the first record of type typ by scanning
// for its header bytes: in an encrypted presentation the records around
// the CryptSession10Container are unreadable, so a walk cannot reach it.
func findPPTRecord(data []byte, typ uint16, from int) []byte {
	var pat [4]byte
	pat[0] = 0x0F
	binary.LittleEndian.PutUint16(pat[2:], typ)
	for i := from; i+pptHeaderSize <= len(data); {
		j := bytes.Index(data[i:], pat[:])
		if j < 0 {
			return nil
		}
		at := i + j
		size := binary.LittleEndian.Uint32(data[at+4:])
		if uint64(at)+pptHeaderSize+uint64(size) <= uint64(len(data)) {
			return data[at+pptHeaderSize : at+pptHeaderSize+int(size)]
		}
		i = at + 1
	}
	return nil
}

// pptStorage is an embedded storage found in a PowerPoint document.
type pptStorage struct {
	Offset int
	Data   []byte
	Err    error
}

// pptStorages returns the ExOleObjStg storages of a "PowerPoint Document"
// stream, decompressed under the budget. VBA projects and embedded OLE
// objects of .ppt files live there.
func pptStorages(stream []byte, budget *parsers.Budget) ([]pptStorage, error) {
	var out []pptStorage
	max := budget.Limits.MaxEntries * pptMaxRecordsFactor
	werr := walkPPT(stream, max, func(typ, inst uint16, body []byte, off int) {
		if typ != pptExOleObjStg || len(out) >= budget.Limits.MaxEntries {
			return
		}
		s := pptStorage{Offset: off}
		if inst == 0 {
			s.Data = body
		} else {
			if len(body) < 4 {
				s.Err = fmt.Errorf("%w: ole: ExOleObjStg at %d: too short", parsers.ErrMalformed, off)
				out = append(out, s)
				return
			}
			declared := binary.LittleEndian.Uint32(body)
			zr, err := zlib.NewReader(bytes.NewReader(body[4:]))
			if err != nil {
				s.Err = fmt.Errorf("%w: ole: ExOleObjStg at %d: %v", parsers.ErrMalformed, off, err)
				out = append(out, s)
				return
			}
			s.Data, s.Err = budget.ReadAll(zr, int64(len(body)))
			zr.Close()
			switch {
			case s.Err != nil && errors.Is(s.Err, parsers.ErrLimit):
			case uint32(len(s.Data)) == declared:
				// Complete: a missing zlib trailer (checksum) is tolerated.
				s.Err = nil
			case s.Err != nil:
				s.Err = fmt.Errorf("%w: ole: ExOleObjStg at %d: %v", parsers.ErrMalformed, off, s.Err)
			default:
				s.Err = fmt.Errorf("%w: ole: ExOleObjStg at %d: %d bytes, %d declared", parsers.ErrMalformed, off, len(s.Data), declared)
			}
		}
		out = append(out, s)
	})
	return out, werr
}
