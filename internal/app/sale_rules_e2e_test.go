package app

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"edge/examples/shop/shop"
	"edge/examples/shop/shoptest"
	"edge/internal/testredis"

	edgetest "edge/internal/testutil"
)

// memShop runs the in-memory example shop with plenty of every item, so
// that only edge decides who buys.
func memShop(t *testing.T) (string, *shop.Server) {
	return shoptest.Start(t, shop.Options{Stock: map[string]int{"41": 1000, "42": 1000, "43": 1000}})
}

func shopStats(t *testing.T, s *shop.Server) shop.OrderStats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st.Orders
}

// TestPerUserLimitAcrossNodes: one shopper pressing "buy" many times at once
// on three nodes sharing Redis gets exactly per_user units; the rest are
// refused 409 limit_reached and never reach the shop.
func TestPerUserLimitAcrossNodes(t *testing.T) {
	t.Parallel()
	for _, perUser := range []int{1, 2} {
		t.Run("per_user="+strconv.Itoa(perUser), func(t *testing.T) {
			t.Parallel()
			addr, s := memShop(t)
			r := testredis.Start(t)
			f := startFleet(t, 3, saleSetup{Redis: []string{r.Addr}, PerUser: perUser, Stock: 100}, addr)

			const presses = 12
			res := make(chan orderResult, presses)
			for i := range presses {
				go func() { res <- postOrder(f.pubs[i%3], "42", "alice") }()
			}
			got := map[string]int{}
			for range presses {
				got[(<-res).String()]++
			}
			if got["201"] != perUser || got["409 limit_reached"] != presses-perUser {
				t.Errorf("alice's %d concurrent presses: %v, want %d × 201 and the rest 409 limit_reached", presses, got, perUser)
			}
			// Later presses, on any node, are refused too; other shoppers buy.
			for i, pub := range f.pubs {
				if o := postOrder(pub, "42", "alice"); o.code != 409 || o.reason != "limit_reached" {
					t.Errorf("alice again on node %d: %v", i, o)
				}
				if o := postOrder(pub, "42", "bob-"+strconv.Itoa(i)); o.code != 201 {
					t.Errorf("bob-%d on node %d: %v", i, i, o)
				}
			}
			if o := shopStats(t, s); o.Received != int64(perUser+3) || o.Accepted != int64(perUser+3) {
				t.Errorf("shop received %d, accepted %d; want %d", o.Received, o.Accepted, perUser+3)
			}
			info := stockOf(t, f.adms[1], "42")
			if val(info.Sold) != int64(perUser+3) || val(info.Remaining) != int64(100-perUser-3) || val(info.Reserved) != 0 {
				t.Errorf("edge stock: %v", info)
			}
		})
	}
}

// TestSaleWindowEndToEnd: orders before a sale opens are refused 403 with
// Retry-After, after it ends 410, and neither touches the stock or the
// shop; moving the start by a reload opens the sale with its stock intact.
func TestSaleWindowEndToEnd(t *testing.T) {
	t.Parallel()
	addr, s := memShop(t)
	now := time.Now().UTC()
	rfc := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	a, pub, adm := startEdge(t, saleSetup{Sales: `  - {item: "41", stock: 5, starts: ` + rfc(time.Hour) + `}
  - {item: "43", stock: 5, starts: ` + rfc(-2*time.Hour) + `, ends: ` + rfc(-time.Second) + `}
`}.yaml(), addr, nil)

	cases := []struct {
		item, reason string
		code         int
		state        string
		remaining    int64
	}{
		{"41", "not_started", 403, "not_started", 5},
		{"43", "sale_ended", 410, "ended", 5},
		{"42", "", 201, "on_sale", 199},
	}
	for _, c := range cases {
		o := postOrder(pub, c.item, "carol")
		if o.code != c.code || o.reason != c.reason {
			t.Errorf("item %s: %v, want %d %s", c.item, o, c.code, c.reason)
		}
		if c.code == 403 {
			if secs, err := strconv.Atoi(o.retryAfter); err != nil || secs < 3500 || secs > 3600 {
				t.Errorf("item %s: Retry-After %q, want about an hour", c.item, o.retryAfter)
			}
		}
		if info := stockOf(t, adm, c.item); info.State != c.state || val(info.Remaining) != c.remaining {
			t.Errorf("item %s stock: %v, want state %s remaining %d", c.item, info, c.state, c.remaining)
		}
	}
	if o := shopStats(t, s); o.Received != 1 {
		t.Errorf("shop received %d orders, want 1 (the open sale's)", o.Received)
	}

	// The operator opens sale 41 now: the new table keeps the stock.
	cfg := *a.Gateway.Config()
	cfg.Sales = nil
	for _, sale := range a.Gateway.Config().Sales {
		c := *sale
		if c.Item == "41" {
			c.Starts = now.Add(-time.Second)
		}
		cfg.Sales = append(cfg.Sales, &c)
	}
	if err := a.apply(&cfg); err != nil {
		t.Fatal(err)
	}
	if o := postOrder(pub, "41", "carol"); o.code != 201 {
		t.Errorf("item 41 once open: %v", o)
	}
	if info := stockOf(t, adm, "41"); info.State != "on_sale" || val(info.Remaining) != 4 {
		t.Errorf("item 41 after the reload: %v, want on_sale with 4 left", info)
	}
}

// gatedOrigin is a shop whose orders wait until the test opens the gate, so
// a test can hold orders "at the shop" for as long as it needs.
type gatedOrigin struct {
	addr    string
	arrived atomic.Int64
	open    chan struct{}
}

func startGatedOrigin(t *testing.T) *gatedOrigin {
	t.Helper()
	g := &gatedOrigin{open: make(chan struct{})}
	addr := edgetest.ServeOrigin(t, func(ctx *fasthttp.RequestCtx) {
		n := g.arrived.Add(1)
		select {
		case <-g.open:
		case <-time.After(10 * time.Second):
		}
		ctx.SetStatusCode(201)
		ctx.SetBodyString(`{"order":"` + strconv.FormatInt(n, 10) + `"}`)
	})
	g.addr = addr
	return g
}

// TestQueueOverflow: with the item's slot taken at the shop, orders beyond
// the waiting line, or that waited max_wait, get 503 queue_full with
// Retry-After, their units go back to the stock, and the shop never sees
// them; the orders that waited their turn go through.
func TestQueueOverflow(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name             string
		queue            string
		waiters, refused int
		minWait          time.Duration
	}{
		{"waiting line full", "{mode: sync, concurrency_per_item: 1, max_waiting: 2, max_wait: 10s}", 2, 5, 0},
		{"waited too long", "{mode: sync, concurrency_per_item: 1, max_wait: 200ms}", 0, 2, 200 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			g := startGatedOrigin(t)
			a, pub, adm := startEdge(t, saleSetup{Stock: 10, Queue: c.queue}.yaml(), g.addr, nil)
			held := make(chan orderResult, 1+c.waiters)
			go func() { held <- postOrder(pub, "42", "holder") }()
			edgetest.WaitFor(t, 5*time.Second, "the first order at the shop", func() bool { return g.arrived.Load() == 1 })
			for i := range c.waiters {
				go func() { held <- postOrder(pub, "42", "waiter-"+strconv.Itoa(i)) }()
			}
			edgetest.WaitFor(t, 5*time.Second, "the waiters in line", func() bool {
				return a.Metrics.InFlight() == int64(1+c.waiters)
			})
			for i := range c.refused {
				o := postOrder(pub, "42", "late-"+strconv.Itoa(i))
				if o.code != 503 || o.reason != "queue_full" || o.retryAfter != "1" {
					t.Errorf("order %d past the line: %v Retry-After %q, want 503 queue_full with Retry-After 1", i, o, o.retryAfter)
				}
				if o.elapsed < c.minWait {
					t.Errorf("order %d refused after %v, before max_wait %v", i, o.elapsed, c.minWait)
				}
			}
			close(g.open)
			for range 1 + c.waiters {
				if o := <-held; o.code != 201 {
					t.Errorf("an order in line: %v, want 201", o)
				}
			}
			if n := g.arrived.Load(); n != int64(1+c.waiters) {
				t.Errorf("the shop saw %d orders, want %d", n, 1+c.waiters)
			}
			info := stockOf(t, adm, "42")
			if val(info.Remaining) != int64(10-1-c.waiters) || val(info.Reserved) != 0 || val(info.GivenBack) != int64(c.refused) {
				t.Errorf("edge stock: %v, want remaining %d, reserved 0, given back %d", info, 10-1-c.waiters, c.refused)
			}
			// A refused shopper's unit went back and its cap with it.
			if o := postOrder(pub, "42", "late-0"); o.code != 201 {
				t.Errorf("late-0 trying again: %v", o)
			}
		})
	}
}

// TestReleaseViaAdmin: units of cancelled orders go back to the stock with
// POST /stock/{item}/release, reopening a sold-out item on every node and
// lowering the shopper's per-user count; PUT /stock/{item} sets the
// remaining units. Writes need the admin token.
func TestReleaseViaAdmin(t *testing.T) {
	t.Parallel()
	addr, s := memShop(t)
	r := testredis.Start(t)
	f := startFleet(t, 2, saleSetup{Redis: []string{r.Addr}, Stock: 3}, addr)
	nodeA, nodeB := f.pubs[0], f.pubs[1]
	admA := "http://" + f.adms[0]
	for i, u := range []string{"u1", "u2", "u3"} {
		if o := postOrder(f.pubs[i%2], "42", u); o.code != 201 {
			t.Fatalf("%s: %v", u, o)
		}
	}
	if o := postOrder(nodeB, "42", "u4"); o.code != 410 || o.reason != "sold_out" {
		t.Fatalf("u4 after the sell-out: %v", o)
	}

	for _, c := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/stock/42/release", `{"units":0}`, 400, "want_units"},
		{"POST", "/stock/99/release", ``, 404, "not_on_sale"},
		{"PUT", "/stock/42", `{"stock":-1}`, 400, "want_stock"},
		{"POST", "/stock/42/release", `{"units":2,"user":"u1"}`, 200, `"released":2`},
	} {
		if code, body := doAs(t, c.method, admA+c.path, "", c.body); code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s %s %s: %d %s, want %d %s", c.method, c.path, c.body, code, body, c.code, c.want)
		}
	}
	if code, _ := do(t, "POST", admA+"/stock/42/release", ""); code != 401 {
		t.Errorf("release without the token: %d, want 401", code)
	}
	if code, _ := do(t, "PUT", admA+"/stock/42", ""); code != 401 {
		t.Errorf("PUT without the token: %d, want 401", code)
	}

	// Node B learns of the release over pub/sub (or its refresh) and sells
	// again; until then it answers sold_out from its flag, without taking.
	edgetest.WaitFor(t, 5*time.Second, "node B selling the released units", func() bool {
		o := postOrder(nodeB, "42", "u4")
		if o.code != 201 && o.code != 410 {
			t.Fatalf("u4 after the release: %v", o)
		}
		return o.code == 201
	})
	if o := postOrder(nodeB, "42", "u1"); o.code != 201 {
		t.Errorf("u1 after the release lowered its count: %v", o)
	}
	if o := postOrder(nodeA, "42", "u5"); o.code != 410 {
		t.Errorf("u5 once sold out again: %v", o)
	}
	// More than sold: only the units sold come back.
	if code, body := doAs(t, "POST", admA+"/stock/42/release", "", `{"units":10}`); code != 200 || !strings.Contains(body, `"released":3`) {
		t.Errorf("release 10 of 3 sold: %d %s", code, body)
	}
	if code, body := doAs(t, "PUT", admA+"/stock/42", "", `{"stock":0}`); code != 200 || !strings.Contains(body, `"sold_out":true`) {
		t.Errorf("PUT stock 0: %d %s", code, body)
	}
	edgetest.WaitFor(t, 5*time.Second, "node B closing the item", func() bool { return postOrder(nodeB, "42", "u6").code == 410 })
	if code, body := doAs(t, "GET", admA+"/stock", "", ""); code != 200 || !strings.Contains(body, `"item":"42"`) {
		t.Errorf("GET /stock: %d %s", code, body)
	}
	if o := shopStats(t, s); o.Received != 5 || o.Accepted != 5 {
		t.Errorf("shop received %d, accepted %d; want 5 (three, then u4 and u1 after the release)", o.Received, o.Accepted)
	}
}

// redisCalls returns the script calls (EVALSHA and EVAL) Redis has served,
// from INFO commandstats: the order path's only Redis commands are scripts
// (the background refresh reads with HMGET).
func redisCalls(rdb *redis.Client) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return 0, err
	}
	var total int64
	for _, line := range strings.Split(info, "\r\n") {
		for _, cmd := range []string{"cmdstat_evalsha:calls=", "cmdstat_eval:calls="} {
			if rest, ok := strings.CutPrefix(line, cmd); ok {
				n, _ := strconv.ParseInt(rest[:strings.IndexByte(rest, ',')], 10, 64)
				total += n
			}
		}
	}
	return total, nil
}

// TestOrderOneRedisRoundTrip: an order that passes costs exactly one Redis
// round trip before it reaches the shop (the stock gate's script) and one
// after (recording the sale); once sold out, orders cost none.
func TestOrderOneRedisRoundTrip(t *testing.T) {
	t.Parallel()
	r := testredis.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	calls := func() int64 {
		t.Helper()
		n, err := redisCalls(rdb)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	var atShop atomic.Int64
	addr := edgetest.ServeOrigin(t, func(ctx *fasthttp.RequestCtx) {
		n, _ := redisCalls(rdb)
		atShop.Store(n)
		ctx.SetStatusCode(201)
	})
	f := startFleet(t, 1, saleSetup{Redis: []string{r.Addr}, Stock: 5, NoRateLimit: true}, addr)

	for i := range 5 {
		before := calls()
		if o := postOrder(f.pubs[0], "42", "u"+strconv.Itoa(i)); o.code != 201 {
			t.Fatalf("order %d: %v", i, o)
		}
		after := calls()
		if got := atShop.Load() - before; got != 1 {
			t.Errorf("order %d: %d Redis round trips before the shop, want 1", i, got)
		}
		if got := after - before; got != 2 {
			t.Errorf("order %d: %d Redis round trips in all, want 2 (take, keep)", i, got)
		}
	}
	before := calls()
	for i := range 50 {
		if o := postOrder(f.pubs[0], "42", "late"+strconv.Itoa(i)); o.code != 410 {
			t.Fatalf("order after the sell-out: %v", o)
		}
	}
	if got := calls() - before; got != 0 {
		t.Errorf("50 sold-out answers cost %d Redis round trips, want 0", got)
	}
}

// TestInFlightAcrossReload: a request still running on a routing table a
// reload replaced counts in edge_requests_in_flight until it is answered,
// past the table's grace period too.
func TestInFlightAcrossReload(t *testing.T) {
	t.Parallel()
	g := startGatedOrigin(t)
	yaml := strings.Replace(saleSetup{Stock: 10}.yaml(), "identity:", "server: {grace_period: 50ms}\nidentity:", 1)
	a, pub, _ := startEdge(t, yaml, g.addr, nil)
	held := make(chan orderResult, 1)
	go func() { held <- postOrder(pub, "42", "holder") }()
	edgetest.WaitFor(t, 5*time.Second, "the order at the shop", func() bool { return g.arrived.Load() == 1 })
	if n := a.Metrics.InFlight(); n != 1 {
		t.Fatalf("in flight %d, want 1", n)
	}
	if err := a.Gateway.Load(a.Gateway.Config()); err != nil {
		t.Fatal(err)
	}
	if n := a.Metrics.InFlight(); n != 1 {
		t.Fatalf("in flight after the reload %d, want 1 (the request on the replaced table)", n)
	}
	time.Sleep(200 * time.Millisecond) // the replaced table's grace period is over
	if n := a.Metrics.InFlight(); n != 1 {
		t.Fatalf("in flight past the grace period %d, want 1", n)
	}
	close(g.open)
	if o := <-held; o.code != 201 {
		t.Fatalf("held order: %v", o)
	}
	edgetest.WaitFor(t, 5*time.Second, "nothing in flight", func() bool { return a.Metrics.InFlight() == 0 })
}
