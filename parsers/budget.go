package parsers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Units for limits.
const (
	KiB = 1 << 10
	MiB = 1 << 20
)

// Limits bound the work spent on one message. The zero value of a field
// means "use the default"; DefaultLimits lists the defaults.
type Limits struct {
	MaxInputBytes    int64   `json:"max_input_bytes"`    // the raw message or file
	MaxArtifactBytes int64   `json:"max_artifact_bytes"` // one decoded or decompressed artifact
	MaxTotalBytes    int64   `json:"max_total_bytes"`    // all decoded/decompressed bytes of the message
	MaxRatio         float64 `json:"max_ratio"`          // decompressed/compressed, per archive member
	MaxArtifacts     int     `json:"max_artifacts"`
	MaxDepth         int     `json:"max_depth"`
	MaxMIMEParts     int     `json:"max_mime_parts"`
	MaxEntries       int     `json:"max_entries"` // entries listed in one container
	MaxTextBytes     int     `json:"max_text_bytes"`
	TimeoutMillis    int     `json:"timeout_ms"` // per-message deadline
}

// DefaultLimits are sized for a 2-core machine triaging mail in well under a
// second, with peak memory far below 256 MB.
func DefaultLimits() Limits {
	return Limits{
		MaxInputBytes:    64 * MiB,
		MaxArtifactBytes: 32 * MiB,
		MaxTotalBytes:    64 * MiB,
		MaxRatio:         200,
		MaxArtifacts:     2000,
		MaxDepth:         12,
		MaxMIMEParts:     2000,
		MaxEntries:       10000,
		MaxTextBytes:     64 * KiB,
		TimeoutMillis:    10000,
	}
}

// WithDefaults fills zero fields from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxInputBytes <= 0 {
		l.MaxInputBytes = d.MaxInputBytes
	}
	if l.MaxArtifactBytes <= 0 {
		l.MaxArtifactBytes = d.MaxArtifactBytes
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = d.MaxTotalBytes
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = d.MaxRatio
	}
	if l.MaxArtifacts <= 0 {
		l.MaxArtifacts = d.MaxArtifacts
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxMIMEParts <= 0 {
		l.MaxMIMEParts = d.MaxMIMEParts
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = d.MaxTextBytes
	}
	if l.TimeoutMillis <= 0 {
		l.TimeoutMillis = d.TimeoutMillis
	}
	return l
}

// Budget is the one budget of one message. The pipeline creates it; parsers
// draw decompressed bytes from it. It is safe for concurrent use.
type Budget struct {
	Limits Limits
	ctx    context.Context

	mu        sync.Mutex
	usedBytes int64
	artifacts int
}

// NewBudget returns a budget bound to ctx (whose deadline is the message's).
func NewBudget(ctx context.Context, l Limits) *Budget {
	return &Budget{Limits: l.WithDefaults(), ctx: ctx}
}

// Err reports ErrDeadline once the message's context is done.
func (b *Budget) Err() error {
	if b == nil || b.ctx == nil {
		return nil
	}
	if err := b.ctx.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrDeadline, err)
	}
	return nil
}

// Used returns the decompressed bytes drawn so far.
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.usedBytes
}

// Charge draws n decoded bytes from the message's total. It fails with
// ErrTooLarge once the total would pass MaxTotalBytes.
func (b *Budget) Charge(n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.usedBytes+n > b.Limits.MaxTotalBytes {
		return fmt.Errorf("%w: total decoded bytes would pass %d", ErrTooLarge, b.Limits.MaxTotalBytes)
	}
	b.usedBytes += n
	return nil
}

// TakeArtifact counts one more artifact, failing with ErrTooMany past the limit.
func (b *Budget) TakeArtifact() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.artifacts >= b.Limits.MaxArtifacts {
		return fmt.Errorf("%w: more than %d artifacts", ErrTooMany, b.Limits.MaxArtifacts)
	}
	b.artifacts++
	return nil
}

// Artifacts returns the number of artifacts taken.
func (b *Budget) Artifacts() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.artifacts
}

// firstChunk is ReadAll's first read buffer; each later chunk is as large
// as all before it.
const firstChunk = 64 * KiB

// chunkPools recycle ReadAll's read chunks of firstChunk<<i bytes, up to
// 256 KiB (larger ones are rare and would keep memory between messages).
var chunkPools [3]sync.Pool

// getChunk returns a chunk of at least n bytes and its pool (-1: none).
func getChunk(n int64) ([]byte, int) {
	for class := range chunkPools {
		if size := int64(firstChunk) << class; n <= size {
			if c, ok := chunkPools[class].Get().(*[]byte); ok {
				return *c, class
			}
			return make([]byte, size), class
		}
	}
	return make([]byte, n), -1
}

func putChunk(c []byte, class int) {
	if class >= 0 {
		chunkPools[class].Put(&c)
	}
}

// ReadAll reads r to its end under the budget: at most MaxArtifactBytes,
// at most what remains of MaxTotalBytes, and, when compressed > 0, at most
// MaxRatio times compressed. It returns what it read and, when a limit cut
// the read, an error wrapping ErrTooLarge: a best-effort prefix for the caller
// to keep. Memory grows with what is actually read, never with a declared size.
func (b *Budget) ReadAll(r io.Reader, compressed int64) ([]byte, error) {
	limit := b.Limits.MaxArtifactBytes
	why := fmt.Sprintf("artifact larger than %d bytes", limit)
	if compressed > 0 {
		if rl := int64(float64(compressed) * b.Limits.MaxRatio); rl < limit {
			// Small members may still expand to 1 MiB: a 1 KiB text with a
			// high ratio is not a bomb.
			if rl < MiB {
				rl = MiB
			}
			if rl < limit {
				limit = rl
				why = fmt.Sprintf("expansion ratio above %.0f", b.Limits.MaxRatio)
			}
		}
	}
	b.mu.Lock()
	remaining := b.Limits.MaxTotalBytes - b.usedBytes
	b.mu.Unlock()
	if remaining < limit {
		limit = remaining
		why = fmt.Sprintf("message total decoded bytes above %d", b.Limits.MaxTotalBytes)
	}
	if limit < 0 {
		limit = 0
	}
	// Read into chunks, then copy them once into a buffer of the exact
	// size: no copy per growth, no zeroed slack kept by the caller, and
	// memory still grows with what is actually read. The chunks end where
	// a buffer doubling from 64 KiB (never past limit+1) would fill, so
	// each Read gets the buffer size it always got: stream decoders that
	// size their work by len(p) (encoding/base64) cut their input the same.
	pooled, class := getChunk(min(limit+1, firstChunk))
	chunk := pooled[:0:min(limit+1, firstChunk)]
	var full [][]byte       // filled chunks before chunk
	var fullPooled [][]byte // their pooled buffers
	var classes []int       // and size classes
	var size int64          // bytes in full
	var readErr error
	for {
		if err := b.Err(); err != nil {
			readErr = err
			break
		}
		if len(chunk) == cap(chunk) {
			end := size + int64(len(chunk)) // the doubling buffer's capacity
			if end > limit {
				break
			}
			full, fullPooled, classes = append(full, chunk), append(fullPooled, pooled), append(classes, class)
			size = end
			n := min(end*2, limit+1) - end
			pooled, class = getChunk(n)
			chunk = pooled[:0:n]
		}
		n, err := r.Read(chunk[len(chunk):cap(chunk)])
		chunk = chunk[:len(chunk)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			readErr = err
			break
		}
	}
	if size+int64(len(chunk)) > limit {
		chunk = chunk[:limit-size] // only the last chunk can pass limit
		if readErr == nil {
			readErr = fmt.Errorf("%w: %s", ErrTooLarge, why)
		}
	}
	buf := bytes.Join(append(full, chunk), nil)
	if buf == nil {
		buf = []byte{}
	}
	for i, c := range fullPooled {
		putChunk(c, classes[i])
	}
	putChunk(pooled, class)
	if err := b.Charge(int64(len(buf))); err != nil && readErr == nil {
		readErr = err
	}
	return buf, readErr
}
