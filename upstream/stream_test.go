package upstream

import (
	"bufio"
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"edge/internal/testutil"
)

// pattern is a body whose every byte depends on its offset, so that a lost
// or repeated chunk shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func bigOrigin(t *testing.T, n *network, addr string, body []byte) *origin {
	return n.serve(t, addr, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/fixed":
			ctx.SetBody(body)
		case "/chunked":
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
				for off := 0; off < len(body); off += 100_000 {
					w.Write(body[off:min(off+100_000, len(body))]) //nolint:errcheck
					w.Flush()                                      //nolint:errcheck
				}
			})
		case "/small-chunked":
			ctx.SetBodyStream(bytes.NewReader([]byte("tiny")), -1)
		}
	})
}

func TestStreamingThroughForward(t *testing.T) {
	t.Parallel()
	body := pattern(2<<20 + 123)
	tests := []struct {
		name        string
		path        string
		method      string
		streamAbove int
		want        []byte
	}{
		{"large fixed length streamed", "/fixed", "GET", 0, body},
		{"chunked streamed", "/chunked", "GET", 0, body},
		{"small chunked", "/small-chunked", "GET", 0, []byte("tiny")},
		{"large body buffered when streaming is off", "/fixed", "GET", -1, body},
		{"HEAD of a large body", "/fixed", "HEAD", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := newNetwork()
			o := bigOrigin(t, n, "a:80", body)
			p := newPool(t, n, poolConfig("a:80"))
			c := front(t, p, &Forwarder{Via: "edge", StreamAbove: tt.streamAbove}, "198.51.100.9", nil)
			for i := range 3 { // the origin connection is reused after each body
				req := fasthttp.AcquireRequest()
				resp := fasthttp.AcquireResponse()
				req.Header.SetMethod(tt.method)
				req.SetRequestURI("http://shop.example" + tt.path)
				if err := c.Do(req, resp); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if !bytes.Equal(resp.Body(), tt.want) {
					t.Fatalf("request %d: body of %d bytes differs from the %d sent", i, len(resp.Body()), len(tt.want))
				}
				if tt.method == "HEAD" && resp.Header.ContentLength() != len(body) {
					t.Fatalf("HEAD Content-Length %d, want %d", resp.Header.ContentLength(), len(body))
				}
				if got := string(resp.Header.Peek("Via")); got != "1.1 edge" {
					t.Fatalf("Via %q", got)
				}
				fasthttp.ReleaseRequest(req)
				fasthttp.ReleaseResponse(resp)
			}
			if got := o.conns.Load(); got != 1 {
				t.Fatalf("origin saw %d connections, want 1 (reused)", got)
			}
		})
	}
}

// A client that leaves in the middle of a streamed body: the origin
// connection is closed, not returned half-read to the pool, and nothing
// leaks.
func TestStreamClientGone(t *testing.T) {
	t.Parallel()
	n := newNetwork()
	body := pattern(4 << 20)
	bigOrigin(t, n, "a:80", body)
	p := newPool(t, n, poolConfig("a:80"))
	fwd := &Forwarder{}

	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Logger: quiet{}, Handler: func(ctx *fasthttp.RequestCtx) {
		fwd.Forward(ctx, p, Outbound{}, 0) //nolint:errcheck
	}}
	go srv.Serve(ln) //nolint:errcheck
	defer ln.Close()

	for _, path := range []string{"/fixed", "/chunked"} {
		c, err := ln.Dial()
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: shop.example\r\n\r\n")) //nolint:errcheck
		buf := make([]byte, 64<<10)
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		c.Close()
		testutil.WaitFor(t, 5*time.Second, "origin connection closed", func() bool { return p.servers[0].hc.ConnsCount() == 0 })
	}
	// The pool still works.
	if status, body, err := get(p, "GET", "/small-chunked"); err != nil || status != 200 || body != "tiny" {
		t.Fatalf("after abort: %d %q %v", status, body, err)
	}
}

// A streamed body longer than max_response_size is cut: the client sees a
// broken response, never a silently truncated complete one.
func TestStreamTooLargeIsCut(t *testing.T) {
	t.Parallel()
	n := newNetwork()
	bigOrigin(t, n, "a:80", pattern(3<<20))
	cfg := poolConfig("a:80")
	cfg.MaxResponseSize = 1 << 20
	p := newPool(t, n, cfg)
	c := front(t, p, &Forwarder{}, "198.51.100.9", nil)

	status, _, err := c.Get(nil, "http://shop.example/chunked")
	if err == nil {
		t.Fatalf("client got a complete response (status %d) for a body over the limit", status)
	}
	// Known length over the limit: refused before anything is sent.
	status, body, err := c.Get(nil, "http://shop.example/fixed")
	if err != nil || status != 502 || string(body) != `{"error":"bad_gateway"}` {
		t.Fatalf("fixed over limit: %d %q %v", status, body, err)
	}
	testutil.WaitFor(t, 5*time.Second, "connections released", func() bool { return p.servers[0].hc.ConnsCount() <= 1 })
}

// DoStream without a Forwarder: the caller reads and releases the stream.
func TestDoStreamCallerReleases(t *testing.T) {
	t.Parallel()
	n := newNetwork()
	body := pattern(2 << 20)
	o := bigOrigin(t, n, "a:80", body)
	p := newPool(t, n, poolConfig("a:80"))
	for range 3 {
		req := fasthttp.AcquireRequest()
		resp := fasthttp.AcquireResponse()
		req.SetRequestURI("/fixed")
		req.Header.SetHost("shop.example")
		if err := p.DoStream(req, resp, time.Second, 1024); err != nil {
			t.Fatal(err)
		}
		if !resp.IsBodyStream() {
			t.Fatal("a 2 MiB body was not streamed")
		}
		var got bytes.Buffer
		if err := resp.BodyWriteTo(&got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), body) {
			t.Fatalf("streamed %d bytes, want %d", got.Len(), len(body))
		}
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
	}
	if o.conns.Load() != 1 {
		t.Fatalf("origin saw %d connections, want 1", o.conns.Load())
	}
	// Released without reading: the connection is closed, not reused.
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	req.SetRequestURI("/chunked")
	req.Header.SetHost("shop.example")
	if err := p.DoStream(req, resp, time.Second, 1024); err != nil {
		t.Fatal(err)
	}
	fasthttp.ReleaseRequest(req)
	fasthttp.ReleaseResponse(resp)
	testutil.WaitFor(t, 5*time.Second, "unread stream closed", func() bool { return p.servers[0].hc.ConnsCount() == 0 })
}

func TestStreamIdleTimeout(t *testing.T) {
	t.Parallel()
	n := newNetwork()
	release := make(chan struct{})
	defer close(release)
	n.serve(t, "a:80", func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			w.WriteString("first part") //nolint:errcheck
			w.Flush()                   //nolint:errcheck
			<-release                   // then nothing
		})
	})
	p := newPool(t, n, poolConfig("a:80"))
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("/")
	req.Header.SetHost("shop.example")
	if err := p.DoStream(req, resp, 100*time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := io.ReadAll(resp.BodyStream())
	if err == nil || !isTimeout(err) {
		t.Fatalf("read error %v, want a timeout", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("stalled stream ended after %v", took)
	}
}

func BenchmarkForwardStreamed(b *testing.B) {
	n := newNetwork()
	body := pattern(4 << 20)
	n.serve(b, "a:80", func(ctx *fasthttp.RequestCtx) { ctx.SetBody(body) })
	p := newPool(b, n, poolConfig("a:80"))
	fwd := &Forwarder{Via: "edge"}
	ctx := benchCtx(b, "GET /big HTTP/1.1\r\nHost: shop.example\r\n\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := fwd.Forward(ctx, p, Outbound{}, 0); err != nil {
			b.Fatal(err)
		}
		if err := ctx.Response.BodyWriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
		ctx.Response.Reset()
	}
}
