// Package archive lists the members of zip, gzip/tar, 7z, RAR and ISO 9660
// containers as child artifacts, opens encrypted archives with the
// passwords the message offers (and a short list of usual ones), and
// reports what matters for triage about the set of members: a lone script or
// executable, double extensions, path traversal, encryption and structural
// damage.
//
// Each format has its own parser type. None of them recurses: a member that
// is itself an archive is just a child, which the pipeline parses in turn.
// Every member's bytes are drawn from the message budget (Budget.ReadAll),
// so bombs stop at the size, ratio and total limits; a member cut by a
// limit is still emitted, with Child.Err set, next to an "archive.limit"
// finding.
package archive

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/names"
)

// Finding codes.
const (
	CodeEncrypted         = "archive.encrypted"
	CodeEncryptedUnopened = "archive.encrypted_unopened"
	CodeLimit             = "archive.limit"
	CodeMalformed         = "archive.malformed"
	CodeDoubleExtension   = "archive.double_extension"
	CodeLoneScript        = "archive.lone_script"
	CodeLoneExecutable    = "archive.lone_executable"
	CodeExecutable        = "archive.executable"
	CodePathTraversal     = "archive.path_traversal"
)

const (
	// maxMemberNames caps the "members" meta list.
	maxMemberNames = 100
	// maxMemberFindings caps per-member findings of one kind.
	maxMemberFindings = 20
	// maxListed caps names quoted in one finding's detail.
	maxListed = 5
)

// programExts are native programs and installers by extension.
var programExts = map[string]bool{"exe": true, "scr": true, "com": true, "pif": true, "cpl": true, "msi": true}

// commonPasswords are tried after the message's own candidates: the usual
// ones of malware-sharing sites and of lazy senders.
var commonPasswords = []string{
	"infected", "password", "1234", "12345", "123456", "1234567", "12345678",
	"2020", "2021", "2022", "2023", "2024", "2025", "2026",
	"virus", "malware", "infected-test", "test", "pass", "secret", "abc123",
	"111", "123", "0000", "1111", "qwerty",
}

// password is a candidate password and where it came from.
type password struct {
	text   string
	source string
}

// Password sources, as shown in finding details.
const (
	sourceMessage = "password from the message"
	sourceCommon  = "common password"
	sourceName    = "password from the archive name"
)

// candidates lists the passwords to try, most likely first: the message's,
// then the common list, then the archive's own base name. Duplicates and
// empty strings are dropped.
func candidates(in *parsers.Input, extra []string) []password {
	var out []password
	seen := map[string]bool{}
	add := func(p, src string) {
		if p == "" || seen[p] || len(out) >= 64 {
			return
		}
		seen[p] = true
		out = append(out, password{p, src})
	}
	for _, p := range extra {
		add(p, sourceMessage)
	}
	if in.Env != nil {
		for _, p := range in.Env.Passwords() {
			add(p, sourceMessage)
		}
	}
	for _, p := range commonPasswords {
		add(p, sourceCommon)
	}
	if in.Artifact != nil {
		base := names.Base(in.Artifact.Name)
		stem := base
		if i := strings.IndexByte(stem, '.'); i > 0 {
			stem = stem[:i]
		}
		add(stem, sourceName)
		add(strings.ToLower(stem), sourceName)
		add(base, sourceName)
	}
	return out
}

// members accumulates what a container parser emits, for the findings that
// judge the archive as a whole.
type members struct {
	out parsers.Sink

	names      []string
	files      int
	companions int
	lone       member
	executable []string
	traversal  []string
	doubleExt  int
	limits     map[string]int // member cuts by reason
	limitOrder []string
	notes      []string // limits that stopped or prevented the listing
	malformed  []string
}

type member struct {
	name string
	data []byte
}

func newMembers(out parsers.Sink) *members {
	return &members{out: out, names: []string{}, limits: map[string]int{}}
}

// emit hands one member to the sink and records it. err, when set, says why
// the member's data is incomplete. It returns the sink's error (a spent
// artifact budget), after which the caller stops.
func (m *members) emit(name string, data []byte, err error) error {
	m.files++
	if len(m.names) < maxMemberNames {
		m.names = append(m.names, name)
	}
	if outer, inner, ok := names.DoubleExtension(name); ok && m.doubleExt < maxMemberFindings {
		m.doubleExt++
		f := parsers.Finding{
			Code:     CodeDoubleExtension,
			Severity: parsers.High,
			Detail:   fmt.Sprintf("member %q poses as .%s but is .%s", name, inner, outer),
			Attack:   []string{"T1036.007"},
		}
		if names.IsImageExt(inner) && names.IsScriptExt(outer) {
			f.Campaign = "avaddon"
		}
		m.out.Finding(f)
	}
	if traverses(name) {
		m.traversal = append(m.traversal, name)
	}
	if isCompanion(name) {
		m.companions++
	} else {
		if m.files-m.companions == 1 {
			m.lone = member{name, data}
		}
		if memberType(name, data) != "" {
			m.executable = append(m.executable, name)
		}
	}
	switch {
	case errors.Is(err, parsers.ErrLimit):
		m.limit(err)
	case errors.Is(err, parsers.ErrMalformed):
		m.malform(fmt.Sprintf("member %q: %s", name, shortErr(err)))
	}
	return m.out.Child(parsers.Child{Name: name, Data: data, Err: err})
}

// limit records a member cut by a budget limit.
func (m *members) limit(err error) {
	why := limitReason(err)
	if m.limits[why] == 0 {
		m.limitOrder = append(m.limitOrder, why)
	}
	m.limits[why]++
}

// limitNote records a limit that stopped (or prevented) the listing itself.
func (m *members) limitNote(why string) {
	if !slices.Contains(m.notes, why) {
		m.notes = append(m.notes, why)
	}
}

// err summarises the run for Parse's return value: an error wrapping
// ErrMalformed when the structure was damaged, else one wrapping ErrLimit
// when a limit cut members, else nil.
func (m *members) err() error {
	if len(m.malformed) > 0 {
		return malformedf("%s", strings.Join(m.malformed, "; "))
	}
	if len(m.limitOrder) > 0 || len(m.notes) > 0 {
		return fmt.Errorf("archive: %w: %s", parsers.ErrLimit, strings.Join(append(slices.Clone(m.notes), m.limitOrder...), "; "))
	}
	return nil
}

// shortErr drops the "archive: malformed input: " prefix from err's text.
func shortErr(err error) string {
	s := err.Error()
	p := parsers.ErrMalformed.Error() + ": "
	if i := strings.LastIndex(s, p); i >= 0 {
		return s[i+len(p):]
	}
	return strings.TrimPrefix(s, "archive: ")
}

// limitReason strips the sentinel prefixes from a limit error, leaving the
// budget's own words ("expansion ratio above 200").
func limitReason(err error) string {
	s := err.Error()
	for _, p := range []string{parsers.ErrTooLarge.Error() + ": ", parsers.ErrTooMany.Error() + ": ", parsers.ErrDeadline.Error() + ": "} {
		if i := strings.LastIndex(s, p); i >= 0 {
			return s[i+len(p):]
		}
	}
	return s
}

// malform records structural damage; finish reports it once.
func (m *members) malform(detail string) {
	for _, d := range m.malformed {
		if d == detail {
			return
		}
	}
	if len(m.malformed) < maxMemberFindings {
		m.malformed = append(m.malformed, detail)
	}
}

// done reports the archive-wide findings and meta and returns Parse's
// error: err when the listing failed, else m.err().
func (m *members) done(err error) error {
	m.finish()
	if err != nil {
		return err
	}
	return m.err()
}

// finish reports the archive-wide findings and meta.
func (m *members) finish() {
	for _, why := range m.notes {
		m.out.Finding(parsers.Finding{Code: CodeLimit, Severity: parsers.Medium, Detail: why})
	}
	for _, why := range m.limitOrder {
		m.out.Finding(parsers.Finding{
			Code:     CodeLimit,
			Severity: parsers.Medium,
			Detail:   fmt.Sprintf("%d member(s) cut: %s", m.limits[why], why),
		})
	}
	if len(m.malformed) > 0 {
		m.out.Finding(parsers.Finding{
			Code:     CodeMalformed,
			Severity: parsers.Medium,
			Detail:   strings.Join(m.malformed, "; "),
		})
	}
	if len(m.traversal) > 0 {
		m.out.Finding(parsers.Finding{
			Code:     CodePathTraversal,
			Severity: parsers.Low,
			Detail:   fmt.Sprintf("%d member name(s) leave the extraction folder: %s", len(m.traversal), quoteList(m.traversal)),
		})
	}
	real := m.files - m.companions
	switch {
	case real == 1 && m.lone.name != "" && isLoneScript(m.lone):
		m.out.Finding(parsers.Finding{
			Code:     CodeLoneScript,
			Severity: parsers.High,
			Detail:   fmt.Sprintf("the archive holds one file, a script: %q", m.lone.name),
			Campaign: "locky",
			Attack:   []string{"T1059.005", "T1059.007"},
		})
	case real == 1 && m.lone.name != "" && isProgram(m.lone):
		m.out.Finding(parsers.Finding{
			Code:     CodeLoneExecutable,
			Severity: parsers.High,
			Detail:   fmt.Sprintf("the archive holds one file, an executable: %q", m.lone.name),
			Attack:   []string{"T1204.002"},
		})
	case real > 1 && len(m.executable) > 0:
		m.out.Finding(parsers.Finding{
			Code:     CodeExecutable,
			Severity: parsers.Medium,
			Detail:   fmt.Sprintf("%d of %d members are executables or scripts: %s", len(m.executable), m.files, quoteList(m.executable)),
			Attack:   []string{"T1204.002"},
		})
	}
	m.out.Meta("members", m.names)
}

// isCompanion reports macOS resource-fork files ("__MACOSX/._x.pdf") that
// accompany a real member.
func isCompanion(name string) bool {
	return strings.HasPrefix(name, "__MACOSX/") || strings.HasPrefix(names.Base(name), "._")
}

// memberType reports "script" or "program" when a member runs code when
// opened: scripts by extension (or by content when the name has no
// extension), programs by extension or by native executable content.
// Content alone does not make a script: source code and notes with
// semicolons look like JScript.
func memberType(name string, data []byte) string {
	mb := member{name, data}
	switch {
	case isLoneScript(mb):
		return "script"
	case isProgram(mb):
		return "program"
	}
	return ""
}

func isLoneScript(mb member) bool {
	ext := names.Ext(mb.name)
	if names.IsScriptExt(ext) {
		return true
	}
	if ext != "" || len(mb.data) == 0 {
		return false
	}
	return filetype.IsScript(filetype.Detect(head(mb.data), mb.name))
}

func isProgram(mb member) bool {
	if programExts[names.Ext(mb.name)] {
		return true
	}
	return nativeMagic(mb.data) && filetype.IsExecutable(filetype.Detect(mb.data, mb.name))
}

// nativeMagic is a cheap pre-check for PE, ELF and Mach-O content, so that
// text members never reach the (regular-expression) text classifier.
func nativeMagic(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	switch string(b[:2]) {
	case "MZ":
		return true
	}
	switch string(b[:4]) {
	case "\x7fELF", "\xfe\xed\xfa\xce", "\xfe\xed\xfa\xcf", "\xce\xfa\xed\xfe", "\xcf\xfa\xed\xfe", "\xca\xfe\xba\xbe":
		return true
	}
	return false
}

// head bounds what content classification reads.
func head(b []byte) []byte { return b[:min(len(b), 64*1024)] }

// traverses reports member names that escape the extraction folder: a ".."
// element, an absolute path or a drive letter.
func traverses(name string) bool {
	n := strings.ReplaceAll(name, `\`, "/")
	if strings.HasPrefix(n, "/") || (len(n) >= 2 && n[1] == ':' && (n[0]|0x20) >= 'a' && (n[0]|0x20) <= 'z') {
		return true
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return true
		}
	}
	return false
}

func quoteList(list []string) string {
	var b strings.Builder
	for i, s := range list {
		if i == maxListed {
			fmt.Fprintf(&b, ", … (%d more)", len(list)-maxListed)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", s)
	}
	return b.String()
}

// encryption summarises the encrypted members of one archive.
type encryption struct {
	total    int             // encrypted members
	opened   int             // of which decrypted
	methods  map[string]bool // "zipcrypto", "aes-256", …
	password password        // the one that worked, if any
	header   bool            // file names were encrypted too (7z, RAR)
	tried    int             // candidate passwords available
}

// report writes the encryption meta and findings. entries is the member
// count for the detail.
func (e *encryption) report(out parsers.Sink, entries int) {
	out.Meta("encrypted", e.total > 0 || e.header)
	if e.total == 0 && !e.header {
		return
	}
	var methods []string
	for k := range e.methods {
		methods = append(methods, k)
	}
	sort.Strings(methods)
	method := strings.Join(methods, ",")
	out.Meta("encryption", method)
	out.Meta("password", e.password.text)
	if e.password.text != "" {
		out.Meta("password_source", e.password.source)
		out.Password(e.password.text)
	}
	what := fmt.Sprintf("%d of %d members encrypted", e.total, entries)
	if e.header {
		what = "names and contents encrypted"
	}
	if method != "" {
		what += " (" + method + ")"
	}
	detail := what + "; not opened"
	if e.password.text != "" {
		detail = fmt.Sprintf("%s; opened with %s %q", what, e.password.source, e.password.text)
	}
	out.Finding(parsers.Finding{
		Code:     CodeEncrypted,
		Severity: parsers.Medium,
		Detail:   detail,
		Attack:   []string{"T1027"},
	})
	if e.opened < e.total || (e.header && e.password.text == "") {
		what := fmt.Sprintf("%d encrypted member(s)", e.total-e.opened)
		if e.header && e.password.text == "" {
			what = "the encrypted names and contents"
		}
		out.Finding(parsers.Finding{
			Code:     CodeEncryptedUnopened,
			Severity: parsers.Medium,
			Detail:   fmt.Sprintf("%s could not be opened with %d candidate passwords", what, e.tried),
			Attack:   []string{"T1027"},
		})
	}
}

// malformedf returns an error wrapping parsers.ErrMalformed.
func malformedf(format string, args ...any) error {
	return fmt.Errorf("archive: %w: %s", parsers.ErrMalformed, fmt.Sprintf(format, args...))
}
