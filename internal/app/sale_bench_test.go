package app

import (
	"net"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"edge/internal/testredis"
)

// The sold-out benchmarks compare the answer most orders of a flash sale
// get (410 sold_out, from the node's local flag) with a cache hit of a page
// of the same size, through the same node: a fleet node on Redis whose
// item 42 is sold out. Each runs twice: "handler" calls the node's handler
// on a reused request (the node's own cost) and "inmemory" goes through an
// HTTP client and the node's server on an in-memory listener.
//
//	go test -run '^$' -bench 'SoldOutAnswer|CacheHit' -benchtime 2s ./internal/app
//
// BenchmarkSoldOutAnswer also fails when a sold-out answer costs a Redis
// call (reported as redis-calls/op).

// benchPage is the cached page: as long as the sold-out answer's body.
const benchPage = `{"page":"item-42"}`

// saleBench is a node ready for the sold-out and cache-hit benchmarks.
type saleBench struct {
	app    *App
	ln     *fasthttputil.InmemoryListener
	rdb    *redis.Client
	client *fasthttp.Client
}

func startSaleBench(b testing.TB, c saleSetup) *saleBench {
	b.Helper()
	r := testredis.Start(b)
	origin := startBenchShop(b)
	c.Redis, c.Stock = []string{r.Addr}, 1
	c.Routes = `  - name: item-page
    match: {path: /item/}
    upstream: shop
    cache: {ttl: 1h}
`
	ln := fasthttputil.NewInmemoryListener()
	a, _, _ := startEdge(b, c.yaml(), origin, ln)
	s := &saleBench{app: a, ln: ln, rdb: redis.NewClient(&redis.Options{Addr: r.Addr})}
	b.Cleanup(func() { _ = s.rdb.Close() })
	s.client = &fasthttp.Client{
		Dial:            func(string) (net.Conn, error) { return ln.Dial() },
		MaxConnsPerHost: 1024,
		ReadTimeout:     5 * time.Second,
		WriteTimeout:    5 * time.Second,
	}
	// Sell the only unit, and fill the cache.
	if code := s.do(b, "POST", "/order?item=42", "first"); code != 201 {
		b.Fatalf("first order: %d", code)
	}
	if code := s.do(b, "POST", "/order?item=42", "second"); code != 410 {
		b.Fatalf("order after the sell-out: %d", code)
	}
	s.do(b, "GET", "/item/42", "")
	return s
}

// startBenchShop answers orders 201 and pages with benchPage, cacheable.
func startBenchShop(b testing.TB) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if ctx.IsPost() {
			ctx.SetStatusCode(201)
			return
		}
		ctx.SetContentType("application/json")
		ctx.Response.Header.Set("Cache-Control", "public, max-age=3600")
		ctx.SetBodyString(benchPage)
	}}
	go s.Serve(ln)
	b.Cleanup(func() { _ = s.Shutdown() })
	return ln.Addr().String()
}

func (s *saleBench) do(b testing.TB, method, uri, user string) int {
	b.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	s.request(req, method, uri, user)
	if err := s.client.DoTimeout(req, resp, 5*time.Second); err != nil {
		b.Fatal(err)
	}
	return resp.StatusCode()
}

func (s *saleBench) request(req *fasthttp.Request, method, uri, user string) {
	req.Header.SetMethod(method)
	req.SetRequestURI("http://edge" + uri)
	if user != "" {
		req.Header.Set("X-User-Id", user)
	}
}

// handle runs one request through the node's handler on a reused context
// and returns the status.
func (s *saleBench) handle(ctx *fasthttp.RequestCtx) int {
	ctx.Response.Reset()
	s.app.Gateway.Handle(ctx)
	return ctx.Response.StatusCode()
}

// newCtx returns a context holding one request, for handle.
func (s *saleBench) newCtx(method, uri, user string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	s.request(&req, method, uri, user)
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, nil)
	return ctx
}

// TestSoldOutAnswerCost: through a fleet node on Redis, with a per-user
// rate limit on the route, a sold-out order is answered without a Redis
// call and without allocating, like a cache hit.
//
// Not parallel: AllocsPerRun counts the whole process's allocations (the
// node's background work is averaged away over the runs).
func TestSoldOutAnswerCost(t *testing.T) {
	s := startSaleBench(t, saleSetup{})
	soldOut := s.newCtx("POST", "/order?item=42", "shopper-1")
	hit := s.newCtx("GET", "/item/42", "")
	before, err := redisCalls(s.rdb)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if code := s.handle(soldOut); code != 410 {
			t.Fatalf("sold-out order %d: %d %s", i, code, soldOut.Response.Body())
		}
	}
	if after, err := redisCalls(s.rdb); err != nil || after != before {
		t.Errorf("200 sold-out answers cost %d Redis calls (%v), want 0", after-before, err)
	}
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	for _, c := range []struct {
		name string
		ctx  *fasthttp.RequestCtx
		want int
	}{{"sold-out answer", soldOut, 410}, {"cache hit", hit, 200}} {
		if n := testing.AllocsPerRun(1000, func() {
			if code := s.handle(c.ctx); code != c.want {
				t.Fatalf("%s: %d", c.name, code)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per request, want 0", c.name, n)
		}
	}
}

// run benchmarks one request shape both ways, checking every status.
// With countRedis it fails when the requests cost Redis calls.
func (s *saleBench) run(b *testing.B, method, uri string, want int, countRedis bool) {
	users := make([]string, 1024)
	for i := range users {
		users[i] = "shopper-" + strconv.Itoa(i)
	}
	var next atomic.Uint64
	measure := func(b *testing.B, loop func(pb *testing.PB)) {
		before, err := redisCalls(s.rdb)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		cpu := cpuTime()
		b.RunParallel(loop)
		b.StopTimer()
		// CPU time per request (this process: node, and client when there
		// is one) is steadier than ns/op on a shared machine.
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		after, err := redisCalls(s.rdb)
		if err != nil {
			b.Fatal(err)
		}
		if countRedis {
			b.ReportMetric(float64(after-before)/float64(b.N), "redis-calls/op")
			if after != before {
				b.Errorf("%d requests cost %d Redis calls, want 0", b.N, after-before)
			}
		}
	}
	b.Run("handler", func(b *testing.B) {
		measure(b, func(pb *testing.PB) {
			ctx := s.newCtx(method, uri, users[next.Add(1)%uint64(len(users))])
			for pb.Next() {
				if code := s.handle(ctx); code != want {
					b.Fatalf("status %d, want %d: %s", code, want, ctx.Response.Body())
				}
			}
		})
	})
	b.Run("inmemory", func(b *testing.B) {
		b.SetParallelism(8)
		measure(b, func(pb *testing.PB) {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			s.request(req, method, uri, users[next.Add(1)%uint64(len(users))])
			for pb.Next() {
				if err := s.client.Do(req, resp); err != nil {
					b.Fatal(err)
				}
				if resp.StatusCode() != want {
					b.Fatalf("status %d, want %d: %s", resp.StatusCode(), want, resp.Body())
				}
			}
		})
	})
}

// cpuTime returns the process's CPU time (user and system) in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkSoldOutAnswer is a sold-out order: 410 from the local flag,
// after the route's cheaper stages (item, identity, a per-user rate limit,
// sale window). It fails if the answers cost Redis calls.
func BenchmarkSoldOutAnswer(b *testing.B) {
	s := startSaleBench(b, saleSetup{})
	s.run(b, "POST", "/order?item=42", 410, true)
}

// BenchmarkCacheHit is a cache hit of a page as long as the sold-out
// answer, through the same node.
func BenchmarkCacheHit(b *testing.B) {
	s := startSaleBench(b, saleSetup{})
	s.run(b, "GET", "/item/42", 200, false)
}
