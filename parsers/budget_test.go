package parsers

import (
	"bytes"
	"context"
	"errors"
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
