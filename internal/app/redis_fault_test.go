package app

import (
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/testredis"
)

// TestRedisDownAtStart: a node whose Redis is down when it starts serves
// reads, refuses orders with 503 (the stock gate fails closed: nothing can
// be oversold), and sells by itself once Redis is up, without a restart.
func TestRedisDownAtStart(t *testing.T) {
	t.Parallel()
	rs := testredis.Start(t)
	rs.Stop()
	origin := startOrigin(t)
	yaml := strings.Replace(`listen: %s
admin: {listen: %s, token: s3cret}
redis: {addrs: [REDIS], on_error: open, timeout: 100ms}
identity: {header: X-User-Id}
upstreams:
  shop: {servers: [%s], timeout: 2s}
routes:
  - name: order
    match: {path_exact: /order, methods: [POST]}
    upstream: shop
    item: {query: item}
    identity: required
    ratelimit: [{per: user, rate: 100/s, burst: 100}]
    stock: {per_user: 0}
  - name: item
    match: {path: /item/}
    upstream: shop
sales:
  - {item: "42", stock: 5}
`, "REDIS", rs.Addr, 1)
	pub, _, _ := startNode(t, yaml, origin)

	order := func(user string) int {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod("POST")
		req.SetRequestURI("http://" + pub + "/order?item=42")
		req.Header.Set("X-User-Id", user)
		if err := fasthttp.DoTimeout(req, resp, 3*time.Second); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode()
	}
	if code, _ := do(t, "GET", "http://"+pub+"/item/1", ""); code != 200 {
		t.Fatalf("read while Redis is down: %d", code)
	}
	if code := order("alice"); code != 503 {
		t.Fatalf("order while Redis is down: %d, want 503 (fail closed)", code)
	}

	rs.Restart()
	deadline := time.Now().Add(10 * time.Second)
	sold := 0
	for sold == 0 && time.Now().Before(deadline) {
		if order("alice") == 200 {
			sold++
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if sold == 0 {
		t.Fatal("no order went through within 10s of Redis coming up")
	}
	for _, u := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		if order(u) == 200 {
			sold++
		}
	}
	if sold != 5 {
		t.Fatalf("sold %d units of a stock of 5 after Redis came back", sold)
	}
}
