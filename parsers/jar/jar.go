// Package jar parses Java archives: the manifest, statistics on class names,
// and the resources beside the classes (catalogue §8, Adwind/jRAT).
//
// A JAR is a zip with META-INF/MANIFEST.MF. Adwind-family RATs ship
// hundreds of classes in nested packages named only with I and l
// (Allatori-style obfuscation), an encrypted configuration or payload blob,
// and a Main-Class inside those packages. The parser measures those traits;
// resource members are handed to the pipeline as children.
package jar

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"triage/parsers"
	"triage/parsers/filetype"
)

// Name is the parser's registry name.
const Name = "jar"

// ManifestPath is the manifest's member name.
const ManifestPath = "META-INF/MANIFEST.MF"

// Bounds.
const (
	maxChildren      = 50               // resource members emitted as children
	maxEntropyReads  = 500              // resources read in all (children and entropy probes)
	entropyProbe     = 64 * parsers.KiB // bytes read from a resource that is not a child
	minEntropyBytes  = 1 * parsers.KiB  // smaller resources are not judged
	highEntropy      = 7.2              // bits per byte
	minClassesForObf = 10
	fewClasses       = 20 // "a tiny loader": at most this many classes
	maxManifestAttrs = 64
	maxManifestValue = 512
	maxListed        = 50 // names listed in meta and details
)

const campaign = "adwind"

// Parser parses JAR files. The zero value is ready to use.
type Parser struct{}

// New returns a JAR parser.
func New() *Parser { return &Parser{} }

// Name implements parsers.Parser.
func (*Parser) Name() string { return Name }

// Match implements parsers.Parser.
func (*Parser) Match(a *parsers.Artifact, _ []byte) bool {
	return a != nil && a.Type == filetype.JAR
}

var (
	mainQRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(^|/)Main\$Q[0-9]{4}\.class$`) })
	sigFileRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)^META-INF/[^/]+\.(SF|RSA|DSA|EC)$`) })
)

// configNames are member base names jRAT/Adwind/AlienSpy builds use for
// their configuration or encrypted payload, from public hunting rules.
// Generic ones count only at the archive root or under an obfuscated package.
var configNames = map[string]bool{
	"key.dat": true, "enc.dat": true, "drop.box": true, "mega.download": true, "sky.drive": true,
	"stubcito.opp": true, "textito.isn": true, "resources.xsx": true, "config.perl": true,
	"linux.plsk": true, "mac.hwid": true, "password.txt": false, "server.dll": false,
	"config.dat": false, "config.xml": false, "config.ini": false, "c.dat": false,
}

// configPaths are full member paths that are distinctive on their own.
var configPaths = map[string]bool{
	"resource/password.txt": true, "resource/server.dll": true, "stub/stub.dll": true,
	"windows/windows.ini": true, "components/manifest.ini": true, "load/ID": true,
}

// Stats are the class-name statistics of a JAR.
type Stats struct {
	Classes         int
	ObfuscatedPaths int // classes whose path is only [Il] or 1–2 character segments
	MainQ           int // Main$Q#### classes
	MaxDepth        int // deepest package nesting of a class
}

// Ratio is the share of obfuscated class paths.
func (s Stats) Ratio() float64 {
	if s.Classes == 0 {
		return 0
	}
	return float64(s.ObfuscatedPaths) / float64(s.Classes)
}

// Parse implements parsers.Parser.
func (*Parser) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	if in.Budget == nil {
		cp := *in
		cp.Budget = parsers.NewBudget(ctx, parsers.Limits{})
		in = &cp
	}
	j := &job{ctx: ctx, in: in, out: out}
	return j.run()
}

type job struct {
	ctx context.Context
	in  *parsers.Input
	out parsers.Sink

	stats        Stats
	manifest     map[string]string
	mainClass    string
	highEntropy  []string
	configs      []string
	oddities     []string
	children     int
	reads        int
	stopChildren bool
	limitErr     error // the first budget cut of a member
}

func (j *job) run() error {
	var errs []error
	zr, err := zip.NewReader(bytes.NewReader(j.in.Data), int64(len(j.in.Data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		j.oddities = append(j.oddities, "not a readable zip: "+err.Error())
		j.report()
		return fmt.Errorf("jar: open: %w: %v", parsers.ErrMalformed, err)
	}
	if err := j.walk(zr); err != nil {
		errs = append(errs, err)
	}
	if j.limitErr != nil && !errors.Is(errors.Join(errs...), parsers.ErrDeadline) {
		errs = append(errs, j.limitErr)
	}
	j.report()
	if len(j.oddities) > 0 {
		errs = append(errs, fmt.Errorf("jar: %w: %s", parsers.ErrMalformed, j.oddities[0]))
	}
	return errors.Join(errs...)
}

func (j *job) budgetErr() error {
	if err := j.ctx.Err(); err != nil {
		return fmt.Errorf("jar: %w: %v", parsers.ErrDeadline, err)
	}
	if err := j.in.Budget.Err(); err != nil {
		return fmt.Errorf("jar: %w", err)
	}
	return nil
}

func (j *job) maxEntries() int { return j.in.Budget.Limits.WithDefaults().MaxEntries }

// walk visits the members, in directory order, up to MaxEntries.
func (j *job) walk(zr *zip.Reader) error {
	files := zr.File
	var limitErr error
	if n := j.maxEntries(); len(files) > n {
		limitErr = fmt.Errorf("jar: %w: %d entries, only the first %d examined", parsers.ErrTooMany, len(files), n)
		files = files[:n]
	}
	for _, f := range files {
		if err := j.budgetErr(); err != nil {
			return err
		}
		name := f.Name
		switch {
		case strings.HasSuffix(name, "/") || f.Mode().IsDir():
			continue
		case strings.HasSuffix(name, ".class"):
			j.classEntry(name)
		case strings.EqualFold(name, ManifestPath):
			if j.manifest != nil {
				j.oddities = append(j.oddities, "more than one manifest")
				continue
			}
			if err := j.manifestEntry(f); err != nil {
				return err
			}
		case sigFileRE().MatchString(name):
			continue
		default:
			if err := j.resourceEntry(f); err != nil {
				return err
			}
		}
	}
	return limitErr
}

func (j *job) classEntry(name string) {
	j.stats.Classes++
	if ObfuscatedPath(name) {
		j.stats.ObfuscatedPaths++
	}
	if mainQRE().MatchString(name) {
		j.stats.MainQ++
	}
	if d := strings.Count(name, "/"); d > j.stats.MaxDepth {
		j.stats.MaxDepth = d
	}
}

// read returns a member's bytes under the budget, at most limit bytes when
// limit > 0. A budget cut returns the prefix and an ErrTooLarge error;
// damage is recorded as an oddity and returned as an error too.
func (j *job) read(f *zip.File, limit int64) ([]byte, error) {
	if f.Flags&0x1 != 0 {
		j.oddities = append(j.oddities, fmt.Sprintf("encrypted member %q (Java cannot load it)", cutName(f.Name)))
		return nil, fmt.Errorf("jar: member %q: %w: encrypted", f.Name, parsers.ErrUnsupported)
	}
	rc, err := f.Open()
	if err != nil {
		j.oddities = append(j.oddities, fmt.Sprintf("member %q: %v", cutName(f.Name), err))
		return nil, fmt.Errorf("jar: member %q: %w: %v", f.Name, parsers.ErrMalformed, err)
	}
	defer rc.Close()
	var r io.Reader = rc
	if limit > 0 {
		r = io.LimitReader(rc, limit)
	}
	j.reads++
	data, err := j.in.Budget.ReadAll(r, int64(min(f.CompressedSize64, math.MaxInt64)))
	switch {
	case err == nil:
	case errors.Is(err, parsers.ErrLimit):
		err = fmt.Errorf("jar: member %q: %w", f.Name, err)
		if j.limitErr == nil {
			j.limitErr = err
		}
	default:
		j.oddities = append(j.oddities, fmt.Sprintf("member %q: %v", cutName(f.Name), err))
		err = fmt.Errorf("jar: member %q: %w: %v", f.Name, parsers.ErrMalformed, err)
	}
	return data, err
}

func (j *job) manifestEntry(f *zip.File) error {
	data, err := j.read(f, 0)
	if errors.Is(err, parsers.ErrDeadline) {
		return err
	}
	j.manifest, j.mainClass = ParseManifest(data)
	if len(data) > 0 {
		j.child(parsers.Child{Name: f.Name, Data: data, Type: filetype.Text, Text: true, Err: err})
	}
	return nil
}

func (j *job) resourceEntry(f *zip.File) error {
	if isConfigName(f.Name) {
		j.configs = append(j.configs, f.Name)
	}
	asChild := !j.stopChildren && j.children < maxChildren
	if !asChild && (f.UncompressedSize64 < minEntropyBytes || j.reads >= maxEntropyReads) {
		return nil
	}
	var limit int64
	if !asChild {
		limit = entropyProbe
	}
	data, err := j.read(f, limit)
	if errors.Is(err, parsers.ErrDeadline) {
		return err
	}
	if len(data) >= minEntropyBytes && Entropy(data) >= highEntropy && !knownFormat(data, f.Name) {
		j.highEntropy = append(j.highEntropy, f.Name)
	}
	if asChild && (len(data) > 0 || err == nil) {
		j.child(parsers.Child{Name: f.Name, Data: data, Err: err})
	}
	return nil
}

func (j *job) child(c parsers.Child) {
	if j.stopChildren {
		return
	}
	if err := j.out.Child(c); err != nil {
		j.stopChildren = true
		return
	}
	j.children++
}

// report writes meta and findings from what walk gathered.
func (j *job) report() {
	out := j.out
	s := j.stats
	ratio := math.Round(s.Ratio()*1000) / 1000
	out.Meta("classes", s.Classes)
	out.Meta("obfuscated_class_ratio", ratio)
	out.Meta("max_package_depth", s.MaxDepth)
	out.Meta("high_entropy_resources", capList(j.highEntropy))
	if j.mainClass != "" {
		out.Meta("main_class", j.mainClass)
	}
	if j.manifest != nil {
		out.Meta("manifest", j.manifest)
		if cb := j.manifest["Created-By"]; cb != "" {
			out.Meta("created_by", cb)
		}
	}
	if len(j.configs) > 0 {
		out.Meta("config_resources", capList(j.configs))
	}

	sev := parsers.Medium
	detail := fmt.Sprintf("Java archive with %d class(es)", s.Classes)
	if j.mainClass != "" {
		detail += fmt.Sprintf(", Main-Class %q", j.mainClass)
	}
	detail += ": a JAR attachment is rare in business mail and runs with a double click where Java is installed"
	if isLibraryJar(j.in.Artifact) {
		sev = parsers.Info
		detail = fmt.Sprintf("library JAR inside an application archive (%d classes)", s.Classes)
	}
	out.Finding(parsers.Finding{Code: "jar.file", Severity: sev, Detail: detail, Campaign: campaign, Attack: []string{"T1204.002"}})

	if (s.Classes >= minClassesForObf && s.Ratio() > 0.5) || s.MainQ > 0 {
		var why []string
		if s.Classes >= minClassesForObf && s.Ratio() > 0.5 {
			why = append(why, fmt.Sprintf("%d of %d class paths (%.0f%%) are made only of I/l or 1–2 character names", s.ObfuscatedPaths, s.Classes, 100*s.Ratio()))
		}
		if s.MainQ > 0 {
			why = append(why, fmt.Sprintf("%d Main$Q#### class name(s)", s.MainQ))
		}
		out.Finding(parsers.Finding{Code: "jar.obfuscated_names", Severity: parsers.High,
			Detail: "obfuscated class names (Allatori-style, as in Adwind/jRAT): " + strings.Join(why, "; "), Campaign: campaign, Attack: []string{"T1027"}})
	}
	if len(j.highEntropy) > 0 && (s.Classes <= fewClasses || (s.Classes >= minClassesForObf && s.Ratio() > 0.5)) {
		out.Finding(parsers.Finding{Code: "jar.encrypted_resource", Severity: parsers.Medium,
			Detail:   fmt.Sprintf("high-entropy resource(s) %q beside %d class(es): an encrypted configuration or payload", capList(j.highEntropy), s.Classes),
			Campaign: campaign, Attack: []string{"T1027"}})
	}
	if len(j.configs) > 0 {
		out.Finding(parsers.Finding{Code: "jar.config_resource", Severity: parsers.High,
			Detail:   fmt.Sprintf("known jRAT/Adwind configuration resource name(s) %q", capList(j.configs)),
			Campaign: campaign, Attack: []string{"T1027"}})
	}
	if ObfuscatedMain(j.mainClass) {
		out.Finding(parsers.Finding{Code: "jar.obfuscated_main", Severity: parsers.Medium,
			Detail:   fmt.Sprintf("Main-Class %q is made of obfuscated (I/l or 1–2 character) names", j.mainClass),
			Campaign: campaign, Attack: []string{"T1027"}})
	}
	if len(j.oddities) > 0 {
		odd := j.oddities
		if len(odd) > 10 {
			odd = append(odd[:10:10], fmt.Sprintf("%d more", len(j.oddities)-10))
		}
		out.Finding(parsers.Finding{Code: "jar.malformed", Severity: parsers.Low, Detail: "damaged JAR: " + strings.Join(odd, "; ")})
	}
}

// isLibraryJar reports a JAR that sits in the library folder of a Spring
// Boot or web application archive: the outer archive carries the jar.file
// finding; each bundled library is context only.
func isLibraryJar(a *parsers.Artifact) bool {
	if a == nil {
		return false
	}
	n := strings.ToLower(a.Name)
	return strings.HasPrefix(n, "boot-inf/lib/") || strings.HasPrefix(n, "web-inf/lib/")
}

// ObfuscatedPath reports whether a class path is built only of segments
// made of the letters I and l or of at most two characters. Numeric inner
// class suffixes ($1) are ignored.
func ObfuscatedPath(p string) bool {
	p = strings.TrimSuffix(p, ".class")
	n := 0
	for _, s := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '$' }) {
		if strings.Trim(s, "0123456789") == "" {
			continue
		}
		n++
		if !isIl(s) && utf8.RuneCountInString(s) > 2 {
			return false
		}
	}
	return n > 0
}

// ObfuscatedMain reports whether a Main-Class is obfuscated: a package or
// class segment of two or more I/l letters, or only 1–2 character segments.
func ObfuscatedMain(m string) bool {
	if m == "" {
		return false
	}
	segs := strings.Split(m, ".")
	short := true
	for _, s := range segs {
		if len(s) >= 2 && isIl(s) {
			return true
		}
		if utf8.RuneCountInString(s) > 2 {
			short = false
		}
	}
	return short
}

func isIl(s string) bool { return s != "" && strings.Trim(s, "Il") == "" }

func isConfigName(name string) bool {
	if configPaths[name] {
		return true
	}
	base := path.Base(name)
	distinctive, known := configNames[strings.ToLower(base)]
	if !known {
		return false
	}
	if distinctive {
		return true
	}
	dir := path.Dir(name)
	return dir == "." || ObfuscatedPath(dir)
}

// ParseManifest reads the main section of a JAR manifest: "Name: value"
// lines with continuation lines that start with one space. It returns the
// attributes (bounded) and the Main-Class.
func ParseManifest(b []byte) (map[string]string, string) {
	attrs := map[string]string{}
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var key string
	for _, l := range strings.Split(s, "\n") {
		if l == "" {
			break // end of the main section
		}
		if l[0] == ' ' {
			if key != "" && len(attrs[key]) < maxManifestValue {
				attrs[key] = cutValue(attrs[key] + l[1:])
			}
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok || k == "" {
			key = ""
			continue
		}
		k = strings.TrimSpace(k)
		if _, dup := attrs[k]; !dup && len(attrs) >= maxManifestAttrs {
			key = ""
			continue
		}
		key = k
		attrs[k] = cutValue(strings.TrimSpace(v))
	}
	main := ""
	for k, v := range attrs {
		if strings.EqualFold(k, "Main-Class") {
			main = v
		}
	}
	return attrs, main
}

func cutValue(s string) string {
	if len(s) <= maxManifestValue {
		return s
	}
	n := maxManifestValue
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func cutName(s string) string {
	if len(s) > 200 {
		return cutValue(s[:200])
	}
	return s
}

func capList(l []string) []string {
	if l == nil {
		return []string{}
	}
	if len(l) > maxListed {
		return l[:maxListed]
	}
	return l
}

// Entropy returns the Shannon entropy of b in bits per byte.
func Entropy(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	var counts [256]int
	for _, c := range b {
		counts[c]++
	}
	n := float64(len(b))
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// mediaMagic are compressed or media formats whose entropy is naturally
// high and which the content detector does not name.
var mediaMagic = [][]byte{
	[]byte("OggS"), []byte("ID3"), []byte("fLaC"), []byte("RIFF"), []byte("wOFF"), []byte("wOF2"),
	[]byte("OTTO"), {0x00, 0x01, 0x00, 0x00}, []byte("BZh"), {0xfd, '7', 'z', 'X', 'Z'},
	{0x28, 0xb5, 0x2f, 0xfd}, []byte("II*\x00"), []byte("MM\x00*"), []byte("BM"),
	{0x00, 0x00, 0x01, 0x00},                 // .ico
	{0xff, 0xfb}, {0xff, 0xf3}, {0xff, 0xf2}, // MP3 frames
	{0xac, 0xed}, // Java serialization
}

// knownFormat reports high-entropy data that is an ordinary compressed or
// media file (images, fonts, sound, nested archives), not an opaque blob.
func knownFormat(b []byte, name string) bool {
	if filetype.Detect(b, name) != filetype.Binary {
		return true
	}
	for _, m := range mediaMagic {
		if bytes.HasPrefix(b, m) {
			return true
		}
	}
	return len(b) >= 12 && string(b[4:8]) == "ftyp" // MP4/MOV/HEIF
}
