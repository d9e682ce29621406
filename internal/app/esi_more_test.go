package app

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/testutil"
)

// startPagesOrigin serves the pages of the ESI integration tests:
//
//	/self         includes itself
//	/slowpage     includes /slow/1..3 (each waits 100ms, tracks concurrency)
//	/hang         includes /slow/hang (waits 2s)
//	/gz           an ESI page sent gzip-compressed
//	/frag/c       a cached fragment
func startPagesOrigin(t *testing.T) (addr string, maxInFlight *atomic.Int64) {
	t.Helper()
	var inFlight, peak atomic.Int64
	html := func(ctx *fasthttp.RequestCtx, body string) {
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
		ctx.SetBodyString(body)
	}
	addr = testutil.ServeOrigin(t, func(ctx *fasthttp.RequestCtx) {
		switch p := string(ctx.Path()); {
		case p == "/self":
			html(ctx, `[<esi:include src="/self"/>]`)
		case p == "/slowpage":
			html(ctx, `<esi:include src="/slow/1"/><esi:include src="/slow/2"/><esi:include src="/slow/3"/>`)
		case p == "/hang":
			html(ctx, `a<esi:include src="/slow/hang"/>b`)
		case p == "/gz":
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			io.WriteString(zw, `<p>`+strings.Repeat("x", 2000)+`</p><esi:include src="/frag/c"/>`)
			zw.Close()
			ctx.SetContentType("text/html")
			ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
			ctx.Response.Header.Set("Content-Encoding", "gzip")
			ctx.SetBody(buf.Bytes())
		case p == "/slow/hang":
			time.Sleep(2 * time.Second)
			ctx.SetBodyString("late")
		case strings.HasPrefix(p, "/slow/"):
			n := inFlight.Add(1)
			for {
				old := peak.Load()
				if n <= old || peak.CompareAndSwap(old, n) {
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
			inFlight.Add(-1)
			ctx.Response.Header.Set("Cache-Control", "no-store")
			ctx.SetBodyString(p[len("/slow/"):])
		case p == "/frag/c":
			ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
			ctx.SetBodyString("C")
		default:
			ctx.SetStatusCode(404)
		}
	})
	return addr, &peak
}

const pagesYAML = `listen: %s
admin: {listen: %s, token: s3cret}
upstreams:
  shop: {servers: [%s], timeout: 3s}
routes:
  - name: slow-fragments
    match: {path: /slow/}
    upstream: shop
  - name: fragments
    match: {path: /frag/}
    upstream: shop
    cache: {ttl: 60s}
  - name: pages
    match: {path: /}
    upstream: shop
    cache: {ttl: 60s}
    esi: {max_depth: 3, timeout: 300ms}
`

func fetch(t *testing.T, url string, hdr ...string) *fasthttp.Response {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), new(fasthttp.Response)
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI(url)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp
}

func TestESIIntegration(t *testing.T) {
	t.Parallel()
	origin, peak := startPagesOrigin(t)
	pub, _, _ := startNode(t, pagesYAML, origin)

	t.Run("self include stops at the depth limit", func(t *testing.T) {
		resp := fetch(t, "http://"+pub+"/self")
		if resp.StatusCode() != 200 || string(resp.Body()) != "[[[[]]]]" {
			t.Fatalf("got %d %q, want the page nested three times", resp.StatusCode(), resp.Body())
		}
	})
	t.Run("uncached fragments fetched in parallel", func(t *testing.T) {
		resp := fetch(t, "http://"+pub+"/slowpage")
		if string(resp.Body()) != "123" {
			t.Fatalf("got %q", resp.Body())
		}
		if p := peak.Load(); p < 2 {
			t.Fatalf("at most %d fragment fetched at once; want them in parallel", p)
		}
	})
	t.Run("page deadline drops a hanging fragment", func(t *testing.T) {
		start := time.Now()
		resp := fetch(t, "http://"+pub+"/hang")
		if resp.StatusCode() != 200 || string(resp.Body()) != "ab" {
			t.Fatalf("got %d %q, want the page without the late fragment", resp.StatusCode(), resp.Body())
		}
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Fatalf("page took %v: the 300ms page deadline was not honoured", d)
		}
	})
	t.Run("gzip template from the origin is assembled and re-compressed", func(t *testing.T) {
		want := "<p>" + strings.Repeat("x", 2000) + "</p>C"
		plain := fetch(t, "http://"+pub+"/gz")
		if string(plain.Body()) != want || len(plain.Header.ContentEncoding()) != 0 {
			t.Fatalf("identity: encoding %q body %.40q", plain.Header.ContentEncoding(), plain.Body())
		}
		gz := fetch(t, "http://"+pub+"/gz", "Accept-Encoding", "gzip")
		if string(gz.Header.ContentEncoding()) != "gzip" || !strings.Contains(string(gz.Header.Peek("Vary")), "Accept-Encoding") {
			t.Fatalf("gzip: encoding %q vary %q", gz.Header.ContentEncoding(), gz.Header.Peek("Vary"))
		}
		body, err := gz.BodyGunzip()
		if err != nil || string(body) != want {
			t.Fatalf("gunzip: %v %.40q", err, body)
		}
	})
}
