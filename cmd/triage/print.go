package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"triage/parsers"
	"triage/pipeline"
)

// printReport renders a report for an analyst's terminal.
func printReport(w io.Writer, r *pipeline.Report) {
	fmt.Fprintf(w, "%s  %s (score %d/100)\n", r.Input.Name, strings.ToUpper(r.Verdict), r.Score)
	m := r.Message
	if m.Subject != "" || m.From != "" {
		fmt.Fprintf(w, "  Subject:    %s\n", m.Subject)
		fmt.Fprintf(w, "  From:       %s\n", m.From)
		if m.To != "" {
			fmt.Fprintf(w, "  To:         %s\n", m.To)
		}
		if m.Date != "" {
			fmt.Fprintf(w, "  Date:       %s\n", m.Date)
		}
		if m.MessageID != "" {
			fmt.Fprintf(w, "  Message-ID: %s\n", m.MessageID)
		}
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  Error:      %s\n", r.Error)
	}
	fmt.Fprintln(w, "\nWhy:")
	any := false
	for _, re := range r.Reasons {
		if re.Points == 0 {
			continue
		}
		any = true
		extra := ""
		if re.Campaign != "" {
			extra += " campaign=" + re.Campaign
		}
		if len(re.Attack) > 0 {
			extra += " attack=" + strings.Join(re.Attack, ",")
		}
		fmt.Fprintf(w, "  +%-3d %-8s %s [%s on %s]%s\n       %s\n", re.Points, re.Severity, re.Rule, re.Source, re.Artifact, extra, oneLine(re.Detail, 200))
	}
	if !any {
		fmt.Fprintln(w, "  nothing scored")
	}
	fmt.Fprintln(w, "\nArtifacts:")
	children := map[string][]*pipeline.Artifact{}
	var roots []*pipeline.Artifact
	for _, a := range r.Artifacts {
		if a.Parent == "" {
			roots = append(roots, a)
		} else {
			children[a.Parent] = append(children[a.Parent], a)
		}
	}
	var walk func(a *pipeline.Artifact, indent string)
	walk = func(a *pipeline.Artifact, indent string) {
		name := a.Name
		if name == "" {
			name = "(unnamed)"
		}
		fmt.Fprintf(w, "%s%s %s [%s, %d bytes] sha256:%s\n", indent, a.ID, oneLine(name, 80), a.Type, a.Size, short(a.SHA256))
		fs := append([]parsers.Finding(nil), a.Findings...)
		sort.SliceStable(fs, func(i, j int) bool { return fs[i].Severity > fs[j].Severity })
		for _, f := range fs {
			fmt.Fprintf(w, "%s    ! %-8s %s: %s\n", indent, f.Severity, f.Code, oneLine(f.Detail, 160))
		}
		for _, y := range a.YARA {
			fmt.Fprintf(w, "%s    ~ yara %s\n", indent, y)
		}
		if a.Error != "" {
			fmt.Fprintf(w, "%s    x error: %s\n", indent, oneLine(a.Error, 160))
		}
		if cl, ok := a.Meta["command_line"].(string); ok && cl != "" {
			fmt.Fprintf(w, "%s    > command line: %s\n", indent, oneLine(cl, 300))
		}
		for _, c := range children[a.ID] {
			walk(c, indent+"  ")
		}
	}
	for _, a := range roots {
		walk(a, "  ")
	}
	if len(r.IOCs.URLs)+len(r.IOCs.IPs) > 0 {
		fmt.Fprintln(w, "\nIOCs:")
		for _, u := range r.IOCs.URLs {
			fmt.Fprintf(w, "  url     %s\n", u)
		}
		for _, d := range r.IOCs.Domains {
			fmt.Fprintf(w, "  domain  %s\n", d)
		}
		for _, ip := range r.IOCs.IPs {
			fmt.Fprintf(w, "  ip      %s\n", ip)
		}
	}
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len([]rune(s)) > n {
		return string([]rune(s)[:n]) + "…"
	}
	return s
}
