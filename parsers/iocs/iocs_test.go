package iocs

import (
	"reflect"
	"testing"
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
