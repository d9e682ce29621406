package cachehttp

import (
	"bytes"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"

	"edge/internal/testutil"
)

// gate blocks origin handlers until opened.
type gate struct {
	ch   chan struct{}
	once sync.Once
}

func newGate() *gate  { return &gate{ch: make(chan struct{})} }
func (g *gate) wait() { <-g.ch }
func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }
func (g *gate) isOpen() bool {
	select {
	case <-g.ch:
		return true
	default:
		return false
	}
}

// concurrently runs n GETs of uri and returns the responses.
func (e *env) concurrently(t *testing.T, n int, uri string) []*fasthttp.Response {
	t.Helper()
	out := make([]*fasthttp.Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i] = e.get(t, uri) })
	}
	wg.Wait()
	return out
}

func TestCoalescing(t *testing.T) {
	t.Parallel()
	g := newGate()
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute)}, func(ctx *fasthttp.RequestCtx) {
		g.wait()
		ctx.SetBodyString("sale page")
	})
	const n = 200
	var resps []*fasthttp.Response
	done := make(chan struct{})
	go func() { resps = e.concurrently(t, n, "/item/42"); close(done) }()
	testutil.WaitFor(t, 5*time.Second, "199 coalesced waiters", func() bool { return e.cache.Stats().Waiting == n-1 })
	g.open()
	<-done
	if got := e.origin.hits.Load(); got != 1 {
		t.Fatalf("%d concurrent misses made %d origin requests, want 1", n, got)
	}
	collapsed := 0
	for _, r := range resps {
		if string(r.Body()) != "sale page" || xcache(r) != "MISS" {
			t.Fatalf("response %d %q %q", r.StatusCode(), xcache(r), r.Body())
		}
		if bytes.Contains(r.Header.Peek("Cache-Status"), []byte("collapsed")) {
			collapsed++
		}
	}
	if collapsed != n-1 {
		t.Fatalf("%d collapsed, want %d", collapsed, n-1)
	}
}

func TestCoalescedServerErrorShared(t *testing.T) {
	t.Parallel()
	g := newGate()
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute)}, func(ctx *fasthttp.RequestCtx) {
		g.wait()
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		ctx.SetBodyString("busy")
	})
	const n = 50
	var resps []*fasthttp.Response
	done := make(chan struct{})
	go func() { resps = e.concurrently(t, n, "/busy"); close(done) }()
	testutil.WaitFor(t, 5*time.Second, "waiters", func() bool { return e.cache.Stats().Waiting == n-1 })
	g.open()
	<-done
	for _, r := range resps {
		if r.StatusCode() != 503 || string(r.Body()) != "busy" {
			t.Fatalf("got %d %q", r.StatusCode(), r.Body())
		}
	}
	if got := e.origin.hits.Load(); got != 1 {
		t.Fatalf("failing origin asked %d times, want 1", got)
	}
	// Not remembered as uncacheable: the next miss coalesces again.
	if r := e.get(t, "/busy"); xcache(r) != "MISS" {
		t.Fatalf("after a 503: %q", xcache(r))
	}
}

func TestWaitTimeout(t *testing.T) {
	t.Parallel()
	g := newGate()
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute)}, func(ctx *fasthttp.RequestCtx) {
		g.wait()
		ctx.SetBodyString("slow")
	}, WithWaitTimeout(20*time.Millisecond))
	done := make(chan *fasthttp.Response)
	go func() { done <- e.get(t, "/slow") }()
	testutil.WaitFor(t, 5*time.Second, "the leader's fetch", func() bool { return e.cache.Stats().InFlight == 1 })
	if r := e.get(t, "/slow"); r.StatusCode() != fasthttp.StatusGatewayTimeout {
		t.Fatalf("waiter: %d", r.StatusCode())
	}
	g.open()
	if r := <-done; string(r.Body()) != "slow" {
		t.Fatalf("leader: %q", r.Body())
	}
}

func TestHitForPass(t *testing.T) {
	t.Parallel()
	var private atomic.Bool
	private.Store(true)
	var inflight, peak atomic.Int64
	barrier := newGate()
	const n = 20
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute), HitForPass: dur(5 * time.Second)}, func(ctx *fasthttp.RequestCtx) {
		cur := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		if string(ctx.Request.Header.Peek("X-Barrier")) == "1" {
			if cur == n {
				barrier.open()
			}
			barrier.wait()
		}
		if private.Load() {
			ctx.Response.Header.Set("Cache-Control", "private")
		}
		ctx.SetBodyString("for you")
	})
	if r := e.get(t, "/cart"); xcache(r) != "MISS" {
		t.Fatalf("first: %q", xcache(r))
	}
	if r := e.get(t, "/cart"); xcache(r) != "PASS" || string(r.Body()) != "for you" {
		t.Fatalf("second: %q %q", xcache(r), r.Body())
	}
	// Uncacheable key: n requests reach the origin together instead of
	// queueing one behind the other.
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { _ = e.get(t, "/cart", "X-Barrier", "1") })
	}
	wg.Wait()
	if !barrier.isOpen() || peak.Load() < n {
		t.Fatalf("peak concurrency at the origin %d, want %d", peak.Load(), n)
	}
	// After hit_for_pass, a now cacheable answer is stored again.
	private.Store(false)
	e.clock.Advance(6 * time.Second)
	if r := e.get(t, "/cart"); xcache(r) != "MISS" {
		t.Fatalf("after hit_for_pass: %q", xcache(r))
	}
	if r := e.get(t, "/cart"); xcache(r) != "HIT" {
		t.Fatalf("stored again: %q", xcache(r))
	}
}

func TestStaleWhileRevalidate(t *testing.T) {
	t.Parallel()
	var version atomic.Int64
	version.Store(1)
	var g atomic.Pointer[gate]
	g.Store(newGate())
	g.Load().open()
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Second), StaleWhileRevalidate: dur(10 * time.Second)}, func(ctx *fasthttp.RequestCtx) {
		g.Load().wait()
		ctx.SetBodyString("v" + strconv.FormatInt(version.Load(), 10))
	})
	_ = e.get(t, "/p")
	e.clock.Advance(3 * time.Second)
	version.Store(2)
	g.Store(newGate()) // the refresh blocks until every stale answer is in
	resps := e.concurrently(t, 50, "/p")
	for _, r := range resps {
		if xcache(r) != "STALE" || string(r.Body()) != "v1" {
			t.Fatalf("%q %q, want STALE v1", xcache(r), r.Body())
		}
		if got := string(r.Header.Peek("Cache-Status")); got != "edge; hit; detail=stale-while-revalidate; ttl=-2" {
			t.Fatalf("Cache-Status %q", got)
		}
	}
	testutil.WaitFor(t, 5*time.Second, "the refresh to reach the origin", func() bool { return e.origin.hits.Load() == 2 })
	g.Load().open()
	e.cache.bg.Wait()
	if got := e.origin.hits.Load(); got != 2 {
		t.Fatalf("origin asked %d times, want 2 (one background refresh)", got)
	}
	if r := e.get(t, "/p"); xcache(r) != "HIT" || string(r.Body()) != "v2" {
		t.Fatalf("after refresh: %q %q", xcache(r), r.Body())
	}
	// Past the window the request waits for the origin.
	e.clock.Advance(20 * time.Second)
	version.Store(3)
	if r := e.get(t, "/p"); xcache(r) != "MISS" || string(r.Body()) != "v3" {
		t.Fatalf("past the window: %q %q", xcache(r), r.Body())
	}
}

func TestStaleIfError(t *testing.T) {
	t.Parallel()
	t.Run("origin down", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, &config.RouteCache{TTL: dur(time.Second), StaleIfError: dur(time.Hour)}, cacheable("", "good"))
		_ = e.get(t, "/p")
		e.origin.stop()
		e.clock.Advance(time.Minute)
		r := e.get(t, "/p")
		if xcache(r) != "STALE" || string(r.Body()) != "good" {
			t.Fatalf("origin down: %d %q %q", r.StatusCode(), xcache(r), r.Body())
		}
		if got := string(r.Header.Peek("Cache-Status")); got != "edge; hit; detail=stale-if-error; ttl=-59" {
			t.Fatalf("Cache-Status %q", got)
		}
		e.clock.Advance(2 * time.Hour)
		if r := e.get(t, "/p"); r.StatusCode() != fasthttp.StatusBadGateway {
			t.Fatalf("past stale-if-error: %d %q", r.StatusCode(), xcache(r))
		}
	})
	t.Run("server error", func(t *testing.T) {
		t.Parallel()
		var fail atomic.Bool
		e := newEnv(t, &config.RouteCache{TTL: dur(time.Second)}, func(ctx *fasthttp.RequestCtx) {
			if fail.Load() {
				ctx.SetStatusCode(fasthttp.StatusInternalServerError)
				return
			}
			ctx.Response.Header.Set("Cache-Control", "max-age=1, stale-if-error=60")
			ctx.SetBodyString("good")
		})
		_ = e.get(t, "/p")
		fail.Store(true)
		e.clock.Advance(30 * time.Second)
		if r := e.get(t, "/p"); xcache(r) != "STALE" || string(r.Body()) != "good" {
			t.Fatalf("500: %d %q", r.StatusCode(), xcache(r))
		}
		e.clock.Advance(time.Minute)
		if r := e.get(t, "/p"); r.StatusCode() != 500 {
			t.Fatalf("past the window: %d", r.StatusCode())
		}
	})
	t.Run("must-revalidate", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, &config.RouteCache{StaleIfError: dur(time.Hour)}, cacheable("max-age=1, must-revalidate", "good"))
		_ = e.get(t, "/p")
		e.origin.stop()
		e.clock.Advance(time.Minute)
		if r := e.get(t, "/p"); r.StatusCode() != fasthttp.StatusBadGateway {
			t.Fatalf("must-revalidate served %d %q", r.StatusCode(), xcache(r))
		}
	})
}

func TestRevalidation(t *testing.T) {
	t.Parallel()
	var conditional atomic.Value
	conditional.Store("")
	e := newEnv(t, &config.RouteCache{}, func(ctx *fasthttp.RequestCtx) {
		inm := string(ctx.Request.Header.Peek("If-None-Match"))
		conditional.Store(inm + "|" + string(ctx.Request.Header.Peek("If-Modified-Since")))
		if inm == `"v1"` {
			ctx.Response.Header.Set("Cache-Control", "max-age=60")
			ctx.Response.Header.Set("X-Checked", "yes")
			ctx.SetStatusCode(fasthttp.StatusNotModified)
			return
		}
		ctx.Response.Header.Set("Cache-Control", "max-age=1")
		ctx.Response.Header.Set("ETag", `"v1"`)
		ctx.Response.Header.Set("Last-Modified", "Fri, 11 Dec 2026 10:00:00 GMT")
		ctx.Response.Header.Set("X-Checked", "no")
		ctx.SetContentType("text/plain")
		ctx.SetBodyString("body v1")
	})
	_ = e.get(t, "/r")
	e.clock.Advance(5 * time.Second)
	r := e.get(t, "/r")
	if got := conditional.Load(); got != `"v1"|Fri, 11 Dec 2026 10:00:00 GMT` {
		t.Fatalf("origin got conditionals %q", got)
	}
	if r.StatusCode() != 200 || string(r.Body()) != "body v1" || string(r.Header.Peek("X-Checked")) != "yes" {
		t.Fatalf("revalidated: %d %q X-Checked %q", r.StatusCode(), r.Body(), r.Header.Peek("X-Checked"))
	}
	if got := string(r.Header.Peek("Cache-Status")); got != "edge; fwd=stale; fwd-status=304; ttl=60" {
		t.Fatalf("Cache-Status %q", got)
	}
	e.clock.Advance(30 * time.Second)
	if r := e.get(t, "/r"); xcache(r) != "HIT" || string(r.Body()) != "body v1" || string(r.Header.Peek("ETag")) != `"v1"` {
		t.Fatalf("after 304: %q %q", xcache(r), r.Body())
	}
	if got := e.origin.hits.Load(); got != 2 {
		t.Fatalf("origin asked %d times, want 2", got)
	}
}

func TestNoCacheRevalidatesEveryTime(t *testing.T) {
	t.Parallel()
	var full atomic.Int64
	e := newEnv(t, &config.RouteCache{}, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "no-cache")
		ctx.Response.Header.Set("ETag", `"n"`)
		if string(ctx.Request.Header.Peek("If-None-Match")) == `"n"` {
			ctx.SetStatusCode(fasthttp.StatusNotModified)
			return
		}
		full.Add(1)
		ctx.SetBodyString("checked")
	})
	for i := range 3 {
		r := e.get(t, "/n")
		if string(r.Body()) != "checked" {
			t.Fatalf("request %d: %q", i, r.Body())
		}
	}
	if e.origin.hits.Load() != 3 || full.Load() != 1 {
		t.Fatalf("origin asked %d times, %d full bodies; want 3 and 1", e.origin.hits.Load(), full.Load())
	}
}

func TestRequestDirectivesIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute)}, cacheable("", "x"))
	_ = e.get(t, "/p")
	for _, h := range [][]string{{"Cache-Control", "no-cache"}, {"Cache-Control", "max-age=0"}, {"Pragma", "no-cache"}, {"Cache-Control", "no-store"}} {
		if r := e.get(t, "/p", h...); xcache(r) != "HIT" {
			t.Fatalf("%s: %s let a client bypass the cache: %q", h[0], h[1], xcache(r))
		}
	}
}

func TestFreshUncacheableAnswerBeatsStale(t *testing.T) {
	t.Parallel()
	var private atomic.Bool
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Second), StaleIfError: dur(time.Hour)}, func(ctx *fasthttp.RequestCtx) {
		if private.Load() {
			ctx.Response.Header.Set("Cache-Control", "private")
			ctx.SetBodyString("new")
			return
		}
		ctx.SetBodyString("old")
	})
	_ = e.get(t, "/p")
	private.Store(true)
	e.clock.Advance(time.Minute)
	if r := e.get(t, "/p"); string(r.Body()) != "new" || xcache(r) != "MISS" {
		t.Fatalf("got %q %q, want the origin's new answer", r.Body(), xcache(r))
	}
}
