package app

import (
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestWriteFunnelStageOne drives the first funnel stages end to end: item,
// identity, per-user rate limit and the sale window, with a real origin that
// counts what reaches it.
func TestWriteFunnelStageOne(t *testing.T) {
	t.Parallel()
	origin := startOrigin(t)
	starts := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	pub, _, _ := startNode(t, `listen: %s
admin: {listen: %s, token: s3cret}
identity: {header: X-User-Id}
upstreams:
  shop: {servers: [%s], timeout: 2s}
routes:
  - name: order
    match: {path_exact: /order, methods: [POST]}
    upstream: shop
    item: {query: item}
    identity: required
    ratelimit: [{per: user, rate: 1/m, burst: 2}]
sales:
  - {item: "42", stock: 10}
  - {item: "43", stock: 10, starts: `+starts+`}
`, origin)

	post := func(item, user string) (*fasthttp.Response, func()) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.Header.SetMethod("POST")
		req.SetRequestURI("http://" + pub + "/order?item=" + item)
		if user != "" {
			req.Header.Set("X-User-Id", user)
		}
		if err := fasthttp.DoTimeout(req, resp, 3*time.Second); err != nil {
			t.Fatal(err)
		}
		fasthttp.ReleaseRequest(req)
		return resp, func() { fasthttp.ReleaseResponse(resp) }
	}
	cases := []struct {
		item, user string
		status     int
		body       string
	}{
		{"", "alice", 400, "item_invalid"},
		{"42", "", 401, "identity_required"},
		{"42", "alice", 200, ""},
		{"42", "alice", 200, ""},
		{"42", "alice", 429, "rate_limited"},
		{"42", "bob", 200, ""},
		{"43", "carol", 403, "not_started"},
	}
	for i, c := range cases {
		resp, done := post(c.item, c.user)
		if resp.StatusCode() != c.status || !strings.Contains(string(resp.Body()), c.body) {
			t.Errorf("case %d (%s by %q): %d %s, want %d %s", i, c.item, c.user, resp.StatusCode(), resp.Body(), c.status, c.body)
		}
		if c.status == 429 || c.status == 403 {
			if len(resp.Header.Peek("Retry-After")) == 0 {
				t.Errorf("case %d: no Retry-After", i)
			}
		}
		done()
	}
}
