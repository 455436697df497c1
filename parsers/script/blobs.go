package script

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"triage/parsers"
)

// Bounds on encoded blobs.
const (
	minSegment   = 64  // characters that start a blob
	minObfBlob   = 200 // characters that count as an obfuscation signal
	maxBlobs     = 64  // blobs examined per script
	maxPEs       = 4   // embedded executables emitted per script
	maxGlueBytes = 80  // bytes of concatenation code between two pieces
	minArray     = 64  // bytes in a numeric array that may hold a PE
)

// blob is one base64 or hex run, its concatenated pieces joined.
type blob struct {
	off  int
	text string
	hex  bool
}

// blobs finds encoded runs, reports long ones as obfuscation and decodes
// those that start with an MZ header (catalogue §14: a VBS embedding an
// executable as base64 or hex).
func (p *Parser) blobs(s string, budget *parsers.Budget, out parsers.Sink, t *traits) error {
	maxChars := int(budget.Limits.MaxArtifactBytes) * 2
	found := findBlobs(s, maxChars)
	long := 0
	var pes [][]byte
	var errs []error
	for _, b := range found {
		if err := budget.Err(); err != nil {
			return fmt.Errorf("script: %w", err)
		}
		if len(b.text) >= minObfBlob && (b.hex || mixed(b.text)) {
			long++
		}
		if len(pes) >= maxPEs || !startsMZ(b) {
			continue
		}
		data, err := decodeBlob(b, budget)
		if len(data) < 2 {
			continue
		}
		if err != nil {
			errs = append(errs, err)
		}
		pes = append(pes, data)
	}
	for _, a := range numericArrays(s, budget) {
		if len(pes) >= maxPEs {
			break
		}
		pes = append(pes, a)
	}
	if long > 0 {
		t.obf = append(t.obf, fmt.Sprintf("%d long base64/hex blob(s)", long))
	}
	if len(pes) == 0 {
		return joinErrs(errs)
	}
	out.Finding(parsers.Finding{
		Code:     "script.embedded_pe",
		Severity: parsers.High,
		Detail:   fmt.Sprintf("%d encoded blob(s) decode to an MZ executable (first %d bytes)", len(pes), len(pes[0])),
		Campaign: "netwalker",
		Attack:   attackObfuscate,
	})
	for _, pe := range pes {
		c := parsers.Child{Name: "embedded.bin", Data: pe}
		if err := out.Child(c); err != nil {
			errs = append(errs, fmt.Errorf("script: embedded executable: %w", err))
			break
		}
	}
	return joinErrs(errs)
}

func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("script: %w", errs[0])
}

// findBlobs returns base64/hex runs of at least minSegment characters,
// following concatenations of quoted pieces ("…" & "…", s = s & "…") and
// line-wrapped runs, up to maxChars characters each and maxBlobs in all.
func findBlobs(s string, maxChars int) []blob {
	var out []blob
	i := 0
	for i < len(s) && len(out) < maxBlobs {
		if !parsers.IsBase64Byte(s[i]) {
			i++
			continue
		}
		j := runEnd(s, i)
		if j-i < minSegment {
			i = j
			continue
		}
		var b strings.Builder
		b.WriteString(s[i:j])
		last := j - i
		for b.Len() < maxChars {
			k, ok := nextPiece(s, j, last)
			if !ok {
				break
			}
			e := runEnd(s, k)
			b.WriteString(s[k:e])
			last, j = e-k, e
		}
		text := b.String()
		if len(text) > maxChars {
			text = text[:maxChars]
		}
		out = append(out, blob{off: i, text: text, hex: isHexRun(text)})
		i = j
	}
	return out
}

// nextPiece looks after the run ending at j for the next piece of the same
// blob and returns its start.
func nextPiece(s string, j, last int) (int, bool) {
	if j >= len(s) {
		return 0, false
	}
	// A quoted piece: the closing quote, concatenation code, an opening
	// quote of the same kind.
	if q := s[j]; q == '"' || q == '\'' {
		end := j + 1 + maxGlueBytes
		if end > len(s) {
			end = len(s)
		}
		m := strings.IndexByte(s[j+1:end], q)
		if m < 0 {
			return 0, false
		}
		glue := s[j+1 : j+1+m]
		k := j + 2 + m
		if !strings.ContainsAny(glue, "&+") || k >= len(s) || !parsers.IsBase64Byte(s[k]) {
			return 0, false
		}
		return k, true
	}
	// A line-wrapped run: a newline and indentation after a long line.
	if last < 60 || (s[j] != '\r' && s[j] != '\n') {
		return 0, false
	}
	k := j
	for k < len(s) && k-j < 8 && (s[k] == '\r' || s[k] == '\n' || s[k] == ' ' || s[k] == '\t') {
		k++
	}
	if k >= len(s) || runEnd(s, k)-k < 4 {
		return 0, false
	}
	return k, true
}

func runEnd(s string, i int) int {
	for i < len(s) && parsers.IsBase64Byte(s[i]) {
		i++
	}
	return i
}

func isHexRun(s string) bool {
	if len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// mixed reports base64 that looks encoded: upper, lower case and digits.
func mixed(s string) bool {
	var up, low, dig bool
	for i := 0; i < len(s) && !(up && low && dig); i++ {
		c := s[i]
		up = up || c >= 'A' && c <= 'Z'
		low = low || c >= 'a' && c <= 'z'
		dig = dig || c >= '0' && c <= '9'
	}
	return up && low && dig
}

// startsMZ decodes only the first characters of a blob (which a tiny
// artifact limit may have cut below one quantum).
func startsMZ(b blob) bool {
	if len(b.text) < 4 {
		return false
	}
	if b.hex {
		return strings.EqualFold(b.text[:4], "4d5a")
	}
	head, err := base64.StdEncoding.DecodeString(b.text[:4])
	return err == nil && len(head) >= 2 && head[0] == 'M' && head[1] == 'Z'
}

// decodeBlob decodes a whole blob under the budget.
func decodeBlob(b blob, budget *parsers.Budget) ([]byte, error) {
	if b.hex {
		return budget.ReadAll(hex.NewDecoder(strings.NewReader(b.text)), 0)
	}
	t := strings.TrimRight(b.text, "=")
	if i := strings.IndexByte(t, '='); i >= 0 {
		t = t[:i] // padding inside joined pieces ends the data
	}
	if len(t)%4 == 1 {
		t = t[:len(t)-1]
	}
	return budget.ReadAll(base64.NewDecoder(base64.RawStdEncoding, strings.NewReader(t)), 0)
}

// arrayStartRE matches the start of a numeric byte array holding MZ:
// 0x4D,0x5A or 77,90 (PowerShell [byte[]] literals, VBS Array(…)). It runs
// anchored at the occurrences of "0x4d" and "77" only.
var arrayStartRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?i)(?:0x4d|77)\s*,\s*(?:0x5a|90)\s*,`) })

// arrayStarts returns the offsets where a numeric MZ array starts.
func arrayStarts(s string, limit int) []int {
	var out []int
	for _, needle := range []string{"0x4d", "0x4D", "0X4D", "0X4d", "77"} {
		from := 0
		for n := 0; n < maxOccurrences && len(out) < limit; n++ {
			i := strings.Index(s[from:], needle)
			if i < 0 {
				break
			}
			i += from
			from = i + 1
			if i > 0 && isWordByte(s[i-1]) {
				continue
			}
			if arrayStartRE().MatchString(s[i:min(len(s), i+40)]) {
				out = append(out, i)
			}
		}
	}
	sort.Ints(out)
	return out
}

// numericArrays decodes numeric byte arrays that start with MZ.
func numericArrays(s string, budget *parsers.Budget) [][]byte {
	var out [][]byte
	limit := int(budget.Limits.MaxArtifactBytes)
	for _, start := range arrayStarts(s, maxPEs) {
		var data []byte
		i := start
		for i < len(s) && len(data) < limit {
			j := i
			for j < len(s) && isHexDigitOrX(s[j]) {
				j++
			}
			v, err := strconv.ParseUint(s[i:j], 0, 8)
			if j == i || err != nil {
				break
			}
			data = append(data, byte(v))
			// Separators: comma, blanks, VBA line continuations.
			k := j
			comma := false
			for k < len(s) && k-j < 16 && strings.IndexByte(", \t\r\n_", s[k]) >= 0 {
				comma = comma || s[k] == ','
				k++
			}
			if !comma {
				break
			}
			i = k
		}
		if len(data) < minArray {
			continue
		}
		if err := budget.Charge(int64(len(data))); err != nil {
			break
		}
		out = append(out, data)
	}
	return out
}

func isHexDigitOrX(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == 'x' || c == 'X'
}
