package orders

import "github.com/prometheus/client_golang/prometheus"

// Enqueue results (label result of edge_async_orders_total).
const (
	enqQueued = "queued"
	enqFull   = "queue_full"
	enqError  = "error"
)

// Dispatch outcomes (label outcome of edge_async_dispatch_total).
const (
	outAccepted    = "accepted"
	outSoldOut     = "sold_out"
	outRefused     = "refused"
	outUnavailable = "failed"
	outDropped     = "dropped"
)

// Metrics are the async order metrics, created once per process (they
// outlive reloads). Labels: route names from the config and fixed results.
// The queue gauges are read from the backend by every node: with Redis all
// nodes report the same fleet-wide values (aggregate with max).
type Metrics struct {
	enqueued   *prometheus.CounterVec
	dispatched *prometheus.CounterVec
	retries    *prometheus.CounterVec
	claims     *prometheus.CounterVec
	length     *prometheus.GaugeVec
	oldest     *prometheus.GaugeVec
	inFlight   *prometheus.GaugeVec
	duration   *prometheus.HistogramVec
}

// NewMetrics creates the async order metrics and registers them on reg
// (nil reg: not registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_async_orders_total",
			Help: "Orders offered to the async queue by this node, by route and result (queued, queue_full, error).",
		}, []string{"route", "result"}),
		dispatched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_async_dispatch_total",
			Help: "Queued orders this node decided, by route and outcome (accepted, sold_out, refused, failed after retries, dropped: cancelled, expired or decided elsewhere).",
		}, []string{"route", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_async_retries_total",
			Help: "Orders this node sends again after a shop failure, by route.",
		}, []string{"route"}),
		claims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_async_claims_total",
			Help: "Orders this node took over from a dispatcher that stopped answering, by route.",
		}, []string{"route"}),
		length: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edge_async_queue_length",
			Help: "Orders queued and not decided yet, by route (fleet-wide with Redis).",
		}, []string{"route"}),
		oldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edge_async_queue_oldest_age_seconds",
			Help: "Age of the oldest order not decided yet, by route; 0 when none.",
		}, []string{"route"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edge_async_in_flight",
			Help: "Orders this node is sending to the shop right now, by route.",
		}, []string{"route"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edge_async_order_duration_seconds",
			Help:    "Time from queueing to the final result of the orders this node decided, by route.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}, []string{"route"}),
	}
	if reg != nil {
		reg.MustRegister(m.enqueued, m.dispatched, m.retries, m.claims, m.length, m.oldest, m.inFlight, m.duration)
	}
	return m
}

// routeMetrics are one route's series, resolved once.
type routeMetrics struct {
	queued, full, enqErr                        prometheus.Counter
	accepted, soldOut, refused, failed, dropped prometheus.Counter
	retries, claims                             prometheus.Counter
	length, oldest, inFlight                    prometheus.Gauge
	duration                                    prometheus.Observer
}

func (m *Metrics) route(name string) *routeMetrics {
	return &routeMetrics{
		queued:   m.enqueued.WithLabelValues(name, enqQueued),
		full:     m.enqueued.WithLabelValues(name, enqFull),
		enqErr:   m.enqueued.WithLabelValues(name, enqError),
		accepted: m.dispatched.WithLabelValues(name, outAccepted),
		soldOut:  m.dispatched.WithLabelValues(name, outSoldOut),
		refused:  m.dispatched.WithLabelValues(name, outRefused),
		failed:   m.dispatched.WithLabelValues(name, outUnavailable),
		dropped:  m.dispatched.WithLabelValues(name, outDropped),
		retries:  m.retries.WithLabelValues(name),
		claims:   m.claims.WithLabelValues(name),
		length:   m.length.WithLabelValues(name),
		oldest:   m.oldest.WithLabelValues(name),
		inFlight: m.inFlight.WithLabelValues(name),
		duration: m.duration.WithLabelValues(name),
	}
}

// forget removes a retired route's gauges (its counters stay).
func (m *Metrics) forget(name string) {
	m.length.DeleteLabelValues(name)
	m.oldest.DeleteLabelValues(name)
	m.inFlight.DeleteLabelValues(name)
}
