package app

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/testutil"
)

// hostileESIYAML is a cached ESI page route, a private fragment route and
// a shared fragment route; %s are public, admin and origin addresses.
const hostileESIYAML = `listen: %s
admin: {listen: %s, token: s3cret}
upstreams:
  shop: {servers: [%s], timeout: 2s}
routes:
  - name: item-page
    match: {path: /item/}
    upstream: shop
    cache: {ttl: 60s}
    esi: {timeout: 1s}
  - name: private
    match: {path_exact: /frag/me}
    upstream: shop
    private: true
  - name: fragments
    match: {path: /frag/}
    upstream: shop
    cache: {ttl: 60s}
`

// startShopperOrigin serves /item/1, a shared cacheable page including a
// private per-shopper fragment /frag/me that greets the session cookie and
// sets a cookie of its own, and /frag/price, a shared fragment.
func startShopperOrigin(t *testing.T) (addr string, me *atomic.Int64) {
	t.Helper()
	me = new(atomic.Int64)
	addr = testutil.ServeOrigin(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/item/1":
			ctx.SetContentType("text/html")
			ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
			ctx.Response.Header.Set("Set-Cookie", "page=shared-cookie")
			ctx.SetBodyString(`<p><esi:include src="/frag/me"/>|<esi:include src="/frag/price"/></p>`)
		case "/frag/me":
			me.Add(1)
			user := string(ctx.Request.Header.Cookie("session"))
			ctx.Response.Header.Set("Cache-Control", "private, no-store")
			ctx.Response.Header.Set("Set-Cookie", "cart=cart-of-"+user)
			ctx.SetBodyString("hello " + user)
		case "/frag/price":
			ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
			ctx.Response.Header.Set("Set-Cookie", "price=shared")
			ctx.SetBodyString("$42")
		default:
			ctx.SetStatusCode(404)
		}
	})
	return addr, me
}

// TestHostilePrivateFragments has many shoppers load one cached ESI page at
// once: each sees only their own private fragment, and no shopper ever gets
// a Set-Cookie, neither another's nor one stored with a shared response.
func TestHostilePrivateFragments(t *testing.T) {
	t.Parallel()
	addr, me := startShopperOrigin(t)
	pub, _, _ := startNode(t, hostileESIYAML, addr)
	users := []string{"alice", "bob", "carol", "dave"}
	const rounds = 5
	var wg sync.WaitGroup
	for r := 0; r < rounds; r++ {
		for _, u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				req.SetRequestURI("http://" + pub + "/item/1")
				req.Header.SetCookie("session", u)
				if err := fasthttp.DoTimeout(req, resp, 3*time.Second); err != nil {
					t.Error(err)
					return
				}
				if want := "<p>hello " + u + "|$42</p>"; string(resp.Body()) != want {
					t.Errorf("%s got %q, want %q", u, resp.Body(), want)
				}
				resp.Header.VisitAllCookie(func(_, v []byte) {
					t.Errorf("%s got Set-Cookie %q", u, v)
				})
			}()
		}
	}
	wg.Wait()
	if n := me.Load(); n != int64(rounds*len(users)) {
		t.Errorf("private fragment fetched %d times, want %d (once per page view)", n, rounds*len(users))
	}
}

// TestHostileESISSRF serves a page whose includes point at hosts edge must
// never fetch: a metadata service, the admin listener, protocol-relative and
// credential-confusing URLs. Stand-ins on loopback count every request; the
// page still renders from its local parts.
func TestHostileESISSRF(t *testing.T) {
	t.Parallel()
	meta, metaHits := startCounter(t)
	evil, evilHits := startCounter(t)
	var page atomic.Value
	addr := testutil.ServeOrigin(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/frag/ok" {
			ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
			ctx.SetBodyString("ok")
			return
		}
		ctx.SetContentType("text/html")
		ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
		ctx.SetBodyString(page.Load().(string))
	})
	yaml := strings.Replace(hostileESIYAML, "    esi: {timeout: 1s}\n", "    esi: {timeout: 1s, allowed_hosts: [cdn.shop.example]}\n", 1)
	pub, adm, _ := startNode(t, yaml, addr)

	srcs := []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://" + meta + "/latest/meta-data/",
		"http://" + adm + "/config",
		"http://" + adm + "/quiz/bank",
		"//" + evil + "/",
		"//evil.example/",
		"http://cdn.shop.example@" + evil + "/",
		"http://" + evil + "#@cdn.shop.example/",
		"http://" + evil + "\\@cdn.shop.example/",
		"https://" + evil + "/",
		"file:///etc/passwd",
		"gopher://" + evil + "/",
		"http://[::ffff:127.0.0.1]:" + evil[strings.LastIndexByte(evil, ':')+1:] + "/",
		"/\\" + evil + "/",
	}
	var b strings.Builder
	b.WriteString("[")
	for _, src := range srcs {
		b.WriteString(`<esi:include src="` + src + `" onerror="continue"/>`)
	}
	b.WriteString(`<esi:include src="/frag/ok"/>]`)
	page.Store(b.String())

	code, body := do(t, "GET", "http://"+pub+"/item/ssrf", "")
	if code != 200 || !strings.HasPrefix(body, "[") || !strings.HasSuffix(body, "ok]") {
		t.Fatalf("page: %d %q", code, body)
	}
	if strings.Contains(body, "secret-credentials") || strings.Contains(body, "redacted") || strings.Contains(body, "listen") {
		t.Errorf("a forbidden fragment reached the page: %q", body)
	}
	if n, m := metaHits.Load(), evilHits.Load(); n != 0 || m != 0 {
		t.Errorf("forbidden hosts fetched: metadata stand-in %d, evil stand-in %d", n, m)
	}
}
