package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"runtime"
	"strings"
	"time"

	"triage/pipeline"
	"triage/pipeline/imapsrc"
)

// Config is the daemon's configuration file (JSON; unknown fields are an
// error, so a typo cannot silently disable something). See README.md for
// the reference and a complete example.
type Config struct {
	// Store is the bbolt database holding every result and the state of
	// every message. Required.
	Store string `json:"store"`
	// Listen is the HTTP address for /metrics, /healthz and /api/results
	// ("" disables HTTP). Default 127.0.0.1:9108.
	Listen *string `json:"listen,omitempty"`
	// Workers triage messages in parallel (default: number of CPUs).
	Workers int `json:"workers,omitempty"`
	// QueueSize bounds the messages fetched but not yet triaged; when it is
	// full, fetching stops (back-pressure). Default 4 × workers.
	QueueSize int `json:"queue_size,omitempty"`
	// FetchBatch is how many messages one UID FETCH asks for (default 16).
	FetchBatch int `json:"fetch_batch,omitempty"`
	// MaxMessageBytes: larger messages are recorded without being fetched
	// (default 25 MiB).
	MaxMessageBytes int64 `json:"max_message_bytes,omitempty"`
	// ShutdownTimeout bounds how long SIGTERM waits for in-flight messages
	// (default 30s). Whatever is cut short resumes at the next start.
	ShutdownTimeout Duration `json:"shutdown_timeout,omitempty"`
	// StoreReports keeps each full JSON report in the store (default true).
	StoreReports *bool `json:"store_reports,omitempty"`
	// RuleDirs add YARA rules to the embedded set.
	RuleDirs  []string        `json:"rule_dirs,omitempty"`
	Log       LogConfig       `json:"log"`
	Reconnect BackoffConfig   `json:"reconnect"`
	Health    HealthConfig    `json:"health"`
	Policy    Policy          `json:"policy"`
	Sinks     SinksConfig     `json:"sinks"`
	Accounts  []AccountConfig `json:"accounts"`
}

// LogConfig selects the log format and level.
type LogConfig struct {
	Format string `json:"format,omitempty"` // "text" (default) or "json"
	Level  string `json:"level,omitempty"`  // debug, info (default), warn, error
}

// BackoffConfig is an exponential backoff with jitter.
type BackoffConfig struct {
	Initial Duration `json:"initial,omitempty"` // default 1s
	Max     Duration `json:"max,omitempty"`     // default 5m
}

// HealthConfig tunes /healthz.
type HealthConfig struct {
	// StaleAfter: /healthz fails when a mailbox has not been polled
	// successfully for this long (default 3 × the longest poll or IDLE
	// refresh interval).
	StaleAfter Duration `json:"stale_after,omitempty"`
}

// AccountConfig is one IMAP account.
type AccountConfig struct {
	// Name identifies the account in results, metrics and logs
	// ([A-Za-z0-9][A-Za-z0-9_.-]*).
	Name    string `json:"name"`
	Address string `json:"address"` // host:port
	// TLS is "implicit" (default, port 993), "starttls" (port 143) or
	// "none" (loopback addresses only).
	TLS string `json:"tls,omitempty"`
	// ServerName overrides the name the certificate must carry.
	ServerName string `json:"server_name,omitempty"`
	// CAFile adds a private CA (PEM) to the system roots.
	CAFile string `json:"ca_file,omitempty"`
	// InsecureSkipVerify disables certificate verification. Never the
	// default; logged as a warning at every start.
	InsecureSkipVerify bool   `json:"insecure_skip_verify,omitempty"`
	Username           string `json:"username"`
	// Auth is "login" (default), "plain" or "xoauth2".
	Auth string `json:"auth,omitempty"`
	// PasswordFile or PasswordEnv give the password (login, plain);
	// TokenFile gives the OAuth2 access token (xoauth2). Files are read
	// again on every connection; a trailing newline is ignored.
	PasswordFile string `json:"password_file,omitempty"`
	PasswordEnv  string `json:"password_env,omitempty"`
	TokenFile    string `json:"token_file,omitempty"`
	// Mailboxes to watch (default ["INBOX"]). Each gets its own connection.
	Mailboxes []string `json:"mailboxes,omitempty"`
	// IDLE is used when the server offers it, unless idle is false.
	IDLE *bool `json:"idle,omitempty"`
	// PollInterval: how often to look for new mail without IDLE (default 1m).
	PollInterval Duration `json:"poll_interval,omitempty"`
	// IdleRefresh: how long one IDLE lasts before the mailbox is scanned
	// anyway (default 5m; servers drop IDLE after 30m).
	IdleRefresh Duration `json:"idle_refresh,omitempty"`
	// Policy overrides the global policy for this account.
	Policy *Policy `json:"policy,omitempty"`
}

// Action is what happens to a message with a given verdict.
type Action struct {
	// Folder to move the message to ("" leaves it where it is). Use "/" as
	// the hierarchy separator; it is translated to the server's.
	Folder string `json:"folder"`
	// Keyword to set on the message ("" sets none), e.g. $Triage-Malicious.
	Keyword string `json:"keyword"`
}

// Policy says how the mailbox is acted on.
type Policy struct {
	Malicious  *Action `json:"malicious,omitempty"`
	Suspicious *Action `json:"suspicious,omitempty"`
	Clean      *Action `json:"clean,omitempty"`
	// DoneKeyword is set on every processed message (default
	// "$TriageDone"; "" for none).
	DoneKeyword *string `json:"done_keyword,omitempty"`
	// Move is "auto" (default: MOVE when offered, else COPY + STORE
	// \Deleted + EXPUNGE) or "copy" (always the fallback).
	Move string `json:"move,omitempty"`
	// CreateFolders creates missing verdict folders (default true).
	CreateFolders *bool `json:"create_folders,omitempty"`
	// OversizeVerdict is recorded for messages over max_message_bytes
	// (default "suspicious").
	OversizeVerdict string `json:"oversize_verdict,omitempty"`
	// ErrorVerdict is recorded when triage fails MaxAttempts times
	// (default "suspicious").
	ErrorVerdict string `json:"error_verdict,omitempty"`
	MaxAttempts  int    `json:"max_attempts,omitempty"` // default 3
}

// SinksConfig lists where results go after the store.
type SinksConfig struct {
	JSONL   *JSONLConfig   `json:"jsonl,omitempty"`
	Webhook *WebhookConfig `json:"webhook,omitempty"`
}

// JSONLConfig is the JSON Lines file sink.
type JSONLConfig struct {
	Path          string `json:"path"`
	IncludeReport bool   `json:"include_report,omitempty"`
}

// WebhookConfig is the webhook sink: one POST per result.
type WebhookConfig struct {
	URL                string            `json:"url"`
	Timeout            Duration          `json:"timeout,omitempty"`         // per attempt, default 10s
	MaxAttempts        int               `json:"max_attempts,omitempty"`    // default 8
	InitialBackoff     Duration          `json:"initial_backoff,omitempty"` // default 1s
	MaxBackoff         Duration          `json:"max_backoff,omitempty"`     // default 2m
	Headers            map[string]string `json:"headers,omitempty"`
	BearerTokenFile    string            `json:"bearer_token_file,omitempty"`
	CAFile             string            `json:"ca_file,omitempty"`
	InsecureSkipVerify bool              `json:"insecure_skip_verify,omitempty"`
	IncludeReport      bool              `json:"include_report,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("90s").
type Duration time.Duration

// UnmarshalJSON accepts "1m30s" style strings.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"30s\": %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("negative duration %q", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// LoadConfig reads and validates a configuration file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("daemon: config: %w", err)
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("daemon: config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig parses and validates a JSON configuration, filling defaults.
func ParseConfig(b []byte) (*Config, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

var accountNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// DefaultListen is the default HTTP address.
const DefaultListen = "127.0.0.1:9108"

// setDefaults fills defaults and validates.
func (c *Config) setDefaults() error {
	if c.Store == "" {
		return errors.New("store: required (path of the results database)")
	}
	if c.Listen == nil {
		l := DefaultListen
		c.Listen = &l
	}
	if *c.Listen != "" {
		if _, _, err := net.SplitHostPort(*c.Listen); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
	}
	c.Workers = or(c.Workers, runtime.GOMAXPROCS(0))
	c.QueueSize = or(c.QueueSize, 4*c.Workers)
	c.FetchBatch = or(c.FetchBatch, 16)
	c.MaxMessageBytes = or(c.MaxMessageBytes, 25<<20)
	c.ShutdownTimeout = or(c.ShutdownTimeout, Duration(30*time.Second))
	if c.Workers < 1 || c.QueueSize < 1 || c.FetchBatch < 1 || c.MaxMessageBytes < 1 {
		return errors.New("workers, queue_size, fetch_batch and max_message_bytes must be positive")
	}
	if c.StoreReports == nil {
		t := true
		c.StoreReports = &t
	}
	switch c.Log.Format {
	case "":
		c.Log.Format = "text"
	case "text", "json":
	default:
		return fmt.Errorf("log.format %q: want text or json", c.Log.Format)
	}
	switch c.Log.Level {
	case "":
		c.Log.Level = "info"
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level %q: want debug, info, warn or error", c.Log.Level)
	}
	c.Reconnect.Initial = or(c.Reconnect.Initial, Duration(time.Second))
	c.Reconnect.Max = or(c.Reconnect.Max, Duration(5*time.Minute))
	if c.Reconnect.Max < c.Reconnect.Initial {
		return errors.New("reconnect.max is below reconnect.initial")
	}
	if err := c.Policy.setDefaults(nil); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	if err := c.Sinks.setDefaults(); err != nil {
		return err
	}
	if len(c.Accounts) == 0 {
		return errors.New("accounts: at least one IMAP account is required")
	}
	names := map[string]bool{}
	var longest time.Duration
	for i := range c.Accounts {
		a := &c.Accounts[i]
		if err := a.setDefaults(&c.Policy); err != nil {
			return fmt.Errorf("accounts[%d] (%s): %w", i, a.Name, err)
		}
		if names[a.Name] {
			return fmt.Errorf("accounts[%d]: duplicate name %q", i, a.Name)
		}
		names[a.Name] = true
		longest = max(longest, a.PollInterval.D(), a.IdleRefresh.D())
	}
	c.Health.StaleAfter = or(c.Health.StaleAfter, Duration(3*longest))
	return nil
}

func (a *AccountConfig) setDefaults(global *Policy) error {
	if !accountNameRE.MatchString(a.Name) {
		return fmt.Errorf("name %q: want letters, digits, '_', '.', '-'", a.Name)
	}
	host, _, err := net.SplitHostPort(a.Address)
	if err != nil {
		return fmt.Errorf("address %q: %w", a.Address, err)
	}
	switch a.TLS {
	case "":
		a.TLS = imapsrc.TLSImplicit
	case imapsrc.TLSImplicit, imapsrc.TLSStartTLS:
	case imapsrc.TLSNone:
		if !isLoopback(host) {
			return fmt.Errorf("tls \"none\" is only allowed for loopback addresses, not %q", host)
		}
	default:
		return fmt.Errorf("tls %q: want implicit, starttls or none", a.TLS)
	}
	if a.Username == "" {
		return errors.New("username: required")
	}
	switch a.Auth {
	case "":
		a.Auth = imapsrc.AuthLogin
		fallthrough
	case imapsrc.AuthLogin, imapsrc.AuthPlain:
		if (a.PasswordFile == "") == (a.PasswordEnv == "") {
			return errors.New("exactly one of password_file and password_env is required")
		}
		if a.TokenFile != "" {
			return errors.New("token_file is for auth \"xoauth2\"")
		}
	case imapsrc.AuthXOAUTH2:
		if a.TokenFile == "" {
			return errors.New("auth \"xoauth2\" needs token_file")
		}
		if a.PasswordFile != "" || a.PasswordEnv != "" {
			return errors.New("auth \"xoauth2\" takes token_file, not a password")
		}
	default:
		return fmt.Errorf("auth %q: want login, plain or xoauth2", a.Auth)
	}
	if len(a.Mailboxes) == 0 {
		a.Mailboxes = []string{"INBOX"}
	}
	seen := map[string]bool{}
	for _, m := range a.Mailboxes {
		if m == "" || seen[m] {
			return fmt.Errorf("mailboxes: empty or duplicate %q", m)
		}
		seen[m] = true
	}
	if a.IDLE == nil {
		t := true
		a.IDLE = &t
	}
	a.PollInterval = or(a.PollInterval, Duration(time.Minute))
	a.IdleRefresh = or(a.IdleRefresh, Duration(5*time.Minute))
	if a.Policy == nil {
		p := *global
		a.Policy = &p
	} else if err := a.Policy.setDefaults(global); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	for _, v := range []string{pipeline.Malicious, pipeline.Suspicious, pipeline.Clean} {
		f := a.Policy.For(v).Folder
		for _, m := range a.Mailboxes {
			if f != "" && strings.EqualFold(f, m) {
				return fmt.Errorf("the %s folder %q is also a watched mailbox", v, f)
			}
		}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// setDefaults fills a policy from parent (for an account) or from the
// built-in defaults (global).
func (p *Policy) setDefaults(parent *Policy) error {
	def := func(v string) *Action {
		if parent != nil {
			return parent.For(v)
		}
		title := strings.ToUpper(v[:1]) + v[1:]
		return &Action{Folder: "Triage/" + title, Keyword: "$Triage-" + title}
	}
	if p.Malicious == nil {
		p.Malicious = def(pipeline.Malicious)
	}
	if p.Suspicious == nil {
		p.Suspicious = def(pipeline.Suspicious)
	}
	if p.Clean == nil {
		p.Clean = def(pipeline.Clean)
	}
	if p.DoneKeyword == nil {
		k := "$TriageDone"
		if parent != nil {
			k = *parent.DoneKeyword
		}
		p.DoneKeyword = &k
	}
	for _, a := range []*Action{p.Malicious, p.Suspicious, p.Clean} {
		if err := checkKeyword(a.Keyword); err != nil {
			return err
		}
	}
	if err := checkKeyword(*p.DoneKeyword); err != nil {
		return err
	}
	if p.Move == "" && parent != nil {
		p.Move = parent.Move
	}
	switch p.Move {
	case "":
		p.Move = "auto"
	case "auto", "copy":
	default:
		return fmt.Errorf("move %q: want auto or copy", p.Move)
	}
	if p.CreateFolders == nil {
		t := true
		if parent != nil {
			t = *parent.CreateFolders
		}
		p.CreateFolders = &t
	}
	inherit := func(v, pv string) string {
		if v == "" && parent != nil {
			return pv
		}
		return v
	}
	var pOver, pErr string
	var pMax int
	if parent != nil {
		pOver, pErr, pMax = parent.OversizeVerdict, parent.ErrorVerdict, parent.MaxAttempts
	}
	p.OversizeVerdict = or(inherit(p.OversizeVerdict, pOver), pipeline.Suspicious)
	p.ErrorVerdict = or(inherit(p.ErrorVerdict, pErr), pipeline.Suspicious)
	p.MaxAttempts = or(or(p.MaxAttempts, pMax), 3)
	for _, v := range []string{p.OversizeVerdict, p.ErrorVerdict} {
		if v != pipeline.Malicious && v != pipeline.Suspicious && v != pipeline.Clean {
			return fmt.Errorf("verdict %q: want malicious, suspicious or clean", v)
		}
	}
	return nil
}

// keywordRE is an IMAP atom without the characters flags may not hold.
var keywordRE = regexp.MustCompile(`^\$?[A-Za-z0-9_.+-]+$`)

func checkKeyword(k string) error {
	if k != "" && !keywordRE.MatchString(k) {
		return fmt.Errorf("keyword %q: want an atom such as $Triage-Malicious", k)
	}
	return nil
}

// For returns the action for a verdict.
func (p *Policy) For(verdict string) *Action {
	switch verdict {
	case pipeline.Malicious:
		return p.Malicious
	case pipeline.Clean:
		return p.Clean
	default:
		return p.Suspicious
	}
}

func (s *SinksConfig) setDefaults() error {
	if s.JSONL != nil && s.JSONL.Path == "" {
		return errors.New("sinks.jsonl.path: required")
	}
	if w := s.Webhook; w != nil {
		if !strings.HasPrefix(w.URL, "https://") && !strings.HasPrefix(w.URL, "http://") {
			return fmt.Errorf("sinks.webhook.url %q: want an http(s) URL", w.URL)
		}
		w.Timeout = or(w.Timeout, Duration(10*time.Second))
		w.MaxAttempts = or(w.MaxAttempts, 8)
		w.InitialBackoff = or(w.InitialBackoff, Duration(time.Second))
		w.MaxBackoff = or(w.MaxBackoff, Duration(2*time.Minute))
	}
	return nil
}

// secretFunc returns how the account's password or token is read: on every
// connection, never cached, never logged.
func (a *AccountConfig) secretFunc() func() (string, error) {
	return func() (string, error) {
		switch {
		case a.PasswordEnv != "":
			v, ok := os.LookupEnv(a.PasswordEnv)
			if !ok || v == "" {
				return "", fmt.Errorf("environment variable %s is not set", a.PasswordEnv)
			}
			return v, nil
		case a.PasswordFile != "":
			return readSecretFile(a.PasswordFile)
		case a.TokenFile != "":
			return readSecretFile(a.TokenFile)
		}
		return "", errors.New("no secret configured")
	}
}

func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

func (a *AccountConfig) imapOptions() imapsrc.Options {
	return imapsrc.Options{
		Address:            a.Address,
		TLS:                a.TLS,
		ServerName:         a.ServerName,
		CAFile:             a.CAFile,
		InsecureSkipVerify: a.InsecureSkipVerify,
		Username:           a.Username,
		Auth:               a.Auth,
		Secret:             a.secretFunc(),
	}
}
