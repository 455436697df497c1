package msg

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Compressed RTF (MS-OXRTFCP) signatures.
const (
	lzfuCompressed   = 0x75465A4C // "LZFu"
	lzfuUncompressed = 0x414C454D // "MELA"
)

// lzfuDict is the initial dictionary of compressed RTF (MS-OXRTFCP 2.1.2.1).
const lzfuDict = `{\rtf1\ansi\mac\deff0\deftab720{\fonttbl;}{\f0\fnil \froman \fswiss \fmodern \fscript \fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\colortbl\red0\green0\blue0` + "\r\n" + `\par \pard\plain\f0\fs20\b\i\u\tab\tx`

var errLZFu = errors.New("compressed RTF")

// decompressRTF decodes PR_RTF_COMPRESSED, producing at most limit bytes.
// cut reports that the limit stopped it.
func decompressRTF(b []byte, limit int) (out []byte, cut bool, err error) {
	if len(b) < 16 {
		return nil, false, fmt.Errorf("%w: header truncated", errLZFu)
	}
	compSize := int64(binary.LittleEndian.Uint32(b))
	rawSize := int64(binary.LittleEndian.Uint32(b[4:]))
	magic := binary.LittleEndian.Uint32(b[8:])
	body := b[16:]
	if compSize-12 < int64(len(body)) && compSize >= 12 {
		body = body[:compSize-12]
	}
	want := int(min(rawSize, int64(limit)))
	switch magic {
	case lzfuUncompressed:
		n := min(len(body), want)
		return append([]byte(nil), body[:n]...), rawSize > int64(limit), nil
	case lzfuCompressed:
	default:
		return nil, false, fmt.Errorf("%w: unknown signature %#x", errLZFu, magic)
	}
	var dict [4096]byte
	copy(dict[:], lzfuDict)
	w := len(lzfuDict)
	out = make([]byte, 0, min(want, 4*len(body)+64))
	for i := 0; i < len(body); {
		ctrl := body[i]
		i++
		for bit := 0; bit < 8 && i < len(body); bit++ {
			if len(out) >= limit {
				return out[:limit], true, nil
			}
			if ctrl&(1<<bit) == 0 {
				c := body[i]
				i++
				out = append(out, c)
				dict[w] = c
				w = (w + 1) % len(dict)
				continue
			}
			if i+1 >= len(body) {
				return out, false, fmt.Errorf("%w: reference truncated", errLZFu)
			}
			ref := int(body[i])<<8 | int(body[i+1])
			i += 2
			off, n := ref>>4, ref&0xF+2
			if off == w {
				return out, false, nil // end of stream
			}
			for k := 0; k < n; k++ {
				c := dict[(off+k)%len(dict)]
				out = append(out, c)
				dict[w] = c
				w = (w + 1) % len(dict)
			}
		}
	}
	return out, false, nil
}
