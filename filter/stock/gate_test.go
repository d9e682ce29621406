package stock

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"

	"edge/filter"
	"edge/internal/config"
)

// memGate returns a gate on a fresh memory store with the sale "42" of
// stock units seeded (a negative stock leaves it unseeded).
func memGate(t testing.TB, stock int64, cfg *config.RouteStock, m *Metrics) (*Gate, *Memory, *Sale) {
	t.Helper()
	store := NewMemory()
	sales := NewSales([]*config.Sale{{Item: "42", Stock: max(stock, 0), Name: "phone"}})
	sale := sales.Get("42")
	if stock >= 0 {
		store.Seed(context.Background(), sale, stock)
	}
	return NewGate("order", cfg, sales, store, "closed", m, quiet), store, sale
}

func TestGateHandle(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		stock      int64
		item, user string
		prior      int // orders by the same user before
		verdict    filter.Verdict
		status     int
		body       string
		retry      string
		result     string
	}{
		{"taken", 5, "42", "u", 0, filter.Continue, 200, "", "", decTaken},
		{"not on sale", 5, "43", "u", 0, filter.Rejected, 404, `{"error":"not_on_sale"}`, "", decNotOnSale},
		{"sold out", 0, "42", "u", 0, filter.Rejected, 410, `{"error":"sold_out"}`, "", decSoldOut},
		{"limit reached", 5, "42", "u", 2, filter.Rejected, 409, `{"error":"limit_reached"}`, "", decLimit},
		{"no user, no cap", 5, "42", "", 2, filter.Continue, 200, "", "", decTaken},
		{"not seeded", -1, "42", "u", 0, filter.Rejected, 503, `{"error":"unavailable"}`, "2", decError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := NewMetrics(prometheus.NewRegistry())
			g, _, _ := memGate(t, c.stock, &config.RouteStock{PerUser: 2, RetryAfter: config.Duration(2 * time.Second)}, m)
			for range c.prior {
				r := newRequest(c.item, c.user)
				if g.Handle(r.ctx, r.st) != filter.Continue {
					t.Fatal("prior order refused")
				}
			}
			r := newRequest(c.item, c.user)
			if v := g.Handle(r.ctx, r.st); v != c.verdict {
				t.Fatalf("verdict %v, want %v (%s)", v, c.verdict, r.body())
			}
			if r.status() != c.status || r.body() != c.body || r.header("Retry-After") != c.retry {
				t.Fatalf("got %d %s retry %q", r.status(), r.body(), r.header("Retry-After"))
			}
			if r.st.Reserved != (c.verdict == filter.Continue) {
				t.Fatalf("reserved %v", r.st.Reserved)
			}
			if c.verdict == filter.Rejected && (r.st.Stage != "stock" || `{"error":"`+r.st.Reason+`"}` != c.body) {
				t.Fatalf("state %q/%q", r.st.Stage, r.st.Reason)
			}
			want := 1.0
			if c.result == decTaken {
				want += float64(c.prior)
			}
			if n := testutil.ToFloat64(m.decisions.WithLabelValues("order", c.result)); n != want {
				t.Fatalf("decision %s counted %v", c.result, n)
			}
		})
	}
}

func TestGateAfter(t *testing.T) {
	t.Parallel()
	const stock = 5
	cases := []struct {
		name    string
		shop    int    // the shop's (or forwarder's) status
		body    string // the shop's body
		later   string // a later stage that answered instead
		status  int    // what the shopper gets
		want    string
		info    Info
		soldOut bool
	}{
		{"accepted", 201, `{"order":"1"}`, "", 201, `{"order":"1"}`,
			Info{Remaining: stock - 1, Sold: 1}, false},
		{"shop sold out 410", 410, `{"error":"sold_out"}`, "", 410, `{"error":"sold_out"}`,
			Info{Remaining: stock, GivenBack: 1, SoldOut: true}, true},
		{"shop sold out 409", 409, `{"error":"sold_out"}`, "", 409, `{"error":"sold_out"}`,
			Info{Remaining: stock, GivenBack: 1, SoldOut: true}, true},
		{"shop 409 duplicate", 409, `{"error":"already_ordered"}`, "", 409, `{"error":"already_ordered"}`,
			Info{Remaining: stock, GivenBack: 1}, false},
		{"shop 422", 422, `{"error":"idempotency_key_reused"}`, "", 422, `{"error":"idempotency_key_reused"}`,
			Info{Remaining: stock, GivenBack: 1}, false},
		{"shop 500", 500, `{"error":"internal_error"}`, "", 503, `{"error":"retry"}`,
			Info{Remaining: stock, GivenBack: 1}, false},
		{"forwarder 502", 502, `{"error":"bad_gateway"}`, "", 503, `{"error":"retry"}`,
			Info{Remaining: stock, GivenBack: 1}, false},
		{"forwarder timeout 504", 504, `{"error":"upstream_timeout"}`, "", 503, `{"error":"retry"}`,
			Info{Remaining: stock, GivenBack: 1}, false},
		{"later stage refused", 0, "", "queue", 503, `{"error":"queue_full"}`,
			Info{Remaining: stock, GivenBack: 1}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := NewMetrics(nil)
			g, store, sale := memGate(t, stock, &config.RouteStock{PerUser: 1}, m)
			r := newRequest("42", "alice")
			if g.Handle(r.ctx, r.st) != filter.Continue {
				t.Fatal("refused")
			}
			if c.later != "" {
				filter.Reject(r.ctx, r.st, c.later, 503, "queue_full", time.Second)
			} else {
				r.answer(c.shop, c.body)
			}
			g.After(r.ctx, r.st)
			g.After(r.ctx, r.st) // a second After must not give twice
			if r.status() != c.status || r.body() != c.want {
				t.Fatalf("shopper got %d %s, want %d %s", r.status(), r.body(), c.status, c.want)
			}
			if c.want == `{"error":"retry"}` && (r.header("Retry-After") != "1" || r.st.Reason != "retry") {
				t.Fatalf("Retry-After %q reason %q", r.header("Retry-After"), r.st.Reason)
			}
			if r.st.Reserved {
				t.Fatal("still reserved after After")
			}
			if in, _ := store.Info(context.Background(), sale); in != c.info {
				t.Fatalf("info %+v, want %+v", in, c.info)
			}
			if store.SoldOut(sale) != c.soldOut {
				t.Fatalf("sold-out flag %v", store.SoldOut(sale))
			}
			sold := testutil.ToFloat64(m.sold.WithLabelValues("phone"))
			back := testutil.ToFloat64(m.givenBack.WithLabelValues("phone"))
			if int64(sold) != c.info.Sold || int64(back) != c.info.GivenBack {
				t.Fatalf("metrics sold %v given back %v", sold, back)
			}
			if c.info.GivenBack == 1 && !c.soldOut {
				// The unit and alice's count are back: she may order again.
				r2 := newRequest("42", "alice")
				if g.Handle(r2.ctx, r2.st) != filter.Continue {
					t.Fatalf("alice refused after a give-back: %s", r2.body())
				}
			}
		})
	}
}

func TestGateAfterWithoutHandle(t *testing.T) {
	t.Parallel()
	g, store, sale := memGate(t, 3, nil, nil)
	r := newRequest("42", "")
	r.st.Reserved = true // inconsistent state: After must not give a unit
	g.After(r.ctx, r.st)
	if in, _ := store.Info(context.Background(), sale); in.Remaining != 3 || in.GivenBack != 0 {
		t.Fatalf("info %+v", in)
	}
	r2 := newRequest("42", "") // Handle refused: After does nothing
	r2.st.Item = []byte("nope")
	g.Handle(r2.ctx, r2.st)
	g.After(r2.ctx, r2.st)
	if r2.status() != 404 {
		t.Fatalf("status %d", r2.status())
	}
}

func TestGateSoldOutZeroAllocs(t *testing.T) {
	g, _, _ := memGate(t, 0, nil, nil)
	r := newRequest("42", "u")
	allocs := testing.AllocsPerRun(1000, func() {
		g.Handle(r.ctx, r.st)
	})
	if allocs != 0 || r.status() != fasthttp.StatusGone {
		t.Fatalf("sold-out answer: %v allocs, status %d", allocs, r.status())
	}
}

func TestGateSoldOutZeroAllocsRedis(t *testing.T) {
	// Needs a Redis store whose flag is set; see BenchmarkGateSoldOut for
	// the figures. Here: the flag alone answers, with no allocation.
	sales := NewSales([]*config.Sale{{Item: "42", Stock: 1}})
	s := &Redis{}
	empty := map[string]*rview{}
	s.views.Store(&empty)
	s.view("42").flag.apply(1, true)
	g := NewGate("order", nil, sales, s, "closed", nil, quiet)
	r := newRequest("42", "u")
	allocs := testing.AllocsPerRun(1000, func() { g.Handle(r.ctx, r.st) })
	if allocs != 0 || r.status() != fasthttp.StatusGone {
		t.Fatalf("sold-out answer: %v allocs, status %d", allocs, r.status())
	}
}
