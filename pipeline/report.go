package pipeline

import (
	"triage/parsers"
)

// SchemaVersion is the version of the JSON report (pipeline/report.schema.json).
const SchemaVersion = "1.0.0"

// Verdicts.
const (
	Malicious  = "malicious"
	Suspicious = "suspicious"
	Clean      = "clean"
)

// Report is the result of triaging one input. Its JSON field names are a
// contract: other tools read them. Add fields freely; never rename.
type Report struct {
	SchemaVersion string      `json:"schema_version"`
	Verdict       string      `json:"verdict"`
	Score         int         `json:"score"`
	Input         InputInfo   `json:"input"`
	Message       MessageInfo `json:"message"`
	Reasons       []Reason    `json:"reasons"`
	Artifacts     []*Artifact `json:"artifacts"`
	IOCs          IOCs        `json:"iocs"`
	Stats         Stats       `json:"stats"`
	// Error is set when the input itself could not be read; the rest of the
	// report is then as complete as it could be made.
	Error string `json:"error,omitempty"`
}

// InputInfo describes what was triaged.
type InputInfo struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Type   string `json:"type"`
}

// MessageInfo holds the decoded headers of the top-level message (empty for
// a bare file).
type MessageInfo struct {
	Subject   string `json:"subject"`
	From      string `json:"from"`
	To        string `json:"to"`
	Date      string `json:"date"`
	MessageID string `json:"message_id"`
	ReplyTo   string `json:"reply_to,omitempty"`
	Cc        string `json:"cc,omitempty"`
}

// Reason explains points of the score.
type Reason struct {
	Rule     string           `json:"rule"`
	Artifact string           `json:"artifact"`
	Detail   string           `json:"detail"`
	Severity parsers.Severity `json:"severity"`
	Campaign string           `json:"campaign,omitempty"`
	Attack   []string         `json:"attack,omitempty"`
	// Source is "yara" for a rule match, "finding" for a parser finding,
	// "mail" for a mail-level signal.
	Source string `json:"source"`
	// Points this reason added to the score (0 when an earlier reason of the
	// same rule already counted).
	Points int `json:"points"`
}

// Artifact is one node of the artifact tree, in a flat list.
type Artifact struct {
	ID            string            `json:"id"`
	Parent        string            `json:"parent"`
	Name          string            `json:"name"`
	Type          string            `json:"type"`
	Size          int64             `json:"size"`
	SHA256        string            `json:"sha256"`
	MD5           string            `json:"md5"`
	Depth         int               `json:"depth"`
	Findings      []parsers.Finding `json:"findings"`
	YARA          []string          `json:"yara"`
	Error         string            `json:"error,omitempty"`
	Meta          map[string]any    `json:"meta,omitempty"`
	Text          string            `json:"text,omitempty"`
	TextTruncated bool              `json:"text_truncated,omitempty"`

	data []byte
}

// Data returns the artifact's bytes when the engine keeps them
// (Config.KeepData), else nil.
func (a *Artifact) Data() []byte { return a.data }

// DropData releases the artifact's bytes once they are no longer needed.
func (a *Artifact) DropData() { a.data = nil }

// messageInfo reads a message artifact's decoded headers from its meta.
func messageInfo(a *Artifact) MessageInfo {
	get := func(k string) string { s, _ := a.Meta[k].(string); return s }
	return MessageInfo{Subject: get("subject"), From: get("from"), To: get("to"), Date: get("date"), MessageID: get("message_id"), ReplyTo: get("reply_to"), Cc: get("cc")}
}

// IOCs are deduplicated indicators from every artifact.
type IOCs struct {
	URLs    []string `json:"urls"`
	Domains []string `json:"domains"`
	IPs     []string `json:"ips"`
}

// Stats describe the work done.
type Stats struct {
	DurationMS   float64 `json:"duration_ms"`
	Artifacts    int     `json:"artifacts"`
	DecodedBytes int64   `json:"decoded_bytes"`
	RulesLoaded  int     `json:"rules_loaded"`
}

// Artifact returns the artifact with id, or nil.
func (r *Report) Artifact(id string) *Artifact {
	for _, a := range r.Artifacts {
		if a.ID == id {
			return a
		}
	}
	return nil
}

// HasFinding reports whether any artifact carries a finding with code.
func (r *Report) HasFinding(code string) bool {
	for _, a := range r.Artifacts {
		for _, f := range a.Findings {
			if f.Code == code {
				return true
			}
		}
	}
	return false
}

// RulesFired returns the distinct rule and finding names behind the score,
// in the order they first appear in reasons.
func (r *Report) RulesFired() []string {
	seen := map[string]bool{}
	var out []string
	for _, re := range r.Reasons {
		if !seen[re.Rule] {
			seen[re.Rule] = true
			out = append(out, re.Rule)
		}
	}
	return out
}
