package vba

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
)

// DefaultCodePage is used when a project declares none (olevba does the same).
const DefaultCodePage = 1252

// codePages maps Windows code page numbers found in PROJECTCODEPAGE to
// decoders. Unlisted pages fall back to cp1252.
var codePages = map[uint16]encoding.Encoding{
	037: charmap.CodePage037, 437: charmap.CodePage437, 850: charmap.CodePage850,
	852: charmap.CodePage852, 855: charmap.CodePage855, 858: charmap.CodePage858,
	860: charmap.CodePage860, 862: charmap.CodePage862, 863: charmap.CodePage863,
	865: charmap.CodePage865, 866: charmap.CodePage866, 874: charmap.Windows874,
	932:  japanese.ShiftJIS, // Windows-31J, a superset of Shift_JIS
	936:  simplifiedchinese.GBK,
	949:  korean.EUCKR, // cp949 (UHC) decodes EUC-KR's range
	950:  traditionalchinese.Big5,
	1047: charmap.CodePage1047, 1140: charmap.CodePage1140,
	1200: unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM),
	1201: unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM),
	1250: charmap.Windows1250, 1251: charmap.Windows1251, 1252: charmap.Windows1252,
	1253: charmap.Windows1253, 1254: charmap.Windows1254, 1255: charmap.Windows1255,
	1256: charmap.Windows1256, 1257: charmap.Windows1257, 1258: charmap.Windows1258,
	10000: charmap.Macintosh, 10001: japanese.ShiftJIS, 10007: charmap.MacintoshCyrillic,
	20866: charmap.KOI8R, 21866: charmap.KOI8U,
	28591: charmap.ISO8859_1, 28592: charmap.ISO8859_2, 28593: charmap.ISO8859_3,
	28594: charmap.ISO8859_4, 28595: charmap.ISO8859_5, 28596: charmap.ISO8859_6,
	28597: charmap.ISO8859_7, 28598: charmap.ISO8859_8, 28599: charmap.ISO8859_9,
	28603: charmap.ISO8859_13, 28605: charmap.ISO8859_15,
	50220: japanese.ISO2022JP, 51932: japanese.EUCJP, 51949: korean.EUCKR,
	54936: simplifiedchinese.GB18030,
}

// CodePageName returns a short name for a code page ("cp1252", "cp932").
func CodePageName(cp uint16) string {
	switch cp {
	case 65001:
		return "utf-8"
	case 1200:
		return "utf-16le"
	case 1201:
		return "utf-16be"
	}
	if _, ok := codePages[cp]; ok {
		return "cp" + strconv.Itoa(int(cp))
	}
	return "cp" + strconv.Itoa(int(cp)) + " (decoded as cp1252)"
}

// DecodeCodePage decodes b from the Windows code page cp to UTF-8. Invalid
// sequences become U+FFFD, as olevba's errors='replace' does. ASCII input
// is returned without conversion.
func DecodeCodePage(cp uint16, b []byte) string {
	if isASCII(b) {
		return string(b)
	}
	if cp == 65001 || cp == 20127 {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	enc, ok := codePages[cp]
	if !ok {
		enc = charmap.Windows1252
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		// x/text decoders replace invalid input; an error here means a
		// transformer failure: keep a lossy but valid rendering.
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	if !utf8.Valid(out) {
		return strings.ToValidUTF8(string(out), "\uFFFD")
	}
	return string(out)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// decodeUTF16 decodes little-endian UTF-16 (an odd trailing byte is dropped).
func decodeUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}
