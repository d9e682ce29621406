package clientip

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/conntimeout"
)

// serveResolving serves on a loopback listener (wrapped by conntimeout when
// wrap is set, as the public listener is) and answers with the peer and the
// client address res resolves.
func serveResolving(t *testing.T, res *Resolver, wrap bool) string {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := raw
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyString(Peer(ctx).String() + " " + res.Resolve(ctx).String())
	}}
	if wrap {
		ln = conntimeout.Wrap(raw, conntimeout.Timeouts{Read: 5 * time.Second, Write: 5 * time.Second, Idle: time.Minute})
		s.ConnState = conntimeout.ConnState
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown() })
	return raw.Addr().String()
}

func TestPeerAndResolve(t *testing.T) {
	t.Parallel()
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	for _, c := range []struct {
		name    string
		trusted []netip.Prefix
		xff     string
		want    string
	}{
		{"untrusted peer: its XFF is ignored", nil, "203.0.113.9", "127.0.0.1 127.0.0.1"},
		{"trusted peer: the right-most untrusted hop", loopback, "198.51.100.1, 203.0.113.9", "127.0.0.1 203.0.113.9"},
		{"trusted peer, trusted hops skipped", loopback, "203.0.113.9, 127.0.0.5", "127.0.0.1 203.0.113.9"},
		{"trusted peer, garbage in the chain", loopback, "203.0.113.9, not-an-ip", "127.0.0.1 127.0.0.1"},
		{"trusted peer, no XFF", loopback, "", "127.0.0.1 127.0.0.1"},
	} {
		for _, wrap := range []bool{false, true} {
			addr := serveResolving(t, New(c.trusted), wrap)
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI("http://" + addr + "/")
			if c.xff != "" {
				req.Header.Set("X-Forwarded-For", c.xff)
			}
			if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if got := string(resp.Body()); got != c.want {
				t.Errorf("%s (conntimeout listener %v): %q, want %q", c.name, wrap, got, c.want)
			}
			fasthttp.ReleaseRequest(req)
			fasthttp.ReleaseResponse(resp)
		}
	}
}
