package cachehttp

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"edge/internal/config"
)

// fakeClock is an injectable clock for freshness tests.
type fakeClock struct{ ns atomic.Int64 }

func newClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 12, 12, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// testOrigin is a real fasthttp server on an in-memory listener, reached by
// a real HostClient: the Origin the tests give the cache.
type testOrigin struct {
	ln      *fasthttputil.InmemoryListener
	srv     *fasthttp.Server
	hc      *fasthttp.HostClient
	handler atomic.Pointer[fasthttp.RequestHandler]
	hits    atomic.Int64
}

func startOrigin(t testing.TB, h fasthttp.RequestHandler) *testOrigin {
	t.Helper()
	o := &testOrigin{ln: fasthttputil.NewInmemoryListener()}
	o.setHandler(h)
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			o.hits.Add(1)
			(*o.handler.Load())(ctx)
		},
		NoDefaultDate:         true,
		NoDefaultServerHeader: true,
	}
	o.srv = srv
	go func() { _ = srv.Serve(o.ln) }()
	t.Cleanup(o.stop)
	o.hc = &fasthttp.HostClient{
		Addr:                     "origin",
		Dial:                     func(string) (net.Conn, error) { return o.ln.Dial() },
		ReadTimeout:              2 * time.Second,
		WriteTimeout:             2 * time.Second,
		MaxConns:                 1024,
		MaxConnWaitTimeout:       2 * time.Second,
		NoDefaultUserAgentHeader: true,
		DisablePathNormalizing:   true,
	}
	return o
}

// stop takes the origin down: its listener and connections are closed.
func (o *testOrigin) stop() {
	_ = o.srv.Shutdown()
	_ = o.ln.Close()
	o.hc.CloseIdleConnections()
}

func (o *testOrigin) setHandler(h fasthttp.RequestHandler) { o.handler.Store(&h) }

func (o *testOrigin) Prepare(ctx *fasthttp.RequestCtx, out *fasthttp.Request) {
	ctx.Request.CopyTo(out)
	out.Header.Del(fasthttp.HeaderConnection)
}

func (o *testOrigin) Do(req *fasthttp.Request, resp *fasthttp.Response) error {
	return o.hc.DoTimeout(req, resp, 2*time.Second)
}

func (o *testOrigin) WriteError(ctx *fasthttp.RequestCtx, err error) {
	code := fasthttp.StatusBadGateway
	if errors.Is(err, ErrWaitTimeout) || errors.Is(err, fasthttp.ErrTimeout) {
		code = fasthttp.StatusGatewayTimeout
	}
	ctx.Response.Reset()
	ctx.SetStatusCode(code)
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"error":"upstream"}`)
}

func (o *testOrigin) WriteResponse(ctx *fasthttp.RequestCtx, resp *fasthttp.Response) {
	resp.CopyTo(&ctx.Response)
	ctx.Response.Header.Del(fasthttp.HeaderConnection)
	ctx.Response.Header.Set(fasthttp.HeaderVia, "1.1 edge")
}

// env is a cache route served by a real edge server, with its origin.
type env struct {
	clock  *fakeClock
	cache  *Cache
	origin *testOrigin
	route  *Route
	client *fasthttp.HostClient
}

func newEnv(t testing.TB, rc *config.RouteCache, h fasthttp.RequestHandler, opts ...RouteOption) *env {
	t.Helper()
	return newEnvWith(t, config.Cache{Size: 64 << 20, Shards: 8}, rc, h, opts...)
}

func newEnvWith(t testing.TB, cc config.Cache, rc *config.RouteCache, h fasthttp.RequestHandler, opts ...RouteOption) *env {
	t.Helper()
	e := &env{clock: newClock(), origin: startOrigin(t, h)}
	e.cache = New(cc, nil)
	e.cache.clock = e.clock.Now
	e.route = NewRoute(e.cache, "test", rc, e.origin, opts...)
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{
		Handler:                      func(ctx *fasthttp.RequestCtx) { e.route.Serve(ctx, false) },
		NoDefaultServerHeader:        true,
		DisablePreParseMultipartForm: true,
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { e.cache.bg.Wait(); _ = srv.Shutdown(); _ = ln.Close() })
	e.client = &fasthttp.HostClient{
		Addr:                   "shop.example",
		Dial:                   func(string) (net.Conn, error) { return ln.Dial() },
		ReadTimeout:            5 * time.Second,
		WriteTimeout:           5 * time.Second,
		MaxConns:               1024,
		MaxConnWaitTimeout:     5 * time.Second,
		DisablePathNormalizing: true,
	}
	return e
}

// do sends one request to edge; hdrs are name, value pairs.
func (e *env) do(t testing.TB, method, uri string, hdrs ...string) *fasthttp.Response {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.Header.SetHost("shop.example")
	for i := 0; i+1 < len(hdrs); i += 2 {
		req.Header.Add(hdrs[i], hdrs[i+1])
	}
	resp := new(fasthttp.Response)
	if method == fasthttp.MethodHead {
		resp.SkipBody = true
	}
	if err := e.client.Do(req, resp); err != nil {
		t.Fatalf("%s %s: %v", method, uri, err)
	}
	return resp
}

func (e *env) get(t testing.TB, uri string, hdrs ...string) *fasthttp.Response {
	t.Helper()
	return e.do(t, fasthttp.MethodGet, uri, hdrs...)
}

// xcache is the response's X-Cache.
func xcache(r *fasthttp.Response) string { return string(r.Header.Peek("X-Cache")) }

// cacheable is an origin handler answering body with Cache-Control cc.
func cacheable(cc, body string) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if cc != "" {
			ctx.Response.Header.Set(fasthttp.HeaderCacheControl, cc)
		}
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString(body)
	}
}

func ptr[T any](v T) *T { return &v }

func dur(d time.Duration) config.Duration { return config.Duration(d) }
