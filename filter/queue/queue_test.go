package queue

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"

	"edge/filter"
	"edge/internal/config"
)

// order is one request through the stage.
type order struct {
	ctx *fasthttp.RequestCtx
	st  *filter.State
}

func newOrder(item string) *order {
	return &order{ctx: new(fasthttp.RequestCtx), st: &filter.State{Route: "order", Item: []byte(item)}}
}

func mustNew(t *testing.T, cfg *config.Queue, m *Metrics) *Queue {
	t.Helper()
	q, err := New("order", cfg, m)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		cfg     *config.Queue
		wantErr bool
		conc    int
		wait    time.Duration
		waiting int
	}{
		{"nil takes defaults", nil, false, DefaultConcurrency, DefaultMaxWait, DefaultMaxWaiting},
		{"zero values take defaults", &config.Queue{}, false, DefaultConcurrency, DefaultMaxWait, DefaultMaxWaiting},
		{"explicit", &config.Queue{Mode: "sync", ConcurrencyPerItem: 3, MaxWait: config.Duration(time.Second), MaxWaiting: 7}, false, 3, time.Second, 7},
		{"async refused", &config.Queue{Mode: "async"}, true, 0, 0, 0},
		{"unknown mode", &config.Queue{Mode: "later"}, true, 0, 0, 0},
		{"negative", &config.Queue{ConcurrencyPerItem: -1}, true, 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			q, err := New("r", c.cfg, nil)
			if c.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				if c.cfg.Mode == "async" && !errors.Is(err, ErrAsyncUnsupported) {
					t.Fatalf("async: got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if q.conc != c.conc || q.maxWait != c.wait || q.maxWaiting != c.waiting {
				t.Fatalf("got conc %d wait %v waiting %d", q.conc, q.maxWait, q.maxWaiting)
			}
			if q.Name() != "queue" {
				t.Fatalf("name %q", q.Name())
			}
		})
	}
}

func TestFIFO(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		m := NewMetrics(prometheus.NewRegistry())
		q := mustNew(t, &config.Queue{ConcurrencyPerItem: 2, MaxWait: config.Duration(time.Minute)}, m)
		holders := []*order{newOrder("42"), newOrder("42")}
		for _, o := range holders {
			if v := q.Handle(o.ctx, o.st); v != filter.Continue {
				t.Fatalf("first orders should be admitted, got %v", v)
			}
		}
		// Five waiters arrive one after the other.
		var mu sync.Mutex
		var got []int
		waiters := make([]*order, 5)
		for i := range waiters {
			o := newOrder("42")
			waiters[i] = o
			go func() {
				if v := q.Handle(o.ctx, o.st); v != filter.Continue {
					t.Errorf("waiter %d: verdict %v", i, v)
				}
				mu.Lock()
				got = append(got, i)
				mu.Unlock()
			}()
			synctest.Wait() // waiter i is queued before i+1 arrives
		}
		if in, w := q.Stats([]byte("42")); in != 2 || w != 5 {
			t.Fatalf("stats = %d in flight, %d waiting; want 2, 5", in, w)
		}
		// Each release admits exactly the oldest waiter.
		running := holders
		for want := range waiters {
			q.After(running[0].ctx, running[0].st)
			running = append(running[1:], waiters[want])
			synctest.Wait()
			mu.Lock()
			if len(got) != want+1 || got[want] != want {
				t.Fatalf("after %d releases admitted %v", want+1, got)
			}
			mu.Unlock()
		}
		for _, o := range running {
			q.After(o.ctx, o.st)
		}
		if q.Items() != 0 {
			t.Fatalf("idle item state kept: %d items", q.Items())
		}
		if n := testutil.ToFloat64(m.decisions.WithLabelValues("order", "waited")); n != 5 {
			t.Fatalf("waited = %v", n)
		}
		if n := testutil.ToFloat64(m.decisions.WithLabelValues("order", "admitted")); n != 2 {
			t.Fatalf("admitted = %v", n)
		}
		if n := testutil.ToFloat64(m.inFlight.WithLabelValues("order")); n != 0 {
			t.Fatalf("in flight gauge = %v", n)
		}
	})
}

func TestMaxWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		m := NewMetrics(nil)
		q := mustNew(t, &config.Queue{ConcurrencyPerItem: 1, MaxWait: config.Duration(2 * time.Second)}, m)
		holder := newOrder("7")
		if q.Handle(holder.ctx, holder.st) != filter.Continue {
			t.Fatal("first order refused")
		}
		late := newOrder("7")
		start := time.Now()
		if v := q.Handle(late.ctx, late.st); v != filter.Rejected {
			t.Fatalf("verdict %v, want Rejected", v)
		}
		if waited := time.Since(start); waited != 2*time.Second {
			t.Fatalf("waited %v, want exactly max_wait", waited)
		}
		if c := late.ctx.Response.StatusCode(); c != fasthttp.StatusServiceUnavailable {
			t.Fatalf("status %d", c)
		}
		if b := string(late.ctx.Response.Body()); b != `{"error":"queue_full"}` {
			t.Fatalf("body %s", b)
		}
		if ra := string(late.ctx.Response.Header.Peek("Retry-After")); ra != "1" {
			t.Fatalf("Retry-After %q", ra)
		}
		if late.st.Stage != "queue" || late.st.Reason != "queue_full" {
			t.Fatalf("state %q/%q", late.st.Stage, late.st.Reason)
		}
		// The refused order's After (the gateway runs it) releases nothing.
		q.After(late.ctx, late.st)
		if in, w := q.Stats([]byte("7")); in != 1 || w != 0 {
			t.Fatalf("stats after timeout = %d, %d; want 1, 0", in, w)
		}
		// The slot still works: release, and the next order is admitted at once.
		q.After(holder.ctx, holder.st)
		next := newOrder("7")
		if q.Handle(next.ctx, next.st) != filter.Continue {
			t.Fatal("slot lost after a timeout")
		}
		q.After(next.ctx, next.st)
		if q.Items() != 0 {
			t.Fatal("state kept after idle")
		}
		if n := testutil.ToFloat64(m.decisions.WithLabelValues("order", "queue_full")); n != 1 {
			t.Fatalf("queue_full = %v", n)
		}
	})
}

func TestMaxWaiting(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		q := mustNew(t, &config.Queue{ConcurrencyPerItem: 1, MaxWaiting: 2, MaxWait: config.Duration(time.Second)}, nil)
		holder := newOrder("1")
		q.Handle(holder.ctx, holder.st)
		var wg sync.WaitGroup
		var full atomic.Int32
		for range 2 {
			o := newOrder("1")
			wg.Go(func() {
				if q.Handle(o.ctx, o.st) == filter.Rejected {
					full.Add(1)
				}
			})
		}
		synctest.Wait()
		third := newOrder("1")
		start := time.Now()
		if q.Handle(third.ctx, third.st) != filter.Rejected || time.Since(start) != 0 {
			t.Fatal("over max_waiting should be refused at once")
		}
		wg.Wait() // the two waiters time out
		if full.Load() != 2 {
			t.Fatalf("%d waiters timed out, want 2", full.Load())
		}
		q.After(holder.ctx, holder.st)
		if q.Items() != 0 {
			t.Fatal("state kept")
		}
	})
}

func TestItemsIndependent(t *testing.T) {
	t.Parallel()
	q := mustNew(t, &config.Queue{ConcurrencyPerItem: 1, MaxWait: config.Duration(time.Millisecond)}, nil)
	a, b := newOrder("a"), newOrder("b")
	if q.Handle(a.ctx, a.st) != filter.Continue || q.Handle(b.ctx, b.st) != filter.Continue {
		t.Fatal("different items must not share slots")
	}
	q.After(a.ctx, a.st)
	q.After(b.ctx, b.st)
	q.After(b.ctx, b.st) // a second After is harmless
	if in, _ := q.Stats([]byte("b")); in != 0 || q.Items() != 0 {
		t.Fatalf("in flight %d, items %d", in, q.Items())
	}
}

func TestConcurrencyBound(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const conc, orders = 4, 200
		q := mustNew(t, &config.Queue{ConcurrencyPerItem: conc, MaxWait: config.Duration(time.Hour), MaxWaiting: orders}, nil)
		var inShop, peak atomic.Int32
		var admitted atomic.Int32
		var wg sync.WaitGroup
		for i := range orders {
			item := strconv.Itoa(i % 2) // two items, each bounded separately
			wg.Go(func() {
				o := newOrder(item)
				if q.Handle(o.ctx, o.st) != filter.Continue {
					t.Error("refused")
					return
				}
				admitted.Add(1)
				n := inShop.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(10 * time.Millisecond) // the shop answering
				inShop.Add(-1)
				q.After(o.ctx, o.st)
			})
		}
		wg.Wait()
		if admitted.Load() != orders {
			t.Fatalf("admitted %d of %d", admitted.Load(), orders)
		}
		if p := peak.Load(); p != 2*conc {
			t.Fatalf("peak in flight %d, want %d (conc per item × 2 items)", p, 2*conc)
		}
		if q.Items() != 0 {
			t.Fatal("state kept")
		}
	})
}

func TestContentionWithTimeouts(t *testing.T) {
	t.Parallel()
	// Real time and real scheduling: orders time out while slots are handed
	// over; the accounting must come back to zero.
	const conc = 3
	q := mustNew(t, &config.Queue{ConcurrencyPerItem: conc, MaxWait: config.Duration(2 * time.Millisecond), MaxWaiting: 64}, nil)
	var inShop, over atomic.Int32
	var wg sync.WaitGroup
	for range 400 {
		wg.Go(func() {
			o := newOrder("hot")
			if q.Handle(o.ctx, o.st) != filter.Continue {
				q.After(o.ctx, o.st)
				return
			}
			if inShop.Add(1) > conc {
				over.Add(1)
			}
			time.Sleep(time.Millisecond)
			inShop.Add(-1)
			q.After(o.ctx, o.st)
		})
	}
	wg.Wait()
	if over.Load() != 0 {
		t.Fatalf("%d times more than %d in flight", over.Load(), conc)
	}
	if in, w := q.Stats([]byte("hot")); in != 0 || w != 0 || q.Items() != 0 {
		t.Fatalf("left %d in flight, %d waiting, %d items", in, w, q.Items())
	}
}

func TestLint(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.route("order").admitted.Inc()
	m.route("order").wait.Observe(0.1)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func BenchmarkAdmit(b *testing.B) {
	q, _ := New("order", &config.Queue{ConcurrencyPerItem: 8}, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		o := newOrder("42")
		for pb.Next() {
			q.Handle(o.ctx, o.st)
			q.After(o.ctx, o.st)
		}
	})
}
