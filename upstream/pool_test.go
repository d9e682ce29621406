package upstream

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"
)

func TestNewPoolValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  *config.Upstream
	}{
		{"nil config", nil},
		{"no servers", &config.Upstream{}},
		{"address without port", &config.Upstream{Servers: []string{"shop"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewPool("shop", tt.cfg, nil, nil); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestDoBuffersResponse(t *testing.T) {
	t.Parallel()
	n := newNetwork()
	n.serve(t, "a:80", func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("X-Path", string(ctx.Request.Header.RequestURI()))
		ctx.SetBodyString(strings.Repeat("x", 3000))
	})
	p := newPool(t, n, poolConfig("a:80"))
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("/a/../b//c")
	req.Header.SetHost("shop.example")
	if err := p.Do(req, resp, 0); err != nil {
		t.Fatal(err)
	}
	if resp.IsBodyStream() || len(resp.Body()) != 3000 {
		t.Fatalf("stream=%v len=%d", resp.IsBodyStream(), len(resp.Body()))
	}
	if got := string(resp.Header.Peek("X-Path")); got != "/a/../b//c" {
		t.Fatalf("origin saw %q: path was normalised", got)
	}
	if got := value(t, p.pm.results[kOK]); got != 1 {
		t.Fatalf("ok results = %v", got)
	}
}

func TestErrorsMapToStatus(t *testing.T) {
	t.Parallel()
	n := newNetwork()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	n.serve(t, "slow:80", func(ctx *fasthttp.RequestCtx) { <-release })
	n.serve(t, "big:80", func(ctx *fasthttp.RequestCtx) { ctx.SetBody(make([]byte, 4096)) })
	n.serve(t, "bigchunked:80", func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			for range 8 {
				w.Write(make([]byte, 1024)) //nolint:errcheck
				w.Flush()                   //nolint:errcheck
			}
		})
	})
	n.rawOrigin(t, "garbage:80", func(c net.Conn) {
		defer c.Close()
		bufio.NewReader(c).ReadString('\n') //nolint:errcheck
		c.Write([]byte("HELLO THERE this is not http\r\n\r\n"))
	})
	n.rawOrigin(t, "hangup:80", func(c net.Conn) {
		bufio.NewReader(c).ReadString('\n') //nolint:errcheck
		c.Close()
	})
	n.rawOrigin(t, "truncated:80", func(c net.Conn) {
		defer c.Close()
		bufio.NewReader(c).ReadString('\n') //nolint:errcheck
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"))
	})

	tests := []struct {
		name    string
		server  string
		timeout time.Duration
		kind    string
		status  int
	}{
		{"timeout", "slow:80", 100 * time.Millisecond, KindTimeout, 504},
		{"refused", "nobody:80", 0, KindConnRefused, 502},
		{"too large", "big:80", 0, KindTooLarge, 502},
		{"too large chunked", "bigchunked:80", 0, KindTooLarge, 502},
		{"garbage", "garbage:80", 0, KindBadResponse, 502},
		{"closed before answering", "hangup:80", 0, KindConnReset, 502},
		{"truncated body", "truncated:80", 0, KindConnReset, 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := poolConfig(tt.server)
			cfg.MaxResponseSize = 1024
			p := newPool(t, n, cfg)
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("/")
			req.Header.SetHost("shop.example")
			start := time.Now()
			err := p.Do(req, resp, tt.timeout)
			took := time.Since(start)
			if err == nil {
				t.Fatal("want an error")
			}
			if got := ErrorKind(err); got != tt.kind {
				t.Fatalf("kind %q, want %q (err %v)", got, tt.kind, err)
			}
			if got := ErrorStatus(err); got != tt.status {
				t.Fatalf("status %d, want %d", got, tt.status)
			}
			if tt.timeout > 0 && took > tt.timeout+200*time.Millisecond {
				t.Fatalf("timeout after %v, want about %v", took, tt.timeout)
			}
			var ue *Error
			if !errors.As(err, &ue) || ue.Upstream != "shop" || ue.Server != tt.server {
				t.Fatalf("error %#v does not name pool and server", err)
			}
			if got := value(t, p.pm.results[classify(err)]); got != 1 {
				t.Fatalf("result counter = %v", got)
			}
		})
	}
}

func TestNoFreeConnection(t *testing.T) {
	t.Parallel()
	n := newNetwork()
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	n.serve(t, "a:80", func(ctx *fasthttp.RequestCtx) {
		entered <- struct{}{}
		<-release
	})
	cfg := poolConfig("a:80")
	cfg.MaxConns = 1
	cfg.MaxConnWait = config.Duration(20 * time.Millisecond)
	p := newPool(t, n, cfg)

	var wg sync.WaitGroup
	wg.Add(1)
	var firstErr error
	go func() {
		defer wg.Done()
		_, _, firstErr = get(p, "GET", "/slow")
	}()
	<-entered // the only connection is busy
	_, _, err := get(p, "GET", "/second")
	close(release)
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("first request: %v", firstErr)
	}
	if ErrorKind(err) != KindNoFreeConn || ErrorStatus(err) != 503 {
		t.Fatalf("got %v (kind %s), want no_free_conn / 503", err, ErrorKind(err))
	}
	if s := p.Status()[0]; s.Fails != 0 {
		t.Fatalf("a local limit counted against the server: %+v", s)
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method      string
		wantOK      int
		wantRetries float64
	}{
		{"GET", 6, 3},
		{"HEAD", 6, 3},
		{"DELETE", 6, 3},
		{"POST", 3, 0},
		{"PATCH", 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			t.Parallel()
			n := newNetwork()
			live := n.serve(t, "live:80", func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
			cfg := poolConfig("dead:80", "live:80")
			cfg.Retries = intp(1)
			cfg.Passive.MaxFails = intp(0) // keep the dead server in rotation
			p := newPool(t, n, cfg)
			ok := 0
			for range 6 {
				status, _, err := get(p, tt.method, "/")
				switch {
				case err == nil && status == 200:
					ok++
				case err != nil && ErrorKind(err) != KindConnRefused:
					t.Fatalf("unexpected error %v", err)
				}
			}
			if ok != tt.wantOK {
				t.Fatalf("%d successes, want %d", ok, tt.wantOK)
			}
			if hits := live.hits.Load(); hits != int64(tt.wantOK) {
				t.Fatalf("origin hit %d times, want %d", hits, tt.wantOK)
			}
			if got := value(t, p.pm.retries); got != tt.wantRetries {
				t.Fatalf("retries = %v, want %v", got, tt.wantRetries)
			}
		})
	}
}

// An origin that closes idle keep-alive connections without saying so: the
// next request on such a connection gets no response byte.
func TestStaleConnectionRetriedOnSameServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method  string
		wantErr bool
	}{
		{"GET", false},
		{"POST", true},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			t.Parallel()
			n := newNetwork()
			var mu sync.Mutex
			served := 0
			n.rawOrigin(t, "a:80", func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				var req fasthttp.Request
				if err := req.Read(br); err != nil {
					return
				}
				mu.Lock()
				served++
				mu.Unlock()
				c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")) //nolint:errcheck
				// keep-alive promised, but the next request is not answered
				br.ReadString('\n') //nolint:errcheck
			})
			cfg := poolConfig("a:80") // retries: 0; the stale retry is extra
			p := newPool(t, n, cfg)
			if _, _, err := get(p, tt.method, "/1"); err != nil {
				t.Fatal(err)
			}
			_, _, err := get(p, tt.method, "/2")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && ErrorKind(err) != KindConnReset {
				t.Fatalf("kind %s", ErrorKind(err))
			}
			mu.Lock()
			defer mu.Unlock()
			want := 2
			if tt.wantErr {
				want = 1
			}
			if served != want {
				t.Fatalf("origin answered %d requests, want %d", served, want)
			}
		})
	}
}

// Real sockets: a closed loopback port refuses, the request moves on.
func TestRetryOnRefusedLoopback(t *testing.T) {
	t.Parallel()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	live, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Logger: quiet{}, Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") }}
	go srv.Serve(live)                   //nolint:errcheck
	t.Cleanup(func() { srv.Shutdown() }) //nolint:errcheck

	cfg := poolConfig(deadAddr, live.Addr().String())
	cfg.Retries = intp(1)
	p, err := NewPool("shop", cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for range 4 {
		if status, body, err := get(p, "GET", "/"); err != nil || status != 200 || body != "ok" {
			t.Fatalf("status %d body %q err %v", status, body, err)
		}
	}
	_, _, err = get(p, "POST", "/")
	if err == nil {
		_, _, err = get(p, "POST", "/")
	}
	if ErrorKind(err) != KindConnRefused {
		t.Fatalf("POST to the closed port: %v (kind %s), want conn_refused", err, ErrorKind(err))
	}
}

func TestTimeoutIsNotRetried(t *testing.T) {
	t.Parallel()
	n := newNetwork()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := n.serve(t, "slow:80", func(ctx *fasthttp.RequestCtx) { <-release })
	other := n.serve(t, "other:80", func(ctx *fasthttp.RequestCtx) {})
	cfg := poolConfig("slow:80", "other:80")
	cfg.Retries = intp(3)
	p := newPool(t, n, cfg)
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("/")
	req.Header.SetHost("shop.example")
	for range 2 { // round robin: one of the two goes to slow
		before := other.hits.Load()
		err := p.Do(req, resp, 100*time.Millisecond)
		if err != nil {
			if ErrorKind(err) != KindTimeout {
				t.Fatalf("kind %s", ErrorKind(err))
			}
			if other.hits.Load() != before {
				t.Fatal("a request that timed out was retried")
			}
		}
	}
	if slow.hits.Load() != 1 || other.hits.Load() != 1 {
		t.Fatalf("hits slow=%d other=%d", slow.hits.Load(), other.hits.Load())
	}
}
