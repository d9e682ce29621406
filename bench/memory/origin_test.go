package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"
	"edge/internal/testutil"
)

func TestAppendPage(t *testing.T) {
	t.Parallel()
	seen := map[string]int{}
	for n := range 1000 {
		p := appendPage(nil, n)
		if len(p) < 900 || len(p) > 1300 {
			t.Fatalf("page %d is %d bytes, want about 1 KiB", n, len(p))
		}
		if !bytes.Equal(p, appendPage([]byte("x"), n)[1:]) {
			t.Fatalf("page %d differs between two calls", n)
		}
		if !bytes.Contains(p, []byte(`data-item="`+strconv.Itoa(n)+`"`)) {
			t.Fatalf("page %d does not name its item:\n%s", n, p)
		}
		if m, dup := seen[string(p)]; dup {
			t.Fatalf("pages %d and %d are the same", m, n)
		}
		seen[string(p)] = n
	}
	// Like HTML, a page compresses well: the cache keeps gzip and brotli
	// variants of it (they must save at least a tenth).
	p := appendPage(nil, 42)
	if z := fasthttp.AppendGzipBytesLevel(nil, p, 6); len(z) > len(p)*7/10 {
		t.Errorf("page gzips to %d of %d bytes, want a page that compresses like HTML", len(z), len(p))
	}
}

func TestPageNumber(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]int{"/p/0": 0, "/p/999999": 999999, "/p/": -1, "/p/x": -1,
		"/p/-1": -1, "/q/1": -1, "/p/1/2": -1, "/": -1} {
		n, ok := pageNumber([]byte(path))
		if (want >= 0) != ok || (ok && n != want) {
			t.Errorf("pageNumber(%q) = %d, %v; want %d", path, n, ok, want)
		}
	}
}

func TestOriginServesCacheablePagesWithACookie(t *testing.T) {
	t.Parallel()
	o, err := startOrigin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.close)
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + o.addr + "/p/7")
	req.Header.Set(fasthttp.HeaderCookie, "session=abc")
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != 200 || !bytes.Equal(resp.Body(), appendPage(nil, 7)) {
		t.Fatalf("GET /p/7: %d %q", resp.StatusCode(), resp.Body())
	}
	for h, want := range map[string]string{
		fasthttp.HeaderCacheControl: "public, max-age=3600",
		fasthttp.HeaderContentType:  "text/html; charset=utf-8",
		fasthttp.HeaderSetCookie:    "shop_session=s7",
	} {
		if got := string(resp.Header.Peek(h)); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	req.SetRequestURI("http://" + o.addr + "/other")
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil || resp.StatusCode() != 404 {
		t.Fatalf("GET /other: %d %v, want 404", resp.StatusCode(), err)
	}
	if o.served.Load() != 1 || o.cookies.Load() != 1 || o.notFound.Load() != 1 {
		t.Fatalf("counts: served %d, with cookie %d, not found %d; want 1, 1, 1", o.served.Load(), o.cookies.Load(), o.notFound.Load())
	}
}

// Straight at the origin (no edge to strip it), every answer carries the
// origin's Set-Cookie: the loader must count each one as a failure.
func TestLoaderCountsSetCookie(t *testing.T) {
	t.Parallel()
	o, err := startOrigin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.close)
	res := newLoader(o.addr, 100, 4).run()
	if res.Fetched != 100 || res.Cookies != 100 || res.errors() != 100 || len(res.Failures) != maxFailures {
		t.Fatalf("loader straight at the origin: %+v", res)
	}
	if o.served.Load() != 100 || o.cookies.Load() != 100 {
		t.Fatalf("origin served %d, %d with a cookie; want 100, 100", o.served.Load(), o.cookies.Load())
	}
}

// A server that answers the wrong page, an error status or nothing must
// be counted, each in its kind.
func TestLoaderCountsWrongAnswers(t *testing.T) {
	t.Parallel()
	addr := testutil.ServeOrigin(t, func(ctx *fasthttp.RequestCtx) {
		n, _ := pageNumber(ctx.Path())
		switch n % 4 {
		case 0:
			ctx.SetBody(appendPage(nil, n))
		case 1:
			ctx.SetBody(appendPage(nil, n+1))
		case 2:
			ctx.Error("busy", fasthttp.StatusServiceUnavailable)
		case 3:
			ctx.Conn().Close() // no answer
		}
	})
	res := newLoader(addr, 40, 2).run()
	if res.Fetched != 30 || res.WrongBody != 10 || res.Non200 != 10 || res.Transport != 10 || res.Cookies != 0 {
		t.Fatalf("loader counts: %+v; want 30 answered, 10 wrong bodies, 10 non-200, 10 without answer", res)
	}
}

func TestEdgeConfigIsValid(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse("edge.yaml", []byte(edgeConfig("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", 64*config.MiB)))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cache.Size != 64*config.MiB || cfg.Admin.Token != adminToken || len(cfg.Routes) != 1 {
		t.Fatalf("config: cache %v, token %q, %d routes", cfg.Cache.Size, cfg.Admin.Token, len(cfg.Routes))
	}
	r := cfg.Routes[0]
	if r.Name != routeName || r.Match.Path != pagePrefix || r.Cache == nil || r.Cache.StripCookies == nil || !*r.Cache.StripCookies {
		t.Fatalf("route: %+v, cache %+v", r, r.Cache)
	}
}
