package hot

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
)

// TestMetrics: the gauge follows the hot set (local and remote), detections
// count local findings only, micro-cache hits count per route, and the
// names pass promlint.
func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	clk := newClock()
	d := New(hotCfg(500, 50), m, clk.Now)

	for range 3 {
		feed(d, URL, "/a", 200)
		feed(d, Item, "42", 200)
		step(clk, d)
	}
	if err := d.receive(payload(t, "other", announcedKey{Kind: "url", Key: "/remote", Rate: 800})); err != nil {
		t.Fatal(err)
	}
	step(clk, d)
	for _, c := range []struct {
		got  prometheus.Collector
		want float64
	}{
		{m.keysBy[URL], 2},
		{m.keysBy[Item], 1},
		{m.detBy[URL], 1},
		{m.detBy[Item], 1},
	} {
		if v := testutil.ToFloat64(c.got); v != c.want {
			t.Errorf("%v = %v, want %v", c.got.(prometheus.Metric).Desc(), v, c.want)
		}
	}
	for range 2*buckets + 1 {
		step(clk, d)
	}
	if v := testutil.ToFloat64(m.keysBy[URL]); v != 0 {
		t.Errorf("edge_hot_keys{kind=url} = %v after cooling, want 0", v)
	}

	m.MicroCacheHit("item-page")
	m.MicroCacheHit("item-page")
	m.MicroCacheHits("other").Inc()
	if v := testutil.ToFloat64(m.microHits.WithLabelValues("item-page")); v != 2 {
		t.Errorf("micro-cache hits = %v, want 2", v)
	}
	var nilM *Metrics
	nilM.MicroCacheHit("x")
	nilM.MicroCacheHits("x").Inc()

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// TestHandler checks GET /hot's JSON and the refusal of other methods.
func TestHandler(t *testing.T) {
	t.Parallel()
	clk := newClock()
	d := New(hotCfg(500, 50), nil, clk.Now)
	for range 3 {
		feed(d, URL, "https://shop.example/item/42", 300)
		step(clk, d)
	}
	h := d.Handler()
	cases := []struct {
		method string
		status int
	}{
		{"GET", 200},
		{"POST", 405},
	}
	for _, tc := range cases {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(tc.method)
		ctx.Request.SetRequestURI("/hot")
		h(&ctx)
		if ctx.Response.StatusCode() != tc.status {
			t.Fatalf("%s: status %d, want %d", tc.method, ctx.Response.StatusCode(), tc.status)
		}
		if ct := string(ctx.Response.Header.ContentType()); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("%s: content type %q", tc.method, ct)
		}
		if tc.status != 200 {
			continue
		}
		var got struct {
			Threshold float64 `json:"threshold_per_second"`
			CoolBelow float64 `json:"cool_below_per_second"`
			Window    float64 `json:"window_seconds"`
			Keys      []struct {
				Kind   string    `json:"kind"`
				Key    string    `json:"key"`
				Rate   float64   `json:"rate_per_second"`
				Since  time.Time `json:"since"`
				Source string    `json:"source"`
			} `json:"keys"`
		}
		if err := json.Unmarshal(ctx.Response.Body(), &got); err != nil {
			t.Fatalf("body %s: %v", ctx.Response.Body(), err)
		}
		if got.Threshold != 500 || got.CoolBelow != 400 || got.Window != 1 || len(got.Keys) != 1 {
			t.Fatalf("body %s", ctx.Response.Body())
		}
		k := got.Keys[0]
		if k.Kind != "url" || k.Key != "https://shop.example/item/42" || k.Rate < 500 || k.Source != "local" || k.Since.IsZero() {
			t.Fatalf("entry %+v", k)
		}
	}
}

// TestHotPathAllocations keeps Observe, ObserveHot and IsHot at zero
// allocations, for tail keys, candidates and hot keys alike, and
// MicroCacheHit once its route is known. Not parallel: AllocsPerRun.
func TestHotPathAllocations(t *testing.T) {
	m := NewMetrics(nil)
	m.MicroCacheHit("item-page")
	if n := testing.AllocsPerRun(100, func() { m.MicroCacheHit("item-page") }); n != 0 {
		t.Errorf("MicroCacheHit allocates %v times", n)
	}
	clk := newClock()
	d := New(hotCfg(500, 50), m, clk.Now)
	for range 3 {
		feed(d, URL, "/hot", 200)
		step(clk, d)
	}
	if !d.IsHot(URL, []byte("/hot")) {
		t.Fatal("setup: /hot not hot")
	}
	keys := [][]byte{[]byte("/hot"), []byte("/tail/1"), []byte("/tail/2")}
	for _, k := range keys {
		if n := testing.AllocsPerRun(1000, func() {
			d.Observe(URL, k)
			d.IsHot(URL, k)
			d.ObserveHot(Item, k)
		}); n != 0 {
			t.Errorf("%s: %v allocations per call", k, n)
		}
	}
}
