package lnk

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/parsertest"
)

// FuzzParse is seeded from the shared corpus's links (when present) and
// generated ones, and checks that the parser never panics, stays within
// its error classes and limits, and reports consistently.
func FuzzParse(f *testing.F) {
	if corpus, err := findCorpus(); err == nil {
		if files, err := listLinks(corpus); err == nil {
			for _, rel := range files {
				if b, err := os.ReadFile(filepath.Join(corpus, rel)); err == nil {
					f.Add(b)
				}
			}
		}
	}
	inv := invoiceLink()
	f.Add(inv.bytes())
	ansiLink := testLink{ansi: true, linkInfo: &testLinkInfo{netName: `\\h.invalid\s`, device: "Z:", unicodeHeader: true, suffix: "x.exe"}, workDir: "w", icon: "i", iconEnv: "%x%"}
	f.Add(ansiLink.bytes())
	f.Add(testLink{relPath: "cmd.exe", workDir: "w", counts: map[int]uint16{2: 0xFFFF}, args: "/c x", trailing: []byte("MZ")}.bytes())
	f.Add(testLink{linkInfo: &testLinkInfo{localBase: `C:\a`, sizeOverride: 0xFFFFFFFF}}.bytes())
	f.Add([]byte{})

	limits := parsers.Limits{MaxEntries: 500}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := parsertest.RunLimits(t, New(), "f.lnk", filetype.LNK, data, limits)
		if err != nil && !errors.Is(err, parsers.ErrMalformed) && !errors.Is(err, parsers.ErrTooMany) {
			t.Fatalf("unexpected error class: %v", err)
		}
		if errors.Is(err, parsers.ErrMalformed) != rec.HasFinding("lnk.malformed") {
			t.Fatalf("err %v but malformed finding %v", err, rec.HasFinding("lnk.malformed"))
		}
		for _, fd := range rec.Findings {
			if !strings.HasPrefix(fd.Code, Name+".") || fd.Severity < parsers.Info || fd.Severity > parsers.Critical || fd.Detail == "" {
				t.Fatalf("bad finding %+v", fd)
			}
		}
		args, _ := rec.MetaData["arguments"].(string)
		cmd, _ := rec.MetaData["command_line"].(string)
		n := 0
		for _, c := range rec.Children {
			if c.Name == "command_line" {
				n++
				if string(c.Data) != cmd || c.Type != "text" || !c.Text {
					t.Fatalf("command_line child %+v, meta %q", c, cmd)
				}
			}
		}
		if (n == 1) != (args != "") || n > 1 {
			t.Fatalf("%d command_line children for arguments %q", n, args)
		}
		if args != "" && !strings.HasSuffix(cmd, args) {
			t.Fatalf("command line %q does not end with the arguments %q", cmd, args)
		}
		if items, _ := rec.MetaData["target_idlist_items"].(int); items > limits.MaxEntries {
			t.Fatalf("%d ID list items kept, limit %d", items, limits.MaxEntries)
		}

		l, perr := Parse(data)
		if (l == nil) != (len(rec.MetaData) == 0) {
			t.Fatalf("Parse returned %v (%v) but the parser reported meta %v", l != nil, perr, rec.MetaData)
		}
		if l != nil && l.Arguments != args {
			t.Fatalf("Parse arguments %q, parser %q", l.Arguments, args)
		}
	})
}
