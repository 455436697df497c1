package mime

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"io"
	"sync"
)

// base64Reader decodes a base64 transfer-encoded body exactly as go-message
// does (its whitespace-replacing reader under encoding/base64's stream
// decoder), but in bulk: line breaks are cut out with bytes.IndexByte and
// runs of chunks are decoded at once, 8 digits per step.
//
// Exactly means byte for byte and error for error, also for bodies that
// are not clean base64. There the stream decoder's result depends on how
// it cuts its input into chunks: a chunk ending in padding ("xy==") is
// accepted and the next decoded afresh, an error's offset counts from its
// chunk, and the failing chunk's output comes with the error. Its chunks
// follow its reads: each asks for 1024 bytes less what it holds (fewer
// when the caller's buffer has room for under 768 decoded bytes) and ends
// early where the source's read ends short. base64Reader replays those
// reads: its own reads of the source are short exactly where the decoder's
// were (go-message's part readers and bufio.Readers return what they have
// buffered, up to the request, and refill only when empty), and it cuts
// ahead only chunks the decoder would have cut with a full-size request,
// which holds for callers that pass the rest of one buffer (Budget.ReadAll)
// or a fresh large one (charset decoders).
type base64Reader struct {
	src io.Reader
	buf *b64Buffers

	// Raw input: raw[rpos:] is read but not filtered; segs are the ends
	// (ascending, in raw) of source reads that returned short.
	raw    []byte
	rpos   int
	segs   []int // segs[seg:] are ahead
	seg    int
	srcErr error // the source's error, after raw
	idle   int   // consecutive empty reads

	// Filtered input: f[0] starts a chunk; bounds are the ends of cut
	// chunks not yet decoded; nbuf counts the bytes after the last bound.
	f      []byte
	bounds []int
	nbuf   int

	out []byte // decoded bytes the caller had no room for
	err error  // returned once out is drained
}

const (
	// b64Request is the stream decoder's largest read: its buffer size.
	b64Request = 1024
	// b64Chunk is the most one chunk decodes to.
	b64Chunk = b64Request / 4 * 3
	// b64Read is base64Reader's read size: above the 4096 bytes a
	// go-message part reader holds, so each of its reads returns short
	// where one of the decoder's would have.
	b64Read = 4097
	// b64Batch bounds the chunks cut and decoded at once.
	b64Batch = 64
)

type b64Buffers struct {
	raw, f []byte
	segs   []int
	bounds []int
}

var b64Pool = sync.Pool{New: func() any {
	return &b64Buffers{raw: make([]byte, 0, 2*b64Read+b64Request), f: make([]byte, 0, (b64Batch+1)*b64Request)}
}}

func newBase64Reader(src io.Reader) *base64Reader {
	return &base64Reader{src: src}
}

// b64Space marks the bytes dropped before decoding: go-message turns
// spaces and tabs into line feeds, and the decoder drops CR and LF.
var b64Space = [256]bool{'\r': true, '\n': true, ' ': true, '\t': true}

// Read implements io.Reader.
func (r *base64Reader) Read(p []byte) (int, error) {
	if len(r.out) > 0 {
		n := copy(p, r.out)
		r.out = r.out[n:]
		return n, nil
	}
	if r.err != nil {
		r.release()
		return 0, r.err
	}
	if r.buf == nil {
		r.buf = b64Pool.Get().(*b64Buffers)
		r.raw, r.f, r.segs, r.bounds = r.buf.raw[:0], r.buf.f[:0], r.buf.segs[:0], r.buf.bounds[:0]
	}
	n := 0
	for {
		room := len(p) - n
		// With room for b64Chunk bytes per chunk, every request is a
		// full one: cut as many chunks as there is room for.
		batch := min(room/b64Chunk, b64Batch)
		if batch == 0 {
			if n > 0 {
				return n, nil // the caller's next buffer sizes the next chunk
			}
			// Little room: one smaller chunk, as the decoder does.
			if !r.cut(max(room/3*4, 4)) {
				return 0, r.err
			}
			if need := r.bounds[0] / 4 * 3; need > room {
				var tmp [3]byte
				m, err := r.decode(tmp[:])
				k := copy(p, tmp[:m])
				r.out = append([]byte(nil), tmp[k:m]...)
				r.err = err
				return k, err
			}
			m, err := r.decode(p)
			r.err = err
			return m, err
		}
		for range batch {
			if !r.cut(b64Request) {
				break
			}
		}
		if len(r.bounds) == 0 {
			// Nothing more to decode: the end of the input.
			if n > 0 {
				return n, nil
			}
			return 0, r.err
		}
		m, err := r.decode(p[n:])
		n += m
		if err != nil {
			r.err = err
			return n, err
		}
		if r.err != nil {
			return n, nil // the end of the input: reported on the next call
		}
	}
}

func (r *base64Reader) release() {
	if r.buf != nil && len(r.out) == 0 {
		r.buf.raw, r.buf.f, r.buf.segs, r.buf.bounds = r.raw[:0], r.f[:0], r.segs[:0], r.bounds[:0]
		b64Pool.Put(r.buf)
		r.buf = nil
		r.raw, r.f, r.segs, r.bounds = nil, nil, nil, nil
	}
}

// cut runs the stream decoder's reads for one chunk with a buffer of size
// bufSize (requests of bufSize less what it holds) and records the chunk.
// At the end of the input it reports false and sets r.err to what the
// decoder returns there.
func (r *base64Reader) cut(bufSize int) bool {
	for r.nbuf < 4 {
		if !r.request(bufSize - r.nbuf) {
			// The source is done: whole quanta are decoded, then its
			// error is returned (EOF with a partial quantum left is
			// ErrUnexpectedEOF).
			if r.nbuf >= 4 {
				break
			}
			r.err = r.srcErr
			if r.srcErr == io.EOF && r.nbuf > 0 {
				r.err = io.ErrUnexpectedEOF
			}
			return false
		}
	}
	end := len(r.f) - r.nbuf + r.nbuf&^3
	r.bounds = append(r.bounds, end)
	r.nbuf &= 3
	return true
}

// request replays one read of size n by the decoder: up to n raw bytes,
// fewer where a source read ended short, filtered into r.f. It reports
// false once the source has nothing more.
func (r *base64Reader) request(n int) bool {
	for {
		avail := len(r.raw) - r.rpos
		end := r.rpos + min(n, avail)
		short := r.seg < len(r.segs) && r.segs[r.seg] <= end
		if short {
			end = r.segs[r.seg]
			r.seg++
		}
		if short || avail >= n || (r.srcErr != nil && avail > 0) {
			k := len(r.f)
			r.f = appendNoSpace(r.f, r.raw[r.rpos:end])
			r.nbuf += len(r.f) - k
			r.rpos = end
			return true
		}
		if r.srcErr != nil {
			return false
		}
		r.readSource()
	}
}

// readSource reads once from the source into r.raw, recording a short
// read's end.
func (r *base64Reader) readSource() {
	if r.rpos > 0 {
		kept := copy(r.raw, r.raw[r.rpos:])
		r.segs = r.segs[:copy(r.segs, r.segs[r.seg:])]
		for i := range r.segs {
			r.segs[i] -= r.rpos
		}
		r.raw, r.rpos, r.seg = r.raw[:kept], 0, 0
	}
	want := b64Read
	buffered, isBufio := r.src.(interface {
		Buffered() int
		Size() int
	})
	if isBufio {
		// A bufio.Reader reads past its buffer for requests of its size
		// or more: stay below, and look at what it has left.
		want = buffered.Size() - 1
	}
	if cap(r.raw)-len(r.raw) < want {
		r.raw = append(make([]byte, 0, len(r.raw)+want), r.raw...)
	}
	n, err := r.src.Read(r.raw[len(r.raw) : len(r.raw)+want])
	r.raw = r.raw[:len(r.raw)+n]
	switch {
	case err != nil:
		r.srcErr = err
	case n == 0:
		if r.idle++; r.idle > 100 {
			r.srcErr = io.ErrNoProgress
		}
	case isBufio && buffered.Buffered() == 0, !isBufio && n < want:
		r.segs = append(r.segs, len(r.raw))
	}
	if n > 0 {
		r.idle = 0
	}
}

// appendNoSpace appends src without CR, LF, space and tab to dst.
func appendNoSpace(dst, src []byte) []byte {
	start := len(dst)
	rest := src
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		dst = append(dst, line...)
	}
	added := dst[start:]
	if bytes.IndexByte(added, '\r') < 0 && bytes.IndexByte(added, ' ') < 0 && bytes.IndexByte(added, '\t') < 0 {
		return dst
	}
	// Stray CR, space or tab: drop them byte by byte.
	dst = dst[:start]
	for _, c := range src {
		if !b64Space[c] {
			dst = append(dst, c)
		}
	}
	return dst
}

// decode decodes the cut chunks into dst, which has room for them, as the
// decoder does chunk by chunk, and drops them from r.f. It stops at the
// first chunk that fails, returning its output with the error.
func (r *base64Reader) decode(dst []byte) (int, error) {
	end := r.bounds[len(r.bounds)-1]
	n, done := decodeDigits(dst, r.f[:end])
	var err error
	if done < end {
		// Padding, or something other than base64 digits.
		var m int
		m, err = base64.StdEncoding.Decode(dst[n:], r.f[done:end])
		n += m
	}
	if err != nil {
		// Decode chunk by chunk: a chunk may end in padding and the next
		// start afresh; the first to fail ends the output.
		n = 0
		start := 0
		for _, b := range r.bounds {
			m, err := base64.StdEncoding.Decode(dst[n:], r.f[start:b])
			n += m
			if err != nil {
				r.f, r.bounds, r.nbuf = r.f[:0], r.bounds[:0], 0
				return n, err
			}
			start = b
		}
	}
	r.f = r.f[:copy(r.f, r.f[end:])]
	r.bounds = r.bounds[:0]
	return n, nil
}

// b64Digits maps a base64 digit to its value in the bits it takes in a
// 4-digit quantum's 24, for each of the four positions; anything else has
// a bit above the 24 set.
var b64Digits = func() (t [4][256]uint32) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for pos := range t {
		for c := range t[pos] {
			t[pos][c] = 0xff000000
		}
		for v := range len(alphabet) {
			t[pos][alphabet[v]] = uint32(v) << (18 - 6*pos)
		}
	}
	return t
}()

// decodeDigits decodes the leading quanta of src made of base64 digits
// only (no padding) into dst, which has room for len(src)/4*3 bytes. It
// returns the bytes written and read; the quantum at src[read:] (if any)
// is not plain digits and is left to base64.StdEncoding.Decode.
func decodeDigits(dst, src []byte) (written, read int) {
	d0, d1, d2, d3 := &b64Digits[0], &b64Digits[1], &b64Digits[2], &b64Digits[3]
	n, i := 0, 0
	for ; i+8 <= len(src) && n+8 <= len(dst); i += 8 {
		q := src[i : i+8 : i+8]
		x := d0[q[0]] | d1[q[1]] | d2[q[2]] | d3[q[3]]
		y := d0[q[4]] | d1[q[5]] | d2[q[6]] | d3[q[7]]
		if (x|y)>>24 != 0 {
			break
		}
		binary.BigEndian.PutUint64(dst[n:], uint64(x)<<40|uint64(y)<<16)
		n += 6
	}
	for ; i+4 <= len(src); i += 4 {
		q := src[i : i+4 : i+4]
		x := d0[q[0]] | d1[q[1]] | d2[q[2]] | d3[q[3]]
		if x>>24 != 0 {
			break
		}
		out := dst[n : n+3 : n+3]
		out[0], out[1], out[2] = byte(x>>16), byte(x>>8), byte(x)
		n += 3
	}
	return n, i
}
