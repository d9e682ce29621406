package upstream

import (
	"bufio"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// clientCtx builds a RequestCtx for the raw request as received from peer.
func clientCtx(t *testing.T, raw, peer string) *fasthttp.RequestCtx {
	t.Helper()
	var req fasthttp.Request
	if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatalf("parse request: %v", err)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(peer), Port: 1234}, nil)
	return ctx
}

func headerValues(h *fasthttp.RequestHeader, name string) []string {
	var out []string
	for _, v := range h.PeekAll(name) {
		out = append(out, string(v))
	}
	return out
}

func TestPrepareRequest(t *testing.T) {
	t.Parallel()
	client := netip.MustParseAddr("198.51.100.9")
	tests := []struct {
		name    string
		raw     string
		peer    string
		via     string
		host    string
		o       Outbound
		want    map[string]string // header -> value ("" = absent)
		wantAll map[string][]string
		uri     string
	}{
		{
			name: "hop-by-hop and Connection-named headers removed, end-to-end kept",
			raw: "GET /item/42 HTTP/1.1\r\nHost: shop.example\r\nConnection: keep-alive, X-Secret, x-other\r\n" +
				"X-Secret: s\r\nX-Other: o\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n" +
				"TE: trailers\r\nTrailer: X-T\r\nUpgrade: h2c\r\nProxy-Authorization: Basic eA==\r\n" +
				"Proxy-Authenticate: Basic\r\nExpect: 100-continue\r\nAuthorization: Bearer t\r\nX-Custom: c\r\n\r\n",
			peer: "203.0.113.1", via: "edge", o: Outbound{ClientIP: client},
			want: map[string]string{
				"Connection": "", "X-Secret": "", "X-Other": "", "Keep-Alive": "", "Proxy-Connection": "",
				"TE": "", "Trailer": "", "Upgrade": "", "Proxy-Authorization": "", "Proxy-Authenticate": "",
				"Expect": "", "Authorization": "Bearer t", "X-Custom": "c", "Host": "shop.example",
			},
		},
		{
			name: "untrusted peer: forwarding headers replaced",
			raw: "GET / HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil\r\n" +
				"X-Forwarded-Proto: https\r\nForwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded-Port: 1\r\n\r\n",
			peer: "198.51.100.9", o: Outbound{ClientIP: client},
			want: map[string]string{
				"X-Forwarded-For": "198.51.100.9", "X-Forwarded-Host": "shop.example", "X-Forwarded-Proto": "http",
				"Forwarded": "", "X-Real-IP": "198.51.100.9", "X-Forwarded-Port": "", "Via": "",
			},
		},
		{
			name: "underscore spellings of edge's headers dropped, other underscore names kept",
			raw: "GET / HTTP/1.1\r\nHost: shop.example\r\nX_Forwarded_For: 6.6.6.6\r\nx_real_ip: 6.6.6.6\r\n" +
				"X_Edge_Hot: 1\r\nX-Edge_Anything: 1\r\nX_HTTP_Method_Override: DELETE\r\nTransfer_Encoding: chunked\r\n" +
				"X_Forwarded_Proto: https\r\nX_Shop_Tenant: t1\r\n\r\n",
			peer: "198.51.100.9", o: Outbound{ClientIP: client},
			want: map[string]string{
				"X_Forwarded_For": "", "X_real_ip": "", "X_Edge_Hot": "", "X-Edge_Anything": "",
				"X_HTTP_Method_Override": "", "Transfer_Encoding": "", "X_Forwarded_Proto": "",
				"X_Shop_Tenant": "t1", "X-Forwarded-For": "198.51.100.9", "X-Forwarded-Proto": "http",
			},
		},
		{
			name: "trusted peer: chain kept and peer appended",
			raw: "GET / HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 198.51.100.9\r\nX-Forwarded-For: 10.1.1.1\r\n" +
				"X-Forwarded-Host: www.shop.example\r\nForwarded: for=198.51.100.9\r\nConnection: X-Forwarded-For\r\n\r\n",
			peer: "10.0.0.2", o: Outbound{ClientIP: client, PeerTrusted: true, Proto: "https"},
			want: map[string]string{
				"X-Forwarded-For": "198.51.100.9, 10.1.1.1, 10.0.0.2", "X-Forwarded-Host": "www.shop.example",
				"X-Forwarded-Proto": "https", "Forwarded": "for=198.51.100.9", "X-Real-IP": "198.51.100.9",
			},
		},
		{
			name: "trusted peer without headers",
			raw:  "GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n",
			peer: "10.0.0.2", o: Outbound{ClientIP: client, PeerTrusted: true},
			want: map[string]string{"X-Forwarded-For": "10.0.0.2", "X-Forwarded-Host": "shop.example"},
		},
		{
			name: "Host replaced by pool host, X-Forwarded-Host keeps the client's",
			raw:  "GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n",
			peer: "198.51.100.9", host: "backend.internal", o: Outbound{ClientIP: client},
			want: map[string]string{"Host": "backend.internal", "X-Forwarded-Host": "shop.example"},
		},
		{
			name: "Via appended to an existing one",
			raw:  "GET / HTTP/1.1\r\nHost: shop.example\r\nVia: 1.1 cdn\r\n\r\n",
			peer: "198.51.100.9", via: "edge", o: Outbound{ClientIP: client},
			wantAll: map[string][]string{"Via": {"1.1 cdn", "1.1 edge"}},
		},
		{
			name: "HTTP/1.0 request gets a 1.0 Via",
			raw:  "GET / HTTP/1.0\r\nHost: shop.example\r\n\r\n",
			peer: "198.51.100.9", via: "edge", o: Outbound{ClientIP: client},
			want: map[string]string{"Via": "1.0 edge"},
		},
		{
			name: "cookies stripped on request",
			raw:  "GET / HTTP/1.1\r\nHost: shop.example\r\nCookie: session=abc\r\n\r\n",
			peer: "198.51.100.9", o: Outbound{ClientIP: client, StripCookies: true},
			want: map[string]string{"Cookie": ""},
		},
		{
			name: "cookies kept by default",
			raw:  "GET / HTTP/1.1\r\nHost: shop.example\r\nCookie: session=abc\r\n\r\n",
			peer: "198.51.100.9", o: Outbound{ClientIP: client},
			want: map[string]string{"Cookie": "session=abc"},
		},
		{
			name: "target not normalised",
			raw:  "GET /a/../b//c%2Fd?x=%2F&y=1 HTTP/1.1\r\nHost: shop.example\r\n\r\n",
			peer: "198.51.100.9", o: Outbound{ClientIP: client},
			uri: "/a/../b//c%2Fd?x=%2F&y=1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := clientCtx(t, tt.raw, tt.peer)
			out := fasthttp.AcquireRequest()
			defer fasthttp.ReleaseRequest(out)
			fwd := &Forwarder{Via: tt.via, Host: tt.host}
			fwd.PrepareRequest(ctx, out, tt.o)
			for name, want := range tt.want {
				if got := string(out.Header.Peek(name)); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			for name, want := range tt.wantAll {
				if got := headerValues(&out.Header, name); strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if tt.uri != "" {
				if got := string(out.Header.RequestURI()); got != tt.uri {
					t.Errorf("request URI = %q, want %q", got, tt.uri)
				}
			}
			if out.Header.ConnectionClose() {
				t.Error("Connection: close leaked to the origin request")
			}
		})
	}
}

func TestPrepareRequestCopiesBody(t *testing.T) {
	t.Parallel()
	ctx := clientCtx(t, "POST /order?item=42 HTTP/1.1\r\nHost: s\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", "198.51.100.9")
	out := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(out)
	(&Forwarder{}).PrepareRequest(ctx, out, Outbound{})
	ctx.Request.SetBody([]byte("XXXXX")) // the client request's memory is reused
	if string(out.Body()) != "hello" || !out.Header.IsPost() {
		t.Fatalf("body %q method %q", out.Body(), out.Header.Method())
	}
	if out.Header.ConnectionClose() {
		t.Fatal("client's Connection: close must not reach the origin")
	}
}

func TestWriteResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		raw       string
		keepClose bool
		want      map[string]string
		body      string
		status    int
	}{
		{
			name: "hop-by-hop and Connection-named headers removed",
			raw: "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\nConnection: X-Internal, keep-alive\r\n" +
				"X-Internal: secret\r\nKeep-Alive: timeout=5\r\nUpgrade: h2c\r\nProxy-Authenticate: Basic\r\n" +
				"X-Shop: yes\r\nSet-Cookie: a=b\r\n\r\nhello",
			want: map[string]string{
				"Connection": "", "X-Internal": "", "Keep-Alive": "", "Upgrade": "", "Proxy-Authenticate": "",
				"X-Shop": "yes", "Set-Cookie": "a=b", "Content-Type": "text/html", "Via": "1.1 edge",
			},
			body: "hello", status: 200,
		},
		{
			name: "origin Connection: close does not close the client connection",
			raw:  "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno",
			want: map[string]string{"Connection": "", "Content-Type": ""}, body: "no", status: 503,
		},
		{
			name: "connection close decided by the gateway is kept", keepClose: true,
			raw:  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			want: map[string]string{"Connection": "close"}, body: "ok", status: 200,
		},
		{
			name: "HTTP/1.0 origin gets a 1.0 Via",
			raw:  "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
			want: map[string]string{"Via": "1.0 edge"}, body: "ok", status: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseResponse(resp)
			if err := resp.Read(bufio.NewReader(strings.NewReader(tt.raw))); err != nil {
				t.Fatal(err)
			}
			ctx := clientCtx(t, "GET / HTTP/1.1\r\nHost: s\r\n\r\n", "198.51.100.9")
			if tt.keepClose {
				ctx.Response.SetConnectionClose()
			}
			(&Forwarder{Via: "edge"}).WriteResponse(ctx, resp)
			for name, want := range tt.want {
				if got := string(ctx.Response.Header.Peek(name)); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if got := string(ctx.Response.Body()); got != tt.body {
				t.Errorf("body %q, want %q", got, tt.body)
			}
			if ctx.Response.StatusCode() != tt.status {
				t.Errorf("status %d, want %d", ctx.Response.StatusCode(), tt.status)
			}
			if ctx.Response.ConnectionClose() != tt.keepClose {
				t.Errorf("connection close = %v", ctx.Response.ConnectionClose())
			}
			if len(resp.Body()) != 0 {
				t.Errorf("resp still holds the body %q", resp.Body())
			}
			// On the wire: no Content-Type is invented.
			if !strings.Contains(tt.raw, "Content-Type") && strings.Contains(ctx.Response.String(), "Content-Type") {
				t.Errorf("Content-Type invented: %q", ctx.Response.String())
			}
		})
	}
}

func TestWriteResponseSharesRawBody(t *testing.T) {
	t.Parallel()
	stored := []byte("cached page")
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	resp.SetBodyRaw(stored)
	ctx := clientCtx(t, "GET / HTTP/1.1\r\nHost: s\r\n\r\n", "198.51.100.9")
	(&Forwarder{}).WriteResponse(ctx, resp)
	got := ctx.Response.Body()
	if string(got) != "cached page" || &got[0] != &stored[0] {
		t.Fatalf("raw body not shared: %q", got)
	}
}
