package app

import (
	"strings"
	"testing"
	"time"
)

// hostileYAML is a node with one cached item route and one uncached write
// route in front of an echoOrigin; %s are public, admin and origin addresses.
const hostileYAML = `listen: %s
admin: {listen: %s, token: s3cret}
server: {read_timeout: 1s, max_header_size: 4KiB, max_body_size: 1KiB}
upstreams:
  shop: {servers: [%s], timeout: 2s}
routes:
  - name: item
    match: {path: /item/}
    upstream: shop
    cache: {ttl: 60s}
  - name: cart
    match: {path: /cart/}
    upstream: shop
`

// TestHostileSmuggling sends requests whose framing two HTTP parsers could
// read differently. Each must be answered 400 on a closed connection and
// must never reach the origin — neither the request nor anything smuggled
// behind it.
func TestHostileSmuggling(t *testing.T) {
	t.Parallel()
	o := startEchoOrigin(t)
	pub, _, _ := startNode(t, hostileYAML, o.addr)
	smuggled := "GET /item/smuggled HTTP/1.1\r\nHost: shop\r\n\r\n"
	cases := []struct{ name, msg string }{
		{"CL and TE chunked", "POST /cart/1 HTTP/1.1\r\nHost: shop\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
		{"TE chunked and CL", "POST /cart/1 HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\nContent-Length: 48\r\n\r\n0\r\n\r\n" + smuggled},
		{"two different CLs", "POST /cart/1 HTTP/1.1\r\nHost: shop\r\nContent-Length: 0\r\nContent-Length: 45\r\n\r\n" + smuggled},
		{"two equal CLs", "POST /cart/1 HTTP/1.1\r\nHost: shop\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"},
		{"CL list", "POST /cart/1 HTTP/1.1\r\nHost: shop\r\nContent-Length: 3, 3\r\n\r\nabc"},
		{"signed CL", "POST /cart/1 HTTP/1.1\r\nHost: shop\r\nContent-Length: +3\r\n\r\nabc"},
		{"TE not chunked", "POST /cart/1 HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
		{"TE obfuscated", "POST /cart/1 HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc"},
		{"obs-fold", "GET /item/1 HTTP/1.1\r\nHost: shop\r\nX-A: a\r\n b\r\n\r\n"},
		{"obs-fold tab", "GET /item/1 HTTP/1.1\r\nHost: shop\r\nX-A: a\r\n\tTransfer-Encoding: chunked\r\n\r\n"},
		{"bare LF in header", "GET /item/1 HTTP/1.1\r\nHost: shop\r\nX-A: a\nTransfer-Encoding: chunked\r\n\r\n"},
		{"bad chunk size", "POST /cart/1 HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := o.hits.Load()
			r := rawExchange(t, pub, c.msg, time.Second)
			if r.status != 400 || r.more || !r.closed {
				t.Errorf("got status %d (second response %v, closed %v) body %q; want 400 and close", r.status, r.more, r.closed, r.body)
			}
			if strings.Contains(r.body, "error when") || strings.Contains(r.body, "cannot") {
				t.Errorf("parser text reached the client: %q", r.body)
			}
			if n := o.hits.Load() - before; n != 0 {
				t.Errorf("%d request(s) reached the origin", n)
			}
		})
	}
}
