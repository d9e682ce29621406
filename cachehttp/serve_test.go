package cachehttp

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"
)

var pageBody = strings.Repeat("<p>flash sale item 42, only today</p>\n", 100)

func TestHitServesStoredResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &config.RouteCache{}, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=60")
		ctx.Response.Header.Set("ETag", `"v1"`)
		ctx.Response.Header.Set("X-Shop", "42")
		ctx.Response.Header.Set("Connection", "X-Hop")
		ctx.Response.Header.Set("X-Hop", "secret")
		ctx.Response.Header.Set("Surrogate-Key", "item-42 page")
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.SetBodyString(pageBody)
	})
	first := e.get(t, "/item/42")
	if xcache(first) != "MISS" || string(first.Body()) != pageBody {
		t.Fatalf("first: X-Cache %q, body %d bytes", xcache(first), len(first.Body()))
	}
	e.clock.Advance(7 * time.Second)
	hit := e.get(t, "/item/42")
	checks := map[string]string{
		"X-Cache":       "HIT",
		"Age":           "7",
		"Cache-Status":  "edge; hit; ttl=53",
		"X-Shop":        "42",
		"ETag":          `"v1"`,
		"Content-Type":  "text/html; charset=utf-8",
		"Accept-Ranges": "bytes",
		"Vary":          "Accept-Encoding",
		"X-Hop":         "",
		"Surrogate-Key": "",
	}
	for k, want := range checks {
		if got := string(hit.Header.Peek(k)); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if string(hit.Body()) != pageBody || hit.StatusCode() != 200 {
		t.Fatalf("hit: %d, %d bytes", hit.StatusCode(), len(hit.Body()))
	}
	if n := e.origin.hits.Load(); n != 1 {
		t.Fatalf("origin asked %d times, want 1", n)
	}
}

func TestHeadFromGetEntry(t *testing.T) {
	t.Parallel()
	var methods atomic.Value
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute)}, func(ctx *fasthttp.RequestCtx) {
		methods.Store(string(ctx.Method()))
		ctx.SetBodyString("hello world")
	})
	head := e.do(t, fasthttp.MethodHead, "/h")
	if got := methods.Load(); got != "GET" {
		t.Fatalf("HEAD miss fetched with %v, want GET", got)
	}
	if xcache(head) != "MISS" || head.Header.ContentLength() != len("hello world") || len(head.Body()) != 0 {
		t.Fatalf("HEAD miss: %q len=%d body=%q", xcache(head), head.Header.ContentLength(), head.Body())
	}
	head = e.do(t, fasthttp.MethodHead, "/h")
	if xcache(head) != "HIT" || head.Header.ContentLength() != 11 {
		t.Fatalf("HEAD hit: %q len=%d", xcache(head), head.Header.ContentLength())
	}
	get := e.get(t, "/h")
	if xcache(get) != "HIT" || string(get.Body()) != "hello world" {
		t.Fatalf("GET after HEAD: %q %q", xcache(get), get.Body())
	}
	if n := e.origin.hits.Load(); n != 1 {
		t.Fatalf("origin asked %d times, want 1", n)
	}
}

func TestConditionalAndRange(t *testing.T) {
	t.Parallel()
	lastMod := "Fri, 11 Dec 2026 10:00:00 GMT"
	body := "0123456789abcdefghij"
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute)}, func(ctx *fasthttp.RequestCtx) {
		if len(ctx.Request.Header.Peek("If-None-Match")) > 0 || len(ctx.Request.Header.Peek("Range")) > 0 {
			ctx.SetStatusCode(500) // the cache must not forward the client's conditionals
			return
		}
		ctx.Response.Header.Set("ETag", `W/"v7"`)
		ctx.Response.Header.Set("Last-Modified", lastMod)
		ctx.SetContentType("application/octet-stream")
		ctx.SetBodyString(body)
	})
	if r := e.get(t, "/f", "If-None-Match", `W/"v7"`, "Range", "bytes=0-1"); xcache(r) != "MISS" {
		t.Fatalf("miss: %d %q", r.StatusCode(), xcache(r))
	}
	cases := []struct {
		name   string
		hdrs   []string
		status int
		body   string
		crange string
	}{
		{"If-None-Match weak match", []string{"If-None-Match", `"x", W/"v7"`}, 304, "", ""},
		{"If-None-Match strong form matches weakly", []string{"If-None-Match", `"v7"`}, 304, "", ""},
		{"If-None-Match star", []string{"If-None-Match", "*"}, 304, "", ""},
		{"If-None-Match other", []string{"If-None-Match", `"v6"`}, 200, body, ""},
		{"If-Modified-Since later", []string{"If-Modified-Since", "Sat, 12 Dec 2026 10:00:00 GMT"}, 304, "", ""},
		{"If-Modified-Since equal", []string{"If-Modified-Since", lastMod}, 304, "", ""},
		{"If-Modified-Since earlier", []string{"If-Modified-Since", "Thu, 10 Dec 2026 10:00:00 GMT"}, 200, body, ""},
		{"If-None-Match wins over IMS", []string{"If-None-Match", `"v6"`, "If-Modified-Since", lastMod}, 200, body, ""},
		{"range", []string{"Range", "bytes=2-5"}, 206, "2345", "bytes 2-5/20"},
		{"open range", []string{"Range", "bytes=15-"}, 206, "fghij", "bytes 15-19/20"},
		{"suffix range", []string{"Range", "bytes=-3"}, 206, "hij", "bytes 17-19/20"},
		{"range past end clipped", []string{"Range", "bytes=18-99"}, 206, "ij", "bytes 18-19/20"},
		{"unsatisfiable", []string{"Range", "bytes=20-"}, 416, "", "bytes */20"},
		{"multi-range gets 200", []string{"Range", "bytes=0-1,4-5"}, 200, body, ""},
		{"other unit ignored", []string{"Range", "items=0-1"}, 200, body, ""},
		{"If-Range date matches", []string{"Range", "bytes=0-1", "If-Range", lastMod}, 206, "01", "bytes 0-1/20"},
		{"If-Range weak etag never matches", []string{"Range", "bytes=0-1", "If-Range", `W/"v7"`}, 200, body, ""},
	}
	for _, tc := range cases {
		r := e.get(t, "/f", tc.hdrs...)
		if r.StatusCode() != tc.status || string(r.Body()) != tc.body || string(r.Header.Peek("Content-Range")) != tc.crange {
			t.Errorf("%s: %d %q Content-Range %q; want %d %q %q", tc.name, r.StatusCode(), r.Body(),
				r.Header.Peek("Content-Range"), tc.status, tc.body, tc.crange)
		}
		if tc.status == 304 && string(r.Header.Peek("ETag")) != `W/"v7"` {
			t.Errorf("%s: 304 without ETag", tc.name)
		}
		if xcache(r) != "HIT" {
			t.Errorf("%s: X-Cache %q", tc.name, xcache(r))
		}
	}
	if n := e.origin.hits.Load(); n != 1 {
		t.Fatalf("origin asked %d times, want 1", n)
	}
}

func TestCompressedVariants(t *testing.T) {
	t.Parallel()
	var sawAE atomic.Value
	sawAE.Store("")
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute)}, func(ctx *fasthttp.RequestCtx) {
		sawAE.Store(string(ctx.Request.Header.Peek("Accept-Encoding")))
		ctx.SetContentType("text/html")
		if string(ctx.Path()) == "/img" {
			ctx.SetContentType("image/png")
		}
		if string(ctx.Path()) == "/raw" {
			ctx.Response.Header.Set("Cache-Control", "no-transform")
		}
		ctx.SetBodyString(pageBody)
	})
	_ = e.get(t, "/page", "Accept-Encoding", "gzip, br")
	if got := sawAE.Load(); got != "" {
		t.Fatalf("origin got Accept-Encoding %q, want none", got)
	}
	cases := []struct {
		uri, ae, want string
	}{
		{"/page", "gzip, deflate, br", "br"},
		{"/page", "gzip", "gzip"},
		{"/page", "br;q=0, gzip;q=0.5", "gzip"},
		{"/page", "x-gzip", "gzip"},
		{"/page", "*", "br"},
		{"/page", "*, br;q=0", "gzip"},
		{"/page", "gzip;q=0", ""},
		{"/page", "", ""},
		{"/page", "identity", ""},
		{"/img", "gzip, br", ""},
		{"/raw", "gzip, br", ""},
	}
	for _, tc := range cases {
		r := e.get(t, tc.uri, "Accept-Encoding", tc.ae)
		enc := string(r.Header.ContentEncoding())
		if enc != tc.want {
			t.Errorf("%s with %q: Content-Encoding %q, want %q", tc.uri, tc.ae, enc, tc.want)
			continue
		}
		var got []byte
		var err error
		switch enc {
		case "gzip":
			got, err = fasthttp.AppendGunzipBytes(nil, r.Body())
		case "br":
			got, err = fasthttp.AppendUnbrotliBytes(nil, r.Body())
		default:
			got = r.Body()
		}
		if err != nil || string(got) != pageBody {
			t.Errorf("%s with %q: body does not decode (%v)", tc.uri, tc.ae, err)
		}
		if tc.uri == "/page" && string(r.Header.Peek("Vary")) != "Accept-Encoding" {
			t.Errorf("%s: Vary %q", tc.uri, r.Header.Peek("Vary"))
		}
	}
	if n := e.origin.hits.Load(); n != 3 {
		t.Fatalf("origin asked %d times, want 3 (one per URL)", n)
	}
}

func TestOriginCompressedBodyIsDecoded(t *testing.T) {
	t.Parallel()
	gz := fasthttp.AppendGzipBytes(nil, []byte(pageBody))
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute)}, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html")
		ctx.Response.Header.Set("Content-Encoding", "gzip")
		ctx.SetBody(gz)
	})
	_ = e.get(t, "/z")
	r := e.get(t, "/z")
	if xcache(r) != "HIT" || len(r.Header.ContentEncoding()) != 0 || string(r.Body()) != pageBody {
		t.Fatalf("identity client: %q %q %d bytes", xcache(r), r.Header.ContentEncoding(), len(r.Body()))
	}
}

func TestCookiesNeverShared(t *testing.T) {
	t.Parallel()
	var sawCookie atomic.Value
	sawCookie.Store("")
	handler := func(ctx *fasthttp.RequestCtx) {
		sawCookie.Store(string(ctx.Request.Header.Peek("Cookie")))
		ctx.Response.Header.Set("Set-Cookie", "session=for-"+string(ctx.Request.Header.Cookie("user")))
		ctx.SetBodyString("page")
	}
	t.Run("strip", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute)}, handler)
		first := e.get(t, "/p", "Cookie", "user=alice")
		if got := sawCookie.Load(); got != "" {
			t.Fatalf("origin got Cookie %q", got)
		}
		second := e.get(t, "/p", "Cookie", "user=bob")
		for i, r := range []*fasthttp.Response{first, second} {
			if len(r.Header.PeekCookie("session")) != 0 {
				t.Fatalf("response %d carries Set-Cookie %q", i, r.Header.PeekCookie("session"))
			}
		}
		if xcache(second) != "HIT" {
			t.Fatalf("second: %q", xcache(second))
		}
	})
	t.Run("keep", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute), StripCookies: ptr(false)}, handler)
		a := e.get(t, "/p", "Cookie", "user=alice")
		b := e.get(t, "/p", "Cookie", "user=bob")
		if string(a.Header.PeekCookie("session")) == "" || xcache(b) != "PASS" {
			t.Fatalf("alice: %q; bob: X-Cache %q", a.Header.PeekCookie("session"), xcache(b))
		}
		if !bytes.Contains(b.Header.PeekCookie("session"), []byte("for-bob")) {
			t.Fatalf("bob got %q", b.Header.PeekCookie("session"))
		}
	})
}

func TestVary(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute)}, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/star":
			ctx.Response.Header.Set("Vary", "*")
		default:
			ctx.Response.Header.Set("Vary", "Accept-Language, Accept-Encoding")
		}
		ctx.SetBodyString("lang=" + string(ctx.Request.Header.Peek("Accept-Language")))
	})
	steps := []struct {
		uri, lang, xcache, body string
	}{
		{"/v", "de", "MISS", "lang=de"},
		{"/v", "fr", "MISS", "lang=fr"},
		{"/v", "de", "HIT", "lang=de"},
		{"/v", " fr ", "HIT", "lang=fr"},
		{"/v", "", "MISS", "lang="},
		{"/v", "", "HIT", "lang="},
		{"/star", "de", "MISS", "lang=de"},
		{"/star", "de", "PASS", "lang=de"},
	}
	for i, s := range steps {
		r := e.get(t, s.uri, "Accept-Language", s.lang)
		if xcache(r) != s.xcache || string(r.Body()) != s.body {
			t.Fatalf("step %d (%s %q): %q %q, want %q %q", i, s.uri, s.lang, xcache(r), r.Body(), s.xcache, s.body)
		}
	}
	if st := e.cache.Stats(); st.Entries != 3 {
		t.Fatalf("entries %d, want 3 variants", st.Entries)
	}
}

func TestInvalidURIAnswered400(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute)}, cacheable("", "x"))
	for _, uri := range []string{"/a/../../etc/passwd", "/a%2fb", "/a%00", "/%zz"} {
		r := e.get(t, uri)
		if r.StatusCode() != 400 || !bytes.Contains(r.Body(), []byte("invalid_uri")) {
			t.Errorf("%s: %d %q", uri, r.StatusCode(), r.Body())
		}
	}
	if n := e.origin.hits.Load(); n != 0 {
		t.Fatalf("origin asked %d times", n)
	}
}

func TestNormalisedKeySharesEntry(t *testing.T) {
	t.Parallel()
	var uris []string
	var mu atomic.Value
	mu.Store(uris)
	e := newEnvWith(t, config.Cache{Size: 1 << 20, IgnoreParams: []string{"utm_*"}}, &config.RouteCache{TTL: dur(time.Minute)},
		func(ctx *fasthttp.RequestCtx) {
			mu.Store(append(mu.Load().([]string), string(ctx.RequestURI())))
			ctx.SetBodyString("x")
		})
	_ = e.get(t, "/item/42?b=2&a=1&utm_source=mail")
	for _, u := range []string{"/item//42?a=1&b=2", "/x/../item/%34%32?b=2&a=1&utm_campaign=z", "/item/./42?a=1&b=2#top"} {
		if r := e.get(t, u); xcache(r) != "HIT" {
			t.Errorf("%s: %q", u, xcache(r))
		}
	}
	if got := mu.Load().([]string); len(got) != 1 || got[0] != "/item/42?a=1&b=2" {
		t.Fatalf("origin saw %q, want the normalised target once", got)
	}
}

func TestUnsafeMethodInvalidates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute)}, func(ctx *fasthttp.RequestCtx) {
		if ctx.IsPost() && string(ctx.QueryArgs().Peek("fail")) == "1" {
			ctx.SetStatusCode(409)
			return
		}
		ctx.SetBodyString(string(ctx.Method()))
	})
	_ = e.get(t, "/cart")
	if r := e.do(t, fasthttp.MethodPost, "/cart?fail=1"); r.StatusCode() != 409 || xcache(r) != "PASS" {
		t.Fatalf("failed POST: %d %q", r.StatusCode(), xcache(r))
	}
	if r := e.get(t, "/cart"); xcache(r) != "HIT" {
		t.Fatalf("after a failed POST: %q", xcache(r))
	}
	if r := e.do(t, fasthttp.MethodPost, "/cart"); string(r.Body()) != "POST" || xcache(r) != "PASS" {
		t.Fatalf("POST: %q %q", r.Body(), xcache(r))
	}
	if r := e.get(t, "/cart"); xcache(r) != "MISS" {
		t.Fatalf("after a POST: %q, want MISS", xcache(r))
	}
}

func TestTransformer(t *testing.T) {
	t.Parallel()
	var parses atomic.Int64
	tr := Transformer{
		Parse: func(hdr *fasthttp.ResponseHeader, body []byte) (any, error) {
			parses.Add(1)
			if !bytes.Contains(body, []byte("<esi:")) {
				return nil, nil
			}
			return strings.Split(string(body), "<esi:now/>"), nil
		},
		Render: func(ctx *fasthttp.RequestCtx, e *Entry) {
			parts := e.Template.([]string)
			ctx.SetBodyString(strings.Join(parts, "[rendered]"))
		},
	}
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute)}, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html")
		if string(ctx.Path()) == "/esi" {
			ctx.SetBodyString("a<esi:now/>b" + pageBody)
			return
		}
		ctx.SetBodyString(pageBody)
	}, WithTransformer(tr))
	for range 2 {
		r := e.get(t, "/esi", "Accept-Encoding", "gzip")
		if !bytes.HasPrefix(r.Body(), []byte("a[rendered]b")) || len(r.Header.ContentEncoding()) != 0 {
			t.Fatalf("templated: %.20q encoding %q", r.Body(), r.Header.ContentEncoding())
		}
	}
	r := e.get(t, "/plain", "Accept-Encoding", "gzip")
	if string(r.Header.ContentEncoding()) != "gzip" {
		t.Fatalf("plain entry not compressed: %q", r.Header.ContentEncoding())
	}
	if n := parses.Load(); n != 2 {
		t.Fatalf("Parse ran %d times, want once per stored response", n)
	}
}

func TestNoContentTypeInvented(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute)}, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetNoDefaultContentType(true)
		ctx.SetBodyString(pageBody)
	})
	// Like the gateway's server (NoDefaultContentType), on a bare ctx so the
	// header is seen as edge wrote it.
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/raw")
	ctx.Request.Header.SetHost("shop.example")
	ctx.Request.Header.Set("Accept-Encoding", "gzip")
	for range promoteHits + 2 { // miss, plain hits, then hits of the promoted entry
		ctx.Response.Reset()
		ctx.Response.Header.SetNoDefaultContentType(true)
		e.route.Serve(&ctx, false)
		h := &ctx.Response.Header
		if len(h.ContentType()) != 0 || len(h.ContentEncoding()) != 0 {
			t.Fatalf("%q: Content-Type %q, Content-Encoding %q", xcache(&ctx.Response), h.ContentType(), h.ContentEncoding())
		}
	}
	if xcache(&ctx.Response) != "HIT" {
		t.Fatal(xcache(&ctx.Response))
	}
}

// TestHotEntryHitHeader: a hot (materialised) entry's hits copy one header
// set per (Age, ttl) pair; the set is rebuilt when the pair changes, and
// stale and conditional answers from the same entry are not served from it.
func TestHotEntryHitHeader(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &config.RouteCache{}, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=60, stale-while-revalidate=30")
		ctx.Response.Header.Set("ETag", `"v1"`)
		ctx.Response.Header.Set("X-Shop", "42")
		ctx.SetBodyString(pageBody)
	})
	e.get(t, "/hot")
	key, err := AppendKey(nil, []byte("http"), []byte("shop.example"), []byte("/hot"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !e.cache.Promote(string(key)) {
		t.Fatal("entry not promoted")
	}
	entry := func() *Entry {
		o := e.cache.store.get(key, e.clock.Now().UnixNano())
		if o == nil || len(o.variants) != 1 || o.variants[0].hdr.Load() == nil {
			t.Fatal("no materialised entry")
		}
		return o.variants[0]
	}
	want := func(r *fasthttp.Response, age, status, xc string) {
		t.Helper()
		for k, v := range map[string]string{"Age": age, "Cache-Status": status, "X-Cache": xc, "X-Shop": "42", "ETag": `"v1"`} {
			if got := string(r.Header.Peek(k)); got != v {
				t.Errorf("%s: %q, want %q", k, got, v)
			}
		}
		if n := bytes.Count(r.Header.Header(), []byte("\r\nAge:")); n != 1 {
			t.Errorf("%d Age lines", n)
		}
	}
	e.clock.Advance(3 * time.Second)
	want(e.get(t, "/hot"), "3", "edge; hit; ttl=57", "HIT")
	set := entry().hit.Load()
	if set == nil {
		t.Fatal("no hit header set after a hit")
	}
	want(e.get(t, "/hot"), "3", "edge; hit; ttl=57", "HIT")
	if entry().hit.Load() != set {
		t.Error("a hit at the same Age and ttl rebuilt the header set")
	}
	// Conditional: 304 with the same lines, from the same entry.
	if r := e.get(t, "/hot", "If-None-Match", `"v1"`); r.StatusCode() != fasthttp.StatusNotModified {
		t.Errorf("conditional hit: %d", r.StatusCode())
	}
	e.clock.Advance(2 * time.Second)
	want(e.get(t, "/hot"), "5", "edge; hit; ttl=55", "HIT")
	if entry().hit.Load() == set {
		t.Error("the header set was not rebuilt when Age changed")
	}
	// Stale (within stale-while-revalidate): its own lines, not the hit set.
	e.clock.Advance(60 * time.Second)
	r := e.get(t, "/hot")
	if xcache(r) != "STALE" || !strings.HasPrefix(string(r.Header.Peek("Cache-Status")), "edge; hit; detail=stale-while-revalidate") {
		t.Errorf("stale answer: X-Cache %q, Cache-Status %q", xcache(r), r.Header.Peek("Cache-Status"))
	}
}

// TestHotRequestWarmsRestoredEntry: the detector names a URL once, when it
// turns hot; an entry stored again afterwards (here after expiring) is
// warmed by the next hot request that hits it, and only by a hot one.
func TestHotRequestWarmsRestoredEntry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &config.RouteCache{}, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=10")
		ctx.SetBodyString(pageBody)
	})
	key, err := AppendKey(nil, []byte("http"), []byte("shop.example"), []byte("/sale"), nil)
	if err != nil {
		t.Fatal(err)
	}
	warm := func() bool {
		o := e.cache.store.get(key, e.clock.Now().UnixNano())
		return o != nil && o.warm.Load() && o.variants[0].hdr.Load() != nil
	}
	e.get(t, "/sale")
	if !e.cache.Promote(string(key)) || !warm() {
		t.Fatal("named hot: not warm")
	}
	// Expired (no validators, no stale window): dropped, then stored anew.
	e.clock.Advance(11 * time.Second)
	e.get(t, "/sale")
	if warm() {
		t.Fatal("a new entry is warm without being named")
	}
	hit := func(hot bool) {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/sale")
		ctx.Request.Header.SetHost("shop.example")
		if hot {
			e.route.ServeHot(&ctx, false)
		} else {
			e.route.Serve(&ctx, false)
		}
		if xcache(&ctx.Response) != "HIT" {
			t.Fatalf("X-Cache %q", xcache(&ctx.Response))
		}
	}
	hit(false)
	if warm() {
		t.Fatal("a plain hit warmed the entry")
	}
	hit(true)
	if !warm() {
		t.Fatal("a hot hit did not warm the entry")
	}
	hit(true)
	checkAccounting(t, e.cache.store)
}

// A fetch carries no header with an underscore in its name: a CGI-style
// origin would read Accept_Language as Accept-Language and store, under
// the secondary key of the client's dashed header, an answer for another
// language; If_None_Match could make it answer 304 to the cache's
// unconditional fetch.
func TestFetchDropsUnderscoreNames(t *testing.T) {
	t.Parallel()
	var saw atomic.Value
	saw.Store("")
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute)}, func(ctx *fasthttp.RequestCtx) {
		var names []string
		for k := range ctx.Request.Header.All() {
			if bytes.IndexByte(k, '_') >= 0 {
				names = append(names, string(k))
			}
		}
		saw.Store(strings.Join(names, ","))
		ctx.Response.Header.Set("Vary", "Accept-Language")
		ctx.SetBodyString("lang=" + string(ctx.Request.Header.Peek("Accept-Language")))
	})
	r := e.get(t, "/p", "Accept-Language", "de", "Accept_Language", "xx", "If_None_Match", "*", "X_Shop", "1")
	if got := saw.Load(); got != "" {
		t.Fatalf("origin got underscore headers %q", got)
	}
	if string(r.Body()) != "lang=de" {
		t.Fatalf("first answer %q", r.Body())
	}
	r = e.get(t, "/p", "Accept-Language", "de")
	if xcache(r) != "HIT" || string(r.Body()) != "lang=de" {
		t.Fatalf("second client: %q %q", xcache(r), r.Body())
	}
}
