package ooxml

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"triage/parsers"
)

// part is one part of an OPC package, read lazily and at most once.
type part struct {
	name  string // as stored, without a leading slash
	zf    *zip.File
	ctype string // Flat OPC only: the declared content type
	data  []byte
	err   error
	read  bool
	// reported is set once the read error was recorded.
	reported bool
}

// pkg is an OPC package: the parts of a zip OOXML file or of a Flat OPC
// (pkg:package) XML document.
type pkg struct {
	parts  []*part
	byName map[string]*part // lower-case name → first part of that name
	dups   []string
	budget *parsers.Budget
	flat   bool // a Flat OPC document, not a zip
}

func newPkg(b *parsers.Budget) *pkg {
	return &pkg{byName: map[string]*part{}, budget: b}
}

func (k *pkg) add(p *part) {
	key := strings.ToLower(p.name)
	if _, ok := k.byName[key]; ok {
		if len(k.dups) < 20 {
			k.dups = append(k.dups, p.name)
		}
		k.parts = append(k.parts, p)
		return
	}
	k.byName[key] = p
	k.parts = append(k.parts, p)
}

// get returns the part named name (case-insensitive, leading slash ignored).
func (k *pkg) get(name string) *part {
	return k.byName[strings.ToLower(strings.TrimPrefix(name, "/"))]
}

// load returns the part's bytes, read under the budget once.
func (k *pkg) load(p *part) ([]byte, error) {
	if p.read {
		return p.data, p.err
	}
	p.read = true
	if p.zf == nil {
		return p.data, p.err
	}
	if p.zf.Flags&0x1 != 0 {
		p.err = fmt.Errorf("ooxml: part %q: %w: encrypted zip entry", p.name, parsers.ErrUnsupported)
		return nil, p.err
	}
	rc, err := p.zf.Open()
	if err != nil {
		p.err = fmt.Errorf("ooxml: open part %q: %w", p.name, errors.Join(parsers.ErrMalformed, err))
		return nil, p.err
	}
	defer rc.Close()
	data, err := k.budget.ReadAll(rc, int64(p.zf.CompressedSize64))
	p.data = data
	if err != nil {
		if errors.Is(err, parsers.ErrLimit) {
			p.err = fmt.Errorf("ooxml: read part %q: %w", p.name, err)
		} else {
			p.err = fmt.Errorf("ooxml: read part %q: %w", p.name, errors.Join(parsers.ErrMalformed, err))
		}
	}
	return p.data, p.err
}

// openZip lists the parts of a zip package, at most maxEntries of them.
// cut reports how many entries were left out.
func openZip(data []byte, b *parsers.Budget, maxEntries int) (k *pkg, cut int, err error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, 0, fmt.Errorf("ooxml: zip: %w", errors.Join(parsers.ErrMalformed, err))
	}
	k = newPkg(b)
	files := zr.File
	if len(files) > maxEntries {
		cut = len(files) - maxEntries
		files = files[:maxEntries]
	}
	for i, f := range files {
		if i%1024 == 0 {
			if err := b.Err(); err != nil {
				return k, cut, err
			}
		}
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		k.add(&part{name: strings.TrimPrefix(f.Name, "/"), zf: f})
	}
	return k, cut, nil
}

// openFlat reads a Flat OPC document (<pkg:package> with <pkg:part>
// elements holding <pkg:xmlData> or base64 <pkg:binaryData>).
func openFlat(data []byte, b *parsers.Budget, maxEntries int) (k *pkg, cut int, err error) {
	k = newPkg(b)
	k.flat = true
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	var cur *part
	var bin *strings.Builder
	tokens := 0
	for {
		if tokens++; tokens%4096 == 0 {
			if err := b.Err(); err != nil {
				return k, cut, err
			}
		}
		tok, terr := d.Token()
		if terr != nil {
			if terr == io.EOF {
				break
			}
			return k, cut, fmt.Errorf("ooxml: flat package: %w", errors.Join(parsers.ErrMalformed, terr))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "part":
				if len(k.parts) >= maxEntries {
					cut++
					cur = nil
					continue
				}
				cur = &part{name: strings.TrimPrefix(attr(t, "name"), "/"), ctype: attr(t, "contentType"), read: true}
			case "xmlData":
				if cur == nil {
					continue
				}
				start := d.InputOffset()
				end, serr := skipElement(d, b)
				if serr != nil {
					return k, cut, fmt.Errorf("ooxml: flat package part %q: %w", cur.name, errors.Join(parsers.ErrMalformed, serr))
				}
				if start >= 0 && end <= int64(len(data)) && start <= end {
					cur.data = data[start:end]
				}
			case "binaryData":
				if cur != nil {
					bin = &strings.Builder{}
				}
			}
		case xml.CharData:
			if bin != nil && int64(bin.Len()) < b.Limits.MaxArtifactBytes*2 {
				bin.Write(t)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "binaryData":
				if cur != nil && bin != nil {
					r := base64.NewDecoder(base64.StdEncoding, &spaceless{r: strings.NewReader(bin.String())})
					cur.data, cur.err = b.ReadAll(r, int64(bin.Len()))
					if cur.err != nil && !errors.Is(cur.err, parsers.ErrLimit) {
						cur.err = fmt.Errorf("ooxml: flat package part %q: %w", cur.name, errors.Join(parsers.ErrMalformed, cur.err))
					}
				}
				bin = nil
			case "part":
				if cur != nil && cur.name != "" {
					k.add(cur)
				}
				cur = nil
			}
		}
	}
	return k, cut, nil
}

// skipElement consumes tokens up to the end of the element whose start was
// just read and returns the input offset where its end tag begins.
func skipElement(d *xml.Decoder, b *parsers.Budget) (int64, error) {
	depth := 1
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := b.Err(); err != nil {
				return 0, err
			}
		}
		before := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			return 0, err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
			if depth == 0 {
				return before, nil
			}
		}
	}
}

// spaceless drops ASCII whitespace so base64 with line breaks decodes.
type spaceless struct{ r io.Reader }

func (s *spaceless) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// eachToken feeds fn the tokens of an XML part until its end or until fn
// returns false, checking the message deadline every 4096 tokens. It
// returns the deadline's error or the decoder's syntax error, as they are.
func eachToken(data []byte, b *parsers.Budget, fn func(xml.Token) bool) (deadline, syntax error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := b.Err(); err != nil {
				return err, nil
			}
		}
		tok, err := d.Token()
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if !fn(tok) {
			return nil, nil
		}
	}
}

// attr returns the value of the attribute with the given local name.
func attr(e xml.StartElement, local string) string {
	for _, a := range e.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// sourceOfRels returns the part whose relationships a .rels part holds: "word/_rels/document.xml.rels" →
// "word/document.xml", "_rels/.rels" → "".
func sourceOfRels(rels string) (string, bool) {
	lower := strings.ToLower(rels)
	if !strings.HasSuffix(lower, ".rels") {
		return "", false
	}
	dir, file := path.Split(rels)
	if !strings.EqualFold(path.Base(strings.TrimSuffix(dir, "/")), "_rels") {
		return "", false
	}
	parent := strings.TrimSuffix(strings.TrimSuffix(dir, "/"), path.Base(strings.TrimSuffix(dir, "/")))
	return parent + strings.TrimSuffix(file, file[len(file)-5:]), true
}

// resolve returns the part name a relative target of source points to.
func resolve(source, target string) string {
	if strings.HasPrefix(target, "/") {
		return strings.TrimPrefix(path.Clean(target), "/")
	}
	dir := path.Dir(source)
	if source == "" {
		dir = ""
	}
	return strings.TrimPrefix(path.Clean("/"+path.Join(dir, target)), "/")
}
