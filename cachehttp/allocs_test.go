package cachehttp

import (
	"testing"

	"github.com/valyala/fasthttp"

	"edge/internal/config"
)

// TestHitAllocatesNothing: a hit, on a protected (materialised) entry or a
// plain one, compressed or not, allocates nothing. It skips itself under
// the race detector; make test runs it without (make allocs).
func TestHitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	origin := startOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=600")
		ctx.Response.Header.Set("ETag", `"1"`)
		ctx.SetContentType("text/html")
		ctx.SetBodyString(pageBody)
	})
	// A protected (materialised) entry and a plain one: hot_size of one byte
	// keeps everything out of the protected segment.
	for _, hot := range []config.Size{1 << 18, 1} {
		c := New(config.Cache{Size: 1 << 20, HotSize: hot}, NewMetrics(nil))
		testHitAllocs(t, NewRoute(c, "alloc", &config.RouteCache{}, origin), hot > 1)
	}
}

func testHitAllocs(t *testing.T, r *Route, hot bool) {
	testHitAllocsAt(t, r, "/item/42?utm_source=x&b=1&a=2")
	if st := r.c.Stats(); (st.HotURLs == 1) != hot {
		t.Fatalf("hot URLs %d, want hot=%v", st.HotURLs, hot)
	}
}

// testHitAllocsAt checks that hits on uri (https), with and without
// compression, allocate nothing.
func testHitAllocsAt(t *testing.T, r *Route, uri string) {
	for _, ae := range []string{"", "gzip, br"} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(uri)
		ctx.Request.Header.SetHost("shop.example")
		ctx.Request.Header.Set("Accept-Encoding", ae)
		for range 10 {
			ctx.Response.Reset()
			r.Serve(&ctx, true)
		}
		if xcache(&ctx.Response) != "HIT" {
			t.Fatalf("not a hit: %q", xcache(&ctx.Response))
		}
		if raceEnabled {
			continue // sync.Pool drops items under the race detector
		}
		allocs := testing.AllocsPerRun(1000, func() {
			ctx.Response.Reset()
			r.Serve(&ctx, true)
		})
		if allocs != 0 {
			t.Fatalf("a hit on %s (Accept-Encoding %q) allocates %.2f times, want 0", uri, ae, allocs)
		}
	}
}
