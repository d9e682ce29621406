package quiz

import (
	"context"
	"testing"
	"time"
)

func TestMemStoreSettle(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newMemStore(0, clk.Now)
	ctx := context.Background()
	const ttl = time.Minute
	settle := func(q uint64, correct bool) outcome {
		t.Helper()
		out, err := s.settle(ctx, []byte("u1"), []byte("42"), q, 1000, correct, 2, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	steps := []struct {
		after   time.Duration
		q       uint64
		correct bool
		want    outcome
	}{
		{0, 1, true, settledOK},
		{0, 1, true, settledReplayed},
		{0, 2, true, settledOK}, // another token
		{0, 3, false, settledWrong},
		{0, 3, false, settledWrong},
		{0, 3, true, settledAttempts}, // two failures allowed
		{0, 4, true, settledAttempts},
		{ttl, 4, true, settledOK},   // the failure window ended
		{0, 1, true, settledOK},     // the used token was forgotten after ttl
		{0, 5, false, settledWrong}, // a new window starts
		{ttl - 1, 5, false, settledWrong},
		{0, 5, true, settledAttempts},
	}
	for i, sp := range steps {
		clk.Add(sp.after)
		if got := settle(sp.q, sp.correct); got != sp.want {
			t.Fatalf("step %d: got %d, want %d", i, got, sp.want)
		}
	}
	// Another shopper or item is counted apart.
	if out, _ := s.settle(ctx, []byte("u1"), []byte("43"), 5, 1000, true, 2, ttl); out != settledOK {
		t.Fatalf("other item: %d", out)
	}
}

func TestMemStoreBounded(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newMemStore(memShards*16, clk.Now)
	ctx := context.Background()
	for i := range 10000 {
		if out, _ := s.settle(ctx, []byte("u"), appendUint(nil, uint64(i)), 1, 1, true, 3, time.Hour); out != settledOK {
			t.Fatalf("token %d: %d", i, out)
		}
	}
	if n := s.len(); n > memShards*16 {
		t.Fatalf("%d entries kept, bound %d", n, memShards*16)
	}
	// Expired entries are swept as new ones arrive.
	clk.Add(2 * time.Hour)
	for i := range 2000 {
		_, _ = s.settle(ctx, []byte("v"), appendUint(nil, uint64(i)), 1, 1, true, 3, time.Second)
	}
	for i := range s.shards {
		sh := &s.shards[i]
		if len(sh.fifo)-sh.head > 4*sh.max {
			t.Fatalf("shard %d queue of %d records", i, len(sh.fifo)-sh.head)
		}
	}
}

func TestAppendTag(t *testing.T) {
	t.Parallel()
	// Item ids may contain ':'; the length keeps tags apart.
	a := string(appendTag(nil, []byte("b:c"), []byte("a")))
	b := string(appendTag(nil, []byte("c"), []byte("a:b")))
	if a == b {
		t.Fatalf("tags collide: %q", a)
	}
	if got := string(appendTag(nil, []byte("u1"), []byte("42"))); got != "2:42:u1" {
		t.Fatalf("tag %q", got)
	}
}
