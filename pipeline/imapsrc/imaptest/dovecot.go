package imaptest

import (
	"bytes"
	"crypto/tls"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

//go:embed testdata/dovecot.conf.tmpl
var dovecotTemplate string

// DovecotBinary is where Debian's dovecot-imapd installs the server.
const DovecotBinary = "/usr/sbin/dovecot"

// DovecotOptions shapes a Dovecot instance.
type DovecotOptions struct {
	// OAuth2URL, when set, enables XOAUTH2/OAUTHBEARER with a passdb that
	// validates tokens at this introspection URL (POST).
	OAuth2URL string
}

// Dovecot is a private Dovecot instance on loopback.
type Dovecot struct {
	Dir      string
	Addr     string // STARTTLS port
	TLSAddr  string // implicit TLS port
	Username string
	Password string
	Cert     *Cert

	conf string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

type dovecotVars struct {
	Dir, CertFile, KeyFile, OAuth2URL string
	Port, TLSPort                     int
	NonRoot                           bool
	User, Group                       string
	MailUser, MailGroup               string
}

// StartDovecot renders the shipped configuration into a fresh directory,
// starts `dovecot -F` on two free loopback ports and waits until it
// accepts connections. The test is skipped when Dovecot is not installed
// (and fails instead when CI is set).
// The server is stopped when the test ends.
func StartDovecot(t testing.TB, o DovecotOptions) *Dovecot {
	t.Helper()
	if _, err := os.Stat(DovecotBinary); err != nil {
		msg := fmt.Sprintf("dovecot not installed (%s missing): apt-get install dovecot-imapd, or `make deps`", DovecotBinary)
		if os.Getenv("CI") != "" {
			// CI must test against the real server: a silent skip there
			// would hide a missing install step.
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// Dovecot's unprivileged processes must traverse the directory, so it
	// cannot live in t.TempDir (mode 0700); socket paths must stay short.
	dir, err := os.MkdirTemp("", "triage-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cert, err := NewCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	tlsPort, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	v := dovecotVars{Dir: dir, CertFile: cert.CertFile, KeyFile: cert.KeyFile, OAuth2URL: o.OAuth2URL, Port: port, TLSPort: tlsPort,
		MailUser: "nobody", MailGroup: "nogroup"}
	if os.Getuid() != 0 {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			t.Fatal(err)
		}
		v.NonRoot, v.User, v.Group, v.MailUser, v.MailGroup = true, u.Username, g.Name, u.Username, g.Name
	}
	d := &Dovecot{Dir: dir, Addr: fmt.Sprintf("127.0.0.1:%d", port), TLSAddr: fmt.Sprintf("127.0.0.1:%d", tlsPort),
		Username: "soc", Password: "dovecot-test-password", Cert: cert, conf: filepath.Join(dir, "dovecot.conf")}
	var buf bytes.Buffer
	if err := template.Must(template.New("dovecot").Parse(dovecotTemplate)).Execute(&buf, v); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.conf, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	passwd := fmt.Sprintf("%s:{PLAIN}%s::::::\n", d.Username, d.Password)
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	if o.OAuth2URL != "" {
		ext := "introspection_mode = post\nintrospection_url = " + o.OAuth2URL + "\nusername_attribute = username\nactive_attribute = active\nactive_value = true\n"
		if err := os.WriteFile(filepath.Join(dir, "dovecot-oauth2.conf.ext"), []byte(ext), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(nobody.Uid)
		gid, _ := strconv.Atoi(nobody.Gid)
		if err := os.Chown(home, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	return d
}

func (d *Dovecot) start() error {
	cmd := exec.Command(DovecotBinary, "-F", "-c", d.conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("imaptest: start dovecot: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	d.mu.Lock()
	d.cmd, d.done = cmd, done
	d.mu.Unlock()
	for _, a := range []string{d.Addr, d.TLSAddr} {
		if err := WaitPort(a, 15*time.Second); err != nil {
			d.Stop()
			log, _ := os.ReadFile(filepath.Join(d.Dir, "dovecot.log"))
			return fmt.Errorf("%w\n%s\n%s", err, out.String(), tail(string(log), 2000))
		}
	}
	return nil
}

// Stop stops Dovecot and every process it started.
func (d *Dovecot) Stop() {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.cmd = nil
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	pgid := cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	// Children that outlived the master (they notice its death late).
	for i := 0; i < 50; i++ {
		if err := syscall.Kill(-pgid, 0); err != nil {
			break
		}
		if i == 25 {
			syscall.Kill(-pgid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Restart stops Dovecot (dropping every connection) and starts it again on
// the same ports with the same mail.
func (d *Dovecot) Restart() error {
	d.Stop()
	return d.start()
}

// Log returns the end of Dovecot's log.
func (d *Dovecot) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.Dir, "dovecot.log"))
	return tail(string(b), 4000)
}

// Dial logs in as the test user over implicit TLS, verifying the
// certificate against the test CA.
func (d *Dovecot) Dial(t testing.TB) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(d.TLSAddr, &imapclient.Options{TLSConfig: &tls.Config{RootCAs: d.Cert.Pool, ServerName: "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(d.Username, d.Password).Wait(); err != nil {
		t.Fatalf("login: %v\n%s", err, d.Log())
	}
	return c
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := strings.IndexByte(s[len(s)-n:], '\n')
	return s[len(s)-n+i+1:]
}
