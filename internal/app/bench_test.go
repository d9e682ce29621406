package app

import (
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/testutil"
)

// The throughput benchmarks run a whole node on loopback and drive it with
// parallel keep-alive clients. Compare their ns/op within one run:
//
//	go test -run '^$' -bench 'Page' -benchtime 2s ./internal/app
//
// BenchmarkPageBare is the ceiling (a bare fasthttp server returning the
// same bytes); BenchmarkPageHit is a cache hit of that page;
// BenchmarkPageESICached assembles it from three cached fragments.

var benchBody = "<html><body>" + strings.Repeat("<p>flash sale item</p>", 180) + "</body></html>"

const benchYAML = `listen: %s
admin: {listen: %s, token: bench}
upstreams:
  shop: {servers: [%s], timeout: 3s, max_conns: 256}
routes:
  - name: uncached
    match: {path: /u/}
    upstream: shop
  - name: fragments
    match: {path: /frag/}
    upstream: shop
    cache: {ttl: 1h, force_ttl: true}
  - name: esi
    match: {path: /esi/}
    upstream: shop
    cache: {ttl: 1h, force_ttl: true}
    esi: {}
  - name: pages
    match: {path: /}
    upstream: shop
    cache: {ttl: 1h, force_ttl: true}
`

func startBenchOrigin(b *testing.B) string {
	b.Helper()
	third := len(benchBody) / 3
	parts := []string{benchBody[:third], benchBody[third : 2*third], benchBody[2*third:]}
	addr := testutil.ServeOrigin(b, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html; charset=utf-8")
		switch p := string(ctx.Path()); {
		case strings.HasPrefix(p, "/esi/cached"):
			ctx.SetBodyString(`<esi:include src="/frag/1"/><esi:include src="/frag/2"/><esi:include src="/frag/3"/>`)
		case strings.HasPrefix(p, "/esi/uncached"):
			ctx.SetBodyString(`<esi:include src="/u/1"/><esi:include src="/u/2"/><esi:include src="/u/3"/>`)
		case strings.HasPrefix(p, "/frag/"):
			ctx.SetBodyString(parts[p[len(p)-1]-'1'])
		case strings.HasPrefix(p, "/u/"):
			time.Sleep(5 * time.Millisecond)
			ctx.SetBodyString(parts[p[len(p)-1]-'1'])
		default:
			ctx.SetBodyString(benchBody)
		}
	})
	return addr
}

func startBenchNode(b *testing.B) string {
	b.Helper()
	origin := startBenchOrigin(b)
	pub, _, _ := startNodeTB(b, benchYAML, origin)
	return pub
}

// load runs parallel GETs of path against addr and checks the body once.
func load(b *testing.B, addr, path string, want string) {
	c := &fasthttp.HostClient{Addr: addr, MaxConns: 512}
	check := fetchBody(b, c, path)
	if check != want {
		b.Fatalf("GET %s: body of %d bytes differs from the expected %d bytes", path, len(check), len(want))
	}
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://" + addr + path)
		for pb.Next() {
			if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 {
				b.Errorf("GET %s: %v %d", path, err, resp.StatusCode())
				return
			}
		}
	})
}

func fetchBody(b *testing.B, c *fasthttp.HostClient, path string) string {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + c.Addr + path)
	if err := c.Do(req, resp); err != nil {
		b.Fatal(err)
	}
	return string(resp.Body())
}

func BenchmarkPageBare(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(benchBody)
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.Response.SetBodyRaw(body)
	}, NoDefaultServerHeader: true}
	go s.Serve(ln)
	defer s.Shutdown()
	load(b, ln.Addr().String(), "/page", benchBody)
}

func BenchmarkPageHit(b *testing.B) {
	load(b, startBenchNode(b), "/page", benchBody)
}

// BenchmarkPageHitNoHotDetection is BenchmarkPageHit with hot-key
// detection off: the two show what detection costs a cache hit.
func BenchmarkPageHitNoHotDetection(b *testing.B) {
	origin := startBenchOrigin(b)
	pub, _, a := startNodeTB(b, benchYAML, origin)
	a.deps.Hot = nil
	load(b, pub, "/page", benchBody)
}

func BenchmarkPageESICached(b *testing.B) {
	load(b, startBenchNode(b), "/esi/cached", benchBody)
}

// BenchmarkPageESIUncached5ms: three uncached fragments of 5ms each; the
// page's median latency shows whether they are fetched in parallel (~5ms)
// or one after another (~15ms).
func BenchmarkPageESIUncached5ms(b *testing.B) {
	addr := startBenchNode(b)
	c := &fasthttp.HostClient{Addr: addr, MaxConns: 64}
	if got := fetchBody(b, c, "/esi/uncached"); got != benchBody {
		b.Fatalf("assembled page differs (%d bytes)", len(got))
	}
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://" + addr + "/esi/uncached")
		var mine []time.Duration
		for pb.Next() {
			start := time.Now()
			if err := c.Do(req, resp); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}
