package mime

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/emersion/go-message"

	"triage/parsers"
	"triage/parsers/parsertest"
)

// goMessageBody decodes src with go-message's own base64 decoder.
func goMessageBody(t testing.TB, src io.Reader) io.Reader {
	t.Helper()
	var h message.Header
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Transfer-Encoding", "base64")
	e, err := message.New(h, src)
	if err != nil {
		t.Fatal(err)
	}
	return e.Body
}

// drain reads r to its end or first error into one large buffer.
func drain(r io.Reader, size int) ([]byte, error) {
	buf := make([]byte, 0, size/4*3+2048)
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// drainBy reads r with a fresh buffer of size each time.
func drainBy(size int) func(io.Reader, int) ([]byte, error) {
	return func(r io.Reader, _ int) ([]byte, error) {
		var out []byte
		p := make([]byte, size)
		for {
			n, err := r.Read(p)
			out = append(out, p[:n]...)
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return out, err
			}
		}
	}
}

// viaReadAll reads r with Budget.ReadAll.
func viaReadAll(r io.Reader, _ int) ([]byte, error) {
	return parsers.NewBudget(context.Background(), parsers.Limits{}).ReadAll(r, 0)
}

// segReader returns at most what is left of its current segment, like
// go-message's part reader returns what it has buffered: segment sizes do
// not depend on the reads.
type segReader struct {
	data []byte
	segs []int // segment sizes, cycled
	left int   // left in the current segment
	i    int
}

func (s *segReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	if s.left == 0 {
		s.left = s.segs[s.i%len(s.segs)]
		s.i++
	}
	n := copy(p[:min(len(p), s.left)], s.data)
	s.data, s.left = s.data[n:], s.left-n
	return n, nil
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%T %v", err, err)
}

// checkSame asserts that base64Reader returns what go-message's decoder
// returns for raw, the same bytes and the same error, for sources that
// return what they hold up to the request (a bytes.Reader, a part reader)
// and for callers that pass the rest of one buffer (Budget.ReadAll) or a
// fresh one each time.
func checkSame(t *testing.T, name string, raw []byte) {
	t.Helper()
	checkSameSome(t, name, raw, -1)
}

// checkSameSome is checkSame with every source and caller (pick < 0) or
// with one pair chosen by pick and Budget.ReadAll on a bytes.Reader.
func checkSameSome(t *testing.T, name string, raw []byte, pick int) {
	t.Helper()
	sources := []struct {
		name string
		r    func() io.Reader
	}{
		{"bytes", func() io.Reader { return bytes.NewReader(raw) }},
		{"bufio", func() io.Reader { return bufio.NewReader(bytes.NewReader(raw)) }},
		// A bufio.Reader larger than base64Reader's own reads.
		{"bufio-64k", func() io.Reader { return bufio.NewReaderSize(bytes.NewReader(raw), 64<<10) }},
		{"one-byte", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(raw)) }},
		{"data-err", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(raw)) }},
		{"segments", func() io.Reader { return &segReader{data: raw, segs: []int{4000, 1, 700, 4096, 33, 1023, 1025}} }},
	}
	readers := []struct {
		name string
		read func(io.Reader, int) ([]byte, error)
	}{
		{"one-buffer", drain},
		{"ReadAll", viaReadAll},
		{"4096", drainBy(4096)},
		{"768", drainBy(768)},
		{"700", drainBy(700)},
		{"2", drainBy(2)},
	}
	for si, src := range sources {
		for ri, rd := range readers {
			if pick >= 0 && !(si == pick%len(sources) && ri == pick/len(sources)%len(readers)) && !(si == 0 && ri == 1) {
				continue
			}
			if len(raw) > 20000 && (src.name == "one-byte" || rd.name == "2") {
				continue
			}
			want, wantErr := rd.read(goMessageBody(t, src.r()), len(raw))
			got, err := rd.read(newBase64Reader(src.r()), len(raw))
			if !bytes.Equal(got, want) || errText(err) != errText(wantErr) {
				t.Fatalf("%s (%d bytes, source %s, read %s): got %d bytes, %s; go-message %d bytes, %s\nfirst difference at %d\ninput %q",
					name, len(raw), src.name, rd.name, len(got), errText(err), len(want), errText(wantErr), firstDiff(got, want), clip(string(raw), 300))
			}
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func wrapLines(s string, n int, nl string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += n {
		b.WriteString(s[i:min(i+n, len(s))])
		b.WriteString(nl)
	}
	return b.String()
}

func TestBase64Reader_tricky(t *testing.T) {
	pdf := []byte("%PDF-1.4\n% TRIAGE-REGRESSION\n" + strings.Repeat("stream 0123456789 endstream\n", 200))
	enc := base64.StdEncoding.EncodeToString(pdf)
	enc1 := base64.StdEncoding.EncodeToString(pdf[:len(pdf)-1]) // ends in "="
	enc2 := base64.StdEncoding.EncodeToString(pdf[:len(pdf)-2]) // ends in "=="
	// A first chunk of exactly 1024 digits ending in padding: go-message
	// decodes the next chunk afresh.
	chunkPad := strings.Repeat("QUJD", 255) + "QQ==" + "\r\n" + enc
	tests := []struct{ name, raw string }{
		{"empty", ""},
		{"only_crlf", "\r\n\r\n"},
		{"only_spaces", " \t \r\n \t"},
		{"one_char", "Q"},
		{"two_chars", "QQ"},
		{"three_chars", "QUJ"},
		{"one_quantum", "QUJD"},
		{"pad1", "QUI="},
		{"pad2", "QQ=="},
		{"pad_short", "QQ="},
		{"pad_three", "Q==="},
		{"pad_only", "===="},
		{"pad_at_0", "=QUJD"},
		{"pad_at_1", "Q=JD"},
		{"76_crlf", wrapLines(enc, 76, "\r\n")},
		{"76_lf", wrapLines(enc, 76, "\n")},
		{"64_crlf_pad1", wrapLines(enc1, 64, "\r\n")},
		{"64_crlf_pad2", wrapLines(enc2, 64, "\r\n")},
		{"1000_cols", wrapLines(enc, 1000, "\r\n")},
		{"one_line", enc},
		{"cr_only", wrapLines(enc, 76, "\r")},
		{"crcrlf", wrapLines(enc, 76, "\r\r\n")},
		{"indented", wrapLines(enc, 76, "\r\n\t ")},
		{"embedded_spaces", strings.ReplaceAll(wrapLines(enc, 76, "\r\n"), "A", "A ")},
		{"missing_padding", wrapLines(strings.TrimRight(enc2, "="), 76, "\r\n")},
		{"truncated_1", wrapLines(enc[:len(enc)-1], 76, "\r\n")},
		{"truncated_2", wrapLines(enc[:len(enc)-2], 76, "\r\n")},
		{"trailing_garbage", wrapLines(enc, 76, "\r\n") + "!!!\r\n"},
		{"trailing_dashes", wrapLines(enc, 76, "\r\n") + "--\r\n"},
		{"trailing_after_pad", wrapLines(enc2, 76, "\r\n") + "QUJD\r\n"},
		{"pad_in_middle", "QQ==QUJD"},
		{"pad1_in_middle", "QUI=QUJD"},
		{"pad_middle_long", wrapLines(enc2+enc, 76, "\r\n")},
		{"pad_at_chunk_end", chunkPad},
		{"pad_after_chunk_end", strings.Repeat("QUJD", 256) + "QQ==" + enc},
		{"pad_before_chunk_end", strings.Repeat("QUJD", 254) + "QQ==" + enc},
		{"equals_mid_quantum", enc[:400] + "=" + enc[400:]},
		{"url_alphabet", "QUJD-_QUJD"},
		{"high_bytes", "QUJD\xff\xfeQUJD"},
		{"nul", "QUJD\x00QUJD"},
		{"utf8", "QUJD\xe3\x81\x82QUJD"},
		{"form_feed", "QUJD\fQUJD"},
		{"garbage_late", wrapLines(enc, 76, "\r\n")[:5000] + "*%$" + wrapLines(enc, 76, "\r\n")[5000:]},
		{"hostile_mix", hostileMix(40000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkSame(t, tt.name, []byte(tt.raw)) })
	}
}

// hostileMix is pipeline/hostile's "base64 with garbage" body.
func hostileMix(n int) string {
	var b strings.Builder
	junk := []string{"!!!", "==", "\xff\xfe", "*%$", "=", "\xe3\x81\x82", "QQ=QQ", "-_", "\t \t"}
	valid := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 TRIAGE-REGRESSION hostile base64 body "))
	for i := 0; b.Len() < n; i++ {
		b.WriteString(valid[:20+i%40])
		b.WriteString(junk[i%len(junk)])
		if i%3 == 0 {
			b.WriteString("\r\n")
		}
	}
	return b.String()
}

// TestBase64Reader_random compares with go-message on random bodies:
// random line lengths and breaks, stray whitespace, and now and then a
// foreign byte, padding in the middle or a cut-off end.
func TestBase64Reader_random(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	iters := 5000
	if testing.Short() {
		iters = 500
	}
	breaks := []string{"\r\n", "\n", "\r", " ", "\t", "\r\n ", "\r\n\r\n"}
	junk := []string{"=", "==", "!", "\xff", "-", "_", "\x00", "QQ==", "QUI=", "===="}
	for i := range iters {
		size := rng.Intn(4096)
		if i%10 == 0 {
			size = rng.Intn(300 * 1024)
		}
		data := make([]byte, size)
		rng.Read(data)
		enc := base64.StdEncoding.EncodeToString(data)
		var b strings.Builder
		cols := 1 + rng.Intn(200)
		nl := breaks[rng.Intn(2)]
		for j := 0; j < len(enc); j += cols {
			b.WriteString(enc[j:min(j+cols, len(enc))])
			if rng.Intn(50) == 0 {
				b.WriteString(breaks[rng.Intn(len(breaks))])
			} else {
				b.WriteString(nl)
			}
		}
		raw := []byte(b.String())
		switch rng.Intn(4) {
		case 0: // clean
		case 1:
			for range 1 + rng.Intn(3) {
				at := rng.Intn(len(raw) + 1)
				raw = append(raw[:at], append([]byte(junk[rng.Intn(len(junk))]), raw[at:]...)...)
			}
		case 2:
			raw = raw[:rng.Intn(len(raw)+1)]
		case 3:
			// Padding at a 4-digit boundary of the filtered input.
			f := bytes.Map(func(r rune) rune {
				if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
					return -1
				}
				return r
			}, raw)
			at := rng.Intn(len(f)/4+1) * 4
			f = append(f[:at], append([]byte("QQ=="), f[at:]...)...)
			raw = []byte(wrapLines(string(f), cols, nl))
		}
		checkSameSome(t, fmt.Sprintf("random #%d", i), raw, i)
	}
}

func TestBase64Reader_sourceError(t *testing.T) {
	enc := wrapLines(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("TRIAGE-REGRESSION "), 500)), 76, "\r\n")
	boom := errors.New("boom")
	for _, cut := range []int{0, 1, 2, 3, 4, 77, 78, 1024, 1025, len(enc) - 1} {
		raw := enc[:cut]
		want, wantErr := drain(base64.NewDecoder(base64.StdEncoding, io.MultiReader(strings.NewReader(raw), iotest.ErrReader(boom))), len(raw))
		got, err := drain(newBase64Reader(io.MultiReader(strings.NewReader(raw), iotest.ErrReader(boom))), len(raw))
		if !bytes.Equal(got, want) || !errors.Is(err, boom) || !errors.Is(wantErr, boom) {
			t.Errorf("cut %d: got %d bytes, %v; stdlib %d bytes, %v", cut, len(got), err, len(want), wantErr)
		}
	}
}

// BenchmarkBase64Reader decodes a 5 MB attachment body (76-column CRLF
// lines) with base64Reader and with go-message's decoder.
func BenchmarkBase64Reader(b *testing.B) {
	data := make([]byte, 5<<20)
	rand.New(rand.NewSource(1)).Read(data)
	raw := []byte(wrapLines(base64.StdEncoding.EncodeToString(data), 76, "\r\n"))
	for _, impl := range []struct {
		name string
		r    func() io.Reader
	}{
		{"fast", func() io.Reader { return newBase64Reader(bytes.NewReader(raw)) }},
		{"go-message", func() io.Reader { return goMessageBody(b, bytes.NewReader(raw)) }},
	} {
		b.Run(impl.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := drain(impl.r(), len(raw)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// leafBodies walks a message as the walker does, reading every leaf body
// with Budget.ReadAll, and returns "path: sha256 len error" per leaf.
// goMessage selects go-message's own entities (message.ReadWithOptions,
// Entity.MultipartReader) instead of readEntity and multipartOf.
func leafBodies(t *testing.T, data []byte, goMessage bool) []string {
	t.Helper()
	b := parsers.NewBudget(context.Background(), parsers.Limits{})
	var root *message.Entity
	var err error
	if goMessage {
		root, err = message.ReadWithOptions(bytes.NewReader(data), &message.ReadOptions{MaxHeaderBytes: maxHeaderBytes})
	} else {
		root, err = readEntity(bytes.NewReader(data))
	}
	out := []string{fmt.Sprintf("root: %v", err)}
	if root == nil {
		return out
	}
	type nexter interface {
		NextPart() (*message.Entity, error)
	}
	mr := func(e *message.Entity) nexter {
		if goMessage {
			if m := e.MultipartReader(); m != nil {
				return m
			}
			return nil
		}
		if m := multipartOf(e); m != nil {
			return m
		}
		return nil
	}
	leaf := func(path string, e *message.Entity) {
		body, err := b.ReadAll(e.Body, 0)
		out = append(out, fmt.Sprintf("%s: %x %d %v", path, sha256.Sum256(body), len(body), err))
	}
	if mr(root) == nil {
		leaf("1", root)
		return out
	}
	stack := []nexter{mr(root)}
	for n := 0; len(stack) > 0 && n < 1000; n++ {
		part, err := stack[len(stack)-1].NextPart()
		if err != nil {
			out = append(out, fmt.Sprintf("next: %v", err))
			stack = stack[:len(stack)-1]
			continue
		}
		if m := mr(part); m != nil {
			stack = append(stack, m)
			continue
		}
		leaf(fmt.Sprint(n), part)
	}
	return out
}

// TestParse_bodiesMatchGoMessage: every leaf body of real mail (the bundled
// samples, the shared corpus's mail fixtures) and of generated messages
// with tricky base64 bodies reads the same — bytes and errors — through
// the walker's entities as through go-message's.
func TestParse_bodiesMatchGoMessage(t *testing.T) {
	msgs := map[string][]byte{}
	pdf := bytes.Repeat([]byte("%PDF-1.4 TRIAGE-REGRESSION stream 0123456789 endstream\n"), 3000)
	enc := base64.StdEncoding.EncodeToString(pdf)
	wrapped := wrapLines(enc, 76, "\r\n")
	bodies := map[string]string{
		"clean":        wrapped,
		"lf":           wrapLines(enc, 76, "\n"),
		"indented":     wrapLines(enc, 76, "\r\n\t"),
		"garbage":      "QUJD!!!" + wrapped,
		"garbage_late": wrapped[:50000] + "*%$" + wrapped[50000:],
		"garbage_far":  wrapped[:120000] + "\xff" + wrapped[120000:],
		"pad_mid":      wrapLines(enc[:100000]+"QQ=="+enc, 76, "\r\n"),
		"truncated":    wrapLines(enc[:len(enc)-3], 76, "\r\n"),
		"dashes":       wrapped + "--not-a-boundary\r\n",
		"hostile":      hostileMix(200000),
	}
	for name, body := range bodies {
		head := "From: a@b.invalid\r\nTo: c@d.invalid\r\nSubject: " + name + "\r\nMIME-Version: 1.0\r\n"
		msgs[name] = []byte(head + "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee\r\n" +
			"--XX\r\nContent-Type: multipart/alternative; boundary=\"YY\"\r\n\r\n--YY\r\nContent-Type: text/plain; charset=iso-2022-jp\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			wrapLines(base64.StdEncoding.EncodeToString([]byte(iso2022(t, "パスワード：7731"))), 76, "\r\n") + "--YY--\r\n" +
			"--XX\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: BASE64\r\n\r\n" + body + "\r\n--XX--\r\n")
		msgs[name+"/root"] = []byte(head + "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body)
		msgs[name+"/unclosed"] = []byte(head + "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body)
	}
	if root, err := parsertest.FindRepoRoot(); err == nil {
		files, _ := filepath.Glob(filepath.Join(root, "samples", "*", "*", "input.eml"))
		for _, dir := range []string{"mikel-mail", "enmime"} {
			filepath.WalkDir(filepath.Join(root, "..", "shared", "corpus", dir), func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					files = append(files, p)
				}
				return nil
			})
		}
		for _, f := range files {
			if data, err := os.ReadFile(f); err == nil {
				msgs[f] = data
			}
		}
	}
	if len(msgs) < 100 {
		t.Logf("only %d messages: samples or shared corpus missing", len(msgs))
	}
	for name, data := range msgs {
		want := leafBodies(t, data, true)
		got := leafBodies(t, data, false)
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", name, got, want)
		}
	}
}

// FuzzBase64Reader: base64Reader returns what go-message's decoder
// returns, bytes and error, for any body and a few source read patterns.
func FuzzBase64Reader(f *testing.F) {
	for _, s := range []string{"", "QUJD", "QQ==QUJD", "QUJD!\r\nQUJD", "QU JD\tRA==", hostileMix(3000),
		wrapLines(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("TRIAGE-REGRESSION"), 200)), 76, "\r\n")} {
		f.Add([]byte(s), uint16(0))
	}
	f.Fuzz(func(t *testing.T, raw []byte, seg uint16) {
		raw = raw[:min(len(raw), 16<<10)] // one-byte reads are slow
		segs := []int{int(seg%4096) + 1, 4096, 1}
		for _, src := range []func() io.Reader{
			func() io.Reader { return bytes.NewReader(raw) },
			func() io.Reader { return &segReader{data: raw, segs: segs} },
			// (bufio.Readers larger than the decoder's reads, as readEntity's.)
			func() io.Reader { return bufio.NewReaderSize(bytes.NewReader(raw), b64Request+1+int(seg%4096)) },
		} {
			want, wantErr := viaReadAll(goMessageBody(t, src()), 0)
			got, err := viaReadAll(newBase64Reader(src()), 0)
			if !bytes.Equal(got, want) || errText(err) != errText(wantErr) {
				t.Fatalf("got %d bytes, %s; go-message %d bytes, %s", len(got), errText(err), len(want), errText(wantErr))
			}
		}
	})
}
