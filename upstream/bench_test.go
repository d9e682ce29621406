package upstream

import (
	"bufio"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// benchCtx is a reusable client request context, as fasthttp's server
// would hand to the handler.
func benchCtx(tb testing.TB, raw string) *fasthttp.RequestCtx {
	tb.Helper()
	var req fasthttp.Request
	if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		tb.Fatal(err)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 1234}, nil)
	return ctx
}

const benchRequest = "GET /item/42?color=red HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: bench\r\n" +
	"Accept: text/html\r\nCookie: session=abc\r\nX-Forwarded-For: 198.51.100.9\r\nConnection: keep-alive\r\n\r\n"

func forwardSetup(tb testing.TB) (*Pool, *Forwarder, *fasthttp.RequestCtx, Outbound) {
	n := newNetwork()
	page := []byte(strings.Repeat("<p>flash sale</p>", 60)) // ~1 KiB
	n.serve(tb, "a:80", func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=3")
		ctx.Response.Header.Set("Keep-Alive", "timeout=5")
		ctx.SetContentType("text/html")
		ctx.SetBody(page)
	})
	p := newPool(tb, n, poolConfig("a:80"))
	o := Outbound{ClientIP: netip.MustParseAddr("198.51.100.9"), PeerTrusted: true, StripCookies: true, Proto: "https"}
	return p, &Forwarder{Via: "edge"}, benchCtx(tb, benchRequest), o
}

// BenchmarkForward: one forwarded request (prepare, pool, origin on an
// in-memory connection, response moved into the client context).
func BenchmarkForward(b *testing.B) {
	p, fwd, ctx, o := forwardSetup(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := fwd.Forward(ctx, p, o, 0); err != nil {
			b.Fatal(err)
		}
		ctx.Response.Reset()
	}
}

func BenchmarkForwardParallel(b *testing.B) {
	p, fwd, _, o := forwardSetup(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := benchCtx(b, benchRequest)
		for pb.Next() {
			if err := fwd.Forward(ctx, p, o, 0); err != nil {
				b.Error(err)
				return
			}
			ctx.Response.Reset()
		}
	})
}

// The forward path allocates nothing beyond fasthttp's pools: the whole
// round trip, origin server included, stays at zero allocations.
func TestForwardAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop objects")
	}
	p, fwd, ctx, o := forwardSetup(t)
	run := func() {
		if err := fwd.Forward(ctx, p, o, 0); err != nil {
			t.Fatal(err)
		}
		if ctx.Response.StatusCode() != 200 || len(ctx.Response.Body()) < 1000 {
			t.Fatalf("status %d, %d bytes", ctx.Response.StatusCode(), len(ctx.Response.Body()))
		}
		ctx.Response.Reset()
	}
	for range 10 { // warm the pools and the keep-alive connection
		run()
	}
	if allocs := testing.AllocsPerRun(200, run); allocs > 0.5 {
		t.Fatalf("Forward allocates %.1f times per request, want 0", allocs)
	}
}
