package main

import (
	"bytes"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"edge/bench/compare/pages"
)

func startOrigin(t *testing.T, o *Origin) *fasthttp.Client {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	s := &fasthttp.Server{Handler: o.Handle}
	go s.Serve(ln) //nolint:errcheck // ends when the listener closes
	t.Cleanup(func() { ln.Close() })
	return &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
}

func get(t *testing.T, c *fasthttp.Client, path string) *fasthttp.Response {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI("http://origin" + path)
	resp := &fasthttp.Response{}
	if err := c.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp
}

func TestOriginPaths(t *testing.T) {
	t.Parallel()
	o := NewOrigin(100, time.Millisecond, 2*time.Millisecond)
	c := startOrigin(t, o)
	tests := []struct {
		path         string
		status       int
		body         []byte
		cacheControl string
		cookie       bool
		family       string
		minLatency   time.Duration
	}{
		{"/hot", 200, pages.Hot(), cacheable, true, "hot", 0},
		{"/u/0", 200, pages.U(0), cacheable, true, "u", 0},
		{"/u/99", 200, pages.U(99), cacheable, true, "u", 0},
		{"/u/100", 404, nil, "", false, "other", 0},
		{"/u/x", 404, nil, "", false, "other", 0},
		{"/esi/cached", 200, pages.ESI(pages.Cached), cacheable, true, "esi", 0},
		{"/esi/uncached", 200, pages.ESI(pages.Uncached), cacheable, true, "esi", 0},
		{"/ssi/cached", 200, pages.SSI(pages.Cached), cacheable, true, "ssi", 0},
		{"/ssi/uncached", 200, pages.SSI(pages.Uncached), cacheable, true, "ssi", 0},
		{"/frag/c2", 200, pages.Fragment(pages.Cached, 2), cacheable, false, "frag_c", 0},
		{"/frag/u3", 200, pages.Fragment(pages.Uncached, 3), "no-store", false, "frag_u", time.Millisecond},
		{"/frag/c4", 404, nil, "", false, "other", 0},
		{"/slow/run1", 200, pages.Slow(), cacheable, true, "slow", 2 * time.Millisecond},
		{"/nowhere", 404, nil, "", false, "other", 0},
	}
	for _, tt := range tests {
		before := o.Counts()
		start := time.Now()
		resp := get(t, c, tt.path)
		took := time.Since(start)
		if resp.StatusCode() != tt.status {
			t.Errorf("%s: status %d, want %d", tt.path, resp.StatusCode(), tt.status)
		}
		if tt.body != nil && !bytes.Equal(resp.Body(), tt.body) {
			t.Errorf("%s: body differs", tt.path)
		}
		if got := string(resp.Header.Peek("Cache-Control")); tt.body != nil && got != tt.cacheControl {
			t.Errorf("%s: Cache-Control %q, want %q", tt.path, got, tt.cacheControl)
		}
		if got := len(resp.Header.Peek("Set-Cookie")) > 0; got != tt.cookie {
			t.Errorf("%s: Set-Cookie present = %v, want %v", tt.path, got, tt.cookie)
		}
		if took < tt.minLatency {
			t.Errorf("%s: answered in %v, want at least %v", tt.path, took, tt.minLatency)
		}
		after := o.Counts()
		if d := after[tt.family] - before[tt.family]; d != 1 {
			t.Errorf("%s: %s counted %d times, want 1", tt.path, tt.family, d)
		}
		if d := after["total"] - before["total"]; d != 1 {
			t.Errorf("%s: total grew by %d, want 1", tt.path, d)
		}
	}
}

func TestOriginCountEndpoint(t *testing.T) {
	t.Parallel()
	o := NewOrigin(10, 0, 0)
	c := startOrigin(t, o)
	for range 3 {
		get(t, c, "/hot")
	}
	get(t, c, "/u/1")
	resp := get(t, c, "/_count")
	var counts map[string]int64
	if err := json.Unmarshal(resp.Body(), &counts); err != nil {
		t.Fatalf("decode /_count: %v", err)
	}
	want := map[string]int64{"hot": 3, "u": 1, "total": 4, "slow": 0}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("/_count %s = %d, want %d", k, counts[k], v)
		}
	}
	if got := string(resp.Header.Peek("Cache-Control")); got != "no-store" {
		t.Errorf("/_count Cache-Control %q, want no-store", got)
	}
}

func TestOriginWithoutCookie(t *testing.T) {
	t.Parallel()
	o := NewOrigin(1, 0, 0)
	o.SetCookie = false
	c := startOrigin(t, o)
	if v := get(t, c, "/hot").Header.Peek("Set-Cookie"); len(v) != 0 {
		t.Fatalf("Set-Cookie %q with SetCookie off", v)
	}
}
