package imaptest

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Append appends each message to mailbox, pipelined.
func Append(t testing.TB, c *imapclient.Client, mailbox string, msgs ...[]byte) {
	t.Helper()
	cmds := make([]*imapclient.AppendCommand, 0, len(msgs))
	for _, m := range msgs {
		cmd := c.Append(mailbox, int64(len(m)), nil)
		if _, err := cmd.Write(m); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if _, err := cmd.Wait(); err != nil {
			t.Fatalf("APPEND to %q: %v", mailbox, err)
		}
	}
}

// Message is a message as a test sees it in a mailbox.
type Message struct {
	UID   imap.UID
	Flags []imap.Flag
	Body  []byte
}

// HasFlag reports whether the message carries flag (flags and keywords
// are case-insensitive).
func (m Message) HasFlag(flag imap.Flag) bool {
	for _, f := range m.Flags {
		if strings.EqualFold(string(f), string(flag)) {
			return true
		}
	}
	return false
}

// Messages returns every message in mailbox with its flags and body
// (fetched with BODY.PEEK[], so nothing changes), or nil when the mailbox
// does not exist.
func Messages(t testing.TB, c *imapclient.Client, mailbox string) []Message {
	t.Helper()
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil
	}
	if sel.NumMessages == 0 {
		return []Message{}
	}
	section := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatalf("FETCH %q: %v", mailbox, err)
	}
	out := make([]Message, 0, len(bufs))
	for _, b := range bufs {
		out = append(out, Message{UID: b.UID, Flags: b.Flags, Body: b.FindBodySection(section)})
	}
	return out
}
