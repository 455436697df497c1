package mime

import (
	"bufio"
	"errors"
	"io"
	"math"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// The walker builds go-message entities itself (message.ReadWithOptions,
// Entity.MultipartReader and MultipartReader.NextPart do the same) so that
// a base64 body is decoded by base64Reader instead of go-message's
// byte-at-a-time whitespace filters. Everything else — headers, charsets,
// quoted-printable, multipart framing and their errors — is go-message's.

// errHeaderTooBig is go-message's error for a header block past
// ReadOptions.MaxHeaderBytes (same text).
var errHeaderTooBig = errors.New("message: header exceeds maximum size")

// headerLimitReader is io.LimitedReader with errHeaderTooBig at the limit.
type headerLimitReader struct {
	r io.Reader
	n int64
}

func (l *headerLimitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errHeaderTooBig
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// readEntity is message.ReadWithOptions with MaxHeaderBytes maxHeaderBytes.
func readEntity(r io.Reader) (*message.Entity, error) {
	lr := &headerLimitReader{r: r, n: maxHeaderBytes}
	br := bufio.NewReader(lr)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return nil, err
	}
	lr.n = math.MaxInt64
	return newEntity(message.Header{Header: h}, br)
}

// newEntity is message.New, with base64 bodies of non-multipart entities
// decoded by base64Reader.
func newEntity(h message.Header, body io.Reader) (*message.Entity, error) {
	if strings.ToLower(h.Get("Content-Transfer-Encoding")) != "base64" {
		return message.New(h, body)
	}
	if mediaType, _, _ := h.ContentType(); strings.HasPrefix(mediaType, "multipart/") {
		return message.New(h, body)
	}
	// Decode here; go-message still applies the charset of text parts.
	plain := h.Copy()
	plain.Del("Content-Transfer-Encoding")
	e, err := message.New(plain, newBase64Reader(body))
	if e != nil {
		e.Header = h
	}
	return e, err
}

// multipartReader is message.MultipartReader over newEntity.
type multipartReader struct {
	r *textproto.MultipartReader
}

// multipartOf is Entity.MultipartReader: nil unless e is multipart.
func multipartOf(e *message.Entity) *multipartReader {
	mediaType, params, _ := e.Header.ContentType()
	if !strings.HasPrefix(mediaType, "multipart/") {
		return nil
	}
	return &multipartReader{r: textproto.NewMultipartReader(e.Body, params["boundary"])}
}

// NextPart returns the next part or an error (io.EOF after the last).
func (m *multipartReader) NextPart() (*message.Entity, error) {
	p, err := m.r.NextPart()
	if err != nil {
		return nil, err
	}
	return newEntity(message.Header{Header: p.Header}, p)
}
