package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"edge/examples/shop/shop"
	"edge/examples/shop/shoptest"
	"edge/internal/testredis"
)

// TestClusterMasterKilledMidSale: the Redis Cluster master holding a sale's
// keys dies mid-sale. Orders are refused (503, the stock gate fails closed)
// rather than sold from a guess; once the master is back the nodes stay
// closed until the operator sets the remaining stock (the master came back
// empty), and then the sale sells exactly its stock: nothing oversold.
func TestClusterMasterKilledMidSale(t *testing.T) {
	t.Parallel()
	const stock = 30
	cluster := testredis.StartCluster(t, 3)
	shopAddr, sh := shoptest.Start(t, shop.Options{Stock: map[string]int{"42": stock}})
	f := startFleet(t, 2, saleSetup{Redis: cluster.Addrs(), Stock: stock, PerUser: -1, NoRateLimit: true}, shopAddr)

	n := 0
	buy := func() orderResult {
		n++
		return postOrder(f.pubs[n%2], "42", fmt.Sprintf("shopper-%d", n))
	}
	for i := 0; i < 10; i++ {
		if o := buy(); o.code != 201 {
			t.Fatalf("order %d before the failure: %v", i, o)
		}
	}

	victim := masterOf(t, cluster, "{item:42}")
	victim.Stop()
	for i := 0; i < 10; i++ {
		if o := buy(); o.code != 503 {
			t.Fatalf("order while the item's master is down: %v, want 503", o)
		}
	}
	victim.Restart()

	// The master is back but empty: still closed, until the operator says
	// how many units are left (the shop's own count is the truth).
	time.Sleep(500 * time.Millisecond)
	st, err := sh.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	left := stock - int(st.Orders.Accepted)
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := doAs(t, "PUT", "http://"+f.adms[0]+"/stock/42", "", fmt.Sprintf(`{"stock":%d}`, left))
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("operator could not set the stock after the master came back: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	sold := 10
	for i := 0; i < 200 && sold < stock+5; i++ {
		switch o := buy(); o.code {
		case 201:
			sold++
		case 410:
			i = 1000
		}
	}
	st, err = sh.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Orders.Accepted != stock || sold != stock {
		t.Fatalf("shop accepted %d, clients got %d sales; want exactly %d", st.Orders.Accepted, sold, stock)
	}
}

// masterOf returns the cluster node serving key's slot.
func masterOf(t *testing.T, c *testredis.Cluster, key string) *testredis.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	defer rdb.Close()
	slot, err := rdb.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	slots, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		if int64(s.Start) <= slot && slot <= int64(s.End) {
			for _, n := range c.Nodes {
				if n.Addr == s.Nodes[0].Addr {
					return n
				}
			}
		}
	}
	t.Fatalf("no master found for slot %d", slot)
	return nil
}
