package archive

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"unicode/utf16"

	"triage/parsers"
	"triage/parsers/filetype"
)

// ISOName is the ISO 9660 parser's name.
const ISOName = "iso"

// ISO lists the files of ISO 9660 disk images (.iso, .img), the container
// that carried LNK+DLL and lone-executable payloads past mark-of-the-web.
// Names come from the Joliet tree when there is one, else from Rock Ridge
// NM entries, else from the plain ISO 9660 identifiers.
//
// The reader is our own, written against ECMA-119 for hostile input:
// github.com/kdomanski/iso9660 follows continuation areas recursively and
// allocates their declared length before reading (a self-referencing or
// 4 GiB continuation entry overflows the stack or exhausts memory, neither
// of which recover() catches), and it does not read Joliet. The tests
// check that both readers agree on well-formed images.
type ISO struct{}

// NewISO returns the ISO 9660 parser.
func NewISO() *ISO { return &ISO{} }

// Name implements parsers.Parser.
func (*ISO) Name() string { return ISOName }

// Match implements parsers.Parser.
func (*ISO) Match(a *parsers.Artifact, _ []byte) bool { return a.Type == filetype.ISO }

const (
	isoSector       = 2048
	isoFirstVD      = 16
	isoMaxVDs       = 64
	isoMaxDepth     = 16
	isoRecordMinLen = 34

	isoFlagHidden = 0x01
	isoFlagDir    = 0x02
)

// isoDir is a directory waiting to be read.
type isoDir struct {
	lba, size uint32
	path      string
	depth     int
}

// isoFile is a file record.
type isoFile struct {
	path      string
	lba, size uint32
	hidden    bool
}

// Parse implements parsers.Parser.
func (*ISO) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	m := newMembers(out)
	r := &isoReader{data: in.Data, budget: in.Budget, m: m, out: out}
	err := r.run(ctx)
	out.Meta("entries", r.entries)
	if len(r.hidden) > 0 {
		out.Meta("hidden_members", r.hidden)
	}
	return m.done(err)
}

type isoReader struct {
	data    []byte
	budget  *parsers.Budget
	m       *members
	out     parsers.Sink
	joliet  bool
	rr      bool
	entries int
	hidden  []string
}

func (r *isoReader) run(ctx context.Context) error {
	var pvd, svd []byte
	for i := 0; i < isoMaxVDs; i++ {
		off := (isoFirstVD + i) * isoSector
		if off+isoSector > len(r.data) {
			break
		}
		vd := r.data[off : off+isoSector]
		if string(vd[1:6]) != "CD001" {
			break
		}
		switch vd[0] {
		case 1:
			if pvd == nil {
				pvd = vd
			}
		case 2:
			if svd == nil && vd[88] == '%' && vd[89] == '/' && (vd[90] == '@' || vd[90] == 'C' || vd[90] == 'E') {
				svd = vd
			}
		}
		if vd[0] == 255 {
			break
		}
	}
	if pvd == nil {
		r.m.malform("no primary volume descriptor")
		return nil
	}
	r.out.Meta("volume_id", strings.TrimRight(string(bytes.TrimRight(pvd[40:72], "\x00")), " "))
	root := pvd[156 : 156+isoRecordMinLen]
	if svd != nil {
		r.joliet = true
		root = svd[156 : 156+isoRecordMinLen]
	}
	r.out.Meta("joliet", r.joliet)
	files, err := r.walk(ctx, isoDir{lba: le32(root[2:]), size: le32(root[10:])})
	r.out.Meta("rock_ridge", r.rr)
	for i, f := range files {
		if i%64 == 63 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("archive: %w: %v", parsers.ErrDeadline, err)
			}
		}
		if err := r.budget.Err(); err != nil {
			return err
		}
		data, ferr := r.read(f)
		if f.hidden && len(r.hidden) < maxMemberNames {
			r.hidden = append(r.hidden, f.path)
		}
		if err := r.m.emit(f.path, data, ferr); err != nil {
			r.m.limitNote("artifact budget spent; listing stopped")
			return fmt.Errorf("archive: emit %q: %w", f.path, err)
		}
	}
	return err
}

// read returns a file's bytes through the budget.
func (r *isoReader) read(f isoFile) ([]byte, error) {
	start := int64(f.lba) * isoSector
	if start > int64(len(r.data)) {
		return nil, malformedf("extent at sector %d is beyond the image", f.lba)
	}
	end := start + int64(f.size)
	truncated := end > int64(len(r.data))
	if truncated {
		end = int64(len(r.data))
	}
	data, err := r.budget.ReadAll(bytes.NewReader(r.data[start:end]), end-start)
	if err == nil && truncated {
		err = malformedf("extent truncated")
	}
	return data, err
}

// walk reads the directory tree breadth first and returns its files.
func (r *isoReader) walk(ctx context.Context, root isoDir) ([]isoFile, error) {
	var files []isoFile
	limit := r.budget.Limits.MaxEntries
	visited := map[uint32]bool{root.lba: true}
	queue := []isoDir{root}
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return files, fmt.Errorf("archive: %w: %v", parsers.ErrDeadline, err)
		}
		if err := r.budget.Err(); err != nil {
			return files, err
		}
		d := queue[0]
		queue = queue[1:]
		start := int64(d.lba) * isoSector
		if start >= int64(len(r.data)) {
			r.m.malform(fmt.Sprintf("directory %q: extent beyond the image", d.path+"/"))
			continue
		}
		ext := r.data[start:min(start+int64(d.size), int64(len(r.data)))]
		for p := 0; p < len(ext); {
			l := int(ext[p])
			if l == 0 {
				p = (p/isoSector + 1) * isoSector // records do not cross sectors
				continue
			}
			if l < isoRecordMinLen || p+l > len(ext) || ext[p+32] == 0 || 33+int(ext[p+32]) > l {
				r.m.malform(fmt.Sprintf("directory %q: bad record at byte %d", d.path+"/", p))
				break
			}
			rec := ext[p : p+l]
			p += l
			id := rec[33 : 33+int(rec[32])]
			if len(id) == 1 && (id[0] == 0 || id[0] == 1) {
				continue // "." and ".."
			}
			if r.entries >= limit {
				r.m.limitNote(fmt.Sprintf("more than %d entries; listing stopped", limit))
				return files, nil
			}
			r.entries++
			name := r.name(rec, id)
			full := name
			if d.path != "" {
				full = d.path + "/" + name
			}
			lba, size, flags := le32(rec[2:]), le32(rec[10:]), rec[25]
			if flags&isoFlagDir != 0 {
				switch {
				case d.depth+1 >= isoMaxDepth:
					r.m.limitNote(fmt.Sprintf("directories nested deeper than %d", isoMaxDepth))
				case visited[lba]:
					r.m.malform(fmt.Sprintf("directory %q loops back to an earlier directory", full+"/"))
				default:
					visited[lba] = true
					queue = append(queue, isoDir{lba: lba, size: size, path: full, depth: d.depth + 1})
				}
				continue
			}
			files = append(files, isoFile{path: full, lba: lba, size: size, hidden: flags&isoFlagHidden != 0})
		}
	}
	return files, nil
}

// name decodes a record's identifier: UCS-2 big-endian in the Joliet tree,
// else a Rock Ridge NM name when present, else the d-characters without
// their ";1" version.
func (r *isoReader) name(rec, id []byte) string {
	if r.joliet {
		u := make([]uint16, 0, len(id)/2)
		for i := 0; i+1 < len(id); i += 2 {
			u = append(u, uint16(id[i])<<8|uint16(id[i+1]))
		}
		return stripVersion(string(utf16.Decode(u)))
	}
	// The System Use area follows the identifier and, after an
	// even-length one, a padding byte that a short record may lack.
	sysUse := rec[min(33+len(id)+(len(id)+1)%2, len(rec)):]
	if nm := rockRidgeName(sysUse); nm != "" {
		r.rr = true
		return nm
	}
	return stripVersion(string(id))
}

// stripVersion drops ";1" and the dot of an empty extension ("README.;1").
func stripVersion(s string) string {
	if i := strings.LastIndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	if strings.HasSuffix(s, ".") && len(s) > 1 {
		s = s[:len(s)-1]
	}
	return s
}

// rockRidgeName concatenates the NM entries of a System Use area. Only the
// area in the record is read: continuation areas (CE) are not followed.
func rockRidgeName(su []byte) string {
	var b strings.Builder
	for len(su) >= 4 {
		l := int(su[2])
		if l < 4 || l > len(su) {
			break
		}
		if su[0] == 'N' && su[1] == 'M' && l >= 5 {
			flags := su[4]
			if flags&0x06 == 0 { // not "." or ".."
				b.Write(su[5:l])
			}
			if flags&0x01 == 0 && b.Len() > 0 {
				break
			}
		}
		su = su[l:]
	}
	return b.String()
}
