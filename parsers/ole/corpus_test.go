package ole

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"triage/parsers"
	"triage/parsers/parsertest"
	"triage/parsers/vba"
)

// corpusRoot returns ../shared/corpus, or skips the test when it (or its
// olevba expectations) is absent.
func corpusRoot(t testing.TB) string {
	t.Helper()
	root := parsertest.SharedCorpus(t)
	if _, err := os.Stat(filepath.Join(root, "expected", "olevba", "_summary.json")); err != nil {
		t.Skipf("olevba expectations not found under %s", root)
	}
	return root
}

// olevbaResult is one result object of `olevba -j`.
type olevbaResult struct {
	File      string  `json:"file"`
	Container *string `json:"container"`
	Type      string  `json:"type"`
	Macros    []struct {
		VBAFilename string  `json:"vba_filename"`
		Subfilename *string `json:"subfilename"`
		OLEStream   string  `json:"ole_stream"`
		Code        string  `json:"code"`
	} `json:"macros"`
	Analysis []struct {
		Type    string `json:"type"`
		Keyword string `json:"keyword"`
	} `json:"analysis"`
}

type summaryEntry = parsertest.OlevbaFile

func readOlevba(t testing.TB, root, file string) []olevbaResult {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "expected", "olevba", file+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var out []olevbaResult
	for _, r := range raw {
		var res olevbaResult
		if err := json.Unmarshal(r, &res); err != nil {
			continue
		}
		if res.File == "" {
			continue
		}
		out = append(out, res)
	}
	return out
}

func readSummary(t testing.TB, _ string) []summaryEntry { return parsertest.OlevbaSummary(t) }

// normCode normalises line ends and trailing whitespace for comparison.
func normCode(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// vbaProjectFromZip returns the vbaProject.bin of an OOXML package.
func vbaProjectFromZip(t testing.TB, data []byte) ([]byte, string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, ""
	}
	for _, f := range zr.File {
		switch strings.ToLower(f.Name) {
		case "word/vbaproject.bin", "xl/vbaproject.bin", "ppt/vbaproject.bin":
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(io.LimitReader(rc, 64<<20))
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			return b, f.Name
		}
	}
	return nil, ""
}

func testBudget() *parsers.Budget {
	return parsers.NewBudget(context.Background(), parsers.DefaultLimits())
}

// extracted is what the ole parser emits for one corpus file, following
// the pipeline: a zip's vbaProject.bin and a decrypted package are parsed
// in turn, as the pipeline would hand them to the parser.
type extracted struct {
	sources map[string]string // vba children: name → source
	order   []string          // vba child names in emission order
	names   []string          // every module name (meta vba_modules), incl. empty ones
	hasVBA  bool
	recs    []*parsertest.Recorder
}

func extractLikePipeline(t *testing.T, name string, data []byte, depth int) *extracted {
	t.Helper()
	ex := &extracted{sources: map[string]string{}}
	if depth > 3 {
		return ex
	}
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		bin, _ := vbaProjectFromZip(t, data)
		if bin == nil {
			return ex
		}
		return extractLikePipeline(t, "vbaProject.bin", bin, depth+1)
	}
	if !bytes.HasPrefix(data, Magic) {
		return ex
	}
	rec, _ := parsertest.Run(t, New(), name, "ole", data)
	ex.recs = append(ex.recs, rec)
	if v, ok := rec.MetaData["vba_modules"].([]string); ok {
		ex.names = append(ex.names, v...)
	}
	if v, ok := rec.MetaData["has_vba"].(bool); ok && v {
		ex.hasVBA = true
	}
	for _, c := range rec.Children {
		switch {
		case c.Type == "vba":
			ex.sources[c.Name] = string(c.Data)
			ex.order = append(ex.order, c.Name)
		case strings.HasPrefix(c.Name, "decrypted"):
			sub := extractLikePipeline(t, c.Name, c.Data, depth+1)
			for k, v := range sub.sources {
				ex.sources[k] = v
			}
			ex.order = append(ex.order, sub.order...)
			ex.names = append(ex.names, sub.names...)
			ex.hasVBA = ex.hasVBA || sub.hasVBA
			ex.recs = append(ex.recs, sub.recs...)
		}
	}
	return ex
}

// knownMismatches lists corpus files where triage and olevba disagree on
// the VBA modules, with the reason. It is empty: every file agrees.
var knownMismatches = map[string]string{}

// isPseudoModule tells olevba's non-VBA "macros" apart: the BIFF plugin's
// xlm_macro.txt (Excel 4 macros, another parser's job) and the whole-file
// "Text" pseudo-module olevba reports for XML and plain text.
func isPseudoModule(resType, filename string, sub *string) bool {
	return resType == "Text" || resType == "SLK" || filename == "xlm_macro.txt" || (sub != nil && *sub == "xlm_macro")
}

// TestCorpus_olevbaAgreement is the proof against olevba: for every corpus
// file whose olevba JSON lists VBA modules, the module file names and
// sources the ole parser emits equal olevba's vba_filename and code (line
// ends and trailing blanks normalised), and the auto-exec keywords found by
// vba.Analyze equal olevba's. Files olevba finds no VBA in must yield none.
func TestCorpus_olevbaAgreement(t *testing.T) {
	root := corpusRoot(t)
	var files, filesOK, mods, modsOK, clean, cleanOK, autoFiles, autoOK int
	for _, s := range readSummary(t, root) {
		if s.Kind != "OLE" && s.Kind != "OOXML" {
			continue // RTF, SLK and XML: no VBA storage for this parser
		}
		data, err := os.ReadFile(filepath.Join(root, s.File))
		if err != nil {
			t.Fatal(err)
		}
		results := readOlevba(t, root, s.File)
		// The first result with VBA modules: for files olevba decrypts
		// with VelvetSweatshop, the container result may hold none and
		// the decrypted one the modules (or both the same).
		type want struct{ name, code string }
		var wants []want
		for _, r := range results {
			for _, m := range r.Macros {
				if !isPseudoModule(r.Type, m.VBAFilename, m.Subfilename) {
					wants = append(wants, want{m.VBAFilename, m.Code})
				}
			}
			if len(wants) > 0 {
				break
			}
		}
		ex := extractLikePipeline(t, filepath.Base(s.File), data, 0)
		for _, rec := range ex.recs {
			// Office-written files: the p-code matches the source.
			if rec.HasFinding("ole.vba_stomping") {
				t.Errorf("%s: VBA stomping reported on an Office-written file: %+v", s.File, findingsOf(rec, "ole.vba_stomping"))
			}
		}
		if len(wants) == 0 {
			if s.RC == 9 {
				continue // encrypted with a password neither tool knows
			}
			clean++
			if ex.hasVBA || len(ex.sources) > 0 {
				t.Errorf("%s: olevba finds no VBA, we emit %v (has_vba=%v)", s.File, ex.order, ex.hasVBA)
				continue
			}
			cleanOK++
			continue
		}
		files++
		fileOK := true
		var problems []string
		seen := map[string]bool{}
		for _, w := range wants {
			mods++
			seen[w.name] = true
			got, emitted := ex.sources[w.name]
			switch {
			case normCode(w.code) == "" && !emitted && slices.Contains(ex.names, w.name):
				modsOK++
			case !emitted:
				fileOK = false
				problems = append(problems, fmt.Sprintf("module %s not emitted (modules: %v)", w.name, ex.names))
			case normCode(got) != normCode(w.code):
				fileOK = false
				problems = append(problems, fmt.Sprintf("module %s: source differs:\n got %q\nwant %q", w.name, normCode(got), normCode(w.code)))
			default:
				modsOK++
			}
		}
		for _, name := range ex.order {
			if !seen[name] {
				fileOK = false
				problems = append(problems, fmt.Sprintf("extra module %s", name))
			}
		}
		reason, known := knownMismatches[s.File]
		switch {
		case fileOK && known:
			t.Errorf("%s: listed as a known mismatch (%s) but now agrees: remove it", s.File, reason)
		case fileOK:
			filesOK++
		case known:
			t.Logf("%s: known mismatch: %s", s.File, reason)
		default:
			t.Errorf("%s: disagrees with olevba:\n%s", s.File, strings.Join(problems, "\n"))
		}

		// Auto-exec keywords: olevba scans all modules' code at once.
		var all strings.Builder
		for _, name := range ex.order {
			all.WriteString(ex.sources[name] + "\n")
		}
		got := vba.Analyze(all.String()).AutoExec
		autoFiles++
		if slices.Equal(sortedCopy(got), sortedCopy(s.Autoexec)) {
			autoOK++
		} else {
			t.Errorf("%s: auto-exec keywords %v, olevba %v", s.File, got, s.Autoexec)
		}
	}
	t.Logf("olevba agreement: %d/%d files with VBA, %d/%d modules; auto-exec keywords %d/%d files; %d/%d files without VBA yield none",
		filesOK, files, modsOK, mods, autoOK, autoFiles, cleanOK, clean)
	if files == 0 || mods == 0 {
		t.Fatal("no corpus file with VBA was checked")
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// TestCorpus_msoffcrypto checks encryption detection, password checks and
// OOXML decryption against msoffcrypto-tool's own test expectations: every
// input's encrypted flag, every password opening its file, and decrypted
// OOXML packages byte-identical to msoffcrypto-tool's outputs.
func TestCorpus_msoffcrypto(t *testing.T) {
	root := corpusRoot(t)
	dir := filepath.Join(root, "expected", "msoffcrypto-tool", "tests", "inputs")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("msoffcrypto-tool expectations not found: %v", err)
	}
	type expectation struct {
		File         string `json:"file"`
		Expectations []struct {
			Assert struct {
				Encrypted       bool   `json:"encrypted"`
				Password        string `json:"password"`
				DecryptedEquals string `json:"decrypted_equals"`
			} `json:"assert"`
		} `json:"expectations"`
	}
	var checked, decrypted int
	for _, de := range entries {
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var e expectation
		if err := json.Unmarshal(b, &e); err != nil || len(e.Expectations) == 0 {
			t.Fatalf("%s: %v", de.Name(), err)
		}
		want := e.Expectations[0].Assert
		data, err := os.ReadFile(filepath.Join(root, e.File))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(strings.ReplaceAll(filepath.Base(e.File), ".", "_"), func(t *testing.T) {
			checked++
			rec, _ := parsertest.Run(t, New(), filepath.Base(e.File), "ole", data, want.Password)
			if got := rec.MetaData["encrypted"]; got != want.Encrypted {
				t.Fatalf("encrypted = %v, want %v", got, want.Encrypted)
			}
			if !want.Encrypted {
				if rec.HasFinding("ole.encrypted") {
					t.Error("ole.encrypted on a plain file")
				}
				return
			}
			if !rec.HasFinding("ole.encrypted") {
				t.Error("no ole.encrypted finding")
			}
			if rec.MetaData["password_known"] != true {
				t.Errorf("password %q not recognised (scheme %v)", want.Password, rec.MetaData["encryption"])
			}
			// Without the password the file stays closed.
			closed, _ := parsertest.Run(t, New(), filepath.Base(e.File), "ole", data)
			if closed.MetaData["password_known"] == true {
				t.Error("opened without the password")
			}
			if !strings.HasSuffix(want.DecryptedEquals, "x") {
				return // binary formats: we verify the password, we do not decrypt
			}
			plain, err := os.ReadFile(filepath.Join(root, want.DecryptedEquals))
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			for _, c := range rec.Children {
				if strings.HasPrefix(c.Name, "decrypted") {
					got = c.Data
				}
			}
			if !bytes.Equal(got, plain) {
				t.Errorf("decrypted package (%d bytes) differs from msoffcrypto-tool's %s (%d bytes)", len(got), want.DecryptedEquals, len(plain))
			} else {
				decrypted++
			}
		})
	}
	t.Logf("msoffcrypto-tool agreement: %d inputs checked, %d packages decrypted byte-identically", checked, decrypted)
}

// vbaDocuments returns the compound files holding VBA in the corpus, as
// the ole parser sees them: documents themselves, the vbaProject.bin of
// OOXML packages, and of packages decrypted with VelvetSweatshop.
func vbaDocuments(tb testing.TB) map[string][]byte {
	tb.Helper()
	root := corpusRoot(tb)
	out := map[string][]byte{}
	var visit func(name string, data []byte, depth int)
	visit = func(name string, data []byte, depth int) {
		switch {
		case depth > 3:
		case bytes.HasPrefix(data, []byte("PK\x03\x04")):
			if bin, _ := vbaProjectFromZip(tb, data); bin != nil {
				visit(name+"!vbaProject.bin", bin, depth+1)
			}
		case bytes.HasPrefix(data, Magic):
			rec, _ := parsertest.Run(tb, New(), name, "ole", data)
			if rec.MetaData["has_vba"] == true {
				out[name] = data
			}
			for _, c := range rec.Children {
				if strings.HasPrefix(c.Name, "decrypted") {
					visit(name+"!"+c.Name, c.Data, depth+1)
				}
			}
		}
	}
	for _, s := range readSummary(tb, root) {
		if len(s.Macros) == 0 || (s.Kind != "OLE" && s.Kind != "OOXML") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, s.File))
		if err != nil {
			tb.Fatal(err)
		}
		visit(s.File, data, 0)
	}
	return out
}

// BenchmarkExtractVBA extracts the VBA modules of every corpus document
// with VBA (decryption excluded: packages are decrypted once up front).
func BenchmarkExtractVBA(b *testing.B) {
	docs := vbaDocuments(b)
	if len(docs) == 0 {
		b.Fatal("no VBA documents in the corpus")
	}
	ctx := context.Background()
	n, modules := 0, 0
	for b.Loop() {
		for _, data := range docs {
			mods, err := ExtractFromCFB(ctx, data, parsers.NewBudget(ctx, parsers.DefaultLimits()))
			if err != nil {
				b.Fatal(err)
			}
			modules += len(mods)
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "docs/s")
	b.ReportMetric(float64(modules)/float64(n), "modules/doc")
}

// pipelineChildren parses a compound file and, as the pipeline would, the
// compound files it emits (embedded storages), returning every carried
// file (children without a Type) and the recorders.
func pipelineChildren(t *testing.T, name string, data []byte, depth int) ([]parsers.Child, []*parsertest.Recorder) {
	t.Helper()
	rec, _ := parsertest.Run(t, New(), name, "ole", data)
	recs := []*parsertest.Recorder{rec}
	var files []parsers.Child
	for _, c := range rec.Children {
		if c.Type != "" {
			continue
		}
		if bytes.HasPrefix(c.Data, Magic) && depth < 3 {
			sub, subRecs := pipelineChildren(t, c.Name, c.Data, depth+1)
			files = append(files, sub...)
			recs = append(recs, subRecs...)
			continue
		}
		files = append(files, c)
	}
	return files, recs
}

// TestCorpus_oletoolsExpectations checks what oletools' own tests assert
// about compound files: embedded files extracted by oleobj (by MD5),
// packages oleobj must not dump (links), and encryption flags, including
// files that open with Excel's default password. OOXML, RTF and ODF files
// are other parsers' work and are skipped.
func TestCorpus_oletoolsExpectations(t *testing.T) {
	root := corpusRoot(t)
	base := filepath.Join(root, "expected", "oletools")
	var embedded, embeddedOK, nodump, nodumpOK, enc, encOK, velvet, velvetOK int
	err := filepath.WalkDir(base, func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var exp struct {
			File         string `json:"file"`
			Expectations []struct {
				Assert map[string]any `json:"assert"`
			} `json:"expectations"`
		}
		if err := json.Unmarshal(b, &exp); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		data, err := os.ReadFile(filepath.Join(root, exp.File))
		if err != nil || !bytes.HasPrefix(data, Magic) {
			return nil // not a compound file (or the _extracted payload itself)
		}
		files, recs := pipelineChildren(t, filepath.Base(exp.File), data, 0)
		for _, e := range exp.Expectations {
			a := e.Assert
			if want, ok := a["embedded_file_md5"].(string); ok {
				embedded++
				var got []string
				for _, f := range files {
					got = append(got, fmt.Sprintf("%x", md5.Sum(f.Data)))
				}
				if slices.Contains(got, want) {
					embeddedOK++
				} else {
					t.Errorf("%s: no embedded file with MD5 %s (got %v)", exp.File, want, got)
				}
			}
			if n, ok := a["embedded_files_dumped"].(float64); ok && n == 0 {
				nodump++
				if len(files) == 0 {
					nodumpOK++
				} else {
					t.Errorf("%s: oleobj dumps nothing, we emit %d files", exp.File, len(files))
				}
			}
			if want, ok := a["encrypted"].(bool); ok {
				enc++
				if recs[0].MetaData["encrypted"] == want {
					encOK++
				} else {
					t.Errorf("%s: encrypted = %v, want %v", exp.File, recs[0].MetaData["encrypted"], want)
				}
			}
			if pw, ok := a["decryptable_with_default_password"].(string); ok && pw == DefaultExcelPassword {
				velvet++
				fs := findingsOf(recs[0], "ole.encrypted")
				if len(fs) == 1 && strings.Contains(fs[0].Detail, DefaultExcelPassword) && recs[0].MetaData["password_known"] == true {
					velvetOK++
				} else {
					t.Errorf("%s: default password not recognised: %+v", exp.File, fs)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("oletools agreement: embedded files %d/%d, no-dump %d/%d, encrypted flag %d/%d, VelvetSweatshop %d/%d",
		embeddedOK, embedded, nodumpOK, nodump, encOK, enc, velvetOK, velvet)
	if embedded == 0 || enc == 0 {
		t.Fatal("no expectation checked")
	}
}

// TestCorpus_wellFormed parses every compound file of the corpus: none is
// damaged or tampered with, so none may be reported malformed, stomped or
// cross-module suspicious, and the only errors allowed are "encrypted with
// an unknown password".
func TestCorpus_wellFormed(t *testing.T) {
	root := corpusRoot(t)
	n := 0
	err := filepath.WalkDir(root, func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() || strings.Contains(p, string(filepath.Separator)+"expected"+string(filepath.Separator)) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.HasPrefix(b, Magic) {
			return err
		}
		n++
		rec, perr := parsertest.Run(t, New(), filepath.Base(p), "ole", b)
		rel, _ := filepath.Rel(root, p)
		if perr != nil && !errors.Is(perr, parsers.ErrUnsupported) {
			t.Errorf("%s: %v", rel, perr)
		}
		for _, code := range []string{"ole.malformed", "ole.vba_stomping", "ole.vba_mraptor", "ole.vba_locked"} {
			if rec.HasFinding(code) {
				t.Errorf("%s: %s: %+v", rel, code, findingsOf(rec, code))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d compound files parsed without false malformed/stomping findings", n)
}
