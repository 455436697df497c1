package iqy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/parsertest"
)

const catalogueSample = "WEB\r\n1\r\nhttp://127.0.0.1:9/regress/q.html\r\n"

func utf16LE(s string, bom bool) []byte {
	var b []byte
	if bom {
		b = append(b, 0xff, 0xfe)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func TestDetect_iqyVariants(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"catalogue_sample", []byte(catalogueSample), filetype.IQY},
		{"lf_only", []byte("WEB\n1\nhttps://a.example.invalid/q\n"), filetype.IQY},
		{"leading_blank_lines", []byte("\r\n\r\n  WEB\r\n1\r\nhttp://a.example.invalid/q\r\n"), filetype.IQY},
		{"utf8_bom", []byte("\ufeffWEB\r\n1\r\nhttp://a.example.invalid/q\r\n"), filetype.IQY},
		{"utf16le_bom", utf16LE("WEB\r\n1\r\nhttp://a.example.invalid/q\r\n", true), filetype.IQY},
		{"utf16le_no_bom", utf16LE("WEB\r\n1\r\nhttp://a.example.invalid/q\r\n", false), filetype.IQY},
		{"lowercase_web", []byte("web\r\n1\r\nhttp://a.example.invalid/q\r\n"), filetype.IQY},
		{"excel_options", []byte("WEB\r\n1\r\nhttp://a.example.invalid/q\r\n\r\nSelection=EntirePage\r\nFormatting=None\r\n"), filetype.IQY},
		{"url_first_with_options", []byte("http://a.example.invalid/q\r\n\r\nSelection=AllTables\r\nFormatting=RTF\r\nDisableRedirections=False\r\n"), filetype.IQY},
		{"near_miss_mentions_web", []byte("WEB\r\nTeam notes for the new WEB site:\r\nhttp://a.example.invalid/launch\r\n"), filetype.Text},
		{"near_miss_web_in_prose", []byte("Our WEB 1 http://a.example.invalid/ query is ready.\n"), filetype.Text},
		{"near_miss_url_not_at_line_start", []byte("WEB\n1\nsee http://a.example.invalid/q\n"), filetype.Text},
		{"near_miss_url_only", []byte("http://a.example.invalid/q\n"), filetype.Text},
		{"near_miss_url_then_prose", []byte("http://a.example.invalid/q\nSelection=1\nplease read\nthe page\n"), filetype.Text},
		{"utf16le_no_bom_prose", utf16LE("Hello WEB world\r\n", false), filetype.Binary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := filetype.Detect(tt.data, "x"); got != tt.want {
				t.Errorf("Detect = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParser_Match(t *testing.T) {
	p := New()
	tests := []struct {
		typ, name string
		want      bool
	}{
		{filetype.IQY, "q.txt", true},
		{filetype.Text, "Photo.IQY", true},
		{filetype.Text, "notes.txt", false},
		{filetype.HTML, "x.iqy", false},
		{filetype.Zip, "x.zip", false},
	}
	for _, tt := range tests {
		if got := p.Match(&parsers.Artifact{Type: tt.typ, Name: tt.name}, nil); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.typ, tt.name, got, tt.want)
		}
	}
	if p.Match(nil, nil) {
		t.Error("Match(nil) = true")
	}
}

type finding struct {
	Code     string
	Severity parsers.Severity
}

func findings(fs []parsers.Finding) []finding {
	var out []finding
	for _, f := range fs {
		out = append(out, finding{f.Code, f.Severity})
	}
	return out
}

func score(fs []parsers.Finding) int {
	pts := map[parsers.Severity]int{parsers.Info: 0, parsers.Low: 10, parsers.Medium: 30, parsers.High: 60, parsers.Critical: 100}
	s := 0
	for _, f := range fs {
		s += pts[f.Severity]
	}
	return min(s, 100)
}

func TestParser_Parse(t *testing.T) {
	tests := []struct {
		name         string
		data         []byte
		wantURLs     []string
		wantMeta     map[string]any
		wantFindings []finding
		wantErr      error
		minScore     int
	}{
		{
			name:     "catalogue_sample",
			data:     []byte(catalogueSample),
			wantURLs: []string{"http://127.0.0.1:9/regress/q.html"},
			wantMeta: map[string]any{"urls": []string{"http://127.0.0.1:9/regress/q.html"}, "query_type": "WEB", "version": "1"},
			wantFindings: []finding{
				{"iqy.file", parsers.Medium},
				{"iqy.url", parsers.High},
			},
			minScore: 70,
		},
		{
			name:     "excel_generated_with_placeholder",
			data:     []byte("WEB\r\n1\r\nhttp://reports.example.invalid/q.asp?r=[\"Region\",\"Enter region\"]\r\n\r\nSelection=EntirePage\r\nFormatting=None\r\nPreFormattedTextToColumns=True\r\n"),
			wantURLs: []string{`http://reports.example.invalid/q.asp?r=["Region","Enter region"]`},
			wantMeta: map[string]any{
				"urls":       []string{`http://reports.example.invalid/q.asp?r=["Region","Enter region"]`},
				"query_type": "WEB", "version": "1",
				"options": map[string]string{"Selection": "EntirePage", "Formatting": "None", "PreFormattedTextToColumns": "True"},
			},
			wantFindings: []finding{{"iqy.file", parsers.Medium}},
		},
		{
			name:     "post_parameters",
			data:     []byte("\n\nWEB\n1\nhttp://quotes.example.invalid/lookup.asp\nsymbol=[\"Symbol\",\"Ticker\"]&fmt=html\nSelection=1\n"),
			wantURLs: []string{"http://quotes.example.invalid/lookup.asp"},
			wantMeta: map[string]any{
				"urls":       []string{"http://quotes.example.invalid/lookup.asp"},
				"query_type": "WEB", "version": "1",
				"post_data": `symbol=["Symbol","Ticker"]&fmt=html`,
				"options":   map[string]string{"Selection": "1"},
			},
			wantFindings: []finding{{"iqy.file", parsers.Medium}},
		},
		{
			name:     "utf16le_payload_path",
			data:     utf16LE("WEB\r\n1\r\nhttps://files.example.invalid/a/stage2.PS1?x=1\r\n", true),
			wantURLs: []string{"https://files.example.invalid/a/stage2.PS1?x=1"},
			wantMeta: map[string]any{"urls": []string{"https://files.example.invalid/a/stage2.PS1?x=1"}, "query_type": "WEB", "version": "1"},
			wantFindings: []finding{
				{"iqy.file", parsers.Medium},
				{"iqy.url", parsers.High},
			},
			minScore: 70,
		},
		{
			name:     "dynamic_dns_host",
			data:     []byte("WEB\n1\nhttp://invoice.duckdns.org/q.html\n"),
			wantURLs: []string{"http://invoice.duckdns.org/q.html"},
			wantMeta: map[string]any{"urls": []string{"http://invoice.duckdns.org/q.html"}, "query_type": "WEB", "version": "1"},
			wantFindings: []finding{
				{"iqy.file", parsers.Medium},
				{"iqy.url", parsers.High},
			},
		},
		{
			name:     "lines_one_two_omitted",
			data:     []byte("http://a.example.invalid/q\n"),
			wantURLs: []string{"http://a.example.invalid/q"},
			wantMeta: map[string]any{"urls": []string{"http://a.example.invalid/q"}},
			wantFindings: []finding{
				{"iqy.file", parsers.Medium},
			},
		},
		{
			name:     "no_url",
			data:     []byte("WEB\n1\n\nnot a url\n"),
			wantURLs: nil,
			wantMeta: map[string]any{"urls": []string(nil), "query_type": "WEB", "version": "1"},
			wantFindings: []finding{
				{"iqy.file", parsers.Medium},
				{"iqy.malformed", parsers.Low},
			},
			wantErr: parsers.ErrMalformed,
		},
		{
			name:     "odd_query_type_and_stray_lines",
			data:     []byte("TEXT\nhttp://a.example.invalid/q\n\nhello\nworld\n"),
			wantURLs: []string{"http://a.example.invalid/q"},
			wantMeta: map[string]any{"urls": []string{"http://a.example.invalid/q"}, "query_type": "TEXT"},
			wantFindings: []finding{
				{"iqy.file", parsers.Medium},
				{"iqy.malformed", parsers.Low},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parsertest.Run(t, New(), "q.iqy", filetype.IQY, tt.data)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Parse error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantURLs, rec.URLs); diff != "" {
				t.Errorf("URLs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantMeta, rec.MetaData); diff != "" {
				t.Errorf("meta (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantFindings, findings(rec.Findings)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if got := score(rec.Findings); got < tt.minScore {
				t.Errorf("score = %d, want >= %d", got, tt.minScore)
			}
			for _, f := range rec.Findings {
				if f.Campaign != "iqy" {
					t.Errorf("finding %s campaign = %q, want iqy", f.Code, f.Campaign)
				}
			}
		})
	}
}

func TestParser_Parse_attack(t *testing.T) {
	rec, err := parsertest.Run(t, New(), "q.iqy", filetype.IQY, []byte(catalogueSample))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"iqy.file": {"T1566.001", "T1204.002"}, "iqy.url": {"T1105"}}
	for _, f := range rec.Findings {
		if diff := cmp.Diff(want[f.Code], f.Attack); diff != "" {
			t.Errorf("%s attack (-want +got):\n%s", f.Code, diff)
		}
		if f.Code == "iqy.url" && !strings.Contains(f.Detail, "bare IP") {
			t.Errorf("iqy.url detail %q does not say why", f.Detail)
		}
	}
}

func TestURLReasons(t *testing.T) {
	tests := []struct {
		url  string
		want []string // substrings, one per reason
	}{
		{"http://127.0.0.1:9/regress/q.html", []string{"bare IP"}},
		{"http://[::1]/q", []string{"bare IP"}},
		{"http://2130706433/q", []string{"numeric IP"}},
		{"http://198.51.100.7/x/load.exe", []string{"bare IP", ".exe"}},
		{"http://cdn.example.invalid/p/a.hta#frag", []string{".hta"}},
		{"http://cdn.example.invalid/p/a.dat?v=[\"x\"]", []string{".dat"}},
		{"http://x.ddns.net/q.html", []string{"ddns.net"}},
		{"http://free.example.tk/q", []string{"(tk)"}},
		{"http://reports.example.invalid/q.asp?file=a.exe", nil},
		{"http://reports.example.invalid/exe", nil},
		{"http://notduckdns.org/q", nil},
		{"https://www.example.invalid/", nil},
	}
	for _, tt := range tests {
		got := URLReasons(tt.url)
		if len(got) != len(tt.want) {
			t.Errorf("URLReasons(%q) = %q, want %d reasons %q", tt.url, got, len(tt.want), tt.want)
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("URLReasons(%q)[%d] = %q, want it to mention %q", tt.url, i, got[i], w)
			}
		}
	}
}

// TestTestdata checks every testdata file: IQY files are detected and parse
// with a URL; the near miss stays text.
func TestTestdata(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		typ := filetype.Detect(data, name)
		if !strings.HasSuffix(name, ".iqy") {
			if typ == filetype.IQY {
				t.Errorf("%s: detected as iqy", name)
			}
			continue
		}
		if typ != filetype.IQY {
			t.Errorf("%s: detected as %q, want iqy", name, typ)
		}
		rec, err := parsertest.Run(t, New(), name, typ, data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if len(rec.URLs) == 0 || !rec.HasFinding("iqy.file") {
			t.Errorf("%s: urls %q findings %v", name, rec.URLs, findings(rec.Findings))
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(catalogueSample))
	f.Add(utf16LE("WEB\r\n1\r\nhttp://a.example.invalid/q\r\nx=1\r\nSelection=2\r\n", false))
	f.Add([]byte{0xfe, 0xff, 0, 'W', 0, 'E', 0, 'B', 0xd8})
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := parsertest.Run(t, New(), "f.iqy", filetype.IQY, data)
		if err != nil && !errors.Is(err, parsers.ErrMalformed) {
			t.Fatalf("unexpected error class: %v", err)
		}
		if !rec.HasFinding("iqy.file") {
			t.Fatal("no iqy.file finding")
		}
		if (len(rec.URLs) == 0) != (err != nil) {
			t.Fatalf("urls %d but err %v", len(rec.URLs), err)
		}
		if len(rec.URLs) > maxURLs {
			t.Fatalf("%d URLs kept", len(rec.URLs))
		}
		for _, f := range rec.Findings {
			if !strings.HasPrefix(f.Code, Name+".") || f.Severity < parsers.Info || f.Severity > parsers.Critical {
				t.Fatalf("bad finding %+v", f)
			}
		}
		if urls, ok := rec.MetaData["urls"].([]string); !ok || !slices.Equal(urls, rec.URLs) {
			t.Fatalf("meta urls %v != URLs %v", rec.MetaData["urls"], rec.URLs)
		}
	})
}
