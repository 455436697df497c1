package benchcorpus

import (
	"bytes"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func samplesDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the bundled samples are not at %s: %v", dir, err)
	}
	return dir
}

func TestGenerate(t *testing.T) {
	samples := samplesDir(t)
	const size = 12 << 20
	a, err := Generate(Options{Dir: t.TempDir(), Size: size, Seed: 7, SamplesDir: samples})
	if err != nil {
		t.Fatal(err)
	}
	if a.Bytes < size || a.Bytes > size+MaxSize {
		t.Errorf("total %d bytes, want about %d", a.Bytes, size)
	}
	if a.Templates < 20 {
		t.Errorf("%d templates, want the bundled samples", a.Templates)
	}
	for _, k := range Kinds {
		if a.Count(k) == 0 {
			t.Errorf("no %s message in %d", k, len(a.Files))
		}
	}
	seen := map[string]string{}
	for _, f := range a.Files {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(b)) != f.Size || f.Size < MinSize || f.Size > MaxSize {
			t.Errorf("%s: %d bytes (manifest %d), want %d..%d", f.Path, len(b), f.Size, MinSize, MaxSize)
		}
		if prev, dup := seen[string(b)]; dup {
			t.Errorf("%s duplicates %s", f.Path, prev)
		}
		seen[string(b)] = f.Path
		checkMessage(t, f.Path, b)
	}

	// Same options, same bytes.
	b, err := Generate(Options{Dir: t.TempDir(), Size: size, Seed: 7, SamplesDir: samples})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Files) != len(b.Files) {
		t.Fatalf("rerun: %d files, want %d", len(b.Files), len(a.Files))
	}
	for i := range a.Files {
		x, _ := os.ReadFile(a.Files[i].Path)
		y, _ := os.ReadFile(b.Files[i].Path)
		if !bytes.Equal(x, y) || filepath.Base(a.Files[i].Path) != filepath.Base(b.Files[i].Path) {
			t.Fatalf("rerun differs at %s", filepath.Base(a.Files[i].Path))
		}
	}
	// Another seed, another corpus.
	c, err := Generate(Options{Dir: t.TempDir(), Size: 1 << 20, Seed: 8, SamplesDir: samples})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(a.Files[0].Path)
	y, _ := os.ReadFile(c.Files[0].Path)
	if bytes.Equal(x, y) {
		t.Error("seed 8 wrote the same first message as seed 7")
	}
}

// checkMessage parses the header and walks every multipart body with the
// standard library, decoding base64 parts.
func checkMessage(t *testing.T, name string, b []byte) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	if m.Header.Get("Message-Id") == "" {
		t.Errorf("%s: no Message-ID", name)
	}
	if strings.Contains(name, "-"+Business) || strings.Contains(name, "-"+Archive) {
		walk(t, name, m.Header.Get("Content-Type"), m.Body, 0)
	}
}

func walk(t *testing.T, name, ctype string, body io.Reader, depth int) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || !strings.HasPrefix(mt, "multipart/") || depth > 4 {
		_, err := io.Copy(io.Discard, body)
		if err != nil {
			t.Errorf("%s: body: %v", name, err)
		}
		return
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Errorf("%s: part: %v", name, err)
			return
		}
		walk(t, name, p.Header.Get("Content-Type"), p, depth+1)
	}
}

func TestTemplateKind(t *testing.T) {
	for slug, want := range map[string]string{
		"emotet-doc-jp": Japanese, "iqy-jp-photo": Japanese, "lnk-pdf-zip": LnkIqy, "locky-7z-vbs": Archive,
		"iso-lnk": LnkIqy, "emotet-xls": Office, "rtf-package": Office, "plain-reply": Business, "policy-elf": "", "zip-bomb": "",
	} {
		if got := templateKind(slug); got != want {
			t.Errorf("templateKind(%q) = %q, want %q", slug, got, want)
		}
	}
}

func TestPDF(t *testing.T) {
	g := &gen{rng: rand.New(rand.NewPCG(1, 2))}
	p := g.pdf(5000)
	if !bytes.HasPrefix(p, []byte("%PDF-1.7\n")) || !bytes.HasSuffix(p, []byte("%%EOF\n")) || bytes.Contains(p[:200], []byte("%!")) {
		t.Fatalf("not PDF-shaped: %q", p[:40])
	}
	m := regexp.MustCompile(`/Length (\d+) >>\nstream\n`).FindSubmatchIndex(p)
	if m == nil {
		t.Fatal("no stream length")
	}
	n, _ := strconv.Atoi(string(p[m[2]:m[3]]))
	if end := bytes.LastIndex(p, []byte("\nendstream")); end-m[1] != n {
		t.Errorf("stream of %d bytes declared %d", end-m[1], n)
	}
}
