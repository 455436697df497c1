package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("report.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReport_matchesSchema validates real reports against the shipped
// JSON Schema, and checks that the schema's version is the code's.
func TestReport_matchesSchema(t *testing.T) {
	schema := compileSchema(t)
	raw, _ := os.ReadFile("report.schema.json")
	if !strings.Contains(string(raw), `"const": "`+SchemaVersion+`"`) {
		t.Errorf("schema file does not pin schema_version %s", SchemaVersion)
	}
	eng, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{
		"mail.eml": []byte("From: A <a@example.invalid>\r\nTo: b@example.invalid\r\nSubject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=\r\nMessage-ID: <x@y>\r\nDate: Mon, 2 Jan 2006 15:04:05 +0900\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee http://example.invalid/a and http://127.0.0.1:9/x\r\n--b\r\nContent-Type: application/octet-stream; name=q.iqy\r\n\r\nWEB\r\n1\r\nhttp://127.0.0.1:9/regress/q.html\r\n--b--\r\n"),
		"bare.bin": {0, 1, 2, 3},
		"empty":    {},
	}
	for name, data := range inputs {
		rep, err := eng.Triage(context.Background(), name, data)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(v); err != nil {
			t.Errorf("%s: report does not match schema: %v\n%s", name, err, b)
		}
	}
}
