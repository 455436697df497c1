package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"triage/pipeline"
)

// State is where a message is in its life: each step is recorded durably
// before the next one starts, so that a restart resumes exactly where the
// previous process stopped.
type State string

// States, in order. Done, Vanished and Stale are final.
const (
	// StateSeen: the UID was discovered; nothing else happened yet.
	StateSeen State = "seen"
	// StateTriaged: the result is stored; sinks may not have it yet.
	StateTriaged State = "triaged"
	// StateDelivered: every sink acknowledged the result.
	StateDelivered State = "delivered"
	// StateActing: the mailbox action started (flags, MOVE or COPY); it
	// may or may not have completed.
	StateActing State = "acting"
	// StateDone: the action completed.
	StateDone State = "done"
	// StateVanished: the message disappeared before it could be fetched.
	StateVanished State = "vanished"
	// StateStale: the mailbox's UIDVALIDITY changed before the message was
	// finished; its UID no longer names anything.
	StateStale State = "stale"
)

// Final reports whether nothing more will happen to a record.
func (s State) Final() bool { return s == StateDone || s == StateVanished || s == StateStale }

// Record is one message's result and state, keyed by (account, mailbox,
// UIDVALIDITY, UID).
type Record struct {
	ID          string `json:"id"`
	Account     string `json:"account"`
	Mailbox     string `json:"mailbox"`
	UIDValidity uint32 `json:"uidvalidity"`
	UID         uint32 `json:"uid"`
	State       State  `json:"state"`

	Size     int64  `json:"size"`
	SHA256   string `json:"sha256,omitempty"`
	Oversize bool   `json:"oversize,omitempty"`

	Verdict string               `json:"verdict,omitempty"`
	Score   int                  `json:"score,omitempty"`
	Rules   []string             `json:"rules,omitempty"` // rules and findings behind the score
	Message pipeline.MessageInfo `json:"message"`
	// Reporter is who forwarded the message when it is a report of another
	// message attached as message/rfc822 (or .msg); Reported describes the
	// attached message.
	Reporter string    `json:"reporter,omitempty"`
	Reported *Reported `json:"reported,omitempty"`
	Error    string    `json:"error,omitempty"`         // why the verdict is a policy default
	Attempts int       `json:"attempts,omitempty"`      // fetches for triage
	Starts   int       `json:"triage_starts,omitempty"` // triage runs of a retried message, or failures

	Folder    string   `json:"folder,omitempty"`    // where the policy sends it
	Keywords  []string `json:"keywords,omitempty"`  // keywords the policy sets
	Action    string   `json:"action,omitempty"`    // what was done: moved, copied, flagged, none, gone
	Delivered []string `json:"delivered,omitempty"` // sinks that acknowledged

	SeenAt      time.Time `json:"seen_at"`
	TriagedAt   time.Time `json:"triaged_at,omitzero"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	DoneAt      time.Time `json:"done_at,omitzero"`
	LastError   string    `json:"last_error,omitempty"`

	fetched time.Time // when this process fetched it (latency metric)
}

// Reported is the message a reporter forwarded.
type Reported struct {
	Subject   string `json:"subject,omitempty"`
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	Date      string `json:"date,omitempty"`
	MessageID string `json:"message_id,omitempty"`
	Artifact  string `json:"artifact"` // artifact ID of the attached message
	Type      string `json:"type"`     // eml or msg
}

// RecordID is the printable key: account/mailbox/uidvalidity/uid. The
// account has no '/', and the last two parts are numbers, so it splits
// back unambiguously even when the mailbox name contains '/'.
func RecordID(account, mailbox string, uidValidity, uid uint32) string {
	return fmt.Sprintf("%s/%s/%d/%d", account, mailbox, uidValidity, uid)
}

// ParseRecordID splits a RecordID.
func ParseRecordID(id string) (account, mailbox string, uidValidity, uid uint32, err error) {
	i := strings.IndexByte(id, '/')
	j := strings.LastIndexByte(id, '/')
	if i < 0 || j <= i {
		return "", "", 0, 0, fmt.Errorf("daemon: bad result id %q", id)
	}
	k := strings.LastIndexByte(id[:j], '/')
	if k <= i {
		return "", "", 0, 0, fmt.Errorf("daemon: bad result id %q", id)
	}
	uv, err1 := strconv.ParseUint(id[k+1:j], 10, 32)
	u, err2 := strconv.ParseUint(id[j+1:], 10, 32)
	if err1 != nil || err2 != nil {
		return "", "", 0, 0, fmt.Errorf("daemon: bad result id %q", id)
	}
	return id[:i], id[i+1 : k], uint32(uv), uint32(u), nil
}

func mailboxKey(account, mailbox string) []byte {
	return []byte(account + "\x00" + mailbox + "\x00")
}

func recordKey(account, mailbox string, uidValidity, uid uint32) []byte {
	return fmt.Appendf(mailboxKey(account, mailbox), "%010d\x00%010d", uidValidity, uid)
}

func recordPrefix(account, mailbox string, uidValidity uint32) []byte {
	return fmt.Appendf(mailboxKey(account, mailbox), "%010d\x00", uidValidity)
}

func (r *Record) key() []byte { return recordKey(r.Account, r.Mailbox, r.UIDValidity, r.UID) }

var (
	bucketResults   = []byte("results")   // record key → Record JSON
	bucketPending   = []byte("pending")   // record key → "" for every non-final record
	bucketReports   = []byte("reports")   // record key → full report JSON
	bucketMailboxes = []byte("mailboxes") // account\0mailbox\0 → MailboxState JSON
)

// MailboxState is what the store remembers about a watched mailbox.
type MailboxState struct {
	UIDValidity uint32    `json:"uidvalidity"`
	HighWater   uint32    `json:"high_water"` // highest UID recorded
	Changed     time.Time `json:"changed"`    // when UIDVALIDITY was last (re)set
}

// Store is the embedded results database (bbolt: one file, ACID
// transactions fsynced on commit, no server, pure Go).
type Store struct {
	db *bolt.DB
}

// ErrLocked means another process (a running daemon) holds the store.
var ErrLocked = errors.New("daemon: store is locked by another process (is the daemon running?)")

// OpenStore opens (creating if needed) the store. With readOnly, several
// readers may share it, but not with a running daemon.
func OpenStore(path string, readOnly bool, timeout time.Duration) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: readOnly})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("daemon: open store %s: %w", path, err)
	}
	if !readOnly {
		err = db.Update(func(tx *bolt.Tx) error {
			for _, b := range [][]byte{bucketResults, bucketPending, bucketReports, bucketMailboxes} {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("daemon: init store: %w", err)
		}
	}
	return &Store{db: db}, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// BeginMailbox records the UIDVALIDITY found at SELECT and returns the
// highest UID already recorded for it. When UIDVALIDITY changed, every
// unfinished record of the old one becomes stale (its UID is void) and
// discovery starts again from UID 1; stale is the count.
func (s *Store) BeginMailbox(account, mailbox string, uidValidity uint32) (highWater uint32, stale int, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMailboxes)
		k := mailboxKey(account, mailbox)
		var st MailboxState
		if v := mb.Get(k); v != nil {
			if err := json.Unmarshal(v, &st); err != nil {
				return err
			}
		}
		if st.UIDValidity == uidValidity {
			highWater = st.HighWater
			return nil
		}
		if st.UIDValidity != 0 {
			n, err := s.staleLocked(tx, recordPrefix(account, mailbox, st.UIDValidity))
			if err != nil {
				return err
			}
			stale = n
		}
		st = MailboxState{UIDValidity: uidValidity, Changed: time.Now().UTC()}
		return putJSON(mb, k, &st)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("daemon: store: %w", err)
	}
	return highWater, stale, nil
}

func (s *Store) staleLocked(tx *bolt.Tx, prefix []byte) (int, error) {
	pend, res := tx.Bucket(bucketPending), tx.Bucket(bucketResults)
	var keys [][]byte
	c := pend.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		var r Record
		if v := res.Get(k); v != nil {
			if err := json.Unmarshal(v, &r); err != nil {
				return 0, err
			}
			r.State = StateStale
			r.LastError = "UIDVALIDITY changed before the message was finished"
			if err := putJSON(res, k, &r); err != nil {
				return 0, err
			}
		}
		if err := pend.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// Seen is a newly discovered message.
type Seen struct {
	UID      uint32
	Size     int64
	Oversize bool
}

// AddSeen records newly discovered messages (state seen) and raises the
// mailbox's high-water mark, in one transaction. UIDs already recorded are
// left alone. It returns how many records were created.
func (s *Store) AddSeen(account, mailbox string, uidValidity uint32, msgs []Seen) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	now := time.Now().UTC()
	added := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		added = 0
		mb, res, pend := tx.Bucket(bucketMailboxes), tx.Bucket(bucketResults), tx.Bucket(bucketPending)
		mk := mailboxKey(account, mailbox)
		var st MailboxState
		if v := mb.Get(mk); v != nil {
			if err := json.Unmarshal(v, &st); err != nil {
				return err
			}
		}
		if st.UIDValidity != uidValidity {
			return fmt.Errorf("UIDVALIDITY %d is not the current %d of %s/%s", uidValidity, st.UIDValidity, account, mailbox)
		}
		for _, m := range msgs {
			k := recordKey(account, mailbox, uidValidity, m.UID)
			if m.UID > st.HighWater {
				st.HighWater = m.UID
			}
			if res.Get(k) != nil {
				continue
			}
			r := Record{ID: RecordID(account, mailbox, uidValidity, m.UID), Account: account, Mailbox: mailbox, UIDValidity: uidValidity,
				UID: m.UID, State: StateSeen, Size: m.Size, Oversize: m.Oversize, SeenAt: now}
			if err := putJSON(res, k, &r); err != nil {
				return err
			}
			if err := pend.Put(k, nil); err != nil {
				return err
			}
			added++
		}
		return putJSON(mb, mk, &st)
	})
	if err != nil {
		return 0, fmt.Errorf("daemon: store: %w", err)
	}
	return added, nil
}

// Pending returns the unfinished records of one mailbox generation, in UID
// order.
func (s *Store) Pending(account, mailbox string, uidValidity uint32) ([]*Record, error) {
	var out []*Record
	prefix := recordPrefix(account, mailbox, uidValidity)
	err := s.db.View(func(tx *bolt.Tx) error {
		res := tx.Bucket(bucketResults)
		c := tx.Bucket(bucketPending).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			var r Record
			if err := json.Unmarshal(res.Get(k), &r); err != nil {
				return fmt.Errorf("record %q: %w", k, err)
			}
			out = append(out, &r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("daemon: store: %w", err)
	}
	return out, nil
}

// PendingAll returns every unfinished record.
func (s *Store) PendingAll() ([]*Record, error) {
	var out []*Record
	err := s.db.View(func(tx *bolt.Tx) error {
		res := tx.Bucket(bucketResults)
		return tx.Bucket(bucketPending).ForEach(func(k, _ []byte) error {
			var r Record
			if err := json.Unmarshal(res.Get(k), &r); err != nil {
				return err
			}
			out = append(out, &r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("daemon: store: %w", err)
	}
	return out, nil
}

// Put writes records (and optionally the report of the first one) in one
// transaction, keeping the pending index in step with their states.
// Concurrent callers are coalesced into shared transactions (bbolt Batch),
// so many workers cost few fsyncs.
func (s *Store) Put(report []byte, recs ...*Record) error {
	blobs := make([][]byte, len(recs))
	for i, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		blobs[i] = b
	}
	err := s.db.Batch(func(tx *bolt.Tx) error {
		res, pend := tx.Bucket(bucketResults), tx.Bucket(bucketPending)
		for i, r := range recs {
			k := r.key()
			if err := res.Put(k, blobs[i]); err != nil {
				return err
			}
			var err error
			if r.State.Final() {
				err = pend.Delete(k)
			} else {
				err = pend.Put(k, nil)
			}
			if err != nil {
				return err
			}
		}
		if report != nil && len(recs) > 0 {
			return tx.Bucket(bucketReports).Put(recs[0].key(), report)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("daemon: store: %w", err)
	}
	return nil
}

// Get returns the record with the given ID, or nil.
func (s *Store) Get(id string) (*Record, error) {
	acc, mbox, uv, uid, err := ParseRecordID(id)
	if err != nil {
		return nil, err
	}
	var r *Record
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketResults).Get(recordKey(acc, mbox, uv, uid))
		if v == nil {
			return nil
		}
		r = new(Record)
		return json.Unmarshal(v, r)
	})
	return r, err
}

// Report returns the stored report of a record, or nil.
func (s *Store) Report(id string) ([]byte, error) {
	acc, mbox, uv, uid, err := ParseRecordID(id)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketReports); b != nil {
			out = append([]byte(nil), b.Get(recordKey(acc, mbox, uv, uid))...)
		}
		return nil
	})
	if len(out) == 0 {
		out = nil
	}
	return out, err
}

// ForEach calls fn for every record in key order until fn returns false.
func (s *Store) ForEach(fn func(*Record) bool) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketResults)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("record %q: %w", k, err)
			}
			if !fn(&r) {
				return nil
			}
		}
		return nil
	})
}

// Mailboxes returns the stored state of every mailbox, keyed
// "account/mailbox".
func (s *Store) Mailboxes() (map[string]MailboxState, error) {
	out := map[string]MailboxState{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMailboxes)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var st MailboxState
			if err := json.Unmarshal(v, &st); err != nil {
				return err
			}
			parts := strings.SplitN(strings.TrimSuffix(string(k), "\x00"), "\x00", 2)
			out[strings.Join(parts, "/")] = st
			return nil
		})
	})
	return out, err
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, data)
}
