package orders_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/examples/shop/shop"
	"edge/internal/testredis"
)

// countingShop is the example shop (in memory, lots of stock) behind a
// recorder of when each order reached it.
type countingShop struct {
	addr  string
	mu    sync.Mutex
	times []time.Time
}

func startCountingShop(b testing.TB, latency time.Duration) *countingShop {
	b.Helper()
	s, err := shop.New(shop.Options{Stock: map[string]int{"42": 1 << 30}, Latency: latency,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	cs := &countingShop{addr: ln.Addr().String()}
	h := s.Handler()
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/order" {
			cs.mu.Lock()
			cs.times = append(cs.times, time.Now())
			cs.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close(); _ = s.Close() })
	return cs
}

// maxPerSecond returns the most orders the shop received within any one
// second, and the orders received in total.
func (cs *countingShop) maxPerSecond() (int, int) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	best, j := 0, 0
	for i := range cs.times {
		for cs.times[i].Sub(cs.times[j]) >= time.Second {
			j++
		}
		best = max(best, i-j+1)
	}
	return best, len(cs.times)
}

// benchOrders posts b.N orders to pub from parallel clients and reports
// the accepted orders per second.
func benchOrders(b *testing.B, pub string, want int) {
	var seq atomic.Int64
	var bad atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		for pb.Next() {
			req.Reset()
			req.Header.SetMethod("POST")
			req.SetRequestURI("http://" + pub + "/order?item=42")
			req.Header.Set("X-User-Id", fmt.Sprintf("u%d", seq.Add(1)))
			if err := client.DoTimeout(req, resp, 30*time.Second); err != nil || resp.StatusCode() != want {
				bad.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if n := bad.Load(); n > 0 {
		b.Fatalf("%d of %d orders not answered %d", n, b.N, want)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "orders/s")
}

// BenchmarkAcceptOrders compares the orders per second edge takes in: the
// async queue (202 and a ticket) against the sync path (the shopper waits
// for the shop, 5ms per order, 8 in flight per item).
//
//	go test -run '^$' -bench AcceptOrders -benchtime 5000x ./filter/orders
func BenchmarkAcceptOrders(b *testing.B) {
	cs := startCountingShop(b, 5*time.Millisecond)
	rs := testredis.Start(b)
	redisLine := fmt.Sprintf("redis: {addrs: [%s], timeout: 1s}", rs.Addr)
	cases := []struct {
		name, redis, queue string
		status             int
	}{
		{"sync", "", "mode: sync, concurrency_per_item: 8, max_wait: 30s, max_waiting: 100000", 201},
		{"async-memory", "", "mode: async, max_length: 10000000, rate: 200/s", 202},
		{"async-redis", redisLine, "mode: async, max_length: 10000000, rate: 200/s", 202},
		{"sync-redis", redisLine, "mode: sync, concurrency_per_item: 8, max_wait: 30s, max_waiting: 100000", 201},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			pub := startNode(b, c.redis, cs.addr, c.queue)
			b.SetParallelism(16)
			benchOrders(b, pub, c.status)
		})
	}
}

// BenchmarkBurstPacing: a burst 50 times the shop's per-second bound
// (rate: 100/s, 5000 orders) is queued at once; the shop keeps receiving
// at most the bound per second while the queue drains. Reports the burst's
// intake rate, the most orders the shop got in any second over a 5s
// window, and the queue left behind.
//
//	go test -run '^$' -bench BurstPacing -benchtime 1x ./filter/orders
func BenchmarkBurstPacing(b *testing.B) {
	const bound, burst, window = 100, 50 * 100, 5 * time.Second
	for _, backend := range []string{"memory", "redis"} {
		b.Run(backend, func(b *testing.B) {
			for range b.N {
				cs := startCountingShop(b, time.Millisecond)
				redisLine := ""
				if backend == "redis" {
					redisLine = fmt.Sprintf("redis: {addrs: [%s], timeout: 1s}", testredis.Start(b).Addr)
				}
				pub := startNode(b, redisLine, cs.addr, fmt.Sprintf("mode: async, rate: %d/s, concurrency: 64", bound))
				start := time.Now()
				tickets := placeMany(b, pub, "u", burst)
				intake := time.Since(start)
				time.Sleep(window - intake)
				peak, got := cs.maxPerSecond()
				b.ReportMetric(float64(len(tickets))/intake.Seconds(), "queued/s")
				b.ReportMetric(float64(peak), "shop-peak/s")
				b.ReportMetric(float64(bound), "shop-bound/s")
				b.ReportMetric(float64(burst-got), "left-queued")
				if peak > bound+1 {
					b.Errorf("the shop got %d orders within one second; the bound is %d/s", peak, bound)
				}
			}
		})
	}
}
