// Package metrics holds the gateway-wide Prometheus metrics: requests by
// route and status class, durations, in-flight requests, funnel refusals,
// config reloads and build information. Packages with their own concerns
// (upstream, cachehttp, filter/...) register theirs on the same registry.
//
// Metric objects are created once per process and outlive config reloads;
// label values come only from bounded sets (route names from the config,
// status classes, stage names and fixed refusal reasons).
package metrics

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the gateway's own metrics.
type Metrics struct {
	// Registry is what /metrics serves.
	Registry *prometheus.Registry

	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	inFlight   atomic.Pointer[func() int64] // edge_requests_in_flight, asked at scrape time
	rejections *prometheus.CounterVec
	reloads    *prometheus.CounterVec
	lastReload prometheus.Gauge
	version    prometheus.Gauge

	mu       sync.RWMutex
	rejCache map[rejKey]prometheus.Counter
}

type rejKey struct{ route, stage, reason string }

// New creates the registry with the Go runtime and process collectors, the
// build info and the gateway metrics.
func New(version string) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "edge_build_info",
		Help:        "Build information of the running edge binary; always 1.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	build.Set(1)
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_requests_total",
			Help: "Requests answered on the public listener, by route and status class (2xx, 3xx, 4xx, 5xx).",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edge_request_duration_seconds",
			Help:    "Time from request read to response written, by route.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_funnel_rejections_total",
			Help: "Requests refused or answered by a funnel stage, by route, stage and reason.",
		}, []string{"route", "stage", "reason"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_config_reloads_total",
			Help: "Configuration reloads by result (ok, failed).",
		}, []string{"result"}),
		lastReload: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edge_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last configuration load that took effect.",
		}),
		version: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edge_config_version",
			Help: "Sequence number of the configuration in effect (1 at start, +1 per successful reload).",
		}),
		rejCache: make(map[rejKey]prometheus.Counter),
	}
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "edge_requests_in_flight",
		Help: "Requests being handled right now on the public listener.",
	}, func() float64 { return float64(m.InFlight()) })
	reg.MustRegister(build, m.requests, m.duration, inFlight, m.rejections, m.reloads, m.lastReload, m.version)
	return m
}

// RouteMetrics are one route's pre-resolved series, so the request path
// does no label lookups.
type RouteMetrics struct {
	byClass  [6]prometheus.Counter // index: status/100 (0 = other)
	duration prometheus.Observer
}

// Route returns the series of the named route.
func (m *Metrics) Route(name string) *RouteMetrics {
	rm := &RouteMetrics{duration: m.duration.WithLabelValues(name)}
	classes := [6]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}
	for i, c := range classes {
		rm.byClass[i] = m.requests.WithLabelValues(name, c)
	}
	return rm
}

// Observe records one answered request.
func (rm *RouteMetrics) Observe(status int, seconds float64) {
	c := status / 100
	if c < 1 || c > 5 {
		c = 0
	}
	rm.byClass[c].Inc()
	rm.duration.Observe(seconds)
}

// SetInFlight names where the in-flight gauge comes from: the gateway,
// which counts the requests of each routing table anyway (to retire a
// replaced table once its requests are done), so that a request touches
// one counter rather than two.
func (m *Metrics) SetInFlight(count func() int64) { m.inFlight.Store(&count) }

// InFlight is the number of requests being handled, 0 before SetInFlight.
func (m *Metrics) InFlight() int64 {
	if f := m.inFlight.Load(); f != nil {
		return (*f)()
	}
	return 0
}

// Rejection counts one request answered by a stage. The series is looked up
// once per (route, stage, reason) and kept, so the refusal path does not
// allocate once warm.
func (m *Metrics) Rejection(route, stage, reason string) {
	k := rejKey{route, stage, reason}
	m.mu.RLock()
	c, ok := m.rejCache[k]
	m.mu.RUnlock()
	if !ok {
		m.mu.Lock()
		if c, ok = m.rejCache[k]; !ok {
			c = m.rejections.WithLabelValues(route, stage, reason)
			m.rejCache[k] = c
		}
		m.mu.Unlock()
	}
	c.Inc()
}

// Reload records a configuration load attempt; version is the version in
// effect afterwards and unix the time it took effect (ok only).
func (m *Metrics) Reload(ok bool, version uint64, unix float64) {
	if !ok {
		m.reloads.WithLabelValues("failed").Inc()
		return
	}
	m.reloads.WithLabelValues("ok").Inc()
	m.version.Set(float64(version))
	m.lastReload.Set(unix)
}
