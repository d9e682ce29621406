package gateway

import (
	"testing"

	"edge/internal/config"
)

func TestMatcher(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name               string
		m                  config.Match
		host, path, method string
		want               bool
	}{
		{"prefix", config.Match{Path: "/item/"}, "shop.test", "/item/42", "GET", true},
		{"prefix miss", config.Match{Path: "/item/"}, "shop.test", "/items", "GET", false},
		{"exact", config.Match{PathExact: "/order"}, "shop.test", "/order", "POST", true},
		{"exact is not a prefix", config.Match{PathExact: "/order"}, "shop.test", "/order/x", "POST", false},
		{"method allowed", config.Match{Path: "/", Methods: []string{"post"}}, "h", "/order", "POST", true},
		{"method refused", config.Match{Path: "/", Methods: []string{"POST"}}, "h", "/order", "GET", false},
		{"GET implies HEAD", config.Match{Path: "/", Methods: []string{"GET"}}, "h", "/", "HEAD", true},
		{"host exact, port ignored", config.Match{Host: "Shop.Test", Path: "/"}, "shop.test:8080", "/", "GET", true},
		{"host other", config.Match{Host: "shop.test", Path: "/"}, "evil.test", "/", "GET", false},
		{"host wildcard", config.Match{Host: "*.shop.test", Path: "/"}, "m.shop.test", "/", "GET", true},
		{"wildcard needs a subdomain", config.Match{Host: "*.shop.test", Path: "/"}, "shop.test", "/", "GET", false},
		{"wildcard suffix trick", config.Match{Host: "*.shop.test", Path: "/"}, "evilshop.test", "/", "GET", false},
		{"ipv6 host", config.Match{Host: "[::1]", Path: "/"}, "[::1]:8080", "/", "GET", true},
		{"empty match is everything", config.Match{}, "any", "/whatever", "PUT", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := compileMatch(c.m)
			if got := m.match([]byte(c.host), []byte(c.path), []byte(c.method)); got != c.want {
				t.Fatalf("match(%q %q %q) = %v, want %v", c.host, c.path, c.method, got, c.want)
			}
		})
	}
}

func TestMatcherAllocs(t *testing.T) {
	m := compileMatch(config.Match{Host: "*.shop.test", Path: "/item/", Methods: []string{"GET"}})
	host, path, method := []byte("m.shop.test:80"), []byte("/item/42"), []byte("GET")
	if n := testing.AllocsPerRun(100, func() { m.match(host, path, method) }); n != 0 {
		t.Fatalf("match allocates %v times per call", n)
	}
}
