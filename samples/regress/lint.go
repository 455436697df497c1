package regress

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"triage/parsers"
	"triage/rules"
)

// RequiredMeta are the meta fields every rule must carry.
var RequiredMeta = []string{"description", "campaign", "reference", "severity", "attack", "author", "date"}

// Campaign is one entry of ../shared/CAMPAIGNS.md.
type Campaign struct {
	Key     string
	Section int
	Email   bool // has an email vector (needs a rule, a positive and a negative sample)
}

// Catalog lists the catalogue's campaigns by the keys rules and samples use.
func Catalog() []Campaign {
	return []Campaign{
		{"emotet", 1, true}, {"online-video", 4, true}, // §1–3 are all Emotet
		{"iqy", 5, true}, {"pylocky", 6, true}, {"locky", 7, true}, {"adwind", 8, true},
		{"karaage", 9, true}, {"fifa", 10, true}, {"bec", 11, true}, {"agenttesla", 12, true},
		{"avaddon", 13, true}, {"netwalker", 14, true}, {"lnk", 15, true}, {"policy", 16, false},
	}
}

var attackRE = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)

// Problem is one lint complaint.
type Problem struct {
	Rule string
	What string
}

func (p Problem) String() string { return p.Rule + ": " + p.What }

// Lint checks a rule set: compile warnings, required meta, valid severities
// and ATT&CK ids, and, given the regression results, rules that never fire
// on a positive sample and rules that fire on a negative (near-miss) sample,
// as meta.json's "positive" says.
func Lint(set *rules.Set, results []Result) []Problem {
	var out []Problem
	for _, w := range set.Warnings {
		out = append(out, Problem{Rule: "(compiler)", What: "warning: " + w})
	}
	if ok, why := set.Scoped(); !ok {
		out = append(out, Problem{Rule: "(scope)", What: "every artifact is scanned with every rule: " + why})
	} else if _, err := set.Warm(); err != nil {
		out = append(out, Problem{Rule: "(scope)", What: "a rule selection does not compile: " + err.Error()})
	}
	for _, n := range set.ReadsEveryArtifact() {
		out = append(out, Problem{Rule: n, What: "reads the bytes of every artifact (the raw message, every PDF and archive): test filetype or parent_type in the condition (rules/README.md, \"What a rule costs\")"})
	}
	names := make([]string, 0, len(set.Meta))
	for n := range set.Meta {
		names = append(names, n)
	}
	sort.Strings(names)
	fired := map[string][]string{}
	positive := map[string]bool{}
	for _, r := range results {
		positive[r.Sample.Dir] = r.Sample.Meta.Positive
		for _, y := range r.Got.Rules {
			fired[y] = append(fired[y], r.Sample.Dir)
		}
	}
	for _, n := range names {
		m := set.Meta[n]
		for _, k := range RequiredMeta {
			if strings.TrimSpace(m.Raw[k]) == "" {
				out = append(out, Problem{Rule: n, What: "missing meta " + k})
			}
		}
		if v := m.Raw["severity"]; v != "" {
			if _, ok := parsers.ParseSeverity(v); !ok {
				out = append(out, Problem{Rule: n, What: fmt.Sprintf("severity %q is not info/low/medium/high/critical", v)})
			}
		}
		for _, a := range m.Attack {
			if !attackRE.MatchString(a) {
				out = append(out, Problem{Rule: n, What: fmt.Sprintf("attack id %q is not an ATT&CK technique id", a)})
			}
		}
		if results == nil {
			continue
		}
		pos, neg := 0, []string{}
		for _, dir := range fired[n] {
			if positive[dir] {
				pos++
			} else {
				neg = append(neg, dir)
			}
		}
		if pos == 0 {
			out = append(out, Problem{Rule: n, What: "never fires on any positive sample: add one (samples/gen) or fix the rule"})
		}
		for _, d := range neg {
			out = append(out, Problem{Rule: n, What: "fires on negative sample " + d})
		}
	}
	return out
}

// Coverage is the rules × samples matrix and the catalogue's gaps.
type Coverage struct {
	Rules   []string
	Samples []string
	Hits    map[string]map[string]bool // rule → sample dir → fired
	Gaps    []string
}

// ComputeCoverage builds the matrix and lists every email-borne catalogue
// campaign that lacks a rule (a YARA rule or a finding with that campaign),
// a positive sample or a negative sample.
func ComputeCoverage(set *rules.Set, results []Result) Coverage {
	c := Coverage{Hits: map[string]map[string]bool{}}
	for n := range set.Meta {
		c.Rules = append(c.Rules, n)
		c.Hits[n] = map[string]bool{}
	}
	sort.Strings(c.Rules)
	ruleCampaigns := map[string]bool{}
	for _, m := range set.Meta {
		ruleCampaigns[m.Campaign] = true
	}
	pos, neg := map[string]bool{}, map[string]bool{}
	for _, r := range results {
		c.Samples = append(c.Samples, r.Sample.Dir)
		for _, y := range r.Got.Rules {
			if c.Hits[y] != nil {
				c.Hits[y][r.Sample.Dir] = true
			}
		}
		if r.Report != nil {
			for _, a := range r.Report.Artifacts {
				for _, f := range a.Findings {
					if f.Campaign != "" {
						ruleCampaigns[f.Campaign] = true
					}
				}
			}
		}
		camp := r.Sample.Meta.Campaign
		if r.Sample.Meta.Positive {
			pos[camp] = true
		} else {
			neg[camp] = true
		}
	}
	for _, k := range Catalog() {
		if !ruleCampaigns[k.Key] {
			c.Gaps = append(c.Gaps, fmt.Sprintf("§%d %s: no rule (YARA meta campaign or finding campaign)", k.Section, k.Key))
		}
		if !k.Email {
			continue
		}
		if !pos[k.Key] {
			c.Gaps = append(c.Gaps, fmt.Sprintf("§%d %s: no positive sample", k.Section, k.Key))
		}
		if !neg[k.Key] {
			c.Gaps = append(c.Gaps, fmt.Sprintf("§%d %s: no negative (near-miss) sample", k.Section, k.Key))
		}
	}
	return c
}
