package ooxml

import (
	"bytes"
	"strings"
)

// wordContentPart reports whether a part can hold document content with
// fields or drawings: the body, headers, footers, notes, comments and the
// glossary document.
func wordContentPart(name string) bool {
	lower := strings.ToLower(name)
	if !strings.HasPrefix(lower, "word/") || !strings.HasSuffix(lower, ".xml") {
		return false
	}
	rest := strings.TrimPrefix(lower, "word/")
	rest = strings.TrimPrefix(rest, "glossary/")
	if strings.Contains(rest, "/") {
		return false
	}
	for _, p := range []string{"document", "header", "footer", "footnotes", "endnotes", "comments"} {
		if strings.HasPrefix(rest, p) {
			return true
		}
	}
	return false
}

// scanWord looks for DDE fields and online videos in the document parts.
func (s *scan) scanWord() {
	for i, p := range s.k.parts {
		if i%256 == 0 && s.b.Err() != nil {
			return
		}
		if !wordContentPart(p.name) && !strings.EqualFold(p.name, s.mainPart) {
			continue
		}
		if s.kind != "word" && !strings.HasPrefix(strings.ToLower(p.name), "word/") {
			continue
		}
		data := s.load(p)
		if bytes.Contains(data, []byte("instrText")) || bytes.Contains(data, []byte("fldSimple")) {
			s.dde = append(s.dde, s.scanDDE(p.name, data)...)
		}
		if bytes.Contains(data, []byte("webVideoPr")) {
			s.scanVideos(p, data)
		}
	}
	s.reportVideos()
}
