package msg

import (
	"strings"
	"testing"

	"triage/parsers"
	"triage/parsers/parsertest"
)

func FuzzParse(f *testing.F) {
	inner := newProps().unicode(tagSubject, "inner").unicode(tagBody, "b")
	inner.attachments = []*props{fileAttachment("a.js", "", []byte("x"))}
	e := newProps().long(tagAttachMethod, attachEmbeddedMessage)
	e.embedded = inner
	top := newProps().unicode(tagSubject, "s").unicode(tagTransportHeaders, "From: a@example.invalid\r\nTo: b@example.invalid\r\n").
		binary(tagRTFCompressed, rtfExample).long(tagMessageCodepage, 932)
	top.attachments = []*props{e, fileAttachment("b.txt", "text/plain", []byte("y"))}
	f.Add(msgFile(f, top))
	f.Add(msgFile(f, newProps().string8(tagSubject, []byte{0x82, 0xa0}).long(tagMessageCodepage, 932)))
	p := New()
	f.Fuzz(func(t *testing.T, data []byte) {
		l := parsers.DefaultLimits()
		l.MaxArtifactBytes = 256 * parsers.KiB
		l.MaxTotalBytes = parsers.MiB
		rec, _ := parsertest.RunLimits(t, p, "fuzz.msg", "msg", data, l)
		for _, fd := range rec.Findings {
			if !strings.HasPrefix(fd.Code, "msg.") || fd.Severity < parsers.Info || fd.Severity > parsers.Critical {
				t.Fatalf("bad finding %+v", fd)
			}
		}
		for k, v := range rec.MetaData {
			if s, ok := v.(string); ok && k != "transport_headers" && strings.ContainsAny(s, "\r\n") {
				t.Fatalf("meta %s has a line break: %q", k, s)
			}
		}
		for _, c := range rec.Children {
			if c.Name == "" || strings.ContainsAny(c.Name, "/\\\r\n") {
				t.Fatalf("bad child name %q", c.Name)
			}
		}
	})
}
