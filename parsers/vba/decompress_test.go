package vba

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand"
	"strings"
	"testing"

	"triage/parsers"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecompress_specExamples decodes examples of MS-OVBA 3.2 and a
// hand-computed maximal copy.
func TestDecompress_specExamples(t *testing.T) {
	tests := []struct {
		name       string
		compressed string
		want       string
	}{
		{"no_compression", "01 19 B0 00 61 62 63 64 65 66 67 68 00 69 6A 6B 6C 6D 6E 6F 70 00 71 72 73 74 75 76 2E",
			"abcdefghijklmnopqrstuv."},
		{"normal_compression", "01 2F B0 00 23 61 61 61 62 63 64 65 82 66 00 70 61 67 68 69 6A 01 38 08 61 6B 6C 00 30 6D 6E 6F 70 06 71 02 70 04 10 72 73 74 75 76 10 77 78 79 7A 00 3C",
			"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"},
		// One literal and one copy token 0x0045: with 1 byte decoded the
		// split is 4 offset bits, so offset 1 and length 0x45+3 = 72.
		{"one_literal_long_copy", "01 03 B0 02 61 45 00", strings.Repeat("a", 73)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decompress(mustHex(t, tt.compressed), 0)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCompress_roundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	random := make([]byte, 10000)
	rng.Read(random)
	text := strings.Repeat("Sub AutoOpen()\r\n  MsgBox \"TRIAGE-REGRESSION\"\r\nEnd Sub\r\n", 300)
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short", []byte("a")},
		{"text_many_chunks", []byte(text)},
		{"exact_chunk", bytes.Repeat([]byte("x"), 4096)},
		{"incompressible_full_chunks", random[:8192]},
		{"repeats", bytes.Repeat([]byte("ab"), 5000)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decompress(Compress(tt.data), 0)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.data) {
				t.Errorf("round trip: got %d bytes, want %d", len(got), len(tt.data))
			}
		})
	}
}

func TestDecompress_garbage(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		want  string // the prefix decoded before the error
	}{
		{"empty", nil, ""},
		{"bad_signature_byte", []byte{0x02, 0x19, 0xB0, 0x00, 'a'}, ""},
		{"bad_chunk_signature", []byte{0x01, 0x19, 0x40, 0x00, 'a'}, ""},
		{"copy_token_before_start", []byte{0x01, 0x03, 0xB0, 0x01, 0x00, 0x10}, ""},
		{"truncated_copy_token", []byte{0x01, 0x03, 0xB0, 0x02, 'a', 0x45}, "a"},
		{"chunk_overruns_container", mustHex(t, "01 19 B0 00 61 62 63"), "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decompress(tt.input, 0)
			if !errors.Is(err, parsers.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if string(got) != tt.want {
				t.Errorf("prefix %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecompress_limit(t *testing.T) {
	data := Compress(bytes.Repeat([]byte("A"), 100000))
	got, err := Decompress(data, 5000)
	if !errors.Is(err, parsers.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if len(got) != 5000 {
		t.Errorf("kept %d bytes, want 5000", len(got))
	}
}

// bomb returns a container of n maximally compressed chunks, each
// expanding a few bytes to 4096.
func bomb(n int) []byte {
	chunk := Compress(bytes.Repeat([]byte{'A'}, 4096))[1:]
	out := []byte{0x01}
	for range n {
		out = append(out, chunk...)
	}
	return out
}

func TestDecompress_bombThroughBudget(t *testing.T) {
	b := bomb(20000) // ~80 MB when expanded
	if len(b) > 2_000_000 {
		t.Fatalf("bomb is %d bytes, expected a small input", len(b))
	}
	l := parsers.DefaultLimits()
	l.MaxArtifactBytes = 4 * parsers.MiB
	budget := parsers.NewBudget(t.Context(), l)
	got, err := budget.ReadAll(NewReader(b), int64(len(b)))
	if !errors.Is(err, parsers.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if len(got) > 4*parsers.MiB {
		t.Errorf("read %d bytes past the limit", len(got))
	}
}
