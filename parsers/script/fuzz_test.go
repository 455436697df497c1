package script

import (
	"bytes"
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
		file, typ string
		want      []string
	}{
		{"8812345.vbs", filetype.VBS, []string{"script.downloader:high", "script.url_rotation:medium"}},
		{"regress.ps1", filetype.PS1, []string{"script.obfuscation:low", "script.pinvoke_unused:info"}},
		{"emotet.bat", filetype.BAT, []string{"script.encoded_command:high", "script.exec:medium"}},
		{"invoice.js", filetype.JS, []string{"script.downloader:high", "script.exec:medium"}},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.file, ".", "_"), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := filetype.Detect(data, tt.file); got != tt.typ {
				t.Fatalf("Detect = %q, want %q", got, tt.typ)
			}
			rec, err := parsertest.Run(t, New(), tt.file, tt.typ, data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rec.Codes()); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

var fuzzTypes = []string{filetype.JS, filetype.VBS, filetype.WSF, filetype.PS1, filetype.BAT, filetype.HTA, filetype.Text, filetype.VBA, filetype.HTML}

func FuzzParse(f *testing.F) {
	if entries, err := os.ReadDir("testdata"); err == nil {
		for _, e := range entries {
			if data, err := os.ReadFile(filepath.Join("testdata", e.Name())); err == nil && !e.IsDir() {
				f.Add(data, uint8(0))
			}
		}
	}
	for i, s := range []string{lockyVBS, jscriptDownloader, netwalkerNegative, netwalkerPositive,
		"powershell -enc " + enc(regress), vbsLines("TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAAA==", 16),
		"[Byte[]]$b = 0x4D,0x5A,0x90", "<#", "@\"\n", "\xff\xfe\x41"} {
		f.Add([]byte(s), uint8(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, ti uint8) {
		typ := fuzzTypes[int(ti)%len(fuzzTypes)]
		l := parsers.Limits{MaxArtifactBytes: 1 << 20, MaxTotalBytes: 4 << 20}
		rec, _ := parsertest.RunLimits(t, New(), "f", typ, data, l)
		for _, f := range rec.Findings {
			if !strings.HasPrefix(f.Code, "script.") || f.Severity < parsers.Info || f.Severity > parsers.Critical {
				t.Fatalf("bad finding %+v", f)
			}
		}
		for _, c := range rec.Children {
			switch c.Name {
			case "powershell_decoded", "base64_decoded":
				if !c.Text || c.Type == "" {
					t.Fatalf("decoded child %+v", c)
				}
			case "embedded.bin":
				if !bytes.HasPrefix(c.Data, []byte("MZ")) || c.Type != "" {
					t.Fatalf("embedded child without MZ: %q", c.Data[:min(8, len(c.Data))])
				}
				if len(c.Data) > 1<<20 {
					t.Fatalf("child of %d bytes passed the artifact limit", len(c.Data))
				}
			default:
				t.Fatalf("unexpected child %q", c.Name)
			}
		}
	})
}
