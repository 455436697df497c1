package archive

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
	"strings"
	"testing"

	"triage/parsers"
	"triage/parsers/filetype"
)

// rarFile is one member of a generated RAR archive (stored, not packed:
// there is no RAR compressor to call).
type rarFile struct {
	name string
	data string
	dir  bool
}

type rarOpts struct {
	password       string // encrypt file data (AES-256-CBC)
	encryptHeaders bool   // and the headers (WinRAR -hp)
	kdf            int    // log2 PBKDF2 iterations; 0 means 10
	fileKDF        int    // for file records, if different
}

func rarVint(v uint64) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, c|0x80)
			continue
		}
		return append(out, c)
	}
}

// rar5Block builds one RAR5 block: CRC32, size, type, flags, optional
// extra and data sizes, fields, extra area.
func rar5Block(typ, flags uint64, fields, extra []byte, dataSize int) []byte {
	var h []byte
	h = append(h, rarVint(typ)...)
	if len(extra) > 0 {
		flags |= 0x0001
	}
	if dataSize >= 0 {
		flags |= 0x0002
	}
	h = append(h, rarVint(flags)...)
	if len(extra) > 0 {
		h = append(h, rarVint(uint64(len(extra)))...)
	}
	if dataSize >= 0 {
		h = append(h, rarVint(uint64(dataSize))...)
	}
	h = append(h, fields...)
	h = append(h, extra...)
	body := append(rarVint(uint64(len(h))), h...)
	out := binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(body))
	return append(out, body...)
}

// rar5KeysStd derives the data key and the 12-byte password check value with
// the standard library's PBKDF2: RAR5 takes the key after 2^kdf
// iterations and the check value after 2^kdf+32, folded to 8 bytes, plus
// 4 bytes of its SHA-256.
func rar5KeysStd(t testing.TB, password string, salt []byte, kdf int) (key, check []byte) {
	t.Helper()
	key, err := pbkdf2.Key(sha256.New, password, salt, 1<<kdf, 32)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := pbkdf2.Key(sha256.New, password, salt, 1<<kdf+32, 32)
	if err != nil {
		t.Fatal(err)
	}
	check = make([]byte, 8)
	for i, v := range k2 {
		check[i&7] ^= v
	}
	sum := sha256.Sum256(check)
	return key, append(check, sum[:4]...)
}

func cbcEncrypt(t testing.TB, key, iv, data []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	plain := append(slices.Clone(data), make([]byte, (16-len(data)%16)%16)...)
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, plain)
	return out
}

// makeRAR5 writes a RAR 5.0 archive from the technote
// (https://www.rarlab.com/technote.htm).
func makeRAR5(t testing.TB, opts rarOpts, files ...rarFile) []byte {
	t.Helper()
	kdf := opts.kdf
	if kdf == 0 {
		kdf = 10
	}
	out := []byte(rar5Sig)
	var headerKey []byte
	if opts.encryptHeaders {
		salt := bytes.Repeat([]byte{0x11}, 16)
		var check []byte
		headerKey, check = rar5KeysStd(t, opts.password, salt, kdf)
		fields := append(append(append(rarVint(0), rarVint(1)...), byte(kdf)), salt...)
		out = append(out, rar5Block(4, 0, append(fields, check...), nil, -1)...)
	}
	emit := func(block []byte, n int) {
		if headerKey != nil {
			iv := bytes.Repeat([]byte{byte(0x30 + n)}, 16)
			out = append(out, iv...)
			out = append(out, cbcEncrypt(t, headerKey, iv, block)...)
			return
		}
		out = append(out, block...)
	}
	emit(rar5Block(1, 0, rarVint(0), nil, -1), 0)
	for i, f := range files {
		var fields []byte
		flags := uint64(0x0004) // CRC32 present
		attr := uint64(0x20)
		if f.dir {
			flags, attr = 0x0001, 0x10
		}
		fields = append(fields, rarVint(flags)...)
		fields = append(fields, rarVint(uint64(len(f.data)))...)
		fields = append(fields, rarVint(attr)...)
		if !f.dir {
			fields = binary.LittleEndian.AppendUint32(fields, crc32.ChecksumIEEE([]byte(f.data)))
		}
		fields = append(fields, rarVint(0)...) // stored, version 0
		fields = append(fields, rarVint(0)...) // Windows
		fields = append(fields, rarVint(uint64(len(f.name)))...)
		fields = append(fields, f.name...)
		data := []byte(f.data)
		var extra []byte
		if opts.password != "" && !f.dir {
			salt := bytes.Repeat([]byte{byte(0x40 + i)}, 16)
			iv := bytes.Repeat([]byte{byte(0x60 + i)}, 16)
			fkdf := kdf
			if opts.fileKDF != 0 {
				fkdf = opts.fileKDF
			}
			var key, check []byte
			if fkdf <= 16 {
				key, check = rar5KeysStd(t, opts.password, salt, fkdf)
			} else {
				key, check = make([]byte, 32), make([]byte, 12) // never derived by the parser
			}
			rec := append(append(append(rarVint(1), rarVint(0)...), rarVint(1)...), byte(fkdf))
			rec = append(append(append(rec, salt...), iv...), check...)
			extra = append(rarVint(uint64(len(rec))), rec...)
			data = cbcEncrypt(t, key, iv, data)
		}
		emit(rar5Block(2, 0, fields, extra, len(data)), i+1)
		out = append(out, data...)
	}
	emit(rar5Block(5, 0, rarVint(0), nil, -1), len(files)+1)
	return out
}

// makeRAR4 writes a RAR 1.5–4.x archive of stored files.
func makeRAR4(t testing.TB, files ...rarFile) []byte {
	t.Helper()
	block := func(typ byte, flags uint16, rest []byte) []byte {
		b := []byte{typ}
		b = binary.LittleEndian.AppendUint16(b, flags)
		b = binary.LittleEndian.AppendUint16(b, uint16(7+len(rest)))
		b = append(b, rest...)
		return append(binary.LittleEndian.AppendUint16(nil, uint16(crc32.ChecksumIEEE(b))), b...)
	}
	out := []byte(rar4Sig)
	out = append(out, block(0x73, 0, make([]byte, 6))...)
	for _, f := range files {
		var h []byte
		h = binary.LittleEndian.AppendUint32(h, uint32(len(f.data)))
		h = binary.LittleEndian.AppendUint32(h, uint32(len(f.data)))
		h = append(h, 2) // Windows
		h = binary.LittleEndian.AppendUint32(h, crc32.ChecksumIEEE([]byte(f.data)))
		h = binary.LittleEndian.AppendUint32(h, 0x50210000) // DOS time
		h = append(h, 20, 0x30)                             // version 2.0, stored
		h = binary.LittleEndian.AppendUint16(h, uint16(len(f.name)))
		attr := uint32(0x20)
		flags := uint16(0x8000)
		if f.dir {
			attr, flags = 0x10, 0x8000|0x00e0
		}
		h = binary.LittleEndian.AppendUint32(h, attr)
		h = append(h, f.name...)
		out = append(out, block(0x74, flags, h)...)
		out = append(out, f.data...)
	}
	return append(out, block(0x7b, 0x4000, nil)...)
}

func TestRar_Parse(t *testing.T) {
	po := []rarFile{{name: "PO_20200715.exe", data: peStub()}}
	poWant := map[string]string{"PO_20200715.exe": peStub()}
	mixed := []rarFile{{name: "docs", dir: true}, {name: "docs/a.pdf", data: "%PDF-1.4"}, {name: "invoice.pdf.js", data: "var a = 1;"}}
	mixedWant := map[string]string{"docs/a.pdf": "%PDF-1.4", "invoice.pdf.js": "var a = 1;"}
	tests := []struct {
		name      string
		data      []byte
		env       []string
		children  map[string]string
		codes     []string
		encrypted bool
		password  string
	}{
		{name: "rar5_lone_exe", data: makeRAR5(t, rarOpts{}, po...), children: poWant, codes: []string{CodeLoneExecutable}},
		{name: "rar4_lone_exe", data: makeRAR4(t, po...), children: poWant, codes: []string{CodeLoneExecutable}},
		{name: "rar5_mixed", data: makeRAR5(t, rarOpts{}, mixed...), children: mixedWant, codes: []string{CodeDoubleExtension, CodeExecutable}},
		{name: "rar4_mixed", data: makeRAR4(t, mixed...), children: mixedWant, codes: []string{CodeDoubleExtension, CodeExecutable}},
		{
			name: "rar5_encrypted_password_in_body", data: makeRAR5(t, rarOpts{password: "PO#4471"}, po...), env: []string{"PO#4471"},
			children: poWant, codes: []string{CodeEncrypted, CodeLoneExecutable}, encrypted: true, password: "PO#4471",
		},
		{
			name: "rar5_encrypted_headers_common_password", data: makeRAR5(t, rarOpts{password: "infected", encryptHeaders: true}, mixed...),
			children: mixedWant, codes: []string{CodeEncrypted, CodeDoubleExtension, CodeExecutable}, encrypted: true, password: "infected",
		},
		{
			name: "rar5_encrypted_unknown_password", data: makeRAR5(t, rarOpts{password: "zz-unguessable"}, po...),
			children: map[string]string{"PO_20200715.exe": ""}, codes: []string{CodeEncrypted, CodeEncryptedUnopened, CodeLoneExecutable}, encrypted: true,
		},
		{
			name: "rar5_encrypted_headers_unknown_password", data: makeRAR5(t, rarOpts{password: "zz-unguessable", encryptHeaders: true}, po...),
			children: map[string]string{}, codes: []string{CodeEncrypted, CodeEncryptedUnopened}, encrypted: true,
		},
		{
			name: "rar5_costly_file_kdf_inside_encrypted_headers", data: makeRAR5(t, rarOpts{password: "Kx82", encryptHeaders: true, fileKDF: 22}, po...), env: []string{"Kx82"},
			children: map[string]string{}, codes: []string{CodeEncrypted, CodeEncryptedUnopened, CodeLimit}, encrypted: true,
		},
		{
			name: "rar5_costly_kdf_not_tried", data: makeRAR5(t, rarOpts{password: "infected", kdf: 20}, po...),
			children: map[string]string{"PO_20200715.exe": ""}, codes: []string{CodeEncrypted, CodeEncryptedUnopened, CodeLimit, CodeLoneExecutable}, encrypted: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := filetype.Detect(tt.data, "x.rar"); got != filetype.RAR {
				t.Fatalf("filetype.Detect = %q", got)
			}
			rec, err := run(t, NewRar(), "PO_20200715.rar", "rar", tt.data, tt.env...)
			if err != nil && !errors.Is(err, parsers.ErrLimit) {
				t.Fatalf("Parse: %v", err)
			}
			checkListing(t, rec, tt.children, tt.codes)
			if rec.MetaData["encrypted"] != tt.encrypted || (tt.encrypted && rec.MetaData["password"] != tt.password) {
				t.Errorf("meta %v", rec.MetaData)
			}
		})
	}
}

// TestRar5Keys checks the parser's single-pass PBKDF2 against the
// standard library's.
func TestRar5Keys(t *testing.T) {
	salt := []byte("0123456789abcdef")
	for _, kdf := range []int{0, 1, 5, 10} {
		key, check := rar5Keys("pässword", salt, kdf)
		wantKey, wantCheck := rar5KeysStd(t, "pässword", salt, kdf)
		if !bytes.Equal(key, wantKey) || !bytes.Equal(check, wantCheck) {
			t.Errorf("kdf %d: key %x check %x; want %x %x", kdf, key, check, wantKey, wantCheck)
		}
	}
}

func TestRar_Parse_hostile(t *testing.T) {
	t.Run("truncated_everywhere", func(t *testing.T) {
		for _, data := range [][]byte{
			makeRAR5(t, rarOpts{}, rarFile{name: "a.txt", data: "alpha"}, rarFile{name: "b.txt", data: "beta"}),
			makeRAR4(t, rarFile{name: "a.txt", data: "alpha"}, rarFile{name: "b.txt", data: "beta"}),
		} {
			for n := 0; n < len(data); n++ {
				rec, err := run(t, NewRar(), "x.rar", "rar", data[:n])
				assertInvariants(t, rec, err, parsers.Limits{})
				if len(rec.Children) == 2 && findingOf(rec, CodeMalformed) == nil && rec.Children[1].Err == nil && n < len(data)-20 {
					t.Fatalf("truncated at %d: complete listing without a malformed finding", n)
				}
			}
		}
	})
	t.Run("bit_flips", func(t *testing.T) {
		data := makeRAR5(t, rarOpts{password: "x"}, rarFile{name: "a.txt", data: "alpha"}, rarFile{name: "b.txt", data: "beta"})
		for i := range data {
			d := slices.Clone(data)
			d[i] ^= 0x5a
			rec, err := run(t, NewRar(), "x.rar", "rar", d, "x")
			assertInvariants(t, rec, err, parsers.Limits{})
		}
	})
	t.Run("max_entries", func(t *testing.T) {
		var files []rarFile
		for i := range 12 {
			files = append(files, rarFile{name: strings.Repeat("f", i+1) + ".txt", data: "x"})
		}
		rec, err := runLimits(t, NewRar(), "x.rar", "rar", makeRAR5(t, rarOpts{}, files...), parsers.Limits{MaxEntries: 4})
		if !errors.Is(err, parsers.ErrLimit) || len(rec.Children) != 4 || findingOf(rec, CodeLimit) == nil {
			t.Errorf("err %v children %d findings %v", err, len(rec.Children), codes(rec))
		}
	})
	t.Run("member_cut", func(t *testing.T) {
		files := []rarFile{{name: "big.bin", data: strings.Repeat("A", 3<<20)}, {name: "after.txt", data: "after"}}
		rec, err := runLimits(t, NewRar(), "x.rar", "rar", makeRAR5(t, rarOpts{}, files...), parsers.Limits{MaxArtifactBytes: 1 << 20})
		if !errors.Is(err, parsers.ErrLimit) || len(rec.Children) != 1 || !errors.Is(rec.Children[0].Err, parsers.ErrTooLarge) {
			t.Errorf("err %v children %v", err, childNames(rec))
		}
		if !hasDetail(rec, CodeLimit, "1 member(s) cut: artifact larger than 1048576 bytes") || !hasDetail(rec, CodeLimit, "listing stopped after a cut member") {
			t.Errorf("findings %+v", rec.Findings)
		}
	})
}
