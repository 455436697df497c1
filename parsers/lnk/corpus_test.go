package lnk

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/parsertest"
)

// findCorpus locates ../shared/corpus and its LnkParse3 expectations.
func findCorpus() (string, error) {
	c, err := parsertest.FindSharedCorpus()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(c, "expected", "lnkparse")); err != nil {
		return "", err
	}
	return c, nil
}

func corpusDir(t testing.TB) string {
	t.Helper()
	c, err := findCorpus()
	if err != nil {
		t.Skipf("shared corpus not found at ../shared/corpus: %v", err)
	}
	return c
}

// corpusLinks returns every .lnk file of the shared corpus, relative to it.
func corpusLinks(t testing.TB, corpus string) []string {
	t.Helper()
	files, err := listLinks(corpus)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func listLinks(corpus string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(corpus, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "expected" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".lnk") {
			rel, _ := filepath.Rel(corpus, p)
			files = append(files, rel)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// lnkParseJSON is the part of LnkParse3's `-j -a` output the test compares.
type lnkParseJSON struct {
	Header struct {
		FileSize    int64  `json:"file_size"`
		IconIndex   int64  `json:"icon_index"`
		WindowStyle string `json:"windowstyle"`
		RLinkFlags  uint32 `json:"r_link_flags"`
	} `json:"header"`
	Data     map[string]*string `json:"data"`
	LinkInfo map[string]any     `json:"link_info"`
	// Extra maps block names to objects, except UNKNOWN_BLOCK (a list).
	Extra map[string]json.RawMessage `json:"extra"`
}

type lnkParseStore struct {
	PropertyStore []struct {
		FormatID string `json:"format_id"`
		Values   []struct {
			ID    json.Number `json:"id"`
			Name  string      `json:"name"`
			Type  string      `json:"value_type"`
			Value any         `json:"value"`
		} `json:"serialized_property_values"`
	} `json:"property_store"`
}

type lnkParseBlock struct {
	TargetUnicode     *string `json:"target_unicode"`
	MachineIdentifier *string `json:"machine_identifier"`
	DroidFile         *string `json:"droid_file_identifier"`
	KnownFolderID     *string `json:"known_folder_id"`
}

func (e *lnkParseJSON) block(name string) lnkParseBlock {
	var b lnkParseBlock
	_ = json.Unmarshal(e.Extra[name], &b) // absent or a list: all nil
	return b
}

// knownDisagreements lists every field where triage deliberately differs
// from LnkParse3 1.6.0, keyed "<corpus path>|<field>", with the reason.
// The test fails on any disagreement not listed here, and on any listed
// one that no longer occurs.
var knownDisagreements = map[string]string{}

// Field names compared. The first five are the brief's contract; the rest
// are checked too and reported separately.
var (
	primaryFields = []string{"arguments", "working_dir", "relative_path", "icon_location", "local_base_path"}
	extraFields   = []string{"name", "common_path_suffix", "env_target", "icon_env", "machine_id", "droid_file_id",
		"known_folder_id", "property_strings", "show_command", "file_size", "icon_index", "link_flags"}
)

type fieldValue struct {
	present bool
	value   string
}

func (v fieldValue) String() string {
	if !v.present {
		return "<absent>"
	}
	return strconvQuote(v.value)
}

func str(p *string) fieldValue {
	if p == nil {
		return fieldValue{}
	}
	return fieldValue{true, *p}
}

func anyStr(v any) fieldValue {
	if s, ok := v.(string); ok {
		return fieldValue{true, s}
	}
	return fieldValue{}
}

func expectedFields(e *lnkParseJSON) map[string]fieldValue {
	m := map[string]fieldValue{
		"arguments":     str(e.Data["command_line_arguments"]),
		"working_dir":   str(e.Data["working_directory"]),
		"relative_path": str(e.Data["relative_path"]),
		"icon_location": str(e.Data["icon_location"]),
		"name":          str(e.Data["description"]),
	}
	// LnkParse3 reports local_base_path for a 0x1C header and
	// local_base_path_unicode for a header of 0x24 or more.
	m["local_base_path"] = anyStr(e.LinkInfo["local_base_path"])
	if u := anyStr(e.LinkInfo["local_base_path_unicode"]); u.present {
		m["local_base_path"] = u
	}
	m["common_path_suffix"] = anyStr(e.LinkInfo["common_path_suffix"])
	m["env_target"] = str(e.block("ENVIRONMENTAL_VARIABLES_LOCATION_BLOCK").TargetUnicode)
	m["icon_env"] = str(e.block("ICON_LOCATION_BLOCK").TargetUnicode)
	tr := e.block("DISTRIBUTED_LINK_TRACKER_BLOCK")
	m["machine_id"] = str(tr.MachineIdentifier)
	m["droid_file_id"] = str(tr.DroidFile)
	m["known_folder_id"] = str(e.block("KNOWN_FOLDER_LOCATION_BLOCK").KnownFolderID)
	var ps lnkParseStore
	_ = json.Unmarshal(e.Extra["METADATA_PROPERTIES_BLOCK"], &ps)
	var props []string
	for _, st := range ps.PropertyStore {
		for _, v := range st.Values {
			if s, ok := v.Value.(string); ok && (v.Type == "VT_LPWSTR" || v.Type == "VT_LPSTR" || v.Type == "VT_BSTR") {
				id := v.ID.String()
				if id == "" {
					id = v.Name
				}
				props = append(props, st.FormatID+"/"+id+"="+s)
			}
		}
	}
	m["property_strings"] = fieldValue{len(props) > 0, strings.Join(props, "\n")}
	ws := map[string]string{"SW_SHOWNORMAL": "normal", "SW_SHOWMAXIMIZED": "maximized", "SW_SHOWMINNOACTIVE": "minimized_noactive"}
	m["show_command"] = fieldValue{true, ws[e.Header.WindowStyle]}
	m["file_size"] = fieldValue{true, jsonText(e.Header.FileSize)}
	m["icon_index"] = fieldValue{true, jsonText(e.Header.IconIndex)}
	m["link_flags"] = fieldValue{true, jsonText(e.Header.RLinkFlags)}
	return m
}

func strconvQuote(s string) string { return strconv.QuoteToASCII(s) }

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func gotFields(l *Link) map[string]fieldValue {
	f := func(flag LinkFlags, v string) fieldValue {
		if !l.Has(flag) {
			return fieldValue{}
		}
		return fieldValue{true, v}
	}
	nonEmpty := func(v string) fieldValue {
		if v == "" {
			return fieldValue{}
		}
		return fieldValue{true, v}
	}
	m := map[string]fieldValue{
		"arguments":     f(HasArguments, l.Arguments),
		"working_dir":   f(HasWorkingDir, l.WorkingDir),
		"relative_path": f(HasRelativePath, l.RelativePath),
		"icon_location": f(HasIconLocation, l.IconLocation),
		"name":          f(HasName, l.Name),
	}
	if li := l.LinkInfo; li != nil && !li.Ignored {
		if li.HasVolume {
			if li.HeaderSize >= 0x24 {
				m["local_base_path"] = fieldValue{true, li.LocalBasePathU}
			} else {
				m["local_base_path"] = fieldValue{true, li.LocalBasePath}
			}
		}
		if li.HasVolume || li.HasNetwork {
			m["common_path_suffix"] = fieldValue{true, li.CommonPathSuffix}
		}
	}
	has := func(name string) bool {
		for _, b := range l.Extra.Blocks {
			if b == name {
				return true
			}
		}
		return false
	}
	if has("environment") {
		m["env_target"] = fieldValue{true, l.Extra.EnvTarget}
	}
	if has("icon_environment") {
		m["icon_env"] = fieldValue{true, l.Extra.IconEnv}
	}
	if has("tracker") {
		m["machine_id"] = fieldValue{true, l.Extra.MachineID}
		m["droid_file_id"] = nonEmpty(l.Extra.DroidFile)
	}
	m["known_folder_id"] = nonEmpty(l.Extra.KnownFolderID)
	var props []string
	for _, p := range l.Extra.Properties {
		props = append(props, p.FormatID+"/"+p.ID+"="+p.Value)
	}
	m["property_strings"] = fieldValue{len(props) > 0, strings.Join(props, "\n")}
	m["show_command"] = fieldValue{true, l.Header.ShowCommandName()}
	m["file_size"] = fieldValue{true, jsonText(l.Header.FileSize)}
	m["icon_index"] = fieldValue{true, jsonText(l.Header.IconIndex)}
	m["link_flags"] = fieldValue{true, jsonText(uint32(l.Header.Flags))}
	return m
}

// TestCorpusAgainstLnkParse3 compares every LNK of the shared corpus with
// LnkParse3 1.6.0's output for it.
func TestCorpusAgainstLnkParse3(t *testing.T) {
	corpus := corpusDir(t)
	files := corpusLinks(t, corpus)
	if len(files) < 30 {
		t.Fatalf("only %d LNK files found under %s", len(files), corpus)
	}
	agree := map[string]int{}
	total := map[string]int{}
	present := map[string]int{} // agreements on a value both tools report
	seenKnown := map[string]bool{}
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(corpus, rel))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join(corpus, "expected", "lnkparse", rel+".json"))
		if err != nil {
			t.Errorf("%s: no LnkParse3 output: %v", rel, err)
			continue
		}
		var want lnkParseJSON
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Errorf("%s: expected JSON: %v", rel, err)
			continue
		}
		l, err := Parse(data)
		if l == nil {
			t.Errorf("%s: not parsed: %v", rel, err)
			continue
		}
		if err != nil && !errors.Is(err, parsers.ErrMalformed) {
			t.Errorf("%s: unexpected error class: %v", rel, err)
		}
		exp, got := expectedFields(&want), gotFields(l)
		for _, field := range slices.Concat(primaryFields, extraFields) {
			total[field]++
			key := rel + "|" + field
			if exp[field] == got[field] {
				agree[field]++
				if got[field].present {
					present[field]++
				}
				continue
			}
			if reason, ok := knownDisagreements[key]; ok {
				seenKnown[key] = true
				t.Logf("%s: known disagreement: want %s, got %s: %s", key, exp[field], got[field], reason)
				continue
			}
			t.Errorf("%s: LnkParse3 %s, triage %s", key, exp[field], got[field])
		}
	}
	for key := range knownDisagreements {
		if !seenKnown[key] {
			t.Errorf("%s: listed as a known disagreement but now agrees (or is gone): update the list", key)
		}
	}
	for _, group := range [][]string{primaryFields, extraFields} {
		for _, f := range group {
			t.Logf("agreement %-20s %d/%d (%d with a value)", f, agree[f], total[f], present[f])
		}
	}
	sum, n, withValue := 0, 0, 0
	for _, f := range primaryFields {
		sum += agree[f]
		n += total[f]
		withValue += present[f]
	}
	t.Logf("%d files; brief's five fields: %d/%d agree (%d with a value); %d known disagreements",
		len(files), sum, n, withValue, len(knownDisagreements))
	if withValue < 60 {
		t.Errorf("only %d compared values present: the comparison is too thin to mean anything", withValue)
	}
}

// TestCorpusParser runs the pipeline parser over the corpus: no error
// besides ErrMalformed, expected findings on the known-malicious samples,
// and a command_line child exactly when arguments are present.
func TestCorpusParser(t *testing.T) {
	corpus := corpusDir(t)
	wantFindings := map[string][]string{
		// cmd.exe /C …movemenoreg.vbs, minimised: a USB worm's shortcut.
		"LnkParse3/_decoded/tests/samples/decoding_error2.lnk": {"lnk.lolbin", "lnk.hidden_window"},
		// Same family, shell32.dll icon 9 (a drive): no document icon.
		"LnkParse3/_decoded/tests/samples/sample13.lnk": {"lnk.lolbin", "lnk.hidden_window"},
		// Working directory declared 1693 characters long hiding a cmd
		// one-liner with caret-split "start"; no terminal block.
		"LnkParse3/_decoded/tests/samples/padded_cli_arguments.lnk": {"lnk.lolbin", "lnk.hidden_window", "lnk.suspicious_arguments",
			"lnk.string_overrun", "lnk.icon_mismatch", "lnk.malformed"},
		// 67 KB appended after the terminal block.
		"LnkParse3/_decoded/tests/samples/unknown_target.lnk": {"lnk.appended_data"},
		// Windows' own PowerShell (x86) shortcut.
		"LnkParse3/_decoded/tests/samples/console_properties_block.lnk":                {"lnk.lolbin"},
		"LnkParse3/_decoded/tests/samples/microsoft_example.lnk":                       {},
		"oletools/_extracted/tests/test-data/oleobj/sample_with_lnk_file.doc_calc.lnk": {},
	}
	// ID list paths: LnkParse3's items, with the long names of the
	// 0xBEEF0004 extensions and known folders resolved.
	wantIDPath := map[string]string{
		"LnkParse3/_decoded/tests/samples/microsoft_example.lnk": `C:\test\a.txt`,
		"LnkParse3/_decoded/tests/samples/broken_link_info.lnk":  `C:\Program Files\xt\xt.exe`,
		"LnkParse3/_decoded/tests/samples/sample17.lnk":          `%USERPROFILE%\Downloads`,
		"LnkParse3/_decoded/tests/samples/sample16.lnk":          `%USERPROFILE%\AppData\Roaming\Microsoft\Windows\Recent`,
		"LnkParse3/_decoded/tests/samples/decoding_error3.lnk":   `%USERPROFILE%\Desktop\PixelMod\Mod for Pixelmon\Error Fix.bat`,
		"LnkParse3/_decoded/tests/samples/sample6.lnk":           `C:\Youdao\ShoppingAssistant\ie\4.4\播放器正在加载（拦截请允许）.exe`,
		"LnkParse3/_decoded/tests/samples/sample7.lnk":           `C:\ProgramData\VК_DJ\VК_DJ.exe`,
		"LnkParse3/_decoded/tests/samples/unknown_block.lnk":     `C:\Windows\system32\cmd.exe`,
		"LnkParse3/_decoded/tests/samples/sample3.lnk":           "", // control panel items only
	}
	for _, rel := range corpusLinks(t, corpus) {
		data, err := os.ReadFile(filepath.Join(corpus, rel))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := parsertest.Run(t, New(), filepath.Base(rel), filetype.LNK, data)
		if want, ok := wantIDPath[filepath.ToSlash(rel)]; ok {
			got, _ := rec.MetaData["target_idlist_path"].(string)
			if got != want {
				t.Errorf("%s: target_idlist_path %q, want %q", rel, got, want)
			}
		}
		if err != nil && !errors.Is(err, parsers.ErrMalformed) {
			t.Errorf("%s: %v", rel, err)
		}
		if _, ok := rec.MetaData["show_command"]; !ok {
			t.Errorf("%s: no show_command meta", rel)
		}
		args, _ := rec.MetaData["arguments"].(string)
		hasChild := false
		for _, c := range rec.Children {
			if c.Name == "command_line" {
				hasChild = true
				if string(c.Data) != rec.MetaData["command_line"] {
					t.Errorf("%s: child %q != meta %q", rel, c.Data, rec.MetaData["command_line"])
				}
			}
		}
		if hasChild != (args != "") {
			t.Errorf("%s: command_line child %v, arguments %q", rel, hasChild, args)
		}
		want, ok := wantFindings[filepath.ToSlash(rel)]
		if !ok {
			continue
		}
		got := map[string]bool{}
		for _, f := range rec.Findings {
			got[f.Code] = true
		}
		for _, c := range want {
			if !got[c] {
				t.Errorf("%s: no %s finding (got %+v)", rel, c, rec.Findings)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: findings %v, want %v", rel, rec.Findings, want)
		}
	}
}

// TestCorpusTruncated cuts every corpus link at every offset.
func TestCorpusTruncated(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	corpus := corpusDir(t)
	for _, rel := range corpusLinks(t, corpus) {
		data, err := os.ReadFile(filepath.Join(corpus, rel))
		if err != nil {
			t.Fatal(err)
		}
		l, _ := Parse(data)
		end := len(data)
		if l != nil {
			end -= len(l.Trailing) // cuts in appended data are undetectable
		}
		for i := range end {
			l, err := Parse(data[:i])
			if !errors.Is(err, parsers.ErrMalformed) {
				t.Fatalf("%s cut at %d/%d: err %v, want ErrMalformed", rel, i, len(data), err)
			}
			if l != nil {
				_ = l.CommandLine()
			}
		}
	}
}
