package orders

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestTicket(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		tk := NewTicket()
		if !ValidTicket([]byte(tk)) {
			t.Fatalf("NewTicket() = %q, not valid", tk)
		}
		if seen[tk] {
			t.Fatalf("ticket %q drawn twice", tk)
		}
		seen[tk] = true
	}
	for _, bad := range []string{"", "short", "AAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAA/A", "AAAAAAAAAAAAAAAAAAAA.A"} {
		if ValidTicket([]byte(bad)) {
			t.Errorf("ValidTicket(%q) = true", bad)
		}
	}
}

func TestRequestRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, method, uri, body string
		headers                 map[string]string
	}{
		{"form post", "POST", "/order?item=42", "qty=1&quiz_answer=7", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Cookie": "session=abc"}},
		{"empty body", "POST", "/order/42", "", map[string]string{"X-User-Id": "alice"}},
		{"raw target kept", "POST", "/a/../order?x=%2F", "{}", map[string]string{"Content-Type": "application/json"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req := fasthttp.AcquireRequest()
			defer fasthttp.ReleaseRequest(req)
			req.Header.SetMethod(c.method)
			req.SetRequestURI(c.uri)
			req.Header.SetHost("shop.example")
			req.UseHostHeader = true
			for k, v := range c.headers {
				req.Header.Set(k, v)
			}
			req.SetBodyString(c.body)
			wire, err := encodeRequest(req)
			if err != nil {
				t.Fatal(err)
			}
			got := fasthttp.AcquireRequest()
			defer fasthttp.ReleaseRequest(got)
			if err := decodeRequest(wire, got); err != nil {
				t.Fatal(err)
			}
			if string(got.Header.Method()) != c.method || string(got.RequestURI()) != c.uri ||
				string(got.Body()) != c.body || string(got.Host()) != "shop.example" {
				t.Fatalf("got %s %s host %s body %q", got.Header.Method(), got.RequestURI(), got.Host(), got.Body())
			}
			for k, v := range c.headers {
				if g := string(got.Header.Peek(k)); g != v {
					t.Errorf("header %s = %q, want %q", k, g, v)
				}
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	cases := []struct {
		base     time.Duration
		attempts int
		want     time.Duration // before jitter
	}{
		{500 * time.Millisecond, 1, 500 * time.Millisecond},
		{500 * time.Millisecond, 2, time.Second},
		{500 * time.Millisecond, 4, 4 * time.Second},
		{500 * time.Millisecond, 5, 8 * time.Second},
		{500 * time.Millisecond, 6, 10 * time.Second},
		{500 * time.Millisecond, 1000, 10 * time.Second},
		{time.Minute, 3, time.Minute},
	}
	for _, c := range cases {
		for range 20 {
			got := backoff(c.base, c.attempts)
			lo, hi := time.Duration(float64(c.want)*0.8), time.Duration(float64(c.want)*1.2)
			if got < lo || got > hi {
				t.Fatalf("backoff(%s, %d) = %s, want %s ±20%%", c.base, c.attempts, got, c.want)
			}
		}
	}
}

func TestParseWait(t *testing.T) {
	t.Parallel()
	cases := map[string]time.Duration{
		"": 0, "5": 5 * time.Second, "0": 0, "-3": 0, "1500ms": 1500 * time.Millisecond,
		"2s": 2 * time.Second, "-1s": 0, "soon": 0,
	}
	for in, want := range cases {
		if got := parseWait([]byte(in)); got != want {
			t.Errorf("parseWait(%q) = %s, want %s", in, got, want)
		}
	}
}
