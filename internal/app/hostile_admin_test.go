package app

import (
	"strings"
	"testing"
	"time"
)

// TestHostileAdminAuth knocks on the admin endpoints without the right
// bearer token, and looks for them on the public listener.
func TestHostileAdminAuth(t *testing.T) {
	t.Parallel()
	o := startEchoOrigin(t)
	const token = "0123456789abcdef0123456789abcdef"
	yaml := strings.Replace(hostileYAML, "admin: {listen: %s, token: s3cret}", "admin: {listen: %s, token: "+token+", guard_reads: true}", 1)
	yaml += "sales:\n  - {item: \"42\", stock: 5}\n"
	yaml = strings.Replace(yaml, "  - name: cart\n", "  - name: order\n    match: {path_exact: /order, methods: [POST]}\n    upstream: shop\n    item: {query: item}\n  - name: cart\n", 1)
	pub, adm, _ := startNode(t, yaml, o.addr)

	wrong := []struct{ name, auth string }{
		{"missing", ""},
		{"empty bearer", "Bearer "},
		{"wrong", "Bearer nope"},
		{"last byte differs", "Bearer " + token[:len(token)-1] + "0"},
		{"prefix", "Bearer " + token[:len(token)-1]},
		{"longer", "Bearer " + token + "0"},
		{"basic scheme", "Basic " + token},
		{"no scheme", token},
		{"bearer twice", "Bearer Bearer " + token},
	}
	endpoints := []struct{ method, path string }{
		{"GET", "/config"},
		{"GET", "/stock"},
		{"GET", "/hot"},
		{"POST", "/purge?prefix=http://shop/"},
		{"PUT", "/stock/42"},
		{"POST", "/stock/42/release"},
		{"GET", "/quiz/bank"},
	}
	for _, e := range endpoints {
		for _, w := range wrong {
			code, body := do(t, e.method, "http://"+adm+e.path, w.auth)
			if code != 401 || strings.Contains(body, token) {
				t.Errorf("%s %s with %s token: %d %q, want 401", e.method, e.path, w.name, code, body)
			}
		}
		// A token in the query string is not a token.
		if code, _ := do(t, e.method, "http://"+adm+e.path+sep(e.path)+"token="+token, ""); code != 401 {
			t.Errorf("%s %s with the token in the query: %d, want 401", e.method, e.path, code)
		}
		// Never served on the public listener, token or not.
		if code, body := do(t, e.method, "http://"+pub+e.path, "Bearer "+token); code != 404 {
			t.Errorf("%s %s on the public listener: %d %q, want 404", e.method, e.path, code, body)
		}
	}
	if code, body := do(t, "GET", "http://"+adm+"/stock/42", "Bearer "+token); code != 200 || !strings.Contains(body, `"remaining":5`) {
		t.Errorf("GET /stock/42 with the token: %d %q", code, body)
	}
	if n := o.hits.Load(); n != 0 {
		t.Errorf("%d admin request(s) reached the origin", n)
	}
}

func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

// TestHostileForwardedFor spoofs X-Forwarded-For (and its relatives) from a
// peer that is not a trusted proxy: the per-IP limit keys on the TCP peer
// and still trips.
func TestHostileForwardedFor(t *testing.T) {
	t.Parallel()
	o := startEchoOrigin(t)
	pub, _, _ := startNode(t, `listen: %s
admin: {listen: %s, token: s3cret}
trusted_proxies: [10.0.0.0/8]
upstreams:
  shop: {servers: [%s], timeout: 2s}
routes:
  - name: cart
    match: {path: /cart/}
    upstream: shop
    ratelimit: [{per: ip, rate: 1/m, burst: 3}]
`, o.addr)
	spoofs := []string{
		"X-Forwarded-For: 203.0.113.1\r\n",
		"X-Forwarded-For: 10.0.0.1, 203.0.113.2\r\n",
		"X-Real-IP: 203.0.113.3\r\n",
		"Forwarded: for=203.0.113.4\r\n",
		"X-Forwarded-For: 203.0.113.5\r\nX-Forwarded-For: 203.0.113.6\r\n",
		"True-Client-IP: 203.0.113.7\r\nCF-Connecting-IP: 203.0.113.8\r\n",
	}
	var codes []int
	for _, s := range spoofs {
		r := rawExchange(t, pub, "POST /cart/1 HTTP/1.1\r\nHost: shop\r\n"+s+"Content-Length: 0\r\nConnection: close\r\n\r\n", 2*time.Second)
		codes = append(codes, r.status)
		if r.status == 200 && !strings.HasPrefix(r.body, "POST /cart/1") {
			t.Errorf("unexpected body %q", r.body)
		}
	}
	want := []int{200, 200, 200, 429, 429, 429}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("statuses %v, want %v: a spoofed header changed the client IP", codes, want)
		}
	}
	if n := o.hits.Load(); n != 3 {
		t.Errorf("origin saw %d requests, want 3", n)
	}
}
