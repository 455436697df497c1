package msg

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"net/textproto"
	"path"
	"strings"
	"time"

	"golang.org/x/text/encoding/htmlindex"

	"triage/parsers"
)

// wordDecoder decodes RFC 2047 words in any charset x/text knows.
var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
	e, err := htmlindex.Get(charset)
	if err != nil {
		return nil, err
	}
	return e.NewDecoder().Reader(r), nil
}}

// headers are the message's transport headers, parsed leniently.
type headers struct {
	raw string
	h   textproto.MIMEHeader
}

func parseHeaders(raw string) *headers {
	raw = strings.TrimLeft(raw, "\r\n")
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	tp := textproto.NewReader(bufio.NewReader(strings.NewReader(strings.TrimRight(raw, "\r\n") + "\r\n\r\n")))
	h, _ := tp.ReadMIMEHeader() // a partial header is still useful
	if len(h) == 0 {
		return nil
	}
	return &headers{raw: raw, h: h}
}

func (h *headers) get(k string) string {
	if h == nil {
		return ""
	}
	return strings.TrimSpace(h.h.Get(k))
}

func (h *headers) text(k string) string {
	v := h.get(k)
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// addresses renders an address-list header as "Name <addr>, …", decoded.
func (h *headers) addresses(k string) string {
	v := h.get(k)
	if v == "" {
		return ""
	}
	p := mail.AddressParser{WordDecoder: wordDecoder}
	list, err := p.ParseList(v)
	if err != nil || len(list) == 0 {
		return h.text(k)
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = formatAddress(a.Name, a.Address)
	}
	return strings.Join(out, ", ")
}

func formatAddress(name, addr string) string {
	name, addr = oneLine(name), oneLine(addr)
	switch {
	case name == "" || name == addr:
		return addr
	case addr == "":
		return name
	}
	return name + " <" + addr + ">"
}

// oneLine removes line breaks (header injection) and trims.
func oneLine(s string) string {
	return strings.TrimSpace(strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s))
}

// info is what the report's message block and a synthetic .eml need.
type info struct {
	subject, from, to, cc, replyTo, date, messageID, inReplyTo string
	when                                                       time.Time
	hdr                                                        *headers
	// Structured addresses from the properties, for a synthetic header.
	fromAddr, toAddr, ccAddr []*mail.Address
	displayTo, displayCc     string
}

func (s *scan) info(m *message) info {
	hdr := parseHeaders(s.str(m, tagTransportHeaders))
	in := info{hdr: hdr}
	in.subject = oneLine(s.str(m, tagSubject))
	if in.subject == "" {
		in.subject = hdr.text("Subject")
	}
	name := oneLine(firstNonEmpty(s.str(m, tagSentReprName), s.str(m, tagSenderName)))
	addr := oneLine(firstSMTP(s.str(m, tagSentReprSMTP), s.str(m, tagSenderSMTP), s.str(m, tagSentReprEmail), s.str(m, tagSenderEmail)))
	if name != "" || addr != "" {
		in.fromAddr = []*mail.Address{{Name: name, Address: addr}}
	}
	in.toAddr, in.ccAddr = recipients(m, 1), recipients(m, 2)
	in.displayTo, in.displayCc = oneLine(s.str(m, tagDisplayTo)), oneLine(s.str(m, tagDisplayCc))
	if in.from = hdr.addresses("From"); in.from == "" {
		in.from = formatAddress(name, addr)
	}
	in.to, in.cc = hdr.addresses("To"), hdr.addresses("Cc")
	if in.to == "" {
		in.to = firstNonEmpty(formatList(in.toAddr), in.displayTo)
	}
	if in.cc == "" {
		in.cc = firstNonEmpty(formatList(in.ccAddr), in.displayCc)
	}
	in.replyTo = hdr.addresses("Reply-To")
	if d := hdr.get("Date"); d != "" {
		if t, err := mail.ParseDate(d); err == nil {
			in.when = t
			in.date = t.UTC().Format(time.RFC3339)
		} else {
			in.date = d
		}
	}
	if in.date == "" {
		for _, tag := range []uint16{tagClientSubmitTime, tagDeliveryTime} {
			if t, ok := m.fixed.time(tag); ok {
				in.when = t
				in.date = t.Format(time.RFC3339)
				break
			}
		}
	}
	in.messageID = strings.Trim(oneLine(firstNonEmpty(s.str(m, tagMessageID), hdr.get("Message-Id"))), "<>")
	in.inReplyTo = oneLine(firstNonEmpty(s.str(m, tagInReplyTo), hdr.get("In-Reply-To")))
	return in
}

// recipients returns the recipients of one type (1 To, 2 Cc).
func recipients(m *message, typ uint32) []*mail.Address {
	var out []*mail.Address
	for _, r := range m.recipients {
		if r.typ == typ && (r.name != "" || r.email != "") {
			out = append(out, &mail.Address{Name: oneLine(r.name), Address: oneLine(r.email)})
		}
	}
	return out
}

// formatList renders addresses as "Name <addr>, …".
func formatList(list []*mail.Address) string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = formatAddress(a.Name, a.Address)
	}
	return strings.Join(out, ", ")
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// report records the top-level message's meta and children.
func (s *scan) report(m *message) {
	in := s.info(m)
	set := func(k, v string) {
		if v != "" {
			s.out.Meta(k, v)
		}
	}
	set("subject", in.subject)
	set("from", in.from)
	set("to", in.to)
	set("cc", in.cc)
	set("reply_to", in.replyTo)
	set("date", in.date)
	set("message_id", in.messageID)
	set("in_reply_to", in.inReplyTo)
	set("message_class", oneLine(s.str(m, tagMessageClass)))
	set("sender_name", oneLine(firstNonEmpty(s.str(m, tagSentReprName), s.str(m, tagSenderName))))
	set("sender_email", firstSMTP(s.str(m, tagSentReprSMTP), s.str(m, tagSenderSMTP), s.str(m, tagSentReprEmail), s.str(m, tagSenderEmail)))
	if in.hdr != nil {
		set("transport_headers", capString(in.hdr.raw, maxHeaderMeta))
		set("x_mailer", in.hdr.text("X-Mailer"))
		if ar := in.hdr.h.Values("Authentication-Results"); len(ar) > 0 {
			s.out.Meta("authentication_results", ar[:min(len(ar), maxListMeta)])
		}
		s.out.Meta("received_count", len(in.hdr.h.Values("Received")))
	}
	s.out.Meta("codepage", m.cp)
	if len(m.recipients) > 0 {
		rs := make([]map[string]any, 0, min(len(m.recipients), maxListMeta))
		for _, r := range m.recipients[:min(len(m.recipients), maxListMeta)] {
			rs = append(rs, map[string]any{"name": r.name, "email": r.email, "type": r.typ})
		}
		s.out.Meta("recipients", rs)
	}

	if body := s.str(m, tagBody); strings.TrimSpace(body) != "" {
		s.child(parsers.Child{Name: "body.txt", Data: []byte(body), Type: "text"})
	}
	html := s.html(m)
	if len(html) > 0 {
		s.child(parsers.Child{Name: "body.html", Data: html})
	} else if c := s.bin(m, tagRTFCompressed); len(c) > 0 {
		rtf, cut, err := decompressRTF(c, int(s.b.Limits.MaxArtifactBytes))
		switch {
		case err != nil:
			s.fail(fmt.Sprintf("RTF body: %v", err), fmt.Errorf("msg: RTF body: %w", errors.Join(parsers.ErrMalformed, err)))
		case s.b.Charge(int64(len(rtf))) != nil || cut:
			s.limit("RTF body cut", fmt.Errorf("msg: RTF body: %w", parsers.ErrTooLarge))
		}
		if len(rtf) > 0 {
			s.child(parsers.Child{Name: "body.rtf", Data: rtf})
		}
	}

	var list []map[string]any
	for i, a := range m.attachments {
		if err := s.b.Err(); err != nil {
			s.errs = append(s.errs, err)
			break
		}
		entry := s.emitAttachment(i, a)
		if len(list) < maxListMeta {
			list = append(list, entry)
		}
	}
	if len(list) > 0 {
		s.out.Meta("attachments", list)
	}
}

// attachmentName picks an attachment's file name.
func (s *scan) attachmentName(i int, a *attachment) string {
	name := firstNonEmpty(s.str(a.props, tagAttachLongFilename), s.str(a.props, tagAttachFilename), s.str(a.props, tagDisplayName))
	if name = baseName(name); name == "" {
		name = fmt.Sprintf("attachment%d", i+1)
	}
	return name
}

// baseName keeps the last path element of a declared name, on one line.
func baseName(name string) string {
	name = oneLine(name)
	if j := strings.LastIndexAny(name, `/\`); j >= 0 {
		name = name[j+1:]
	}
	return strings.TrimSpace(name)
}

func (s *scan) emitAttachment(i int, a *attachment) map[string]any {
	name := s.attachmentName(i, a)
	entry := map[string]any{"name": name, "method": a.method}
	switch {
	case a.embedded != nil:
		sub := s.info(a.embedded)
		if s.str(a.props, tagDisplayName) == "" && baseName(sub.subject) != "" {
			name = baseName(sub.subject)
		}
		name = strings.TrimSuffix(name, path.Ext(name)) + ".eml"
		if strings.TrimSpace(strings.TrimSuffix(name, ".eml")) == "" {
			name = fmt.Sprintf("attachment%d.eml", i+1)
		}
		eml, err := s.buildEML(a.embedded, 0)
		entry["name"], entry["embedded_message"], entry["size"] = name, true, len(eml)
		s.child(parsers.Child{Name: name, Data: eml, Err: err, Meta: map[string]any{"synthetic": "eml from embedded .msg"}})
	case a.ole:
		entry["ole_storage"] = true
	default:
		data := s.bin(a.props, tagAttachData)
		entry["size"] = len(data)
		meta := map[string]any{}
		if mt := oneLine(s.str(a.props, tagAttachMimeTag)); mt != "" {
			entry["mime_type"], meta["mime_type"] = mt, mt
		}
		if cid := oneLine(s.str(a.props, tagAttachContentID)); cid != "" {
			meta["content_id"] = cid
		}
		if len(data) > 0 {
			s.child(parsers.Child{Name: name, Data: data, Meta: meta})
		}
	}
	return entry
}

func (s *scan) child(c parsers.Child) {
	if s.children < 0 {
		return
	}
	if err := s.out.Child(c); err != nil {
		s.children = -1
		s.limit("child limit reached", err)
		return
	}
	s.children++
}

// capString cuts s to at most n bytes on a rune boundary.
func capString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
