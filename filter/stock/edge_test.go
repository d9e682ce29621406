package stock

import (
	"context"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"
)

func TestStockHandler(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 12, 10, 0, 0, 0, time.UTC)
	store := NewMemory()
	sales := NewSales([]*config.Sale{
		{Item: "42", Stock: 17},
		{Item: "gone", Stock: 0},
		{Item: "soon", Stock: 3, Starts: now.Add(time.Hour)},
		{Item: "over", Stock: 3, Ends: now.Add(-time.Second)},
		{Item: `q"t`, Stock: 1},
		{Item: "unseeded", Stock: 1},
	})
	for _, s := range sales.All() {
		if s.Item != "unseeded" {
			store.Seed(context.Background(), s, s.Stock)
		}
	}
	l := NewLedger(store, nil, func() time.Time { return now }, quiet)
	l.Use(sales)
	h := StockHandler(l)

	cases := []struct {
		name, method, path string
		status             int
		body, cache        string
	}{
		{"on sale", "GET", "/_edge/stock/42", 200, `{"item":"42","remaining":17,"state":"on_sale"}`, "public, max-age=1"},
		{"head", "HEAD", "/_edge/stock/42", 200, `{"item":"42","remaining":17,"state":"on_sale"}`, "public, max-age=1"},
		{"sold out", "GET", "/_edge/stock/gone", 200, `{"item":"gone","remaining":0,"state":"sold_out"}`, "public, max-age=1"},
		{"not started", "GET", "/_edge/stock/soon", 200, `{"item":"soon","remaining":3,"state":"not_started"}`, "public, max-age=1"},
		{"ended", "GET", "/_edge/stock/over", 200, `{"item":"over","remaining":3,"state":"ended"}`, "public, max-age=1"},
		{"escaped item", "GET", `/_edge/stock/q"t`, 200, `{"item":"q\"t","remaining":1,"state":"on_sale"}`, "public, max-age=1"},
		{"counters unknown", "GET", "/_edge/stock/unseeded", 200, `{"item":"unseeded","remaining":null,"state":"on_sale"}`, "public, max-age=1"},
		{"not on sale", "GET", "/_edge/stock/43", 404, `{"error":"not_on_sale"}`, "no-store"},
		{"no item", "GET", "/_edge/stock/", 404, `{"error":"not_on_sale"}`, "no-store"},
		{"post", "POST", "/_edge/stock/42", 405, `{"error":"method_not_allowed"}`, "no-store"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := new(fasthttp.RequestCtx)
			ctx.Request.Header.SetMethod(c.method)
			ctx.Request.SetRequestURI(c.path)
			h(ctx)
			if ctx.Response.StatusCode() != c.status || string(ctx.Response.Body()) != c.body {
				t.Fatalf("got %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
			if cc := string(ctx.Response.Header.Peek("Cache-Control")); cc != c.cache {
				t.Fatalf("Cache-Control %q", cc)
			}
			if ct := string(ctx.Response.Header.ContentType()); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
}

func TestStockHandlerFollowsReload(t *testing.T) {
	t.Parallel()
	store := NewMemory()
	l := NewLedger(store, nil, nil, quiet)
	h := StockHandler(l)
	get := func() int {
		ctx := new(fasthttp.RequestCtx)
		ctx.Request.SetRequestURI("/_edge/stock/7")
		h(ctx)
		return ctx.Response.StatusCode()
	}
	if get() != 404 {
		t.Fatal("no sales yet")
	}
	sales := NewSales([]*config.Sale{{Item: "7", Stock: 2}})
	if err := l.Seed(context.Background(), sales); err != nil {
		t.Fatal(err)
	}
	l.Use(sales)
	if get() != 200 {
		t.Fatal("new sale not served")
	}
}

func BenchmarkStockHandler(b *testing.B) {
	store := NewMemory()
	sales := NewSales([]*config.Sale{{Item: "42", Stock: 17}})
	store.Seed(context.Background(), sales.Get("42"), 17)
	l := NewLedger(store, nil, nil, quiet)
	l.Use(sales)
	h := StockHandler(l)
	ctx := new(fasthttp.RequestCtx)
	ctx.Request.SetRequestURI("/_edge/stock/42")
	b.ReportAllocs()
	for b.Loop() {
		h(ctx)
	}
}
