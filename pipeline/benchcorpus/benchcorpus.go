// Package benchcorpus writes a reproducible mixed mail corpus for
// benchmarks: typical business mail (text, HTML, PDF and spreadsheet
// attachments, some of several MB), Office macro mail, archives, LNK and
// IQY mail and Japanese mail, from 5 KB to 10 MB per message.
//
// Malicious kinds reuse the bundled samples (samples/<class>/<slug>/
// input.eml) as templates: each copy gets its own Message-ID, Date and a
// varied preamble, so no two messages are byte-identical. Everything else is
// generated from a seeded PRNG: the same Options always give the same files.
package benchcorpus

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"mime"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/japanese"
)

// Kinds of message, as named in file names and the manifest.
const (
	Business = "business"
	Office   = "office"
	Archive  = "archive"
	LnkIqy   = "lnk-iqy"
	Japanese = "japanese"
)

// Kinds lists the kinds in report order.
var Kinds = []string{Business, Office, Archive, LnkIqy, Japanese}

// Options choose the corpus.
type Options struct {
	// Dir receives the messages (created if needed). Required.
	Dir string
	// Size is the target total in bytes (default 100 MB). Generation stops
	// at the first message that reaches it.
	Size int64
	// Seed picks the PRNG stream (default 1).
	Seed uint64
	// SamplesDir holds the bundled samples used as templates; when empty or
	// missing, the template kinds are generated without them.
	SamplesDir string
}

// File is one written message.
type File struct {
	Path string
	Kind string
	Size int64
}

// Manifest describes a written corpus.
type Manifest struct {
	Files     []File
	Bytes     int64
	Templates int // sample messages used as templates
}

// Count returns the number of messages of kind.
func (m *Manifest) Count(kind string) int {
	n := 0
	for _, f := range m.Files {
		if f.Kind == kind {
			n++
		}
	}
	return n
}

// Size bounds of one message.
const (
	MinSize = 5 << 10
	MaxSize = 10 << 20
)

// weights of each kind by message count: business mail dominates a SOC's
// reported-phish queue; the rest are the campaign shapes triage targets.
var weights = []struct {
	kind string
	w    float64
}{{Business, 0.55}, {Office, 0.14}, {Archive, 0.13}, {LnkIqy, 0.08}, {Japanese, 0.10}}

// Generate writes the corpus and returns its manifest.
func Generate(opts Options) (*Manifest, error) {
	if opts.Dir == "" {
		return nil, errors.New("benchcorpus: no directory")
	}
	if opts.Size <= 0 {
		opts.Size = 100_000_000
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("benchcorpus: %w", err)
	}
	tpl, err := loadTemplates(opts.SamplesDir)
	if err != nil {
		return nil, err
	}
	g := &gen{tpl: tpl}
	m := &Manifest{}
	for _, ts := range tpl {
		m.Templates += len(ts)
	}
	for i := 1; m.Bytes < opts.Size; i++ {
		// Each message draws from its own stream: a sample added to the
		// templates changes only the messages that copy one of its kind,
		// not every message after the first that does.
		g.rng = rand.New(rand.NewPCG(opts.Seed, 0x7472696167650a^uint64(i)<<8))
		kind := g.pickKind()
		msg := g.message(kind, i)
		if len(msg) < MinSize {
			msg = g.pad(msg, MinSize)
		}
		p := filepath.Join(opts.Dir, fmt.Sprintf("%06d-%s.eml", i, kind))
		if err := os.WriteFile(p, msg, 0o644); err != nil {
			return nil, fmt.Errorf("benchcorpus: %w", err)
		}
		m.Files = append(m.Files, File{Path: p, Kind: kind, Size: int64(len(msg))})
		m.Bytes += int64(len(msg))
	}
	return m, nil
}

// loadTemplates reads the bundled samples by kind.
func loadTemplates(dir string) (map[string][][]byte, error) {
	out := map[string][][]byte{}
	if dir == "" {
		return out, nil
	}
	if _, err := os.Stat(dir); err != nil {
		return out, nil
	}
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && d.Name() == "input.eml" {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("benchcorpus: templates: %w", err)
	}
	sort.Strings(paths)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("benchcorpus: %w", err)
		}
		if k := templateKind(filepath.Base(filepath.Dir(p))); k != "" {
			out[k] = append(out[k], b)
		}
	}
	return out, nil
}

// templateKind classifies a sample by its slug.
func templateKind(slug string) string {
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(slug, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("bomb"):
		return "" // a hostile case, not mail volume: see pipeline/hostile
	case has("-ja", "-jp", "karaage"):
		return Japanese
	case has("iqy", "lnk"):
		return LnkIqy
	case has("zip", "7z", "iso", "jar"):
		return Archive
	case has("doc", "xls", "xlm", "macro", "rtf", "emotet", "dde"):
		return Office
	case has("reply", "mentions", "bec", "newsletter", "link", "video"):
		return Business
	}
	return ""
}

type gen struct {
	rng *rand.Rand
	tpl map[string][][]byte
}

func (g *gen) pickKind() string {
	x := g.rng.Float64()
	for _, w := range weights {
		if x < w.w {
			return w.kind
		}
		x -= w.w
	}
	return Business
}

// logSize draws a size log-uniformly from [lo, hi].
func (g *gen) logSize(lo, hi int) int {
	return int(math.Exp(math.Log(float64(lo)) + g.rng.Float64()*(math.Log(float64(hi))-math.Log(float64(lo)))))
}

func (g *gen) message(kind string, seq int) []byte {
	// Templates carry the malicious shapes; generated mail the volume.
	if ts := g.tpl[kind]; len(ts) > 0 {
		use := g.rng.IntN(4) == 0 // business and Japanese: mostly generated
		switch kind {
		case Office, LnkIqy:
			use = true
		case Archive:
			use = g.rng.IntN(2) == 0
		}
		if use {
			return g.fromTemplate(ts[g.rng.IntN(len(ts))], seq)
		}
	}
	switch kind {
	case Japanese:
		return g.japanese(seq)
	case Archive, Office, LnkIqy:
		return g.business(seq, true)
	}
	return g.business(seq, false)
}

var words = strings.Fields(`invoice payment order meeting schedule project report quarterly budget
review please find attached regards thanks team update contract delivery shipment customer account
balance statement approval deadline agenda minutes proposal estimate purchase receipt transfer
confirm request follow discuss next week monday friday office sales marketing finance legal`)

func (g *gen) prose(n int) string {
	var b strings.Builder
	for b.Len() < n {
		w := words[g.rng.IntN(len(words))]
		if b.Len() == 0 || g.rng.IntN(12) == 0 {
			if b.Len() > 0 {
				b.WriteString(".\r\n")
			}
			w = strings.ToUpper(w[:1]) + w[1:]
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	b.WriteString(".\r\n")
	return b.String()
}

var jaSentences = []string{
	"いつもお世話になっております。", "先日の打ち合わせの件でご連絡いたします。", "見積書を添付いたしましたので、ご確認ください。",
	"来週の会議は予定どおり開催いたします。", "ご不明な点がございましたら、お気軽にお問い合わせください。",
	"請求書の発行日は月末となります。", "資料の修正版をお送りします。", "引き続きよろしくお願いいたします。",
	"納期について調整をお願いできますでしょうか。", "本日中にご返信いただけますと幸いです。",
}

func (g *gen) date(seq int) string {
	t := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).Add(time.Duration(seq) * 7 * time.Minute)
	return t.Format(time.RFC1123Z)
}

func b64Lines(data []byte) string {
	var b strings.Builder
	b.Grow(len(data)*4/3 + len(data)/57*2 + 4)
	for i := 0; i < len(data); i += 57 {
		j := min(i+57, len(data))
		b.WriteString(base64.StdEncoding.EncodeToString(data[i:j]))
		b.WriteString("\r\n")
	}
	return b.String()
}

// attachment is one generated file.
type attachment struct {
	name, ctype string
	data        []byte
}

func (g *gen) randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := g.rng.Uint64()
		for k := 0; k < 8; k++ {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	return b
}

// pdf is PDF-shaped filler: a header, a few objects and a binary stream
// (real PDFs are mostly compressed streams).
func (g *gen) pdf(n int) []byte {
	head := "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>\nendobj\n4 0 obj\n<< /Filter /FlateDecode /Length LENGTH >>\nstream\n"
	tail := "\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
	body := g.randomBytes(max(n-len(head)-len(tail), 64))
	head = strings.Replace(head, "LENGTH", strconv.Itoa(len(body)), 1)
	return append(append([]byte(head), body...), tail...)
}

func (g *gen) xlsx() []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	put := func(name, data string) {
		w, _ := zw.Create(name)
		w.Write([]byte(data))
	}
	put("[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`)
	put("_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`)
	put("xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`)
	put("xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`)
	var rows strings.Builder
	for r := 1; r <= 50+g.rng.IntN(400); r++ {
		fmt.Fprintf(&rows, `<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d"><v>%.2f</v></c></row>`, r, r, r, r, g.rng.Float64()*10000)
	}
	put("xl/worksheets/sheet1.xml", `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`+rows.String()+`</sheetData></worksheet>`)
	zw.Close()
	return b.Bytes()
}

func (g *gen) zipOf(files []attachment) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range files {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
		w.Write(f.data)
	}
	zw.Close()
	return b.Bytes()
}

var firstNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}

// business writes a multipart/mixed message: text and HTML bodies and,
// for most, attachments; withArchive forces a zip attachment.
func (g *gen) business(seq int, withArchive bool) []byte {
	from := firstNames[g.rng.IntN(len(firstNames))]
	to := firstNames[g.rng.IntN(len(firstNames))]
	body := g.prose(g.logSize(600, 30000))
	var atts []attachment
	large := g.rng.IntN(100) < 5 // a few messages carry several MB
	switch {
	case withArchive:
		var files []attachment
		for k := 0; k < 1+g.rng.IntN(3); k++ {
			size := g.logSize(8<<10, 400<<10)
			if large && k == 0 {
				size = g.logSize(1<<20, 6<<20)
			}
			files = append(files, attachment{fmt.Sprintf("scan-%d-%d.pdf", seq, k), "application/pdf", g.pdf(size)})
		}
		files = append(files, attachment{"notes.txt", "text/plain", []byte(g.prose(2000))})
		atts = append(atts, attachment{fmt.Sprintf("documents-%d.zip", seq), "application/zip", g.zipOf(files)})
	case g.rng.IntN(100) < 60:
		size := g.logSize(20<<10, 600<<10)
		if large {
			size = g.logSize(1<<20, 7<<20)
		}
		atts = append(atts, attachment{fmt.Sprintf("report-%d.pdf", seq), "application/pdf", g.pdf(size)})
		if g.rng.IntN(3) == 0 {
			atts = append(atts, attachment{fmt.Sprintf("figures-%d.xlsx", seq), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", g.xlsx()})
		}
	}
	var m strings.Builder
	fmt.Fprintf(&m, "From: %s <%s@corp.example>\r\nTo: %s@corp.example\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <bench-%d@corp.example>\r\nMIME-Version: 1.0\r\n",
		strings.ToUpper(from[:1])+from[1:], from, to, strings.TrimSuffix(strings.SplitN(body, "\r\n", 2)[0], "."), g.date(seq), seq)
	fmt.Fprintf(&m, "Content-Type: multipart/mixed; boundary=\"mix-%d\"\r\n\r\n", seq)
	fmt.Fprintf(&m, "--mix-%d\r\nContent-Type: multipart/alternative; boundary=\"alt-%d\"\r\n\r\n", seq, seq)
	fmt.Fprintf(&m, "--alt-%d\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\nhttps://portal.corp.example/docs/%d\r\n", seq, body, seq)
	fmt.Fprintf(&m, "--alt-%d\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>%s</p><p><a href=\"https://portal.corp.example/docs/%d\">portal</a></p></body></html>\r\n--alt-%d--\r\n",
		seq, strings.ReplaceAll(body, "\r\n", "<br>\r\n"), seq, seq)
	for _, a := range atts {
		fmt.Fprintf(&m, "--mix-%d\r\nContent-Type: %s; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", seq, a.ctype, a.name, a.name)
		m.WriteString(b64Lines(a.data))
	}
	fmt.Fprintf(&m, "--mix-%d--\r\n", seq)
	return []byte(m.String())
}

// japanese writes an ISO-2022-JP message, sometimes with a PDF.
func (g *gen) japanese(seq int) []byte {
	var body strings.Builder
	body.WriteString("山田様\r\n\r\n")
	for body.Len() < g.logSize(400, 12000) {
		body.WriteString(jaSentences[g.rng.IntN(len(jaSentences))])
		if g.rng.IntN(3) == 0 {
			body.WriteString("\r\n")
		}
	}
	body.WriteString("\r\n佐藤\r\n")
	enc, err := japanese.ISO2022JP.NewEncoder().String(body.String())
	if err != nil {
		enc = body.String()
	}
	subj, err := japanese.ISO2022JP.NewEncoder().String("【ご確認】お見積書の件 No." + fmt.Sprint(seq))
	if err != nil {
		subj = "estimate"
	}
	sender, err := japanese.ISO2022JP.NewEncoder().String("佐藤 花子")
	if err != nil {
		sender = "Sato"
	}
	var m strings.Builder
	fmt.Fprintf(&m, "From: =?ISO-2022-JP?B?%s?= <sato@corp.example>\r\nTo: yamada@corp.example\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <bench-ja-%d@corp.example>\r\nMIME-Version: 1.0\r\n",
		base64.StdEncoding.EncodeToString([]byte(sender)), mime.BEncoding.Encode("ISO-2022-JP", subj), g.date(seq), seq)
	if g.rng.IntN(2) == 0 {
		fmt.Fprintf(&m, "Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n%s", enc)
		return []byte(m.String())
	}
	fmt.Fprintf(&m, "Content-Type: multipart/mixed; boundary=\"ja-%d\"\r\n\r\n--ja-%d\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n%s\r\n", seq, seq, enc)
	name := mime.BEncoding.Encode("UTF-8", "見積書.pdf")
	fmt.Fprintf(&m, "--ja-%d\r\nContent-Type: application/pdf; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s--ja-%d--\r\n",
		seq, name, name, b64Lines(g.pdf(g.logSize(30<<10, 900<<10))), seq)
	return []byte(m.String())
}

// fromTemplate copies a sample with a new Message-ID and Date and a varied
// preamble (text before the first MIME boundary, which readers ignore) or,
// for a single-part message, a varied X- header.
func (g *gen) fromTemplate(t []byte, seq int) []byte {
	head, body, ok := bytes.Cut(t, []byte("\r\n\r\n"))
	sep := "\r\n"
	if !ok {
		head, body, ok = bytes.Cut(t, []byte("\n\n"))
		sep = "\n"
		if !ok {
			return append([]byte{}, t...)
		}
	}
	var h []string
	for _, l := range strings.Split(string(head), sep) {
		low := strings.ToLower(l)
		if strings.HasPrefix(low, "message-id:") || strings.HasPrefix(low, "date:") {
			continue
		}
		h = append(h, l)
	}
	h = append(h, fmt.Sprintf("Message-ID: <bench-tpl-%d-%x@corp.example>", seq, g.rng.Uint32()), "Date: "+g.date(seq),
		fmt.Sprintf("X-Bench-Seq: %d", seq))
	var b bytes.Buffer
	b.WriteString(strings.Join(h, sep))
	b.WriteString(sep + sep)
	if bytes.Contains(bytes.ToLower(head), []byte("multipart/")) {
		fmt.Fprintf(&b, "This is a multi-part message in MIME format (copy %d).%s", seq, sep)
	}
	b.Write(body)
	return b.Bytes()
}

// pad brings a short message to n bytes with a trailing X- header block
// line in the preamble position: a header field of filler words.
func (g *gen) pad(msg []byte, n int) []byte {
	need := n - len(msg)
	if need <= 0 {
		return msg
	}
	head, body, ok := bytes.Cut(msg, []byte("\r\n\r\n"))
	sep := "\r\n"
	if !ok {
		head, body, ok = bytes.Cut(msg, []byte("\n\n"))
		sep = "\n"
		if !ok {
			return msg
		}
	}
	var b bytes.Buffer
	b.Write(head)
	for need > 0 {
		line := "X-Bench-Trace: " + strings.TrimSpace(strings.ReplaceAll(g.prose(min(need, 900)), "\r\n", " "))
		b.WriteString(sep + line)
		need -= len(line) + len(sep)
	}
	b.WriteString(sep + sep)
	b.Write(body)
	return b.Bytes()
}
