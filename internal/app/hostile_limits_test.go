package app

import (
	"net"
	"strings"
	"testing"
	"time"
)

// TestHostileLimits checks the size limits of the public listener: a
// header block over server.max_header_size gets 431, a body over
// server.max_body_size 413, and neither reaches the origin.
func TestHostileLimits(t *testing.T) {
	t.Parallel()
	o := startEchoOrigin(t)
	pub, _, _ := startNode(t, hostileYAML, o.addr)
	big := strings.Repeat("a", 8<<10)
	cases := []struct {
		name, msg, reason string
		status            int
	}{
		{"header over limit", "GET /item/1 HTTP/1.1\r\nHost: shop\r\nX-Big: " + big + "\r\n\r\n", "header_too_large", 431},
		{"many headers", "GET /item/1 HTTP/1.1\r\nHost: shop\r\n" + strings.Repeat("X-A: 0123456789\r\n", 400) + "\r\n", "header_too_large", 431},
		{"body over limit", "POST /cart/1 HTTP/1.1\r\nHost: shop\r\nContent-Length: 2048\r\n\r\n" + strings.Repeat("b", 2048), "body_too_large", 413},
		{"declared body over limit", "POST /cart/1 HTTP/1.1\r\nHost: shop\r\nContent-Length: 1000000000\r\n\r\n", "body_too_large", 413},
		{"chunked body over limit", "POST /cart/1 HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + strings.Repeat("b", 2048) + "\r\n0\r\n\r\n", "body_too_large", 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := o.hits.Load()
			r := rawExchange(t, pub, c.msg, time.Second)
			if r.status != c.status || !strings.Contains(r.body, c.reason) || !r.closed {
				t.Errorf("got %d %q (closed %v), want %d %s and close", r.status, r.body, r.closed, c.status, c.reason)
			}
			if n := o.hits.Load() - before; n != 0 {
				t.Errorf("%d request(s) reached the origin", n)
			}
		})
	}
}

// TestHostileSlowClient sends a request one byte at a time, well inside the
// read timeout between bytes but far beyond it in total: the node must cut
// the connection once server.read_timeout (1s) has passed, not wait for the
// client.
func TestHostileSlowClient(t *testing.T) {
	t.Parallel()
	o := startEchoOrigin(t)
	pub, _, _ := startNode(t, hostileYAML, o.addr)
	c, err := net.DialTimeout("tcp", pub, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := "GET /item/1 HTTP/1.1\r\nHost: shop\r\nX-Slow: " + strings.Repeat("s", 100) + "\r\n\r\n"
	start := time.Now()
	const bound = 3 * time.Second
	closed := false
	for i := 0; i < len(msg) && time.Since(start) < bound; i++ {
		if _, err := c.Write([]byte{msg[i]}); err != nil {
			closed = true
			break
		}
		// Poll for a close (EOF or reset) while pacing the bytes.
		_ = c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		var buf [512]byte
		if _, err := c.Read(buf[:]); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
		}
		closed = true // an answer (408) or EOF: either way the node is done
		break
	}
	if !closed {
		t.Fatalf("connection still open after %v of a slow request (read timeout 1s)", time.Since(start).Round(time.Millisecond))
	}
	if el := time.Since(start); el > bound {
		t.Errorf("connection cut after %v, want within %v", el, bound)
	}
	if n := o.hits.Load(); n != 0 {
		t.Errorf("%d slow request(s) reached the origin", n)
	}
}

// TestHostileRequestLines sends malformed request lines and targets: each
// gets a 4xx (never a 5xx, never a crash) and the node keeps serving.
func TestHostileRequestLines(t *testing.T) {
	t.Parallel()
	o := startEchoOrigin(t)
	pub, _, _ := startNode(t, hostileYAML, o.addr)
	cases := []struct {
		name, line string
		status     int // 0: any 4xx
	}{
		{"empty target", "GET  HTTP/1.1", 0},
		{"no version", "GET /item/1", 0},
		{"bad version", "GET /item/1 HTTP/9.9", 505},
		{"lower-case method", "get /item/1 HTTP/1.1", 0},
		{"method with control char", "G\x01T /item/1 HTTP/1.1", 0},
		{"unknown method", "BREW /item/1 HTTP/1.1", 0},
		{"absolute-form other host", "GET http://evil.example/item/1 HTTP/1.1", 0},
		{"absolute-form bad scheme", "GET gopher://shop/item/1 HTTP/1.1", 0},
		{"asterisk", "GET * HTTP/1.1", 0},
		{"OPTIONS asterisk", "OPTIONS * HTTP/1.1", 0},
		{"CONNECT authority", "CONNECT evil.example:443 HTTP/1.1", 0},
		{"control char in path", "GET /item/\x01 HTTP/1.1", 0},
		{"NUL in path", "GET /item/\x00x HTTP/1.1", 0},
		{"DEL in path", "GET /item/\x7f HTTP/1.1", 0},
		{"very long URI", "GET /item/" + strings.Repeat("a", 6000) + " HTTP/1.1", 0},
		{"bad percent", "GET /item/%zz HTTP/1.1", 0},
		{"truncated percent", "GET /item/% HTTP/1.1", 0},
		{"encoded NUL", "GET /item/%00 HTTP/1.1", 0},
		{"encoded slash", "GET /item/a%2fb HTTP/1.1", 0},
		{"above root", "GET /../../etc/passwd HTTP/1.1", 0},
		{"no leading slash", "GET item/1 HTTP/1.1", 0},
	}
	// The group returns once its parallel cases are done.
	t.Run("lines", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				r := rawExchange(t, pub, c.line+"\r\nHost: shop\r\n\r\n", 500*time.Millisecond)
				if (c.status == 0 && (r.status < 400 || r.status > 499)) || (c.status != 0 && r.status != c.status) {
					t.Errorf("%q: status %d %q, want %d (0: any 4xx)", c.line, r.status, r.body, c.status)
				}
				if o.hits.Load() != 0 {
					t.Errorf("%q reached the origin", c.line)
				}
			})
		}
	})
	if code, body := do(t, "GET", "http://"+pub+"/item/ok", ""); code != 200 || !strings.HasPrefix(body, "GET /item/ok ") {
		t.Fatalf("node after hostile lines: %d %q", code, body)
	}
}
