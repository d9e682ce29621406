package cachehttp

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"edge/internal/config"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Minute)}, cacheable("", "x"))
	e.cache = New(config.Cache{Size: 1 << 20}, m)
	e.cache.clock = e.clock.Now
	e.route = NewRoute(e.cache, "item-page", &config.RouteCache{TTL: dur(time.Minute)}, e.origin)
	_ = e.get(t, "/a")
	_ = e.get(t, "/a")
	_ = e.get(t, "/a")
	e.cache.Purge(PurgeRequest{Tag: "none"})

	checks := []struct {
		c    prometheus.Collector
		want float64
	}{
		{m.requests.WithLabelValues("item-page", ResultMiss), 1},
		{m.requests.WithLabelValues("item-page", ResultHit), 2},
		{m.fetches.WithLabelValues("item-page", FetchStored), 1},
		{m.purges.WithLabelValues(PurgeTag), 1},
	}
	for i, c := range checks {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("check %d: %v, want %v", i, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m, "edge_cache_entries", "edge_cache_bytes", "edge_cache_evictions_total"); n != 3 {
		t.Errorf("store gauges: %d series", n)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
}
