package app

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/testutil"
)

// esiOrigin serves a page with includes and its fragments, counting hits.
type esiOrigin struct {
	addr                 string
	page, price, userBox atomic.Int64
}

func startESIOrigin(t *testing.T) *esiOrigin {
	t.Helper()
	o := &esiOrigin{}
	addr := testutil.ServeOrigin(t, func(ctx *fasthttp.RequestCtx) {
		switch p := string(ctx.Path()); {
		case strings.HasPrefix(p, "/item/"):
			o.page.Add(1)
			ctx.SetContentType("text/html; charset=utf-8")
			ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
			ctx.Response.Header.Set("Set-Cookie", "session=leaked")
			ctx.SetBodyString(`<html><p>page</p><esi:include src="/frag/user"/>|<esi:include src="/frag/price/42"/>|<esi:include src="/_edge/stock/42"/>|<esi:include src="/frag/missing" onerror="continue"/><esi:remove>fallback</esi:remove></html>`)
		case p == "/frag/user":
			o.userBox.Add(1)
			ctx.Response.Header.Set("Cache-Control", "private, no-store")
			ctx.SetBodyString("hello " + string(ctx.Request.Header.Cookie("session")))
		case strings.HasPrefix(p, "/frag/price/"):
			o.price.Add(1)
			ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
			ctx.SetBodyString("$42")
		default:
			ctx.SetStatusCode(404)
		}
	})
	o.addr = addr
	return o
}

const esiYAML = `listen: %s
admin: {listen: %s, token: s3cret}
upstreams:
  shop: {servers: [%s], timeout: 2s}
routes:
  - name: item-page
    match: {path: /item/}
    upstream: shop
    cache: {ttl: 60s}
    esi: {}
  - name: user-box
    match: {path_exact: /frag/user}
    upstream: shop
    private: true
  - name: fragments
    match: {path: /frag/}
    upstream: shop
    cache: {ttl: 60s}
item: ~
sales:
  - {item: "42", stock: 7}
`

func TestESIPageAssembledFromCache(t *testing.T) {
	t.Parallel()
	o := startESIOrigin(t)
	yaml := strings.Replace(esiYAML, "item: ~\n", "  - name: order\n    match: {path_exact: /order, methods: [POST]}\n    upstream: shop\n    item: {query: item}\n", 1)
	pub, _, _ := startNode(t, yaml, o.addr)

	get := func(cookie string) string {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://" + pub + "/item/42")
		req.Header.SetCookie("session", cookie)
		if err := fasthttp.DoTimeout(req, resp, 3*time.Second); err != nil {
			t.Fatal(err)
		}
		if sc := resp.Header.Peek("Set-Cookie"); len(sc) > 0 {
			t.Errorf("a Set-Cookie reached the client from the cache: %s", sc)
		}
		return string(resp.Body())
	}
	want := func(user string) string {
		return `<html><p>page</p>hello ` + user + `|$42|{"item":"42","remaining":7,"state":"on_sale"}|</html>`
	}
	if got := get("alice"); got != want("alice") {
		t.Fatalf("first page:\n got %s\nwant %s", got, want("alice"))
	}
	if got := get("bob"); got != want("bob") {
		t.Fatalf("second page:\n got %s\nwant %s", got, want("bob"))
	}
	if n := o.page.Load(); n != 1 {
		t.Errorf("page fetched %d times from the origin, want 1", n)
	}
	if n := o.price.Load(); n != 1 {
		t.Errorf("shared fragment fetched %d times, want 1 (cached)", n)
	}
	if n := o.userBox.Load(); n != 2 {
		t.Errorf("private fragment fetched %d times, want 2 (once per shopper)", n)
	}
}
