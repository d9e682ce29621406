package orders_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"edge/examples/shop/shop"
	"edge/examples/shop/shoptest"
	"edge/internal/testredis"

	"edge/internal/testutil"
)

// TestKilledNodeOrdersFinishElsewhere: 500 orders are queued at node A
// while the shop is slow; A is killed with SIGKILL mid-way; node B takes
// A's orders over and finishes them all. Every ticket ends final, and the
// shop's database holds each order exactly once (the Idempotency-Key turns
// the resends of orders A had in flight into replays).
func TestKilledNodeOrdersFinishElsewhere(t *testing.T) {
	if testing.Short() {
		t.Skip("builds edge and runs two processes")
	}
	t.Parallel()
	const n = 500
	dsn := shoptest.PGDSN(t)
	rs := testredis.Start(t)
	bin, err := testutil.BuildEdge(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	shopAddr, shopSrv := shoptest.Start(t, shop.Options{
		DSN: dsn, Reset: true, Stock: map[string]int{"42": 1000}, Latency: 20 * time.Millisecond,
	})

	dir := t.TempDir()
	queue := "mode: async, concurrency: 4, concurrency_per_item: 4, claim_idle: 2s, retries: 5, retry_backoff: 200ms"
	redisLine := fmt.Sprintf("redis: {addrs: [%s], timeout: 1s}", rs.Addr)
	node := func(name string) (pub, adm string, p *proc) {
		pub, adm = testutil.FreeAddr(t), testutil.FreeAddr(t)
		cfg := filepath.Join(dir, name+".yaml")
		writeFile(t, cfg, fmt.Sprintf(nodeConfig, pub, adm, redisLine, shopAddr, queue))
		return pub, adm, startProc(t, bin, cfg, adm)
	}

	pubA, _, a := node("a")
	tickets := placeMany(t, pubA, "u", n)

	// Kill A while it is mid-way through the queue.
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := shopSrv.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Orders.Accepted >= 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shop accepted only %d orders in 20s", st.Orders.Accepted)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
	a.done <- nil
	before, _ := shopSrv.Stats(context.Background())
	if before.Orders.Accepted >= n {
		t.Fatalf("A finished every order before it was killed; the test proves nothing")
	}

	pubB, admB, _ := node("b")
	results := awaitAll(t, pubB, tickets, 45*time.Second)
	accepted := 0
	for tk, r := range results {
		switch {
		case r.Status == "accepted" && r.Code == 201:
			accepted++
		case r.Status == "rejected":
			t.Errorf("ticket %s rejected: %+v", tk, r)
		default:
			t.Errorf("ticket %s: %+v", tk, r)
		}
	}
	if accepted != n {
		t.Fatalf("%d of %d orders accepted", accepted, n)
	}

	// The shop's database: each order once, under its ticket.
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), `SELECT order_key, buyer FROM orders`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for rows.Next() {
		var key, buyer string
		if err := rows.Scan(&key, &buyer); err != nil {
			t.Fatal(err)
		}
		if seen[key] {
			t.Errorf("order %s stored twice", key)
		}
		seen[key] = true
		if tickets[key] != buyer {
			t.Errorf("order %s: buyer %q, want %q", key, buyer, tickets[key])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("the shop stored %d orders, want %d", len(seen), n)
	}
	after, _ := shopSrv.Stats(context.Background())
	claims := metric(t, admB, `edge_async_claims_total{route="order"}`)
	if claims == 0 {
		t.Fatal("B claimed none of A's orders")
	}
	t.Logf("accepted by the shop before the kill: %d; orders B took over from A: %.0f; resends answered as replays: %d; shop stock left: %d",
		before.Orders.Accepted, claims, after.Orders.IdempotentReplays, after.Stock["42"])
	if after.Stock["42"] != 1000-n {
		t.Fatalf("shop stock %d, want %d", after.Stock["42"], 1000-n)
	}
}
