// Package lnk parses Windows shortcut files (MS-SHLLINK): the header, the
// target ID list, LinkInfo, StringData and the ExtraData blocks. It reports
// the target, arguments, window state and icon, and flags shortcuts that
// launch a script host or shell with obfuscated arguments (catalogue §15).
//
// Parse is the pure parser, reusable by other packages (OLE Package
// objects carry .lnk files); Parser wraps it for the pipeline.
package lnk

import (
	"context"
	"fmt"
	"strings"
	"time"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/iocs"
)

// Name is the parser's registry name.
const Name = "lnk"

const campaign = "lnk"

// maxDetailProblems bounds the problems listed in one malformed finding.
const maxDetailProblems = 5

// Parser parses shell links. The zero value is ready to use.
type Parser struct{}

// New returns a shell link parser.
func New() *Parser { return &Parser{} }

// Name implements parsers.Parser.
func (*Parser) Name() string { return Name }

// Match implements parsers.Parser: content detected as a shell link.
func (*Parser) Match(a *parsers.Artifact, _ []byte) bool {
	return a != nil && a.Type == filetype.LNK
}

// Parse implements parsers.Parser.
func (*Parser) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("lnk: %w: %v", parsers.ErrDeadline, err)
	}
	opts := Options{Err: func() error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w: %v", parsers.ErrDeadline, err)
		}
		return in.Budget.Err()
	}}
	if in.Budget != nil {
		opts.MaxItems = in.Budget.Limits.MaxEntries
	}
	l, err := ParseOptions(in.Data, opts)
	name := ""
	if in.Artifact != nil {
		name = in.Artifact.Name
	}
	if l == nil {
		out.Finding(parsers.Finding{
			Code:     "lnk.malformed",
			Severity: parsers.Low,
			Detail:   "not a shell link: " + errText(err),
			Campaign: campaign,
		})
		return err
	}
	report(l, name, out)
	return err
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// report turns a parsed link into meta, findings, URLs and children.
func report(l *Link, name string, out parsers.Sink) {
	h := l.Header
	out.Meta("link_flags", nonNil(h.Flags.Names()))
	if a := h.FileAttributeNames(); len(a) > 0 {
		out.Meta("file_attributes", a)
	}
	metaTime(out, "creation_time", h.CreationTime)
	metaTime(out, "access_time", h.AccessTime)
	metaTime(out, "write_time", h.WriteTime)
	out.Meta("file_size", int64(h.FileSize))
	out.Meta("icon_index", int64(h.IconIndex))
	out.Meta("show_command", h.ShowCommandName())
	out.Meta("show_command_value", int64(h.ShowCommand))
	if k := h.HotKeyName(); k != "" {
		out.Meta("hotkey", k)
	}

	if len(l.IDList) > 0 {
		out.Meta("target_idlist_items", len(l.IDList))
	}
	if l.IDListTruncated {
		out.Meta("target_idlist_truncated", true)
	}
	metaString(out, "target_idlist_path", l.IDListPath)

	if li := l.LinkInfo; li != nil {
		if li.Ignored {
			out.Meta("link_info_ignored", true)
		}
		if li.HasVolume {
			metaString(out, "local_base_path", li.BasePath())
			out.Meta("drive_type", li.DriveTypeName())
			out.Meta("drive_serial", fmt.Sprintf("0x%08x", li.DriveSerial))
			metaString(out, "volume_label", li.VolumeLabel)
		}
		if li.HasNetwork {
			metaString(out, "net_name", li.NetName)
			metaString(out, "device_name", li.DeviceName)
		}
		metaString(out, "common_path_suffix", li.Suffix())
	}

	metaString(out, "name", l.Name)
	metaString(out, "relative_path", l.RelativePath)
	metaString(out, "working_dir", l.WorkingDir)
	metaString(out, "arguments", l.Arguments)
	if l.Arguments != "" {
		out.Meta("arguments_length", len([]rune(l.Arguments)))
	}
	metaString(out, "icon_location", l.IconLocation)

	e := &l.Extra
	if len(e.Blocks) > 0 {
		out.Meta("extra_blocks", e.Blocks)
	}
	metaString(out, "env_target", e.EnvTargetPath())
	metaString(out, "icon_env", e.IconEnvPath())
	metaString(out, "darwin_id", firstNonEmpty(e.DarwinID, e.DarwinIDANSI))
	metaString(out, "machine_id", e.MachineID)
	metaString(out, "droid_volume_id", e.DroidVolume)
	metaString(out, "droid_file_id", e.DroidFile)
	metaString(out, "mac_address", MACAddress(e.DroidFile))
	metaString(out, "known_folder_id", e.KnownFolderID)
	if e.HasSpecialFolder {
		out.Meta("special_folder_id", int64(e.SpecialFolderID))
	}
	if e.HasCodePage {
		out.Meta("code_page", int64(e.CodePage))
	}
	metaString(out, "shim_layer", e.ShimLayer)
	metaString(out, "owner_sid", e.OwnerSID())
	if len(e.Properties) > 0 {
		props := make([]string, len(e.Properties))
		for i, p := range e.Properties {
			props[i] = fmt.Sprintf("{%s}/%s=%s", p.FormatID, p.ID, p.Value)
		}
		out.Meta("properties", props)
	}
	if len(l.Trailing) > 0 {
		out.Meta("appended_bytes", len(l.Trailing))
	}

	target := l.Target()
	metaString(out, "target", target)
	cmd := l.CommandLine()
	metaString(out, "command_line", cmd)

	reportURLs(l, out)
	findings(l, name, out)

	if l.Arguments != "" {
		_ = out.Child(parsers.Child{Name: "command_line", Type: "text", Text: true, Data: []byte(cmd)})
	}
	if len(l.Trailing) > 0 && !allZero(l.Trailing) {
		// Bytes after the terminal block are no part of a shortcut; a
		// launcher often carves its payload out of its own .lnk.
		_ = out.Child(parsers.Child{Name: "appended_data", Data: l.Trailing})
	}
}

func findings(l *Link, name string, out parsers.Sink) {
	// LOLBin targets, from every place the link names one.
	var hits []string
	lolbin := ""
	for _, c := range l.Targets() {
		if b := LOLBin(c.Path); b != "" {
			if lolbin == "" {
				lolbin = b
			}
			hits = append(hits, fmt.Sprintf("%s %q", c.Source, c.Path))
		}
	}
	if lolbin != "" {
		out.Finding(parsers.Finding{
			Code:     "lnk.lolbin",
			Severity: parsers.High,
			Detail:   fmt.Sprintf("shortcut launches %s (%s)", lolbin, strings.Join(hits, "; ")),
			Campaign: campaign,
			Attack:   []string{"T1204.002", "T1059"},
		})
		if l.Header.ShowCommand == ShowMinimizedNoActive {
			out.Finding(parsers.Finding{
				Code:     "lnk.hidden_window",
				Severity: parsers.Low,
				Detail:   fmt.Sprintf("%s starts minimised without focus (ShowCommand 7)", lolbin),
				Campaign: campaign,
				Attack:   []string{"T1564.003"},
			})
		}
	}
	if reasons := SuspiciousArguments(l.Arguments); len(reasons) > 0 {
		out.Finding(parsers.Finding{
			Code:     "lnk.suspicious_arguments",
			Severity: parsers.Medium,
			Detail:   "arguments show " + strings.Join(reasons, ", "),
			Campaign: campaign,
			Attack:   []string{"T1059", "T1027"},
		})
	}
	if len(l.OverlongStrings) > 0 {
		out.Finding(parsers.Finding{
			Code:     "lnk.string_overrun",
			Severity: parsers.Medium,
			Detail: "StringData longer than Windows reads (260 characters), which makes other parsers " +
				"misread the following strings: " + strings.Join(l.OverlongStrings, ", "),
			Campaign: campaign,
			Attack:   []string{"T1027"},
		})
	}
	iconLoc := firstNonEmpty(l.IconLocation, l.Extra.IconEnvPath())
	if why, ok := DocumentIcon(iconLoc, l.Header.IconIndex); ok {
		if t := l.Target(); t != "" && !docExts[extOf(baseName(t))] {
			detail := fmt.Sprintf("%s on a shortcut to %q", why, t)
			if ext := docLookalike(name); ext != "" {
				detail += fmt.Sprintf(" named like a %s document (%q)", ext, name)
			}
			out.Finding(parsers.Finding{
				Code:     "lnk.icon_mismatch",
				Severity: parsers.Low,
				Detail:   detail,
				Campaign: campaign,
				Attack:   []string{"T1036"},
			})
		}
	}
	if len(l.Trailing) > 0 && !allZero(l.Trailing) {
		out.Finding(parsers.Finding{
			Code:     "lnk.appended_data",
			Severity: parsers.Low,
			Detail:   fmt.Sprintf("%d bytes after the terminal block", len(l.Trailing)),
			Campaign: campaign,
			Attack:   []string{"T1027"},
		})
	}
	if len(l.Problems) > 0 {
		ps := l.Problems
		more := ""
		if len(ps) > maxDetailProblems {
			more = fmt.Sprintf(" (+%d more)", len(ps)-maxDetailProblems)
			ps = ps[:maxDetailProblems]
		}
		out.Finding(parsers.Finding{
			Code:     "lnk.malformed",
			Severity: parsers.Low,
			Detail:   strings.Join(ps, "; ") + more,
			Campaign: campaign,
		})
	}
}

// reportURLs reports the URLs written in the link's strings and paths.
func reportURLs(l *Link, out parsers.Sink) {
	fields := []string{l.Arguments, l.WorkingDir, l.RelativePath, l.Name, l.IconLocation,
		l.Extra.EnvTargetPath(), l.Extra.IconEnvPath(), l.IDListPath}
	for _, it := range l.IDList {
		if it.Kind == "uri" {
			fields = append(fields, it.Name)
		}
	}
	for _, p := range l.Extra.Properties {
		fields = append(fields, p.Value)
	}
	if li := l.LinkInfo; li != nil {
		fields = append(fields, li.BasePath(), li.Suffix(), li.NetName)
	}
	seen := map[string]bool{}
	for _, f := range fields {
		for _, u := range iocs.URLs(f) {
			if !seen[u] {
				seen[u] = true
				out.URL(u)
			}
		}
	}
}

func metaString(out parsers.Sink, key, v string) {
	if v != "" {
		out.Meta(key, v)
	}
}

func metaTime(out parsers.Sink, key string, t time.Time) {
	if !t.IsZero() {
		out.Meta(key, t.Format(time.RFC3339))
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
