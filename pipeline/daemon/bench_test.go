package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"triage/pipeline/imapsrc/imaptest"
)

// BenchmarkDaemonEndToEnd measures the whole path for 1,000 messages (set
// TRIAGE_BENCH_MESSAGES to change it): IMAP scan and UID FETCH
// BODY.PEEK[] over TLS → triage → result committed to the store → JSONL
// line fsynced → keywords + UID MOVE into the verdict folder → done
// committed. It reports messages per second.
//
//	go test -run '^$' -bench DaemonEndToEnd -benchtime 3x ./pipeline/daemon/
func BenchmarkDaemonEndToEnd(b *testing.B) {
	for _, srvName := range []string{"memserver", "dovecot"} {
		b.Run(srvName, func(b *testing.B) {
			n := 1000
			if s := os.Getenv("TRIAGE_BENCH_MESSAGES"); s != "" {
				n, _ = strconv.Atoi(s)
			}
			var msgs [][]byte
			for i, s := range sampleMessages(b, 50) {
				msgs = append(msgs, append([]byte(fmt.Sprintf("Message-ID: <sample-%d@bench.invalid>\r\n", i)), stripHeader(s, "Message-ID")...))
			}
			for i := len(msgs); i < n; i++ {
				msgs = append(msgs, testMessage(testKinds[i%len(testKinds)], i))
			}
			eng := testEngine(b)
			var total time.Duration
			var bytes int
			for _, m := range msgs {
				bytes += len(m)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				var srv server
				if srvName == "dovecot" {
					srv = dovecotServer(imaptest.StartDovecot(b, imaptest.DovecotOptions{}))
				} else {
					srv = memServer(imaptest.StartMem(b, imaptest.MemOptions{}))
				}
				admin := srv.dial(b)
				imaptest.Append(b, admin, "INBOX", msgs...)
				admin.Close()
				dir := b.TempDir()
				cfg := testConfig(b, dir, srv, "", `, "log": {"level": "error"}`)
				cfg.Workers, cfg.QueueSize, cfg.FetchBatch, cfg.MaxMessageBytes = 4, 64, 32, 25<<20
				d, err := New(cfg, Options{Engine: eng, Once: true})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				if err := d.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				b.StopTimer()
				d.Close()
				recs := storeRecords(b, filepath.Join(dir, "triage.db"))
				if len(recs) != len(msgs) {
					b.Fatalf("%d results for %d messages", len(recs), len(msgs))
				}
				for _, r := range recs {
					if r.State != StateDone {
						b.Fatalf("%s: %s", r.ID, r.State)
					}
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(len(msgs)*b.N)/total.Seconds(), "msgs/s")
			b.ReportMetric(float64(bytes*b.N)/total.Seconds()/1e6, "MB/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
