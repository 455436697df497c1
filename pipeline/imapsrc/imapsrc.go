// Package imapsrc is triage's IMAP adapter. It connects to a mailbox over
// TLS or STARTTLS with certificate verification on, authenticates with
// LOGIN, PLAIN or XOAUTH2, finds new messages by UID, fetches them with
// BODY.PEEK[] (so nothing is marked \Seen by accident) behind a size gate,
// and afterwards flags or moves them.
//
// It wraps go-imap v2's imapclient, which takes no context.Context: every
// method here takes one and maps its cancellation onto closing the
// connection, after which the Client is unusable and must be redialled.
package imapsrc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// TLS modes.
const (
	TLSImplicit = "implicit" // TLS from the first byte (port 993)
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (port 143)
	TLSNone     = "none"     // no encryption: loopback and tests only
)

// Authentication mechanisms.
const (
	AuthLogin   = "login"   // IMAP LOGIN command
	AuthPlain   = "plain"   // SASL PLAIN
	AuthXOAUTH2 = "xoauth2" // SASL XOAUTH2 with an OAuth 2.0 access token
)

// Options says how to reach and log in to one IMAP account.
type Options struct {
	Address            string // host:port
	TLS                string // TLSImplicit (default), TLSStartTLS or TLSNone
	ServerName         string // certificate name to verify; default: the host of Address
	CAFile             string // PEM bundle trusted in addition to the system roots
	InsecureSkipVerify bool   // do not verify the server certificate (never the default)
	Username           string
	Auth               string // AuthLogin (default), AuthPlain or AuthXOAUTH2
	// Secret returns the password (LOGIN, PLAIN) or the access token
	// (XOAUTH2). It is called on every connection, so a rotated password or
	// a refreshed token file is picked up without a restart.
	Secret      func() (string, error)
	DialTimeout time.Duration // default 30 s
	// TLSConfig, when set, is the base TLS configuration (tests).
	TLSConfig *tls.Config
}

// ErrUIDValidity is returned when a mailbox's UIDVALIDITY changed under an
// open session: every UID known for it is void.
var ErrUIDValidity = errors.New("imapsrc: UIDVALIDITY changed")

// Client is one authenticated IMAP connection. Its methods must not be
// called concurrently.
type Client struct {
	c    *imapclient.Client
	caps imap.CapSet

	updates chan struct{} // signalled on unilateral EXISTS

	mu       sync.Mutex
	selected string
	uidVal   uint32
	delim    rune
	numMsgs  uint32
	hasDelim bool
}

// Dial connects, negotiates TLS and authenticates.
func Dial(ctx context.Context, o Options) (*Client, error) {
	if o.Address == "" {
		return nil, errors.New("imapsrc: no address")
	}
	host, _, err := net.SplitHostPort(o.Address)
	if err != nil {
		return nil, fmt.Errorf("imapsrc: address %q: %w", o.Address, err)
	}
	tlsCfg, err := o.tlsConfig(host)
	if err != nil {
		return nil, err
	}
	secret := ""
	if o.Secret != nil {
		if secret, err = o.Secret(); err != nil {
			return nil, fmt.Errorf("imapsrc: read secret: %w", err)
		}
	}
	timeout := o.DialTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", o.Address)
	if err != nil {
		return nil, fmt.Errorf("imapsrc: dial %s: %w", o.Address, err)
	}
	// Until login completes, cancellation or a stuck server closes the socket.
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	deadline := time.AfterFunc(timeout, func() { raw.Close() })
	defer deadline.Stop()

	cl := &Client{updates: make(chan struct{}, 1)}
	opts := &imapclient.Options{
		TLSConfig: tlsCfg,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(m *imapclient.UnilateralDataMailbox) {
				if m.NumMessages != nil {
					cl.mu.Lock()
					cl.numMsgs = *m.NumMessages
					cl.mu.Unlock()
					cl.signal()
				}
			},
		},
	}
	switch o.TLS {
	case TLSImplicit, "":
		tc := tls.Client(raw, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("imapsrc: TLS handshake with %s: %w", o.Address, err)
		}
		cl.c = imapclient.New(tc, opts)
	case TLSStartTLS:
		c, err := imapclient.NewStartTLS(raw, opts)
		if err != nil {
			raw.Close()
			return nil, fmt.Errorf("imapsrc: STARTTLS with %s: %w", o.Address, err)
		}
		cl.c = c
	case TLSNone:
		cl.c = imapclient.New(raw, opts)
	default:
		raw.Close()
		return nil, fmt.Errorf("imapsrc: unknown tls mode %q", o.TLS)
	}
	if err := cl.c.WaitGreeting(); err != nil {
		cl.c.Close()
		return nil, fmt.Errorf("imapsrc: greeting from %s: %w", o.Address, ctxErr(ctx, err))
	}
	if err := cl.login(o, secret); err != nil {
		cl.c.Close()
		return nil, ctxErr(ctx, err)
	}
	cl.caps = cl.c.Caps()
	if cl.caps == nil {
		cl.c.Close()
		return nil, fmt.Errorf("imapsrc: %s: no capabilities after login", o.Address)
	}
	return cl, nil
}

func (o Options) tlsConfig(host string) (*tls.Config, error) {
	cfg := &tls.Config{}
	if o.TLSConfig != nil {
		cfg = o.TLSConfig.Clone()
	}
	if cfg.MinVersion < tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS12
	}
	if cfg.ServerName == "" {
		cfg.ServerName = o.ServerName
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("imapsrc: ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("imapsrc: ca_file %s: no PEM certificate found", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if o.InsecureSkipVerify {
		cfg.InsecureSkipVerify = true
	}
	return cfg, nil
}

func (cl *Client) login(o Options, secret string) error {
	if cl.c.State() == imap.ConnStateAuthenticated {
		return nil // PREAUTH (never accepted on STARTTLS by imapclient)
	}
	switch o.Auth {
	case AuthLogin, "":
		if cl.c.Caps().Has(imap.CapLoginDisabled) {
			return fmt.Errorf("imapsrc: %s advertises LOGINDISABLED", o.Address)
		}
		if err := cl.c.Login(o.Username, secret).Wait(); err != nil {
			return fmt.Errorf("imapsrc: LOGIN as %q: %w", o.Username, err)
		}
	case AuthPlain:
		if err := cl.c.Authenticate(sasl.NewPlainClient("", o.Username, secret)); err != nil {
			return fmt.Errorf("imapsrc: AUTHENTICATE PLAIN as %q: %w", o.Username, err)
		}
	case AuthXOAUTH2:
		x := &xoauth2Client{username: o.Username, token: secret}
		if err := cl.c.Authenticate(x); err != nil {
			if x.serverErr != "" {
				return fmt.Errorf("imapsrc: AUTHENTICATE XOAUTH2 as %q: %w (server said %s)", o.Username, err, x.serverErr)
			}
			return fmt.Errorf("imapsrc: AUTHENTICATE XOAUTH2 as %q: %w", o.Username, err)
		}
	default:
		return fmt.Errorf("imapsrc: unknown auth mechanism %q", o.Auth)
	}
	return nil
}

func (cl *Client) signal() {
	select {
	case cl.updates <- struct{}{}:
	default:
	}
}

// ctxErr prefers the context's error over the I/O error it caused.
func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// guard closes the connection if ctx is cancelled while a command runs.
func (cl *Client) guard(ctx context.Context) func() bool {
	return context.AfterFunc(ctx, func() { cl.c.Close() })
}

// Caps returns the capabilities the server advertised after login.
func (cl *Client) Caps() imap.CapSet { return cl.caps }

// HasMove reports whether the server offers MOVE (RFC 6851).
func (cl *Client) HasMove() bool { return cl.caps.Has(imap.CapMove) }

// HasIdle reports whether the server offers IDLE (RFC 2177).
func (cl *Client) HasIdle() bool { return cl.caps.Has(imap.CapIdle) }

// HasUIDPlus reports whether the server offers UIDPLUS (UID EXPUNGE).
func (cl *Client) HasUIDPlus() bool { return cl.caps.Has(imap.CapUIDPlus) }

// Close logs out politely (bounded by a short timeout) and closes.
func (cl *Client) Close() error {
	done := make(chan struct{})
	go func() {
		cl.c.Logout().Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	case <-cl.c.Closed():
	}
	return cl.c.Close()
}

// Selected describes the selected mailbox.
type Selected struct {
	Mailbox     string
	UIDValidity uint32
	UIDNext     imap.UID
	Messages    uint32
}

// Select opens mailbox read-write.
func (cl *Client) Select(ctx context.Context, mailbox string) (Selected, error) {
	defer cl.guard(ctx)()
	data, err := cl.c.Select(mailbox, nil).Wait()
	if err != nil {
		return Selected{}, fmt.Errorf("imapsrc: SELECT %q: %w", mailbox, ctxErr(ctx, err))
	}
	cl.mu.Lock()
	cl.selected, cl.uidVal, cl.numMsgs = mailbox, data.UIDValidity, data.NumMessages
	cl.mu.Unlock()
	return Selected{Mailbox: mailbox, UIDValidity: data.UIDValidity, UIDNext: data.UIDNext, Messages: data.NumMessages}, nil
}

// Delimiter returns the server's hierarchy delimiter ('/' when it has none).
func (cl *Client) Delimiter(ctx context.Context) (rune, error) {
	cl.mu.Lock()
	if cl.hasDelim {
		d := cl.delim
		cl.mu.Unlock()
		return d, nil
	}
	cl.mu.Unlock()
	defer cl.guard(ctx)()
	list, err := cl.c.List("", "", nil).Collect()
	if err != nil {
		return 0, fmt.Errorf("imapsrc: LIST delimiter: %w", ctxErr(ctx, err))
	}
	d := '/'
	if len(list) > 0 && list[0].Delim != 0 {
		d = list[0].Delim
	}
	cl.mu.Lock()
	cl.delim, cl.hasDelim = d, true
	cl.mu.Unlock()
	return d, nil
}

// EnsureMailbox creates mailbox unless it exists.
func (cl *Client) EnsureMailbox(ctx context.Context, mailbox string) error {
	defer cl.guard(ctx)()
	list, err := cl.c.List("", mailbox, nil).Collect()
	if err != nil {
		return fmt.Errorf("imapsrc: LIST %q: %w", mailbox, ctxErr(ctx, err))
	}
	for _, l := range list {
		if l.Mailbox == mailbox || (strings.EqualFold(mailbox, "INBOX") && strings.EqualFold(l.Mailbox, "INBOX")) {
			return nil
		}
	}
	if err := cl.c.Create(mailbox, nil).Wait(); err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists {
			return nil
		}
		return fmt.Errorf("imapsrc: CREATE %q: %w", mailbox, ctxErr(ctx, err))
	}
	return nil
}

// Info is what Scan learns about a message without fetching it.
type Info struct {
	UID   imap.UID
	Size  int64
	Flags []imap.Flag
}

// Scan lists the messages whose UID is above after, in UID order.
func (cl *Client) Scan(ctx context.Context, after imap.UID) ([]Info, error) {
	cl.mu.Lock()
	n := cl.numMsgs
	cl.mu.Unlock()
	if n == 0 {
		// An empty mailbox: "UID FETCH n:*" would be answered with nothing
		// anyway, but a NOOP still collects pending EXISTS updates.
		defer cl.guard(ctx)()
		if err := cl.c.Noop().Wait(); err != nil {
			return nil, fmt.Errorf("imapsrc: NOOP: %w", ctxErr(ctx, err))
		}
		cl.mu.Lock()
		n = cl.numMsgs
		cl.mu.Unlock()
		if n == 0 {
			return nil, nil
		}
	}
	defer cl.guard(ctx)()
	set := imap.UIDSet{imap.UIDRange{Start: after + 1, Stop: 0}}
	cmd := cl.c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true, Flags: true})
	var out []Info
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		buf, err := msg.Collect()
		if err != nil {
			cmd.Close()
			return nil, fmt.Errorf("imapsrc: UID FETCH %s: %w", set, ctxErr(ctx, err))
		}
		// "n:*" also returns the highest message when it is below n.
		if buf.UID > after {
			out = append(out, Info{UID: buf.UID, Size: buf.RFC822Size, Flags: buf.Flags})
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("imapsrc: UID FETCH %s: %w", set, ctxErr(ctx, err))
	}
	sortInfos(out)
	return out, nil
}

// Fetch fetches the given messages with BODY.PEEK[] and calls fn for each
// one, in the order the server sends them. A message whose literal is
// larger than max is not read: fn gets nil data and tooLarge set. UIDs the
// server did not return (expunged meanwhile) are returned as missing.
func (cl *Client) Fetch(ctx context.Context, uids []imap.UID, max int64, fn func(uid imap.UID, data []byte, tooLarge bool) error) (missing []imap.UID, err error) {
	if len(uids) == 0 {
		return nil, nil
	}
	defer cl.guard(ctx)()
	set := imap.UIDSetNum(uids...)
	section := &imap.FetchItemBodySection{Peek: true}
	cmd := cl.c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
	got := map[imap.UID]bool{}
	var fnErr error
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		var uid imap.UID
		var data []byte
		var big, haveBody bool
		for {
			item := msg.Next()
			if item == nil {
				break
			}
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = it.UID
			case imapclient.FetchItemDataBodySection:
				haveBody = true
				if it.Literal == nil {
					continue
				}
				// The size gate: refuse before reading a byte.
				if it.Literal.Size() > max {
					big = true
					continue // Next discards the literal
				}
				b, err := readLiteral(it.Literal, max)
				if err != nil {
					cmd.Close()
					return nil, fmt.Errorf("imapsrc: read UID %d: %w", uid, ctxErr(ctx, err))
				}
				data = b
			}
		}
		if uid == 0 || !haveBody || got[uid] {
			continue // a FETCH for flags only, or a duplicate
		}
		got[uid] = true
		if fnErr == nil {
			fnErr = fn(uid, data, big)
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("imapsrc: UID FETCH %s BODY.PEEK[]: %w", set, ctxErr(ctx, err))
	}
	if fnErr != nil {
		return nil, fnErr
	}
	for _, u := range uids {
		if !got[u] {
			missing = append(missing, u)
		}
	}
	return missing, nil
}

// Envelope fetches the envelopes of the given messages (headers only).
func (cl *Client) Envelope(ctx context.Context, uids []imap.UID) (map[imap.UID]*imap.Envelope, error) {
	out := map[imap.UID]*imap.Envelope{}
	if len(uids) == 0 {
		return out, nil
	}
	defer cl.guard(ctx)()
	set := imap.UIDSetNum(uids...)
	bufs, err := cl.c.Fetch(set, &imap.FetchOptions{UID: true, Envelope: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("imapsrc: UID FETCH %s ENVELOPE: %w", set, ctxErr(ctx, err))
	}
	for _, b := range bufs {
		if b.UID != 0 && b.Envelope != nil {
			out[b.UID] = b.Envelope
		}
	}
	return out, nil
}

// Flags returns the flags of those of the given messages still present in
// the selected mailbox. A UID absent from the result is gone.
func (cl *Client) Flags(ctx context.Context, uids []imap.UID) (map[imap.UID][]imap.Flag, error) {
	out := map[imap.UID][]imap.Flag{}
	if len(uids) == 0 {
		return out, nil
	}
	defer cl.guard(ctx)()
	set := imap.UIDSetNum(uids...)
	bufs, err := cl.c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("imapsrc: UID FETCH %s FLAGS: %w", set, ctxErr(ctx, err))
	}
	for _, b := range bufs {
		if b.UID != 0 && set.Contains(b.UID) {
			f := b.Flags
			if f == nil {
				f = []imap.Flag{}
			}
			out[b.UID] = f
		}
	}
	return out, nil
}

// AddFlags adds flags (system flags or keywords) to the given messages.
func (cl *Client) AddFlags(ctx context.Context, uids []imap.UID, flags []imap.Flag) error {
	if len(uids) == 0 || len(flags) == 0 {
		return nil
	}
	defer cl.guard(ctx)()
	set := imap.UIDSetNum(uids...)
	if err := cl.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close(); err != nil {
		return fmt.Errorf("imapsrc: UID STORE %s +FLAGS %v: %w", set, flags, ctxErr(ctx, err))
	}
	return nil
}

// Move moves the given messages to dest with UID MOVE. Callers check
// HasMove first; see Copy and DeleteExpunge for the fallback.
func (cl *Client) Move(ctx context.Context, uids []imap.UID, dest string) error {
	if len(uids) == 0 {
		return nil
	}
	if !cl.HasMove() {
		return errors.New("imapsrc: server does not offer MOVE")
	}
	defer cl.guard(ctx)()
	set := imap.UIDSetNum(uids...)
	if _, err := cl.c.Move(set, dest).Wait(); err != nil {
		return fmt.Errorf("imapsrc: UID MOVE %s %q: %w", set, dest, ctxErr(ctx, err))
	}
	return nil
}

// Copy copies the given messages to dest with UID COPY.
func (cl *Client) Copy(ctx context.Context, uids []imap.UID, dest string) error {
	if len(uids) == 0 {
		return nil
	}
	defer cl.guard(ctx)()
	set := imap.UIDSetNum(uids...)
	if _, err := cl.c.Copy(set, dest).Wait(); err != nil {
		return fmt.Errorf("imapsrc: UID COPY %s %q: %w", set, dest, ctxErr(ctx, err))
	}
	return nil
}

// DeleteExpunge marks the given messages \Deleted and expunges them: with
// UID EXPUNGE when the server has UIDPLUS, else with EXPUNGE (which also
// removes any other message someone marked \Deleted).
func (cl *Client) DeleteExpunge(ctx context.Context, uids []imap.UID) error {
	if len(uids) == 0 {
		return nil
	}
	if err := cl.AddFlags(ctx, uids, []imap.Flag{imap.FlagDeleted}); err != nil {
		return err
	}
	defer cl.guard(ctx)()
	set := imap.UIDSetNum(uids...)
	var cmd *imapclient.ExpungeCommand
	if cl.HasUIDPlus() {
		cmd = cl.c.UIDExpunge(set)
	} else {
		cmd = cl.c.Expunge()
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("imapsrc: EXPUNGE %s: %w", set, ctxErr(ctx, err))
	}
	return nil
}

// Wait blocks until the mailbox may have changed: with IDLE (when idle is
// set and the server offers it) until the server reports new messages, else
// until d elapses; always returning early on wake, ctx or a dropped
// connection. It returns an error only when the connection is unusable.
func (cl *Client) Wait(ctx context.Context, idle bool, d time.Duration, wake <-chan struct{}) error {
	select {
	case <-cl.updates:
		return nil // something arrived since the last scan
	default:
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	if !idle || !cl.HasIdle() {
		select {
		case <-timer.C:
		case <-wake:
		case <-ctx.Done():
		case <-cl.updates:
		case <-cl.c.Closed():
			return errors.New("imapsrc: connection closed")
		}
		return nil
	}
	cmd, err := cl.c.Idle()
	if err != nil {
		return fmt.Errorf("imapsrc: IDLE: %w", err)
	}
	var closed bool
	select {
	case <-timer.C:
	case <-wake:
	case <-ctx.Done():
	case <-cl.updates:
	case <-cl.c.Closed():
		closed = true
	}
	if closed {
		return errors.New("imapsrc: connection closed during IDLE")
	}
	// DONE must not hang forever on a dead peer.
	t := time.AfterFunc(30*time.Second, func() { cl.c.Close() })
	defer t.Stop()
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("imapsrc: IDLE DONE: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("imapsrc: IDLE: %w", err)
	}
	return nil
}

// SelectedMailbox returns the selected mailbox and its UIDVALIDITY.
func (cl *Client) SelectedMailbox() (string, uint32) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.selected, cl.uidVal
}
