package office

import (
	"fmt"
	"strings"
	"unicode/utf16"

	"triage/samples/gen/office/ole"
)

// RTFOptions describes an RTF document with one embedded OLE1 object: an
// OLE Package by default, or any class given by Class.
type RTFOptions struct {
	Paragraphs []string // body text; non-ASCII is written as \uN? escapes
	// Package is embedded as an OLE1 "Package" object (\objemb, \objclass
	// Package, \objdata holding the OLE1 EmbeddedObject in hex).
	Package ole.Package
	// Class, when set, embeds an object of that OLE1 class (for example
	// "Equation.3") whose native data is Native, instead of Package; the
	// \result group then shows ResultText.
	Class      string
	Native     []byte
	ResultText string
	// Obfuscate breaks the \objdata hex with line breaks, tabs and an
	// unknown control word, as RTF droppers do; RTF readers skip all three.
	Obfuscate bool
}

// RTF builds the document.
func RTF(o RTFOptions) ([]byte, error) {
	var sb strings.Builder
	sb.WriteString(`{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss Calibri;}}` + "\r\n")
	sb.WriteString(`{\*\generator Riched20 10.0.19041}\viewkind4\uc1` + "\r\n")
	for _, p := range o.Paragraphs {
		sb.WriteString(`\pard\f0\fs22 ` + rtfText(p) + `\par` + "\r\n")
	}
	class, native, result := "Package", o.Package.Native(), o.Package.Label
	if o.Class != "" {
		if strings.ContainsAny(o.Class, "{}\\ \r\n") {
			return nil, fmt.Errorf("office: RTF object class %q", o.Class)
		}
		class, native, result = o.Class, o.Native, o.ResultText
	}
	obj := ole.OLE1Object(class, native)
	sb.WriteString(`{\object\objemb\objw1440\objh960{\*\objclass ` + class + `}{\*\objdata` + "\r\n")
	hex := fmt.Sprintf("%x", obj)
	for i := 0; i < len(hex); i += 64 {
		line := hex[i:min(i+64, len(hex))]
		if o.Obfuscate {
			switch {
			case i/64 == 1 && len(line) > 10:
				line = line[:10] + "\t " + line[10:]
			case i/64 == 2 && len(line) > 22:
				line = line[:22] + `\dxjunk ` + line[22:]
			}
		}
		sb.WriteString(line + "\r\n")
	}
	sb.WriteString(`}{\result\pard\f0\fs22 ` + rtfText(result) + `\par}}` + "\r\n")
	sb.WriteString(`\pard\par` + "\r\n}\r\n")
	return []byte(sb.String()), nil
}

// rtfText escapes RTF specials and writes non-ASCII runes as \uN? (N the
// signed UTF-16 code unit).
func rtfText(s string) string {
	var sb strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		switch {
		case u == '\\' || u == '{' || u == '}':
			sb.WriteByte('\\')
			sb.WriteByte(byte(u))
		case u < 0x80:
			sb.WriteByte(byte(u))
		default:
			fmt.Fprintf(&sb, "\\u%d?", int16(u))
		}
	}
	return sb.String()
}
