package msg

import (
	"bytes"
	"encoding/binary"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
)

// MAPI property types (MS-OXCDATA 2.11.1).
const (
	ptLong    = 0x0003
	ptBoolean = 0x000B
	ptObject  = 0x000D
	ptString8 = 0x001E
	ptUnicode = 0x001F
	ptSysTime = 0x0040
	ptBinary  = 0x0102
)

// MAPI property tags used here.
const (
	tagMessageClass        = 0x001A
	tagSubject             = 0x0037
	tagClientSubmitTime    = 0x0039
	tagSentReprName        = 0x0042
	tagSentReprEmail       = 0x0065
	tagTransportHeaders    = 0x007D
	tagSenderName          = 0x0C1A
	tagSenderEmail         = 0x0C1F
	tagDisplayCc           = 0x0E03
	tagDisplayTo           = 0x0E04
	tagDeliveryTime        = 0x0E06
	tagBody                = 0x1000
	tagRTFCompressed       = 0x1009
	tagHTML                = 0x1013
	tagMessageID           = 0x1035
	tagInReplyTo           = 0x1042
	tagRecipientType       = 0x0C15
	tagDisplayName         = 0x3001
	tagEmailAddress        = 0x3003
	tagAttachData          = 0x3701
	tagAttachFilename      = 0x3704
	tagAttachMethod        = 0x3705
	tagAttachLongFilename  = 0x3707
	tagAttachMimeTag       = 0x370E
	tagAttachContentID     = 0x3712
	tagInternetCodepage    = 0x3FDE
	tagMessageCodepage     = 0x3FFD
	tagSenderSMTP          = 0x5D01
	tagSentReprSMTP        = 0x5D02
	tagSMTPAddress         = 0x39FE
	attachByValue          = 1
	attachEmbeddedMessage  = 5
	attachOLE              = 6
	maxPropertiesEntries   = 4096
	maxDecodedStringLength = 1 << 20
)

// fixed holds the fixed-length properties of a __properties_version1.0
// stream (PT_LONG, PT_SYSTIME, …) by tag.
type fixed map[uint16]uint64

// parseFixed reads a property stream; header is 32 bytes for the top-level
// message, 24 for an embedded message and 8 for attachments and recipients.
func parseFixed(b []byte, header int) fixed {
	f := fixed{}
	for off, n := header, 0; off+16 <= len(b) && n < maxPropertiesEntries; off, n = off+16, n+1 {
		tag := binary.LittleEndian.Uint32(b[off:])
		typ := uint16(tag)
		switch typ {
		case ptLong, ptBoolean, ptSysTime:
			f[uint16(tag>>16)] = binary.LittleEndian.Uint64(b[off+8:])
		}
	}
	return f
}

func (f fixed) long(tag uint16) (uint32, bool) {
	v, ok := f[tag]
	return uint32(v), ok
}

// time reads a PT_SYSTIME (FILETIME: 100 ns intervals since 1601).
func (f fixed) time(tag uint16) (time.Time, bool) {
	v, ok := f[tag]
	if !ok || v == 0 {
		return time.Time{}, false
	}
	const epochDiff = 116444736000000000 // 1601→1970 in 100 ns
	if v < epochDiff {
		return time.Time{}, false
	}
	d := v - epochDiff
	return time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC(), true
}

// codec returns the decoder for a Windows code page, or nil.
func codec(cp uint32) encoding.Encoding {
	switch cp {
	case 1252, 28591:
		return charmap.Windows1252
	case 1250:
		return charmap.Windows1250
	case 1251:
		return charmap.Windows1251
	case 1253:
		return charmap.Windows1253
	case 1254:
		return charmap.Windows1254
	case 1255:
		return charmap.Windows1255
	case 1256:
		return charmap.Windows1256
	case 1257:
		return charmap.Windows1257
	case 1258:
		return charmap.Windows1258
	case 874:
		return charmap.Windows874
	case 866:
		return charmap.CodePage866
	case 437:
		return charmap.CodePage437
	case 28592:
		return charmap.ISO8859_2
	case 28595:
		return charmap.ISO8859_5
	case 20866:
		return charmap.KOI8R
	case 932:
		return japanese.ShiftJIS
	case 50220, 50221, 50222:
		return japanese.ISO2022JP
	case 51932, 20932:
		return japanese.EUCJP
	case 936, 54936:
		return simplifiedchinese.GB18030
	case 949, 51949:
		return korean.EUCKR
	case 950:
		return traditionalchinese.Big5
	case 65001, 20127:
		return unicode.UTF8
	}
	return nil
}

// decodeUnicode decodes a PT_UNICODE value (UTF-16LE, NUL-terminated).
func decodeUnicode(b []byte) string {
	n := min(len(b)/2, maxDecodedStringLength)
	u := make([]uint16, 0, n)
	for i := 0; i < n; i++ {
		c := binary.LittleEndian.Uint16(b[2*i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// decode8 decodes a PT_STRING8 value in the message code page.
func decode8(b []byte, cp uint32) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	b = b[:min(len(b), maxDecodedStringLength)]
	if e := codec(cp); e != nil {
		if out, err := e.NewDecoder().Bytes(b); err == nil {
			return string(out)
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
