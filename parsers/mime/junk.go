package mime

import (
	"bytes"
	"regexp"
	"sort"
)

// A line in a header block that is neither a field nor a continuation
// ("junk line without colon") makes go-message reject the whole block: a
// part with one never shows its attachment, and a message with one in its
// own header is not read as MIME at all. Mail clients differ (some skip
// the line, some end the header there), so triage reads such a message the
// lenient way, where the most is visible: junk lines in header blocks are
// dropped before parsing, and a finding says how many.

// fieldRE is a header field's start: a name of printable ASCII but the
// colon, then a colon.
var fieldRE = regexp.MustCompile(`^[!-9;-~]+[ \t]*:`)

// boundaryRE finds a boundary parameter in a header block.
var boundaryRE = regexp.MustCompile(`(?i)\bboundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))`)

// dropJunkHeaderLines returns data without the junk lines of its header
// blocks (the message's own and each part's), and how many lines it
// changed. A line after a field ending in ";" is taken for a parameter
// wrapped without indentation and indented instead. It returns data
// itself, not a copy, when there is nothing to change.
//
// It follows the structure as a MIME parser would, but only as far as
// needed: a header block's boundary parameter sends it looking for that
// boundary's delimiter lines inside the same part, and only the header
// blocks after them are read. Bodies are searched once per level of
// multipart nesting, not once per boundary over the whole message.
func dropJunkHeaderLines(data []byte) ([]byte, int) {
	j := &junkScan{data: data}
	// The message's header: from the start (after an mbox "From " line).
	start := 0
	if bytes.HasPrefix(data, []byte("From ")) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			start = i + 1
		}
	}
	j.entity(start, len(data), 0)
	if len(j.edits) == 0 {
		return data, 0
	}
	// A block may be reached twice (a boundary reused inside its own
	// part): edit each line once, in order.
	out := make([]byte, 0, len(data)+len(j.edits))
	last, n := 0, 0
	for _, e := range sortedUnique(j.edits) {
		if e.start < last {
			continue
		}
		out = append(out, data[last:e.start]...)
		if e.indent {
			out = append(out, ' ')
			out = append(out, data[e.start:e.end]...)
		}
		last = e.end
		n++
	}
	return append(out, data[last:]...), n
}

// Bounds of the structure walk.
const (
	maxJunkDepth  = 32
	maxJunkBlocks = 10000
)

type junkScan struct {
	data   []byte
	edits  []edit
	blocks int
}

// entity reads the header block at data[at:] of an entity that ends at
// end, and, when it declares a boundary, the parts between that
// boundary's delimiter lines.
func (j *junkScan) entity(at, end, depth int) {
	j.blocks++
	if depth > maxJunkDepth || j.blocks > maxJunkBlocks {
		return
	}
	hdrEnd := j.block(at, end)
	b := boundaryIn(j.data[at:hdrEnd])
	if b == nil {
		return
	}
	// Searched for without the newline before it: '-' is rare in base64
	// bodies, '\n' every 78 bytes.
	delim := append([]byte("--"), b...)
	var parts []int // offsets of the header blocks after delimiter lines
	var ends []int  // offsets of the newlines before delimiter lines
	for off := hdrEnd; off < end; {
		i := bytes.Index(j.data[off:end], delim)
		if i < 0 {
			break
		}
		i += off
		k := i + len(delim)
		if i == 0 || j.data[i-1] != '\n' {
			off = k // not at the start of a line
			continue
		}
		i-- // the part before ends at this newline
		eol := bytes.IndexByte(j.data[k:end], '\n')
		if eol < 0 {
			break
		}
		rest := bytes.TrimRight(j.data[k:k+eol], " \t\r")
		ends = append(ends, i)
		if len(rest) == 0 {
			parts = append(parts, k+eol+1)
		} else {
			parts = append(parts, -1) // "--" closes the multipart (or noise)
		}
		off = k + eol
	}
	for n, p := range parts {
		if p < 0 {
			continue
		}
		partEnd := end
		if n+1 < len(ends) {
			partEnd = ends[n+1]
		}
		j.entity(p, partEnd, depth+1)
	}
}

// block reads one header block from at (not past end), records its
// edits and returns where it ends.
func (j *junkScan) block(at, end int) int {
	data := j.data[:end]
	pos := at
	first := true
	prev := []byte(nil) // the last field or continuation line kept
	for pos < len(data) {
		lineEnd := bytes.IndexByte(data[pos:], '\n')
		if lineEnd < 0 {
			lineEnd = len(data)
		} else {
			lineEnd += pos + 1
		}
		line := bytes.TrimRight(data[pos:lineEnd], "\r\n")
		switch {
		case len(line) == 0 || bytes.HasPrefix(line, []byte("--")):
			return pos // end of the header block, or a boundary: a body began
		case fieldRE.Match(line), !first && (line[0] == ' ' || line[0] == '\t'):
			prev = line
		case bytes.HasSuffix(bytes.TrimRight(prev, " \t"), []byte(";")):
			// A parameter wrapped without indentation
			// (`...;` then `name="x.zip"`): a continuation.
			j.edits = append(j.edits, edit{pos, lineEnd, true})
			prev = line
		default:
			// Junk, if a field follows before the block ends: otherwise
			// this is a body without a blank line, not a header.
			if !fieldFollows(data[lineEnd:]) {
				return pos
			}
			j.edits = append(j.edits, edit{pos, lineEnd, false})
		}
		first = false
		pos = lineEnd
	}
	return pos
}

// boundaryIn returns the boundary parameter of a header block, or nil.
func boundaryIn(hdr []byte) []byte {
	m := boundaryRE.FindSubmatch(hdr)
	if m == nil {
		return nil
	}
	if len(m[1]) > 0 {
		return m[1]
	}
	return m[2]
}

// edit drops a line, or indents it into a continuation.
type edit struct {
	start, end int
	indent     bool
}

// fieldFollows reports whether one of the next few lines is a field,
// before a blank line.
func fieldFollows(rest []byte) bool {
	for k := 0; k < 8 && len(rest) > 0; k++ {
		end := bytes.IndexByte(rest, '\n')
		line := rest
		if end >= 0 {
			line, rest = rest[:end], rest[end+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 || bytes.HasPrefix(line, []byte("--")) {
			return false
		}
		if fieldRE.Match(line) {
			return true
		}
	}
	return false
}

func sortedUnique(edits []edit) []edit {
	sort.Slice(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	out := make([]edit, 0, len(edits))
	for _, e := range edits {
		if len(out) == 0 || e != out[len(out)-1] {
			out = append(out, e)
		}
	}
	return out
}
