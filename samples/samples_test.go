package samples_test

import (
	"context"
	"flag"
	"strings"
	"testing"

	"triage/pipeline"
	"triage/samples/regress"
)

var update = flag.Bool("update", false, "rewrite every sample's want.json golden from the current results")

// TestSamples is the regression suite: every sample is triaged; its verdict
// must equal the class directory it sits in and its summary (rules fired,
// findings, URLs, artifact tree) must equal its golden want.json.
// `go test ./samples -update` rewrites the goldens; review the diff.
func TestSamples(t *testing.T) {
	eng, err := pipeline.New(pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := regress.Find(".")
	if err != nil {
		t.Fatal(err)
	}
	classes := map[string]int{}
	for _, s := range list {
		classes[s.Class]++
		name := strings.ReplaceAll(s.Dir, "/", "_")
		t.Run(name, func(t *testing.T) {
			res := regress.Run(context.Background(), eng, s)
			if *update && res.Report != nil {
				if err := regress.WriteGolden(res); err != nil {
					t.Fatal(err)
				}
				res = regress.Run(context.Background(), eng, s)
			}
			for _, p := range res.Problems {
				t.Errorf("%s: %s", s.Dir, p)
			}
		})
	}
	for _, c := range []string{"malicious", "suspicious", "clean"} {
		if classes[c] == 0 {
			t.Errorf("no %s samples: the suite must hold positives and negatives", c)
		}
	}
}
