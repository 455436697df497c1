// Package msg parses Outlook .msg files (MS-OXMSG: a compound file of MAPI
// property streams): the message headers and bodies, the recipients, and
// the attachments. Attached files are handed on as children; an attached
// (embedded) message becomes a synthetic RFC 5322 .eml child, so it is
// analysed like any other mail.
package msg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/richardlehane/mscfb"

	"triage/parsers"
	"triage/parsers/ole"
)

// Name is the parser's registry name.
const Name = "msg"

// Bounds.
const (
	maxAttachments  = 500
	maxRecipients   = 1000
	maxNesting      = 8
	maxHeaderMeta   = 16 * parsers.KiB
	maxListMeta     = 100
	substgPrefix    = "__substg1.0_"
	attachPrefix    = "__attach_version1.0_#"
	recipPrefix     = "__recip_version1.0_#"
	propertiesName  = "__properties_version1.0"
	topHeaderSize   = 32
	embedHeaderSize = 24
	itemHeaderSize  = 8
)

// Parser parses Outlook .msg files.
type Parser struct{}

// New returns a .msg parser.
func New() *Parser { return &Parser{} }

// Name implements parsers.Parser.
func (*Parser) Name() string { return Name }

// Match implements parsers.Parser.
func (*Parser) Match(a *parsers.Artifact, head []byte) bool { return a.Type == "msg" }

// node is a storage or stream of the compound file.
type node struct {
	name     string
	file     *mscfb.File
	dir      bool
	children []*node
	byName   map[string]*node
	data     []byte
	read     bool
}

func (n *node) child(name string) *node {
	if c, ok := n.byName[name]; ok {
		return c
	}
	c := &node{name: name, dir: true, byName: map[string]*node{}}
	n.byName[name] = c
	n.children = append(n.children, c)
	return c
}

// scan is the state of one Parse call.
type scan struct {
	b         *parsers.Budget
	streams   *ole.Streams
	out       parsers.Sink
	errs      []error
	malformed []string
	limits    []string
	children  int
}

func (s *scan) fail(detail string, err error) {
	if len(s.malformed) < 10 {
		s.malformed = append(s.malformed, detail)
	}
	if err != nil && len(s.errs) < 10 {
		s.errs = append(s.errs, err)
	}
}

func (s *scan) limit(detail string, err error) {
	if len(s.limits) < 10 {
		s.limits = append(s.limits, detail)
	}
	if err != nil && len(s.errs) < 10 {
		s.errs = append(s.errs, err)
	}
}

// Parse implements parsers.Parser.
func (p *Parser) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	b := in.Budget
	if b == nil {
		b = parsers.NewBudget(ctx, parsers.Limits{})
	}
	s := &scan{b: b, out: out}
	root, err := s.tree(in.Data)
	switch {
	case errors.Is(err, parsers.ErrLimit):
		s.limit(err.Error(), err)
	case err != nil:
		s.fail(err.Error(), err)
	}
	if root != nil {
		m := s.message(root, topHeaderSize, 0)
		s.report(m)
	}
	if len(s.limits) > 0 {
		out.Finding(parsers.Finding{Code: "msg.limit", Severity: parsers.Low, Detail: strings.Join(s.limits, "; ")})
	}
	if len(s.malformed) > 0 {
		out.Finding(parsers.Finding{Code: "msg.malformed", Severity: parsers.Low, Detail: strings.Join(s.malformed, "; ")})
	}
	return errors.Join(s.errs...)
}

// tree opens the compound file and arranges its entries by path.
func (s *scan) tree(data []byte) (root *node, err error) {
	defer func() {
		if r := recover(); r != nil {
			root = nil
			err = fmt.Errorf("msg: compound file: %w: %v", parsers.ErrMalformed, r)
		}
	}()
	streams, err := ole.CheckTree(data, s.b.Limits.MaxEntries)
	if err != nil {
		return nil, fmt.Errorf("msg: compound file: %w", err)
	}
	s.streams = streams
	doc, err := mscfb.New(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("msg: compound file: %w", errors.Join(parsers.ErrMalformed, err))
	}
	root = &node{dir: true, byName: map[string]*node{}}
	max := s.b.Limits.MaxEntries
	for i, f := range doc.File {
		if i == 0 {
			continue // the root entry
		}
		if i > max {
			s.limit(fmt.Sprintf("compound file has %d entries; only %d were read", len(doc.File), max),
				fmt.Errorf("msg: %w: more than %d entries", parsers.ErrTooMany, max))
			break
		}
		dir := root
		for _, p := range f.Path {
			dir = dir.child(p)
		}
		if c, ok := dir.byName[f.Name]; ok {
			if c.file == nil {
				c.file = f
			}
			continue
		}
		c := &node{name: f.Name, file: f, dir: f.FileInfo().IsDir(), byName: map[string]*node{}}
		dir.byName[f.Name] = c
		dir.children = append(dir.children, c)
	}
	return root, nil
}

// read returns a stream's bytes, read once under the budget.
func (s *scan) read(n *node) []byte {
	if n == nil || n.dir || n.file == nil {
		return nil
	}
	if n.read {
		return n.data
	}
	n.read = true
	data, err := s.readFile(n.file)
	n.data = data
	if err != nil {
		if errors.Is(err, parsers.ErrLimit) {
			s.limit(fmt.Sprintf("stream %s cut at %d bytes", n.name, len(data)), fmt.Errorf("msg: stream %s: %w", n.name, err))
		} else {
			werr := err
			if !errors.Is(err, parsers.ErrMalformed) {
				werr = errors.Join(parsers.ErrMalformed, err)
			}
			s.fail(fmt.Sprintf("stream %s: %v", n.name, err), fmt.Errorf("msg: stream %s: %w", n.name, werr))
		}
	}
	return data
}

func (s *scan) readFile(f *mscfb.File) (data []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("read panic: %v", r)
		}
	}()
	return s.streams.Read(f, s.b)
}

// message is one message: the top-level one or an embedded one.
type message struct {
	props       map[uint32]*node // tag<<16|type → stream
	fixed       fixed
	cp          uint32
	attachments []*attachment
	recipients  []recipient
}

type recipient struct {
	name, email string
	typ         uint32 // 1 To, 2 Cc, 3 Bcc
}

type attachment struct {
	props    *message
	method   uint32
	embedded *message
	ole      bool
}

// message reads the properties, recipients and attachments below dir.
func (s *scan) message(dir *node, header, depth int) *message {
	m := &message{props: map[uint32]*node{}, cp: 1252}
	for i, c := range dir.children {
		if i%256 == 0 && s.b.Err() != nil {
			s.errs = append(s.errs, s.b.Err())
			return m
		}
		switch {
		case strings.HasPrefix(c.name, substgPrefix) && len(c.name) == len(substgPrefix)+8:
			v, err := strconv.ParseUint(c.name[len(substgPrefix):], 16, 32)
			if err == nil {
				if _, dup := m.props[uint32(v)]; !dup {
					m.props[uint32(v)] = c
				}
			}
		case c.name == propertiesName && !c.dir:
			m.fixed = parseFixed(s.read(c), header)
		case strings.HasPrefix(c.name, attachPrefix) && c.dir:
			if len(m.attachments) >= maxAttachments {
				s.limit(fmt.Sprintf("more than %d attachments", maxAttachments), fmt.Errorf("msg: %w: more than %d attachments", parsers.ErrTooMany, maxAttachments))
				continue
			}
			m.attachments = append(m.attachments, s.attachment(c, depth))
		case strings.HasPrefix(c.name, recipPrefix) && c.dir:
			if len(m.recipients) >= maxRecipients {
				continue
			}
			r := s.message(c, itemHeaderSize, depth)
			typ, _ := r.fixed.long(tagRecipientType)
			m.recipients = append(m.recipients, recipient{name: s.str(r, tagDisplayName),
				email: firstSMTP(s.str(r, tagSMTPAddress), s.str(r, tagEmailAddress)), typ: typ})
		}
	}
	if cp, ok := m.fixed.long(tagMessageCodepage); ok && codec(cp) != nil {
		m.cp = cp
	} else if cp, ok := m.fixed.long(tagInternetCodepage); ok && codec(cp) != nil {
		m.cp = cp
	}
	return m
}

func (s *scan) attachment(dir *node, depth int) *attachment {
	a := &attachment{props: s.message(dir, itemHeaderSize, depth)}
	a.method, _ = a.props.fixed.long(tagAttachMethod)
	obj := a.props.props[tagAttachData<<16|ptObject]
	if obj == nil || !obj.dir {
		return a
	}
	_, hasProps := obj.byName[propertiesName]
	if a.method == attachEmbeddedMessage || (a.method != attachOLE && hasProps) {
		if depth+1 >= maxNesting {
			s.limit(fmt.Sprintf("embedded messages nested deeper than %d", maxNesting), fmt.Errorf("msg: %w: embedded messages nested deeper than %d", parsers.ErrTooDeep, maxNesting))
			return a
		}
		a.embedded = s.message(obj, embedHeaderSize, depth+1)
		return a
	}
	a.ole = true
	return a
}

// str returns a string property: PT_UNICODE, else PT_STRING8 in the
// message code page.
func (s *scan) str(m *message, tag uint16) string {
	if n := m.props[uint32(tag)<<16|ptUnicode]; n != nil {
		return decodeUnicode(s.read(n))
	}
	if n := m.props[uint32(tag)<<16|ptString8]; n != nil {
		return decode8(s.read(n), m.cp)
	}
	return ""
}

// bin returns a binary property.
func (s *scan) bin(m *message, tag uint16) []byte {
	if n := m.props[uint32(tag)<<16|ptBinary]; n != nil {
		return s.read(n)
	}
	return nil
}

// html returns the HTML body, stored as binary or as a string.
func (s *scan) html(m *message) []byte {
	if b := s.bin(m, tagHTML); len(b) > 0 {
		return b
	}
	if h := s.str(m, tagHTML); h != "" {
		return []byte(h)
	}
	return nil
}

// firstSMTP returns the first address that is not an Exchange X.500 DN.
func firstSMTP(addrs ...string) string {
	for _, a := range addrs {
		if a = strings.TrimSpace(a); a != "" && !strings.HasPrefix(a, "/") && strings.Contains(a, "@") {
			return a
		}
	}
	for _, a := range addrs {
		if a = strings.TrimSpace(a); a != "" {
			return a
		}
	}
	return ""
}
