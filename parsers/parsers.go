// Package parsers defines the contract between the triage pipeline and the
// format parsers: one small Parser interface, the Sink a parser reports to,
// findings with severities, and the sentinel errors used across formats.
//
// A parser understands one format. It holds no global state and never
// recurses: it hands derived artifacts (attachments, archive members, decoded
// payloads) to the Sink, and the pipeline decides whether and how deep to
// descend, under one Budget per message.
package parsers

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Parsers wrap them with %w; callers test with errors.Is.
var (
	// ErrMalformed marks a structure that violates its format.
	ErrMalformed = errors.New("malformed input")
	// ErrUnsupported marks a valid structure the parser cannot open
	// (unknown compression, encryption without a password).
	ErrUnsupported = errors.New("unsupported")
	// ErrLimit is the class of every budget limit.
	ErrLimit = errors.New("limit reached")
	// ErrTooLarge: a size or decompressed-bytes limit.
	ErrTooLarge = fmt.Errorf("%w: too large", ErrLimit)
	// ErrTooDeep: the nesting-depth limit.
	ErrTooDeep = fmt.Errorf("%w: too deep", ErrLimit)
	// ErrTooMany: an artifact, part or entry count limit.
	ErrTooMany = fmt.Errorf("%w: too many", ErrLimit)
	// ErrDeadline: the per-message deadline passed.
	ErrDeadline = fmt.Errorf("%w: deadline", ErrLimit)
	// ErrPanic: a parser panicked; the pipeline recovered.
	ErrPanic = errors.New("parser panic")
)

// Severity ranks findings and rule matches.
type Severity int

// Severities, weakest first.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < Info || s > Critical {
		return "info"
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name; unknown names are Info and ok=false.
func ParseSeverity(s string) (Severity, bool) {
	for i, n := range severityNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Severity(i), true
		}
	}
	return Info, false
}

// MarshalText renders the severity as its lowercase name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, ok := ParseSeverity(string(b))
	if !ok {
		return fmt.Errorf("parsers: unknown severity %q", b)
	}
	*s = v
	return nil
}

// Finding is a structural fact a parser reports about an artifact.
// Code is "<parser>.<what>", for example "lnk.lolbin" or "archive.encrypted".
type Finding struct {
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	Detail   string   `json:"detail"`
	// Campaign and Attack optionally tie the finding to the catalog.
	Campaign string   `json:"campaign,omitempty"`
	Attack   []string `json:"attack,omitempty"`
}

// Artifact is the parser's read-only view of the thing being parsed.
type Artifact struct {
	ID     string // "1", "1.2", "1.2.1": one level per dot
	Parent string // empty for the top-level input
	Name   string // declared file name: untrusted, never used as a path
	Type   string // detected from content: "eml", "zip", "lnk", …
	Depth  int    // 0 for the top-level input
	Size   int64
}

// Env carries per-message context shared by all parsers of one message.
type Env interface {
	// Passwords returns candidate archive/document passwords found in the
	// message so far (subject and text bodies), most likely first.
	Passwords() []string
}

// Input is one parse job.
type Input struct {
	Artifact *Artifact
	// Data holds exactly Artifact.Size bytes. It is owned by the pipeline:
	// parsers must not modify it, and a Child may alias it.
	Data   []byte
	Budget *Budget
	Env    Env
}

// Child is a derived artifact handed to the pipeline.
type Child struct {
	Name string
	Data []byte
	// Type, if set, is trusted instead of content detection: for derived
	// artifacts whose kind the parser knows (a "vba" module's source, a
	// decoded "ps1" command). Leave it empty for carried files (attachments,
	// archive members): their type comes from their content.
	Type string
	// Text marks derived text whose content belongs in the report.
	Text bool
	Meta map[string]any
	// Err records why the child is incomplete (truncated by a limit,
	// damaged); the pipeline attaches it to the child artifact.
	Err error
}

// Sink receives what a parser finds. Implementations are not safe for
// concurrent use: a parser calls its Sink from one goroutine.
type Sink interface {
	// Child queues a derived artifact. It returns an error wrapping
	// ErrLimit once the artifact count or depth budget is spent; the parser
	// should then stop emitting children.
	Child(c Child) error
	// Finding records a structural finding on the artifact being parsed.
	Finding(f Finding)
	// Meta sets a type-specific fact on the artifact being parsed.
	Meta(key string, value any)
	// URL records a URL exactly as written (after decoding).
	URL(u string)
	// Password offers a candidate password to later parsers of the message.
	Password(p string)
}

// Parser understands one format.
type Parser interface {
	// Name is a unique constant matching ^[a-z0-9-]+$.
	Name() string
	// Match is cheap: it looks at the detected type and the first bytes
	// only, and does no I/O.
	Match(a *Artifact, head []byte) bool
	// Parse reads in.Data and reports to out. It may return partial output
	// and an error; the pipeline keeps both.
	Parse(ctx context.Context, in *Input, out Sink) error
}
