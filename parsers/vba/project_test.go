package vba

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"triage/parsers"
)

// mapStreams turns a stream map into a StreamFunc (case-insensitive).
func mapStreams(m map[string][]byte) StreamFunc {
	return func(name string) ([]byte, error) {
		for k, v := range m {
			if strings.EqualFold(k, name) {
				return v, nil
			}
		}
		return nil, fmt.Errorf("%q: %w", name, fs.ErrNotExist)
	}
}

func mustStreams(t testing.TB, s ProjectSpec) map[string][]byte {
	t.Helper()
	m, err := s.Streams()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func dirOf(t testing.TB, streams map[string][]byte) []byte {
	t.Helper()
	d, err := Decompress(streams["VBA/dir"], 0)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestParseDir_allRecordKinds(t *testing.T) {
	streams := mustStreams(t, ProjectSpec{Name: "Proj", CodePage: 1251, Modules: []ModuleSpec{
		{Name: "ThisDocument", Kind: KindDocument, Code: "x"},
		{Name: "Module1", Code: "y"},
	}})
	d, err := ParseDir(dirOf(t, streams))
	if err != nil {
		t.Fatal(err)
	}
	if d.CodePage != 1251 || string(d.NameBytes) != "Proj" || d.SysKind != 1 {
		t.Errorf("project fields: code page %d, name %q, syskind %d", d.CodePage, d.NameBytes, d.SysKind)
	}
	// stdole (REFERENCENAME+REGISTERED), MSForms (NAME+ORIGINAL+CONTROL),
	// Other (NAME+PROJECT): 7 reference records.
	if d.References != 7 {
		t.Errorf("references = %d, want 7", d.References)
	}
	if d.ModuleCount != 2 || len(d.Modules) != 2 {
		t.Fatalf("modules: declared %d, parsed %d", d.ModuleCount, len(d.Modules))
	}
	m := d.Modules[1]
	if string(m.NameBytes) != "Module1" || m.NameUnicode != "Module1" || m.StreamUnicode != "Module1" ||
		m.Type != Procedural || !m.HasOffset || m.TextOffset != 64 || !m.Terminated {
		t.Errorf("module record: %+v", m)
	}
	if d.Modules[0].Type != DocumentClass {
		t.Errorf("ThisDocument type %#x", d.Modules[0].Type)
	}
	if len(d.Warnings) != 0 {
		t.Errorf("warnings on a well-formed dir: %v", d.Warnings)
	}
}

func TestParseDir_hostile(t *testing.T) {
	good := dirOf(t, mustStreams(t, ProjectSpec{Modules: []ModuleSpec{{Name: "M", Code: "x"}}}))
	absurd := func(id uint16, size uint32) []byte {
		b := binary.LittleEndian.AppendUint16(nil, recSysKind)
		b = binary.LittleEndian.AppendUint32(b, 4)
		b = binary.LittleEndian.AppendUint32(b, 1)
		b = binary.LittleEndian.AppendUint16(b, id)
		return binary.LittleEndian.AppendUint32(b, size)
	}
	manyModules := func(n int) []byte {
		var b []byte
		for range n {
			b = binary.LittleEndian.AppendUint16(b, recModuleName)
			b = binary.LittleEndian.AppendUint32(b, 1)
			b = append(b, 'm')
		}
		return b
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr error
		modules int
	}{
		{"empty", nil, nil, 0},
		{"truncated_header", good[:3], parsers.ErrMalformed, 0},
		{"truncated_middle", good[:len(good)/2], parsers.ErrMalformed, 0},
		{"absurd_name_size", absurd(recProjectName, 0xFFFFFFF0), parsers.ErrMalformed, 0},
		{"absurd_module_name_size", absurd(recModuleName, 0x7FFFFFFF), parsers.ErrMalformed, 0},
		{"unknown_record_skipped", append(absurd(0x7777, 0), good[10:]...), nil, 1},
		{"too_many_modules", manyModules(MaxModules + 5), parsers.ErrTooMany, MaxModules},
		{"garbage", bytes.Repeat([]byte{0xFF}, 100), parsers.ErrMalformed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDir(tt.data)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if d == nil {
				t.Fatal("nil Dir")
			}
			if len(d.Modules) != tt.modules {
				t.Errorf("modules = %d, want %d", len(d.Modules), tt.modules)
			}
		})
	}
}

func TestExtractProject_namesKindsAndCodePages(t *testing.T) {
	tests := []struct {
		name     string
		codePage uint16
		modName  string
		code     string
	}{
		{"cp1252", 1252, "Módulo1", "MsgBox \"Größe café\""},
		{"cp932_shift_jis", 932, "モジュール1", "MsgBox \"請求書を確認してください\""},
		{"cp936_gbk", 936, "模块1", "MsgBox \"发票\""},
		{"cp949_korean", 949, "모듈1", "MsgBox \"송장\""},
		{"cp1251_cyrillic", 1251, "Модуль1", "MsgBox \"Счёт\""},
		{"cp1250_polish", 1250, "Moduł1", "MsgBox \"Faktura zaległa\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := ProjectSpec{CodePage: tt.codePage, Modules: []ModuleSpec{
				{Name: "ThisDocument", Kind: KindDocument, Code: "Private Sub Document_Open()\nEnd Sub"},
				{Name: tt.modName, Code: "Sub A()\n" + tt.code + "\nEnd Sub"},
				{Name: "Class1", Kind: KindClass, Code: "Public X"},
				{Name: "UserForm1", Kind: KindForm, Code: "Private Sub UserForm_Click()\nEnd Sub"},
			}}
			p, err := ExtractProject(context.Background(), mapStreams(mustStreams(t, spec)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.CodePage != tt.codePage {
				t.Errorf("code page %d", p.CodePage)
			}
			type got struct{ Filename, Kind, Stream, Source string }
			var gots []got
			for _, m := range p.Modules {
				if m.Err != nil {
					t.Errorf("%s: %v", m.Name, m.Err)
				}
				gots = append(gots, got{m.Filename, m.Kind, m.StreamName, m.Source()})
			}
			want := []got{
				{"ThisDocument.cls", KindDocument, "VBA/ThisDocument", "Private Sub Document_Open()\nEnd Sub"},
				{tt.modName + ".bas", KindProcedural, "VBA/" + tt.modName, "Sub A()\n" + tt.code + "\nEnd Sub"},
				{"Class1.cls", KindClass, "VBA/Class1", "Public X"},
				{"UserForm1.frm", KindForm, "VBA/UserForm1", "Private Sub UserForm_Click()\nEnd Sub"},
			}
			if diff := cmp.Diff(want, gots); diff != "" {
				t.Errorf("modules (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExtractProject_unlistedModuleGetsVbaExtension(t *testing.T) {
	streams := mustStreams(t, ProjectSpec{Modules: []ModuleSpec{{Name: "Hidden", Code: "Sub X()\nEnd Sub"}}})
	// Remove the module from PROJECT, as hiding tools do: olevba then names
	// it Hidden.vba.
	streams["PROJECT"] = bytes.ReplaceAll(streams["PROJECT"], []byte("Module=Hidden\r\n"), nil)
	p, err := ExtractProject(context.Background(), mapStreams(streams), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Modules) != 1 || p.Modules[0].Filename != "Hidden.vba" || p.Modules[0].Kind != KindProcedural {
		t.Fatalf("modules %+v", p.Modules)
	}
}

func TestExtractProject_protection(t *testing.T) {
	for _, tt := range []struct {
		name   string
		locked bool
	}{{"open", false}, {"locked", true}} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ExtractProject(context.Background(), mapStreams(mustStreams(t, ProjectSpec{Locked: tt.locked,
				Modules: []ModuleSpec{{Name: "M", Code: "x"}}})), nil)
			if err != nil {
				t.Fatal(err)
			}
			pr := p.Protection
			if pr.Locked() != tt.locked || pr.Password != tt.locked || pr.Hidden != tt.locked || pr.UserProtected != tt.locked {
				t.Errorf("protection %+v, want locked=%v", pr, tt.locked)
			}
		})
	}
}

// TestDecryptProjectValue decodes the unprotected CMG/DPB/GC values of a
// real Word project (quoted in olevba's source) and rejects junk.
func TestDecryptProjectValue(t *testing.T) {
	tests := []struct {
		name, hex string
		want      []byte
		ok        bool
	}{
		{"dpb_no_password", "8F8D7FE3831F2020202020", []byte{0}, true},
		{"gc_visible", "2D2FDD81E51EE61EE6E1", []byte{0xFF}, true},
		{"cmg_unprotected", "F1F301E705E705E705E705", []byte{0, 0, 0, 0}, true},
		{"odd_length", "8F8D7", nil, false},
		{"not_hex", "ZZZZZZZZZZZZZZZZZZZZ", nil, false},
		{"length_past_end", EncryptProjectValue(0x10, []byte{1, 2, 3})[:16], nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := decryptProjectValue(tt.hex)
			if ok != tt.ok || !bytes.Equal(got, tt.want) {
				t.Errorf("got %x %v, want %x %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestExtractProject_damagedModules(t *testing.T) {
	streams := mustStreams(t, ProjectSpec{Modules: []ModuleSpec{
		{Name: "Missing", Code: "a"},
		{Name: "Short", Code: "b"},
		{Name: "Corrupt", Code: "c"},
		{Name: "Fine", Code: "Sub Fine()\nEnd Sub"},
	}})
	delete(streams, "VBA/Missing")
	streams["VBA/Short"] = streams["VBA/Short"][:10] // shorter than the text offset
	corrupt := streams["VBA/Corrupt"]
	corrupt[64] = 0x07 // bad container signature
	p, err := ExtractProject(context.Background(), mapStreams(streams), nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Module{}
	for _, m := range p.Modules {
		byName[m.Name] = m
	}
	if !errors.Is(byName["Missing"].Err, fs.ErrNotExist) {
		t.Errorf("Missing: %v", byName["Missing"].Err)
	}
	if !errors.Is(byName["Short"].Err, parsers.ErrMalformed) {
		t.Errorf("Short: %v", byName["Short"].Err)
	}
	if !errors.Is(byName["Corrupt"].Err, parsers.ErrMalformed) {
		t.Errorf("Corrupt: %v", byName["Corrupt"].Err)
	}
	if m := byName["Fine"]; m.Err != nil || m.Source() != "Sub Fine()\nEnd Sub" {
		t.Errorf("Fine: %q %v", m.Source(), m.Err)
	}
}

func TestExtractProject_noDir(t *testing.T) {
	_, err := ExtractProject(context.Background(), mapStreams(map[string][]byte{}), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
	_, err = ExtractProject(context.Background(), mapStreams(map[string][]byte{"VBA/dir": {0x55}}), nil)
	if !errors.Is(err, parsers.ErrMalformed) {
		t.Fatalf("err = %v", err)
	}
}

// TestExtractProject_moduleBomb checks a module stream that expands far
// past the budget: the read is cut, not the process.
func TestExtractProject_moduleBomb(t *testing.T) {
	streams := mustStreams(t, ProjectSpec{Modules: []ModuleSpec{{Name: "Bomb", Code: "x"}}})
	streams["VBA/Bomb"] = append(make([]byte, 64), bomb(20000)...)
	l := parsers.DefaultLimits()
	l.MaxArtifactBytes = 2 * parsers.MiB
	budget := parsers.NewBudget(context.Background(), l)
	p, err := ExtractProject(context.Background(), mapStreams(streams), budget)
	if err != nil {
		t.Fatal(err)
	}
	m := p.Modules[0]
	if !errors.Is(m.Err, parsers.ErrTooLarge) {
		t.Fatalf("module err = %v, want ErrTooLarge", m.Err)
	}
	if len(m.Code) > 2*parsers.MiB {
		t.Errorf("kept %d bytes", len(m.Code))
	}
}

func TestFilterAttributes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Attribute VB_Name = \"M\"\r\nSub A()\r\nEnd Sub\r\n", "Sub A()\nEnd Sub"},
		{"Attribute VB_Name = \"M\"\r\nAttribute VB_Base = \"0{00020906}\"\r\n", ""},
		// A colon may hide a statement: olevba keeps the line.
		{"Attribute VB_Name = \"M\": Shell \"x\"\r\nSub A()", "Attribute VB_Name = \"M\": Shell \"x\"\nSub A()"},
		{"Sub A()\rAttribute VB_Name = \"late\"\n", "Sub A()\nAttribute VB_Name = \"late\""},
	}
	for _, tt := range tests {
		if got := FilterAttributes(tt.in); got != tt.want {
			t.Errorf("FilterAttributes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// countingStreams wraps open and counts the reads of each stream (by
// lower-case name).
func countingStreams(open StreamFunc, reads map[string]int) StreamFunc {
	return func(name string) ([]byte, error) {
		reads[strings.ToLower(name)]++
		return open(name)
	}
}

// TestExtractProject_sharedStreams checks a forged dir stream whose modules
// repeat one stream: the stream is read and decompressed once, later
// modules are marked Duplicate and share the source, and the work does not
// grow with the number of repetitions.
func TestExtractProject_sharedStreams(t *testing.T) {
	code := "Sub AutoOpen()\n" + strings.Repeat("  x = \"TRIAGE-REGRESSION\"\n", 2000) + "End Sub"
	build := func(n int) ProjectSpec {
		s := ProjectSpec{Modules: []ModuleSpec{{Name: "Module1", Code: code}, {Name: "Own", Code: "Sub Own()\nEnd Sub"}}}
		for i := range n {
			s.Modules = append(s.Modules, ModuleSpec{Name: fmt.Sprintf("Copy%d", i), Stream: "Module1", Code: "ignored"})
		}
		return s
	}
	for _, n := range []int{1, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			streams := mustStreams(t, build(n))
			reads := map[string]int{}
			budget := parsers.NewBudget(context.Background(), parsers.DefaultLimits())
			p, err := ExtractProject(context.Background(), countingStreams(mapStreams(streams), reads), budget)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Modules) != n+2 {
				t.Fatalf("%d modules, want %d", len(p.Modules), n+2)
			}
			if got := reads["vba/module1"]; got != 1 {
				t.Errorf("VBA/Module1 read %d times, want 1", got)
			}
			first := p.Modules[0]
			if first.Duplicate || first.Err != nil || !strings.Contains(first.Source(), "TRIAGE-REGRESSION") {
				t.Fatalf("first module: duplicate=%v err=%v", first.Duplicate, first.Err)
			}
			if p.Modules[1].Duplicate || p.Modules[1].Source() != "Sub Own()\nEnd Sub" {
				t.Errorf("own module: duplicate=%v source %q", p.Modules[1].Duplicate, p.Modules[1].Source())
			}
			for _, m := range p.Modules[2:] {
				if !m.Duplicate || m.Code != first.Code || m.StreamName != "VBA/Module1" || m.Err != nil {
					t.Fatalf("%s: duplicate=%v stream=%q err=%v, same code %v", m.Name, m.Duplicate, m.StreamName, m.Err, m.Code == first.Code)
				}
			}
			// The budget is charged for the dir stream and each distinct
			// source once.
			want := int64(len(dirOf(t, streams)) + len(first.Code) + len(p.Modules[1].Code))
			if got := budget.Used(); got != want {
				t.Errorf("budget used %d bytes, want %d", got, want)
			}
		})
	}
}

// TestExtractProject_sharedStreamOtherOffset: two modules naming one stream
// at different offsets are distinct (not Duplicate); the stream is read once.
func TestExtractProject_sharedStreamOtherOffset(t *testing.T) {
	streams := mustStreams(t, ProjectSpec{Modules: []ModuleSpec{
		{Name: "A", Code: "Sub A()\nEnd Sub"},
		{Name: "B", Stream: "A", PCode: make([]byte, 10)}, // offset 10: inside A's p-code
	}})
	reads := map[string]int{}
	p, err := ExtractProject(context.Background(), countingStreams(mapStreams(streams), reads), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := p.Modules[0], p.Modules[1]
	if a.Duplicate || b.Duplicate {
		t.Errorf("duplicate flags %v %v, want false false", a.Duplicate, b.Duplicate)
	}
	if a.Err != nil || a.Source() != "Sub A()\nEnd Sub" {
		t.Errorf("A: %q %v", a.Source(), a.Err)
	}
	if b.PCodeSize != 10 || !errors.Is(b.Err, parsers.ErrMalformed) {
		t.Errorf("B: p-code %d, err %v (want 10, malformed: offset 10 is p-code)", b.PCodeSize, b.Err)
	}
	if got := reads["vba/a"]; got != 1 {
		t.Errorf("VBA/A read %d times, want 1", got)
	}
}

// TestExtractProject_moduleCap checks that at most MaxProjectModules
// modules are extracted and the rest counted.
func TestExtractProject_moduleCap(t *testing.T) {
	const n = MaxProjectModules + 40
	var s ProjectSpec
	for i := range n {
		s.Modules = append(s.Modules, ModuleSpec{Name: fmt.Sprintf("M%d", i), Code: fmt.Sprintf("Sub P%d()\nEnd Sub", i)})
	}
	streams := mustStreams(t, s)
	reads := map[string]int{}
	p, err := ExtractProject(context.Background(), countingStreams(mapStreams(streams), reads), nil)
	if !errors.Is(err, parsers.ErrTooMany) {
		t.Fatalf("err = %v, want ErrTooMany", err)
	}
	if len(p.Modules) != MaxProjectModules || p.SkippedModules != 40 {
		t.Errorf("%d modules extracted, %d skipped; want %d, 40", len(p.Modules), p.SkippedModules, MaxProjectModules)
	}
	if last := p.Modules[len(p.Modules)-1]; last.Err != nil || last.Source() != fmt.Sprintf("Sub P%d()\nEnd Sub", MaxProjectModules-1) {
		t.Errorf("last module: %q %v", last.Source(), last.Err)
	}
	if reads[fmt.Sprintf("vba/m%d", MaxProjectModules)] != 0 {
		t.Error("a module past the cap was read")
	}
}

// TestExtractProject_deadline: a passed deadline stops extraction before
// the modules are read.
func TestExtractProject_deadline(t *testing.T) {
	streams := mustStreams(t, ProjectSpec{Modules: []ModuleSpec{{Name: "A", Code: "x"}, {Name: "B", Code: "y"}}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	budget := parsers.NewBudget(ctx, parsers.DefaultLimits())
	reads := map[string]int{}
	p, err := ExtractProject(context.Background(), countingStreams(mapStreams(streams), reads), budget)
	if !errors.Is(err, parsers.ErrDeadline) {
		t.Fatalf("err = %v, want ErrDeadline", err)
	}
	if len(p.Modules) != 0 || reads["vba/a"] != 0 {
		t.Errorf("%d modules extracted, VBA/A read %d times after the deadline", len(p.Modules), reads["vba/a"])
	}
}
