// Package mime parses RFC 5322 / MIME messages with go-message: headers
// decoded to UTF-8 (RFC 2047, RFC 2231, ISO-2022-JP, Shift_JIS, EUC-JP …),
// every part's transfer encoding undone, text bodies converted to UTF-8,
// attachments and nested message/rfc822 parts handed to the pipeline as
// children. Malformed MIME yields a best-effort tree plus findings.
package mime

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	stdmime "mime"
	"strings"

	"github.com/emersion/go-message"
	// The charset hook is go-message's one global: imported here, once.
	_ "github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"

	"triage/parsers"
)

// Name is the parser's registry name.
const Name = "mime"

// maxNesting bounds multipart nesting inside one message; deeper parts are
// not opened (a finding records it). Nested message/rfc822 parts are
// children and count against the pipeline's depth limit instead.
const maxNesting = 64

// maxHeaderBytes bounds one header block.
const maxHeaderBytes = 1 * parsers.MiB

// Parser parses eml artifacts.
type Parser struct {
	sig *compiledSignals
}

// New returns the MIME parser with the default mail-level signals.
func New() *Parser {
	p, err := NewWithSignals(DefaultSignals())
	if err != nil {
		panic(err) // the defaults are constants: a bad one is a programming error
	}
	return p
}

// NewWithSignals returns the MIME parser with configured mail signals.
func NewWithSignals(s Signals) (*Parser, error) {
	cs, err := compileSignals(s)
	if err != nil {
		return nil, err
	}
	return &Parser{sig: cs}, nil
}

// Name implements parsers.Parser.
func (*Parser) Name() string { return Name }

// Match implements parsers.Parser.
func (*Parser) Match(a *parsers.Artifact, _ []byte) bool { return a.Type == "eml" || a.Type == "mht" }

// Parse implements parsers.Parser.
func (p *Parser) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	w := &walker{ctx: ctx, in: in, out: out, sig: p.sig}
	return w.run()
}

type walker struct {
	ctx   context.Context
	in    *parsers.Input
	out   parsers.Sink
	parts int
	// resyncLines counts lines skipped after unreadable part headers.
	resyncLines int
	// texts collects decoded text bodies for password extraction.
	texts   []string
	subject string
	errs    []error
	seen    map[string]bool // finding codes already reported once

	sig         *compiledSignals
	attachNames []string
}

func (w *walker) finding(code string, sev parsers.Severity, detail string) {
	if w.seen == nil {
		w.seen = map[string]bool{}
	}
	if w.seen[code+"\x00"+detail] {
		return
	}
	w.seen[code+"\x00"+detail] = true
	w.out.Finding(parsers.Finding{Code: code, Severity: sev, Detail: detail})
}

func (w *walker) run() error {
	data := w.in.Data
	if bytes.HasPrefix(data, []byte("From ")) {
		// An mbox separator line precedes the header: skip it.
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	if clean, n := dropJunkHeaderLines(data); n > 0 {
		w.finding("mime.header_junk", parsers.Low, fmt.Sprintf("%d line(s) in header blocks that are neither fields nor continuations were skipped, or joined to the parameter list they follow (clients differ on them; the message is read as the most lenient one would)", n))
		data = clean
	}
	ent, err := readEntity(bytes.NewReader(data))
	if ent == nil {
		// The header block could not be read (too large, broken folding):
		// salvage by dropping over-long header lines, then read again.
		w.finding("mime.malformed", parsers.Low, fmt.Sprintf("message header unreadable: %v", err))
		salvaged, dropped := salvageHeader(data)
		if dropped > 0 {
			w.finding("mime.huge_header", parsers.Low, fmt.Sprintf("%d header line(s) longer than %d bytes dropped", dropped, maxHeaderLine))
		}
		ent, err = readEntity(bytes.NewReader(salvaged))
		if ent == nil {
			// Still nothing: keep the whole input as text so nothing is lost.
			cerr := w.out.Child(parsers.Child{Name: "unparsed.txt", Data: data, Type: "text"})
			return errors.Join(fmt.Errorf("mime: %w: %v", parsers.ErrMalformed, err), cerr)
		}
	}
	w.softError(err, "message")
	w.headerMeta(ent.Header)
	w.walk(ent)
	w.signals(ent.Header, len(w.attachNames))
	for _, pw := range passwordsFrom(w.subject, w.texts) {
		w.out.Password(pw)
	}
	return errors.Join(w.errs...)
}

// softError records go-message's "usable entity plus error" results.
func (w *walker) softError(err error, where string) {
	switch {
	case err == nil:
	case message.IsUnknownCharset(err):
		w.finding("mime.unknown_charset", parsers.Info, fmt.Sprintf("%s: %v", where, err))
	case message.IsUnknownEncoding(err):
		w.finding("mime.unknown_encoding", parsers.Low, fmt.Sprintf("%s: %v", where, err))
	default:
		w.finding("mime.malformed", parsers.Low, fmt.Sprintf("%s: %v", where, err))
	}
}

type frame struct {
	mr    *multipartReader
	path  string
	count int
}

// walk visits the entity tree iteratively: a stack of open multipart
// readers, so hostile nesting cannot overflow the goroutine stack.
func (w *walker) walk(root *message.Entity) {
	if !w.visit(root, "1", 0) {
		return
	}
	stack := []*frame{{mr: multipartOf(root), path: "1"}}
	for len(stack) > 0 {
		if err := w.in.Budget.Err(); err != nil {
			w.finding("limit.deadline", parsers.Medium, "MIME walk stopped: message deadline passed")
			w.errs = append(w.errs, err)
			return
		}
		top := stack[len(stack)-1]
		part, err := top.mr.NextPart()
		if err != nil && part != nil && (message.IsUnknownCharset(err) || message.IsUnknownEncoding(err)) {
			// The part is usable (its body undecoded): judging it beats
			// dropping it and every part after it, which a bogus charset
			// on a text part would otherwise achieve.
			w.softError(err, fmt.Sprintf("part %s.%d", top.path, top.count+1))
			err = nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			// A part whose header cannot be read (a line without a colon, a
			// stray line before a boundary) must not hide the parts after it:
			// skip to the next boundary. Each failed call consumes a line.
			note := ""
			if resyncable(err) {
				note = " (skipped to the next boundary)"
			}
			w.finding("mime.malformed", parsers.Low, fmt.Sprintf("multipart %s: %s%s", top.path, clip(err.Error(), 200), note))
			if resyncable(err) {
				for err != nil && !errors.Is(err, io.EOF) && w.resyncLines < maxResyncLines && w.in.Budget.Err() == nil {
					w.resyncLines++
					part, err = top.mr.NextPart()
				}
			}
		}
		if err != nil {
			if top.count == 0 {
				w.finding("mime.malformed", parsers.Low, fmt.Sprintf("multipart %s has no parts", top.path))
				if top.path == "1" {
					// Nothing parsed: keep the raw body so nothing is lost.
					w.rawBody()
				}
			}
			stack = stack[:len(stack)-1]
			continue
		}
		w.parts++
		if w.parts > w.in.Budget.Limits.MaxMIMEParts {
			w.finding("limit.mime_parts", parsers.Medium, fmt.Sprintf("more than %d MIME parts: the rest is not opened", w.in.Budget.Limits.MaxMIMEParts))
			return
		}
		top.count++
		path := fmt.Sprintf("%s.%d", top.path, top.count)
		if !w.visit(part, path, len(stack)) {
			continue
		}
		if len(stack) >= maxNesting {
			w.finding("limit.mime_nesting", parsers.Medium, fmt.Sprintf("multipart nesting deeper than %d at part %s: not opened", maxNesting, path))
			// Keep the unopened part's raw body so rules still see it.
			raw, _ := w.in.Budget.ReadAll(part.Body, 0)
			if len(raw) > 0 {
				if err := w.out.Child(parsers.Child{Name: "unopened-part-" + path, Data: raw, Type: "text"}); err != nil {
					w.errs = append(w.errs, err)
				}
			}
			continue
		}
		stack = append(stack, &frame{mr: multipartOf(part), path: path})
	}
}

// maxResyncLines bounds the lines a message may have skipped looking for
// the next boundary after parts that cannot be read.
const maxResyncLines = 1 << 18

// resyncable reports whether err is a part header go-message could not
// read: the reader stopped inside that part, and further NextPart calls
// (each failing on one of the part's lines) reach the next boundary.
// Other errors (end of input, lines between parts) are not retried.
func resyncable(err error) bool {
	return strings.Contains(err.Error(), "message: malformed MIME header")
}

// rawBody hands the undecoded body of the message to the pipeline as text.
func (w *walker) rawBody() {
	body := w.in.Data
	if i := bytes.Index(body, []byte("\r\n\r\n")); i >= 0 {
		body = body[i+4:]
	} else if i := bytes.Index(body, []byte("\n\n")); i >= 0 {
		body = body[i+2:]
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return
	}
	if err := w.out.Child(parsers.Child{Name: "unparsed-body.txt", Data: body, Type: "text"}); err != nil {
		w.errs = append(w.errs, err)
	}
}

// visit handles one entity. It returns true when the entity is a multipart
// container whose parts should be walked.
func (w *walker) visit(e *message.Entity, path string, depth int) bool {
	mediaType, params, ctErr := e.Header.ContentType()
	// multipartOf(e) is not nil for this media type (before sniffing).
	multipart := strings.HasPrefix(mediaType, "multipart/")
	if ctErr != nil && e.Header.Get("Content-Type") != "" {
		w.finding("mime.malformed", parsers.Low, fmt.Sprintf("part %s: bad Content-Type %q", path, clip(e.Header.Get("Content-Type"), 120)))
		mediaType = sniffMediaType(e.Header.Get("Content-Type"))
	}
	if mediaType == "" {
		mediaType = "text/plain"
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		if params["boundary"] == "" {
			w.finding("mime.malformed", parsers.Low, fmt.Sprintf("part %s: multipart without boundary", path))
			return false
		}
		return multipart
	}
	filename, fnSource := w.filename(e.Header, path)
	disp, _, _ := e.Header.ContentDisposition()
	body, err := w.in.Budget.ReadAll(e.Body, 0)
	var childErr error
	if err != nil {
		switch {
		case errors.Is(err, parsers.ErrLimit):
			w.finding("limit.size", parsers.Medium, fmt.Sprintf("part %s (%s) cut: %v", path, mediaType, err))
			childErr = err
		default:
			w.finding("mime.bad_encoding", parsers.Low, fmt.Sprintf("part %s (%s, %s): %v", path, mediaType, e.Header.Get("Content-Transfer-Encoding"), err))
			childErr = fmt.Errorf("mime: decode part %s: %w", path, err)
		}
	}
	meta := map[string]any{"content_type": mediaType, "mime_path": path}
	if cte := e.Header.Get("Content-Transfer-Encoding"); cte != "" {
		meta["transfer_encoding"] = strings.ToLower(strings.TrimSpace(cte))
	}
	if cs := params["charset"]; cs != "" {
		meta["charset"] = strings.ToLower(cs)
	}
	if disp != "" {
		meta["disposition"] = disp
	}
	if fnSource != "" {
		meta["filename_encoding"] = fnSource
	}
	if cid := e.Header.Get("Content-Id"); cid != "" {
		meta["content_id"] = clip(cid, 200)
	}
	isAttachment := filename != "" || disp == "attachment"
	if isAttachment {
		w.attachNames = append(w.attachNames, filename)
	}
	child := parsers.Child{Name: filename, Data: body, Meta: meta, Err: childErr}
	switch {
	case mediaType == "message/rfc822" || mediaType == "message/global":
		if child.Name == "" {
			child.Name = "message.eml"
		}
	case !isAttachment && mediaType == "text/plain":
		child.Name, child.Type = "body.txt", "text"
		// Only the head is ever searched (Passwords, signals): no copy
		// of a long body.
		w.texts = append(w.texts, string(body[:min(len(body), maxPasswordText)]))
	case !isAttachment && mediaType == "text/html":
		child.Name, child.Type = "body.html", "html"
		w.texts = append(w.texts, htmlText(body))
	case !isAttachment && strings.HasPrefix(mediaType, "text/"):
		child.Name = "body." + strings.TrimPrefix(mediaType, "text/")
	case child.Name == "":
		child.Name = "part-" + path
	}
	if len(body) == 0 && childErr == nil && !isAttachment && depth > 0 {
		return false // empty body parts carry nothing to judge
	}
	if err := w.out.Child(child); err != nil {
		w.errs = append(w.errs, err)
	}
	return false
}

// filename decodes the attachment file name: RFC 2231 (any charset), RFC
// 2047 words inside quoted parameters (common in Japanese mail), and the
// Content-Type name parameter. It reports which encoding was seen.
func (w *walker) filename(h message.Header, path string) (string, string) {
	// Where senders put a name, most common first; "file" is a non-standard
	// parameter some mailers write.
	for _, fk := range [][2]string{{"Content-Disposition", "filename"}, {"Content-Type", "name"}, {"Content-Type", "file"}, {"Content-Disposition", "name"}} {
		field, key := fk[0], fk[1]
		raw := h.Get(field)
		if raw == "" {
			continue
		}
		name, src, ok := paramValue(raw, key)
		if !ok {
			continue
		}
		if strings.Contains(name, "=?") {
			dec := stdmime.WordDecoder{CharsetReader: message.CharsetReader}
			if d, err := dec.DecodeHeader(name); err == nil {
				name = d
				if src == "" {
					src = "rfc2047"
				}
			} else {
				w.finding("mime.bad_filename", parsers.Low, fmt.Sprintf("part %s: %v", path, err))
			}
		}
		return sanitizeName(name), src
	}
	return "", ""
}

func (w *walker) headerMeta(h message.Header) {
	mh := mail.Header{Header: h}
	set := func(k, v string) {
		if v != "" {
			w.out.Meta(k, v)
		}
	}
	subj, err := mh.Subject()
	if err != nil {
		w.finding("mime.bad_header", parsers.Info, fmt.Sprintf("Subject: %v", err))
		if subj == "" {
			subj = h.Get("Subject")
		}
	}
	w.subject = subj
	set("subject", subj)
	for _, k := range []struct{ meta, field string }{{"from", "From"}, {"to", "To"}, {"cc", "Cc"}, {"reply_to", "Reply-To"}, {"sender", "Sender"}, {"return_path", "Return-Path"}} {
		set(k.meta, w.addresses(mh, k.field))
	}
	if h.Get("Date") == "" {
		// no Date header
	} else if d, err := mh.Date(); err == nil {
		set("date", d.UTC().Format("2006-01-02T15:04:05Z07:00"))
	} else {
		set("date", strings.TrimSpace(h.Get("Date")))
	}
	if id, err := mh.MessageID(); err == nil && id != "" {
		set("message_id", id)
	} else {
		set("message_id", strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>"))
	}
	set("in_reply_to", strings.TrimSpace(h.Get("In-Reply-To")))
	set("references", clip(strings.TrimSpace(h.Get("References")), 2000))
	set("x_mailer", clip(decodeText(h.Get("X-Mailer")), 200))
	if ar := h.Values("Authentication-Results"); len(ar) > 0 {
		w.out.Meta("authentication_results", clipAll(ar, 1000))
	}
	w.out.Meta("received_count", len(h.Values("Received")))
}

// addresses renders an address-list header as "Name <addr>, …", decoded.
func (w *walker) addresses(mh mail.Header, field string) string {
	raw := mh.Get(field)
	if raw == "" {
		return ""
	}
	list, err := mh.AddressList(field)
	if err != nil || len(list) == 0 {
		// Keep what is written, decoded where possible.
		return clip(decodeText(raw), 1000)
	}
	parts := make([]string, 0, len(list))
	for _, a := range list {
		if a.Name != "" {
			parts = append(parts, fmt.Sprintf("%s <%s>", a.Name, a.Address))
		} else {
			parts = append(parts, a.Address)
		}
	}
	return clip(strings.Join(parts, ", "), 1000)
}

func decodeText(s string) string {
	dec := stdmime.WordDecoder{CharsetReader: message.CharsetReader}
	if d, err := dec.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

const maxHeaderLine = 64 * parsers.KiB

// salvageHeader drops over-long lines from the header block so the rest of
// the message can be read.
func salvageHeader(data []byte) ([]byte, int) {
	var out bytes.Buffer
	out.Grow(len(data))
	r := bufio.NewReaderSize(bytes.NewReader(data), 64*1024)
	dropped := 0
	inHeader := true
	for inHeader {
		line, err := r.ReadSlice('\n')
		long := false
		for errors.Is(err, bufio.ErrBufferFull) {
			long = true
			line, err = r.ReadSlice('\n')
		}
		if long || len(line) > maxHeaderLine {
			dropped++
		} else {
			out.Write(line)
			if len(bytes.TrimRight(line, "\r\n")) == 0 {
				inHeader = false
			}
		}
		if err != nil {
			break
		}
	}
	rest, _ := io.ReadAll(r)
	out.Write(rest)
	return out.Bytes(), dropped
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func clipAll(ss []string, n int) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, clip(strings.Join(strings.Fields(s), " "), n))
	}
	return out
}

// sanitizeName makes a declared name printable: control characters and
// path separators are kept visible but harmless (the name is only a label).
func sanitizeName(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			b.WriteRune('_')
			continue
		}
		b.WriteRune(r)
	}
	return clip(b.String(), 512)
}

func sniffMediaType(raw string) string {
	mt := strings.ToLower(strings.TrimSpace(raw))
	if i := strings.IndexAny(mt, "; \t"); i >= 0 {
		mt = mt[:i]
	}
	if strings.Count(mt, "/") != 1 {
		return ""
	}
	return mt
}
