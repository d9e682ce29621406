package app

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"edge/internal/testredis"

	"edge/internal/testutil"
)

// Full size of the end-to-end sale: 200 units, 20 000 presses of "buy" by
// 2 000 shoppers (ten each) over 64 connections.
const (
	saleUnits    = 200
	saleShoppers = 2000
	saleAttempts = 20000
	saleWorkers  = 64
)

// saleSize returns the shoppers and presses of one run: the full size,
// except under the race detector (which slows every request about tenfold)
// or -short, where a tenth of the crowd keeps the package within its time
// budget; the sale is still sold out several times over.
func saleSize() (shoppers, attempts int, deadline time.Duration) {
	if raceEnabled || testing.Short() {
		return saleShoppers / 4, saleAttempts / 10, 60 * time.Second
	}
	return saleShoppers, saleAttempts, 20 * time.Second
}

// TestSaleEndToEnd sells 200 units of item 42 through edge to the example
// shop on PostgreSQL, in every deployment the stock gate supports, and
// checks the shop's books: exactly 200 order rows, one per buyer, stock 0
// and never below, every 2xx a row, and no more order requests at the shop
// than units sold plus orders the shop failed.
//
// Full size: go test ./internal/app -run 'TestSaleEndToEnd' -v
func TestSaleEndToEnd(t *testing.T) {
	t.Parallel()
	single := func(t *testing.T) ([]string, *testredis.Server) {
		s := testredis.Start(t)
		return []string{s.Addr}, s
	}
	cluster := func(t *testing.T) ([]string, *testredis.Server) {
		return testredis.StartCluster(t, 3).Addrs(), nil
	}
	cases := []struct {
		name     string
		nodes    int
		redis    func(*testing.T) ([]string, *testredis.Server)
		failRate float64
		restart  bool
	}{
		{name: "one node, memory store", nodes: 1},
		{name: "three nodes, one Redis", nodes: 3, redis: single},
		{name: "three nodes, Redis Cluster of three masters", nodes: 3, redis: cluster},
		{name: "three nodes, Redis restarted empty mid-sale", nodes: 3, redis: single, restart: true},
		{name: "three nodes, one Redis, shop fails 5%", nodes: 3, redis: single, failRate: 0.05},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			shoppers, attempts, deadline := saleSize()
			p := startPGShop(t, saleUnits, c.failRate)
			var (
				addrs []string
				srv   *testredis.Server
			)
			if c.redis != nil {
				addrs, srv = c.redis(t)
			}
			f := startFleet(t, c.nodes, saleSetup{Redis: addrs}, p.addr)

			load := shopperLoad{
				Item: "42", Nodes: f.pubs, Shoppers: shoppers, Attempts: attempts,
				Workers: saleWorkers, Deadline: deadline,
				Done: func() bool {
					n, err := p.tryStock("42")
					return err == nil && n == 0
				},
			}
			trigger := make(chan struct{})
			if c.restart {
				load.OnBought = func(n int64) {
					if n == saleUnits*2/5 {
						close(trigger)
					}
				}
			}
			watch := watchStock(t, p, f.adms[0])
			done := make(chan *loadReport, 1)
			stop, finished := make(chan struct{}), make(chan struct{})
			load.Stop = stop
			go func() { defer close(finished); done <- load.run(t) }()
			t.Cleanup(func() { close(stop); <-finished })
			reseeded := int64(-1)
			if c.restart {
				reseeded = restartMidSale(t, srv, f, p, trigger, done)
			}
			rep := <-done
			minShop, minEdge := watch()
			t.Logf("%s: %d shoppers: %v", c.name, shoppers, rep)

			checkBooks(t, p, f, rep, booksWant{
				perUserIntact: !c.restart, minShop: minShop, minEdge: minEdge, reseeded: reseeded,
			})
		})
	}
}

// restartMidSale plays the Redis crash and the operator's documented
// recovery: once the sale is under way Redis restarts empty; every node
// must notice and refuse orders (503) with no unit left in flight; the
// operator then reads the shop's true remaining stock from its database and
// sets it with PUT /stock/42. It returns the units set.
func restartMidSale(t *testing.T, srv *testredis.Server, f *fleet, p *pgShop, trigger <-chan struct{}, done chan *loadReport) int64 {
	t.Helper()
	select {
	case <-trigger:
	case rep := <-done:
		done <- rep
		t.Fatalf("the sale ended before the restart: %v", rep)
	}
	srv.Restart()
	testutil.WaitFor(t, 15*time.Second, "every node noticing the loss with no order in flight", func() bool {
		for _, a := range f.nodes {
			if unsettled(a) != 0 {
				return false
			}
		}
		return stockOf(t, f.adms[0], "42").Error == "no_state"
	})
	// While the state is lost, no order gets through, on any node.
	for i, pub := range f.pubs {
		if code, body := doAs(t, "POST", "http://"+pub+"/order?item=42", "late-shopper", ""); code != 503 || reasonOf([]byte(body)) != "unavailable" {
			t.Errorf("node %d with the state lost: %d %s, want 503 unavailable", i, code, body)
		}
	}
	left := p.stock(t, "42")
	code, body := doAs(t, "PUT", "http://"+f.adms[0]+"/stock/42", "", fmt.Sprintf(`{"stock":%d}`, left))
	if code != 200 {
		t.Fatalf("PUT /stock/42: %d %s", code, body)
	}
	t.Logf("Redis restarted empty; the operator set the remaining stock to %d from the shop's database", left)
	return int64(left)
}

// booksWant is what checkBooks expects beyond the common rules.
type booksWant struct {
	perUserIntact    bool  // the per-user counts survived (one row per buyer)
	minShop, minEdge int64 // the lowest stock seen while selling
	reseeded         int64 // units the operator set after a loss (-1: none)
}

// checkBooks compares the shoppers' answers, the shop's database and
// counters, and every node's stock.
func checkBooks(t *testing.T, p *pgShop, f *fleet, rep *loadReport, w booksWant) {
	t.Helper()
	rows, perBuyer := p.buyers(t, "42")
	if rows != saleUnits {
		t.Errorf("order rows for item 42: %d, want %d", rows, saleUnits)
	}
	if left := p.stock(t, "42"); left != 0 {
		t.Errorf("shop stock left: %d, want 0", left)
	}
	if w.minShop < 0 || w.minEdge < 0 {
		t.Errorf("stock went negative while selling: shop %d, edge %d", w.minShop, w.minEdge)
	}
	if ok := rep.OK(); ok != rows {
		t.Errorf("2xx answers %d, order rows %d", ok, rows)
	}
	for buyer, n := range rep.Buyers {
		if perBuyer[buyer] != n {
			t.Errorf("%s got %d 2xx answers but has %d order rows", buyer, n, perBuyer[buyer])
		}
	}
	if w.perUserIntact && len(perBuyer) != rows {
		t.Errorf("%d rows for %d distinct buyers: the per-user cap of 1 was broken", rows, len(perBuyer))
	}
	if len(rep.Unexpected) > 0 {
		t.Errorf("answers outside the documented set: %q", rep.Unexpected)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := p.srv.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o := st.Orders
	failed := int64(rep.ShopFailed())
	if o.Received > saleUnits+failed {
		t.Errorf("the shop received %d orders for %d units and %d failed orders", o.Received, saleUnits, failed)
	}
	if o.SoldOut != 0 || o.Errors != 0 {
		t.Errorf("the shop refused %d orders as sold out and failed %d: edge sent orders it had no unit for", o.SoldOut, o.Errors)
	}
	if o.FailedInjected != failed {
		t.Errorf("the shop failed %d orders on purpose, shoppers saw %d 503 retry", o.FailedInjected, failed)
	}
	t.Logf("%s: shop received %d, accepted %d, failed %d; order requests per unit sold %.3f (units sold %d); distinct buyers %d",
		t.Name(), o.Received, o.Accepted, o.FailedInjected, float64(o.Received)/float64(rows), rows, len(perBuyer))

	for i, a := range f.nodes {
		if n := unsettled(a); n != 0 {
			t.Errorf("node %d: %v units still reserved by its orders", i, n)
		}
	}
	info := stockOf(t, f.adms[0], "42")
	wantSold := int64(saleUnits)
	if w.reseeded >= 0 {
		wantSold = w.reseeded
	}
	if val(info.Remaining) != 0 || val(info.Reserved) != 0 || val(info.Sold) != wantSold || !info.SoldOut {
		t.Errorf("edge stock after the sale: %v, want remaining 0, reserved 0, sold %d, sold out", info, wantSold)
	}
}

// watchStock samples the shop's stock and edge's remaining units (from the
// admin API of one node) until the returned function is called (or the test
// ends), which returns the lowest values seen.
func watchStock(t *testing.T, p *pgShop, adm string) func() (minShop, minEdge int64) {
	minShop, minEdge := atomic.Int64{}, atomic.Int64{}
	minShop.Store(math.MaxInt64)
	minEdge.Store(math.MaxInt64)
	lower := func(a *atomic.Int64, v int64) {
		for cur := a.Load(); v < cur && !a.CompareAndSwap(cur, v); cur = a.Load() {
		}
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if n, err := p.tryStock("42"); err == nil {
				lower(&minShop, int64(n))
			}
			if info, ok := tryStockOf(adm, "42"); ok && info.Remaining != nil {
				lower(&minEdge, val(info.Remaining))
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	end := func() { once.Do(func() { close(stop); <-stopped }) }
	t.Cleanup(end)
	return func() (int64, int64) {
		end()
		return minShop.Load(), minEdge.Load()
	}
}
