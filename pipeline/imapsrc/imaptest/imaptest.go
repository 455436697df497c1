// Package imaptest starts real IMAP servers for tests: go-imap's in-memory
// server (imapmemserver) and Dovecot, both on loopback, both with TLS from
// a throw-away certificate authority. Nothing is mocked: the code under test
// speaks IMAP over TCP.
package imaptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
)

// Cert is a test certificate authority and a server certificate it
// signed for 127.0.0.1, ::1 and localhost.
type Cert struct {
	CAFile   string // PEM of the CA: what a client's ca_file points to
	CertFile string // server certificate (PEM)
	KeyFile  string // server key (PEM)
	Server   *tls.Config
	Pool     *x509.CertPool
}

// NewCert writes a fresh CA and server certificate below dir.
func NewCert(dir string) (*Cert, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "triage test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	c := &Cert{CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	for _, f := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{{c.CAFile, caPEM, 0o644}, {c.CertFile, certPEM, 0o644}, {c.KeyFile, keyPEM, 0o600}} {
		if err := os.WriteFile(f.path, f.data, f.mode); err != nil {
			return nil, err
		}
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	c.Server = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	c.Pool = x509.NewCertPool()
	c.Pool.AddCert(ca)
	return c, nil
}

// MemOptions shapes an in-memory server.
type MemOptions struct {
	// NoMove advertises IMAP4rev1 with UIDPLUS but without MOVE, so that
	// clients must fall back to COPY + STORE \Deleted + UID EXPUNGE.
	NoMove bool
	// XOAUTH2Token, when set, makes the server offer AUTH=XOAUTH2 (and
	// PLAIN) and accept an access token equal to what it returns.
	XOAUTH2Token func() string
	// Mailboxes are created besides INBOX.
	Mailboxes []string
}

// Mem is a running imapmemserver with one user, listening on loopback with
// STARTTLS (Addr) and implicit TLS (TLSAddr).
type Mem struct {
	Backend  *imapmemserver.Server
	User     *imapmemserver.User
	Username string
	Password string
	Addr     string
	TLSAddr  string
	Cert     *Cert

	opts MemOptions
	mu   sync.Mutex
	srv  *imapserver.Server
	cuts int
}

// StartMem starts an in-memory server; it stops when the test ends.
func StartMem(t testing.TB, o MemOptions) *Mem {
	t.Helper()
	cert, err := NewCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := &Mem{Backend: imapmemserver.New(), Username: "soc", Password: "correct horse battery staple", Cert: cert, opts: o}
	m.User = imapmemserver.NewUser(m.Username, m.Password)
	m.Backend.AddUser(m.User)
	for _, mb := range append([]string{"INBOX"}, o.Mailboxes...) {
		if err := m.User.Create(mb, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.serve("127.0.0.1:0", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func (m *Mem) caps() imap.CapSet {
	if m.opts.NoMove {
		return imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}, imap.CapNamespace: {}, imap.CapLiteralPlus: {}}
	}
	return imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}, imap.CapLiteralPlus: {}}
}

func (m *Mem) serve(addr, tlsAddr string) error {
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			s := m.Backend.NewSession()
			if m.opts.XOAUTH2Token != nil {
				return &saslSession{Session: s, m: m}, nil, nil
			}
			return s, nil, nil
		},
		Caps:      m.caps(),
		TLSConfig: m.Cert.Server,
		Logger:    nopLogger{},
	})
	ln, err := listen(addr)
	if err != nil {
		return err
	}
	tln, err := listen(tlsAddr)
	if err != nil {
		ln.Close()
		return err
	}
	m.mu.Lock()
	m.srv = srv
	m.Addr, m.TLSAddr = ln.Addr().String(), tln.Addr().String()
	m.mu.Unlock()
	go srv.Serve(ln)
	go srv.Serve(tls.NewListener(tln, m.Cert.Server))
	return nil
}

// listen retries briefly: after Cut the old socket may linger a moment.
func listen(addr string) (net.Listener, error) {
	var err error
	for i := 0; i < 100; i++ {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, err
}

// Cut drops every connection and listener, then listens again on the same
// ports: what a client sees when the server restarts. Mailbox contents
// survive.
func (m *Mem) Cut() error {
	m.mu.Lock()
	srv, addr, tlsAddr := m.srv, m.Addr, m.TLSAddr
	m.cuts++
	m.mu.Unlock()
	srv.Close()
	return m.serve(addr, tlsAddr)
}

// Close stops the server.
func (m *Mem) Close() {
	m.mu.Lock()
	srv := m.srv
	m.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Dial logs in as the test user over STARTTLS, verifying the certificate.
func (m *Mem) Dial(t testing.TB) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialStartTLS(m.Addr, &imapclient.Options{TLSConfig: &tls.Config{RootCAs: m.Cert.Pool}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(m.Username, m.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...interface{}) {}

// saslSession adds XOAUTH2 to an in-memory session.
type saslSession struct {
	imapserver.Session
	m *Mem
}

func (s *saslSession) AuthenticateMechanisms() []string { return []string{"PLAIN", "XOAUTH2"} }

func (s *saslSession) Authenticate(mech string) (sasl.Server, error) {
	switch mech {
	case "PLAIN":
		return sasl.NewPlainServer(func(identity, username, password string) error {
			return s.Session.Login(username, password)
		}), nil
	case "XOAUTH2":
		return &xoauth2Server{s: s}, nil
	}
	return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "SASL mechanism not supported"}
}

// Move forwards MOVE to the wrapped session (the embedded interface hides it).
func (s *saslSession) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	mv, ok := s.Session.(imapserver.SessionMove)
	if !ok {
		return errors.New("imaptest: MOVE not supported")
	}
	return mv.Move(w, numSet, dest)
}

// Namespace forwards NAMESPACE to the wrapped session.
func (s *saslSession) Namespace() (*imap.NamespaceData, error) {
	ns, ok := s.Session.(imapserver.SessionNamespace)
	if !ok {
		return nil, errors.New("imaptest: NAMESPACE not supported")
	}
	return ns.Namespace()
}

// xoauth2Server checks "user=U\x01auth=Bearer T\x01\x01" against the
// current token. Like Gmail, it answers a bad token with a JSON challenge
// and fails after the client's empty response.
type xoauth2Server struct {
	s      *saslSession
	failed bool
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.failed {
		return nil, true, imapserver.ErrAuthFailed
	}
	if resp == nil {
		return []byte{}, false, nil
	}
	var user, token string
	for _, kv := range strings.Split(string(resp), "\x01") {
		switch {
		case strings.HasPrefix(kv, "user="):
			user = strings.TrimPrefix(kv, "user=")
		case strings.HasPrefix(kv, "auth=Bearer "):
			token = strings.TrimPrefix(kv, "auth=Bearer ")
		}
	}
	if user == x.s.m.Username && token != "" && token == x.s.m.opts.XOAUTH2Token() {
		// Log in through the backend with the real password: the token
		// stands in for it.
		if err := x.s.Session.Login(user, x.s.m.Password); err != nil {
			return nil, true, err
		}
		return nil, true, nil
	}
	x.failed = true
	return []byte(`{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}`), false, nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// WaitPort waits until something accepts connections on addr.
func WaitPort(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("imaptest: %s not listening after %v: %w", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
