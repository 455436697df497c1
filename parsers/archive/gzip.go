package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/names"
)

// Parser names.
const (
	GzipName = "gzip"
	TarName  = "tar"
)

// Gzip decompresses gzip files. The result is one child named after the
// FNAME header (or the outer name minus ".gz"), except that a compressed
// tar archive is listed member by member.
type Gzip struct{}

// NewGzip returns the gzip parser.
func NewGzip() *Gzip { return &Gzip{} }

// Name implements parsers.Parser.
func (*Gzip) Name() string { return GzipName }

// Match implements parsers.Parser.
func (*Gzip) Match(a *parsers.Artifact, _ []byte) bool { return a.Type == filetype.Gzip }

// Parse implements parsers.Parser.
func (*Gzip) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	m := newMembers(out)
	return m.done(parseGzip(ctx, in, out, m))
}

func parseGzip(ctx context.Context, in *parsers.Input, out parsers.Sink, m *members) error {
	zr, err := gzip.NewReader(bytes.NewReader(in.Data))
	if err != nil {
		m.malform(fmt.Sprintf("gzip header: %v", err))
		return nil
	}
	defer zr.Close()
	name := zr.Name
	if name != "" {
		out.Meta("gzip_name", name)
	} else {
		name = innerName(in.Artifact.Name)
	}
	data, rerr := in.Budget.ReadAll(zr, int64(len(in.Data)))
	if rerr != nil && !errors.Is(rerr, parsers.ErrLimit) {
		rerr = malformedf("gzip stream: %v", rerr)
	}
	if isTar(data) {
		out.Meta("tar", true)
		if rerr != nil {
			switch {
			case errors.Is(rerr, parsers.ErrLimit):
				m.limit(rerr)
			default:
				m.malform(shortErr(rerr))
			}
		}
		n, err := tarMembers(ctx, data, in.Budget, m)
		out.Meta("entries", n)
		return err
	}
	out.Meta("entries", 1)
	if err := m.emit(name, data, rerr); err != nil {
		return fmt.Errorf("archive: emit %q: %w", name, err)
	}
	return nil
}

// innerName derives the decompressed file's name from the archive's:
// "a.txt.gz" → "a.txt", "a.tgz" → "a.tar".
func innerName(outer string) string {
	base := names.Base(outer)
	lower := strings.ToLower(base)
	switch {
	case strings.HasSuffix(lower, ".tgz"):
		return base[:len(base)-4] + ".tar"
	case strings.HasSuffix(lower, ".gz"):
		return base[:len(base)-3]
	case strings.HasSuffix(lower, ".z"), strings.HasSuffix(lower, "-z"):
		return base[:len(base)-2]
	case base == "":
		return "data"
	}
	return base + ".out"
}

// isTar reports a POSIX or GNU tar header ("ustar" at offset 257).
func isTar(b []byte) bool { return len(b) >= 262 && string(b[257:262]) == "ustar" }

// Tar lists the members of tar archives.
type Tar struct{}

// NewTar returns the tar parser.
func NewTar() *Tar { return &Tar{} }

// Name implements parsers.Parser.
func (*Tar) Name() string { return TarName }

// Match implements parsers.Parser.
func (*Tar) Match(a *parsers.Artifact, _ []byte) bool { return a.Type == filetype.Tar }

// Parse implements parsers.Parser.
func (*Tar) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	m := newMembers(out)
	n, err := tarMembers(ctx, in.Data, in.Budget, m)
	out.Meta("entries", n)
	return m.done(err)
}

// tarMembers emits the regular files of the tar archive in data and returns
// the number of entries seen.
func tarMembers(ctx context.Context, data []byte, b *parsers.Budget, m *members) (int, error) {
	tr := tar.NewReader(bytes.NewReader(data))
	limit := b.Limits.MaxEntries
	n := 0
	for ; ; n++ {
		if err := b.Err(); err != nil {
			return n, err
		}
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("archive: %w: %v", parsers.ErrDeadline, err)
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			m.malform(fmt.Sprintf("tar entry %d: %v", n+1, err))
			return n, nil
		}
		if n >= limit {
			m.limitNote(fmt.Sprintf("more than %d entries; listing stopped", limit))
			return n, nil
		}
		// Regular files only ('\x00' is the pre-POSIX regular type).
		if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != '\x00' {
			continue
		}
		body, rerr := b.ReadAll(tr, hdr.Size)
		if rerr != nil && !errors.Is(rerr, parsers.ErrLimit) {
			rerr = malformedf("%v", rerr)
		}
		if err := m.emit(hdr.Name, body, rerr); err != nil {
			m.limitNote("artifact budget spent; listing stopped")
			return n + 1, fmt.Errorf("archive: emit %q: %w", hdr.Name, err)
		}
	}
}
