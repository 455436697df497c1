package imapsrc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"

	"github.com/emersion/go-imap/v2"
)

// readLiteral reads a literal whose size was checked against max. The
// allocation is sized by what the server announced, which the caller has
// already bounded.
func readLiteral(lit imap.LiteralReader, max int64) ([]byte, error) {
	var buf bytes.Buffer
	if n := lit.Size(); n > 0 && n <= max {
		buf.Grow(int(n))
	}
	n, err := buf.ReadFrom(io.LimitReader(lit, max+1))
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, fmt.Errorf("literal longer than %d bytes", max)
	}
	return buf.Bytes(), nil
}

func sortInfos(in []Info) {
	sort.Slice(in, func(i, j int) bool { return in[i].UID < in[j].UID })
}

// SHA256 is the hex digest the daemon records for a fetched message.
func SHA256(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Contains reports whether mailbox holds a message of the given size whose
// BODY[] has the given SHA-256 (and, when messageID is set, that
// Message-ID) and all of the given keywords; an empty sum skips the
// digest check (a message too large to have been fetched). It is how a resumed action
// finds out whether a COPY or MOVE interrupted by a crash already
// happened. The selected mailbox is re-selected afterwards; if its
// UIDVALIDITY changed meanwhile, ErrUIDValidity is returned.
func (cl *Client) Contains(ctx context.Context, mailbox string, size int64, sum, messageID string, keywords []imap.Flag) (bool, error) {
	prev, prevVal := cl.SelectedMailbox()
	found, err := cl.contains(ctx, mailbox, size, sum, messageID, keywords)
	if err != nil {
		return false, err
	}
	if prev != "" {
		sel, err := cl.Select(ctx, prev)
		if err != nil {
			return false, err
		}
		if sel.UIDValidity != prevVal {
			return false, ErrUIDValidity
		}
	}
	return found, nil
}

func (cl *Client) contains(ctx context.Context, mailbox string, size int64, sum, messageID string, keywords []imap.Flag) (bool, error) {
	defer cl.guard(ctx)()
	if _, err := cl.c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return false, fmt.Errorf("imapsrc: EXAMINE %q: %w", mailbox, ctxErr(ctx, err))
	}
	cl.mu.Lock()
	cl.selected = ""
	cl.mu.Unlock()
	crit := &imap.SearchCriteria{Larger: size - 1, Smaller: size + 1, Flag: keywords}
	if messageID != "" {
		crit.Header = []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: messageID}}
	}
	data, err := cl.c.UIDSearch(crit, nil).Wait()
	if err != nil {
		return false, fmt.Errorf("imapsrc: UID SEARCH in %q: %w", mailbox, ctxErr(ctx, err))
	}
	uids := data.AllUIDs()
	if len(uids) == 0 {
		return false, nil
	}
	if sum == "" {
		return true, nil // not fetched (over the size limit): the search must do
	}
	if len(uids) > 20 {
		uids = uids[len(uids)-20:] // the newest copies are the candidates
	}
	section := &imap.FetchItemBodySection{Peek: true}
	bufs, err := cl.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return false, fmt.Errorf("imapsrc: UID FETCH in %q: %w", mailbox, ctxErr(ctx, err))
	}
	for _, b := range bufs {
		if body := b.FindBodySection(section); body != nil && SHA256(body) == sum {
			return true, nil
		}
	}
	return false, nil
}
