// Package sevenzw writes minimal 7z archives for test samples: every file
// is stored (the Copy method) in one folder whose single packed stream is
// the files' bytes back to back, split by SubStreamsInfo, with per-file
// CRCs, names, modification times and attributes, and a plain (not
// encoded) header.
//
// Layout: 32-byte signature header, packed stream, header. See 7-Zip's
// DOC/7zFormat.txt.
package sevenzw

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
	"unicode/utf16"
)

// Signature starts every 7z archive.
var Signature = []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}

// Property IDs used (7zFormat.txt).
const (
	kEnd             = 0x00
	kHeader          = 0x01
	kMainStreamsInfo = 0x04
	kFilesInfo       = 0x05
	kPackInfo        = 0x06
	kUnPackInfo      = 0x07
	kSubStreamsInfo  = 0x08
	kSize            = 0x09
	kCRC             = 0x0a
	kFolder          = 0x0b
	kCodersUnPack    = 0x0c
	kNumUnPackStream = 0x0d
	kName            = 0x11
	kMTime           = 0x14
	kAttributes      = 0x15
)

// File is one archive member. Empty files are not supported (7z stores
// them as empty streams, which the samples never need).
type File struct {
	Name     string
	Data     []byte
	Modified time.Time
}

// Write writes files as a 7z archive.
func Write(w io.Writer, files []File) error {
	if len(files) == 0 {
		return errors.New("sevenzw: no files")
	}
	var packed bytes.Buffer
	for _, f := range files {
		if len(f.Data) == 0 {
			return fmt.Errorf("sevenzw: %q: empty files are not supported", f.Name)
		}
		if f.Name == "" {
			return errors.New("sevenzw: empty name")
		}
		packed.Write(f.Data)
	}

	var h bytes.Buffer
	h.WriteByte(kHeader)
	h.WriteByte(kMainStreamsInfo)

	h.WriteByte(kPackInfo)
	writeNumber(&h, 0) // PackPos
	writeNumber(&h, 1) // NumPackStreams
	h.WriteByte(kSize)
	writeNumber(&h, uint64(packed.Len()))
	h.WriteByte(kEnd)

	h.WriteByte(kUnPackInfo)
	h.WriteByte(kFolder)
	writeNumber(&h, 1) // NumFolders
	h.WriteByte(0)     // External
	writeNumber(&h, 1) // NumCoders
	h.WriteByte(0x01)  // simple coder, 1-byte codec id
	h.WriteByte(0x00)  // Copy
	h.WriteByte(kCodersUnPack)
	writeNumber(&h, uint64(packed.Len()))
	h.WriteByte(kEnd)

	h.WriteByte(kSubStreamsInfo)
	if len(files) != 1 {
		h.WriteByte(kNumUnPackStream)
		writeNumber(&h, uint64(len(files)))
		h.WriteByte(kSize)
		for _, f := range files[:len(files)-1] {
			writeNumber(&h, uint64(len(f.Data)))
		}
	}
	h.WriteByte(kCRC)
	h.WriteByte(1) // AllAreDefined
	for _, f := range files {
		h.Write(binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(f.Data)))
	}
	h.WriteByte(kEnd) // SubStreamsInfo
	h.WriteByte(kEnd) // MainStreamsInfo

	h.WriteByte(kFilesInfo)
	writeNumber(&h, uint64(len(files)))

	var names bytes.Buffer
	names.WriteByte(0) // External
	for _, f := range files {
		for _, c := range utf16.Encode([]rune(f.Name)) {
			names.Write(binary.LittleEndian.AppendUint16(nil, c))
		}
		names.Write([]byte{0, 0})
	}
	writeProperty(&h, kName, names.Bytes())

	var times bytes.Buffer
	times.WriteByte(1) // AllAreDefined
	times.WriteByte(0) // External
	for _, f := range files {
		times.Write(binary.LittleEndian.AppendUint64(nil, filetime(f.Modified)))
	}
	writeProperty(&h, kMTime, times.Bytes())

	var attrs bytes.Buffer
	attrs.WriteByte(1) // AllAreDefined
	attrs.WriteByte(0) // External
	for range files {
		attrs.Write(binary.LittleEndian.AppendUint32(nil, 0x20)) // FILE_ATTRIBUTE_ARCHIVE
	}
	writeProperty(&h, kAttributes, attrs.Bytes())

	h.WriteByte(kEnd) // FilesInfo
	h.WriteByte(kEnd) // Header

	start := make([]byte, 20)
	binary.LittleEndian.PutUint64(start[0:], uint64(packed.Len())) // NextHeaderOffset
	binary.LittleEndian.PutUint64(start[8:], uint64(h.Len()))      // NextHeaderSize
	binary.LittleEndian.PutUint32(start[16:], crc32.ChecksumIEEE(h.Bytes()))

	var out bytes.Buffer
	out.Write(Signature)
	out.Write([]byte{0, 4}) // version 0.4
	out.Write(binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(start)))
	out.Write(start)
	out.Write(packed.Bytes())
	out.Write(h.Bytes())
	if _, err := w.Write(out.Bytes()); err != nil {
		return fmt.Errorf("sevenzw: %w", err)
	}
	return nil
}

func writeProperty(b *bytes.Buffer, id byte, data []byte) {
	b.WriteByte(id)
	writeNumber(b, uint64(len(data)))
	b.Write(data)
}

// writeNumber writes 7z's variable-length UINT64: the count of leading one
// bits in the first byte says how many little-endian bytes follow, and the
// first byte's remaining bits hold the value's high part.
func writeNumber(b *bytes.Buffer, v uint64) {
	var first byte
	mask := byte(0x80)
	i := 0
	for ; i < 8; i++ {
		if v < uint64(1)<<(7*(i+1)) {
			first |= byte(v >> (8 * i))
			break
		}
		first |= mask
		mask >>= 1
	}
	b.WriteByte(first)
	for ; i > 0; i-- {
		b.WriteByte(byte(v))
		v >>= 8
	}
}

// filetime converts t to 100 ns intervals since 1601-01-01 UTC.
func filetime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano()/100) + 116444736000000000
}
