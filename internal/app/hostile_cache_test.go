package app

import (
	"strconv"
	"strings"
	"testing"
)

// TestHostilePathTricks sends path spellings meant to reach another route or
// another resource's cache entry. Each lands on the route and cache key of
// the path it resolves to (the origin echoes the path it got), and the
// clean pages are unchanged after the tricks.
func TestHostilePathTricks(t *testing.T) {
	t.Parallel()
	o := startEchoOrigin(t)
	pub, _, _ := startNode(t, hostileYAML, o.addr)
	page := func(p string) string { return "GET " + p + " X-Forwarded-Host=shop" }
	for _, p := range []string{"/item/1", "/item/2"} {
		if r := rawGet(t, pub, p, ""); r.status != 200 || r.body != page(p) {
			t.Fatalf("priming %s: %d %q", p, r.status, r.body)
		}
	}
	cases := []struct {
		target string
		status int
		body   string // "" for a refusal
		cache  string // X-Cache wanted when status is 200
	}{
		{"/item/../admin", 404, "", ""},
		{"/item/%2e%2e/admin", 404, "", ""},
		{"/item/%2E%2e/x", 404, "", ""},
		{"/item/./../cart/1", 200, page("/cart/1"), ""},
		{"//item/1", 200, page("/item/1"), "HIT"},
		{"/item//1", 200, page("/item/1"), "HIT"},
		{"/%69tem/1", 200, page("/item/1"), "HIT"},
		{"/cart/../item/1", 200, page("/item/1"), "HIT"},
		{"/item/1/../2", 200, page("/item/2"), "HIT"},
		{"/item/2/%2e%2e/1", 200, page("/item/1"), "HIT"},
		{"/item/2/..%2f1", 400, "", ""},
		{"/item/1%2f..%2f2", 400, "", ""},
		{"/item/1%00", 400, "", ""},
		{"/item/1/", 200, page("/item/1/"), "MISS"},
		{"/item/1;2", 200, page("/item/1;2"), "MISS"},
		{"/ITEM/1", 404, "", ""},
	}
	for _, c := range cases {
		r := rawGet(t, pub, c.target, "")
		if r.status != c.status {
			t.Errorf("%s: status %d %q, want %d", c.target, r.status, r.body, c.status)
			continue
		}
		if c.status != 200 {
			if strings.Contains(r.body, "GET ") {
				t.Errorf("%s: refusal carries an origin body: %q", c.target, r.body)
			}
			continue
		}
		if r.body != c.body {
			t.Errorf("%s: body %q, want %q", c.target, r.body, c.body)
		}
		if c.cache != "" && r.header.Get("X-Cache") != c.cache {
			t.Errorf("%s: X-Cache %q, want %q", c.target, r.header.Get("X-Cache"), c.cache)
		}
	}
	// The clean pages still answer with their own entries.
	for _, p := range []string{"/item/1", "/item/2"} {
		if r := rawGet(t, pub, p, ""); r.body != page(p) || r.header.Get("X-Cache") != "HIT" {
			t.Errorf("%s after the tricks: %q X-Cache %q", p, r.body, r.header.Get("X-Cache"))
		}
	}
}

// TestHostileCachePoisoning sends a first request carrying a header the
// cache does not key on (or a body on GET); the origin reflects such headers
// in its body. A second, clean client of the same page must get what the
// origin says to a clean request.
func TestHostileCachePoisoning(t *testing.T) {
	t.Parallel()
	o := startEchoOrigin(t)
	pub, _, _ := startNode(t, hostileYAML, o.addr)
	cases := []struct{ name, extra string }{
		{"X-Forwarded-Host", "X-Forwarded-Host: evil.example\r\n"},
		{"X-Original-URL", "X-Original-URL: /admin\r\n"},
		{"X-Rewrite-URL", "X-Rewrite-URL: /admin\r\n"},
		{"X-HTTP-Method-Override", "X-HTTP-Method-Override: DELETE\r\n"},
		{"body on GET", "Content-Length: 4\r\n\r\nevil"},
	}
	for i, c := range cases {
		path := "/item/p" + strconv.Itoa(i)
		clean := "GET " + path + " X-Forwarded-Host=shop"
		var msg string
		if strings.HasPrefix(c.extra, "Content-Length") {
			msg = "GET " + path + " HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n" + c.extra
		} else {
			msg = "GET " + path + " HTTP/1.1\r\nHost: shop\r\n" + c.extra + "Connection: close\r\n\r\n"
		}
		first := rawExchange(t, pub, msg, 2e9)
		if first.status != 200 && (first.status < 400 || first.status > 499) {
			t.Errorf("%s: hostile request got %d", c.name, first.status)
		}
		second := rawGet(t, pub, path, "")
		if second.status != 200 || second.body != clean {
			t.Errorf("%s: clean client got %d %q, want %q (first got %d %q)", c.name, second.status, second.body, clean, first.status, first.body)
		}
	}
	// Host spellings: the default port names the same site; another port
	// another key. Neither changes what a clean client gets.
	for _, host := range []string{"shop:80", "SHOP", "shop.", "shop:8080", "shop:080"} {
		path := "/item/h-" + strings.NewReplacer(":", "_", ".", "_").Replace(host)
		first := rawExchange(t, pub, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n", 2e9)
		second := rawGet(t, pub, path, "")
		if want := "GET " + path + " X-Forwarded-Host=shop"; second.body != want {
			t.Errorf("Host %s: clean client got %q, want %q (first got %d %q)", host, second.body, want, first.status, first.body)
		}
	}
}
