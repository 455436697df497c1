// Package names classifies declared file names: their extension, whether
// it runs when opened, and the double-extension tricks malspam uses to make
// a script or shortcut look like a document ("invoice.pdf.lnk").
//
// Names are untrusted labels: nothing here touches a file system.
package names

import (
	"strings"
	"unicode"
)

// executableExts run, or open something that runs, when double-clicked.
var executableExts = map[string]bool{
	"exe": true, "scr": true, "com": true, "pif": true, "cpl": true, "msi": true,
	"bat": true, "cmd": true, "ps1": true, "vbs": true, "vbe": true, "js": true,
	"jse": true, "wsf": true, "wsh": true, "hta": true, "lnk": true, "jar": true,
	"iso": true, "img": true, "iqy": true, "slk": true, "url": true, "scf": true,
	"reg": true, "dll": true,
}

// scriptExts are the Windows Script Host, HTA, PowerShell and batch scripts.
var scriptExts = map[string]bool{
	"vbs": true, "vbe": true, "js": true, "jse": true, "wsf": true, "wsh": true,
	"hta": true, "ps1": true, "bat": true, "cmd": true,
}

// documentExts are what a lure pretends to be: documents, images, media and
// archives.
var documentExts = map[string]bool{
	"pdf": true, "doc": true, "docx": true, "docm": true, "xls": true, "xlsx": true,
	"xlsm": true, "ppt": true, "pptx": true, "rtf": true, "txt": true, "odt": true,
	"jpg": true, "jpeg": true, "png": true, "gif": true, "bmp": true, "tif": true,
	"tiff": true, "webp": true, "mp3": true, "mp4": true, "avi": true, "wav": true,
	"mov": true, "zip": true, "rar": true, "7z": true, "html": true, "htm": true,
	"csv": true,
}

// imageExts are the document types that are pictures.
var imageExts = map[string]bool{
	"jpg": true, "jpeg": true, "png": true, "gif": true, "bmp": true, "tif": true,
	"tiff": true, "webp": true,
}

// Base returns the last element of name, split on both '/' and '\'.
func Base(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		return name[i+1:]
	}
	return name
}

// Ext returns the lowercase last extension of name's base, without the dot
// and without surrounding white space; "" when there is none.
func Ext(name string) string {
	b := strings.TrimRightFunc(Base(name), isPadding)
	i := strings.LastIndexByte(b, '.')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(b[i+1:]))
}

// IsExecutableExt reports whether ext (with or without its dot, any case)
// runs code or opens something that does when double-clicked: programs,
// scripts, shortcuts, disk images and web-query files.
func IsExecutableExt(ext string) bool { return executableExts[norm(ext)] }

// IsScriptExt reports whether ext names a script run by a Windows host:
// vbs vbe js jse wsf wsh hta ps1 bat cmd.
func IsScriptExt(ext string) bool { return scriptExts[norm(ext)] }

// IsDocumentExt reports whether ext names a document, image, media or
// archive type: what a double extension pretends the file is.
func IsDocumentExt(ext string) bool { return documentExts[norm(ext)] }

// IsImageExt reports whether ext names a picture type.
func IsImageExt(ext string) bool { return imageExts[norm(ext)] }

func norm(ext string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(ext), "."))
}

// bidi reports whether r is a bidirectional override or isolate: U+202A–
// U+202E and U+2066–U+2069. U+202E (RIGHT-TO-LEFT OVERRIDE) makes
// "invoice\u202Efdp.exe" display as "invoiceexe.pdf".
func bidi(r rune) bool { return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) }

// isPadding reports runes used to push the real extension out of view.
func isPadding(r rune) bool {
	return unicode.IsSpace(r) || r == 0x200b || r == 0xfeff || r == 0x2800 || r == 0x3164
}

// DoubleExtension reports whether name disguises an executable, script or
// shortcut as a document: its last extension (outer) is executable and the
// one before it (inner) a document, image, media or archive type, as in
// "invoice.pdf.lnk", "IMG123101.jpg.js" or "report.docx   .exe". A
// right-to-left override that hides an executable extension is reported too;
// inner is then the extension the reader sees ("invoice\u202Efdp.exe" shows
// as "invoiceexe.pdf": outer "exe", inner "pdf").
func DoubleExtension(name string) (outer, inner string, ok bool) {
	base := strings.TrimRightFunc(Base(name), isPadding)
	if strings.IndexFunc(base, bidi) >= 0 {
		if o, i, ok := bidiExtension(base); ok {
			return o, i, true
		}
	}
	last := strings.LastIndexByte(base, '.')
	if last <= 0 {
		return "", "", false
	}
	outer = strings.ToLower(strings.TrimSpace(base[last+1:]))
	if !executableExts[outer] {
		return "", "", false
	}
	stem := strings.TrimRightFunc(base[:last], isPadding)
	prev := strings.LastIndexByte(stem, '.')
	if prev < 0 {
		return "", "", false
	}
	inner = strings.ToLower(strings.TrimFunc(stem[prev+1:], isPadding))
	if !documentExts[inner] {
		return "", "", false
	}
	return outer, inner, true
}

// bidiExtension handles names holding a bidirectional override: the real
// extension is executable and the displayed one differs from it.
func bidiExtension(base string) (outer, inner string, ok bool) {
	clean := strings.Map(func(r rune) rune {
		if bidi(r) {
			return -1
		}
		return r
	}, base)
	outer = Ext(clean)
	if !executableExts[outer] {
		return "", "", false
	}
	inner = Ext(displayed(base))
	if inner == outer {
		return "", "", false
	}
	return outer, inner, true
}

// displayed approximates what a right-to-left override shows: the runes
// after U+202E (up to a pop or isolate terminator) in reverse order.
func displayed(s string) string {
	var out []rune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		if rs[i] != 0x202e {
			if !bidi(rs[i]) {
				out = append(out, rs[i])
			}
			continue
		}
		j := i + 1
		for j < len(rs) && rs[j] != 0x202c && rs[j] != 0x2069 {
			j++
		}
		for k := j - 1; k > i; k-- {
			if !bidi(rs[k]) {
				out = append(out, rs[k])
			}
		}
		i = j
	}
	return string(out)
}
