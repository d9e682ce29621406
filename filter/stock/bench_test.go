package stock

import (
	"context"
	"sync/atomic"
	"testing"

	"edge/filter"
	"edge/internal/config"
	"edge/internal/testredis"
)

// BenchmarkGateSoldOut is the answer most orders of a flash sale get: from
// the local flag, no I/O.
func BenchmarkGateSoldOut(b *testing.B) {
	g, _, _ := memGate(b, 0, nil, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := newRequest("42", "u")
		for pb.Next() {
			g.Handle(r.ctx, r.st)
		}
	})
}

// BenchmarkGatePassMemory is one order through Handle and After (kept) on
// the memory store, with a per-user cap.
func BenchmarkGatePassMemory(b *testing.B) {
	g, _, _ := memGate(b, 1<<40, &config.RouteStock{PerUser: 1 << 30}, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := newRequest("42", "shopper")
		for pb.Next() {
			if g.Handle(r.ctx, r.st) != filter.Continue {
				b.Fatal("refused")
			}
			r.ctx.Response.SetStatusCode(201)
			g.After(r.ctx, r.st)
		}
	})
}

// BenchmarkGatePassRedis is Handle on a real Redis: one EVALSHA per order,
// checked with a counting hook.
func BenchmarkGatePassRedis(b *testing.B) {
	srv := testredis.Start(b)
	var n atomic.Int64
	s := newRedisStore(b, newClient(b, &n, srv.Addr), RedisOptions{})
	sales := NewSales([]*config.Sale{{Item: "42", Stock: 1 << 40}})
	sale := sales.Get("42")
	if _, err := s.Seed(context.Background(), sale, 1<<40); err != nil {
		b.Fatal(err)
	}
	g := NewGate("order", nil, sales, s, "closed", nil, quiet)
	r := newRequest("42", "")
	g.Handle(r.ctx, r.st) // loads the script
	r.ctx.ResetUserValues()
	b.ReportAllocs()
	start, orders := n.Load(), int64(0)
	for b.Loop() {
		r.st.Reserved = false
		if g.Handle(r.ctx, r.st) != filter.Continue {
			b.Fatal("refused")
		}
		r.ctx.ResetUserValues()
		orders++
	}
	if got := n.Load() - start; got != orders {
		b.Fatalf("%d Redis commands for %d orders", got, orders)
	}
}
