package archive

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/nwaples/rardecode/v2"

	"triage/parsers"
	"triage/parsers/filetype"
)

// RarName is the RAR parser's name.
const RarName = "rar"

// Rar lists the members of RAR archives (1.5–4.x and 5.x) through
// github.com/nwaples/rardecode/v2. A header scan of our own first learns
// whether names or contents are encrypted and refuses RAR5 key derivations
// too costly to try passwords on; the decoder's dictionary is capped.
type Rar struct{}

// NewRar returns the RAR parser.
func NewRar() *Rar { return &Rar{} }

// Name implements parsers.Parser.
func (*Rar) Name() string { return RarName }

// Match implements parsers.Parser.
func (*Rar) Match(a *parsers.Artifact, _ []byte) bool { return a.Type == filetype.RAR }

const (
	rar4Sig = "Rar!\x1a\x07\x00"
	rar5Sig = "Rar!\x1a\x07\x01\x00"
	// rarMaxKDF bounds the RAR5 PBKDF2 work factor (log2 of the
	// iterations) passwords are tried at; WinRAR writes 15, the library
	// accepts up to 24 (16M HMAC-SHA256 rounds, seconds per try).
	rarMaxKDF = 17
	// rarMaxDict caps the decoding window the library allocates.
	rarMaxDict = 256 << 20
	// rarMaxHeader is RAR5's own bound on a block header.
	rarMaxHeader = 2 << 20
)

// Parse implements parsers.Parser.
func (*Rar) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	j := &rarJob{in: in, out: out, m: newMembers(out), pws: slowCandidates(in), enc: encryption{methods: map[string]bool{}}}
	j.enc.tried = len(j.pws)
	err := j.run(ctx)
	out.Meta("entries", j.entries)
	j.enc.report(out, j.m.files)
	return j.m.done(err)
}

type rarJob struct {
	in      *parsers.Input
	out     parsers.Sink
	m       *members
	pws     []password
	enc     encryption
	entries int
}

func (j *rarJob) options(pw string) []rardecode.Option {
	dict := min(max(2*j.in.Budget.Limits.MaxArtifactBytes, 4<<20), rarMaxDict)
	opts := []rardecode.Option{rardecode.MaxDictionarySize(dict)}
	if pw != "" {
		opts = append(opts, rardecode.Password(pw))
	}
	return opts
}

func (j *rarJob) run(ctx context.Context) error {
	scan := scanRAR(j.in.Data, j.in.Budget.Limits.MaxEntries)
	if scan.version != 0 {
		j.out.Meta("rar_version", scan.version)
	}
	var pw password
	if scan.headerEncrypted || scan.encryptedFiles > 0 {
		j.enc.methods[scan.method()] = true
		j.enc.header = scan.headerEncrypted
		if scan.maxKDF > rarMaxKDF {
			j.m.limitNote(fmt.Sprintf("RAR5 key derivation of 2^%d rounds; passwords not tried", scan.maxKDF))
		} else {
			for _, c := range j.pws {
				if err := j.in.Budget.Err(); err != nil {
					return err
				}
				if scan.headerEncrypted {
					if !scan.scanEncrypted(c.text, j.in.Budget.Limits.MaxEntries) {
						continue
					}
					if scan.maxKDF > rarMaxKDF {
						j.m.limitNote(fmt.Sprintf("RAR5 key derivation of 2^%d rounds; members not opened", scan.maxKDF))
						break
					}
				}
				if j.try(c.text) {
					pw = c
					j.enc.password = c
					break
				}
			}
		}
		if scan.headerEncrypted && pw.text == "" {
			return nil
		}
	}
	return j.list(ctx, pw.text)
}

// try reports whether pw opens the archive's first encrypted member (or
// its encrypted headers): the library checks RAR5's password check value,
// and the member's checksum once it is read to the end.
func (j *rarJob) try(pw string) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	r, err := rardecode.NewReader(bytes.NewReader(j.in.Data), j.options(pw)...)
	if err != nil {
		return false
	}
	for i := 0; i < j.in.Budget.Limits.MaxEntries; i++ {
		h, err := r.Next()
		if err != nil {
			return false
		}
		if h.IsDir {
			continue
		}
		if !h.Encrypted {
			if h.HeaderEncrypted {
				return true
			}
			continue
		}
		_, err = io.Copy(io.Discard, io.LimitReader(r, 4<<20))
		return err == nil
	}
	return false
}

// list emits the members, decrypting with pw when set.
func (j *rarJob) list(ctx context.Context, pw string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			j.m.malform(fmt.Sprintf("RAR decoder panic: %v", p))
			err = nil
		}
	}()
	b := j.in.Budget
	r, err := rardecode.NewReader(bytes.NewReader(j.in.Data), j.options(pw)...)
	if err != nil {
		j.m.malform(fmt.Sprintf("RAR: %v", err))
		return nil
	}
	for {
		if j.entries%64 == 63 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("archive: %w: %v", parsers.ErrDeadline, err)
			}
		}
		if err := b.Err(); err != nil {
			return err
		}
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			j.m.malform(fmt.Sprintf("RAR: %v", err))
			return nil
		}
		if j.entries >= b.Limits.MaxEntries {
			j.m.limitNote(fmt.Sprintf("more than %d entries; listing stopped", b.Limits.MaxEntries))
			return nil
		}
		j.entries++
		if h.IsDir {
			continue
		}
		var data []byte
		var ferr error
		if h.Encrypted {
			j.enc.total++
		}
		if h.Encrypted && pw == "" {
			ferr = fmt.Errorf("archive: %w: encrypted and no candidate password opened it", parsers.ErrUnsupported)
		} else {
			data, ferr = b.ReadAll(r, max(h.PackedSize, 1))
			switch {
			case ferr == nil:
			case errors.Is(ferr, parsers.ErrLimit):
			case errors.Is(ferr, rardecode.ErrArchivedFileEncrypted):
				ferr = fmt.Errorf("archive: %w: %v", parsers.ErrUnsupported, ferr)
			default:
				ferr = malformedf("%v", ferr)
			}
			if h.Encrypted && (ferr == nil || errors.Is(ferr, parsers.ErrLimit)) {
				j.enc.opened++
			}
		}
		if err := j.m.emit(h.Name, data, ferr); err != nil {
			j.m.limitNote("artifact budget spent; listing stopped")
			return fmt.Errorf("archive: emit %q: %w", h.Name, err)
		}
		if errors.Is(ferr, parsers.ErrLimit) {
			// Moving on from a cut member means decoding (solid) or at least
			// skipping the rest of it: a bomb stops the listing here.
			j.m.limitNote("listing stopped after a cut member")
			return nil
		}
	}
}

// rarScan is what the header scan learned.
type rarScan struct {
	version         int // 4 (1.5–4.x) or 5
	headerEncrypted bool
	encryptedFiles  int
	maxKDF          int // RAR5 log2 PBKDF2 iterations seen

	// RAR5 header encryption: key parameters and the encrypted blocks.
	hdrKDF   int
	hdrSalt  []byte
	hdrCheck []byte
	hdrRest  []byte
}

func (s rarScan) method() string {
	if s.version == 5 {
		return "aes-256"
	}
	return "aes-128"
}

// scanRAR walks up to limit block headers without decoding anything. It
// stops at encrypted headers and at the first inconsistency (the library
// then reports the damage).
func scanRAR(d []byte, limit int) rarScan {
	switch {
	case bytes.HasPrefix(d, []byte(rar5Sig)):
		return scanRAR5(d[len(rar5Sig):], limit)
	case bytes.HasPrefix(d, []byte(rar4Sig)):
		return scanRAR4(d[len(rar4Sig):], limit)
	}
	return rarScan{}
}

func scanRAR4(d []byte, limit int) rarScan {
	s := rarScan{version: 4}
	for n := 0; n < limit && len(d) >= 7; n++ {
		typ, flags, size := d[2], binary.LittleEndian.Uint16(d[3:]), int(binary.LittleEndian.Uint16(d[5:]))
		if size < 7 || size > len(d) {
			break
		}
		var add uint64
		switch {
		case typ == 0x73 && flags&0x0080 != 0: // archive header: encrypted headers
			s.headerEncrypted = true
			return s
		case typ == 0x74: // file header
			if size < 32 {
				return s
			}
			add = uint64(binary.LittleEndian.Uint32(d[7:]))
			if flags&0x0100 != 0 && size >= 36 {
				add |= uint64(binary.LittleEndian.Uint32(d[32:])) << 32
			}
			if flags&0x0004 != 0 {
				s.encryptedFiles++
			}
		case flags&0x8000 != 0 && size >= 11:
			add = uint64(binary.LittleEndian.Uint32(d[7:]))
		}
		if add > uint64(len(d)-size) {
			break
		}
		d = d[size+int(add):]
	}
	return s
}

func scanRAR5(d []byte, limit int) rarScan {
	s := rarScan{version: 5}
	for n := 0; n < limit && len(d) >= 5; n++ {
		b := rarBuf{b: d[4:]}
		size := b.vint()
		hlen := len(d) - 4 - len(b.b) // bytes of the size field
		if b.bad || size == 0 || size > uint64(len(b.b)) {
			break
		}
		hdr := rarBuf{b: b.b[:size]}
		typ, dataSize, ok := s.block(&hdr)
		if !ok {
			break
		}
		if typ == 4 { // archive encryption header: everything after is encrypted
			s.headerEncrypted = true
			hdr.vint() // version
			eflags := hdr.vint()
			if len(hdr.b) >= 17 {
				s.hdrKDF, s.hdrSalt = int(hdr.b[0]), hdr.b[1:17]
				s.maxKDF = max(s.maxKDF, s.hdrKDF)
				if eflags&0x0001 != 0 && len(hdr.b) >= 29 {
					s.hdrCheck = hdr.b[17:29]
				}
			}
			s.hdrRest = d[uint64(4+hlen)+size:]
			return s
		}
		total := uint64(4+hlen) + size
		if dataSize > uint64(len(d)) || total+dataSize > uint64(len(d)) {
			break
		}
		d = d[total+dataSize:]
	}
	return s
}

// block reads the common fields of a RAR5 block header (type, flags, extra
// area and data sizes), leaving hdr at the type-specific fields, and scans
// the extra area of a file or service header. ok is false when the header
// is damaged.
func (s *rarScan) block(hdr *rarBuf) (typ, dataSize uint64, ok bool) {
	typ, flags := hdr.vint(), hdr.vint()
	var extraSize uint64
	if flags&0x0001 != 0 {
		extraSize = hdr.vint()
	}
	if flags&0x0002 != 0 {
		dataSize = hdr.vint()
	}
	if hdr.bad || extraSize > uint64(len(hdr.b)) {
		return 0, 0, false
	}
	if typ == 2 || typ == 3 { // file, service
		s.scanExtra(hdr.b[len(hdr.b)-int(extraSize):], typ == 2)
	}
	return typ, dataSize, true
}

// scanExtra reads a RAR5 extra area for encryption records.
func (s *rarScan) scanExtra(area []byte, file bool) {
	extra := rarBuf{b: area}
	for len(extra.b) > 0 {
		rs := extra.vint()
		if extra.bad || rs > uint64(len(extra.b)) {
			return
		}
		rec := rarBuf{b: extra.b[:rs]}
		extra.b = extra.b[rs:]
		if rec.vint() != 1 { // not an encryption record
			continue
		}
		rec.vint() // version
		rec.vint() // flags
		if len(rec.b) > 0 {
			s.maxKDF = max(s.maxKDF, int(rec.b[0]))
		}
		if file {
			s.encryptedFiles++
		}
	}
}

// rar5Keys derives the RAR5 key for salt and 2^kdf PBKDF2-HMAC-SHA256
// iterations, and the 12-byte password check value (the PBKDF2 state 32
// iterations later, folded to 8 bytes, plus 4 bytes of its SHA-256).
func rar5Keys(password string, salt []byte, kdf int) (key, check []byte) {
	prf := hmac.New(sha256.New, []byte(password))
	prf.Write(salt)
	prf.Write([]byte{0, 0, 0, 1})
	u := prf.Sum(nil)
	t := slices.Clone(u)
	if kdf == 0 {
		key = slices.Clone(t)
	}
	for i := 1; i < 1<<kdf+32; i++ {
		prf.Reset()
		prf.Write(u)
		u = prf.Sum(u[:0])
		for j := range t {
			t[j] ^= u[j]
		}
		if i == 1<<kdf-1 {
			key = slices.Clone(t)
		}
	}
	check = make([]byte, 8)
	for i, v := range t {
		check[i&7] ^= v
	}
	sum := sha256.Sum256(check)
	return key, append(check, sum[:4]...)
}

// scanEncrypted decrypts the RAR5 block headers that follow an archive
// encryption header with password, to learn the key derivation cost of the
// file records inside before the library derives their keys. ok is false
// when the password check value rejects password.
func (s *rarScan) scanEncrypted(password string, limit int) (ok bool) {
	if s.hdrSalt == nil || s.hdrKDF > rarMaxKDF {
		return false
	}
	key, check := rar5Keys(password, s.hdrSalt, s.hdrKDF)
	if s.hdrCheck != nil && !bytes.Equal(check, s.hdrCheck) {
		return false
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return false
	}
	d := s.hdrRest
	for n := 0; n < limit && len(d) >= 32; n++ {
		iv := d[:16]
		first := make([]byte, 16)
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(first, d[16:32])
		b := rarBuf{b: first[4:]}
		size := b.vint()
		if b.bad || size > rarMaxHeader {
			return true
		}
		total := 4 + (12 - len(b.b)) + int(size)
		padded := (total + 15) / 16 * 16
		if 16+padded > len(d) {
			return true
		}
		plain := make([]byte, padded)
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, d[16:16+padded])
		hdr := rarBuf{b: plain[total-int(size) : total]}
		_, dataSize, ok := s.block(&hdr)
		if !ok {
			return true
		}
		next := uint64(16 + padded)
		if dataSize > uint64(len(d)) || next+dataSize > uint64(len(d)) {
			return true
		}
		d = d[next+dataSize:]
	}
	return true
}

// rarBuf reads RAR5 variable-length integers (7 bits per byte, low first).
type rarBuf struct {
	b   []byte
	bad bool
}

func (r *rarBuf) vint() uint64 {
	var v uint64
	for i := 0; i < 10; i++ {
		if len(r.b) == 0 {
			r.bad = true
			return 0
		}
		c := r.b[0]
		r.b = r.b[1:]
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v
		}
	}
	r.bad = true
	return v
}
