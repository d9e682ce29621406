package upstream

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"edge/internal/clientip"
	"edge/internal/config"
)

// network maps fake addresses to in-memory listeners; an address without a
// listener refuses connections like a closed port.
type network struct {
	mu  sync.Mutex
	lns map[string]*fasthttputil.InmemoryListener
}

func newNetwork() *network {
	return &network{lns: make(map[string]*fasthttputil.InmemoryListener)}
}

func (n *network) dial(addr string, _ time.Duration) (net.Conn, error) {
	n.mu.Lock()
	ln := n.lns[addr]
	n.mu.Unlock()
	if ln == nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	c, err := ln.Dial()
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return c, nil
}

// origin is a test origin server.
type origin struct {
	addr   string
	ln     *fasthttputil.InmemoryListener
	srv    *fasthttp.Server
	hits   atomic.Int64 // every request, probes included
	probes atomic.Int64 // health-check requests
	conns  atomic.Int64 // accepted connections
}

// traffic counts requests that were not health probes.
func (o *origin) traffic() int64 { return o.hits.Load() - o.probes.Load() }

// serve starts handler at addr on n. The origin stops at test end.
func (n *network) serve(t testing.TB, addr string, handler fasthttp.RequestHandler) *origin {
	t.Helper()
	o := &origin{addr: addr, ln: fasthttputil.NewInmemoryListener()}
	o.srv = &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if string(ctx.UserAgent()) == "edge-health-check" {
				o.probes.Add(1)
			}
			o.hits.Add(1)
			handler(ctx)
		},
		ConnState: func(_ net.Conn, st fasthttp.ConnState) {
			if st == fasthttp.StateNew {
				o.conns.Add(1)
			}
		},
		NoDefaultDate: true,
		Logger:        quiet{},
	}
	go o.srv.Serve(o.ln) //nolint:errcheck
	n.mu.Lock()
	n.lns[addr] = o.ln
	n.mu.Unlock()
	t.Cleanup(func() { n.stop(addr) })
	return o
}

// stop closes the listener at addr: further dials are refused.
func (n *network) stop(addr string) {
	n.mu.Lock()
	ln := n.lns[addr]
	delete(n.lns, addr)
	n.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
}

// rawOrigin answers each connection with fn (raw bytes on the wire).
func (n *network) rawOrigin(t testing.TB, addr string, fn func(c net.Conn)) {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go fn(c)
		}
	}()
	n.mu.Lock()
	n.lns[addr] = ln
	n.mu.Unlock()
	t.Cleanup(func() { n.stop(addr) })
}

// poolConfig returns a config with short timeouts for tests.
func poolConfig(servers ...string) *config.Upstream {
	zero := 0
	return &config.Upstream{
		Servers:     servers,
		Timeout:     config.Duration(2 * time.Second),
		MaxConnWait: config.Duration(50 * time.Millisecond),
		Retries:     &zero,
	}
}

func intp(n int) *int { return &n }

func newPool(t testing.TB, n *network, cfg *config.Upstream, opts ...Option) *Pool {
	t.Helper()
	opts = append([]Option{WithDialer(n.dial)}, opts...)
	p, err := NewPool("shop", cfg, NewMetrics(nil), nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// get sends GET path through p and returns status and body (or the error).
func get(p *Pool, method, path string) (int, string, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(path)
	req.Header.SetHost("shop.example")
	err := p.Do(req, resp, 0)
	return resp.StatusCode(), string(resp.Body()), err
}

// clock is a settable clock for passive ejection.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 12, 12, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// value reads a counter, gauge or the sample count of a histogram.
func value(t testing.TB, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 16)
	c.Collect(ch)
	close(ch)
	total := 0.0
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			t.Fatal(err)
		}
		switch {
		case d.Counter != nil:
			total += d.Counter.GetValue()
		case d.Gauge != nil:
			total += d.Gauge.GetValue()
		case d.Histogram != nil:
			total += float64(d.Histogram.GetSampleCount())
		}
	}
	return total
}

// front runs an edge-like server forwarding to p with fwd and returns a
// client for it. The client's connections come from peer.
func front(t testing.TB, p *Pool, fwd *Forwarder, peer string, outbound func(*fasthttp.RequestCtx) Outbound) *fasthttp.HostClient {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Logger: quiet{}, Handler: func(ctx *fasthttp.RequestCtx) {
		o := Outbound{ClientIP: clientip.Peer(ctx)}
		if outbound != nil {
			o = outbound(ctx)
		}
		fwd.Forward(ctx, p, o, 0) //nolint:errcheck
	}}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { ln.Close() })
	local := &net.TCPAddr{IP: net.ParseIP(peer), Port: 40000}
	return &fasthttp.HostClient{
		Addr:                      "front",
		Dial:                      func(string) (net.Conn, error) { return ln.DialWithLocalAddr(local) },
		MaxIdemponentCallAttempts: 1,
		ReadTimeout:               30 * time.Second,
		DisablePathNormalizing:    true,
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// quiet silences fasthttp's server logs (connections closed by tests).
type quiet struct{}

func (quiet) Printf(string, ...any) {}
