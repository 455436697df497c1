package archive

import (
	"bytes"
	"compress/bzip2"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"

	"triage/parsers"
	"triage/parsers/filetype"
)

// ZipName is the zip parser's name.
const ZipName = "zip"

// Zip lists the members of plain zip archives. OOXML documents and JAR
// files are zips too but have their own parsers (which may call
// ZipMembers).
type Zip struct{}

// NewZip returns the zip parser.
func NewZip() *Zip { return &Zip{} }

// Name implements parsers.Parser.
func (*Zip) Name() string { return ZipName }

// Match implements parsers.Parser: detected type "zip" only.
func (*Zip) Match(a *parsers.Artifact, _ []byte) bool { return a.Type == filetype.Zip }

// Parse implements parsers.Parser.
func (*Zip) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	return ZipMembers(ctx, in, out, nil)
}

// ZipMembers emits every file of the zip archive in in.Data as a child and
// reports the archive findings and meta (members, entries, encrypted,
// encryption, password). Encrypted members are opened with the first
// password that verifies, tried in order: passwords, the message's
// (in.Env), a short list of usual ones, the archive's base name.
//
// The central directory is authoritative; when it is missing or damaged the
// local headers are scanned instead, and local entries the directory hides
// are listed too. Entries sharing or overlapping one another's data (zip
// quines, overlap bombs) are reported and each distinct one emitted once.
func ZipMembers(ctx context.Context, in *parsers.Input, out parsers.Sink, passwords []string) error {
	z := &zipJob{
		data:   in.Data,
		budget: in.Budget,
		m:      newMembers(out),
		out:    out,
		pws:    candidates(in, passwords),
		enc:    encryption{methods: map[string]bool{}},
	}
	z.enc.tried = len(z.pws)
	err := z.run(ctx)
	out.Meta("entries", z.entries)
	z.enc.report(out, z.m.files)
	return z.m.done(err)
}

type zipJob struct {
	data   []byte
	budget *parsers.Budget
	m      *members
	out    parsers.Sink
	pws    []password
	enc    encryption

	found     int // index into pws of the password that worked, or -1
	aesMisses int // AES entries no candidate opened
	entries   int
}

const (
	// maxAESMisses stops trying passwords on AES entries after this many
	// failures: each try costs a PBKDF2 derivation.
	maxAESMisses = 2
)

func (z *zipJob) run(ctx context.Context) error {
	z.found = -1
	dir, err := readZipDir(z.data, z.budget)
	if err != nil {
		return err
	}
	if dir.trailing > 0 {
		z.out.Meta("trailing_bytes", dir.trailing)
	}
	for _, p := range dir.problems {
		z.m.malform(p)
	}
	entries := dir.entries
	for i := range entries {
		entries[i].locate(z.data)
	}
	limit := z.budget.Limits.MaxEntries
	hidden, err := scanLocal(z.data, entries, limit-len(entries), z.budget)
	if err != nil {
		return err
	}
	if len(hidden) > 0 {
		if len(dir.problems) == 0 {
			z.m.malform(fmt.Sprintf("%d local entries missing from the central directory", len(hidden)))
		}
		entries = append(entries, hidden...)
	}
	if dir.limited || len(entries) >= limit && dir.declared > uint64(len(entries)) {
		z.m.limitNote(fmt.Sprintf("more than %d entries; listing stopped", limit))
	}
	skip := z.overlaps(entries)
	z.entries = len(entries)
	for i := range entries {
		if i%64 == 63 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("archive: %w: %v", parsers.ErrDeadline, err)
			}
		}
		if err := z.budget.Err(); err != nil {
			return err
		}
		e := &entries[i]
		if e.dir || skip[i] {
			continue
		}
		data, err := z.member(e)
		if err := z.m.emit(e.name, data, err); err != nil {
			z.m.limitNote("artifact budget spent; listing stopped")
			return fmt.Errorf("archive: emit %q: %w", e.name, err)
		}
	}
	return nil
}

// overlaps marks entries whose local header another entry already uses and
// notes overlapping data ranges.
func (z *zipJob) overlaps(entries []zipEntry) []bool {
	skip := make([]bool, len(entries))
	order := make([]int, 0, len(entries))
	for i := range entries {
		if entries[i].dataOff >= 0 {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return entries[order[a]].headerOff < entries[order[b]].headerOff })
	shared, overlapping := 0, 0
	var prev *zipEntry
	for _, i := range order {
		e := &entries[i]
		switch {
		case prev != nil && e.headerOff == prev.headerOff:
			skip[i] = true
			shared++
			continue
		case prev != nil && e.headerOff < prev.end():
			overlapping++
		}
		prev = e
	}
	if shared > 0 {
		z.m.malform(fmt.Sprintf("%d entries share another entry's local header", shared))
	}
	if overlapping > 0 {
		z.m.malform(fmt.Sprintf("%d entries overlap another entry's data", overlapping))
	}
	return skip
}

// member returns the decompressed (and, if need be, decrypted) data of e.
func (z *zipJob) member(e *zipEntry) ([]byte, error) {
	if e.err != nil {
		return nil, e.err
	}
	raw, complete := e.raw(z.data)
	if e.flags&flagEncrypted == 0 {
		return z.inflate(e, e.method, bytes.NewReader(raw), int64(len(raw)), complete, true)
	}
	z.enc.total++
	if e.flags&flagStrong != 0 {
		z.enc.methods["pkware-strong"] = true
		return nil, fmt.Errorf("archive: %w: %q uses PKWARE strong encryption", parsers.ErrUnsupported, e.name)
	}
	var info aesInfo
	isAES := e.method == methodAES
	if isAES {
		var ok bool
		if info, ok = parseAESExtra(e.extra); !ok {
			return nil, malformedf("AES entry without a valid 0x9901 extra field")
		}
		z.enc.methods[info.name()] = true
		if z.aesMisses >= maxAESMisses && z.found < 0 {
			return nil, fmt.Errorf("archive: %w: %q is encrypted; no candidate password opened earlier entries", parsers.ErrUnsupported, e.name)
		}
	} else {
		z.enc.methods["zipcrypto"] = true
	}
	damaged := false
	for _, i := range z.order() {
		if err := z.budget.Err(); err != nil {
			return nil, err
		}
		pw := z.pws[i]
		var r io.Reader
		method := e.method
		if isAES {
			rr, res := zipAESOpen(info, raw, complete, pw.text)
			switch res {
			case aesTooShort:
				return nil, malformedf("AES data shorter than its salt and codes")
			case aesDamaged:
				damaged = true
				continue
			case aesWrong:
				continue
			}
			r, method = rr, info.method
		} else {
			rr, ok := zipCryptoOpen(e, raw, pw.text)
			if !ok {
				continue
			}
			r = rr
		}
		size := int64(len(raw))
		data, err := z.inflate(e, method, r, size, complete, !isAES || info.version != 2)
		if err != nil && complete && errors.Is(err, parsers.ErrMalformed) && !isAES {
			continue // a wrong ZipCrypto password that passed the check byte
		}
		z.enc.opened++
		if z.found < 0 {
			z.found = i
			z.enc.password = pw
		}
		return data, err
	}
	if isAES {
		z.aesMisses++
	}
	if damaged {
		return nil, malformedf("password verifier matches but the authentication code does not")
	}
	return nil, fmt.Errorf("archive: %w: %q is encrypted and no candidate password opened it", parsers.ErrUnsupported, e.name)
}

// order lists password indexes, the one that worked before first.
func (z *zipJob) order() []int {
	idx := make([]int, 0, len(z.pws))
	if z.found >= 0 {
		idx = append(idx, z.found)
	}
	for i := range z.pws {
		if i != z.found {
			idx = append(idx, i)
		}
	}
	return idx
}

// inflate decompresses r with method through the budget and checks the CRC.
func (z *zipJob) inflate(e *zipEntry, method uint16, r io.Reader, csize int64, complete, checkCRC bool) ([]byte, error) {
	var rd io.Reader
	switch method {
	case methodStore:
		rd = r
	case methodDeflate:
		fr := flate.NewReader(r)
		defer fr.Close()
		rd = fr
	case methodBzip2:
		rd = bzip2.NewReader(r)
	default:
		return nil, fmt.Errorf("archive: %w: %q uses compression method %d", parsers.ErrUnsupported, e.name, method)
	}
	data, err := z.budget.ReadAll(rd, csize)
	switch {
	case err != nil && errors.Is(err, parsers.ErrLimit):
		return data, err
	case err != nil:
		return data, malformedf("%v", err)
	case !complete:
		return data, malformedf("data truncated")
	case checkCRC && crc32.ChecksumIEEE(data) != e.crc:
		return data, malformedf("CRC-32 mismatch")
	}
	return data, nil
}
