// Package vba reads VBA projects (MS-OVBA): it decompresses and parses the
// dir stream and module streams of a project storage (ExtractProject), and
// analyses module source the way olevba and mraptor do (Analyze): auto-exec
// triggers, suspicious keywords, obfuscation, IOCs, and a folded source in
// which constant string expressions are evaluated.
//
// Its Parser handles "vba" artifacts: module sources emitted by the ole
// parser (and the ooxml parser through it).
package vba

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"triage/parsers"
)

// Name is the parser name.
const Name = "vba"

// Parser analyses VBA module source.
type Parser struct{}

// New returns a VBA source parser.
func New() *Parser { return &Parser{} }

// Name implements parsers.Parser.
func (p *Parser) Name() string { return Name }

// Match implements parsers.Parser: module sources typed "vba".
func (p *Parser) Match(a *parsers.Artifact, head []byte) bool {
	return a != nil && a.Type == "vba"
}

// Parse implements parsers.Parser. in.Data is the module source in UTF-8.
func (p *Parser) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %v", parsers.ErrDeadline, err)
	}
	code := string(in.Data)
	if !utf8.ValidString(code) {
		code = strings.ToValidUTF8(code, "\uFFFD")
	}
	name := "module"
	if in.Artifact != nil && in.Artifact.Name != "" {
		name = in.Artifact.Name
	}
	a := Analyze(code)
	Report(a, out)

	var errs []error
	emit := func(c parsers.Child) {
		if len(errs) > 0 {
			return
		}
		if err := out.Child(c); err != nil && errors.Is(err, parsers.ErrLimit) {
			errs = append(errs, err)
		}
	}
	if a.FoldChanged {
		emit(parsers.Child{Name: name + ".folded", Type: "text", Text: true, Data: []byte(a.Folded)})
		for _, u := range a.FoldedURLs {
			out.URL(u)
		}
	}
	for i, cmd := range a.EncodedCommands {
		n := name + ".ps1"
		if i > 0 {
			n = fmt.Sprintf("%s.%d.ps1", name, i+1)
		}
		emit(parsers.Child{Name: n, Type: "ps1", Text: true, Data: []byte(cmd), Meta: map[string]any{"decoded_from": "-EncodedCommand"}})
	}
	return errors.Join(errs...)
}

// Report turns an analysis into meta and findings. The ole parser uses
// Analyze directly for project-wide checks; this is the per-module report.
func Report(a *Analysis, out parsers.Sink) {
	flags := []byte("---")
	if a.A {
		flags[0] = 'A'
	}
	if a.W {
		flags[1] = 'W'
	}
	if a.X {
		flags[2] = 'X'
	}
	out.Meta("mraptor", string(flags))
	if len(a.AutoExec) > 0 {
		out.Meta("autoexec", a.AutoExec)
	}
	if len(a.Suspicious) > 0 {
		out.Meta("suspicious", a.Suspicious)
	}
	out.Meta("chr_calls", a.ChrCalls)
	out.Meta("procedures", a.Procedures)
	out.Meta("folded", a.FoldChanged)

	if len(a.AutoExec) > 0 {
		f := parsers.Finding{Code: "vba.autoexec", Severity: parsers.Medium, Campaign: "emotet", Attack: []string{"T1204.002"},
			Detail: "auto-exec entry points: " + strings.Join(a.AutoExec, ", ")}
		if !a.AutoRun {
			f.Severity = parsers.Low
			f.Detail += " (user-triggered control events only)"
		}
		out.Finding(f)
	}
	cats := make([]string, 0, len(a.Suspicious))
	for c := range a.Suspicious {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	for _, c := range cats {
		out.Finding(parsers.Finding{Code: "vba.suspicious", Severity: parsers.Low,
			Detail: c + ": " + strings.Join(a.Suspicious[c], ", ")})
	}
	switch {
	case strings.Contains(a.WMI, "Win32_Process"):
		out.Finding(parsers.Finding{Code: "vba.wmi_exec", Severity: parsers.High, Campaign: "emotet", Attack: []string{"T1047"},
			Detail: "process creation through WMI: " + a.WMI})
	case a.WMI != "":
		out.Finding(parsers.Finding{Code: "vba.suspicious", Severity: parsers.Low, Detail: "wmi: " + a.WMI})
	}
	if a.PowerShell != "" || len(a.EncodedCommands) > 0 {
		detail := "PowerShell launch: " + a.PowerShell
		if a.PowerShell == "" {
			detail = "PowerShell -EncodedCommand payload"
		}
		if len(a.EncodedCommands) > 0 {
			cmd := a.EncodedCommands[0]
			if len(cmd) > 200 {
				cmd = cmd[:200] + "…"
			}
			detail += "; decoded: " + cmd
		}
		out.Finding(parsers.Finding{Code: "vba.powershell", Severity: parsers.High, Campaign: "emotet", Attack: []string{"T1059.001"}, Detail: detail})
	}
	if len(a.Obfuscation) > 0 {
		sev := parsers.Low
		if len(a.Obfuscation) >= 2 {
			sev = parsers.Medium
		}
		out.Finding(parsers.Finding{Code: "vba.obfuscation", Severity: sev, Campaign: "emotet", Attack: []string{"T1027"},
			Detail: strings.Join(a.Obfuscation, "; ")})
	}
	if a.MRaptor() {
		var caps []string
		if a.W {
			caps = append(caps, "write")
		}
		if a.X {
			caps = append(caps, "execute")
		}
		out.Finding(parsers.Finding{Code: "vba.mraptor", Severity: parsers.High, Attack: []string{"T1204.002"},
			Detail: "auto-exec with " + strings.Join(caps, "/") + " (mraptor " + string(flags) + ")"})
	}
	if len(a.URLs)+len(a.IPs)+len(a.Executables) > 0 {
		var parts []string
		if len(a.URLs) > 0 {
			parts = append(parts, "URLs: "+strings.Join(capList(a.URLs, 10), ", "))
		}
		if len(a.IPs) > 0 {
			parts = append(parts, "IPs: "+strings.Join(capList(a.IPs, 10), ", "))
		}
		if len(a.Executables) > 0 {
			parts = append(parts, "executable names: "+strings.Join(capList(a.Executables, 10), ", "))
		}
		sev := parsers.Info
		if len(a.Executables) > 0 || len(a.IPs) > 0 {
			sev = parsers.Low
		}
		out.Finding(parsers.Finding{Code: "vba.iocs", Severity: sev, Detail: strings.Join(parts, "; ")})
	}
}

func capList(l []string, n int) []string {
	if len(l) <= n {
		return l
	}
	return append(l[:n:n], fmt.Sprintf("… %d more", len(l)-n))
}
