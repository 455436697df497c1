package pipeline

import (
	"fmt"
	"regexp"

	"triage/parsers"
	"triage/parsers/archive"
	"triage/parsers/exe"
	"triage/parsers/html"
	"triage/parsers/iqy"
	"triage/parsers/jar"
	"triage/parsers/lnk"
	"triage/parsers/mime"
	"triage/parsers/msg"
	"triage/parsers/ole"
	"triage/parsers/ooxml"
	"triage/parsers/rtf"
	"triage/parsers/script"
	"triage/parsers/uue"
	"triage/parsers/vba"
	"triage/parsers/xlm"
)

// DefaultParsers lists every parser triage runs, in the order they run on
// an artifact. This list is the registry: there is no init()-time
// registration anywhere.
func DefaultParsers() []parsers.Parser {
	return []parsers.Parser{
		mime.New(),
		archive.NewZip(),
		archive.NewGzip(),
		archive.NewTar(),
		archive.NewSevenZip(),
		archive.NewRar(),
		archive.NewISO(),
		lnk.New(),
		iqy.New(),
		jar.New(),
		exe.New(),
		ole.New(),
		vba.New(),
		ooxml.New(),
		xlm.New(),
		rtf.New(),
		msg.New(),
		script.New(),
		html.New(),
		// Last: its children (decoded uuencoded files) follow those of
		// the text-level parsers above.
		uue.New(),
	}
}

// DefaultParsersWith is DefaultParsers with the mail-level signals
// configured (lure lists, brands, tenants, disabled signals).
func DefaultParsersWith(sig mime.Signals) ([]parsers.Parser, error) {
	m, err := mime.NewWithSignals(sig)
	if err != nil {
		return nil, err
	}
	ps := DefaultParsers()
	for i, p := range ps {
		if p.Name() == mime.Name {
			ps[i] = m
		}
	}
	return ps, nil
}

var parserNameRE = regexp.MustCompile(`^[a-z0-9-]+$`)

// checkRegistry enforces the registry's invariants: valid, unique names.
func checkRegistry(ps []parsers.Parser) error {
	seen := map[string]bool{}
	for _, p := range ps {
		n := p.Name()
		if !parserNameRE.MatchString(n) {
			return fmt.Errorf("pipeline: parser name %q does not match %s", n, parserNameRE)
		}
		if seen[n] {
			return fmt.Errorf("pipeline: parser %q registered twice", n)
		}
		seen[n] = true
	}
	return nil
}
