package dashboard

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Metric names the dashboard reads. They are the ones /metrics serves, so
// the page and Prometheus agree.
const (
	mRequests      = "edge_requests_total"
	mDuration      = "edge_request_duration_seconds"
	mInFlight      = "edge_requests_in_flight"
	mRejections    = "edge_funnel_rejections_total"
	mCache         = "edge_cache_requests_total"
	mCacheEntries  = "edge_cache_entries"
	mCacheBytes    = "edge_cache_bytes"
	mCacheCapacity = "edge_cache_capacity_bytes"
	mUpstream      = "edge_upstream_requests_total"
	mQueue         = "edge_queue_decisions_total"
	mAsyncOrders   = "edge_async_orders_total"
	mStockSold     = "edge_stock_sold_total"
	mRedisUp       = "edge_redis_up"
	mReloads       = "edge_config_reloads_total"
	mCfgVersion    = "edge_config_version"
	mCfgLoaded     = "edge_config_last_reload_success_timestamp_seconds"
	mBuildInfo     = "edge_build_info"
	mHotKeys       = "edge_hot_keys"
)

// Cache results that answered the request without the shop.
var cacheServed = map[string]bool{"hit": true, "stale": true, "coalesced": true}

// Cache results that looked the key up and had to ask the shop.
var cacheFetched = map[string]bool{"miss": true, "revalidated": true}

// sample is the state of the node at one instant: counter totals (rates
// come from differences between samples) and gauges.
type sample struct {
	at time.Time

	requests float64
	routes   map[string]*routeSample
	classes  map[string]float64 // requests by status class
	inFlight float64
	latency  []bucket // edge_request_duration_seconds of all routes, cumulative

	stages  [numStages]float64
	reasons map[stageReason]float64

	cache         map[string]float64 // lookups by result, all routes
	cacheEntries  float64
	cacheBytes    float64
	cacheCapacity float64

	upstreams      map[string]*upstreamSample
	upstreamStatus []UpstreamStatus

	sales     []SaleStatus
	hot       []HotKey
	hotCounts map[string]float64 // edge_hot_keys by kind; nil when absent

	redisConfigured, redisUp bool
	cfgVersion               uint64
	cfgLoadedAt              time.Time
	cfgError                 string
	reloads                  map[string]float64
	build                    string
}

type routeSample struct {
	requests    float64
	classes     map[string]float64
	cacheServed float64 // hit+stale+coalesced lookups
	cacheServes float64 // min(cacheServed, requests): public requests the cache answered
}

type upstreamSample struct {
	total   float64
	results map[string]float64
}

// stageReason keys a refusal count by funnel stage (a stage* index) and
// reason.
type stageReason struct {
	stage  int
	reason string
}

type bucket struct{ le, count float64 }

// families indexes one Gather result by metric name.
type families map[string]*dto.MetricFamily

func gather(g prometheus.Gatherer) (families, error) {
	mfs, err := g.Gather()
	if err != nil && len(mfs) == 0 {
		return nil, fmt.Errorf("dashboard: gather metrics: %w", err)
	}
	// A partial result is still worth showing; the error is the registry's
	// and /metrics reports it too.
	out := make(families, len(mfs))
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out, nil
}

// each calls fn for every series of the named family.
func (f families) each(name string, fn func(m *dto.Metric, v float64)) {
	mf := f[name]
	if mf == nil {
		return
	}
	for _, m := range mf.GetMetric() {
		fn(m, value(m))
	}
}

// sum adds the values of every series of the named family.
func (f families) sum(name string) float64 {
	total := 0.0
	f.each(name, func(_ *dto.Metric, v float64) { total += v })
	return total
}

// has reports whether the family is registered and has a series.
func (f families) has(name string) bool {
	mf := f[name]
	return mf != nil && len(mf.GetMetric()) > 0
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	case m.Summary != nil:
		return float64(m.GetSummary().GetSampleCount())
	}
	return 0
}

func label(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// fromMetrics fills the metric-derived parts of s.
func (s *sample) fromMetrics(f families) {
	s.routes = map[string]*routeSample{}
	route := func(name string) *routeSample {
		r := s.routes[name]
		if r == nil {
			r = &routeSample{classes: map[string]float64{}}
			s.routes[name] = r
		}
		return r
	}
	s.classes = map[string]float64{}
	f.each(mRequests, func(m *dto.Metric, v float64) {
		r, class := route(label(m, "route")), label(m, "code")
		r.requests += v
		r.classes[class] += v
		s.classes[class] += v
		s.requests += v
	})
	s.inFlight = f.sum(mInFlight)
	s.latency = mergeHistograms(f[mDuration])

	s.cache = map[string]float64{}
	f.each(mCache, func(m *dto.Metric, v float64) {
		result := label(m, "result")
		s.cache[result] += v
		if cacheServed[result] {
			route(label(m, "route")).cacheServed += v
		}
	})
	// ESI fragment lookups are counted under the fragment's route, which
	// may get no public request at all: a route's cache answers count as
	// public requests only up to the requests the route answered.
	for _, r := range s.routes {
		r.cacheServes = math.Min(r.cacheServed, r.requests)
	}
	s.cacheEntries = f.sum(mCacheEntries)
	s.cacheBytes = f.sum(mCacheBytes)
	s.cacheCapacity = f.sum(mCacheCapacity)

	s.reasons = map[stageReason]float64{}
	f.each(mRejections, func(m *dto.Metric, v float64) {
		st := stageOfRejection(label(m, "stage"))
		s.stages[st] += v
		s.reasons[stageReason{st, label(m, "reason")}] += v
	})
	for _, r := range s.routes {
		s.stages[stageRequests] += r.requests
		s.stages[stageCache] += r.cacheServes
	}
	f.each(mQueue, func(m *dto.Metric, v float64) {
		if res := label(m, "result"); res == "admitted" || res == "waited" {
			s.stages[stageQueued] += v
		}
	})
	// Async mode: an order that got a ticket is queued as well.
	f.each(mAsyncOrders, func(m *dto.Metric, v float64) {
		if label(m, "result") == "queued" {
			s.stages[stageQueued] += v
		}
	})
	s.upstreams = map[string]*upstreamSample{}
	f.each(mUpstream, func(m *dto.Metric, v float64) {
		name, res := label(m, "upstream"), label(m, "result")
		u := s.upstreams[name]
		if u == nil {
			u = &upstreamSample{results: map[string]float64{}}
			s.upstreams[name] = u
		}
		u.total += v
		u.results[res] += v
		s.stages[stageShop] += v
		if res != "ok" {
			s.reasons[stageReason{stageShop, res}] += v
		}
	})
	s.stages[stageAccepted] = f.sum(mStockSold)

	if f.has(mHotKeys) {
		s.hotCounts = map[string]float64{}
		f.each(mHotKeys, func(m *dto.Metric, v float64) { s.hotCounts[label(m, "kind")] += v })
	}
	if f.has(mRedisUp) {
		s.redisConfigured, s.redisUp = true, f.sum(mRedisUp) >= 1
	}
	// The config gauges; Sources.Config, when set, has the last word.
	if v := f.sum(mCfgVersion); v > 0 {
		s.cfgVersion = uint64(v)
	}
	if ts := f.sum(mCfgLoaded); ts > 0 {
		sec, frac := math.Modf(ts)
		s.cfgLoadedAt = time.Unix(int64(sec), int64(frac*1e9))
	}
	s.reloads = map[string]float64{}
	f.each(mReloads, func(m *dto.Metric, v float64) { s.reloads[label(m, "result")] += v })
	f.each(mBuildInfo, func(m *dto.Metric, _ float64) { s.build = label(m, "version") })
}

// mergeHistograms adds the buckets of every series of a histogram family
// (they share bucket bounds: one HistogramVec).
func mergeHistograms(mf *dto.MetricFamily) []bucket {
	if mf == nil {
		return nil
	}
	byLE := map[float64]float64{}
	for _, m := range mf.GetMetric() {
		h := m.GetHistogram()
		for _, b := range h.GetBucket() {
			byLE[b.GetUpperBound()] += float64(b.GetCumulativeCount())
		}
		byLE[math.Inf(1)] += float64(h.GetSampleCount())
	}
	out := make([]bucket, 0, len(byLE))
	for le, c := range byLE {
		out = append(out, bucket{le, c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].le < out[j].le })
	return out
}

// quantile estimates the q-quantile of the observations between two
// cumulative histograms (older may be nil), interpolating linearly inside
// the bucket like PromQL's histogram_quantile. ok is false without
// observations.
func quantile(q float64, older, newer []bucket) (v float64, ok bool) {
	if len(newer) == 0 {
		return 0, false
	}
	prev := map[float64]float64{}
	for _, b := range older {
		prev[b.le] = b.count
	}
	counts := make([]float64, len(newer))
	for i, b := range newer {
		counts[i] = math.Max(0, b.count-prev[b.le])
	}
	total := counts[len(counts)-1]
	if total <= 0 {
		return 0, false
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for i, b := range newer {
		if counts[i] >= rank {
			if math.IsInf(b.le, 1) {
				// Above the highest bound: report that bound, as PromQL does.
				return lower, true
			}
			inBucket := counts[i] - below
			if inBucket <= 0 {
				return b.le, true
			}
			return lower + (b.le-lower)*(rank-below)/inBucket, true
		}
		lower, below = b.le, counts[i]
	}
	return lower, true
}
