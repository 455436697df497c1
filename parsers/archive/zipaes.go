package archive

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"io"
)

// WinZip AES encryption (AE-1 and AE-2, https://www.winzip.com/en/support/aes-encryption/):
// compression method 99 with the real method in extra field 0x9901; data is
// salt, a 2-byte password verifier, AES-CTR ciphertext (little-endian
// counter from 1) and a 10-byte HMAC-SHA1 authentication code; keys come
// from PBKDF2-HMAC-SHA1 with 1000 iterations.

const (
	aesIterations  = 1000
	aesVerifierLen = 2
	aesMACLen      = 10
)

// aesInfo is the 0x9901 extra field.
type aesInfo struct {
	version  uint16 // 1: AE-1 (CRC kept), 2: AE-2 (CRC zero)
	strength byte   // 1, 2, 3: AES-128, -192, -256
	method   uint16 // the compression method actually used
}

func parseAESExtra(extra []byte) (aesInfo, bool) {
	f := findExtra(extra, extraAES)
	if len(f) < 7 || f[2] != 'A' || f[3] != 'E' {
		return aesInfo{}, false
	}
	a := aesInfo{version: le16(f), strength: f[4], method: le16(f[5:])}
	if a.keyLen() == 0 {
		return aesInfo{}, false
	}
	return a, true
}

func (a aesInfo) keyLen() int {
	switch a.strength {
	case 1:
		return 16
	case 2:
		return 24
	case 3:
		return 32
	}
	return 0
}

func (a aesInfo) name() string { return fmt.Sprintf("aes-%d", a.keyLen()*8) }

// aesResult says how a password fared against one entry.
type aesResult int

const (
	aesWrong    aesResult = iota // the verifier rejects the password
	aesOpened                    // verifier and authentication code match
	aesDamaged                   // verifier matches, authentication code does not
	aesTooShort                  // the data cannot hold salt, verifier and code
)

// zipAESOpen derives the keys for password, checks the verifier and, when
// the data is complete, the authentication code over the ciphertext, and
// returns a reader of the decrypted (still compressed) data.
func zipAESOpen(a aesInfo, raw []byte, complete bool, password string) (io.Reader, aesResult) {
	kl := a.keyLen()
	sl := kl / 2
	if len(raw) < sl+aesVerifierLen+aesMACLen {
		return nil, aesTooShort
	}
	dk, err := pbkdf2.Key(sha1.New, password, raw[:sl], aesIterations, 2*kl+aesVerifierLen)
	if err != nil {
		return nil, aesWrong
	}
	if !bytes.Equal(dk[2*kl:], raw[sl:sl+aesVerifierLen]) {
		return nil, aesWrong
	}
	ct := raw[sl+aesVerifierLen:]
	result := aesOpened
	if complete {
		mac := ct[len(ct)-aesMACLen:]
		ct = ct[:len(ct)-aesMACLen]
		h := hmac.New(sha1.New, dk[kl:2*kl])
		h.Write(ct)
		if !hmac.Equal(h.Sum(nil)[:aesMACLen], mac) {
			result = aesDamaged
		}
	}
	block, err := aes.NewCipher(dk[:kl])
	if err != nil {
		return nil, aesWrong
	}
	return newAESCTR(block, bytes.NewReader(ct)), result
}

// aesCTR is WinZip's CTR mode: the 16-byte counter block is a little-endian
// integer starting at 1 (crypto/cipher's CTR counts big-endian).
type aesCTR struct {
	block cipher.Block
	r     io.Reader
	ctr   uint64
	ks    [aes.BlockSize]byte
	pos   int
}

func newAESCTR(block cipher.Block, r io.Reader) *aesCTR {
	return &aesCTR{block: block, r: r, pos: aes.BlockSize}
}

func (c *aesCTR) xor(p []byte) {
	for i := range p {
		if c.pos == aes.BlockSize {
			c.ctr++
			var in [aes.BlockSize]byte
			binary.LittleEndian.PutUint64(in[:], c.ctr)
			c.block.Encrypt(c.ks[:], in[:])
			c.pos = 0
		}
		p[i] ^= c.ks[c.pos]
		c.pos++
	}
}

func (c *aesCTR) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.xor(p[:n])
	return n, err
}
