package stock

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/filter"
	"edge/internal/config"
	"edge/internal/testredis"
	"edge/internal/testutil"
)

func TestRedisOneRoundTrip(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	var n atomic.Int64
	s := newRedisStore(t, newClient(t, &n, srv.Addr), RedisOptions{})
	ctx := context.Background()
	sale := testSale(uniqueItem(), 100)
	if _, err := s.Seed(ctx, sale, 100); err != nil {
		t.Fatal(err)
	}
	sales := NewSales([]*config.Sale{{Item: sale.Item, Stock: 100}})
	g := NewGate("order", &config.RouteStock{PerUser: 5}, sales, s, "closed", nil, quiet)
	for i := range 10 {
		r := newRequest(sale.Item, "u"+strconv.Itoa(i))
		before := n.Load()
		if v := g.Handle(r.ctx, r.st); v != filter.Continue {
			t.Fatalf("order %d: verdict %v %s", i, v, r.body())
		}
		if got := n.Load() - before; got != 1 {
			t.Fatalf("order %d took %d Redis commands in the gate, want 1", i, got)
		}
		r.answer(201, `{"order":"x"}`)
		g.After(r.ctx, r.st)
	}
}

func TestRedisSoldOutNews(t *testing.T) {
	t.Parallel()
	single := testredis.Start(t)
	cluster := testredis.StartCluster(t, 3)
	for _, c := range []struct {
		name  string
		addrs []string
	}{{"single", []string{single.Addr}}, {"cluster", cluster.Addrs()}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var na, nb atomic.Int64
			a := newRedisStore(t, newClient(t, &na, c.addrs...), RedisOptions{})
			b := newRedisStore(t, newClient(t, &nb, c.addrs...), RedisOptions{})
			item := uniqueItem()
			sales := NewSales([]*config.Sale{{Item: item, Stock: 3}})
			sale := sales.Get(item)
			for _, s := range []*Redis{a, b} { // every node seeds at start
				if _, err := s.Seed(ctx, sale, 3); err != nil {
					t.Fatal(err)
				}
			}
			for id := uint64(1); id <= 3; id++ {
				if r, err := a.Take(ctx, sale, nil, 0, id); r != Taken || err != nil {
					t.Fatalf("take: %v %v", r, err)
				}
			}
			if !a.SoldOut(sale) {
				t.Fatal("node a took the last unit and must know at once")
			}
			testutil.WaitFor(t, time.Second, "node b learns the sale is sold out", func() bool { return b.SoldOut(sale) })

			// Node b now answers sold_out without asking Redis.
			g := NewGate("order", nil, sales, b, "closed", nil, quiet)
			before := nb.Load()
			for range 50 {
				r := newRequest(item, "")
				if v := g.Handle(r.ctx, r.st); v != filter.Rejected || r.status() != fasthttp.StatusGone {
					t.Fatalf("verdict %v status %d", v, r.status())
				}
			}
			if got := nb.Load() - before; got != 0 {
				t.Fatalf("node b sent %d Redis commands for sold-out answers", got)
			}

			// A unit given back reopens the sale everywhere...
			if err := a.Give(ctx, sale, nil, 2); err != nil {
				t.Fatal(err)
			}
			testutil.WaitFor(t, time.Second, "node b learns a unit is back", func() bool { return !b.SoldOut(sale) })
			// ...the shop's sold out closes it everywhere...
			if err := a.MarkSoldOut(ctx, sale); err != nil {
				t.Fatal(err)
			}
			testutil.WaitFor(t, time.Second, "node b learns the shop's sold out", func() bool { return b.SoldOut(sale) })
			// ...and an operator's Set opens it again.
			if err := a.Set(ctx, sale, 10); err != nil {
				t.Fatal(err)
			}
			testutil.WaitFor(t, time.Second, "node b learns the new stock", func() bool { return !b.SoldOut(sale) })
			if r, _ := b.Take(ctx, sale, nil, 0, 9); r != Taken {
				t.Fatalf("take after set: %v", r)
			}
		})
	}
}

func TestFlagVersions(t *testing.T) {
	t.Parallel()
	var f flag
	steps := []struct {
		ver     uint64
		soldOut bool
		applied bool
		want    bool
	}{
		{0, false, true, false}, // the first news always counts
		{10, true, true, true},
		{9, false, false, true}, // older news is ignored
		{10, false, false, true},
		{11, false, true, false},
	}
	for i, s := range steps {
		if got := f.apply(s.ver, s.soldOut); got != s.applied || f.set() != s.want {
			t.Fatalf("step %d: applied %v flag %v", i, got, f.set())
		}
	}
	if f.version() != 11 {
		t.Fatalf("version %d", f.version())
	}
}

func TestRedisNewsParsing(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	s := newRedisStore(t, newClient(t, nil, srv.Addr), RedisOptions{})
	v := s.view("42")
	for _, p := range []string{"", "x", "5 1", "x 1 42", "5 2 42", "5 1 43"} {
		s.onNews(p)
		if v.flag.set() {
			t.Fatalf("payload %q set the flag", p)
		}
	}
	s.onNews("5 1 42")
	if !v.flag.set() {
		t.Fatal("valid news ignored")
	}
	s.onNews("4 0 42")
	if !v.flag.set() {
		t.Fatal("stale news applied")
	}
}

func TestRedisRefreshHealsMissedNews(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	ctx := context.Background()
	s := newRedisStore(t, newClient(t, nil, srv.Addr), RedisOptions{})
	sale := testSale(uniqueItem(), 4)
	s.Seed(ctx, sale, 4)
	// This node believes, from an old message, that the item is sold out.
	s.view(sale.Item).flag.v.Store(1<<1 | 1)
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if s.SoldOut(sale) {
		t.Fatal("refresh did not clear a stale sold-out flag")
	}
	if in, ok := s.Local(sale); !ok || in.Remaining != 4 {
		t.Fatalf("local %+v %v", in, ok)
	}
}

func TestRedisLostReplies(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	ctx := context.Background()
	var lose atomic.Bool
	rdb := newClient(t, nil, srv.Addr)
	rdb.AddHook(lostReply{&lose})
	s := newRedisStore(t, rdb, RedisOptions{})
	sale := testSale(uniqueItem(), 5)
	s.Seed(ctx, sale, 5)
	info := func() Info {
		t.Helper()
		in, err := s.Info(ctx, sale)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}

	// A retried take (same id) takes one unit, not two.
	for range 2 {
		if r, _ := s.Take(ctx, sale, []byte("u"), 1, 7); r != Taken {
			t.Fatalf("take: %v", r)
		}
	}
	if in := info(); in.Remaining != 4 || in.Reserved != 1 {
		t.Fatalf("after a retried take %+v", in)
	}

	// A take whose reply is lost: the unit was taken, the caller got an
	// error (503), so the store gives it back later.
	lose.Store(true)
	if _, err := s.Take(ctx, sale, []byte("v"), 1, 8); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("take with lost reply: %v", err)
	}
	// A give-back whose reply is lost is retried too, harmlessly.
	if err := s.Give(ctx, sale, []byte("u"), 7); err == nil {
		t.Fatal("give with lost reply should fail")
	}
	lose.Store(false)
	if s.Pending() != 2 {
		t.Fatalf("pending %d, want 2", s.Pending())
	}
	if in := info(); in.Remaining != 4 || in.Reserved != 1 || in.GivenBack != 1 {
		t.Fatalf("before the retry %+v", in)
	}
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Pending() != 0 {
		t.Fatalf("pending %d after refresh", s.Pending())
	}
	want := Info{Remaining: 5, Reserved: 0, GivenBack: 2}
	if in := info(); in != want {
		t.Fatalf("after the retry %+v, want %+v", in, want)
	}
	// Both users may buy again: their counts went back too.
	for i, u := range []string{"u", "v"} {
		if r, _ := s.Take(ctx, sale, []byte(u), 1, uint64(20+i)); r != Taken {
			t.Fatalf("%s: %v", u, r)
		}
	}
}

func TestRedisDownAndRestart(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	ctx := context.Background()
	s := newRedisStore(t, newClient(t, nil, srv.Addr), RedisOptions{Timeout: 200 * time.Millisecond})
	item := uniqueItem()
	sales := NewSales([]*config.Sale{{Item: item, Stock: 10}})
	sale := sales.Get(item)
	if _, err := s.Seed(ctx, sale, 10); err != nil {
		t.Fatal(err)
	}
	g := NewGate("order", nil, sales, s, "open", nil, quiet)
	order := func() *request {
		r := newRequest(item, "")
		if g.Handle(r.ctx, r.st) == filter.Continue {
			r.answer(201, "{}")
			g.After(r.ctx, r.st)
		}
		return r
	}
	for range 3 {
		if r := order(); r.status() != 201 {
			t.Fatalf("before the outage: %d %s", r.status(), r.body())
		}
	}

	srv.Stop()
	for range 5 { // fails closed whatever on_error says
		r := order()
		if r.status() != fasthttp.StatusServiceUnavailable || r.body() != `{"error":"unavailable"}` || r.header("Retry-After") != "1" {
			t.Fatalf("during the outage: %d %s", r.status(), r.body())
		}
	}

	srv.Restart()                                                 // empty: the 3 units sold are forgotten by Redis
	s.now = func() time.Time { return time.Now().Add(time.Hour) } // past the breaker's cooldown
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if r := order(); r.status() != fasthttp.StatusServiceUnavailable {
		t.Fatalf("after losing the state: %d %s; want 503 until an operator sets the stock", r.status(), r.body())
	}
	// A node starting now must not seed the sale from the config.
	late := newRedisStore(t, newClient(t, nil, srv.Addr), RedisOptions{})
	if ok, err := late.Seed(ctx, sale, 10); ok || err != nil {
		t.Fatalf("a late node seeded a lost sale: %v %v", ok, err)
	}
	if r, _ := late.Take(ctx, sale, nil, 0, 1); r != Unknown {
		t.Fatalf("late node take: %v", r)
	}

	// The operator sets what is left (7) and the sale goes on, never past it.
	if err := s.Set(ctx, sale, 7); err != nil {
		t.Fatal(err)
	}
	sold := 0
	for range 12 {
		if order().status() == 201 {
			sold++
		}
	}
	if sold != 7 {
		t.Fatalf("sold %d after the operator set 7", sold)
	}
	if err := s.Refresh(ctx); err != nil { // the queued give-backs of failed takes
		t.Fatal(err)
	}
	in, err := s.Info(ctx, sale)
	if err != nil || in.Remaining != 0 || in.Sold != 7 || s.Pending() != 0 {
		t.Fatalf("info %+v %v, pending %d", in, err, s.Pending())
	}
}

func TestRedisSeedRetriedInBackground(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	srv.Stop()
	ctx := context.Background()
	s := newRedisStore(t, newClient(t, nil, srv.Addr), RedisOptions{Timeout: 200 * time.Millisecond})
	sale := testSale(uniqueItem(), 6)
	if _, err := s.Seed(ctx, sale, 6); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("seed with Redis down: %v", err)
	}
	srv.Restart()
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if in, err := s.Info(ctx, sale); err != nil || in.Remaining != 6 {
		t.Fatalf("info %+v %v", in, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
