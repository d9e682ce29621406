package dashboard

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeNode registers the metrics the dashboard reads, with the names and
// labels the node uses.
type fakeNode struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	rejections *prometheus.CounterVec
	cache      *prometheus.CounterVec
	upstream   *prometheus.CounterVec
	queue      *prometheus.CounterVec
	sold       *prometheus.CounterVec
	entries    prometheus.Gauge
}

func newFakeNode(t testing.TB) *fakeNode {
	t.Helper()
	n := &fakeNode{
		reg:        prometheus.NewRegistry(),
		requests:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: mRequests, Help: "h"}, []string{"route", "code"}),
		duration:   prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: mDuration, Help: "h", Buckets: []float64{.001, .01, .1, 1}}, []string{"route"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{Name: mRejections, Help: "h"}, []string{"route", "stage", "reason"}),
		cache:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: mCache, Help: "h"}, []string{"route", "result"}),
		upstream:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: mUpstream, Help: "h"}, []string{"upstream", "result"}),
		queue:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: mQueue, Help: "h"}, []string{"route", "result"}),
		sold:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: mStockSold, Help: "h"}, []string{"sale"}),
		entries:    prometheus.NewGauge(prometheus.GaugeOpts{Name: mCacheEntries, Help: "h"}),
	}
	n.reg.MustRegister(n.requests, n.duration, n.rejections, n.cache, n.upstream, n.queue, n.sold, n.entries)
	return n
}

// clock is a manual clock for the collector.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{t: time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)} }

func take(t *testing.T, c *Collector) *Stats {
	t.Helper()
	if err := c.Sample(); err != nil {
		t.Fatal(err)
	}
	return c.Stats()
}

func stage(st *Stats, id string) FunnelStage {
	for _, f := range st.Funnel {
		if f.Stage == id {
			return f
		}
	}
	return FunnelStage{Stage: "missing:" + id}
}

func TestFunnelTotalsAndRates(t *testing.T) {
	t.Parallel()
	n := newFakeNode(t)
	clk := newClock()
	c := New(n.reg, Sources{}, Options{Now: clk.now})

	n.requests.WithLabelValues("item", "2xx").Add(100)
	n.cache.WithLabelValues("item", "hit").Add(80)
	n.cache.WithLabelValues("item", "miss").Add(20)
	first := take(t, c)
	if first.IntervalSeconds != 0 || first.Requests.Rate != 0 || first.Requests.Total != 100 {
		t.Fatalf("first sample: %+v", first.Requests)
	}

	clk.advance(2 * time.Second)
	n.requests.WithLabelValues("item", "2xx").Add(150)
	n.requests.WithLabelValues("order", "2xx").Add(30)
	n.requests.WithLabelValues("order", "4xx").Add(20)
	n.requests.WithLabelValues("order", "5xx").Add(4)
	n.cache.WithLabelValues("item", "hit").Add(140)
	n.cache.WithLabelValues("item", "stale").Add(10)
	n.cache.WithLabelValues("item", "miss").Add(6)
	n.cache.WithLabelValues("frag", "hit").Add(500) // ESI fragments: no public request
	n.rejections.WithLabelValues("order", "identity", "identity_required").Add(2)
	n.rejections.WithLabelValues("order", "ratelimit", "rate_limited").Add(8)
	n.rejections.WithLabelValues("order", "quiz", "quiz_invalid").Add(3)
	n.rejections.WithLabelValues("order", "stock", "sold_out").Add(5)
	n.rejections.WithLabelValues("order", "stock", "limit_reached").Add(1)
	n.rejections.WithLabelValues("order", "queue", "queue_full").Add(1)
	n.queue.WithLabelValues("order", "admitted").Add(30)
	n.queue.WithLabelValues("order", "waited").Add(4)
	n.queue.WithLabelValues("order", "queue_full").Add(1)
	n.upstream.WithLabelValues("shop", "ok").Add(60)
	n.upstream.WithLabelValues("shop", "timeout").Add(4)
	n.sold.WithLabelValues("phone").Add(30)
	n.entries.Set(7)
	st := take(t, c)

	if st.Seq != 2 || st.IntervalSeconds != 2 {
		t.Fatalf("seq %d interval %v", st.Seq, st.IntervalSeconds)
	}
	cases := []struct {
		stage, kind string
		total       int64
		rate        float64
	}{
		{"requests", KindIn, 304, 102},
		{"cache", KindStop, 230, 75}, // item only: 230 ≤ 250 item requests; fragment hits left out
		{"refused", KindStop, 2, 1},
		{"ratelimit", KindStop, 8, 4},
		{"quiz", KindStop, 3, 1.5},
		{"stock", KindStop, 6, 3},
		{"queue_full", KindStop, 1, 0.5},
		{"queued", KindPass, 34, 17},
		{"shop", KindPass, 64, 32},
		{"accepted", KindPass, 30, 15},
	}
	if len(st.Funnel) != len(cases) {
		t.Fatalf("funnel has %d stages, want %d", len(st.Funnel), len(cases))
	}
	for i, tc := range cases {
		f := st.Funnel[i]
		if f.Stage != tc.stage || f.Kind != tc.kind || f.Total != tc.total || f.Rate != tc.rate {
			t.Errorf("stage %d: %s/%s total %d rate %v, want %s/%s %d %v", i, f.Stage, f.Kind, f.Total, f.Rate, tc.stage, tc.kind, tc.total, tc.rate)
		}
	}
	if rs := stage(st, "stock").Reasons; len(rs) != 2 || rs[0].Reason != "sold_out" || rs[0].Total != 5 || rs[1].Reason != "limit_reached" {
		t.Errorf("stock reasons %+v", rs)
	}
	if rs := stage(st, "shop").Reasons; len(rs) != 1 || rs[0].Reason != "timeout" || rs[0].Rate != 2 {
		t.Errorf("shop reasons (errors only) %+v", rs)
	}
	if st.Requests.ErrorRate != 2 || st.Requests.ByClass["4xx"] != 20 {
		t.Errorf("requests %+v", st.Requests)
	}
	// Hit ratio over the interval: (140+10+500) / (650+6).
	if st.Cache.HitRatio == nil || *st.Cache.HitRatio != round(650.0/656, 4) || st.Cache.Entries != 7 {
		t.Errorf("cache %+v ratio %v", st.Cache, st.Cache.HitRatio)
	}
	if st.Cache.HitRatioTotal == nil || *st.Cache.HitRatioTotal != round(730.0/756, 4) {
		t.Errorf("cache ratio since start %v", *st.Cache.HitRatioTotal)
	}
	if len(st.Upstreams) != 1 || st.Upstreams[0].Errors != 4 || st.Upstreams[0].ErrorRate != 2 || st.Upstreams[0].Rate != 32 {
		t.Errorf("upstreams %+v", st.Upstreams)
	}
	if len(st.Routes) != 3 || st.Routes[0].Name != "item" || st.Routes[0].Cached != 230 || st.Routes[2].Name != "frag" || st.Routes[2].Cached != 0 {
		t.Errorf("routes %+v", st.Routes)
	}
	if h := st.History; len(h.Requests) != 2 || h.Requests[1] != 102 || h.Refused[1] != 10 || h.Accepted[1] != 15 {
		t.Errorf("history %+v", h)
	}
}

func TestHitRatioWithoutLookups(t *testing.T) {
	t.Parallel()
	n := newFakeNode(t)
	clk := newClock()
	c := New(n.reg, Sources{}, Options{Now: clk.now})
	n.cache.WithLabelValues("item", "pass").Add(5) // not a cacheable lookup
	take(t, c)
	clk.advance(time.Second)
	st := take(t, c)
	if st.Cache.HitRatio != nil || st.Cache.HitRatioTotal != nil {
		t.Errorf("hit ratio without lookups: %v %v", st.Cache.HitRatio, st.Cache.HitRatioTotal)
	}
	if st.Requests.P50 != nil {
		t.Errorf("p50 without requests: %v", *st.Requests.P50)
	}
}

func TestHistoryKeepsTheLastSamples(t *testing.T) {
	t.Parallel()
	n := newFakeNode(t)
	clk := newClock()
	remaining := int64(10)
	known := false
	src := Sources{Sales: func() []SaleStatus {
		return []SaleStatus{{Name: "phone", Item: "42", Stock: 10, Known: known, Remaining: remaining, State: "on_sale"}}
	}}
	c := New(n.reg, src, Options{Now: clk.now, History: 4})
	for i := range 6 {
		known = i > 0
		n.requests.WithLabelValues("item", "2xx").Add(float64(i))
		n.sold.WithLabelValues("phone").Add(1)
		take(t, c)
		clk.advance(time.Second)
		remaining--
	}
	st := c.Stats()
	if st.Seq != 6 || len(st.History.Requests) != 4 {
		t.Fatalf("seq %d history %v", st.Seq, st.History.Requests)
	}
	// Oldest kept sample is the third; its rate comes from a dropped one and
	// is not known: 0. Then 3, 4, 5 per second.
	if want := []float64{0, 3, 4, 5}; !equal(st.History.Requests, want) {
		t.Errorf("requests history %v, want %v", st.History.Requests, want)
	}
	sale := st.Sales[0]
	if len(sale.History) != 4 || *sale.History[0] != 8 || *sale.History[3] != 5 || sale.SoldRate != 0 {
		t.Errorf("sale history %v sold rate %v", deref(sale.History), sale.SoldRate)
	}
}

func TestSaleHistoryHasGapsWhereUnknown(t *testing.T) {
	t.Parallel()
	n := newFakeNode(t)
	clk := newClock()
	step := 0
	src := Sources{Sales: func() []SaleStatus {
		s := SaleStatus{Name: "phone", Known: step != 1, Remaining: int64(5 - step), Sold: int64(step)}
		return []SaleStatus{s}
	}}
	c := New(n.reg, src, Options{Now: clk.now})
	for step = 0; step < 3; step++ {
		take(t, c)
		clk.advance(time.Second)
	}
	h := c.Stats().Sales[0].History
	if len(h) != 3 || h[0] == nil || *h[0] != 5 || h[1] != nil || h[2] == nil || *h[2] != 3 {
		t.Errorf("history %v", deref(h))
	}
}

func TestSourcesAndFallbacks(t *testing.T) {
	t.Parallel()
	loaded := time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name       string
		src        Sources
		redisGauge float64 // <0: not registered
		wantRedis  RedisStats
		wantHot    bool
		wantCfg    uint64
		wantErr    string
	}{
		{name: "nothing wired", redisGauge: -1, wantCfg: 3},
		{name: "redis from the gauge", redisGauge: 1, wantRedis: RedisStats{Configured: true, Up: true}, wantCfg: 3},
		{name: "redis gauge down", redisGauge: 0, wantRedis: RedisStats{Configured: true}, wantCfg: 3},
		{
			name: "sources win",
			src: Sources{
				Redis:  func() (bool, bool) { return true, false },
				Hot:    func() []HotKey { return nil },
				Config: func() (uint64, time.Time, string) { return 9, loaded, "bad.yaml:3: nope" },
			},
			redisGauge: 1, wantRedis: RedisStats{Configured: true}, wantHot: true, wantCfg: 9, wantErr: "bad.yaml:3: nope",
		},
		{
			name:       "up without redis configured is not up",
			src:        Sources{Redis: func() (bool, bool) { return false, true }},
			redisGauge: -1, wantCfg: 3,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := prometheus.NewRegistry()
			v := prometheus.NewGauge(prometheus.GaugeOpts{Name: mCfgVersion, Help: "h"})
			v.Set(3)
			reg.MustRegister(v)
			if tc.redisGauge >= 0 {
				g := prometheus.NewGauge(prometheus.GaugeOpts{Name: mRedisUp, Help: "h"})
				g.Set(tc.redisGauge)
				reg.MustRegister(g)
			}
			st := New(reg, tc.src, Options{}).Stats()
			if st.Redis != tc.wantRedis || st.Hot.Available != tc.wantHot || st.Hot.Keys == nil ||
				st.Config.Version != tc.wantCfg || st.Config.LastError != tc.wantErr {
				t.Errorf("redis %+v hot %+v config %+v", st.Redis, st.Hot, st.Config)
			}
		})
	}
}

func TestUpstreamsMergeStatusAndMetrics(t *testing.T) {
	t.Parallel()
	n := newFakeNode(t)
	n.upstream.WithLabelValues("shop", "ok").Add(3)
	src := Sources{Upstreams: func() []UpstreamStatus {
		return []UpstreamStatus{
			{Name: "shop", Servers: []ServerStatus{{Addr: "a:1", Healthy: true}, {Addr: "b:1", Healthy: true, Ejected: true}, {Addr: "c:1"}}},
			{Name: "idle", Servers: []ServerStatus{{Addr: "d:1", Healthy: true}}},
		}
	}}
	st := New(n.reg, src, Options{}).Stats()
	if len(st.Upstreams) != 2 || st.Upstreams[0].Name != "idle" || st.Upstreams[0].Healthy != 1 || st.Upstreams[0].Total != 0 {
		t.Fatalf("upstreams %+v", st.Upstreams)
	}
	if u := st.Upstreams[1]; u.Healthy != 1 || len(u.Servers) != 3 || u.Total != 3 {
		t.Errorf("shop %+v", u)
	}
}

func TestQuantile(t *testing.T) {
	t.Parallel()
	inf := math.Inf(1)
	newer := []bucket{{0.001, 50}, {0.01, 90}, {0.1, 100}, {inf, 100}}
	tail := []bucket{{0.001, 50}, {0.01, 90}, {0.1, 95}, {inf, 100}}
	cases := []struct {
		name         string
		q            float64
		older, newer []bucket
		want         float64
		ok           bool
	}{
		{"median at the first bound", 0.5, nil, newer, 0.001, true},
		{"p90 at a bound", 0.9, nil, newer, 0.01, true},
		{"p95 interpolated", 0.95, nil, newer, 0.055, true},
		{"window: only the newer observations", 0.5, []bucket{{0.001, 50}, {0.01, 50}, {0.1, 50}, {inf, 50}}, newer, 0.001 + 0.009*25/40, true},
		{"no new observations", 0.5, newer, newer, 0, false},
		{"no histogram", 0.5, nil, nil, 0, false},
		{"beyond the last bound: that bound", 0.99, nil, tail, 0.1, true},
	}
	for _, tc := range cases {
		got, ok := quantile(tc.q, tc.older, tc.newer)
		if ok != tc.ok || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: %v %v, want %v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func deref(ps []*int64) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		if p != nil {
			out[i] = *p
		}
	}
	return out
}
