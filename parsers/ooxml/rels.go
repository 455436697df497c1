package ooxml

import (
	"encoding/xml"
	"errors"
	"fmt"
	"path"
	"strings"

	"triage/parsers"
)

// rel is one OPC relationship.
type rel struct {
	source string // the part owning the relationship; "" for the package
	id     string
	typ    string
	target string
	mode   string
}

// short is the last path element of the relationship type URI:
// "attachedTemplate", "oleObject", "hyperlink", …
func (r rel) short() string {
	if i := strings.LastIndexByte(r.typ, '/'); i >= 0 {
		return r.typ[i+1:]
	}
	return r.typ
}

func (r rel) external() bool { return strings.EqualFold(r.mode, "External") }

// targetPart returns the part an internal relationship points to.
func (r rel) targetPart() string { return resolve(r.source, r.target) }

// maxRelsPerPart bounds the relationships kept for one part.
const maxRelsPerPart = 5000

// parseRels reads a relationships part.
func parseRels(data []byte, source string, b *parsers.Budget) ([]rel, error) {
	var out []rel
	full := false
	deadline, syntax := eachToken(data, b, func(tok xml.Token) bool {
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Relationship" {
			return true
		}
		if len(out) >= maxRelsPerPart {
			full = true
			return false
		}
		out = append(out, rel{
			source: source,
			id:     attr(se, "Id"),
			typ:    strings.TrimSpace(attr(se, "Type")),
			target: strings.TrimSpace(attr(se, "Target")),
			mode:   strings.TrimSpace(attr(se, "TargetMode")),
		})
		return true
	})
	switch {
	case syntax != nil:
		return out, fmt.Errorf("ooxml: relationships of %q: %w", source, errors.Join(parsers.ErrMalformed, syntax))
	case full:
		return out, fmt.Errorf("ooxml: relationships of %q: %w: more than %d", source, parsers.ErrTooMany, maxRelsPerPart)
	}
	return out, deadline
}

// contentTypes is the parsed [Content_Types].xml.
type contentTypes struct {
	defaults  map[string]string // lower-case extension → type
	overrides map[string]string // lower-case part name without slash → type
	all       []string          // distinct types in document order
}

func parseContentTypes(data []byte, b *parsers.Budget) (*contentTypes, error) {
	ct := &contentTypes{defaults: map[string]string{}, overrides: map[string]string{}}
	seen := map[string]bool{}
	deadline, syntax := eachToken(data, b, func(tok xml.Token) bool {
		se, ok := tok.(xml.StartElement)
		if !ok {
			return true
		}
		typ := strings.TrimSpace(attr(se, "ContentType"))
		switch se.Name.Local {
		case "Default":
			if len(ct.defaults) < maxRelsPerPart {
				ct.defaults[strings.ToLower(attr(se, "Extension"))] = typ
			}
		case "Override":
			if len(ct.overrides) < maxRelsPerPart {
				ct.overrides[strings.ToLower(strings.TrimPrefix(attr(se, "PartName"), "/"))] = typ
			}
		default:
			return true
		}
		if typ != "" && !seen[typ] && len(ct.all) < maxContentTypes {
			seen[typ] = true
			ct.all = append(ct.all, typ)
		}
		return true
	})
	if syntax != nil {
		return ct, fmt.Errorf("ooxml: content types: %w", errors.Join(parsers.ErrMalformed, syntax))
	}
	return ct, deadline
}

// of returns the content type of part name.
func (ct *contentTypes) of(name string) string {
	if ct == nil {
		return ""
	}
	if t, ok := ct.overrides[strings.ToLower(name)]; ok {
		return t
	}
	ext := strings.TrimPrefix(strings.ToLower(path.Ext(name)), ".")
	return ct.defaults[ext]
}
