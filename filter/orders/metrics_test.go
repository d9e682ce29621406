package orders

import (
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
)

// TestMetrics: a queued order the shop fails once and then accepts shows
// in the counters, and the metrics pass promlint.
func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	var sends atomic.Int32
	shop := startShop(t, func(ctx *fasthttp.RequestCtx) {
		if sends.Add(1) == 1 {
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
			return
		}
		ctx.SetStatusCode(fasthttp.StatusCreated)
	})
	be := NewMemory(nil)
	hub := NewHub(be, nil, m, HubOptions{Log: quiet})
	t.Cleanup(func() { _ = hub.Close() })
	stage, err := hub.NewStage("order", testQueue(nil), copyRequest, shop)
	if err != nil {
		t.Fatal(err)
	}
	_, _, ticket := place(t, nil, stage, "42", "u")
	waitFinal(t, be, ticket)
	for name, c := range map[string]prometheus.Collector{
		"queued":   m.enqueued.WithLabelValues("order", enqQueued),
		"accepted": m.dispatched.WithLabelValues("order", outAccepted),
		"retries":  m.retries.WithLabelValues("order"),
	} {
		if got := testutil.ToFloat64(c); got != 1 {
			t.Errorf("%s = %v, want 1", name, got)
		}
	}
	if n := testutil.CollectAndCount(m.duration); n != 1 {
		t.Errorf("order duration series: %d", n)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
