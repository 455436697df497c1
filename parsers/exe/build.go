package exe

import (
	"encoding/binary"
)

// This file builds inert test samples: tiny, valid executables whose only
// behaviour is to print a message (normally "TRIAGE-REGRESSION") and exit.
// Tests and the sample generator use them; the parser does not.

// PE layout used by MinimalPE: one section at RVA 0x1000, file offset 0x200.
const (
	peImageBase   = 0x400000
	peSectionRVA  = 0x1000
	peFileAlign   = 0x200
	peSectAlign   = 0x1000
	peImportOff   = 0x100 // import descriptors (one + terminator)
	peILTOff      = 0x130
	peIATOff      = 0x140
	peDLLNameOff  = 0x150
	peHintOff     = 0x160 // three hint/name entries, 0x10 apart
	peWrittenOff  = 0x190 // DWORD for WriteFile's byte count
	peCLIOff      = 0x1a0 // CLI (COR20) header when dotnet
	peMetadataOff = 0x200 // metadata root stub when dotnet
	pePayloadOff  = 0x240
)

// MinimalPE returns a 32-bit Windows console executable (i386) with one
// section ".text" holding its code, a kernel32 import table (GetStdHandle,
// WriteFile, ExitProcess) and payload; the code writes payload to standard
// output and exits. payload may hold any bytes (marker strings for tests).
// With dotnet the CLR data directory points to a CLI header and a metadata
// stub, so the file is classified as .NET; it is then not a runnable
// assembly. The sample is inert: it touches nothing but its own stdout.
func MinimalPE(payload string, dotnet bool) []byte {
	le := binary.LittleEndian
	sect := make([]byte, pePayloadOff+len(payload))
	va := func(off int) uint32 { return uint32(peImageBase + peSectionRVA + off) }
	rva := func(off int) uint32 { return uint32(peSectionRVA + off) }

	// Code: GetStdHandle(-11); WriteFile(h, payload, len, &written, 0); ExitProcess(0).
	var code []byte
	code = append(code, 0x6a, 0xf5)                    // push -11
	code = append(code, 0xff, 0x15)                    // call [IAT+0]
	code = le.AppendUint32(code, va(peIATOff))         //
	code = append(code, 0x6a, 0x00)                    // push 0 (lpOverlapped)
	code = append(code, 0x68)                          // push &written
	code = le.AppendUint32(code, va(peWrittenOff))     //
	code = append(code, 0x68)                          // push len
	code = le.AppendUint32(code, uint32(len(payload))) //
	code = append(code, 0x68)                          // push payload
	code = le.AppendUint32(code, va(pePayloadOff))     //
	code = append(code, 0x50)                          // push eax (handle)
	code = append(code, 0xff, 0x15)                    // call [IAT+4]
	code = le.AppendUint32(code, va(peIATOff+4))       //
	code = append(code, 0x6a, 0x00)                    // push 0
	code = append(code, 0xff, 0x15)                    // call [IAT+8]
	code = le.AppendUint32(code, va(peIATOff+8))       //
	copy(sect, code)

	// Import directory: one descriptor for kernel32.dll, then a null one.
	le.PutUint32(sect[peImportOff:], rva(peILTOff))        // OriginalFirstThunk
	le.PutUint32(sect[peImportOff+12:], rva(peDLLNameOff)) // Name
	le.PutUint32(sect[peImportOff+16:], rva(peIATOff))     // FirstThunk
	copy(sect[peDLLNameOff:], "kernel32.dll\x00")
	for i, fn := range []string{"GetStdHandle", "WriteFile", "ExitProcess"} {
		off := peHintOff + 0x10*i
		copy(sect[off+2:], fn+"\x00")
		le.PutUint32(sect[peILTOff+4*i:], rva(off))
		le.PutUint32(sect[peIATOff+4*i:], rva(off))
	}
	if dotnet {
		cli := sect[peCLIOff:]
		le.PutUint32(cli[0:], 72)                 // cb
		le.PutUint16(cli[4:], 2)                  // MajorRuntimeVersion
		le.PutUint16(cli[6:], 5)                  // MinorRuntimeVersion
		le.PutUint32(cli[8:], rva(peMetadataOff)) // MetaData.VirtualAddress
		le.PutUint32(cli[12:], 0x20)              // MetaData.Size
		le.PutUint32(cli[16:], 1)                 // Flags: ILONLY
		md := sect[peMetadataOff:]
		copy(md, "BSJB")
		le.PutUint16(md[4:], 1) // MajorVersion
		le.PutUint16(md[6:], 1) // MinorVersion
		le.PutUint32(md[12:], 12)
		copy(md[16:], "v4.0.30319\x00\x00")
	}
	copy(sect[pePayloadOff:], payload)

	rawSize := alignUp(len(sect), peFileAlign)
	imageSize := alignUp(peSectionRVA+len(sect), peSectAlign)
	out := make([]byte, peFileAlign+rawSize)

	// DOS header: "MZ", e_lfanew = 0x40.
	copy(out, "MZ")
	le.PutUint32(out[0x3c:], 0x40)
	// PE signature and COFF file header.
	h := out[0x40:]
	copy(h, "PE\x00\x00")
	le.PutUint16(h[4:], 0x14c)      // Machine: i386
	le.PutUint16(h[6:], 1)          // NumberOfSections
	le.PutUint32(h[8:], 0x5b0de980) // TimeDateStamp: 2018-05-30T00:00:00Z
	le.PutUint16(h[20:], 224)       // SizeOfOptionalHeader
	le.PutUint16(h[22:], 0x0103)    // RELOCS_STRIPPED | EXECUTABLE_IMAGE | 32BIT_MACHINE
	// Optional header (PE32).
	o := h[24:]
	le.PutUint16(o[0:], 0x10b)           // Magic
	o[2] = 14                            // linker version
	le.PutUint32(o[4:], uint32(rawSize)) // SizeOfCode
	le.PutUint32(o[16:], peSectionRVA)   // AddressOfEntryPoint
	le.PutUint32(o[20:], peSectionRVA)   // BaseOfCode
	le.PutUint32(o[24:], peSectionRVA)   // BaseOfData
	le.PutUint32(o[28:], peImageBase)    // ImageBase
	le.PutUint32(o[32:], peSectAlign)    // SectionAlignment
	le.PutUint32(o[36:], peFileAlign)    // FileAlignment
	le.PutUint16(o[40:], 6)              // MajorOperatingSystemVersion
	le.PutUint16(o[48:], 6)              // MajorSubsystemVersion
	le.PutUint32(o[56:], uint32(imageSize))
	le.PutUint32(o[60:], peFileAlign) // SizeOfHeaders
	le.PutUint16(o[68:], 3)           // Subsystem: Windows console
	le.PutUint16(o[70:], 0x8100)      // DllCharacteristics: NX_COMPAT | TERMINAL_SERVER_AWARE
	le.PutUint32(o[72:], 0x100000)    // SizeOfStackReserve
	le.PutUint32(o[76:], 0x1000)      // SizeOfStackCommit
	le.PutUint32(o[80:], 0x100000)    // SizeOfHeapReserve
	le.PutUint32(o[84:], 0x1000)      // SizeOfHeapCommit
	le.PutUint32(o[92:], 16)          // NumberOfRvaAndSizes
	dd := o[96:]
	le.PutUint32(dd[1*8:], rva(peImportOff)) // Import table
	le.PutUint32(dd[1*8+4:], 40)
	le.PutUint32(dd[12*8:], rva(peIATOff)) // IAT
	le.PutUint32(dd[12*8+4:], 16)
	if dotnet {
		le.PutUint32(dd[14*8:], rva(peCLIOff)) // CLR runtime header
		le.PutUint32(dd[14*8+4:], 72)
	}
	// Section header.
	s := o[224:]
	copy(s, ".text")
	le.PutUint32(s[8:], uint32(len(sect))) // VirtualSize
	le.PutUint32(s[12:], peSectionRVA)     // VirtualAddress
	le.PutUint32(s[16:], uint32(rawSize))  // SizeOfRawData
	le.PutUint32(s[20:], peFileAlign)      // PointerToRawData
	le.PutUint32(s[36:], 0xe0000060)       // CODE | INITIALIZED_DATA | EXECUTE | READ | WRITE

	copy(out[peFileAlign:], sect)
	return out
}

// ELF layout used by MinimalELF.
const (
	elfBase    = 0x400000
	elfHdrSize = 64
	elfPhSize  = 56
	elfShSize  = 64
)

// MinimalELF returns a static x86-64 Linux executable whose code writes msg
// to standard output with the write syscall and exits with status 0. It has
// one PT_LOAD segment and section headers for ".text" and ".shstrtab". The
// sample is inert: two syscalls, write(1, …) and exit(0).
func MinimalELF(msg string) []byte {
	le := binary.LittleEndian
	codeOff := elfHdrSize + elfPhSize
	var code []byte
	code = append(code, 0xb8, 1, 0, 0, 0) // mov eax, 1 (write)
	code = append(code, 0xbf, 1, 0, 0, 0) // mov edi, 1 (stdout)
	code = append(code, 0x48, 0x8d, 0x35) // lea rsi, [rip+disp32]
	code = le.AppendUint32(code, 16)      // msg follows the 16 bytes after lea
	code = append(code, 0xba)             // mov edx, len
	code = le.AppendUint32(code, uint32(len(msg)))
	code = append(code, 0x0f, 0x05)        // syscall
	code = append(code, 0xb8, 60, 0, 0, 0) // mov eax, 60 (exit)
	code = append(code, 0x31, 0xff)        // xor edi, edi
	code = append(code, 0x0f, 0x05)        // syscall
	text := append(code, msg...)
	loadEnd := codeOff + len(text)

	shstr := "\x00.text\x00.shstrtab\x00"
	shstrOff := loadEnd
	shOff := alignUp(shstrOff+len(shstr), 8)
	out := make([]byte, shOff+3*elfShSize)

	copy(out, "\x7fELF")
	out[4], out[5], out[6] = 2, 1, 1 // ELFCLASS64, little endian, version 1
	le.PutUint16(out[16:], 2)        // ET_EXEC
	le.PutUint16(out[18:], 62)       // EM_X86_64
	le.PutUint32(out[20:], 1)        // EV_CURRENT
	le.PutUint64(out[24:], uint64(elfBase+codeOff))
	le.PutUint64(out[32:], elfHdrSize) // e_phoff
	le.PutUint64(out[40:], uint64(shOff))
	le.PutUint16(out[52:], elfHdrSize)
	le.PutUint16(out[54:], elfPhSize)
	le.PutUint16(out[56:], 1) // e_phnum
	le.PutUint16(out[58:], elfShSize)
	le.PutUint16(out[60:], 3) // e_shnum
	le.PutUint16(out[62:], 2) // e_shstrndx

	ph := out[elfHdrSize:]
	le.PutUint32(ph[0:], 1) // PT_LOAD
	le.PutUint32(ph[4:], 5) // PF_R | PF_X
	le.PutUint64(ph[16:], elfBase)
	le.PutUint64(ph[24:], elfBase)
	le.PutUint64(ph[32:], uint64(loadEnd)) // p_filesz
	le.PutUint64(ph[40:], uint64(loadEnd)) // p_memsz
	le.PutUint64(ph[48:], 0x1000)

	copy(out[codeOff:], text)
	copy(out[shstrOff:], shstr)

	sh := out[shOff+elfShSize:] // [0] is the null section
	le.PutUint32(sh[0:], 1)     // name ".text"
	le.PutUint32(sh[4:], 1)     // SHT_PROGBITS
	le.PutUint64(sh[8:], 6)     // SHF_ALLOC | SHF_EXECINSTR
	le.PutUint64(sh[16:], uint64(elfBase+codeOff))
	le.PutUint64(sh[24:], uint64(codeOff))
	le.PutUint64(sh[32:], uint64(len(text)))
	le.PutUint64(sh[48:], 1)
	sh = out[shOff+2*elfShSize:]
	le.PutUint32(sh[0:], 7) // name ".shstrtab"
	le.PutUint32(sh[4:], 3) // SHT_STRTAB
	le.PutUint64(sh[24:], uint64(shstrOff))
	le.PutUint64(sh[32:], uint64(len(shstr)))
	le.PutUint64(sh[48:], 1)
	return out
}

// MinimalMachO returns a 64-bit x86-64 Mach-O executable header with one
// __TEXT segment whose __text section holds payload. It has no entry point
// command, so macOS will not run it: a structure sample only.
func MinimalMachO(payload string) []byte {
	le := binary.LittleEndian
	const hdr, seg, sec = 32, 72, 80
	dataOff := hdr + seg + sec
	out := make([]byte, dataOff+len(payload))
	le.PutUint32(out[0:], 0xfeedfacf) // MH_MAGIC_64
	le.PutUint32(out[4:], 0x01000007) // CPU_TYPE_X86_64
	le.PutUint32(out[8:], 3)          // CPU_SUBTYPE_X86_64_ALL
	le.PutUint32(out[12:], 2)         // MH_EXECUTE
	le.PutUint32(out[16:], 1)         // ncmds
	le.PutUint32(out[20:], seg+sec)   // sizeofcmds
	c := out[hdr:]
	le.PutUint32(c[0:], 0x19) // LC_SEGMENT_64
	le.PutUint32(c[4:], seg+sec)
	copy(c[8:], "__TEXT")
	le.PutUint64(c[24:], 0x100000000) // vmaddr
	le.PutUint64(c[32:], 0x1000)      // vmsize
	le.PutUint64(c[48:], uint64(len(out)))
	le.PutUint32(c[56:], 5) // maxprot r-x
	le.PutUint32(c[60:], 5) // initprot r-x
	le.PutUint32(c[64:], 1) // nsects
	s := c[seg:]
	copy(s[0:], "__text")
	copy(s[16:], "__TEXT")
	le.PutUint64(s[32:], 0x100000000+uint64(dataOff))
	le.PutUint64(s[40:], uint64(len(payload)))
	le.PutUint32(s[48:], uint32(dataOff))
	copy(out[dataOff:], payload)
	return out
}

func alignUp(n, a int) int { return (n + a - 1) &^ (a - 1) }
