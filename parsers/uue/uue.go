// Package uue finds and decodes uuencoded files in text: `.uue`/`.uu`/`.xxe`
// attachments, `begin 644 invoice.zip` … `end` blocks inline in a mail body
// (which Outlook and Thunderbird show as attachments), and the raw text of
// parts sent with Content-Transfer-Encoding x-uuencode, which the MIME
// walker keeps undecoded. Malspam uses the encoding to carry executables and
// archives past gateways that only open MIME attachments.
//
// It decodes uuencode (backtick or space for zero, CRLF and trailing spaces
// tolerated, short last lines padded), xxencode, and POSIX `uuencode -m`
// blocks (begin-base64 … ====). Each decoded file becomes a child artifact
// named by the base name of its begin line; its type comes from content.
package uue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/names"
)

// Name is the parser's registry name.
const Name = "uue"

// Finding codes.
const (
	CodeEncodedFile = "uue.encoded_file"
	CodeMalformed   = "uue.malformed"
	CodeLimit       = "uue.limit"
)

const (
	// maxListed caps the names quoted in one finding's detail.
	maxListed = 5
	// maxFileNames caps the "files" meta list.
	maxFileNames = 100
	// maxProblems caps the malformations kept for the finding.
	maxProblems = 10
	// asciiHeadPercent is the share of printable ASCII a "binary" head
	// needs to be searched for a begin line.
	asciiHeadPercent = 90
)

// attack: obfuscated files (the encoding) delivered as a spearphishing
// attachment.
var attack = []string{"T1027", "T1566.001"}

// archiveExts are archive and disk-image extensions; with names'
// executable extensions they make an encoded file suspicious on its own.
var archiveExts = map[string]bool{
	"zip": true, "rar": true, "7z": true, "gz": true, "tgz": true, "tar": true,
	"cab": true, "ace": true, "arj": true, "lzh": true, "lha": true, "xz": true,
	"bz2": true, "z": true, "r00": true, "iso": true, "img": true, "vhd": true,
	"uue": true, "uu": true, "xxe": true,
}

// riskyTypes are the content types that make an encoded file suspicious.
var riskyTypes = map[string]bool{
	filetype.Zip: true, filetype.JAR: true, filetype.Gzip: true, filetype.Tar: true,
	filetype.SevenZ: true, filetype.RAR: true, filetype.ISO: true, filetype.CAB: true,
	filetype.LNK: true, filetype.HTA: true,
}

// Parser decodes uuencoded blocks. The zero value is ready to use.
type Parser struct{}

// New returns a uue parser.
func New() *Parser { return &Parser{} }

// Name implements parsers.Parser.
func (*Parser) Name() string { return Name }

// uueName reports whether name ends in .uue, .uu or .xxe.
func uueName(name string) bool {
	switch names.Ext(name) {
	case "uue", "uu", "xxe":
		return true
	}
	return false
}

// Match implements parsers.Parser: any artifact named .uue/.uu/.xxe or
// detected as "uue" (text opening with a begin line); every text artifact (a block may start past the head: Parse looks for "begin"
// first and returns at once without it); other textual types, and binary
// artifacts whose head is mostly ASCII, when the head holds a begin line.
func (*Parser) Match(a *parsers.Artifact, head []byte) bool {
	if a == nil {
		return false
	}
	if uueName(a.Name) || a.Type == filetype.Text || a.Type == filetype.UUE {
		return true
	}
	if !filetype.IsTextual(a.Type) && a.Type != filetype.Binary {
		return false
	}
	if a.Type == filetype.Binary && !mostlyASCII(head) {
		return false
	}
	i, _ := nextBegin(head, 0)
	return i >= 0
}

func mostlyASCII(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	n := 0
	for _, c := range b {
		if (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\r' || c == '\t' {
			n++
		}
	}
	return n*100 >= len(b)*asciiHeadPercent
}

// Parse implements parsers.Parser.
func (*Parser) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("uue: %w: %v", parsers.ErrDeadline, err)
	}
	data := in.Data
	if !bytes.Contains(data, []byte("begin")) {
		return nil
	}
	b := in.Budget
	if b == nil {
		b = parsers.NewBudget(ctx, parsers.Limits{})
	}
	r := &run{out: out, b: b, d: &decoder{data: data, check: b.Err}}
	r.scan()
	r.finish()
	return r.err()
}

// run is one Parse call.
type run struct {
	out parsers.Sink
	b   *parsers.Budget
	d   *decoder

	blocks   int
	files    []string
	encoded  []string // "name (type, N bytes)" for the finding
	risky    []string // why the encoded files are risky
	problems []string
	limits   []string
	errs     []error
}

// scan finds and decodes every block, within the budget.
func (r *run) scan() {
	lim := r.b.Limits.WithDefaults()
	for pos := 0; pos < len(r.d.data); {
		if err := r.b.Err(); err != nil {
			r.limit("message deadline passed: the rest of the text was not searched", err)
			return
		}
		at, h := nextBegin(r.d.data, pos)
		if at < 0 {
			return
		}
		room := max(0, min(lim.MaxArtifactBytes, lim.MaxTotalBytes-r.b.Used()))
		blk, next, ok, err := r.d.block(h, room, r.blocks+1)
		if next <= at {
			next = h.body // always move forward
		}
		pos = next
		if !ok {
			continue // prose that starts with "begin 644 …"
		}
		if r.blocks >= lim.MaxEntries {
			r.limit(fmt.Sprintf("more than %d uuencoded blocks: the rest were not decoded", lim.MaxEntries),
				fmt.Errorf("uue: %w: more than %d blocks", parsers.ErrTooMany, lim.MaxEntries))
			return
		}
		r.blocks++
		if err != nil {
			r.limit(fmt.Sprintf("message deadline passed while decoding %q", blk.Name), err)
		}
		if !r.emit(blk) || err != nil {
			return
		}
	}
}

// emit reports one block and hands its file to the pipeline. It returns
// false when no more children may be emitted.
func (r *run) emit(blk Block) bool {
	for _, p := range blk.Problems {
		if len(r.problems) < maxProblems {
			r.problems = append(r.problems, p)
		}
	}
	var childErr error
	if blk.Cut {
		childErr = fmt.Errorf("uue: %q: %w: decoded data cut at %d bytes", blk.Name, parsers.ErrTooLarge, len(blk.Data))
	}
	if err := r.b.Charge(int64(len(blk.Data))); err != nil {
		// Another parser drew from the total meanwhile.
		r.limit(fmt.Sprintf("%q not kept: %v", blk.Name, err), err)
		return true
	}
	if blk.Cut {
		r.limit(fmt.Sprintf("%q cut at %d bytes (artifact or message size limit)", blk.Name, len(blk.Data)), childErr)
	}
	if len(blk.Data) == 0 {
		return true // an empty file: nothing to judge
	}
	typ := filetype.Detect(blk.Data, blk.Name)
	if len(r.files) < maxFileNames {
		r.files = append(r.files, blk.Name)
	}
	if len(r.encoded) < maxListed {
		r.encoded = append(r.encoded, fmt.Sprintf("%q (%s, %d bytes, %s)", blk.Name, typ, len(blk.Data), blk.Encoding))
	}
	if why := riskOf(blk.Name, typ); why != "" && len(r.risky) < maxListed {
		r.risky = append(r.risky, why)
	}
	meta := map[string]any{"uue_mode": blk.Mode, "uue_encoding": blk.Encoding}
	if blk.RawName != blk.Name {
		meta["uue_name"] = blk.RawName
	}
	if err := r.out.Child(parsers.Child{Name: blk.Name, Data: blk.Data, Meta: meta, Err: childErr}); err != nil {
		r.limit("no more artifacts may be added: the remaining blocks were not emitted", err)
		return false
	}
	return true
}

// riskOf says why an encoded file is suspicious on its own: a program,
// script, shortcut or archive by name or by content.
func riskOf(name, typ string) string {
	ext := names.Ext(name)
	switch {
	case names.IsExecutableExt(ext):
		return fmt.Sprintf("%q has the executable extension .%s", name, ext)
	case archiveExts[ext]:
		return fmt.Sprintf("%q has the archive extension .%s", name, ext)
	case filetype.IsExecutable(typ) || filetype.IsScript(typ) || riskyTypes[typ]:
		return fmt.Sprintf("%q is a %s by content", name, typ)
	}
	return ""
}

func (r *run) limit(why string, err error) {
	r.limits = append(r.limits, why)
	r.errs = append(r.errs, err)
}

// finish reports findings and meta.
func (r *run) finish() {
	for _, why := range r.limits {
		r.out.Finding(parsers.Finding{Code: CodeLimit, Severity: parsers.Medium, Detail: why})
	}
	if r.blocks == 0 {
		return
	}
	r.out.Meta("blocks", r.blocks)
	files := r.files
	if files == nil {
		files = []string{}
	}
	r.out.Meta("files", files)
	if len(r.files) > 0 {
		sev := parsers.Low
		detail := fmt.Sprintf("%d uuencoded file(s) in the text, an encoding malspam uses to slip attachments past gateways: %s", len(r.files), strings.Join(r.encoded, ", "))
		if len(r.files) > len(r.encoded) {
			detail += fmt.Sprintf(" and %d more", len(r.files)-len(r.encoded))
		}
		if len(r.risky) > 0 {
			sev = parsers.Medium
			detail += "; " + strings.Join(r.risky, "; ")
		}
		r.out.Finding(parsers.Finding{Code: CodeEncodedFile, Severity: sev, Detail: detail, Attack: attack})
	}
	if len(r.problems) > 0 {
		r.out.Finding(parsers.Finding{Code: CodeMalformed, Severity: parsers.Low, Detail: strings.Join(r.problems, "; ")})
	}
}

// err is Parse's return value: limits and malformations, joined.
func (r *run) err() error {
	errs := r.errs
	if len(r.problems) > 0 {
		errs = append(errs, fmt.Errorf("uue: %w: %s", parsers.ErrMalformed, r.problems[0]))
	}
	return errors.Join(errs...)
}
