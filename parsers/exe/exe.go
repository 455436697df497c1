// Package exe parses native executables: Windows PE, Linux ELF and macOS
// Mach-O, with the standard library's debug packages. It reports the
// format, architecture and layout, and looks for the installer and packer
// markers the catalogue relies on (AutoIt, PyInstaller, Inno Setup, NSIS).
//
// Catalogue §10: an executable attachment is malicious in triage
// regardless of theme; §16: ELF and Mach-O attachments are flagged by
// policy; §6 and §12: PyInstaller inside Inno Setup (PyLocky), AutoIt and
// .NET credential-stealer strings (Agent Tesla).
package exe

import (
	"bytes"
	"context"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"triage/parsers"
	"triage/parsers/filetype"
)

// Name is the parser's registry name.
const Name = "exe"

// Bounds.
const (
	maxSections    = 64
	maxProblems    = 10
	maxStealerScan = 16 * parsers.MiB // bytes of a .NET PE searched for stealer strings
	minStealerHits = 3
)

// Formats reported in the "format" meta.
const (
	FormatPE    = "pe"
	FormatELF   = "elf"
	FormatMachO = "macho"
)

// Parser parses executables. The zero value is ready to use.
type Parser struct{}

// New returns an executable parser.
func New() *Parser { return &Parser{} }

// Name implements parsers.Parser.
func (*Parser) Name() string { return Name }

// Match implements parsers.Parser.
func (*Parser) Match(a *parsers.Artifact, _ []byte) bool {
	return a != nil && filetype.IsExecutable(a.Type)
}

// Info is what the parser learned about one executable.
type Info struct {
	Format       string
	Valid        bool // the format's headers parsed (a PE signature at least)
	Machine      string
	Arch         string
	Kind         string // ELF/Mach-O file type: "exec", "dyn", "rel", …
	IsDotNet     bool
	IsDLL        bool
	Subsystem    string
	Sections     []string
	ImportsCount int
	CompileTime  time.Time
	OverlaySize  int64
	Signed       bool     // PE with an Authenticode certificate table
	FatArches    []string // Mach-O universal binary members
	Packers      []string
	Problems     []string
}

func (i *Info) problem(format string, args ...any) {
	if len(i.Problems) < maxProblems {
		i.Problems = append(i.Problems, fmt.Sprintf(format, args...))
	}
}

// Parse implements parsers.Parser.
func (*Parser) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	if err := budgetErr(ctx, in.Budget); err != nil {
		return err
	}
	typ := ""
	if in.Artifact != nil {
		typ = in.Artifact.Type
	}
	info, err := Analyse(in.Data, typ)
	report(in.Data, info, out)
	return err
}

func budgetErr(ctx context.Context, b *parsers.Budget) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("exe: %w: %v", parsers.ErrDeadline, err)
	}
	if b != nil {
		if err := b.Err(); err != nil {
			return fmt.Errorf("exe: %w", err)
		}
	}
	return nil
}

// Analyse parses data as the executable format typ ("pe", "elf", "macho";
// empty means sniff the magic). Structural failures, including panics in
// the debug packages, become Problems and an error wrapping ErrMalformed;
// Info keeps what was read before.
func Analyse(data []byte, typ string) (Info, error) {
	if typ == "" || !filetype.IsExecutable(typ) {
		typ = filetype.Detect(data, "")
	}
	info := Info{Format: typ}
	var err error
	switch typ {
	case filetype.PE:
		err = safely(&info, func() error { return analysePE(data, &info) })
	case filetype.ELF:
		err = safely(&info, func() error { return analyseELF(data, &info) })
	case filetype.MachO:
		err = safely(&info, func() error { return analyseMachO(data, &info) })
	default:
		info.problem("not an executable (%s)", typ)
		err = fmt.Errorf("exe: %w: not an executable", parsers.ErrMalformed)
	}
	info.Packers = Markers(data, info.Sections)
	return info, err
}

// safely runs f, turning a panic in the debug packages into a problem.
func safely(info *Info, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			info.problem("%s parser failed on a hostile structure: %v", info.Format, r)
			err = fmt.Errorf("exe: %w: %s: panic: %v", parsers.ErrMalformed, info.Format, r)
		}
	}()
	return f()
}

// peArch names PE machine types.
var peArch = map[uint16]string{
	pe.IMAGE_FILE_MACHINE_I386:  "386",
	pe.IMAGE_FILE_MACHINE_AMD64: "amd64",
	pe.IMAGE_FILE_MACHINE_ARM:   "arm",
	pe.IMAGE_FILE_MACHINE_ARMNT: "arm",
	pe.IMAGE_FILE_MACHINE_ARM64: "arm64",
	pe.IMAGE_FILE_MACHINE_IA64:  "ia64",
}

var peSubsystems = map[uint16]string{
	pe.IMAGE_SUBSYSTEM_NATIVE:                   "native",
	pe.IMAGE_SUBSYSTEM_WINDOWS_GUI:              "windows_gui",
	pe.IMAGE_SUBSYSTEM_WINDOWS_CUI:              "windows_cui",
	pe.IMAGE_SUBSYSTEM_OS2_CUI:                  "os2_cui",
	pe.IMAGE_SUBSYSTEM_POSIX_CUI:                "posix_cui",
	pe.IMAGE_SUBSYSTEM_WINDOWS_CE_GUI:           "windows_ce_gui",
	pe.IMAGE_SUBSYSTEM_EFI_APPLICATION:          "efi_application",
	pe.IMAGE_SUBSYSTEM_EFI_BOOT_SERVICE_DRIVER:  "efi_boot_service_driver",
	pe.IMAGE_SUBSYSTEM_EFI_RUNTIME_DRIVER:       "efi_runtime_driver",
	pe.IMAGE_SUBSYSTEM_EFI_ROM:                  "efi_rom",
	pe.IMAGE_SUBSYSTEM_XBOX:                     "xbox",
	pe.IMAGE_SUBSYSTEM_WINDOWS_BOOT_APPLICATION: "windows_boot_application",
}

// hasPESignature reports "PE\0\0" at e_lfanew.
func hasPESignature(b []byte) bool {
	if len(b) < 0x40 {
		return false
	}
	off := int64(binary.LittleEndian.Uint32(b[0x3c:]))
	return off+4 <= int64(len(b)) && string(b[off:off+4]) == "PE\x00\x00"
}

func analysePE(data []byte, info *Info) error {
	info.Valid = hasPESignature(data)
	if !info.Valid {
		info.problem("MZ header without a PE signature")
	}
	f, err := pe.NewFile(bytes.NewReader(data))
	if err != nil {
		info.problem("PE headers: %v", err)
		return fmt.Errorf("exe: pe: %w: %v", parsers.ErrMalformed, err)
	}
	defer f.Close()
	fh := f.FileHeader
	info.Machine = fmt.Sprintf("0x%04x", fh.Machine)
	info.Arch = peArch[fh.Machine]
	if info.Arch == "" {
		info.Arch = "unknown"
	}
	info.IsDLL = fh.Characteristics&pe.IMAGE_FILE_DLL != 0
	if fh.TimeDateStamp != 0 {
		info.CompileTime = time.Unix(int64(fh.TimeDateStamp), 0).UTC()
	}
	var dirs []pe.DataDirectory
	var subsystem uint16
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader32:
		dirs, subsystem = oh.DataDirectory[:min(int(oh.NumberOfRvaAndSizes), len(oh.DataDirectory))], oh.Subsystem
	case *pe.OptionalHeader64:
		dirs, subsystem = oh.DataDirectory[:min(int(oh.NumberOfRvaAndSizes), len(oh.DataDirectory))], oh.Subsystem
	default:
		info.problem("no optional header: an object file, not an image")
	}
	if f.OptionalHeader != nil {
		info.Subsystem = peSubsystems[subsystem]
		if info.Subsystem == "" {
			info.Subsystem = fmt.Sprintf("unknown(%d)", subsystem)
		}
	}
	if len(dirs) > pe.IMAGE_DIRECTORY_ENTRY_COM_DESCRIPTOR {
		d := dirs[pe.IMAGE_DIRECTORY_ENTRY_COM_DESCRIPTOR]
		info.IsDotNet = d.VirtualAddress != 0 && d.Size != 0
	}

	var end int64
	size := int64(len(data))
	for _, s := range f.Sections {
		if len(info.Sections) < maxSections {
			info.Sections = append(info.Sections, s.Name)
		}
		if s.Size == 0 {
			continue
		}
		e := int64(s.Offset) + int64(s.Size)
		if e > size {
			info.problem("section %q extends %d bytes past the end of the file", cutName(s.Name), e-size)
		}
		end = max(end, e)
	}
	if end > 0 && end < size {
		info.OverlaySize = size - end
	}
	if len(dirs) > pe.IMAGE_DIRECTORY_ENTRY_SECURITY {
		// The security directory holds a file offset, not an RVA.
		d := dirs[pe.IMAGE_DIRECTORY_ENTRY_SECURITY]
		if d.VirtualAddress != 0 && d.Size != 0 {
			info.Signed = int64(d.VirtualAddress)+int64(d.Size) <= size
			if !info.Signed {
				info.problem("certificate table runs past the end of the file")
			}
		}
	}

	syms, err := f.ImportedSymbols()
	if err != nil {
		info.problem("import table: %v", err)
	}
	info.ImportsCount = len(syms)
	if len(info.Problems) > 0 {
		return fmt.Errorf("exe: pe: %w: %s", parsers.ErrMalformed, info.Problems[0])
	}
	return nil
}

// elfArch names ELF machines as Go does.
var elfArch = map[elf.Machine]string{
	elf.EM_386: "386", elf.EM_X86_64: "amd64", elf.EM_ARM: "arm", elf.EM_AARCH64: "arm64",
	elf.EM_MIPS: "mips", elf.EM_PPC: "ppc", elf.EM_PPC64: "ppc64", elf.EM_RISCV: "riscv64",
	elf.EM_S390: "s390x", elf.EM_SPARCV9: "sparc64", elf.EM_LOONGARCH: "loong64",
}

var elfKinds = map[elf.Type]string{
	elf.ET_REL: "rel", elf.ET_EXEC: "exec", elf.ET_DYN: "dyn", elf.ET_CORE: "core",
}

func analyseELF(data []byte, info *Info) error {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		info.problem("ELF headers: %v", err)
		return fmt.Errorf("exe: elf: %w: %v", parsers.ErrMalformed, err)
	}
	defer f.Close()
	info.Valid = true
	info.Machine = f.Machine.String()
	info.Arch = elfArch[f.Machine]
	if info.Arch == "" {
		info.Arch = "unknown"
	}
	info.Kind = elfKinds[f.Type]
	if info.Kind == "" {
		info.Kind = f.Type.String()
	}
	size := int64(len(data))
	var end int64
	for _, s := range f.Sections {
		if s.Name != "" && len(info.Sections) < maxSections {
			info.Sections = append(info.Sections, s.Name)
		}
		if s.Type == elf.SHT_NOBITS || s.Type == elf.SHT_NULL {
			continue
		}
		e := int64(s.Offset) + int64(s.FileSize)
		if e > size || e < 0 {
			info.problem("section %q extends past the end of the file", cutName(s.Name))
			continue
		}
		end = max(end, e)
	}
	for _, p := range f.Progs {
		e := int64(p.Off) + int64(p.Filesz)
		if e > size || e < 0 {
			info.problem("program header %s extends past the end of the file", p.Type)
			continue
		}
		end = max(end, e)
	}
	if shoff := shOff(data, f.Class, f.ByteOrder); shoff > 0 {
		end = max(end, min(shoff+int64(len(f.Sections))*shEntSize(f.Class), size))
	}
	if end > 0 && end < size {
		info.OverlaySize = size - end
	}
	syms, err := f.ImportedSymbols()
	if err == nil {
		info.ImportsCount = len(syms)
	}
	if len(info.Problems) > 0 {
		return fmt.Errorf("exe: elf: %w: %s", parsers.ErrMalformed, info.Problems[0])
	}
	return nil
}

func shOff(b []byte, c elf.Class, bo binary.ByteOrder) int64 {
	switch {
	case c == elf.ELFCLASS64 && len(b) >= 48:
		return int64(bo.Uint64(b[40:]) & (1<<62 - 1))
	case c == elf.ELFCLASS32 && len(b) >= 36:
		return int64(bo.Uint32(b[32:]))
	}
	return 0
}

func shEntSize(c elf.Class) int64 {
	if c == elf.ELFCLASS64 {
		return 64
	}
	return 40
}

var machoArch = map[macho.Cpu]string{
	macho.Cpu386: "386", macho.CpuAmd64: "amd64", macho.CpuArm: "arm", macho.CpuArm64: "arm64",
	macho.CpuPpc: "ppc", macho.CpuPpc64: "ppc64",
}

var machoKinds = map[macho.Type]string{
	macho.TypeObj: "obj", macho.TypeExec: "exec", macho.TypeDylib: "dylib", macho.TypeBundle: "bundle",
}

func analyseMachO(data []byte, info *Info) error {
	r := bytes.NewReader(data)
	var f *macho.File
	if len(data) >= 4 && (binary.BigEndian.Uint32(data) == macho.MagicFat) {
		ff, err := macho.NewFatFile(r)
		if err != nil {
			info.problem("Mach-O universal header: %v", err)
			return fmt.Errorf("exe: macho: %w: %v", parsers.ErrMalformed, err)
		}
		defer ff.Close()
		for _, a := range ff.Arches {
			if len(info.FatArches) < maxSections {
				info.FatArches = append(info.FatArches, cpuArch(a.Cpu))
			}
		}
		if len(ff.Arches) == 0 {
			info.problem("universal binary without members")
			return fmt.Errorf("exe: macho: %w: empty universal binary", parsers.ErrMalformed)
		}
		f = ff.Arches[0].File
	} else {
		var err error
		f, err = macho.NewFile(r)
		if err != nil {
			info.problem("Mach-O headers: %v", err)
			return fmt.Errorf("exe: macho: %w: %v", parsers.ErrMalformed, err)
		}
		defer f.Close()
	}
	info.Valid = true
	info.Machine = f.Cpu.String()
	info.Arch = cpuArch(f.Cpu)
	info.Kind = machoKinds[f.Type]
	if info.Kind == "" {
		info.Kind = f.Type.String()
	}
	size := int64(len(data))
	for _, s := range f.Sections {
		if len(info.Sections) < maxSections {
			info.Sections = append(info.Sections, s.Seg+","+s.Name)
		}
		if s.Offset != 0 && int64(s.Offset)+int64(s.Size) > size {
			info.problem("section %s,%s extends past the end of the file", cutName(s.Seg), cutName(s.Name))
		}
	}
	syms, err := f.ImportedSymbols()
	if err == nil {
		info.ImportsCount = len(syms)
	}
	if len(info.Problems) > 0 {
		return fmt.Errorf("exe: macho: %w: %s", parsers.ErrMalformed, info.Problems[0])
	}
	return nil
}

func cpuArch(c macho.Cpu) string {
	if a := machoArch[c]; a != "" {
		return a
	}
	return "unknown"
}

func cutName(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// Packer and installer markers (catalogue §0).
var (
	autoitMarkers      = [][]byte{[]byte("AU3!EA06"), []byte("AU3!EA05"), []byte(">>>AUTOIT SCRIPT<<<"), []byte(">>>AUTOIT NO CMDEXECUTE<<<")}
	pyinstallerMarkers = [][]byte{[]byte("MEI\x0c\x0b\x0a\x0b\x0e"), []byte("_MEIPASS")}
	innoMarkers        = [][]byte{[]byte("Inno Setup Setup Data"), []byte("Inno Setup")}
	nsisMarkers        = [][]byte{[]byte("\xef\xbe\xad\xdeNullsoftInst"), []byte("Nullsoft Install System")}
	upxMarkers         = [][]byte{[]byte("UPX!")}
)

// Markers returns the packers and installer builders whose markers data
// carries: "autoit", "pyinstaller", "inno_setup", "nsis", "upx".
func Markers(data []byte, sections []string) []string {
	var out []string
	has := func(ms [][]byte) bool {
		for _, m := range ms {
			if bytes.Contains(data, m) {
				return true
			}
		}
		return false
	}
	if has(autoitMarkers) {
		out = append(out, "autoit")
	}
	if has(pyinstallerMarkers) {
		out = append(out, "pyinstaller")
	}
	if has(innoMarkers) {
		out = append(out, "inno_setup")
	}
	if has(nsisMarkers) {
		out = append(out, "nsis")
	}
	upx := false
	for _, s := range sections {
		if strings.HasPrefix(s, "UPX") {
			upx = true
		}
	}
	if upx || has(upxMarkers) {
		out = append(out, "upx")
	}
	return out
}

// stealerStrings are credential stores and mail clients an info-stealer
// such as Agent Tesla names (catalogue §12), lowercase.
var stealerStrings = []string{
	"becky", "filezilla", "smtp", "thunderbird", "outlook", `\google\chrome\user data`,
	"wallet.dat", `\mozilla\firefox`, "logins.json", "foxmail", `\opera software\`,
	"coreftp", "winscp", "\\.purple\\accounts.xml",
}

// StealerStrings returns the stealer strings data contains as ASCII or
// UTF-16LE text, ignoring ASCII case.
func StealerStrings(data []byte) []string {
	if len(data) > maxStealerScan {
		data = data[:maxStealerScan]
	}
	low := make([]byte, len(data))
	for i, c := range data {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	var out []string
	for _, s := range stealerStrings {
		if bytes.Contains(low, []byte(s)) || bytes.Contains(low, utf16le(s)) {
			out = append(out, s)
		}
	}
	return out
}

func utf16le(s string) []byte {
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return b
}

// report writes meta and findings.
func report(data []byte, info Info, out parsers.Sink) {
	out.Meta("format", info.Format)
	if info.Machine != "" {
		out.Meta("machine", info.Machine)
	}
	if info.Arch != "" {
		out.Meta("arch", info.Arch)
	}
	if info.Valid {
		out.Meta("sections", nonNil(info.Sections))
		out.Meta("imports_count", info.ImportsCount)
		out.Meta("overlay_size", info.OverlaySize)
	}
	if info.Format == FormatPE && info.Valid {
		out.Meta("is_dotnet", info.IsDotNet)
		out.Meta("is_dll", info.IsDLL)
		if info.Subsystem != "" {
			out.Meta("subsystem", info.Subsystem)
		}
		if !info.CompileTime.IsZero() {
			out.Meta("compile_time", info.CompileTime.Format(time.RFC3339))
		}
		out.Meta("signed", info.Signed)
	}
	if info.Kind != "" {
		out.Meta("file_type", info.Kind)
	}
	if len(info.FatArches) > 0 {
		out.Meta("fat_arches", info.FatArches)
	}
	out.Meta("packers", nonNil(info.Packers))

	desc := describe(info)
	switch info.Format {
	case FormatPE:
		if info.Valid {
			out.Finding(parsers.Finding{Code: "exe.pe", Severity: parsers.High,
				Detail:   "Windows executable attachment (" + desc + "): malicious in triage regardless of theme",
				Campaign: "fifa", Attack: []string{"T1204.002"}})
		}
	case FormatELF:
		if info.Valid {
			out.Finding(parsers.Finding{Code: "exe.elf", Severity: parsers.Medium,
				Detail:   "Linux ELF executable attachment (" + desc + "): flagged by policy",
				Campaign: "policy"})
		}
	case FormatMachO:
		if info.Valid {
			out.Finding(parsers.Finding{Code: "exe.macho", Severity: parsers.Medium,
				Detail:   "macOS Mach-O executable attachment (" + desc + "): flagged by policy",
				Campaign: "policy"})
		}
	}
	has := func(p string) bool {
		for _, x := range info.Packers {
			if x == p {
				return true
			}
		}
		return false
	}
	if has("autoit") {
		out.Finding(parsers.Finding{Code: "exe.autoit", Severity: parsers.Medium,
			Detail:   "compiled AutoIt script marker: AutoIt wrapping hides the payload (Agent Tesla variant)",
			Campaign: "agenttesla", Attack: []string{"T1027"}})
	}
	if has("pyinstaller") && has("inno_setup") {
		out.Finding(parsers.Finding{Code: "exe.pyinstaller_inno", Severity: parsers.High,
			Detail:   "PyInstaller bundle inside an Inno Setup installer, the PyLocky packing",
			Campaign: "pylocky", Attack: []string{"T1027.002"}})
	}
	if info.Format == FormatPE && info.IsDotNet {
		if hits := StealerStrings(data); len(hits) >= minStealerHits {
			out.Finding(parsers.Finding{Code: "exe.dotnet_stealer_strings", Severity: parsers.Medium,
				Detail:   fmt.Sprintf(".NET executable naming %d credential stores or mail clients: %q", len(hits), hits),
				Campaign: "agenttesla", Attack: []string{"T1555"}})
		}
	}
	if len(info.Problems) > 0 {
		out.Finding(parsers.Finding{Code: "exe.malformed", Severity: parsers.Low,
			Detail: "damaged " + info.Format + " structure: " + strings.Join(info.Problems, "; ")})
	}
}

func describe(info Info) string {
	parts := []string{info.Arch}
	if info.IsDotNet {
		parts = append(parts, ".NET")
	}
	if info.IsDLL {
		parts = append(parts, "DLL")
	}
	if info.Subsystem != "" {
		parts = append(parts, info.Subsystem)
	}
	if info.Kind != "" {
		parts = append(parts, info.Kind)
	}
	if len(info.FatArches) > 0 {
		parts = append(parts, "universal "+strings.Join(info.FatArches, "+"))
	}
	if len(info.Packers) > 0 {
		parts = append(parts, "packed: "+strings.Join(info.Packers, ", "))
	}
	return strings.Join(parts, ", ")
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
