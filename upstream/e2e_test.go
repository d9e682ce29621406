package upstream

import (
	"bufio"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"edge/internal/clientip"

	"edge/internal/testutil"
)

// Hygiene as seen on the wire by the origin and by the client.
func TestForwardOnTheWire(t *testing.T) {
	t.Parallel()
	n := newNetwork()
	var mu sync.Mutex
	var seen string
	n.serve(t, "a:80", func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		seen = ctx.Request.Header.String()
		mu.Unlock()
		h := &ctx.Response.Header
		h.Set("Connection", "X-Internal")
		h.Set("X-Internal", "secret")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("Proxy-Authenticate", "Basic")
		h.Set("X-Shop", "yes")
		h.Set("Via", "1.1 shop-lb")
		ctx.SetBodyString("page")
	})
	p := newPool(t, n, poolConfig("a:80"))
	trusted := clientip.New([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	outbound := func(ctx *fasthttp.RequestCtx) Outbound {
		return Outbound{
			ClientIP:    trusted.Resolve(ctx),
			PeerTrusted: trusted.Trusted(clientip.Peer(ctx)),
			Proto:       "https",
		}
	}

	tests := []struct {
		name      string
		peer      string
		reqHeader [][2]string
		originHas []string
		originNot []string
	}{
		{
			name: "untrusted client",
			peer: "198.51.100.9",
			reqHeader: [][2]string{
				{"X-Forwarded-For", "6.6.6.6"}, {"Connection", "X-Hop"}, {"X-Hop", "1"},
				{"Proxy-Authorization", "Basic eA=="}, {"Upgrade", "websocket"}, {"X-Keep", "1"},
			},
			originHas: []string{
				"X-Forwarded-For: 198.51.100.9\r\n", "X-Real-Ip: 198.51.100.9\r\n", "X-Forwarded-Proto: https\r\n",
				"X-Forwarded-Host: shop.example\r\n", "Via: 1.1 edge\r\n", "X-Keep: 1\r\n", "GET /p/../q?a=%2F HTTP/1.1\r\n",
			},
			originNot: []string{"6.6.6.6", "X-Hop", "Proxy-Authorization", "Upgrade", "Connection: close"},
		},
		{
			name:      "trusted load balancer",
			peer:      "10.0.0.2",
			reqHeader: [][2]string{{"X-Forwarded-For", "198.51.100.9"}},
			originHas: []string{"X-Forwarded-For: 198.51.100.9, 10.0.0.2\r\n", "X-Real-Ip: 198.51.100.9\r\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := front(t, p, &Forwarder{Via: "edge"}, tt.peer, outbound)
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("/p/../q?a=%2F")
			req.Header.SetHost("shop.example")
			for _, kv := range tt.reqHeader {
				req.Header.Add(kv[0], kv[1])
			}
			if err := c.Do(req, resp); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			got := seen
			mu.Unlock()
			for _, want := range tt.originHas {
				if !strings.Contains(got, want) {
					t.Errorf("origin request lacks %q:\n%s", want, got)
				}
			}
			for _, not := range tt.originNot {
				if strings.Contains(got, not) {
					t.Errorf("origin request has %q:\n%s", not, got)
				}
			}
			wire := resp.Header.String()
			for _, not := range []string{"X-Internal", "Keep-Alive", "Proxy-Authenticate"} {
				if strings.Contains(wire, not) {
					t.Errorf("client response has %q:\n%s", not, wire)
				}
			}
			if vias := resp.Header.PeekAll("Via"); len(vias) != 2 || string(vias[1]) != "1.1 edge" {
				t.Errorf("Via = %q", vias)
			}
			if string(resp.Body()) != "page" || string(resp.Header.Peek("X-Shop")) != "yes" {
				t.Errorf("response %q", resp.String())
			}
		})
	}
}

// Error answers carry a fixed JSON body and no internal text.
func TestForwardErrorBodies(t *testing.T) {
	t.Parallel()
	n := newNetwork()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	n.serve(t, "slow:80", func(ctx *fasthttp.RequestCtx) { <-release })
	n.rawOrigin(t, "garbage:80", func(c net.Conn) {
		defer c.Close()
		bufio.NewReader(c).ReadString('\n')                                         //nolint:errcheck
		c.Write([]byte("HTTP/1.1 2OO OK\r\nX-Internal-Host: db7.internal\r\n\r\n")) //nolint:errcheck
	})
	unhealthy := n.serve(t, "down:80", func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(500) })
	_ = unhealthy

	tests := []struct {
		name   string
		server string
		status int
		body   string
		health bool
	}{
		{"refused", "nobody:80", 502, `{"error":"bad_gateway"}`, false},
		{"garbage", "garbage:80", 502, `{"error":"bad_gateway"}`, false},
		{"timeout", "slow:80", 504, `{"error":"upstream_timeout"}`, false},
		{"no healthy server", "down:80", 503, `{"error":"upstream_unavailable"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := poolConfig(tt.server)
			cfg.Timeout = 0
			if tt.health {
				cfg = healthConfig20ms(tt.server)
			}
			p := newPool(t, n, cfg)
			if tt.health {
				p.Start()
				testutil.WaitFor(t, 5*time.Second, "server down", func() bool { return p.Healthy() == 0 })
			}
			ln := fasthttputil.NewInmemoryListener()
			defer ln.Close()
			fwd := &Forwarder{Via: "edge"}
			go (&fasthttp.Server{Logger: quiet{}, NoDefaultServerHeader: true, Handler: func(ctx *fasthttp.RequestCtx) {
				fwd.Forward(ctx, p, Outbound{}, 100*time.Millisecond) //nolint:errcheck
			}}).Serve(ln) //nolint:errcheck
			c, err := ln.Dial()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n")) //nolint:errcheck
			var resp fasthttp.Response
			if err := resp.Read(bufio.NewReader(c)); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode() != tt.status || string(resp.Body()) != tt.body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode(), resp.Body(), tt.status, tt.body)
			}
			h := resp.Header.String()
			for _, want := range []string{"Content-Type: application/json", "Cache-Control: no-store"} {
				if !strings.Contains(h, want) {
					t.Errorf("headers lack %q:\n%s", want, h)
				}
			}
			for _, leak := range []string{"fasthttp", "dial", "internal", "nobody", "garbage", "slow"} {
				if strings.Contains(strings.ToLower(resp.String()), leak) {
					t.Errorf("response leaks %q:\n%s", leak, resp.String())
				}
			}
			if (tt.status == 503) != (string(resp.Header.Peek("Retry-After")) == "1") {
				t.Errorf("Retry-After %q on %d", resp.Header.Peek("Retry-After"), tt.status)
			}
		})
	}
}

// Origins speaking older or unusual HTTP/1.x: the client still gets a
// well-formed HTTP/1.1 answer on a kept-alive connection.
func TestForwardOddOrigins(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("z", 3<<20)
	tests := []struct {
		name   string
		answer string
		status int
		body   string
	}{
		{"HTTP/1.0 with length", "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold", 200, "old"},
		{"body until close", "HTTP/1.0 200 OK\r\n\r\nuntil the end", 200, "until the end"},
		{"large body until close", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + big, 200, big},
		{"interim responses skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", 201, "ok"},
		{"unexpected switch of protocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", 502, `{"error":"bad_gateway"}`},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", 204, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := newNetwork()
			n.rawOrigin(t, "a:80", func(c net.Conn) {
				defer c.Close()
				var req fasthttp.Request
				if req.Read(bufio.NewReader(c)) == nil {
					c.Write([]byte(tt.answer)) //nolint:errcheck
				}
			})
			p := newPool(t, n, poolConfig("a:80"))
			c := front(t, p, &Forwarder{Via: "edge"}, "198.51.100.9", nil)
			for i := range 2 {
				req := fasthttp.AcquireRequest()
				resp := fasthttp.AcquireResponse()
				req.SetRequestURI("http://shop.example/")
				if err := c.Do(req, resp); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if resp.StatusCode() != tt.status || string(resp.Body()) != tt.body {
					t.Fatalf("got %d %q", resp.StatusCode(), resp.Body()[:min(len(resp.Body()), 64)])
				}
				if !resp.Header.IsHTTP11() || resp.ConnectionClose() {
					t.Fatalf("client response %q", resp.Header.String())
				}
				fasthttp.ReleaseRequest(req)
				fasthttp.ReleaseResponse(resp)
			}
		})
	}
}
