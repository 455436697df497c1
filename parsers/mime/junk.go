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

// boundaryRE finds boundary parameters anywhere in the message.
var boundaryRE = regexp.MustCompile(`(?i)\bboundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))`)

// maxJunkBoundaries bounds the distinct boundaries examined.
const maxJunkBoundaries = 64

// dropJunkHeaderLines returns data without the junk lines of its header
// blocks (the message's own and each part's), and how many lines it
// changed. A line after a field ending in ";" is taken for a parameter
// wrapped without indentation and indented instead. It returns data
// itself, not a copy, when there is nothing to change.
func dropJunkHeaderLines(data []byte) ([]byte, int) {
	// Lines to drop, or to indent into a continuation: [start, end)
	// including the newline.
	var edits []edit
	scanBlock := func(at int) {
		pos := at
		first := true
		prev := []byte(nil) // the last field or continuation line kept
		for pos < len(data) {
			end := bytes.IndexByte(data[pos:], '\n')
			if end < 0 {
				end = len(data)
			} else {
				end += pos + 1
			}
			line := bytes.TrimRight(data[pos:end], "\r\n")
			switch {
			case len(line) == 0 || bytes.HasPrefix(line, []byte("--")):
				return // end of the header block, or a boundary: a body began
			case fieldRE.Match(line), !first && (line[0] == ' ' || line[0] == '\t'):
				prev = line
			case bytes.HasSuffix(bytes.TrimRight(prev, " \t"), []byte(";")):
				// A parameter wrapped without indentation
				// (`...;` then `name="x.zip"`): a continuation.
				edits = append(edits, edit{pos, end, true})
				prev = line
			default:
				// Junk, if a field follows before the block ends: otherwise
				// this is a body without a blank line, not a header.
				if !fieldFollows(data[end:]) {
					return
				}
				edits = append(edits, edit{pos, end, false})
			}
			first = false
			pos = end
		}
	}
	// The message's header: from the start (after an mbox "From " line).
	start := 0
	if bytes.HasPrefix(data, []byte("From ")) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			start = i + 1
		}
	}
	scanBlock(start)
	// Each part's header: after every delimiter line of every boundary.
	seen := map[string]bool{}
	for _, b := range boundaries(data) {
		if seen[string(b)] || len(seen) >= maxJunkBoundaries {
			continue
		}
		seen[string(b)] = true
		delim := append([]byte("\n--"), b...)
		for off := 0; ; {
			i := bytes.Index(data[off:], delim)
			if i < 0 {
				break
			}
			i += off + len(delim)
			// The delimiter line ends here (transport padding allowed);
			// "--" after it closes the multipart.
			eol := bytes.IndexByte(data[i:], '\n')
			if eol < 0 {
				break
			}
			if rest := bytes.TrimRight(data[i:i+eol], " \t\r"); len(rest) == 0 {
				scanBlock(i + eol + 1)
			}
			off = i + eol
		}
	}
	if len(edits) == 0 {
		return data, 0
	}
	// Blocks may have been scanned twice (nested identical boundaries):
	// edit each line once, in order.
	out := make([]byte, 0, len(data)+len(edits))
	last, n := 0, 0
	for _, e := range sortedUnique(edits) {
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

// edit drops a line, or indents it into a continuation.
type edit struct {
	start, end int
	indent     bool
}

// boundaries returns the boundary parameters written in data. The regexp
// runs only around each "oundary" found by bytes.Index: over a whole
// message it would cost more than the rest of the MIME parse.
func boundaries(data []byte) [][]byte {
	var out [][]byte
	for _, needle := range [][]byte{[]byte("oundary"), []byte("OUNDARY")} {
		for off := 0; len(out) < 4*maxJunkBoundaries; {
			i := bytes.Index(data[off:], needle)
			if i < 0 {
				break
			}
			i += off
			lo, hi := max(i-1, 0), min(i+len(needle)+260, len(data))
			if m := boundaryRE.FindSubmatch(data[lo:hi]); m != nil {
				b := m[1]
				if len(b) == 0 {
					b = m[2]
				}
				out = append(out, b)
			}
			off = i + len(needle)
		}
	}
	return out
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
