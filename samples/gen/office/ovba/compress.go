package ovba

import "encoding/binary"

const chunkSize = 4096

// Compress encodes data as an MS-OVBA 2.4.1 CompressedContainer: a 0x01
// signature byte followed by chunks of at most 4096 decompressed bytes, each
// a header and a token sequence of literals and copy tokens (longest match
// within the chunk, overlapping matches allowed).
//
// A chunk whose compressed form would exceed 4096 bytes is stored raw, as
// the specification demands; a raw chunk always holds 4096 bytes, so a
// short incompressible final chunk is zero-padded (only possible for
// high-entropy input, never for source text).
func Compress(data []byte) []byte {
	out := []byte{0x01}
	for start := 0; start < len(data); start += chunkSize {
		end := min(start+chunkSize, len(data))
		out = appendChunk(out, data[start:end])
	}
	return out
}

func appendChunk(out, chunk []byte) []byte {
	body := compressChunk(chunk)
	if len(body) <= chunkSize {
		// CompressedChunkSize holds the chunk size minus 3; signature 0b011; flag 1.
		hdr := uint16(len(body)+2-3) | 0x3000 | 0x8000
		out = binary.LittleEndian.AppendUint16(out, hdr)
		return append(out, body...)
	}
	out = binary.LittleEndian.AppendUint16(out, uint16(chunkSize+2-3)|0x3000)
	raw := make([]byte, chunkSize)
	copy(raw, chunk)
	return append(out, raw...)
}

// compressChunk returns the token sequences for one chunk.
func compressChunk(chunk []byte) []byte {
	var out []byte
	pos := 0
	for pos < len(chunk) {
		flagAt := len(out)
		out = append(out, 0)
		for bit := 0; bit < 8 && pos < len(chunk); bit++ {
			offset, length := longestMatch(chunk, pos)
			if length >= 3 {
				bitCount := copyTokenBitCount(pos)
				token := uint16(offset-1)<<(16-bitCount) | uint16(length-3)
				out = binary.LittleEndian.AppendUint16(out, token)
				out[flagAt] |= 1 << bit
				pos += length
				continue
			}
			out = append(out, chunk[pos])
			pos++
		}
	}
	return out
}

// copyTokenBitCount is the number of offset bits of a CopyToken emitted at
// chunk position pos (MS-OVBA 2.4.1.3.19.1): at least 4, enough for pos.
func copyTokenBitCount(pos int) uint {
	bits := uint(4)
	for 1<<bits < pos {
		bits++
	}
	return bits
}

// longestMatch finds the longest earlier occurrence (within the chunk) of
// the bytes at pos, bounded by the maximum length a CopyToken at pos can
// express. Ties prefer the nearest occurrence.
func longestMatch(chunk []byte, pos int) (offset, length int) {
	if pos == 0 {
		return 0, 0
	}
	bitCount := copyTokenBitCount(pos)
	maxLen := int(0xFFFF>>bitCount) + 3
	maxLen = min(maxLen, len(chunk)-pos)
	for cand := pos - 1; cand >= 0; cand-- {
		n := 0
		for n < maxLen && chunk[cand+n] == chunk[pos+n] {
			n++
		}
		if n > length {
			offset, length = pos-cand, n
			if n == maxLen {
				break
			}
		}
	}
	return offset, length
}
