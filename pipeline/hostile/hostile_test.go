package hostile

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"
	"testing"
	"time"

	"triage/parsers"
	"triage/pipeline"
)

// maxPeakHeap bounds the heap the engine may add while judging one hostile
// input (on top of the input itself, which the caller holds).
const maxPeakHeap = 256 << 20

// registry returns the parsers the hostile engine runs: the pipeline's
// registry, so every parser the lead registers is attacked automatically.
var registry = pipeline.DefaultParsers

// usage is what one Triage call cost.
type usage struct {
	wall       time.Duration
	peakHeap   uint64 // peak live+unswept heap above the baseline
	totalAlloc uint64 // bytes allocated during the call
}

// sampler records the peak of the heap (live and not yet swept objects)
// every millisecond until stopped.
type sampler struct {
	stop chan struct{}
	done chan uint64
}

func startSampler() *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan uint64)}
	go func() {
		m := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		var peak uint64
		for {
			metrics.Read(m)
			peak = max(peak, m[0].Value.Uint64())
			select {
			case <-s.stop:
				s.done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// Stop returns the peak heap seen.
func (s *sampler) Stop() uint64 {
	close(s.stop)
	return <-s.done
}

// baseline collects garbage and returns the heap in use and allocated so far.
func baseline() (heap, total uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.TotalAlloc
}

// measure runs f under a sampler. The baseline is taken after a GC, with
// the input already allocated, so the figures are the engine's own.
func measure(f func()) usage {
	base, baseTotal := baseline()
	s := startSampler()
	start := time.Now()
	f()
	u := usage{wall: time.Since(start)}
	peak := s.Stop()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapAlloc)
	if peak > base {
		u.peakHeap = peak - base
	}
	u.totalAlloc = ms.TotalAlloc - baseTotal
	return u
}

// settle waits until at most n goroutines run, or until limit passed, and
// returns how long that took.
func settle(n int, limit time.Duration) time.Duration {
	start := time.Now()
	for runtime.NumGoroutine() > n && time.Since(start) < limit {
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }

// missingParsers names the case's parsers that are not registered.
func missingParsers(c Case, ps []parsers.Parser) []string {
	have := map[string]bool{}
	for _, p := range ps {
		have[p.Name()] = true
	}
	var miss []string
	for _, n := range c.Parsers {
		if !have[n] {
			miss = append(miss, n)
		}
	}
	return miss
}

// limitCodes lists the distinct limit and malformation findings of rep.
func limitCodes(rep *pipeline.Report) []string {
	seen := map[string]bool{}
	for _, a := range rep.Artifacts {
		for _, f := range a.Findings {
			if strings.HasPrefix(f.Code, "limit.") || strings.HasSuffix(f.Code, ".limit") || strings.HasSuffix(f.Code, ".malformed") ||
				f.Code == "engine.parser_panic" || f.Code == "mime.huge_header" || f.Code == "mime.bad_encoding" || f.Code == "lnk.string_overrun" {
				seen[f.Code] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// TestHostile judges every hostile case with a fresh engine at the default
// limits: a verdict arrives without error, the limit or malformation that
// fired is named, and the heap the engine adds stays under 256 MB. Wall
// time is logged (go test -v), never asserted: BenchmarkHostile measures it.
func TestHostile(t *testing.T) {
	ps := registry()
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			if miss := missingParsers(c, ps); len(miss) > 0 {
				t.Fatalf("parser(s) %v not registered in pipeline.DefaultParsers: this case would not reach them", miss)
			}
			data := c.Build()
			if testing.Short() && len(data) > 16<<20 {
				t.Skipf("%d MB input: not in -short mode", len(data)>>20)
			}
			eng, err := pipeline.New(pipeline.Config{Limits: parsers.DefaultLimits(), Parsers: registry()})
			if err != nil {
				t.Fatal(err)
			}
			var rep *pipeline.Report
			goroutines := runtime.NumGoroutine()
			u := measure(func() { rep, err = eng.Triage(context.Background(), c.Name+".eml", data) })
			// A parser abandoned at the deadline keeps its goroutine: it must
			// notice the deadline and stop, or it burns a daemon's CPU and
			// memory after the verdict (and pollutes the next case's figures).
			lag := settle(goroutines, time.Minute)
			if lag > 2*time.Second {
				t.Errorf("a parser goroutine kept running %v after Triage returned", lag.Round(time.Millisecond))
			}
			if err != nil {
				t.Fatalf("Triage: %v", err)
			}
			if rep == nil {
				t.Fatal("no report")
			}
			switch rep.Verdict {
			case pipeline.Malicious, pipeline.Suspicious, pipeline.Clean:
			default:
				t.Errorf("verdict %q", rep.Verdict)
			}
			var fired []string
			for _, code := range c.WantFinding {
				if rep.HasFinding(code) {
					fired = append(fired, code)
				}
			}
			if len(fired) == 0 {
				t.Errorf("none of %v reported; limit/malformed findings present: %v", c.WantFinding, limitCodes(rep))
			}
			if rep.HasFinding("engine.parser_panic") {
				t.Errorf("a parser panicked: %v", panicDetails(rep))
			}
			if u.peakHeap > maxPeakHeap {
				t.Errorf("peak heap %.1f MB above the input; want < %d MB", mb(u.peakHeap), maxPeakHeap>>20)
			}
			if lag > 100*time.Millisecond {
				t.Logf("parser goroutines outlived Triage by %v", lag.Round(time.Millisecond))
			}
			t.Logf("input %.1f MB | wall %v | peak heap +%.1f MB | allocated %.1f MB | verdict %s (%d) | %d artifacts | fired %v | all %v",
				mb(uint64(len(data))), u.wall.Round(time.Millisecond), mb(u.peakHeap), mb(u.totalAlloc), rep.Verdict, rep.Score,
				len(rep.Artifacts), fired, limitCodes(rep))
		})
	}
}

func panicDetails(rep *pipeline.Report) []string {
	var out []string
	for _, a := range rep.Artifacts {
		for _, f := range a.Findings {
			if f.Code == "engine.parser_panic" {
				out = append(out, fmt.Sprintf("artifact %s (%s): %s", a.ID, a.Type, f.Detail))
			}
		}
	}
	return out
}

// BenchmarkHostile reports, per case, the time one judgement takes and the
// peak heap it adds (peak-MB):
//
//	go test -run '^$' -bench Hostile -benchtime 3x ./pipeline/hostile/
func BenchmarkHostile(b *testing.B) {
	ps := registry()
	for _, c := range Cases() {
		b.Run(c.Name, func(b *testing.B) {
			if miss := missingParsers(c, ps); len(miss) > 0 {
				b.Fatalf("parser(s) %v not registered", miss)
			}
			data := c.Build()
			eng, err := pipeline.New(pipeline.Config{Limits: parsers.DefaultLimits(), Parsers: registry()})
			if err != nil {
				b.Fatal(err)
			}
			// Parsers abandoned by an earlier case must not run during this one.
			defer settle(runtime.NumGoroutine(), time.Minute)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			base, _ := baseline()
			s := startSampler()
			b.ResetTimer()
			for b.Loop() {
				if _, err := eng.Triage(context.Background(), c.Name+".eml", data); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			peak := s.Stop()
			if peak > base {
				peak -= base
			} else {
				peak = 0
			}
			b.ReportMetric(mb(peak), "peak-MB")
		})
	}
}
