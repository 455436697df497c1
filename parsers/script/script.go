// Package script analyses script artifacts (JScript, VBScript, WSF, HTA,
// PowerShell, batch) for the traits of malspam downloaders and loaders, and
// decodes PowerShell encoded commands in any text it is given.
//
// Malspam scripts are short and noisy about what they do: an HTTP object
// next to a stream writer (catalogue §7), a list of URLs rotating one path
// over many hosts (§7), a base64 PE waiting to be written (§14), a PowerShell
// stage hidden in -EncodedCommand (§1, §15) or compiled and injected in
// memory (§14). The parser reports those traits as findings and hands every
// decoded command and embedded executable back to the pipeline as a child.
package script

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/iocs"
	"triage/parsers/pscmd"
)

// Name is the parser's registry name.
const Name = "script"

// Bounds on the work spent on one artifact.
const (
	// maxCommandScan is the prefix of the text searched for encoded
	// commands. Command lines sit near the top of what carries them.
	maxCommandScan = 8 * parsers.MiB
	// maxTraitScan is the prefix of the text the trait patterns read.
	maxTraitScan = 4 * parsers.MiB
	// maxDetail bounds the quoted text in a finding's detail.
	maxDetail = 160
)

// ATT&CK and campaign tags from the catalogue.
var (
	attackEncoded   = []string{"T1059.001", "T1027"}
	attackDownload  = []string{"T1105"}
	attackReflect   = []string{"T1620", "T1055"}
	attackObfuscate = []string{"T1027"}
)

// Parser analyses scripts. The zero value is ready to use.
type Parser struct{}

// New returns a script parser.
func New() *Parser { return &Parser{} }

// Name implements parsers.Parser.
func (*Parser) Name() string { return Name }

// commandOnly are the types searched for encoded commands only: their
// other analysis belongs to other parsers (VBA, HTML, mail bodies).
var commandOnly = map[string]bool{filetype.Text: true, filetype.VBA: true, filetype.HTML: true}

// Match implements parsers.Parser: script types, plus text, VBA source and
// HTML for the encoded-command search.
func (*Parser) Match(a *parsers.Artifact, _ []byte) bool {
	if a == nil {
		return false
	}
	return filetype.IsScript(a.Type) || commandOnly[a.Type]
}

// languages names the script language of each type for the report.
var languages = map[string]string{
	filetype.JS:  "jscript",
	filetype.VBS: "vbscript",
	filetype.WSF: "wsf",
	filetype.HTA: "hta",
	filetype.PS1: "powershell",
	filetype.BAT: "batch",
}

// Parse implements parsers.Parser.
func (p *Parser) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	if in == nil || in.Artifact == nil {
		return fmt.Errorf("script: %w: no input", parsers.ErrMalformed)
	}
	budget := in.Budget
	if budget == nil {
		budget = parsers.NewBudget(ctx, parsers.Limits{})
	}
	typ := in.Artifact.Type
	s := decodeText(in.Data)

	var errs []error
	if err := p.commands(s, typ, out); err != nil {
		errs = append(errs, err)
	}
	if !filetype.IsScript(typ) {
		return errors.Join(errs...)
	}
	if err := budget.Err(); err != nil {
		return errors.Join(append(errs, fmt.Errorf("script: %w", err))...)
	}

	scan := s
	if len(scan) > maxTraitScan {
		scan = scan[:maxTraitScan]
		out.Meta("scan_truncated", true)
	}
	lines, longest := lineStats(s)
	var urls []string
	if strings.Contains(scan, "://") {
		urls = iocs.URLs(scan)
	}
	out.Meta("language", languages[typ])
	out.Meta("lines", lines)
	out.Meta("max_line_length", longest)
	out.Meta("urls", len(urls))

	t := traits{s: scan, low: parsers.ASCIILower(scan), typ: typ, out: out}
	for _, check := range []func(){t.downloader, func() { t.urlRotation(urls) }, t.exec, t.reflective} {
		if err := budget.Err(); err != nil {
			return errors.Join(append(errs, fmt.Errorf("script: %w", err))...)
		}
		check()
	}
	if err := p.blobs(s, budget, out, &t); err != nil {
		errs = append(errs, err)
	}
	t.obfuscation()
	return errors.Join(errs...)
}

// concatRE matches the joint between two string literals being
// concatenated ("abc" & "def", 'ab' + 'cd', VBA line continuations), so
// commands split across literals can be searched as one string.
var concatRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`"\s*[&+]\s*(?:_\s*)?"|'\s*\+\s*'`) })

// maxJoinScan is the prefix of the text searched again with literal
// concatenations joined.
const maxJoinScan = 1 * parsers.MiB

// commands decodes PowerShell encoded commands and emits them as children.
func (p *Parser) commands(s, typ string, out parsers.Sink) error {
	if len(s) > maxCommandScan {
		s = s[:maxCommandScan]
	}
	found := pscmd.Find(s)
	if js := s[:min(len(s), maxJoinScan)]; countJoints(js) > 0 {
		seen := map[string]bool{}
		for _, d := range found {
			seen[d.Encoded] = true
		}
		for _, d := range pscmd.Find(concatRE().ReplaceAllString(js, "")) {
			if !seen[d.Encoded] && len(found) < pscmd.MaxResults {
				d.Offset = -1 // an offset in the joined text means nothing
				found = append(found, d)
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	var cmds, texts []pscmd.Decoded
	var err error
	for _, d := range found {
		c := parsers.Child{Name: "powershell_decoded", Type: filetype.PS1, Text: true, Data: []byte(d.Text),
			Meta: map[string]any{"kind": d.Kind}}
		if d.Offset >= 0 {
			c.Meta["offset"] = d.Offset
		}
		if d.Kind == pscmd.KindFromBase64Text {
			c.Name, c.Type = "base64_decoded", filetype.Text
			texts = append(texts, d)
		} else {
			cmds = append(cmds, d)
		}
		if err == nil {
			if cerr := out.Child(c); cerr != nil {
				err = fmt.Errorf("script: decoded command: %w", cerr)
			}
		}
	}
	out.Meta("encoded_commands", len(cmds))
	if len(cmds) > 0 {
		out.Finding(parsers.Finding{
			Code:     "script.encoded_command",
			Severity: parsers.High,
			Detail:   fmt.Sprintf("%d PowerShell encoded command(s) decoded; first: %s", len(cmds), quote(cmds[0].Text)),
			Attack:   attackEncoded,
		})
	}
	if len(texts) > 0 {
		// Base64 text decoded in a script is obfuscation; in a mail body
		// or macro source it is weaker context.
		sev := parsers.Low
		if filetype.IsScript(typ) {
			sev = parsers.Medium
		}
		out.Finding(parsers.Finding{
			Code:     "script.base64_text",
			Severity: sev,
			Detail:   fmt.Sprintf("%d FromBase64String literal(s) decode to text; first: %s", len(texts), quote(texts[0].Text)),
			Attack:   attackObfuscate,
		})
	}
	return err
}

// decodeText returns data as UTF-8 text: UTF-16 (with a BOM) is decoded,
// a UTF-8 BOM dropped, other bytes kept as they are.
func decodeText(b []byte) string {
	switch {
	case len(b) >= 2 && b[0] == 0xff && b[1] == 0xfe:
		return utf16String(b[2:], false)
	case len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff:
		return utf16String(b[2:], true)
	case len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf:
		return string(b[3:])
	}
	return string(b)
}

func utf16String(b []byte, bigEndian bool) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
	}
	return string(utf16.Decode(u))
}

// lineStats counts lines and the longest line in bytes.
func lineStats(s string) (lines, longest int) {
	if s == "" {
		return 0, 0
	}
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		line := s
		if i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		lines++
		if n := len(strings.TrimRight(line, "\r")); n > longest {
			longest = n
		}
	}
	return lines, longest
}

// quote shortens untrusted text for a finding's detail.
func quote(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxDetail {
		cut := maxDetail
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return fmt.Sprintf("%q", s)
}
