package archive

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// Traditional PKWARE encryption ("ZipCrypto", APPNOTE.TXT 6.1): three 32-bit
// keys updated with CRC-32 and a linear congruence, a 12-byte header whose
// last byte checks the password.

const zipCryptoHeaderLen = 12

type zipCryptoKeys [3]uint32

func newZipCryptoKeys(password string) zipCryptoKeys {
	k := zipCryptoKeys{0x12345678, 0x23456789, 0x34567890}
	for i := 0; i < len(password); i++ {
		k.update(password[i])
	}
	return k
}

func crcByte(crc uint32, b byte) uint32 {
	return crc>>8 ^ crc32.IEEETable[byte(crc)^b]
}

func (k *zipCryptoKeys) update(b byte) {
	k[0] = crcByte(k[0], b)
	k[1] = (k[1]+k[0]&0xff)*134775813 + 1
	k[2] = crcByte(k[2], byte(k[1]>>24))
}

func (k *zipCryptoKeys) stream() byte {
	t := uint16(k[2] | 2)
	return byte((uint32(t) * uint32(t^1)) >> 8)
}

func (k *zipCryptoKeys) decrypt(b []byte) {
	for i, c := range b {
		p := c ^ k.stream()
		k.update(p)
		b[i] = p
	}
}

func (k *zipCryptoKeys) encrypt(b []byte) {
	for i, p := range b {
		c := p ^ k.stream()
		k.update(p)
		b[i] = c
	}
}

// zipCryptoOpen checks password against the entry's 12-byte encryption
// header and, when the check byte matches, returns a reader of the
// decrypted data that follows. The check byte is the CRC's high byte, or
// the high byte of the DOS modification time when sizes follow the data
// (flag bit 3): a wrong password passes with probability 1/256 (2/256), so
// callers confirm with the CRC of the decompressed data.
func zipCryptoOpen(e *zipEntry, raw []byte, password string) (io.Reader, bool) {
	if len(raw) < zipCryptoHeaderLen {
		return nil, false
	}
	k := newZipCryptoKeys(password)
	var hdr [zipCryptoHeaderLen]byte
	copy(hdr[:], raw)
	k.decrypt(hdr[:])
	check := hdr[zipCryptoHeaderLen-1]
	if check != byte(e.crc>>24) && (e.flags&flagDescriptor == 0 || check != byte(e.modTime>>8)) {
		return nil, false
	}
	return &zipCryptoReader{keys: k, r: bytes.NewReader(raw[zipCryptoHeaderLen:])}, true
}

// zipCryptoReader decrypts as it reads.
type zipCryptoReader struct {
	keys zipCryptoKeys
	r    io.Reader
}

func (z *zipCryptoReader) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	z.keys.decrypt(p[:n])
	return n, err
}

// ZipFile is one member for WriteEncryptedZip.
type ZipFile struct {
	Name string
	Data []byte
	// Modified defaults to 2020-01-01 00:00 UTC so output is reproducible.
	Modified time.Time
	// Store keeps the data uncompressed instead of deflating it.
	Store bool
	// Descriptor sets flag bit 3: sizes and CRC follow the data, and the
	// password check byte comes from the modification time (as Info-ZIP
	// writes when streaming).
	Descriptor bool
}

// WriteEncryptedZip writes a zip archive whose members are encrypted with
// traditional PKWARE encryption (ZipCrypto) under password: the kind of
// password-protected archive malspam sends with the password in the mail
// body. The 11 random bytes of each encryption header are derived from the
// password, name and content, so the same input always gives the same
// archive (sample generation needs stable output). ZipCrypto is weak; this
// is for test samples, not for protecting anything.
func WriteEncryptedZip(w io.Writer, password string, files []ZipFile) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		if err := writeEncryptedMember(zw, password, f); err != nil {
			return fmt.Errorf("archive: write %q: %w", f.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("archive: close zip: %w", err)
	}
	return nil
}

func writeEncryptedMember(zw *zip.Writer, password string, f ZipFile) error {
	mod := f.Modified
	if mod.IsZero() {
		mod = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	fh := &zip.FileHeader{
		Name:               f.Name,
		Method:             zip.Deflate,
		Flags:              flagEncrypted,
		CRC32:              crc32.ChecksumIEEE(f.Data),
		UncompressedSize64: uint64(len(f.Data)),
	}
	date, clock := dosTime(mod)
	// CreateRaw writes only the MS-DOS fields; the check byte uses them.
	//lint:ignore SA1019 the deprecated fields are exactly what is written
	fh.ModifiedDate, fh.ModifiedTime = date, clock
	body := f.Data
	if f.Store {
		fh.Method = zip.Store
	} else {
		var buf bytes.Buffer
		fw, err := flate.NewWriter(&buf, flate.BestCompression)
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.Data); err != nil {
			return err
		}
		if err := fw.Close(); err != nil {
			return err
		}
		body = buf.Bytes()
	}
	check := byte(fh.CRC32 >> 24)
	if f.Descriptor {
		fh.Flags |= flagDescriptor
		check = byte(clock >> 8)
	}
	seed := sha256.Sum256([]byte(password + "\x00" + f.Name + "\x00" + string(f.Data)))
	enc := make([]byte, 0, zipCryptoHeaderLen+len(body))
	enc = append(enc, seed[:zipCryptoHeaderLen-1]...)
	enc = append(enc, check)
	enc = append(enc, body...)
	k := newZipCryptoKeys(password)
	k.encrypt(enc)
	fh.CompressedSize64 = uint64(len(enc))
	mw, err := zw.CreateRaw(fh)
	if err != nil {
		return err
	}
	if _, err := mw.Write(enc); err != nil {
		return err
	}
	return nil
}

// dosTime encodes t as MS-DOS date and time fields (2-second resolution).
func dosTime(t time.Time) (date, clock uint16) {
	date = uint16((t.Year()-1980)<<9 | int(t.Month())<<5 | t.Day())
	clock = uint16(t.Hour()<<11 | t.Minute()<<5 | t.Second()/2)
	return date, clock
}
