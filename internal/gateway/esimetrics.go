package gateway

import (
	"github.com/prometheus/client_golang/prometheus"

	"edge/cachehttp/esi"
)

// ESIMetrics count ESI assembly: pages assembled, fragments by result and
// fragment latency. Created once per process.
type ESIMetrics struct {
	pages     *prometheus.CounterVec
	fragments *prometheus.CounterVec
	latency   *prometheus.HistogramVec
}

// NewESIMetrics registers the ESI metrics on reg.
func NewESIMetrics(reg prometheus.Registerer) *ESIMetrics {
	m := &ESIMetrics{
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_esi_pages_total",
			Help: "Pages assembled from ESI templates, by route and result (ok, failed).",
		}, []string{"route", "result"}),
		fragments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_esi_fragments_total",
			Help: "ESI includes by page route and result (ok, alt, dropped, timeout, error).",
		}, []string{"route", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edge_esi_fragment_duration_seconds",
			Help:    "Time to get one fragment (cache, origin or edge-answered), by fragment route.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"route"}),
	}
	reg.MustRegister(m.pages, m.fragments, m.latency)
	return m
}

// esiRouteMetrics are one page route's series, resolved once.
type esiRouteMetrics struct {
	ok, failed                           prometheus.Counter
	fOK, fAlt, fDropped, fTimeout, fErrs prometheus.Counter
}

func (m *ESIMetrics) route(name string) *esiRouteMetrics {
	f := func(r string) prometheus.Counter { return m.fragments.WithLabelValues(name, r) }
	return &esiRouteMetrics{
		ok:       m.pages.WithLabelValues(name, "ok"),
		failed:   m.pages.WithLabelValues(name, "failed"),
		fOK:      f("ok"),
		fAlt:     f("alt"),
		fDropped: f("dropped"),
		fTimeout: f("timeout"),
		fErrs:    f("error"),
	}
}

func (rm *esiRouteMetrics) observe(s esi.Stats, failed bool) {
	if failed {
		rm.failed.Inc()
	} else {
		rm.ok.Inc()
	}
	add := func(c prometheus.Counter, n int) {
		if n > 0 {
			c.Add(float64(n))
		}
	}
	add(rm.fOK, s.OK)
	add(rm.fAlt, s.Alt)
	add(rm.fDropped, s.Dropped)
	add(rm.fTimeout, s.Timeout)
	add(rm.fErrs, s.Errors)
}
