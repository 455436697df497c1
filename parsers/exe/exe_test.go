package exe

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/parsertest"
)

const marker = "TRIAGE-REGRESSION"

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

func utf16(s string) string { return string(utf16le(s)) }

func run(t *testing.T, data []byte) (*parsertest.Recorder, error) {
	t.Helper()
	typ := filetype.Detect(data, "")
	return parsertest.Run(t, New(), "sample", typ, data)
}

func TestParser_Match(t *testing.T) {
	p := New()
	for typ, want := range map[string]bool{filetype.PE: true, filetype.ELF: true, filetype.MachO: true, filetype.Zip: false, filetype.Class: false, filetype.Text: false} {
		if got := p.Match(&parsers.Artifact{Type: typ}, nil); got != want {
			t.Errorf("Match(%q) = %v, want %v", typ, got, want)
		}
	}
}

func TestParser_Parse_minimalPE(t *testing.T) {
	data := MinimalPE(marker+"\r\n", false)
	if got := filetype.Detect(data, "Schedule_and_Scoresheet.exe"); got != filetype.PE {
		t.Fatalf("Detect = %q, want pe", got)
	}
	rec, err := run(t, data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := map[string]any{
		"format":        "pe",
		"machine":       "0x014c",
		"arch":          "386",
		"is_dotnet":     false,
		"is_dll":        false,
		"subsystem":     "windows_cui",
		"sections":      []string{".text"},
		"imports_count": 3,
		"compile_time":  "2018-05-30T00:00:00Z",
		"overlay_size":  int64(0),
		"signed":        false,
		"packers":       []string{},
	}
	if diff := cmp.Diff(want, rec.MetaData); diff != "" {
		t.Errorf("meta (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]finding{{"exe.pe", parsers.High}}, codes(rec.Findings)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	f := rec.Findings[0]
	if f.Campaign != "fifa" || !slices.Equal(f.Attack, []string{"T1204.002"}) || !strings.Contains(f.Detail, "386") {
		t.Errorf("exe.pe finding %+v", f)
	}
	if !bytes.Contains(data, []byte(marker)) {
		t.Error("payload missing from the section")
	}
}

func TestParser_Parse_peVariants(t *testing.T) {
	withDLL := MinimalPE(marker, false)
	binary.LittleEndian.PutUint16(withDLL[0x40+22:], 0x2102)
	tests := []struct {
		name        string
		data        []byte
		want        []finding
		wantPackers []string
		wantMeta    map[string]any
	}{
		{
			name:     "dotnet_stealer_strings_utf16",
			data:     MinimalPE(utf16("Becky!")+"\x00"+utf16("FileZilla")+"\x00"+utf16("smtp.example.invalid")+"\x00"+utf16(marker), true),
			want:     []finding{{"exe.pe", parsers.High}, {"exe.dotnet_stealer_strings", parsers.Medium}},
			wantMeta: map[string]any{"is_dotnet": true},
		},
		{
			name:     "dotnet_stealer_strings_ascii_mixed_case",
			data:     MinimalPE("THUNDERBIRD\x00Outlook\x00\\Google\\Chrome\\User Data\\\x00"+marker, true),
			want:     []finding{{"exe.pe", parsers.High}, {"exe.dotnet_stealer_strings", parsers.Medium}},
			wantMeta: map[string]any{"is_dotnet": true},
		},
		{
			name:     "dotnet_two_strings_only",
			data:     MinimalPE(utf16("Becky")+utf16("smtp")+marker, true),
			want:     []finding{{"exe.pe", parsers.High}},
			wantMeta: map[string]any{"is_dotnet": true},
		},
		{
			name:     "native_with_stealer_strings",
			data:     MinimalPE("Becky FileZilla smtp "+marker, false),
			want:     []finding{{"exe.pe", parsers.High}},
			wantMeta: map[string]any{"is_dotnet": false},
		},
		{
			name:        "pyinstaller_in_inno",
			data:        MinimalPE("Inno Setup Setup Data (5.5.7)\x00MEI\x0c\x0b\x0a\x0b\x0e\x00"+marker, false),
			want:        []finding{{"exe.pe", parsers.High}, {"exe.pyinstaller_inno", parsers.High}},
			wantPackers: []string{"pyinstaller", "inno_setup"},
		},
		{
			name:        "pyinstaller_alone",
			data:        MinimalPE("_MEIPASS2\x00"+marker, false),
			want:        []finding{{"exe.pe", parsers.High}},
			wantPackers: []string{"pyinstaller"},
		},
		{
			name:        "autoit",
			data:        MinimalPE("AU3!EA06"+marker, false),
			want:        []finding{{"exe.pe", parsers.High}, {"exe.autoit", parsers.Medium}},
			wantPackers: []string{"autoit"},
		},
		{
			name:        "nsis",
			data:        MinimalPE("\xef\xbe\xad\xdeNullsoftInst"+marker, false),
			want:        []finding{{"exe.pe", parsers.High}},
			wantPackers: []string{"nsis"},
		},
		{
			name:     "overlay",
			data:     append(MinimalPE(marker, false), bytes.Repeat([]byte{0x41}, 100)...),
			want:     []finding{{"exe.pe", parsers.High}},
			wantMeta: map[string]any{"overlay_size": int64(100)},
		},
		{
			name:     "dll",
			data:     withDLL,
			want:     []finding{{"exe.pe", parsers.High}},
			wantMeta: map[string]any{"is_dll": true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := run(t, tt.data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, codes(rec.Findings)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			wantPackers := tt.wantPackers
			if wantPackers == nil {
				wantPackers = []string{}
			}
			if diff := cmp.Diff(wantPackers, rec.MetaData["packers"]); diff != "" {
				t.Errorf("packers (-want +got):\n%s", diff)
			}
			for k, v := range tt.wantMeta {
				if diff := cmp.Diff(v, rec.MetaData[k]); diff != "" {
					t.Errorf("meta %s (-want +got):\n%s", k, diff)
				}
			}
			for _, f := range rec.Findings {
				want := map[string]string{"exe.pe": "fifa", "exe.autoit": "agenttesla", "exe.dotnet_stealer_strings": "agenttesla", "exe.pyinstaller_inno": "pylocky"}[f.Code]
				if f.Campaign != want {
					t.Errorf("%s campaign %q, want %q", f.Code, f.Campaign, want)
				}
			}
		})
	}
}

func TestParser_Parse_malformedPE(t *testing.T) {
	good := MinimalPE(marker, false)
	badSig := slices.Clone(good)
	copy(badSig[0x40:], "XX")
	hugeLfanew := slices.Clone(good)
	binary.LittleEndian.PutUint32(hugeLfanew[0x3c:], 0xfffffff0)
	badOptSize := slices.Clone(good)
	binary.LittleEndian.PutUint16(badOptSize[0x40+20:], 0xffff)
	tests := []struct {
		name   string
		data   []byte
		wantPE bool // still reported as an executable
	}{
		{"truncated_section", good[:0x240], true},
		{"headers_only", good[:0x180], true},
		{"no_pe_signature", badSig, false},
		{"e_lfanew_out_of_range", hugeLfanew, false},
		{"short_mz", []byte("MZ\x90\x00"), false},
		{"bad_optional_header_size", badOptSize, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parsertest.Run(t, New(), "x.exe", filetype.PE, tt.data)
			if !errors.Is(err, parsers.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if !rec.HasFinding("exe.malformed") {
				t.Errorf("findings %v, want exe.malformed", codes(rec.Findings))
			}
			if got := rec.HasFinding("exe.pe"); got != tt.wantPE {
				t.Errorf("exe.pe = %v, want %v", got, tt.wantPE)
			}
			if rec.MetaData["format"] != "pe" {
				t.Errorf("format = %v", rec.MetaData["format"])
			}
		})
	}
}

func TestParser_Parse_minimalELF(t *testing.T) {
	data := MinimalELF(marker + "\n")
	if got := filetype.Detect(data, "x"); got != filetype.ELF {
		t.Fatalf("Detect = %q, want elf", got)
	}
	rec, err := run(t, data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := map[string]any{
		"format":        "elf",
		"machine":       "EM_X86_64",
		"arch":          "amd64",
		"file_type":     "exec",
		"sections":      []string{".text", ".shstrtab"},
		"imports_count": 0,
		"overlay_size":  int64(0),
		"packers":       []string{},
	}
	if diff := cmp.Diff(want, rec.MetaData); diff != "" {
		t.Errorf("meta (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]finding{{"exe.elf", parsers.Medium}}, codes(rec.Findings)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if rec.Findings[0].Campaign != "policy" {
		t.Errorf("campaign %q", rec.Findings[0].Campaign)
	}
}

// TestMinimalELF_runs executes the generated ELF: it must print the marker
// and exit 0, which proves the hand-assembled bytes are a real program.
func TestMinimalELF_runs(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("needs linux/amd64")
	}
	p := filepath.Join(t.TempDir(), "hello")
	if err := os.WriteFile(p, MinimalELF(marker+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), p).Output()
	if err != nil {
		t.Skipf("cannot execute from the temp dir (noexec?): %v", err)
	}
	if string(out) != marker+"\n" {
		t.Errorf("output %q, want %q", out, marker+"\n")
	}
}

func TestParser_Parse_minimalMachO(t *testing.T) {
	data := MinimalMachO(marker)
	if got := filetype.Detect(data, "x"); got != filetype.MachO {
		t.Fatalf("Detect = %q, want macho", got)
	}
	rec, err := run(t, data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := map[string]any{
		"format":        "macho",
		"machine":       "CpuAmd64",
		"arch":          "amd64",
		"file_type":     "exec",
		"sections":      []string{"__TEXT,__text"},
		"imports_count": 0,
		"overlay_size":  int64(0),
		"packers":       []string{},
	}
	if diff := cmp.Diff(want, rec.MetaData); diff != "" {
		t.Errorf("meta (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]finding{{"exe.macho", parsers.Medium}}, codes(rec.Findings)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func TestParser_Parse_malformedOther(t *testing.T) {
	elfData := MinimalELF(marker)
	machoData := MinimalMachO(marker)
	badMachO := slices.Clone(machoData)
	binary.LittleEndian.PutUint32(badMachO[16:], 5000) // ncmds beyond the data
	tests := []struct {
		name, typ string
		data      []byte
	}{
		{"elf_truncated_header", filetype.ELF, elfData[:40]},
		{"elf_truncated_segment", filetype.ELF, elfData[:0x80]},
		{"macho_bad_ncmds", filetype.MachO, badMachO},
		{"macho_fat_empty", filetype.MachO, []byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 0}},
		{"not_executable", filetype.PE, []byte("hello")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parsertest.Run(t, New(), "x", tt.typ, tt.data)
			if !errors.Is(err, parsers.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if !rec.HasFinding("exe.malformed") {
				t.Errorf("findings %v, want exe.malformed", codes(rec.Findings))
			}
		})
	}
}

func TestSafely_recoversPanic(t *testing.T) {
	info := Info{Format: FormatPE}
	err := safely(&info, func() error { panic("index out of range") })
	if !errors.Is(err, parsers.ErrMalformed) || len(info.Problems) != 1 {
		t.Fatalf("err %v problems %q", err, info.Problems)
	}
}

func TestParser_Parse_deadline(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	in := &parsers.Input{Artifact: &parsers.Artifact{Type: filetype.PE}, Data: MinimalPE(marker, false), Budget: parsers.NewBudget(ctx, parsers.Limits{})}
	if err := New().Parse(ctx, in, &parsertest.Recorder{}); !errors.Is(err, parsers.ErrDeadline) {
		t.Fatalf("err = %v, want ErrDeadline", err)
	}
}

// TestParse_goTestdata checks real compiler output shipped with the Go
// toolchain (debug/{pe,elf,macho}/testdata) against what objdump -p and
// file(1) say about the same files.
func TestParse_goTestdata(t *testing.T) {
	goroot, err := exec.CommandContext(t.Context(), "go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("go env GOROOT: %v", err)
	}
	root := filepath.Join(strings.TrimSpace(string(goroot)), "src", "debug")
	if _, err := os.Stat(filepath.Join(root, "pe", "testdata")); err != nil {
		t.Skipf("Go toolchain testdata not found at %s", root)
	}
	tests := []struct {
		path      string
		format    string
		arch      string
		finding   string
		imports   int    // objdump -p (PE) / objdump -T non-weak *UND* (ELF); -1: not checked
		subsystem string // objdump -p
		compiled  string // objdump -p Time/Date
		sections  int    // file(1)
		fat       []string
		malformed bool // the file is a truncated excerpt (objdump errors too)
	}{
		{"pe/testdata/gcc-386-mingw-exec", "pe", "386", "exe.pe", 32, "windows_cui", "2010-08-17T05:17:20Z", 15, nil, false},
		{"pe/testdata/gcc-amd64-mingw-exec", "pe", "amd64", "exe.pe", 65, "windows_cui", "2014-08-08T02:30:39Z", 17, nil, false},
		{"pe/testdata/vmlinuz-4.15.0-47-generic", "pe", "amd64", "exe.pe", 0, "efi_application", "", -1, nil, true},
		{"elf/testdata/gcc-386-freebsd-exec", "elf", "386", "exe.elf", 4, "", "", -1, nil, false},
		{"elf/testdata/gcc-amd64-linux-exec", "elf", "amd64", "exe.elf", 2, "", "", -1, nil, false},
		{"elf/testdata/gcc-riscv64-linux-exec", "elf", "riscv64", "exe.elf", 2, "", "", -1, nil, false},
		{"macho/testdata/gcc-amd64-darwin-exec.base64", "macho", "amd64", "exe.macho", -1, "", "", -1, nil, false},
		{"macho/testdata/clang-386-darwin-exec-with-rpath.base64", "macho", "386", "exe.macho", -1, "", "", -1, nil, false},
		{"macho/testdata/fat-gcc-386-amd64-darwin-exec.base64", "macho", "386", "exe.macho", -1, "", "", -1, []string{"386", "amd64"}, false},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(root, tt.path))
			if err != nil {
				t.Skip(err)
			}
			if strings.HasSuffix(tt.path, ".base64") {
				if data, err = base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data))); err != nil {
					t.Fatal(err)
				}
			}
			rec, err := run(t, data)
			if (err != nil) != tt.malformed {
				t.Errorf("Parse: %v, want malformed %v", err, tt.malformed)
			}
			if rec.MetaData["format"] != tt.format || rec.MetaData["arch"] != tt.arch {
				t.Errorf("format %v arch %v, want %s %s", rec.MetaData["format"], rec.MetaData["arch"], tt.format, tt.arch)
			}
			if !rec.HasFinding(tt.finding) || rec.HasFinding("exe.malformed") != tt.malformed {
				t.Errorf("findings %v, want %s, exe.malformed %v", codes(rec.Findings), tt.finding, tt.malformed)
			}
			if tt.imports >= 0 && rec.MetaData["imports_count"] != tt.imports {
				t.Errorf("imports_count %v, want %d", rec.MetaData["imports_count"], tt.imports)
			}
			if tt.subsystem != "" && rec.MetaData["subsystem"] != tt.subsystem {
				t.Errorf("subsystem %v, want %s", rec.MetaData["subsystem"], tt.subsystem)
			}
			if tt.compiled != "" && rec.MetaData["compile_time"] != tt.compiled {
				t.Errorf("compile_time %v, want %s", rec.MetaData["compile_time"], tt.compiled)
			}
			if s, _ := rec.MetaData["sections"].([]string); tt.sections >= 0 && len(s) != tt.sections {
				t.Errorf("%d sections, want %d", len(s), tt.sections)
			}
			if tt.fat != nil {
				if diff := cmp.Diff(tt.fat, rec.MetaData["fat_arches"]); diff != "" {
					t.Errorf("fat_arches (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestParse_self parses the running test binary: a real Go-built ELF.
func TestParse_self(t *testing.T) {
	p, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	data, err := os.ReadFile(p)
	if err != nil || runtime.GOOS != "linux" {
		t.Skip("not a readable linux executable")
	}
	rec, err := run(t, data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if rec.MetaData["arch"] != runtime.GOARCH || !rec.HasFinding("exe.elf") {
		t.Errorf("arch %v findings %v", rec.MetaData["arch"], codes(rec.Findings))
	}
	if s, _ := rec.MetaData["sections"].([]string); !slices.Contains(s, ".text") || !slices.Contains(s, ".go.buildinfo") {
		t.Errorf("sections %q", s)
	}
}

var update = flag.Bool("update", false, "rewrite the generated testdata files")

func testdataFiles() map[string][]byte {
	return map[string][]byte{
		"minimal.exe":        MinimalPE(marker+"\r\n", false),
		"minimal_dotnet.exe": MinimalPE(utf16("Becky")+utf16("FileZilla")+utf16("smtp")+utf16(marker), true),
		"minimal.elf":        MinimalELF(marker + "\n"),
		"minimal.macho":      MinimalMachO(marker),
	}
}

// TestWriteTestdata regenerates testdata/ with -update; otherwise it checks
// that the files match the builders.
func TestWriteTestdata(t *testing.T) {
	parsertest.CheckTestdata(t, testdataFiles(), *update)
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, b := range testdataFiles() {
		f.Add(b)
	}
	f.Add(MinimalPE("Inno Setup\x00_MEIPASS\x00AU3!EA06", true))
	f.Fuzz(func(t *testing.T, data []byte) {
		typ := filetype.Detect(data, "")
		if !filetype.IsExecutable(typ) {
			// Exercise every decoder on arbitrary bytes too.
			typ = []string{filetype.PE, filetype.ELF, filetype.MachO}[len(data)%3]
		}
		rec, err := parsertest.Run(t, New(), "f", typ, data)
		if err != nil && !errors.Is(err, parsers.ErrMalformed) {
			t.Fatalf("unexpected error class: %v", err)
		}
		if rec.MetaData["format"] != typ {
			t.Fatalf("format %v, want %s", rec.MetaData["format"], typ)
		}
		if (err != nil) != rec.HasFinding("exe.malformed") {
			t.Fatalf("err %v but findings %v", err, codes(rec.Findings))
		}
		for _, f := range rec.Findings {
			if !strings.HasPrefix(f.Code, Name+".") || f.Severity > parsers.High {
				t.Fatalf("bad finding %+v", f)
			}
		}
		if s, ok := rec.MetaData["sections"].([]string); ok && len(s) > maxSections {
			t.Fatalf("%d sections", len(s))
		}
	})
}
