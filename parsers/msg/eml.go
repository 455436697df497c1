package msg

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"golang.org/x/text/encoding/htmlindex"

	"triage/parsers"
)

// mimeHeaders are the transport headers dropped from a synthetic .eml:
// its MIME structure is rebuilt from the message's properties.
var mimeHeaders = map[string]bool{"content-type": true, "content-transfer-encoding": true, "mime-version": true, "content-disposition": true}

// buildEML writes an embedded message as an RFC 5322 message: the original
// transport headers when it has them (else headers made from its
// properties), a multipart/mixed body with the text and HTML bodies, and
// its attachments (embedded messages as message/rfc822 parts).
func (s *scan) buildEML(m *message, depth int) ([]byte, error) {
	limit := int(min(s.b.Limits.MaxArtifactBytes, s.b.Limits.MaxTotalBytes-s.b.Used()))
	var buf bytes.Buffer
	in := s.info(m)
	if in.hdr != nil {
		writeRawHeaders(&buf, in.hdr.raw)
	} else {
		h := func(k, v string) {
			if v = oneLine(v); v != "" {
				fmt.Fprintf(&buf, "%s: %s\r\n", k, v)
			}
		}
		h("From", headerList(in.fromAddr, ""))
		h("To", headerList(in.toAddr, in.displayTo))
		h("Cc", headerList(in.ccAddr, in.displayCc))
		h("Subject", mime.QEncoding.Encode("utf-8", in.subject))
		if !in.when.IsZero() {
			h("Date", in.when.Format(time.RFC1123Z))
		}
		if in.messageID != "" {
			h("Message-ID", "<"+in.messageID+">")
		}
		if in.inReplyTo != "" {
			h("In-Reply-To", in.inReplyTo)
		}
	}
	type mimePart struct {
		h    textproto.MIMEHeader
		body []byte
	}
	var (
		parts []mimePart
		size  = buf.Len()
		cut   bool
	)
	add := func(h textproto.MIMEHeader, body func(*bytes.Buffer)) {
		if cut {
			return
		}
		var part bytes.Buffer
		body(&part)
		if size+part.Len() > limit {
			cut = true
			return
		}
		size += part.Len()
		parts = append(parts, mimePart{h, part.Bytes()})
	}
	if body := s.str(m, tagBody); body != "" {
		add(textHeader("text/plain", "utf-8"), func(b *bytes.Buffer) { writeQP(b, []byte(body)) })
	}
	if html := s.html(m); len(html) > 0 {
		charset := "utf-8"
		if e := codec(m.cp); e != nil && s.bin(m, tagHTML) != nil {
			if n, err := htmlindex.Name(e); err == nil {
				charset = n
			}
		}
		add(textHeader("text/html", charset), func(b *bytes.Buffer) { writeQP(b, html) })
	}
	for i, a := range m.attachments {
		if s.b.Err() != nil {
			break
		}
		name := s.attachmentName(i, a)
		switch {
		case a.embedded != nil:
			if depth+1 >= maxNesting {
				continue
			}
			inner, err := s.buildEML(a.embedded, depth+1)
			if err != nil {
				cut = true
			}
			h := textproto.MIMEHeader{}
			h.Set("Content-Type", "message/rfc822")
			h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": strings.TrimSuffix(name, ".msg") + ".eml"}))
			add(h, func(b *bytes.Buffer) { b.Write(inner) })
		case a.ole:
		default:
			data := s.bin(a.props, tagAttachData)
			ct := oneLine(s.str(a.props, tagAttachMimeTag))
			if _, _, err := mime.ParseMediaType(ct); err != nil || ct == "" {
				ct = "application/octet-stream"
			}
			h := textproto.MIMEHeader{}
			h.Set("Content-Type", ct)
			h.Set("Content-Transfer-Encoding", "base64")
			if d := mime.FormatMediaType("attachment", map[string]string{"filename": name}); d != "" {
				h.Set("Content-Disposition", d)
			} else {
				h.Set("Content-Disposition", "attachment")
			}
			if cid := oneLine(s.str(a.props, tagAttachContentID)); cid != "" {
				h.Set("Content-ID", "<"+strings.Trim(cid, "<>")+">")
			}
			add(h, func(b *bytes.Buffer) { writeBase64(b, data) })
		}
	}
	// A boundary that no part contains keeps the output deterministic.
	mw := multipart.NewWriter(&buf)
	for k := 0; ; k++ {
		b := fmt.Sprintf("=_triage_%d_%d", depth, k)
		clash := false
		for _, p := range parts {
			clash = clash || bytes.Contains(p.body, []byte(b))
		}
		if !clash {
			mw.SetBoundary(b)
			break
		}
	}
	fmt.Fprintf(&buf, "X-Triage-Synthetic: embedded Outlook message\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=%q\r\n\r\n", mw.Boundary())
	for _, p := range parts {
		if w, err := mw.CreatePart(p.h); err == nil {
			w.Write(p.body)
		}
	}
	mw.Close()
	var err error
	if cut {
		err = fmt.Errorf("msg: synthetic message: %w: parts left out past %d bytes", parsers.ErrTooLarge, limit)
	}
	if cerr := s.b.Charge(int64(buf.Len())); cerr != nil && err == nil {
		err = fmt.Errorf("msg: synthetic message: %w", cerr)
	}
	return buf.Bytes(), err
}

// writeRawHeaders copies transport headers, unfolded lines kept, without
// the MIME structure headers.
func writeRawHeaders(buf *bytes.Buffer, raw string) {
	skip := false
	for _, line := range strings.Split(strings.ReplaceAll(raw, "\r\n", "\n"), "\n") {
		if line == "" {
			break // end of the header block
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !skip {
				buf.WriteString(line + "\r\n")
			}
			continue
		}
		i := strings.IndexByte(line, ':')
		if i <= 0 {
			skip = true
			continue
		}
		skip = mimeHeaders[strings.ToLower(strings.TrimSpace(line[:i]))]
		if !skip {
			buf.WriteString(line + "\r\n")
		}
	}
}

// headerList renders addresses for a header (RFC 2047 names), or the
// encoded display string when there are none.
func headerList(list []*mail.Address, display string) string {
	if len(list) == 0 {
		return mime.QEncoding.Encode("utf-8", display)
	}
	out := make([]string, len(list))
	for i, a := range list {
		if a.Address == "" {
			out[i] = mime.QEncoding.Encode("utf-8", a.Name)
			continue
		}
		out[i] = a.String()
	}
	return strings.Join(out, ", ")
}

func textHeader(typ, charset string) textproto.MIMEHeader {
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", mime.FormatMediaType(typ, map[string]string{"charset": charset}))
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	return h
}

func writeQP(b *bytes.Buffer, data []byte) {
	w := quotedprintable.NewWriter(b)
	w.Write(data)
	w.Close()
}

func writeBase64(b *bytes.Buffer, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
}
