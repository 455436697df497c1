package pipeline

import (
	"sort"
	"strings"

	"triage/parsers"
	"triage/rules"
)

// Scoring turns severities into points and points into a verdict.
type Scoring struct {
	// Points per severity: info, low, medium, high, critical.
	Points [5]int `json:"points"`
	// MaliciousAt and SuspiciousAt are the score thresholds.
	MaliciousAt  int `json:"malicious_at"`
	SuspiciousAt int `json:"suspicious_at"`
	// MailCap caps the points mail-level signals (codes "mail.*") add when
	// nothing in the content scored: they add weight but never make a
	// malicious verdict alone.
	MailCap int `json:"mail_cap"`
}

// DefaultScoring: info 0, low 10, medium 30, high 60, critical 100;
// malicious at 70, suspicious at 30.
func DefaultScoring() Scoring {
	return Scoring{Points: [5]int{0, 10, 30, 60, 100}, MaliciousAt: 70, SuspiciousAt: 30, MailCap: 60}
}

func (s Scoring) withDefaults() Scoring {
	if s.MaliciousAt == 0 && s.SuspiciousAt == 0 {
		return DefaultScoring()
	}
	return s
}

func (s Scoring) points(sev parsers.Severity) int {
	if sev < parsers.Info || sev > parsers.Critical {
		return 0
	}
	return s.Points[sev]
}

// score builds reasons from findings and YARA matches and sets the verdict.
// Each distinct rule or finding code counts once, at its highest severity;
// every later occurrence is still listed as a reason with 0 points.
func score(rep *Report, set *rules.Set, sc Scoring) {
	var reasons []Reason
	for _, a := range rep.Artifacts {
		for _, name := range a.YARA {
			m := set.Meta[name]
			sev := m.Severity
			detail := m.Description
			if detail == "" {
				detail = "YARA rule matched"
			}
			reasons = append(reasons, Reason{Rule: name, Artifact: a.ID, Detail: detail, Severity: sev, Campaign: m.Campaign, Attack: m.Attack, Source: "yara"})
		}
		for _, f := range a.Findings {
			src := "finding"
			if strings.HasPrefix(f.Code, "mail.") {
				src = "mail"
			}
			reasons = append(reasons, Reason{Rule: f.Code, Artifact: a.ID, Detail: f.Detail, Severity: f.Severity, Campaign: f.Campaign, Attack: f.Attack, Source: src})
		}
	}
	scoreReasons(rep, reasons, sc)
}

// scoreReasons sets rep's reasons, score and verdict from reasons.
func scoreReasons(rep *Report, reasons []Reason, sc Scoring) {
	// Strongest first, then artifact order; stable for equal keys.
	sort.SliceStable(reasons, func(i, j int) bool { return reasons[i].Severity > reasons[j].Severity })
	counted := map[string]bool{}
	content, mail := 0, 0
	for i := range reasons {
		re := &reasons[i]
		re.Points = 0
		g := scoreGroup(re.Rule)
		if counted[g] {
			continue
		}
		counted[g] = true
		re.Points = sc.points(re.Severity)
		if re.Source == "mail" {
			mail += re.Points
		} else {
			content += re.Points
		}
	}
	if content == 0 && mail > sc.MailCap {
		mail = sc.MailCap
	}
	total := content + mail
	if total > 100 {
		total = 100
	}
	if reasons == nil {
		reasons = []Reason{}
	}
	rep.Reasons = reasons
	rep.Score = total
	switch {
	case total >= sc.MaliciousAt:
		rep.Verdict = Malicious
	case total >= sc.SuspiciousAt:
		rep.Verdict = Suspicious
	default:
		rep.Verdict = Clean
	}
}

// scoreGroup names what a reason counts towards: its own rule or code,
// except that every limit finding ("limit.*", "<parser>.limit") counts once
// as "limit" and every malformation ("*.malformed") once as "malformed", so
// that one oversized or damaged input does not add up to a verdict through
// the several parsers that notice it.
func scoreGroup(rule string) string {
	switch {
	case strings.HasPrefix(rule, "limit.") || strings.HasSuffix(rule, ".limit"):
		return "limit"
	case strings.HasSuffix(rule, ".malformed"):
		return "malformed"
	}
	return rule
}

// Subtree returns the report of the artifact id and everything extracted
// from it, judged on its own: its reasons re-scored, and for a message its
// decoded headers as the message block. A report forwarded as an attachment
// is judged this way on the attached message, without the forwarding
// mail's own traits. Artifact ids are kept as they are.
func (r *Report) Subtree(id string, sc Scoring) *Report {
	sc = sc.withDefaults()
	in := func(aid string) bool { return aid == id || strings.HasPrefix(aid, id+".") }
	out := &Report{SchemaVersion: r.SchemaVersion, Input: r.Input, Stats: r.Stats, Artifacts: []*Artifact{}}
	var root *Artifact
	for _, a := range r.Artifacts {
		if in(a.ID) {
			out.Artifacts = append(out.Artifacts, a)
			if a.ID == id {
				root = a
			}
		}
	}
	if root == nil {
		return nil
	}
	out.Message = messageInfo(root)
	var reasons []Reason
	for _, re := range r.Reasons {
		if in(re.Artifact) {
			reasons = append(reasons, re)
		}
	}
	if reasons == nil {
		reasons = []Reason{}
	}
	scoreReasons(out, reasons, sc)
	// IOCs are not tracked per artifact: the whole message's are kept (the
	// forwarding mail rarely adds any).
	out.IOCs = r.IOCs
	return out
}
