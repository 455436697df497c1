package html

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/parsertest"
)

// TestParser_Parse_testdata runs the parser on the inert samples in
// testdata/, typed by content detection as the pipeline would.
func TestParser_Parse_testdata(t *testing.T) {
	tests := []struct {
		file     string
		want     []string
		children []string
	}{
		{"phish.html", []string{"html.form_credentials:medium", "html.link_mismatch:medium"}, nil},
		{"newsletter.html", nil, nil},
		{"smuggling.html", []string{"html.smuggled_payload:high", "html.smuggling:high"}, []string{"invoice.zip:zip"}},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.file, ".", "_"), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			typ := filetype.Detect(data, tt.file)
			if typ != filetype.HTML {
				t.Fatalf("Detect = %q", typ)
			}
			rec, err := parsertest.Run(t, New(), tt.file, typ, data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rec.Codes()); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			var kids []string
			for _, c := range rec.Children {
				kids = append(kids, c.Name+":"+filetype.Detect(c.Data, c.Name))
			}
			if diff := cmp.Diff(tt.children, kids); diff != "" {
				t.Errorf("children (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDownloadName(t *testing.T) {
	for script, want := range map[string]string{
		`a.download = "Invoice.zip";`:                                   "Invoice.zip",
		`l.setAttribute('download', 'Scan 01.iso')`:                     "Scan 01.iso",
		`navigator.msSaveOrOpenBlob(b, "Rechnung.7z")`:                  "Rechnung.7z",
		`new File([bytes], "report.exe", {type: "x"})`:                  "report.exe",
		`var n = "a" + "b"; var f = "Order_4471.docm"; a.download = f;`: "Order_4471.docm",
		`var u = "https://x.example/a.zip"; var t = "hello";`:           "",
		`no names here`: "",
	} {
		if got := downloadName(script, parsers.ASCIILower(script)); got != want {
			t.Errorf("downloadName(%q) = %q, want %q", script, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	if entries, err := os.ReadDir("testdata"); err == nil {
		for _, e := range entries {
			if data, err := os.ReadFile(filepath.Join("testdata", e.Name())); err == nil && !e.IsDir() {
				f.Add(data)
			}
		}
	}
	z := regressZip(f)
	for _, s := range []string{
		smugglingPage(z), phishPage, newsletter(),
		`<a href="data:application/zip;base64,UEsDBA==" download="a.zip">x</a>`,
		`<meta http-equiv=refresh content="0;url=http://x.invalid/">`,
		`<iframe width=0 src=http://x.invalid/>`, `<script>'`, `<a href=http://x.invalid>www.y.invalid`,
		`<form action=http://x.invalid><input type=password>`, "<script>\"UEsD\"+\"BBQ\"</script>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l := parsers.Limits{MaxArtifactBytes: 1 << 20, MaxTotalBytes: 4 << 20}
		rec, _ := parsertest.RunLimits(t, New(), "f.html", filetype.HTML, data, l)
		for _, f := range rec.Findings {
			if !strings.HasPrefix(f.Code, "html.") || f.Severity < parsers.Info || f.Severity > parsers.Critical {
				t.Fatalf("bad finding %+v", f)
			}
		}
		if len(rec.Children) > maxPayloads {
			t.Fatalf("%d children", len(rec.Children))
		}
		for _, c := range rec.Children {
			if c.Type != "" || c.Name == "" || len(c.Data) == 0 || len(c.Data) > 1<<20 {
				t.Fatalf("bad child %q type %q, %d bytes", c.Name, c.Type, len(c.Data))
			}
		}
		for _, u := range rec.URLs {
			if !isAbsolute(u) {
				t.Fatalf("relative URL reported: %q", u)
			}
		}
	})
}
