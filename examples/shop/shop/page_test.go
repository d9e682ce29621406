package shop_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"edge/examples/shop/shop"
)

func TestItemPage(t *testing.T) {
	t.Parallel()
	s := newShop(t, shop.Options{Stock: map[string]int{"42": 3}, PageMaxAge: 5 * time.Second})
	h := s.Handler()

	a := serve(h, "GET", "/item/42", nil)
	if a.Status != http.StatusOK {
		t.Fatalf("GET /item/42: %d %q", a.Status, a.Body)
	}
	for _, want := range []string{
		`<esi:include src="/frag/user"/>`,
		`<esi:include src="/frag/price/42"/>`,
		`<esi:include src="/_edge/stock/42" alt="/frag/stock/42"/>`,
		`<esi:remove><p class="fallback"><a href="/frag/stock/42">`,
		`</esi:remove>`,
		`"/order?item=" + encodeURIComponent(item)`,
		`"X-Quiz-Token":`, `"X-Quiz-Answer":`, `"Idempotency-Key": key`,
		`Aurora Desk Lamp`, `<style>`,
	} {
		if !strings.Contains(a.Body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(a.Body, "http://") || strings.Contains(a.Body, "https://") {
		t.Error("page refers to an external asset")
	}
	for header, want := range map[string]string{
		"Cache-Control": "public, max-age=5",
		"Content-Type":  "text/html; charset=utf-8",
	} {
		if got := a.Header.Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	ck := a.Header.Get("Set-Cookie")
	if !strings.HasPrefix(ck, "session=") || !strings.Contains(ck, "HttpOnly") || len(ck) < len("session=")+20 {
		t.Errorf("Set-Cookie = %q, want a random session cookie", ck)
	}
	etag := a.Header.Get("ETag")
	if len(etag) < 10 || etag[0] != '"' {
		t.Fatalf("ETag = %q", etag)
	}

	for _, tc := range []struct {
		name   string
		header map[string]string
		status int
		cookie bool
	}{
		{"second visit keeps its session", map[string]string{"Cookie": "session=abc"}, 200, false},
		{"another visitor gets another session", nil, 200, true},
		{"revalidation", map[string]string{"If-None-Match": etag, "Cookie": "session=abc"}, 304, false},
		{"weak revalidation in a list", map[string]string{"If-None-Match": `"x", W/` + etag}, 304, true},
		{"stale etag", map[string]string{"If-None-Match": `"nope"`}, 200, true},
	} {
		b := serve(h, "GET", "/item/42", tc.header)
		if b.Status != tc.status || b.Header.Get("ETag") != etag {
			t.Errorf("%s: %d ETag %q, want %d %q", tc.name, b.Status, b.Header.Get("ETag"), tc.status, etag)
		}
		if got := b.Header.Get("Set-Cookie"); (got != "") != tc.cookie || (tc.cookie && got == ck) {
			t.Errorf("%s: Set-Cookie %q", tc.name, got)
		}
		if tc.status == 200 && b.Body != a.Body {
			t.Errorf("%s: page differs between visitors", tc.name)
		}
	}
}

func TestPagesAndFragments(t *testing.T) {
	t.Parallel()
	s := newShop(t, shop.Options{Stock: map[string]int{"42": 3, "43": 0, "777": 1}})
	h := s.Handler()
	for _, tc := range []struct {
		name, target string
		header       map[string]string
		status       int
		cache        string
		body         string
	}{
		{"unknown item page", "/item/99", nil, 404, "no-store", "no such item"},
		{"malformed item page", "/item/a%20b", nil, 404, "no-store", "no such item"},
		{"generated product", "/item/777", nil, 200, "public, max-age=2", "Item 777"},
		{"user from cookie", "/frag/user", map[string]string{"Cookie": "session=alice"}, 200, "private, no-store", "Hello, alice"},
		{"user from header", "/frag/user", map[string]string{"X-User-Id": "<bob>"}, 200, "private, no-store", "Hello, &lt;bob&gt;"},
		{"anonymous user", "/frag/user", nil, 200, "private, no-store", "Sign in"},
		{"price", "/frag/price/42", nil, 200, "public, max-age=1", `<s>$89.00</s><b>$42.00</b>`},
		{"price of unknown item", "/frag/price/99", nil, 404, "no-store", ""},
		{"stock", "/frag/stock/42", nil, 200, "public, max-age=1", `data-stock="3">3 left`},
		{"stock sold out", "/frag/stock/43", nil, 200, "public, max-age=1", "Sold out"},
		{"stock of unknown item", "/frag/stock/99", nil, 404, "no-store", ""},
		{"health", "/healthz", nil, 200, "no-store", "ok"},
		{"index", "/", nil, 200, "public, max-age=2", `href="/item/777"`},
	} {
		a := serve(h, "GET", tc.target, tc.header)
		if a.Status != tc.status || a.Header.Get("Cache-Control") != tc.cache || !strings.Contains(a.Body, tc.body) {
			t.Errorf("%s: %d %q Cache-Control %q; want %d %q containing %q",
				tc.name, a.Status, a.Body, a.Header.Get("Cache-Control"), tc.status, tc.cache, tc.body)
		}
		if tc.target != "/healthz" && !strings.HasPrefix(tc.target, "/item/") && a.Header.Get("Set-Cookie") != "" {
			t.Errorf("%s: sets a cookie", tc.name)
		}
	}
	// The stock fragment follows sales.
	serve(h, "POST", "/order?item=42", map[string]string{"X-User-Id": "a"})
	if a := serve(h, "GET", "/frag/stock/42", nil); !strings.Contains(a.Body, "2 left") {
		t.Errorf("stock after one sale: %q", a.Body)
	}
}

func BenchmarkItemPage(b *testing.B) {
	s := newShop(b, shop.Options{Stock: map[string]int{"42": 3}})
	h := s.Handler()
	b.ReportAllocs()
	for b.Loop() {
		serve(h, "GET", "/item/42", map[string]string{"Cookie": "session=abc"})
	}
}

func BenchmarkOrderMemory(b *testing.B) {
	s := newShop(b, shop.Options{Stock: map[string]int{"42": 1 << 30}})
	h := s.Handler()
	b.ReportAllocs()
	for b.Loop() {
		serve(h, "POST", "/order?item=42", map[string]string{"X-User-Id": "a"})
	}
}
