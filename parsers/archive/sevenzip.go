package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/bodgit/sevenzip"

	"triage/parsers"
	"triage/parsers/filetype"
)

// SevenZipName is the 7z parser's name.
const SevenZipName = "7z"

// SevenZip lists the members of 7z archives through github.com/bodgit/sevenzip,
// behind a header guard (see sevenzip_guard.go). Encrypted archives, names
// included (7z -mhe), are opened with the candidate passwords.
type SevenZip struct{}

// NewSevenZip returns the 7z parser.
func NewSevenZip() *SevenZip { return &SevenZip{} }

// Name implements parsers.Parser.
func (*SevenZip) Name() string { return SevenZipName }

// Match implements parsers.Parser.
func (*SevenZip) Match(a *parsers.Artifact, _ []byte) bool { return a.Type == filetype.SevenZ }

// slowKDFCommon is how many common passwords are tried on formats whose key
// derivation is slow (7zAES: 2^19 SHA-256 rounds, about 50 ms; RAR alike).
const slowKDFCommon = 6

// Parse implements parsers.Parser.
func (*SevenZip) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	j := &szJob{
		in:  in,
		out: out,
		m:   newMembers(out),
		pws: slowCandidates(in),
		enc: encryption{methods: map[string]bool{}},
	}
	j.enc.tried = len(j.pws)
	err := j.run(ctx)
	out.Meta("entries", j.entries)
	j.enc.report(out, j.m.files)
	return j.m.done(err)
}

// slowCandidates is candidates with a shorter common list.
func slowCandidates(in *parsers.Input) []password {
	var out []password
	common := 0
	for _, p := range candidates(in, nil) {
		if p.source == sourceCommon {
			if common >= slowKDFCommon {
				continue
			}
			common++
		}
		out = append(out, p)
	}
	return out
}

type szJob struct {
	in      *parsers.Input
	out     parsers.Sink
	m       *members
	pws     []password
	enc     encryption
	entries int
}

func (j *szJob) run(ctx context.Context) error {
	b := j.in.Budget
	g := &szGuard{data: j.in.Data, maxFiles: uint64(b.Limits.MaxEntries), maxCount: uint64(max(b.Limits.MaxEntries, 1024)), budget: b}
	info, err := g.inspect(j.pws)
	switch {
	case errors.Is(err, errNeedPassword):
		j.enc.header = true
		j.enc.methods["aes-256"] = true
		return nil
	case errors.Is(err, parsers.ErrDeadline):
		return err
	case errors.Is(err, parsers.ErrLimit):
		j.m.limitNote(limitReason(err) + "; not opened")
		return nil
	case errors.Is(err, parsers.ErrUnsupported):
		return err
	case err != nil:
		j.m.malform(shortErr(err))
		return nil
	}
	pw := info.password
	if info.headerEncrypted {
		j.enc.header = true
		j.enc.password = pw
	}
	r, err := open7z(j.in.Data, pw.text)
	if err != nil {
		j.m.malform(shortErr(err))
		return nil
	}
	encrypted := func(f *sevenzip.File) bool {
		return info.main != nil && f.UncompressedSize > 0 && f.Stream < len(info.main.folders) && info.main.folders[f.Stream].encrypted
	}
	probe := -1
	for i, f := range r.File {
		if encrypted(f) {
			j.enc.methods["aes-256"] = true
			if probe < 0 || f.UncompressedSize < r.File[probe].UncompressedSize {
				probe = i
			}
		}
	}
	if probe >= 0 && pw.text == "" {
		for _, c := range j.pws {
			if err := b.Err(); err != nil {
				return err
			}
			if try7z(j.in.Data, probe, c.text) {
				pw = c
				j.enc.password = c
				if r, err = open7z(j.in.Data, pw.text); err != nil {
					j.m.malform(shortErr(err))
					return nil
				}
				break
			}
		}
	}
	cut := map[int]bool{}
	for i, f := range r.File {
		if i%64 == 63 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("archive: %w: %v", parsers.ErrDeadline, err)
			}
		}
		if err := b.Err(); err != nil {
			return err
		}
		j.entries++
		if f.FileInfo().IsDir() {
			continue
		}
		var data []byte
		var ferr error
		enc := encrypted(f)
		if enc {
			j.enc.total++
		}
		switch {
		case enc && pw.text == "":
			ferr = fmt.Errorf("archive: %w: encrypted and no candidate password opened it", parsers.ErrUnsupported)
		case f.UncompressedSize > 0 && cut[f.Stream]:
			ferr = fmt.Errorf("archive: %w: skipped: an earlier member of its solid block was cut", parsers.ErrTooLarge)
		default:
			data, ferr = read7z(f, b, int64(len(j.in.Data)))
			if enc && (ferr == nil || errors.Is(ferr, parsers.ErrLimit)) {
				j.enc.opened++
			}
		}
		if errors.Is(ferr, parsers.ErrLimit) && f.UncompressedSize > 0 {
			cut[f.Stream] = true
		}
		if err := j.m.emit(f.Name, data, ferr); err != nil {
			j.m.limitNote("artifact budget spent; listing stopped")
			return fmt.Errorf("archive: emit %q: %w", f.Name, err)
		}
	}
	return nil
}

// open7z opens an archive the guard accepted; a library panic becomes an
// error.
func open7z(data []byte, pw string) (r *sevenzip.Reader, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = malformedf("7z: reader panic: %v", p)
		}
	}()
	r, err = sevenzip.NewReaderWithPassword(bytes.NewReader(data), int64(len(data)), pw)
	if err != nil {
		return nil, malformedf("%v", err)
	}
	return r, nil
}

// read7z reads one member through the budget; the archive size is the
// ratio base (solid blocks hide per-member compressed sizes).
func read7z(f *sevenzip.File, b *parsers.Budget, archiveSize int64) (data []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = malformedf("7z: member panic: %v", p)
		}
	}()
	rc, err := f.Open()
	if err != nil {
		return nil, malformedf("%v", err)
	}
	defer rc.Close()
	data, err = b.ReadAll(rc, archiveSize)
	switch {
	case err != nil && errors.Is(err, parsers.ErrLimit):
		return data, err
	case err != nil:
		return data, malformedf("%v", err)
	case uint64(len(data)) != f.UncompressedSize:
		return data, malformedf("%d of %d bytes", len(data), f.UncompressedSize)
	case f.CRC32 != 0 && crc32.ChecksumIEEE(data) != f.CRC32:
		return data, malformedf("CRC-32 mismatch")
	}
	return data, nil
}

// try7z reports whether pw decrypts member i: its first 4 MiB decode
// without error and, when that is all of it, match its CRC.
func try7z(data []byte, i int, pw string) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	r, err := sevenzip.NewReaderWithPassword(bytes.NewReader(data), int64(len(data)), pw)
	if err != nil || i >= len(r.File) {
		return false
	}
	f := r.File[i]
	rc, err := f.Open()
	if err != nil {
		return false
	}
	defer rc.Close()
	h := crc32.NewIEEE()
	n, err := io.Copy(h, io.LimitReader(rc, 4<<20))
	if err != nil {
		return false
	}
	if uint64(n) == f.UncompressedSize && f.CRC32 != 0 {
		return h.Sum32() == f.CRC32
	}
	return n > 0
}
