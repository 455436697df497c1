package parsers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
)

type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.n {
		p = p[:z.n]
	}
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

func TestBudget_ReadAll(t *testing.T) {
	ctx := context.Background()
	t.Run("small_exact", func(t *testing.T) {
		b := NewBudget(ctx, Limits{})
		got, err := b.ReadAll(bytes.NewReader([]byte("hello")), 0)
		if err != nil || string(got) != "hello" || b.Used() != 5 {
			t.Errorf("got %q, %v, used %d", got, err, b.Used())
		}
	})
	t.Run("artifact_limit", func(t *testing.T) {
		b := NewBudget(ctx, Limits{MaxArtifactBytes: 1000})
		got, err := b.ReadAll(&zeros{n: 1 << 30}, 0)
		if !errors.Is(err, ErrTooLarge) || len(got) != 1000 {
			t.Errorf("len %d err %v: want a 1000-byte prefix and ErrTooLarge", len(got), err)
		}
	})
	t.Run("exactly_at_limit_is_not_cut", func(t *testing.T) {
		b := NewBudget(ctx, Limits{MaxArtifactBytes: 1000})
		got, err := b.ReadAll(&zeros{n: 1000}, 0)
		if err != nil || len(got) != 1000 {
			t.Errorf("len %d err %v", len(got), err)
		}
	})
	t.Run("ratio", func(t *testing.T) {
		b := NewBudget(ctx, Limits{MaxRatio: 10})
		got, err := b.ReadAll(&zeros{n: 64 << 20}, 200<<10) // 200 KiB compressed → 2 MiB allowed
		if !errors.Is(err, ErrTooLarge) || len(got) != 2000<<10 {
			t.Errorf("len %d err %v", len(got), err)
		}
	})
	t.Run("message_total", func(t *testing.T) {
		b := NewBudget(ctx, Limits{MaxTotalBytes: 3000, MaxArtifactBytes: 2000})
		if _, err := b.ReadAll(&zeros{n: 2000}, 0); err != nil {
			t.Fatal(err)
		}
		got, err := b.ReadAll(&zeros{n: 2000}, 0)
		if !errors.Is(err, ErrTooLarge) || len(got) != 1000 || b.Used() != 3000 {
			t.Errorf("len %d err %v used %d", len(got), err, b.Used())
		}
	})
	t.Run("deadline", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		cancel()
		b := NewBudget(c, Limits{})
		if _, err := b.ReadAll(&zeros{n: 10}, 0); !errors.Is(err, ErrDeadline) {
			t.Errorf("err %v, want ErrDeadline", err)
		}
	})
}

func BenchmarkBudget_ReadAll_16MiB(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		bud := NewBudget(context.Background(), Limits{})
		if _, err := bud.ReadAll(&zeros{n: 16 << 20}, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// recorder returns up to step bytes per Read from a pattern and records
// the buffer sizes it is handed.
type recorder struct {
	n, step int
	sizes   []int
}

func (r *recorder) Read(p []byte) (int, error) {
	r.sizes = append(r.sizes, len(p))
	if r.n <= 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, r.step)
	for i := range k {
		p[i] = byte(r.n - i)
	}
	r.n -= k
	return k, nil
}

// doublingReadAll is ReadAll's read loop before it read into chunks: one
// buffer doubling from 64 KiB, never past limit+1.
func doublingReadAll(r io.Reader, limit int64) []byte {
	buf := make([]byte, 0, min(limit+1, 64*KiB))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				break
			}
			grown := make([]byte, len(buf), min(int64(cap(buf))*2, limit+1))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			break
		}
	}
	if int64(len(buf)) > limit {
		buf = buf[:limit]
	}
	return buf
}

// TestBudget_ReadAll_readSizes: ReadAll hands the reader the same buffer
// sizes, in the same order, as a doubling buffer does, and returns the
// same bytes; stream decoders that size their work by len(p) depend on it.
func TestBudget_ReadAll_readSizes(t *testing.T) {
	for _, size := range []int{0, 1, 1000, 64*KiB - 1, 64 * KiB, 64*KiB + 1, 200 * KiB, 3*MiB + 17} {
		for _, limit := range []int64{0, 1, 999, 64 * KiB, 100 * KiB, 2 * MiB, 32 * MiB} {
			for _, step := range []int{1 << 30, 4096, 700} {
				if step < 4096 && size > 300*KiB {
					continue
				}
				old := &recorder{n: size, step: step}
				want := doublingReadAll(old, limit)
				cur := &recorder{n: size, step: step}
				b := NewBudget(context.Background(), Limits{MaxArtifactBytes: limit})
				if limit == 0 {
					b = NewBudget(context.Background(), Limits{MaxTotalBytes: 1})
					b.usedBytes = 1
				}
				got, err := b.ReadAll(cur, 0)
				if !bytes.Equal(got, want) {
					t.Fatalf("size %d limit %d step %d: got %d bytes, want %d", size, limit, step, len(got), len(want))
				}
				if (int64(size) > limit) != errors.Is(err, ErrTooLarge) {
					t.Errorf("size %d limit %d: err %v", size, limit, err)
				}
				if fmt.Sprint(cur.sizes) != fmt.Sprint(old.sizes) {
					t.Fatalf("size %d limit %d step %d: read sizes differ:\n got %v\nwant %v", size, limit, step, clipInts(cur.sizes), clipInts(old.sizes))
				}
				if got == nil {
					t.Errorf("size %d limit %d: nil slice", size, limit)
				}
			}
		}
	}
}

func clipInts(s []int) []int { return s[:min(len(s), 40)] }
