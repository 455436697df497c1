package iocs

import (
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestURLs(t *testing.T) {
	text := `See http://example.invalid/a?b=1, or (https://x.example.invalid/p). Also "http://127.0.0.1:9/q.html"
and hxxp://defanged.example.invalid/x. Duplicate: http://example.invalid/a?b=1. Not a URL: http:// nothing`
	want := []string{"http://example.invalid/a?b=1", "https://x.example.invalid/p", "http://127.0.0.1:9/q.html", "hxxp://defanged.example.invalid/x"}
	if got := URLs(text); !reflect.DeepEqual(got, want) {
		t.Errorf("URLs = %q\nwant   %q", got, want)
	}
}

func TestHost(t *testing.T) {
	for in, want := range map[string]string{
		"http://User@Example.INVALID:8080/x": "example.invalid",
		"hxxps://evil.example.invalid/x":     "evil.example.invalid",
		"http://[::1]:9/":                    "::1",
		"http://127.0.0.1:9/regress":         "127.0.0.1",
		"not a url":                          "",
	} {
		if got := Host(in); got != want {
			t.Errorf("Host(%q) = %q, want %q", in, got, want)
		}
	}
	if !IsIP("127.0.0.1") || IsIP("example.invalid") {
		t.Error("IsIP wrong")
	}
}

// trimURLRef is TrimURL's rule stated directly: recount the brackets for
// each trailing character.
func trimURLRef(u string) string {
	for len(u) > 0 {
		c := u[len(u)-1]
		switch c {
		case '.', ',', ';', ':', '!', '?', ')', ']', '\'', '"', '*':
			if c == ')' && strings.Count(u, "(") >= strings.Count(u, ")") {
				return u
			}
			if c == ']' && strings.Count(u, "[") >= strings.Count(u, "]") {
				return u
			}
			u = u[:len(u)-1]
			continue
		}
		return u
	}
	return u
}

func TestTrimURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://a.invalid/x).":          "http://a.invalid/x",
		"http://a.invalid/f(x).":        "http://a.invalid/f(x)",
		"http://a.invalid/a[1]]];":      "http://a.invalid/a[1]",
		"http://a.invalid/(a[b)]":       "http://a.invalid/(a[b)]",
		"http://a.invalid/x'\"*!?,:":    "http://a.invalid/x",
		"http://a.invalid/))((":         "http://a.invalid/))((",
		"":                              "",
		")]":                            "",
		"http://a.invalid/p?q=(1)),[2]": "http://a.invalid/p?q=(1)),[2]",
	} {
		if got := trimURLRef(in); got != want {
			t.Fatalf("reference rule: %q → %q, want %q", in, got, want)
		}
		if got := TrimURL(in); got != want {
			t.Errorf("TrimURL(%q) = %q, want %q", in, got, want)
		}
	}
	rng := rand.New(rand.NewSource(1))
	const alphabet = "a/.,;:!?()[]'\"*"
	for range 20000 {
		b := make([]byte, rng.Intn(24))
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		if got, want := TrimURL(string(b)), trimURLRef(string(b)); got != want {
			t.Fatalf("TrimURL(%q) = %q, want %q", b, got, want)
		}
	}
	// A URL followed by a megabyte of closing brackets (hostile text on
	// the hot path: every textual artifact is searched) is trimmed in one
	// pass; recounting per bracket took tens of seconds.
	long := "http://a.invalid/x" + strings.Repeat(")", 1<<20)
	start := time.Now()
	if got := TrimURL(long); got != "http://a.invalid/x" {
		t.Errorf("TrimURL(long) = %.40q…", got)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("TrimURL of %d closing brackets took %v", 1<<20, d)
	}
}
