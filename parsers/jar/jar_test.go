package jar

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/parsertest"
)

// member is one zip entry of a generated JAR.
type member struct {
	name string
	data []byte
}

// classBytes is a minimal class-file header: magic and version 52 (Java 8).
// No bytecode: the parser never executes or decodes classes.
var classBytes = []byte{0xca, 0xfe, 0xba, 0xbe, 0x00, 0x00, 0x00, 0x34}

func buildJar(t testing.TB, members []member) []byte {
	t.Helper()
	return buildJarMethod(t, members, zip.Deflate)
}

// buildJarMethod writes members with one compression method; Store keeps
// member bytes visible to the fuzzer's mutations.
func buildJarMethod(t testing.TB, members []member, method uint16) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func manifest(main string) member {
	s := "Manifest-Version: 1.0\r\nCreated-By: 1.8.0_131 (Oracle Corporation)\r\n"
	if main != "" {
		s += "Main-Class: " + main + "\r\n"
	}
	return member{ManifestPath, []byte(s + "\r\n")}
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// adwindLike is the catalogue §8 sample's shape: 150 empty classes in
// nested I/l packages, Main-Class lIlIl.Main and a 4 KB random lIl.dat.
func adwindLike(t testing.TB) []byte {
	r := rand.New(rand.NewPCG(8, 2017))
	ms := []member{manifest("lIlIl.Main"), {"lIlIl/Main.class", classBytes}}
	seen := map[string]bool{}
	il := func() string {
		b := make([]byte, 2+r.IntN(4))
		for i := range b {
			b[i] = "Il"[r.IntN(2)]
		}
		return string(b)
	}
	for len(seen) < 150 {
		segs := make([]string, 1+r.IntN(4))
		for i := range segs {
			segs[i] = il()
		}
		p := strings.Join(segs, "/") + ".class"
		if seen[p] {
			continue
		}
		seen[p] = true
		ms = append(ms, member{p, classBytes})
	}
	ms = append(ms, member{"lIl.dat", randomBytes(4, 4096)})
	return buildJar(t, ms)
}

// businessJar is an ordinary application JAR.
func businessJar(t testing.TB) []byte {
	ms := []member{manifest("com.example.app.Main"), {"com/example/app/Main.class", classBytes}}
	pkgs := []string{"service", "model", "util", "web", "report"}
	kinds := []string{"Invoice", "Customer", "Order", "Payment", "Ledger", "Account"}
	for i := 0; len(ms) < 31; i++ {
		p := pkgs[i%len(pkgs)]
		k := kinds[i%len(kinds)]
		ms = append(ms, member{fmt.Sprintf("com/example/app/%s/%s%sImpl.class", p, k, strings.ToUpper(p[:1])+p[1:]), classBytes})
	}
	ms = append(ms,
		member{"com/example/app/app.properties", []byte("app.name=Ledger\napp.version=2.4.1\nreport.currency=EUR\n")},
		member{"META-INF/maven/com.example/app/pom.properties", []byte("groupId=com.example\nartifactId=app\nversion=2.4.1\n")},
	)
	return buildJar(t, ms)
}

type finding struct {
	Code     string
	Severity parsers.Severity
}

func codes(fs []parsers.Finding) []finding {
	var out []finding
	for _, f := range fs {
		out = append(out, finding{f.Code, f.Severity})
	}
	return out
}

func score(fs []parsers.Finding) int {
	pts := map[parsers.Severity]int{parsers.Low: 10, parsers.Medium: 30, parsers.High: 60, parsers.Critical: 100}
	s := 0
	for _, f := range fs {
		s += pts[f.Severity]
	}
	return min(s, 100)
}

func childNames(cs []parsers.Child) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestParser_Parse_adwindLike(t *testing.T) {
	data := adwindLike(t)
	if got := filetype.Detect(data, "Payment_Advice.pdf.jar"); got != filetype.JAR {
		t.Fatalf("Detect = %q, want jar", got)
	}
	rec, err := parsertest.Run(t, New(), "Payment_Advice.pdf.jar", filetype.JAR, data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []finding{
		{"jar.file", parsers.Medium},
		{"jar.obfuscated_names", parsers.High},
		{"jar.encrypted_resource", parsers.Medium},
		{"jar.obfuscated_main", parsers.Medium},
	}
	if diff := cmp.Diff(want, codes(rec.Findings)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if s := score(rec.Findings); s < 70 {
		t.Errorf("score %d, want malicious (>= 70)", s)
	}
	if got := rec.MetaData["classes"]; got != 151 {
		t.Errorf("classes = %v, want 151", got)
	}
	if got := rec.MetaData["obfuscated_class_ratio"].(float64); got != 0.993 {
		t.Errorf("obfuscated_class_ratio = %v, want 0.993 (150/151)", got)
	}
	if diff := cmp.Diff([]string{"lIl.dat"}, rec.MetaData["high_entropy_resources"]); diff != "" {
		t.Errorf("high_entropy_resources (-want +got):\n%s", diff)
	}
	if got := rec.MetaData["main_class"]; got != "lIlIl.Main" {
		t.Errorf("main_class = %v", got)
	}
	if got := rec.MetaData["created_by"]; got != "1.8.0_131 (Oracle Corporation)" {
		t.Errorf("created_by = %v", got)
	}
	if diff := cmp.Diff([]string{ManifestPath, "lIl.dat"}, childNames(rec.Children)); diff != "" {
		t.Errorf("children (-want +got):\n%s", diff)
	}
	for _, c := range rec.Children {
		switch c.Name {
		case ManifestPath:
			if c.Type != filetype.Text || !c.Text {
				t.Errorf("manifest child type %q text %v", c.Type, c.Text)
			}
		case "lIl.dat":
			if c.Type != "" || len(c.Data) != 4096 || c.Err != nil {
				t.Errorf("lIl.dat child type %q len %d err %v", c.Type, len(c.Data), c.Err)
			}
		}
	}
	for _, f := range rec.Findings {
		if f.Campaign != "adwind" {
			t.Errorf("%s campaign %q", f.Code, f.Campaign)
		}
	}
}

func TestParser_Parse_businessJar(t *testing.T) {
	data := businessJar(t)
	rec, err := parsertest.Run(t, New(), "ledger-2.4.1.jar", filetype.JAR, data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if diff := cmp.Diff([]finding{{"jar.file", parsers.Medium}}, codes(rec.Findings)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if s := score(rec.Findings); s >= 70 {
		t.Errorf("score %d reaches malicious", s)
	}
	if diff := cmp.Diff(map[string]any{
		"classes":                30,
		"obfuscated_class_ratio": 0.0,
		"max_package_depth":      4,
		"high_entropy_resources": []string{},
		"main_class":             "com.example.app.Main",
		"created_by":             "1.8.0_131 (Oracle Corporation)",
		"manifest": map[string]string{
			"Manifest-Version": "1.0", "Created-By": "1.8.0_131 (Oracle Corporation)", "Main-Class": "com.example.app.Main",
		},
	}, rec.MetaData); diff != "" {
		t.Errorf("meta (-want +got):\n%s", diff)
	}
	want := []string{ManifestPath, "com/example/app/app.properties", "META-INF/maven/com.example/app/pom.properties"}
	if diff := cmp.Diff(want, childNames(rec.Children)); diff != "" {
		t.Errorf("children (-want +got):\n%s", diff)
	}
}

func TestParser_Parse_cases(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n"), randomBytes(7, 4000)...)
	var many []member
	for i := range 12 {
		many = append(many, member{fmt.Sprintf("a/b%c.class", 'a'+i), classBytes})
	}
	tests := []struct {
		name       string
		artifact   string
		members    []member
		want       []finding
		wantConfig []string
	}{
		{
			name:    "tiny_loader_with_blob",
			members: []member{manifest("com.example.Loader"), {"com/example/Loader.class", classBytes}, {"com/example/x.bin", randomBytes(1, 8192)}},
			want:    []finding{{"jar.file", parsers.Medium}, {"jar.encrypted_resource", parsers.Medium}},
		},
		{
			name:    "image_is_not_a_blob",
			members: []member{manifest("com.example.Loader"), {"com/example/Loader.class", classBytes}, {"img/logo.png", png}},
			want:    []finding{{"jar.file", parsers.Medium}},
		},
		{
			name:    "small_blob_not_judged",
			members: []member{manifest("com.example.Loader"), {"com/example/Loader.class", classBytes}, {"k.bin", randomBytes(2, 512)}},
			want:    []finding{{"jar.file", parsers.Medium}},
		},
		{
			name:       "jrat_config_names",
			members:    []member{manifest("com.example.Start"), {"com/example/Start.class", classBytes}, {"drop.box", []byte("x")}, {"mega.download", []byte("y")}, {"config.xml", []byte("<c/>")}, {"com/example/config.xml", []byte("<c/>")}},
			want:       []finding{{"jar.file", parsers.Medium}, {"jar.config_resource", parsers.High}},
			wantConfig: []string{"drop.box", "mega.download", "config.xml"},
		},
		{
			name:    "main_q_classes",
			members: []member{manifest("com.example.Main"), {"com/example/Main.class", classBytes}, {"com/example/Main$Q1234.class", classBytes}},
			want:    []finding{{"jar.file", parsers.Medium}, {"jar.obfuscated_names", parsers.High}},
		},
		{
			name:    "short_names_over_half",
			members: append([]member{manifest("a.b")}, many...),
			want:    []finding{{"jar.file", parsers.Medium}, {"jar.obfuscated_names", parsers.High}, {"jar.obfuscated_main", parsers.Medium}},
		},
		{
			name:    "short_names_too_few_classes",
			members: []member{manifest(""), {"a/b.class", classBytes}, {"a/c.class", classBytes}},
			want:    []finding{{"jar.file", parsers.Medium}},
		},
		{
			name:     "library_jar_in_fat_jar",
			artifact: "BOOT-INF/lib/commons-text-1.10.jar",
			members:  []member{manifest(""), {"org/apache/commons/text/StringSubstitutor.class", classBytes}},
			want:     []finding{{"jar.file", parsers.Info}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.artifact
			if name == "" {
				name = "x.jar"
			}
			rec, err := parsertest.Run(t, New(), name, filetype.JAR, buildJar(t, tt.members))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, codes(rec.Findings)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if tt.wantConfig != nil {
				if diff := cmp.Diff(tt.wantConfig, rec.MetaData["config_resources"]); diff != "" {
					t.Errorf("config_resources (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestParser_Parse_malformed(t *testing.T) {
	good := businessJar(t)
	tests := []struct {
		name    string
		data    []byte
		wantErr error
	}{
		{"truncated", good[:len(good)/2], parsers.ErrMalformed},
		{"not_zip", []byte("PK\x03\x04 META-INF/MANIFEST.MF garbage"), parsers.ErrMalformed},
		{"corrupt_member", corruptCRC(t, good), parsers.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parsertest.Run(t, New(), "x.jar", filetype.JAR, tt.data)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !rec.HasFinding("jar.file") || !rec.HasFinding("jar.malformed") {
				t.Errorf("findings %v, want jar.file and jar.malformed", codes(rec.Findings))
			}
		})
	}
}

// corruptCRC flips a byte of the stored properties file so its CRC fails.
func corruptCRC(t *testing.T, jar []byte) []byte {
	b := slices.Clone(jar)
	i := bytes.Index(b, []byte("app.name=Ledger"))
	if i < 0 {
		// Deflated: damage the compressed stream right after the name.
		j := bytes.Index(b, []byte("com/example/app/app.properties"))
		if j < 0 {
			t.Fatal("member not found")
		}
		i = j + len("com/example/app/app.properties") + 2
	}
	b[i] ^= 0xff
	return b
}

func TestParser_Parse_limits(t *testing.T) {
	data := adwindLike(t)
	t.Run("max_entries", func(t *testing.T) {
		rec, err := parsertest.RunLimits(t, New(), "x.jar", filetype.JAR, data, parsers.Limits{MaxEntries: 20})
		if !errors.Is(err, parsers.ErrTooMany) {
			t.Fatalf("err = %v, want ErrTooMany", err)
		}
		if c := rec.MetaData["classes"].(int); c > 20 {
			t.Errorf("classes = %d, more than MaxEntries", c)
		}
	})
	t.Run("child_limit", func(t *testing.T) {
		ctx := t.Context()
		in := &parsers.Input{Artifact: &parsers.Artifact{Name: "x.jar", Type: filetype.JAR}, Data: data, Budget: parsers.NewBudget(ctx, parsers.Limits{})}
		rec := &parsertest.Recorder{MaxChildren: 1}
		if err := New().Parse(ctx, in, rec); err != nil {
			t.Fatal(err)
		}
		if len(rec.Children) != 1 || !rec.HasFinding("jar.obfuscated_names") {
			t.Errorf("children %d findings %v", len(rec.Children), codes(rec.Findings))
		}
	})
	t.Run("byte_budget", func(t *testing.T) {
		rec, err := parsertest.RunLimits(t, New(), "x.jar", filetype.JAR, data, parsers.Limits{MaxTotalBytes: 1000})
		if !errors.Is(err, parsers.ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
		for _, c := range rec.Children {
			if len(c.Data) > 1000 {
				t.Errorf("child %s has %d bytes", c.Name, len(c.Data))
			}
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		in := &parsers.Input{Artifact: &parsers.Artifact{Type: filetype.JAR}, Data: data, Budget: parsers.NewBudget(ctx, parsers.Limits{})}
		err := New().Parse(ctx, in, &parsertest.Recorder{})
		if !errors.Is(err, parsers.ErrDeadline) {
			t.Fatalf("err = %v, want ErrDeadline", err)
		}
	})
}

func TestObfuscatedPath(t *testing.T) {
	tests := []struct {
		p    string
		want bool
	}{
		{"Il/lI/IlI.class", true},
		{"a/b/c.class", true},
		{"IlI$1.class", true},
		{"lIlIl/Main.class", false},
		{"com/example/app/Main.class", false},
		{"ab/cd/Service.class", false},
		{"module-info.class", false},
		{"1.class", false},
	}
	for _, tt := range tests {
		if got := ObfuscatedPath(tt.p); got != tt.want {
			t.Errorf("ObfuscatedPath(%q) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestObfuscatedMain(t *testing.T) {
	tests := []struct {
		m    string
		want bool
	}{
		{"lIlIl.Main", true},
		{"a.b", true},
		{"Il.lI.Start", true},
		{"com.example.app.Main", false},
		{"org.I.Main", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ObfuscatedMain(tt.m); got != tt.want {
			t.Errorf("ObfuscatedMain(%q) = %v, want %v", tt.m, got, tt.want)
		}
	}
}

func TestParseManifest(t *testing.T) {
	m := "Manifest-Version: 1.0\r\nMain-Class: com.example.very.long.packa\r\n ge.Main\r\nX-Empty:\r\nbroken line\r\n\r\nName: a/b.class\r\nSHA-256-Digest: AAAA\r\n"
	attrs, main := ParseManifest([]byte(m))
	want := map[string]string{"Manifest-Version": "1.0", "Main-Class": "com.example.very.long.package.Main", "X-Empty": ""}
	if diff := cmp.Diff(want, attrs); diff != "" {
		t.Errorf("attrs (-want +got):\n%s", diff)
	}
	if main != "com.example.very.long.package.Main" {
		t.Errorf("main = %q", main)
	}
	var big strings.Builder
	for i := range 200 {
		fmt.Fprintf(&big, "K%d: %s\n", i, strings.Repeat("v", 2000))
	}
	attrs, _ = ParseManifest([]byte(big.String()))
	if len(attrs) != maxManifestAttrs || len(attrs["K0"]) != maxManifestValue {
		t.Errorf("caps: %d attrs, value %d bytes", len(attrs), len(attrs["K0"]))
	}
}

func TestEntropy(t *testing.T) {
	if e := Entropy(bytes.Repeat([]byte{'a'}, 4096)); e != 0 {
		t.Errorf("constant entropy = %v", e)
	}
	if e := Entropy(randomBytes(3, 4096)); e < highEntropy {
		t.Errorf("random entropy = %v, want >= %v", e, highEntropy)
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	if e := Entropy(all); e != 8 {
		t.Errorf("uniform entropy = %v, want 8", e)
	}
}

// TestParse_systemJars checks ordinary library JARs installed on the
// machine (Debian's /usr/share/java): none may reach High.
func TestParse_systemJars(t *testing.T) {
	files, _ := filepath.Glob("/usr/share/java/*.jar")
	if len(files) == 0 {
		t.Skip("no system JARs at /usr/share/java")
	}
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil || len(data) > 32*parsers.MiB {
			continue
		}
		if filetype.Detect(data, f) != filetype.JAR {
			continue
		}
		checked++
		rec, err := parsertest.Run(t, New(), filepath.Base(f), filetype.JAR, data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if diff := cmp.Diff([]finding{{"jar.file", parsers.Medium}}, codes(rec.Findings)); diff != "" {
			t.Errorf("%s findings (-want +got):\n%s", f, diff)
		}
	}
	t.Logf("%d system JARs checked", checked)
}

var update = flag.Bool("update", false, "rewrite the generated testdata files")

// TestWriteTestdata regenerates testdata/*.jar from the builders above
// with -update; otherwise it checks that the files are current.
func TestWriteTestdata(t *testing.T) {
	files := map[string][]byte{
		"adwind_like.jar": adwindLike(t),
		"business.jar":    businessJar(t),
	}
	parsertest.CheckTestdata(t, files, *update)
}

func TestTestdata(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.jar"))
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rec, _ := parsertest.Run(t, New(), filepath.Base(f), filetype.JAR, data)
		if !rec.HasFinding("jar.file") {
			t.Errorf("%s: no jar.file", f)
		}
	}
}

func FuzzParse(f *testing.F) {
	// Seeds stay small: the fuzzer minimises every new input it finds, and
	// minimising a 25 KB JAR stalls the run for most of its time. The large
	// testdata JARs are covered by the tests above.
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && len(b) <= 4*parsers.KiB {
			f.Add(b)
		}
	}
	f.Add(buildJar(f, []member{manifest("com.example.Main"), {"com/example/Main.class", classBytes}, {"app.properties", []byte("a=b\n")}}))
	f.Add(buildJar(f, []member{manifest("a.b"), {"a/b.class", classBytes}, {"Il/lI.class", classBytes}, {"Main$Q1234.class", classBytes}}))
	f.Add(buildJar(f, []member{{"drop.box", randomBytes(5, 1100)}}))
	f.Add(buildJarMethod(f, []member{manifest("lIl.Main"), {"lIl/Main.class", classBytes}, {"Il/I.class", classBytes}, {"x.dat", randomBytes(6, 1100)}}, zip.Store))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := parsertest.RunLimits(t, New(), "f.jar", filetype.JAR, data, parsers.Limits{MaxTotalBytes: 4 * parsers.MiB, MaxEntries: 200})
		if err != nil && !errors.Is(err, parsers.ErrMalformed) && !errors.Is(err, parsers.ErrLimit) && !errors.Is(err, parsers.ErrUnsupported) {
			t.Fatalf("unexpected error class: %v", err)
		}
		if !rec.HasFinding("jar.file") {
			t.Fatal("no jar.file finding")
		}
		if len(rec.Children) > maxChildren+1 {
			t.Fatalf("%d children", len(rec.Children))
		}
		total := 0
		for _, c := range rec.Children {
			total += len(c.Data)
		}
		if total > 4*parsers.MiB {
			t.Fatalf("children hold %d bytes, over the budget", total)
		}
		for _, f := range rec.Findings {
			if !strings.HasPrefix(f.Code, Name+".") {
				t.Fatalf("bad finding %+v", f)
			}
		}
		if r, ok := rec.MetaData["obfuscated_class_ratio"].(float64); !ok || r < 0 || r > 1 {
			t.Fatalf("ratio %v", rec.MetaData["obfuscated_class_ratio"])
		}
	})
}
