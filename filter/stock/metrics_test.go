package stock

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"edge/internal/config"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	store := NewMemory()
	sales := NewSales([]*config.Sale{{Item: "42", Stock: 5, Name: "phone"}, {Item: "43", Stock: 1, Name: "case"}})
	l := NewLedger(store, m, nil, quiet)
	if err := l.Seed(context.Background(), sales); err != nil {
		t.Fatal(err)
	}
	l.Use(sales)
	g := NewGate("order", nil, sales, store, "closed", m, quiet)
	for range 2 {
		r := newRequest("42", "")
		g.Handle(r.ctx, r.st)
	}
	r := newRequest("42", "")
	g.Handle(r.ctx, r.st)
	r.answer(201, "{}")
	g.After(r.ctx, r.st)

	want := `
# HELP edge_stock_remaining Units left to take, by sale, as this node last saw them.
# TYPE edge_stock_remaining gauge
edge_stock_remaining{sale="case"} 1
edge_stock_remaining{sale="phone"} 2
# HELP edge_stock_reserved Units taken by orders the shop has not answered yet, by sale, as this node last saw them.
# TYPE edge_stock_reserved gauge
edge_stock_reserved{sale="case"} 0
edge_stock_reserved{sale="phone"} 2
# HELP edge_stock_sold_total Units this node kept because the shop accepted the order, by sale.
# TYPE edge_stock_sold_total counter
edge_stock_sold_total{sale="phone"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"edge_stock_remaining", "edge_stock_reserved", "edge_stock_sold_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(m.decisions.WithLabelValues("order", "taken")); n != 3 {
		t.Fatalf("taken %v", n)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
