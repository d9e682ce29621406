package app

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/testutil"
)

// echoOrigin is an origin for hostile-request tests: it counts the requests
// that reach it and reflects what it got (path, the headers an attacker
// would try to smuggle past the cache, the body) in its body, so a request
// that leaks through or poisons a cache entry becomes visible.
type echoOrigin struct {
	addr string
	hits atomic.Int64
}

// echoHeaders are reflected by echoOrigin when present.
var echoHeaders = []string{
	"X-Forwarded-Host", "X-Original-URL", "X-Rewrite-URL",
	"X-HTTP-Method-Override", "Host",
}

func startEchoOrigin(t *testing.T) *echoOrigin {
	t.Helper()
	o := &echoOrigin{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{
		DisablePreParseMultipartForm: true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			o.hits.Add(1)
			var b strings.Builder
			b.WriteString(string(ctx.Method()) + " " + string(ctx.Path()))
			for _, h := range echoHeaders {
				if v := ctx.Request.Header.Peek(h); len(v) > 0 && h != "Host" {
					b.WriteString(" " + h + "=" + string(v))
				}
			}
			if body := ctx.PostBody(); len(body) > 0 {
				b.WriteString(" body=" + string(body))
			}
			ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
			ctx.SetBodyString(b.String())
		},
	}
	go s.Serve(ln)
	t.Cleanup(func() { _ = s.Shutdown() })
	o.addr = ln.Addr().String()
	return o
}

// counter is a plain origin that only counts what reaches it: a stand-in
// for a cloud metadata service or an admin listener an attacker aims at.
func startCounter(t *testing.T) (addr string, hits *atomic.Int64) {
	t.Helper()
	hits = new(atomic.Int64)
	addr = testutil.ServeOrigin(t, func(ctx *fasthttp.RequestCtx) {
		hits.Add(1)
		ctx.SetBodyString("secret-credentials")
	})
	return addr, hits
}

// rawResult is what a raw TCP exchange saw.
type rawResult struct {
	status int    // first response's status, 0 if none
	body   string // first response's body
	header http.Header
	more   bool // a second response followed (a smuggled request answered)
	closed bool // the server closed the connection
}

// rawExchange writes exactly msg to addr, then reads every response the
// server sends until it closes the connection or stays quiet for quiet.
func rawExchange(t *testing.T, addr, msg string, quiet time.Duration) rawResult {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	var res rawResult
	br := bufio.NewReader(c)
	for i := 0; ; i++ {
		_ = c.SetReadDeadline(time.Now().Add(quiet))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				res.closed = true
			}
			return res
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		body := string(raw)
		if i == 0 {
			res.status, res.body, res.header = resp.StatusCode, body, resp.Header
		} else {
			res.more = true
		}
		if resp.Close {
			res.closed = true
			return res
		}
	}
}

// rawGet sends one GET with the exact target and extra header lines (each
// ending in CRLF) on its own connection.
func rawGet(t *testing.T, addr, target, extra string) rawResult {
	t.Helper()
	return rawExchange(t, addr, "GET "+target+" HTTP/1.1\r\nHost: shop\r\n"+extra+"Connection: close\r\n\r\n", 2*time.Second)
}
