package orders_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"edge/examples/shop/shop"
	"edge/internal/testredis"
)

// outage is how long the shop is away.
const outage = 10 * time.Second

// switchableShop serves one example shop on a fixed address that can be
// taken down (connections refused) and brought back.
type switchableShop struct {
	addr string
	shop *shop.Server
	srv  *http.Server
	done chan error
}

func startSwitchableShop(t *testing.T, opts shop.Options) *switchableShop {
	t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := shop.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ss := &switchableShop{addr: "127.0.0.1:0", shop: s}
	ss.up(t)
	t.Cleanup(func() { ss.down(t); _ = s.Close() })
	return ss
}

func (ss *switchableShop) up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", ss.addr)
	if err != nil {
		t.Fatalf("shop back on %s: %v", ss.addr, err)
	}
	ss.addr = ln.Addr().String()
	ss.srv = &http.Server{Handler: ss.shop.Handler(), ReadHeaderTimeout: 5 * time.Second}
	ss.done = make(chan error, 1)
	go func() { ss.done <- ss.srv.Serve(ln) }()
}

func (ss *switchableShop) down(t *testing.T) {
	t.Helper()
	if ss.srv == nil {
		return
	}
	_ = ss.srv.Close()
	if err := <-ss.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("shop serve: %v", err)
	}
	ss.srv = nil
}

// TestShopOutage: the shop is away for 10s; orders placed meanwhile are
// queued (202), stay pending, and complete once it is back, with Redis
// and with the in-memory queue.
func TestShopOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a 10s outage")
	}
	t.Parallel()
	for _, name := range []string{"memory", "redis"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			redisLine := ""
			if name == "redis" {
				redisLine = fmt.Sprintf("redis: {addrs: [%s], timeout: 1s}", testredis.Start(t).Addr)
			}
			ss := startSwitchableShop(t, shop.Options{Stock: map[string]int{"42": 100}})
			pub := startNode(t, redisLine, ss.addr,
				"mode: async, concurrency: 8, retries: 10, retry_backoff: 200ms")

			warm := placeMany(t, pub, "warm", 5)
			for tk, r := range awaitAll(t, pub, warm, 10*time.Second) {
				if r.Status != "accepted" {
					t.Fatalf("before the outage %s: %+v", tk, r)
				}
			}

			ss.down(t)
			went := time.Now()
			const n = 50
			tickets := placeMany(t, pub, "u", n)
			time.Sleep(time.Until(went.Add(outage))) // the outage itself
			tried := 0
			for tk, user := range tickets {
				r, err := fetch(pub, tk, user, "0")
				if err != nil || r.Status != "pending" {
					t.Fatalf("during the outage %s: %+v, %v; want pending", tk, r, err)
				}
				if r.Attempts > 0 {
					tried++ // the orders the dispatcher holds; the rest wait unread
				}
			}
			if tried == 0 {
				t.Fatal("no order was tried during the outage")
			}
			ss.up(t)
			back := time.Now()

			for tk, r := range awaitAll(t, pub, tickets, 30*time.Second) {
				if r.Status != "accepted" || r.Code != 201 {
					t.Errorf("after the outage %s: %+v", tk, r)
				}
			}
			t.Logf("%d orders queued during a %s outage completed %s after the shop returned",
				n, outage, time.Since(back).Round(100*time.Millisecond))
			st, err := ss.shop.Stats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if st.Orders.Accepted != n+5 || st.Stock["42"] != 100-n-5 {
				t.Fatalf("shop: %d accepted, stock %d; want %d, %d", st.Orders.Accepted, st.Stock["42"], n+5, 100-n-5)
			}
		})
	}
}
