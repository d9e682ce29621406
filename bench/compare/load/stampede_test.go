package main

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func serve(t *testing.T, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{Handler: h}
	go s.Serve(ln) //nolint:errcheck // ends when the listener closes
	t.Cleanup(func() { s.Shutdown() })
	return ln.Addr().String()
}

// TestStampedeIsSimultaneous: the handler holds every request until all
// clients have sent theirs, which only ends if the burst is simultaneous.
func TestStampedeIsSimultaneous(t *testing.T) {
	t.Parallel()
	const clients = 50
	var arrived sync.WaitGroup
	arrived.Add(clients)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	var cookies sync.Map
	addr := serve(t, func(ctx *fasthttp.RequestCtx) {
		cookies.Store(string(ctx.Request.Header.Cookie("session")), true)
		arrived.Done()
		select {
		case <-all:
		case <-time.After(5 * time.Second):
			ctx.Error("not simultaneous", fasthttp.StatusGatewayTimeout)
			return
		}
		ctx.SetBodyString("hello")
	})
	r, err := Stampede{Addr: addr, Path: "/slow/x", Clients: clients, ExpectSize: 5}.Run()
	if err != nil {
		t.Fatal(err)
	}
	if r.OK != clients || r.Errors != 0 || r.Status[200] != clients {
		t.Fatalf("result %+v, want %d OK", r, clients)
	}
	if !(r.MinUS <= r.P50US && r.P50US <= r.P99US && r.P99US <= r.MaxUS && r.MaxUS <= r.WallUS) {
		t.Fatalf("latencies out of order: %+v", r)
	}
	n := 0
	cookies.Range(func(any, any) bool { n++; return true })
	if n != clients {
		t.Fatalf("%d distinct session cookies, want one per client (%d)", n, clients)
	}
}

func TestStampedeCountsErrors(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	addr := serve(t, func(ctx *fasthttp.RequestCtx) {
		switch n.Add(1) % 3 {
		case 0:
			ctx.Error("boom", fasthttp.StatusBadGateway)
		case 1:
			ctx.SetBodyString("short")
		default:
			ctx.SetBodyString("right size")
		}
	})
	r, err := Stampede{Addr: addr, Path: "/", Clients: 30, ExpectSize: len("right size")}.Run()
	if err != nil {
		t.Fatal(err)
	}
	if r.OK != 10 || r.Errors != 20 || r.Status[502] != 10 || r.Status[200] != 20 {
		t.Fatalf("result %+v, want 10 OK, 20 errors (10 of them 502)", r)
	}
	if r.FirstError == "" {
		t.Fatal("no FirstError")
	}
}

func TestStampedeDialFailure(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Stampede{Addr: addr, Path: "/", Clients: 2, Timeout: time.Second}.Run()
	if err == nil || !strings.Contains(err.Error(), "dial") {
		t.Fatalf("err = %v, want a dial error", err)
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2), 50, 1 * time.Millisecond},
		{ms(1, 2, 3), 50, 2 * time.Millisecond},
		{ms(hundred...), 50, 50 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 100, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := Percentile(tt.sorted, tt.q); got != tt.want {
			t.Errorf("Percentile(%d values, %v) = %v, want %v", len(tt.sorted), tt.q, got, tt.want)
		}
	}
}
