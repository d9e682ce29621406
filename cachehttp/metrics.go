package cachehttp

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of a cached route's request, the result label of
// edge_cache_requests_total.
const (
	ResultHit         = "hit"         // served fresh from the store
	ResultMiss        = "miss"        // fetched from the origin (the leader of its key)
	ResultStale       = "stale"       // served stale (while revalidating, or on origin error)
	ResultPass        = "pass"        // sent to the origin without the store (method, hit-for-pass)
	ResultCoalesced   = "coalesced"   // waited for another request's origin fetch
	ResultRevalidated = "revalidated" // stale entry confirmed by a 304
)

// Results of an origin fetch, the result label of
// edge_cache_origin_fetches_total.
const (
	FetchStored      = "stored"       // answer stored
	FetchUncacheable = "uncacheable"  // answer passed on, not storable
	FetchNotModified = "not_modified" // 304 to a revalidation
	FetchServerError = "server_error" // 5xx answer
	FetchError       = "error"        // no usable answer (connection, timeout)
)

// Kinds of purge, the kind label of edge_cache_purges_total.
const (
	PurgeURL        = "url"
	PurgePrefix     = "prefix"
	PurgeTag        = "tag"
	PurgeInvalidate = "invalidate" // an unsafe method succeeded on a URL (RFC 9111 §4.4)
)

// Metrics are the cache's Prometheus metrics. Create them once per process
// with NewMetrics and hand them to New; the store gauges read the Cache
// given to New at scrape time.
type Metrics struct {
	requests *prometheus.CounterVec
	fetches  *prometheus.CounterVec
	purges   *prometheus.CounterVec

	cache     atomic.Pointer[Cache]
	entries   *prometheus.Desc
	bytes     *prometheus.Desc
	capacity  *prometheus.Desc
	hotBytes  *prometheus.Desc
	evictions *prometheus.Desc
}

// NewMetrics creates the cache metrics and registers them on reg (nil: not
// registered, for tests). Registering twice on one registry panics.
//
//	edge_cache_requests_total{route,result}        requests of cached routes by result
//	edge_cache_origin_fetches_total{route,result}  requests the cache sent to origins
//	edge_cache_purges_total{kind}                  purge operations (local and from the bus)
//	edge_cache_entries                             stored responses
//	edge_cache_bytes                               bytes charged to the store
//	edge_cache_capacity_bytes                      the store's byte limit
//	edge_cache_hot_bytes                           bytes in the protected segment
//	edge_cache_evictions_total                     objects evicted to stay within the limit
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_cache_requests_total",
			Help: "Requests of cached routes by result (hit, miss, stale, pass, coalesced, revalidated).",
		}, []string{"route", "result"}),
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_cache_origin_fetches_total",
			Help: "Requests the cache sent to origins by result (stored, uncacheable, not_modified, server_error, error).",
		}, []string{"route", "result"}),
		purges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_cache_purges_total",
			Help: "Cache purge operations by kind (url, prefix, tag, invalidate).",
		}, []string{"kind"}),
		entries:   prometheus.NewDesc("edge_cache_entries", "Responses in the cache (variants count one each).", nil, nil),
		bytes:     prometheus.NewDesc("edge_cache_bytes", "Bytes charged to the cache (keys, headers, bodies and overhead).", nil, nil),
		capacity:  prometheus.NewDesc("edge_cache_capacity_bytes", "The cache's byte limit.", nil, nil),
		hotBytes:  prometheus.NewDesc("edge_cache_hot_bytes", "Bytes in the cache's protected segment for hot entries.", nil, nil),
		evictions: prometheus.NewDesc("edge_cache_evictions_total", "Cache objects evicted to stay within the byte limit.", nil, nil),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.fetches, m.purges, m)
	}
	return m
}

// Describe implements prometheus.Collector for the store gauges.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.entries
	ch <- m.bytes
	ch <- m.capacity
	ch <- m.hotBytes
	ch <- m.evictions
}

// Collect implements prometheus.Collector: it reads the store's counters.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	c := m.cache.Load()
	if c == nil {
		return
	}
	st := c.Stats()
	ch <- prometheus.MustNewConstMetric(m.entries, prometheus.GaugeValue, float64(st.Entries))
	ch <- prometheus.MustNewConstMetric(m.bytes, prometheus.GaugeValue, float64(st.Bytes))
	ch <- prometheus.MustNewConstMetric(m.capacity, prometheus.GaugeValue, float64(st.Capacity))
	ch <- prometheus.MustNewConstMetric(m.hotBytes, prometheus.GaugeValue, float64(st.HotBytes))
	ch <- prometheus.MustNewConstMetric(m.evictions, prometheus.CounterValue, float64(st.Evictions))
}

// routeMetrics are one route's counters, resolved once so the hit path
// does no label lookup.
type routeMetrics struct {
	hit, miss, stale, pass, coalesced, revalidated            prometheus.Counter
	stored, uncacheable, notModified, serverError, fetchError prometheus.Counter
}

func (m *Metrics) route(name string) routeMetrics {
	r := func(result string) prometheus.Counter { return m.requests.WithLabelValues(name, result) }
	f := func(result string) prometheus.Counter { return m.fetches.WithLabelValues(name, result) }
	return routeMetrics{
		hit: r(ResultHit), miss: r(ResultMiss), stale: r(ResultStale), pass: r(ResultPass),
		coalesced: r(ResultCoalesced), revalidated: r(ResultRevalidated),
		stored: f(FetchStored), uncacheable: f(FetchUncacheable), notModified: f(FetchNotModified),
		serverError: f(FetchServerError), fetchError: f(FetchError),
	}
}
