package stock

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"edge/filter"
	"edge/internal/config"
)

func TestSoldOutCheck(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 12, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name         string
		item         string
		stock        int64 // -1: never seeded
		starts, ends time.Duration
		verdict      filter.Verdict
	}{
		{"sold out, no window", "42", 0, 0, 0, filter.Rejected},
		{"sold out inside the window", "42", 0, -time.Hour, time.Hour, filter.Rejected},
		{"units left", "42", 3, 0, 0, filter.Continue},
		{"not on sale", "43", 0, 0, 0, filter.Continue},
		{"no state yet", "42", -1, 0, 0, filter.Continue},
		{"sold out, not started: the window stage answers", "42", 0, time.Hour, 0, filter.Continue},
		{"sold out, ended: the window stage answers", "42", 0, -2 * time.Hour, -time.Hour, filter.Continue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sc := &config.Sale{Item: "42", Stock: max(c.stock, 0)}
			if c.starts != 0 {
				sc.Starts = now.Add(c.starts)
			}
			if c.ends != 0 {
				sc.Ends = now.Add(c.ends)
			}
			sales := NewSales([]*config.Sale{sc})
			store := NewMemory()
			if c.stock >= 0 {
				store.Seed(context.Background(), sales.Get("42"), c.stock)
			}
			m := NewMetrics(prometheus.NewRegistry())
			check := NewGate("order", nil, sales, store, "closed", m, quiet).SoldOutCheck(func() time.Time { return now })
			if check.Name() != "stock" {
				t.Errorf("name %q", check.Name())
			}
			r := newRequest(c.item, "u")
			if v := check.Handle(r.ctx, r.st); v != c.verdict {
				t.Fatalf("verdict %v, want %v (%d %s)", v, c.verdict, r.status(), r.body())
			}
			soldOut := testutil.ToFloat64(m.decisions.WithLabelValues("order", decSoldOut))
			if c.verdict == filter.Rejected {
				if r.status() != 410 || r.body() != `{"error":"sold_out"}` || r.st.Stage != "stock" || r.st.Reason != "sold_out" {
					t.Errorf("answer %d %s, stage %q reason %q", r.status(), r.body(), r.st.Stage, r.st.Reason)
				}
				if soldOut != 1 {
					t.Errorf("sold_out decisions %v, want 1", soldOut)
				}
				return
			}
			if r.status() != 200 || r.st.Stage != "" || soldOut != 0 {
				t.Errorf("passed on, but answered %d, stage %q, sold_out decisions %v", r.status(), r.st.Stage, soldOut)
			}
		})
	}
}

// TestSoldOutCheckAllocs: the answer most orders of a sale get allocates
// nothing.
func TestSoldOutCheckAllocs(t *testing.T) {
	g, _, _ := memGate(t, 0, nil, nil)
	check := g.SoldOutCheck(nil)
	r := newRequest("42", "u")
	if n := testing.AllocsPerRun(200, func() {
		r.st.Stage, r.st.Reason = "", ""
		check.Handle(r.ctx, r.st)
	}); n != 0 {
		t.Errorf("%v allocations per sold-out answer, want 0", n)
	}
}
