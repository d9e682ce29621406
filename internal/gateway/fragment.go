package gateway

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"edge/cachehttp/esi"
	"edge/filter"
)

// Fragment errors (they reach metrics and logs, never clients).
var (
	errNoFragmentRoute = errors.New("gateway: no route for the fragment")
)

// fetcher gets the fragments of one page through the gateway itself: each
// include is matched to its route and served by it (funnel, cache with the
// route's own TTL and coalescing, upstream), or by edge's own /_edge/
// handlers, without a network hop. It holds copies of what fragments need
// from the page request, because fetches run on other goroutines.
type fetcher struct {
	gw       *Gateway
	table    *Table
	esiPage  *esiPage
	https    bool
	clientIP netip.Addr
	host     []byte
	uri      []byte
	cookie   []byte
	headers  []byte // "name\x00value\x00" pairs of the forwarded headers
	private  bool   // a private fragment was included
	mu       sync.Mutex
}

var fetchers = sync.Pool{New: func() any { return new(fetcher) }}

func acquireFetcher(ctx *fasthttp.RequestCtx, p *esiPage) *fetcher {
	f := fetchers.Get().(*fetcher)
	r := p.route
	f.gw, f.table, f.esiPage = r.gw, r.table, p
	f.https = r.proto(ctx) == protoHTTPS
	f.clientIP = r.resolver.Resolve(ctx)
	f.host = append(f.host[:0], ctx.Host()...)
	f.uri = append(f.uri[:0], ctx.Request.Header.RequestURI()...)
	f.cookie = append(f.cookie[:0], ctx.Request.Header.Peek(fasthttp.HeaderCookie)...)
	f.headers = f.headers[:0]
	for _, name := range p.forward {
		if v := ctx.Request.Header.PeekBytes(name); len(v) > 0 {
			f.headers = append(append(append(append(f.headers, name...), 0), v...), 0)
		}
	}
	f.private = false
	return f
}

func releaseFetcher(f *fetcher) {
	f.gw, f.table, f.esiPage = nil, nil, nil
	fetchers.Put(f)
}

// page is the URL fragments are resolved against.
func (f *fetcher) pageURL() esi.URLInfo {
	scheme := []byte(protoHTTP)
	if f.https {
		scheme = []byte(protoHTTPS)
	}
	return esi.URLInfo{Scheme: scheme, Host: f.host, RequestURI: f.uri}
}

// Fetch serves one include. Fresh cache hits and edge-answered fragments
// are served on the calling goroutine; anything that may wait on an origin
// runs on its own goroutine so that the page deadline (ctx) is honoured.
func (f *fetcher) Fetch(c context.Context, url []byte, depth int) (esi.Fragment, error) {
	start := time.Now()
	fc, r, err := f.prepare(url)
	if err != nil {
		return esi.Fragment{}, err
	}
	if fr, ok := f.now(fc, r, start); ok {
		return fr, nil
	}
	fc.run(r, f.clientIP)
	select {
	case <-fc.done:
		return fc.fragment(r, start), nil
	case <-c.Done():
		if fc.abandon() {
			return esi.Fragment{}, c.Err()
		}
		<-fc.done
		return fc.fragment(r, start), nil
	}
}

// FetchNow answers an include on the page's goroutine when that cannot
// block (see now); otherwise it reports false and Fetch is used.
func (f *fetcher) FetchNow(url []byte, depth int) (esi.Fragment, bool) {
	start := time.Now()
	fc, r, err := f.prepare(url)
	if err != nil {
		return esi.Fragment{}, false
	}
	if fr, ok := f.now(fc, r, start); ok {
		return fr, true
	}
	fc.release()
	return esi.Fragment{}, false
}

// now serves fc when that cannot block: an edge-answered fragment (r nil)
// or a fresh cache entry of a route without funnel stages.
func (f *fetcher) now(fc *fragCtx, r *Route, start time.Time) (esi.Fragment, bool) {
	if r == nil {
		f.gw.edge.serve(&fc.ctx)
		return fc.fragment(nil, start), true
	}
	if len(r.stages) == 0 && r.cache != nil && r.cache.ServeFresh(&fc.ctx, f.https) {
		return fc.fragment(r, start), true
	}
	return esi.Fragment{}, false
}

var _ esi.ImmediateFetcher = (*fetcher)(nil)

// prepare builds the fragment request for url and finds who answers it: a
// route, or nil for edge's own /_edge/ handlers.
func (f *fetcher) prepare(url []byte) (*fragCtx, *Route, error) {
	fc := acquireFragCtx()
	host, uri := f.host, url
	if i := bytes.Index(url, []byte("://")); i >= 0 {
		rest := url[i+3:]
		j := bytes.IndexByte(rest, '/')
		if j < 0 {
			host, uri = rest, []byte("/")
		} else {
			host, uri = rest[:j], rest[j:]
		}
	}
	req := &fc.ctx.Request
	req.Header.SetMethod(fasthttp.MethodGet)
	req.SetRequestURIBytes(uri)
	req.Header.SetHostBytes(host)
	if f.https {
		req.Header.Set("X-Forwarded-Proto", protoHTTPS)
	}
	for h := f.headers; len(h) > 0; {
		i := bytes.IndexByte(h, 0)
		j := i + 1 + bytes.IndexByte(h[i+1:], 0)
		req.Header.SetBytesKV(h[:i], h[i+1:j])
		h = h[j+1:]
	}
	fc.setPeer(f.clientIP)
	if bytes.HasPrefix(fc.ctx.Path(), []byte(edgePrefix)) {
		return fc, nil, nil
	}
	r := f.table.match(&fc.ctx)
	if r == nil {
		fc.release()
		return nil, nil, errNoFragmentRoute
	}
	if r.private {
		// Only routes marked private see the shopper's cookies, and their
		// answers are never stored (validation forbids cache there).
		req.Header.SetBytesV(fasthttp.HeaderCookie, f.cookie)
		f.mu.Lock()
		f.private = true
		f.mu.Unlock()
	}
	return fc, r, nil
}

// fragCtx is a request context made by edge for one fragment.
type fragCtx struct {
	ctx   fasthttp.RequestCtx
	conn  fragConn
	tmpl  *esi.Template
	done  chan struct{}
	state atomic.Int32 // fragRunning, fragDone, fragAbandoned
	page  *fetcher
}

const (
	fragRunning int32 = iota
	fragDone
	fragAbandoned
)

// fragKey marks a fragment's RequestCtx so that an ESI route serving it
// hands its template back instead of assembling it.
type fragKeyType struct{}

var fragKey fragKeyType

// fragLogger receives what fasthttp would log about a fragment ctx.
var fragLogger = slogPrinter{slog.Default()}

var fragCtxs = sync.Pool{New: func() any {
	fc := &fragCtx{done: make(chan struct{}, 1)}
	return fc
}}

func acquireFragCtx() *fragCtx {
	fc := fragCtxs.Get().(*fragCtx)
	fc.ctx.Init2(&fc.conn, fragLogger, false)
	fc.ctx.SetUserValue(fragKey, fc)
	fc.state.Store(fragRunning)
	return fc
}

// fragmentOf returns the fragment ctx wraps, or nil for a shopper's request.
func fragmentOf(ctx *fasthttp.RequestCtx) *fragCtx {
	fc, _ := ctx.UserValue(fragKey).(*fragCtx)
	return fc
}

func (fc *fragCtx) setPeer(ip netip.Addr) {
	fc.conn.remote = net.TCPAddr{IP: ip.AsSlice()}
}

// run serves the fragment on its own goroutine.
func (fc *fragCtx) run(r *Route, clientIP netip.Addr) {
	go func() {
		st := filter.AcquireState()
		st.Route = r.name
		st.ClientIP = clientIP
		r.serve(&fc.ctx, st)
		filter.ReleaseState(st)
		if fc.state.CompareAndSwap(fragRunning, fragDone) {
			fc.done <- struct{}{}
			return
		}
		fc.release() // the page stopped waiting: nobody else will
	}()
}

// abandon tells a running fragment that the page no longer waits for it; it
// reports false when the fragment finished first.
func (fc *fragCtx) abandon() bool {
	return fc.state.CompareAndSwap(fragRunning, fragAbandoned)
}

// fragment hands the served response to the assembler.
func (fc *fragCtx) fragment(r *Route, start time.Time) esi.Fragment {
	if r != nil {
		r.fragLat.Observe(time.Since(start).Seconds())
	}
	resp := &fc.ctx.Response
	fr := esi.Fragment{Status: resp.StatusCode(), Template: fc.tmpl, Release: fc.release}
	if fc.tmpl == nil {
		fr.Body = resp.Body()
	}
	return fr
}

func (fc *fragCtx) release() {
	fc.tmpl = nil
	fc.ctx.ResetUserValues()
	fc.ctx.Request.Reset()
	fc.ctx.Response.Reset()
	select {
	case <-fc.done:
	default:
	}
	fragCtxs.Put(fc)
}

// fragConn is the stand-in connection of a fragment ctx: only its remote
// address (the shopper's) is ever read.
type fragConn struct {
	net.Conn
	remote net.TCPAddr
}

func (c *fragConn) RemoteAddr() net.Addr { return &c.remote }
func (c *fragConn) LocalAddr() net.Addr  { return &net.TCPAddr{} }
