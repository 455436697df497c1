package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// corpusDir locates ../shared/corpus next to the repository, or skips.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "shared", "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Skipf("shared corpus not found at %s: these tests compare with other projects' fixtures and need it", dir)
	}
	return dir
}

type expectation struct {
	File         string `json:"file"`
	Expectations []struct {
		OriginTest string         `json:"origin_test"`
		Assert     map[string]any `json:"assert"`
	} `json:"expectations"`
}

// TestCorpus_mailFixtures checks every mikel/mail and enmime fixture: no
// crash, a non-empty report with a verdict, and where the origin project's
// tests assert a decoded subject, attachment names or body text, the same
// values appear in triage's report.
func TestCorpus_mailFixtures(t *testing.T) {
	root := corpusDir(t)
	eng, err := New(Config{KeepData: true})
	if err != nil {
		t.Fatal(err)
	}
	expected := map[string]expectation{}
	for _, src := range []string{"mikel-mail", "enmime"} {
		filepath.WalkDir(filepath.Join(root, "expected", src), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			var e expectation
			if err := json.Unmarshal(b, &e); err != nil {
				t.Errorf("%s: %v", p, err)
				return nil
			}
			expected[e.File] = e
			return nil
		})
	}
	files, checks, agreed := 0, 0, 0
	for _, src := range []string{"mikel-mail", "enmime"} {
		filepath.WalkDir(filepath.Join(root, src), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files++
			rep, err := eng.Triage(context.Background(), filepath.Base(p), data)
			if err != nil {
				t.Errorf("%s: %v", rel, err)
				return nil
			}
			if rep.Verdict == "" || len(rep.Artifacts) == 0 {
				t.Errorf("%s: empty report", rel)
				return nil
			}
			if rep.Artifacts[0].Type == "eml" && len(rep.Artifacts) < 2 && len(rep.Artifacts[0].Findings) == 0 && len(data) > 200 {
				t.Errorf("%s: message produced no parts and no findings", rel)
			}
			exp, ok := expected[rel]
			if !ok {
				return nil
			}
			for _, e := range exp.Expectations {
				for key, want := range e.Assert {
					ok, known := checkAssert(rep, key, want)
					if !known {
						continue
					}
					checks++
					if ok {
						agreed++
					} else {
						t.Errorf("%s: %s (%s) = %v: not found in triage's report (subject %q, names %q)", rel, key, e.OriginTest, want, rep.Message.Subject, names(rep))
					}
				}
			}
			return nil
		})
	}
	t.Logf("mail corpus: %d files triaged, %d origin-test assertions checked, %d agree", files, checks, agreed)
	if files < 50 || checks < 20 {
		t.Errorf("corpus smaller than expected: %d files, %d checks", files, checks)
	}
}

// checkAssert compares one origin assertion with the report. known is false
// for assertions about library-specific structure that triage does not model
// (part counts by each library's own definition, boundaries, header order).
func checkAssert(rep *Report, key string, want any) (ok, known bool) {
	switch key {
	case "subject":
		return rep.Message.Subject == want, true
	case "attachment0_filename":
		return hasName(rep, want.(string)), true
	case "attachment_filenames", "inline_filenames", "other_part_filenames":
		l, _ := want.([]any)
		for _, n := range l {
			if !hasName(rep, n.(string)) {
				return false, true
			}
		}
		return true, true
	case "text_contains", "text", "text_trimmed":
		// enmime joins several text parts with "\n--\n" and renders HTML-only
		// mail as text with *bold* marks: compare each piece's words.
		s, _ := want.(string)
		for _, piece := range strings.Split(s, "\n--\n") {
			piece = strings.ReplaceAll(strings.TrimSpace(piece), "*", "")
			if !bodyContains(rep, "text", piece) {
				return false, true
			}
		}
		return true, true
	case "html_contains":
		s, _ := want.(string)
		return bodyContains(rep, "html", s), true
	}
	return false, false
}

func hasName(rep *Report, n string) bool {
	for _, a := range rep.Artifacts {
		if a.Name == n {
			return true
		}
	}
	return false
}

func bodyContains(rep *Report, typ, s string) bool {
	for _, a := range rep.Artifacts {
		if a.Type != typ && !(typ == "text" && a.Type == "html") {
			continue
		}
		data := a.Data()
		if data == nil {
			continue
		}
		text := string(data)
		if a.Type == "html" && typ == "text" {
			text = visibleText(data)
		}
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}

// visibleText renders HTML as whitespace-normalised visible text.
func visibleText(b []byte) string {
	z := html.NewTokenizer(bytes.NewReader(b))
	var sb strings.Builder
	for {
		switch z.Next() {
		case html.ErrorToken:
			return strings.Join(strings.Fields(sb.String()), " ")
		case html.TextToken:
			sb.Write(z.Text())
		}
	}
}

func names(rep *Report) []string {
	var out []string
	for _, a := range rep.Artifacts[1:] {
		out = append(out, a.Name)
	}
	return out
}
