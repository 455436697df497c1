package ole

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/rc4"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"unicode/utf16"

	"triage/parsers"
)

// DefaultExcelPassword is the password Excel tries silently when opening an
// encrypted workbook: a file encrypted with it opens without a prompt, so
// malspam uses it to hide macros from scanners.
const DefaultExcelPassword = "VelvetSweatshop"

// maxPasswordTries bounds the candidate passwords tried on one file, and
// maxDerivationRounds the hash rounds all tries may spend together (8 tries
// at Office's usual 100000).
const (
	maxPasswordTries    = 8
	maxDerivationRounds = 800_000
)

// encryption describes how a compound file is encrypted (MS-OFFCRYPTO).
type encryption struct {
	Scheme string // "agile", "standard", "rc4", "rc4-cryptoapi", "xor", "extensible", "unknown"
	Where  string // "EncryptedPackage", "WordDocument", "Workbook", "PowerPoint Document"
	// verify reports whether a password opens the file; nil when we cannot
	// check passwords for this scheme.
	verify func(password string) bool
	// decrypt returns the plain content (the OOXML package) for a verified
	// password; nil when we do not decrypt this scheme.
	decrypt func(password string) ([]byte, error)
	// rounds is the key-derivation hash rounds one try costs (agile).
	rounds int
}

// detectEncryption looks for every form of Office encryption in d.
func (d *doc) detectEncryption() *encryption {
	if info := d.lookup("EncryptionInfo"); info != nil && !info.Dir {
		enc := &encryption{Scheme: "unknown", Where: "EncryptedPackage"}
		raw, err := d.read(info)
		if err != nil || len(raw) < 8 {
			return enc
		}
		pkg := d.lookup("EncryptedPackage")
		d.ooxmlEncryption(enc, raw, pkg)
		return enc
	}
	if d.lookup("EncryptedPackage") != nil {
		return &encryption{Scheme: "unknown", Where: "EncryptedPackage"}
	}
	if e := d.lookup("WordDocument"); e != nil && !e.Dir {
		if enc := d.wordEncryption(e); enc != nil {
			return enc
		}
	}
	for _, name := range []string{"Workbook", "Book"} {
		if e := d.lookup(name); e != nil && !e.Dir {
			if enc := d.excelEncryption(e); enc != nil {
				return enc
			}
		}
	}
	if d.pptEncrypted() {
		enc := &encryption{Scheme: "rc4-cryptoapi", Where: "PowerPoint Document"}
		if e := d.lookup("PowerPoint Document"); e != nil {
			if data, err := d.read(e); err == nil {
				if rec := findPPTRecord(data, pptCryptSession, 0); rec != nil {
					enc.verify = rc4Verifier(rec)
				}
			}
		}
		return enc
	}
	return nil
}

// pptEncrypted reports an encrypted PowerPoint binary: the CurrentUserAtom
// header token says so (MS-PPT 2.3.2), or an EncryptedSummary stream exists.
func (d *doc) pptEncrypted() bool {
	if d.lookup("EncryptedSummary") != nil {
		return true
	}
	e := d.lookup("Current User")
	if e == nil || e.Dir || d.lookup("PowerPoint Document") == nil {
		return false
	}
	b, err := d.read(e)
	return err == nil && len(b) >= 16 && binary.LittleEndian.Uint32(b[12:]) == 0xF3D1C4DF
}

// ooxmlEncryption reads an EncryptionInfo stream (MS-OFFCRYPTO 2.3.4.5/10).
func (d *doc) ooxmlEncryption(enc *encryption, info []byte, pkg *entry) {
	major := binary.LittleEndian.Uint16(info)
	minor := binary.LittleEndian.Uint16(info[2:])
	switch {
	case major == 4 && minor == 4:
		enc.Scheme = "agile"
		a, err := parseAgile(info[8:])
		if err != nil {
			return
		}
		enc.verify = func(pw string) bool { _, ok := a.secretKey(pw); return ok }
		enc.rounds = a.spin
		enc.decrypt = func(pw string) ([]byte, error) {
			key, ok := a.secretKey(pw)
			if !ok {
				return nil, errors.New("wrong password")
			}
			data, err := d.read(pkg)
			if err != nil {
				return nil, err
			}
			return a.decryptPackage(key, data, d.budget)
		}
	case (major == 2 || major == 3 || major == 4) && minor == 2:
		enc.Scheme = "standard"
		s, err := parseStandard(info[8:])
		if err != nil {
			return
		}
		enc.verify = func(pw string) bool { _, ok := s.key(pw); return ok }
		enc.decrypt = func(pw string) ([]byte, error) {
			key, ok := s.key(pw)
			if !ok {
				return nil, errors.New("wrong password")
			}
			data, err := d.read(pkg)
			if err != nil {
				return nil, err
			}
			return decryptECB(key, data, d.budget)
		}
	case (major == 3 || major == 4) && minor == 3:
		enc.Scheme = "extensible"
	}
}

// wordEncryption reads the FIB of a Word binary document (MS-DOC 2.5.2).
func (d *doc) wordEncryption(e *entry) *encryption {
	data, err := d.read(e)
	if err != nil || len(data) < 0x22 {
		return nil
	}
	flags := binary.LittleEndian.Uint16(data[0x0A:])
	if flags&0x0100 == 0 { // fEncrypted
		return nil
	}
	if flags&0x8000 != 0 { // fObfuscated
		return &encryption{Scheme: "xor", Where: "WordDocument"}
	}
	table := "0Table"
	if flags&0x0200 != 0 { // fWhichTblStm
		table = "1Table"
	}
	enc := &encryption{Scheme: "unknown", Where: "WordDocument"}
	hdr, err := d.readPath(table)
	if err != nil || len(hdr) < 4 {
		return enc
	}
	enc.Scheme, enc.verify = rc4Scheme(hdr)
	return enc
}

// excelEncryption looks for a FILEPASS record in the workbook globals
// (MS-XLS 2.4.117).
func (d *doc) excelEncryption(e *entry) *encryption {
	data, err := d.read(e)
	if err != nil {
		return nil
	}
	for pos, n := 0, 0; pos+4 <= len(data) && n < 4096; n++ {
		typ := binary.LittleEndian.Uint16(data[pos:])
		size := int(binary.LittleEndian.Uint16(data[pos+2:]))
		body := data[pos+4 : min(pos+4+size, len(data))]
		pos += 4 + size
		switch typ {
		case 0x002F: // FILEPASS
			enc := &encryption{Scheme: "unknown", Where: "Workbook"}
			if len(body) < 2 {
				return enc
			}
			switch binary.LittleEndian.Uint16(body) {
			case 0:
				enc.Scheme = "xor"
				if len(body) >= 6 {
					want := binary.LittleEndian.Uint16(body[4:])
					enc.verify = func(pw string) bool { return xorVerifier(pw) == want }
				}
			case 1:
				enc.Scheme, enc.verify = rc4Scheme(body[2:])
			}
			return enc
		case 0x0085, 0x000A: // BOUNDSHEET or EOF: FILEPASS comes before them
			if typ == 0x000A || n > 64 {
				return nil
			}
		}
	}
	return nil
}

// rc4Scheme reads an EncryptionVersionInfo followed by RC4 or RC4 CryptoAPI
// parameters (MS-OFFCRYPTO 2.3.6.1, 2.3.5.1).
func rc4Scheme(b []byte) (string, func(string) bool) {
	if len(b) < 4 {
		return "unknown", nil
	}
	major := binary.LittleEndian.Uint16(b)
	minor := binary.LittleEndian.Uint16(b[2:])
	switch {
	case major == 1 && minor == 1:
		if len(b) < 4+48 {
			return "rc4", nil
		}
		salt, encVerifier, encHash := b[4:20], b[20:36], b[36:52]
		return "rc4", func(pw string) bool {
			key := rc4BinaryKey(pw, salt, 0)
			c, err := rc4.NewCipher(key)
			if err != nil {
				return false
			}
			v := make([]byte, 16)
			h := make([]byte, 16)
			c.XORKeyStream(v, encVerifier)
			c.XORKeyStream(h, encHash)
			sum := md5.Sum(v)
			return subtle.ConstantTimeCompare(sum[:], h) == 1
		}
	case (major == 2 || major == 3 || major == 4) && minor == 2:
		return "rc4-cryptoapi", rc4Verifier(b)
	}
	return "unknown", nil
}

// rc4Verifier checks passwords against RC4 CryptoAPI parameters: version
// (4), flags (4), header size (4), EncryptionHeader, EncryptionVerifier.
func rc4Verifier(b []byte) func(string) bool {
	if len(b) < 12 {
		return nil
	}
	hsize := int(binary.LittleEndian.Uint32(b[8:]))
	if hsize < 32 || 12+hsize+4+16+16+4+20 > len(b) {
		return nil
	}
	hdr := b[12 : 12+hsize]
	keyBits := binary.LittleEndian.Uint32(hdr[16:])
	if keyBits == 0 {
		keyBits = 40
	}
	if keyBits%8 != 0 || keyBits > 128 || keyBits < 40 {
		return nil
	}
	v := b[12+hsize:]
	saltSize := int(binary.LittleEndian.Uint32(v))
	if saltSize != 16 {
		return nil
	}
	salt, encVerifier := v[4:20], v[20:36]
	hashSize := int(binary.LittleEndian.Uint32(v[36:]))
	if hashSize != 20 || len(v) < 40+20 {
		return nil
	}
	encHash := v[40:60]
	return func(pw string) bool {
		h0 := sha1.Sum(append(append([]byte{}, salt...), utf16le(pw)...))
		hf := sha1.Sum(append(h0[:], 0, 0, 0, 0))
		key := hf[:keyBits/8]
		if keyBits == 40 {
			key = append(append([]byte{}, key...), make([]byte, 11)...)
		}
		c, err := rc4.NewCipher(key)
		if err != nil {
			return false
		}
		vv := make([]byte, 16)
		hh := make([]byte, 20)
		c.XORKeyStream(vv, encVerifier)
		c.XORKeyStream(hh, encHash)
		sum := sha1.Sum(vv)
		return subtle.ConstantTimeCompare(sum[:], hh) == 1
	}
}

// rc4BinaryKey derives the RC4 key of Office binary RC4 encryption
// (MS-OFFCRYPTO 2.3.6.2).
func rc4BinaryKey(pw string, salt []byte, block uint32) []byte {
	h0 := md5.Sum(utf16le(pw))
	var inter []byte
	for range 16 {
		inter = append(inter, h0[:5]...)
		inter = append(inter, salt...)
	}
	h1 := md5.Sum(inter)
	buf := append(append([]byte{}, h1[:5]...), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(buf[5:], block)
	hf := md5.Sum(buf)
	return hf[:16]
}

// xorVerifier is MS-OFFCRYPTO 2.3.7.1 (password verifier method 1).
func xorVerifier(pw string) uint16 {
	b := []byte{byte(len(pw))}
	for _, r := range pw {
		b = append(b, byte(r))
	}
	if len(b) > 16 {
		b = b[:16]
		b[0] = 15
	}
	var v uint16
	for i := len(b) - 1; i >= 0; i-- {
		hi := uint16(0)
		if v&0x4000 != 0 {
			hi = 1
		}
		v = ((v << 1) & 0x7FFF) | hi
		v ^= uint16(b[i])
	}
	return v ^ 0xCE4B
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// --- ECMA-376 standard encryption (MS-OFFCRYPTO 2.3.4.5) ---

type standardInfo struct {
	keyBits           int
	salt, encVerifier []byte
	encVerifierHash   []byte
	verifierHashSize  int
	algID, algIDHash  uint32
	headerFlags       uint32
}

func parseStandard(b []byte) (*standardInfo, error) {
	if len(b) < 4 {
		return nil, errors.New("short header")
	}
	hsize := int(binary.LittleEndian.Uint32(b))
	if hsize < 32 || 4+hsize+4+16+16+4 > len(b) {
		return nil, errors.New("bad header size")
	}
	h := b[4 : 4+hsize]
	s := &standardInfo{
		headerFlags: binary.LittleEndian.Uint32(h),
		algID:       binary.LittleEndian.Uint32(h[8:]),
		algIDHash:   binary.LittleEndian.Uint32(h[12:]),
		keyBits:     int(binary.LittleEndian.Uint32(h[16:])),
	}
	if s.keyBits != 128 && s.keyBits != 192 && s.keyBits != 256 {
		return nil, fmt.Errorf("key size %d", s.keyBits)
	}
	v := b[4+hsize:]
	if binary.LittleEndian.Uint32(v) != 16 {
		return nil, errors.New("salt size")
	}
	s.salt = v[4:20]
	s.encVerifier = v[20:36]
	s.verifierHashSize = int(binary.LittleEndian.Uint32(v[36:]))
	rest := v[40:]
	if s.verifierHashSize != 20 || len(rest) < 32 {
		return nil, errors.New("verifier hash")
	}
	s.encVerifierHash = rest[:32]
	return s, nil
}

func (s *standardInfo) key(pw string) ([]byte, bool) {
	h := sha1.Sum(append(append([]byte{}, s.salt...), utf16le(pw)...))
	cur := h[:]
	buf := make([]byte, 4+20)
	for i := uint32(0); i < 50000; i++ {
		binary.LittleEndian.PutUint32(buf, i)
		copy(buf[4:], cur)
		sum := sha1.Sum(buf)
		cur = sum[:]
	}
	final := sha1.Sum(append(append([]byte{}, cur...), 0, 0, 0, 0))
	var x [64]byte
	for i := range x {
		x[i] = 0x36
	}
	for i := range final {
		x[i] ^= final[i]
	}
	x1 := sha1.Sum(x[:])
	for i := range x {
		x[i] = 0x5C
	}
	for i := range final {
		x[i] ^= final[i]
	}
	x2 := sha1.Sum(x[:])
	key := append(x1[:], x2[:]...)[:s.keyBits/8]
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, false
	}
	verifier := make([]byte, 16)
	block.Decrypt(verifier, s.encVerifier)
	vh := make([]byte, 32)
	block.Decrypt(vh[:16], s.encVerifierHash[:16])
	block.Decrypt(vh[16:], s.encVerifierHash[16:32])
	sum := sha1.Sum(verifier)
	return key, subtle.ConstantTimeCompare(sum[:], vh[:20]) == 1
}

func decryptECB(key, pkg []byte, budget *parsers.Budget) ([]byte, error) {
	body, size, short, err := encryptedPackage(pkg, aes.BlockSize, budget)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(body))
	for i := 0; i < len(body); i += aes.BlockSize {
		block.Decrypt(out[i:i+aes.BlockSize], body[i:i+aes.BlockSize])
	}
	return out[:size], short
}

// encryptedPackage splits an EncryptedPackage stream into its declared
// plain size and its cipher text (cut to whole blocks of align bytes),
// clamps a size that overruns the stream (reported as short) and charges
// the plain bytes to the budget.
func encryptedPackage(pkg []byte, align int, budget *parsers.Budget) (body []byte, size uint64, short, err error) {
	if len(pkg) < 8 {
		return nil, 0, nil, errors.New("EncryptedPackage too short")
	}
	size = binary.LittleEndian.Uint64(pkg)
	body = pkg[8:]
	body = body[:len(body)-len(body)%align]
	if size > uint64(len(body)) {
		short = fmt.Errorf("EncryptedPackage declares %d bytes, %d present", size, len(body))
		size = uint64(len(body))
	}
	if err := budget.Charge(int64(size)); err != nil {
		return nil, 0, nil, err
	}
	return body, size, short, nil
}

// --- ECMA-376 agile encryption (MS-OFFCRYPTO 2.3.4.10-15) ---

type agileKeyData struct {
	SaltValue       string `xml:"saltValue,attr"`
	HashAlgorithm   string `xml:"hashAlgorithm,attr"`
	BlockSize       int    `xml:"blockSize,attr"`
	KeyBits         int    `xml:"keyBits,attr"`
	CipherAlgorithm string `xml:"cipherAlgorithm,attr"`
	CipherChaining  string `xml:"cipherChaining,attr"`
}

type agileXML struct {
	KeyData       agileKeyData `xml:"keyData"`
	KeyEncryptors struct {
		KeyEncryptor []struct {
			URI          string `xml:"uri,attr"`
			EncryptedKey *struct {
				agileKeyData
				SpinCount                  int    `xml:"spinCount,attr"`
				EncryptedVerifierHashInput string `xml:"encryptedVerifierHashInput,attr"`
				EncryptedVerifierHashValue string `xml:"encryptedVerifierHashValue,attr"`
				EncryptedKeyValue          string `xml:"encryptedKeyValue,attr"`
			} `xml:"encryptedKey"`
		} `xml:"keyEncryptor"`
	} `xml:"keyEncryptors"`
}

type agileInfo struct {
	dataSalt      []byte
	dataHash      func() hash.Hash
	dataBlockSize int
	salt          []byte
	newHash       func() hash.Hash
	spin          int
	keyBits       int
	blockSize     int
	encHashInput  []byte
	encHashValue  []byte
	encKeyValue   []byte
}

var (
	blockKeyVerifierInput = []byte{0xfe, 0xa7, 0xd2, 0x76, 0x3b, 0x4b, 0x9e, 0x79}
	blockKeyVerifierValue = []byte{0xd7, 0xaa, 0x0f, 0x6d, 0x30, 0x61, 0x34, 0x4e}
	blockKeyEncryptedKey  = []byte{0x14, 0x6e, 0x0b, 0xe7, 0xab, 0xac, 0xd0, 0xd6}
)

// maxSpinCount bounds the key-derivation rounds we accept (Office uses
// 100000; the spec allows up to 10000000).
const maxSpinCount = 1_000_000

func hashByName(name string) func() hash.Hash {
	switch name {
	case "SHA1", "SHA-1":
		return sha1.New
	case "SHA256", "SHA-256":
		return sha256.New
	case "SHA384", "SHA-384":
		return sha512.New384
	case "SHA512", "SHA-512":
		return sha512.New
	case "MD5":
		return md5.New
	}
	return nil
}

func parseAgile(b []byte) (*agileInfo, error) {
	if len(b) > 64*parsers.KiB {
		return nil, errors.New("EncryptionInfo too large")
	}
	var x agileXML
	if err := xml.Unmarshal(b, &x); err != nil {
		return nil, err
	}
	a := &agileInfo{dataBlockSize: x.KeyData.BlockSize}
	var err error
	if a.dataSalt, err = base64.StdEncoding.DecodeString(x.KeyData.SaltValue); err != nil {
		return nil, err
	}
	if a.dataHash = hashByName(x.KeyData.HashAlgorithm); a.dataHash == nil {
		return nil, fmt.Errorf("hash %q", x.KeyData.HashAlgorithm)
	}
	if x.KeyData.CipherAlgorithm != "AES" || x.KeyData.CipherChaining != "ChainingModeCBC" || a.dataBlockSize != aes.BlockSize {
		return nil, fmt.Errorf("cipher %s/%s", x.KeyData.CipherAlgorithm, x.KeyData.CipherChaining)
	}
	for _, ke := range x.KeyEncryptors.KeyEncryptor {
		k := ke.EncryptedKey
		if k == nil || k.EncryptedVerifierHashInput == "" {
			continue
		}
		a.newHash = hashByName(k.HashAlgorithm)
		a.spin, a.keyBits, a.blockSize = k.SpinCount, k.KeyBits, k.BlockSize
		if a.newHash == nil || a.spin < 0 || a.spin > maxSpinCount || a.blockSize != aes.BlockSize ||
			(a.keyBits != 128 && a.keyBits != 192 && a.keyBits != 256) || k.CipherAlgorithm != "AES" {
			return nil, errors.New("unsupported password key encryptor")
		}
		for _, f := range []struct {
			dst *[]byte
			src string
		}{{&a.salt, k.SaltValue}, {&a.encHashInput, k.EncryptedVerifierHashInput}, {&a.encHashValue, k.EncryptedVerifierHashValue}, {&a.encKeyValue, k.EncryptedKeyValue}} {
			if *f.dst, err = base64.StdEncoding.DecodeString(f.src); err != nil {
				return nil, err
			}
		}
		if len(a.salt) == 0 || len(a.encHashInput)%aes.BlockSize != 0 || len(a.encHashValue)%aes.BlockSize != 0 || len(a.encKeyValue)%aes.BlockSize != 0 {
			return nil, errors.New("bad key encryptor values")
		}
		return a, nil
	}
	return nil, errors.New("no password key encryptor")
}

// fit truncates b to n bytes or pads it with pad.
func fit(b []byte, n int, pad byte) []byte {
	if len(b) >= n {
		return b[:n]
	}
	out := append([]byte{}, b...)
	for len(out) < n {
		out = append(out, pad)
	}
	return out
}

func (a *agileInfo) cbcDecrypt(key, iv, src []byte) ([]byte, bool) {
	block, err := aes.NewCipher(key)
	if err != nil || len(src)%aes.BlockSize != 0 || len(src) == 0 {
		return nil, false
	}
	out := make([]byte, len(src))
	cipher.NewCBCDecrypter(block, fit(iv, aes.BlockSize, 0x36)).CryptBlocks(out, src)
	return out, true
}

// secretKey derives the package key for a password, or reports a wrong one.
func (a *agileInfo) secretKey(pw string) ([]byte, bool) {
	h := a.newHash()
	h.Write(a.salt)
	h.Write(utf16le(pw))
	cur := h.Sum(nil)
	var it [4]byte
	for i := 0; i < a.spin; i++ {
		h.Reset()
		binary.LittleEndian.PutUint32(it[:], uint32(i))
		h.Write(it[:])
		h.Write(cur)
		cur = h.Sum(cur[:0])
	}
	derive := func(blockKey []byte) []byte {
		h.Reset()
		h.Write(cur)
		h.Write(blockKey)
		return fit(h.Sum(nil), a.keyBits/8, 0x36)
	}
	input, ok := a.cbcDecrypt(derive(blockKeyVerifierInput), a.salt, a.encHashInput)
	if !ok {
		return nil, false
	}
	value, ok := a.cbcDecrypt(derive(blockKeyVerifierValue), a.salt, a.encHashValue)
	if !ok {
		return nil, false
	}
	h.Reset()
	h.Write(fit(input, len(a.salt), 0))
	sum := h.Sum(nil)
	if len(value) < len(sum) || subtle.ConstantTimeCompare(sum, value[:len(sum)]) != 1 {
		return nil, false
	}
	key, ok := a.cbcDecrypt(derive(blockKeyEncryptedKey), a.salt, a.encKeyValue)
	if !ok || len(key) < a.keyBits/8 {
		return nil, false
	}
	return key[:a.keyBits/8], true
}

// decryptPackage decrypts an agile EncryptedPackage stream: 4096-byte
// segments, each AES-CBC with IV = H(keyData salt || segment index).
func (a *agileInfo) decryptPackage(key, pkg []byte, budget *parsers.Budget) ([]byte, error) {
	body, size, short, err := encryptedPackage(pkg, 1, budget)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(body))
	h := a.dataHash()
	var idx [4]byte
	for seg := 0; len(out) < int(size); seg++ {
		if seg%256 == 0 {
			if err := budget.Err(); err != nil {
				return nil, err
			}
		}
		start := seg * 4096
		if start >= len(body) {
			break // a short last block was dropped: len(out) < size
		}
		chunk := body[start:min(start+4096, len(body))]
		chunk = chunk[:len(chunk)-len(chunk)%aes.BlockSize]
		if len(chunk) == 0 {
			break
		}
		h.Reset()
		h.Write(a.dataSalt)
		binary.LittleEndian.PutUint32(idx[:], uint32(seg))
		h.Write(idx[:])
		iv := fit(h.Sum(nil), a.dataBlockSize, 0x36)
		plain := make([]byte, len(chunk))
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, chunk)
		out = append(out, plain...)
	}
	if uint64(len(out)) < size {
		return out, fmt.Errorf("EncryptedPackage: %d of %d bytes decrypted", len(out), size)
	}
	return out[:size], short
}

// tryPasswords returns the first candidate that opens enc ("" and false if
// none). Excel's default password comes first.
func tryPasswords(enc *encryption, candidates []string, budget *parsers.Budget) (string, bool) {
	if enc.verify == nil {
		return "", false
	}
	seen := map[string]bool{}
	tries, limit := 0, maxPasswordTries
	if enc.rounds > 0 {
		// Bound the key-derivation work, not only the tries: a file may
		// declare up to maxSpinCount rounds, and one derivation cannot be
		// interrupted by the deadline.
		limit = min(limit, max(1, maxDerivationRounds/enc.rounds))
	}
	for _, pw := range append([]string{DefaultExcelPassword}, candidates...) {
		if seen[pw] || pw == "" {
			continue
		}
		seen[pw] = true
		if tries >= limit || budget.Err() != nil {
			break
		}
		tries++
		if enc.verify(pw) {
			return pw, true
		}
	}
	return "", false
}

// isZip reports whether b starts like a zip archive.
func isZip(b []byte) bool { return bytes.HasPrefix(b, []byte("PK\x03\x04")) }
