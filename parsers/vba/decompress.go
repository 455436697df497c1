package vba

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"

	"triage/parsers"
)

// MS-OVBA 2.4.1: a CompressedContainer is a signature byte (0x01) followed
// by CompressedChunks. Each chunk has a 16-bit header: size-3 in the low 12
// bits, signature 0b011 in bits 12-14, and a "compressed" flag in bit 15. A
// compressed chunk is a sequence of TokenSequences (one flag byte and up to
// eight tokens: literal bytes or 16-bit copy tokens); a raw chunk holds 4096
// literal bytes. A chunk decompresses to at most 4096 bytes, and copy tokens
// only reach back inside the chunk being decompressed, so the reader below
// keeps one chunk of state and streams its output.

const (
	chunkMax        = 4096 // decompressed bytes per chunk
	chunkHeaderSize = 2
)

// errNotCompressed marks input that does not start with a CompressedContainer.
var errNotCompressed = errors.New("vba: not a compressed container (signature byte is not 0x01)")

// Reader streams the decompression of one CompressedContainer.
type Reader struct {
	src   []byte
	pos   int    // next byte of src
	chunk []byte // decompressed bytes of the current chunk
	off   int    // next unread byte of chunk
	err   error  // sticky error, returned once chunk is drained
}

// NewReader returns a reader that decompresses the CompressedContainer in
// src. Decompression errors wrap parsers.ErrMalformed; the bytes decoded
// before the error are returned first.
func NewReader(src []byte) *Reader {
	r := &Reader{src: src, chunk: make([]byte, 0, chunkMax)}
	if len(src) == 0 || src[0] != 0x01 {
		r.err = fmt.Errorf("%w: %w", parsers.ErrMalformed, errNotCompressed)
		return r
	}
	r.pos = 1
	return r
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	for r.off >= len(r.chunk) {
		if r.err != nil {
			return 0, r.err
		}
		if r.pos >= len(r.src) {
			r.err = io.EOF
			return 0, io.EOF
		}
		r.chunk = r.chunk[:0]
		r.off = 0
		if err := r.nextChunk(); err != nil {
			r.err = err
		}
	}
	n := copy(p, r.chunk[r.off:])
	r.off += n
	return n, nil
}

// nextChunk decompresses the chunk at r.pos into r.chunk.
func (r *Reader) nextChunk() error {
	start := r.pos
	if start+chunkHeaderSize > len(r.src) {
		// A lone trailing byte: ignore it as olevba does (it has no
		// complete header to decode).
		r.pos = len(r.src)
		return io.EOF
	}
	header := binary.LittleEndian.Uint16(r.src[start:])
	size := int(header&0x0FFF) + 3
	if sig := (header >> 12) & 0x07; sig != 0b011 {
		return fmt.Errorf("%w: vba: chunk at %d: bad signature %#b", parsers.ErrMalformed, start, sig)
	}
	compressed := header&0x8000 != 0
	end := start + size
	truncated := end > len(r.src)
	if truncated {
		end = len(r.src)
	}
	pos := start + chunkHeaderSize
	r.pos = end
	if !compressed {
		// A raw chunk holds 4096 bytes (MS-OVBA 2.4.1.3.3). Accept a short
		// last one, as olevba does.
		rawEnd := min(pos+chunkMax, len(r.src))
		r.chunk = append(r.chunk, r.src[pos:rawEnd]...)
		r.pos = rawEnd
		return nil
	}
	for pos < end {
		flags := r.src[pos]
		pos++
		for bit := 0; bit < 8 && pos < end; bit++ {
			if flags&(1<<bit) == 0 {
				if len(r.chunk) >= chunkMax {
					return fmt.Errorf("%w: vba: chunk at %d decompresses past %d bytes", parsers.ErrMalformed, start, chunkMax)
				}
				r.chunk = append(r.chunk, r.src[pos])
				pos++
				continue
			}
			if pos+2 > end {
				return fmt.Errorf("%w: vba: chunk at %d: truncated copy token", parsers.ErrMalformed, start)
			}
			token := binary.LittleEndian.Uint16(r.src[pos:])
			pos += 2
			offset, length := unpackCopyToken(token, len(r.chunk))
			if offset > len(r.chunk) {
				return fmt.Errorf("%w: vba: chunk at %d: copy token reaches %d bytes back, only %d decoded", parsers.ErrMalformed, start, offset, len(r.chunk))
			}
			if len(r.chunk)+length > chunkMax {
				return fmt.Errorf("%w: vba: chunk at %d decompresses past %d bytes", parsers.ErrMalformed, start, chunkMax)
			}
			// Byte by byte: source and destination may overlap.
			src := len(r.chunk) - offset
			for i := 0; i < length; i++ {
				r.chunk = append(r.chunk, r.chunk[src+i])
			}
		}
	}
	if truncated {
		return fmt.Errorf("%w: vba: chunk at %d: declared %d bytes, %d present", parsers.ErrMalformed, start, size, len(r.src)-start)
	}
	return nil
}

// unpackCopyToken splits a CopyToken (MS-OVBA 2.4.1.3.19.2). The split
// between offset and length bits depends on how many bytes of the current
// chunk are already decompressed (2.4.1.3.19.1 CopyToken Help).
func unpackCopyToken(token uint16, decoded int) (offset, length int) {
	bitCount := 4
	if decoded > 1 {
		// ceil(log2(decoded))
		if n := bits.Len(uint(decoded - 1)); n > bitCount {
			bitCount = n
		}
	}
	if bitCount > 12 {
		bitCount = 12
	}
	lengthMask := uint16(0xFFFF) >> bitCount
	offsetMask := ^lengthMask
	length = int(token&lengthMask) + 3
	offset = int((token&offsetMask)>>(16-bitCount)) + 1
	return offset, length
}

// Decompress decompresses a whole CompressedContainer, keeping at most limit
// output bytes (limit <= 0: no limit beyond the input's own bound). When the
// limit cuts the output it returns the prefix and an error wrapping
// parsers.ErrTooLarge; on corrupt input, the bytes decoded so far and an error
// wrapping parsers.ErrMalformed.
func Decompress(src []byte, limit int) ([]byte, error) {
	r := NewReader(src)
	var out bytes.Buffer
	buf := make([]byte, chunkMax)
	for {
		n, err := r.Read(buf)
		if limit > 0 && out.Len()+n > limit {
			out.Write(buf[:limit-out.Len()])
			return out.Bytes(), fmt.Errorf("%w: vba: decompressed data above %d bytes", parsers.ErrTooLarge, limit)
		}
		out.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			return out.Bytes(), nil
		}
		if err != nil {
			return out.Bytes(), err
		}
	}
}

// Compress encodes data as a CompressedContainer. It is a simple greedy
// encoder used by tests and sample generators: the output is valid MS-OVBA
// that Office and olevba decompress.
func Compress(data []byte) []byte {
	out := []byte{0x01}
	for start := 0; start < len(data); start += chunkMax {
		end := min(start+chunkMax, len(data))
		out = append(out, compressChunk(data[start:end])...)
	}
	return out
}

func compressChunk(chunk []byte) []byte {
	body := make([]byte, 0, len(chunk)+len(chunk)/8+1)
	pos := 0
	for pos < len(chunk) {
		flagAt := len(body)
		body = append(body, 0)
		for bit := 0; bit < 8 && pos < len(chunk); bit++ {
			offset, length := bestMatch(chunk, pos)
			if length >= 3 {
				bitCount := copyBitCount(pos)
				token := uint16(offset-1)<<(16-bitCount) | uint16(length-3)
				body = binary.LittleEndian.AppendUint16(body, token)
				body[flagAt] |= 1 << bit
				pos += length
				continue
			}
			body = append(body, chunk[pos])
			pos++
		}
	}
	if len(body) > chunkMax {
		// Incompressible: a raw chunk of exactly 4096 bytes, zero-padded.
		raw := make([]byte, chunkHeaderSize+chunkMax)
		binary.LittleEndian.PutUint16(raw, 0x3000|0x0FFF)
		copy(raw[chunkHeaderSize:], chunk)
		return raw
	}
	header := uint16(0xB000) | uint16(len(body)+chunkHeaderSize-3)
	return append(binary.LittleEndian.AppendUint16(nil, header), body...)
}

func copyBitCount(decoded int) int {
	bitCount := 4
	if decoded > 1 {
		if n := bits.Len(uint(decoded - 1)); n > bitCount {
			bitCount = n
		}
	}
	return min(bitCount, 12)
}

func bestMatch(chunk []byte, pos int) (offset, length int) {
	bitCount := copyBitCount(pos)
	maxLen := int(uint16(0xFFFF)>>bitCount) + 3
	maxOff := 1 << bitCount
	for cand := pos - 1; cand >= 0 && pos-cand <= maxOff; cand-- {
		n := 0
		for n < maxLen && pos+n < len(chunk) && chunk[cand+n] == chunk[pos+n] {
			n++
		}
		if n > length {
			offset, length = pos-cand, n
		}
	}
	return offset, length
}
