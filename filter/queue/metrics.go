package queue

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the queue metrics, created once per process (they outlive
// reloads). Labels: route names from the config and fixed results.
type Metrics struct {
	decisions *prometheus.CounterVec
	wait      *prometheus.HistogramVec
	inFlight  *prometheus.GaugeVec
}

// NewMetrics creates the queue metrics and registers them on reg (nil reg:
// not registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_queue_decisions_total",
			Help: "Orders decided by the per-item queue, by route and result (admitted at once, waited for a slot, queue_full).",
		}, []string{"route", "result"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edge_queue_wait_seconds",
			Help:    "Time orders waited for a slot of their item (admitted after waiting or refused queue_full), by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edge_queue_in_flight",
			Help: "Orders holding a queue slot (in flight to the shop) from this node, by route.",
		}, []string{"route"}),
	}
	if reg != nil {
		reg.MustRegister(m.decisions, m.wait, m.inFlight)
	}
	return m
}

// routeMetrics are one route's series, resolved once.
type routeMetrics struct {
	admitted, waited, full prometheus.Counter
	wait                   prometheus.Observer
	inFlight               prometheus.Gauge
}

func (m *Metrics) route(name string) *routeMetrics {
	return &routeMetrics{
		admitted: m.decisions.WithLabelValues(name, "admitted"),
		waited:   m.decisions.WithLabelValues(name, "waited"),
		full:     m.decisions.WithLabelValues(name, "queue_full"),
		wait:     m.wait.WithLabelValues(name),
		inFlight: m.inFlight.WithLabelValues(name),
	}
}
