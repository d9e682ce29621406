package upstream

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"edge/internal/metrics"
)

// Metrics are the upstream metrics of one process. Create them once with
// NewMetrics and hand the same value to every NewPool: they outlive config
// reloads, and pools of the same name (old and new across a reload) share
// their series. Labels are pool names and fixed enums only.
type Metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	healthy   *prometheus.GaugeVec
	retries   *prometheus.CounterVec
	ejections *prometheus.CounterVec

	// owners lists the live pools per name, oldest first; the newest one
	// publishes edge_upstream_healthy_servers for that name.
	mu     sync.Mutex
	owners map[string][]*Pool
}

// NewMetrics creates the upstream metrics and registers them with reg (nil:
// not registered, for tests). Registering twice with the same registry
// reuses the collectors already there.
//
//   - edge_upstream_requests_total{upstream,result}: one per Pool.Do call;
//     result is ok or an error kind (timeout, conn_refused, conn_reset,
//     no_free_conn, no_healthy, too_large, bad_response, other).
//   - edge_upstream_request_duration_seconds{upstream}: Pool.Do time until
//     the response head (and, when buffered, body) arrived, retries included.
//   - edge_upstream_healthy_servers{upstream}: servers taking traffic.
//   - edge_upstream_retries_total{upstream}: extra attempts of idempotent
//     requests (on another server, or on a fresh connection after an idle
//     one turned out closed).
//   - edge_upstream_ejections_total{upstream,reason}: servers taken out by
//     active health checks (reason=active) or by failing traffic (passive).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_upstream_requests_total",
			Help: "Requests sent to upstream pools, by result (ok or error kind).",
		}, []string{"upstream", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edge_upstream_request_duration_seconds",
			Help:    "Time waiting for upstream responses, retries included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"upstream"}),
		healthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edge_upstream_healthy_servers",
			Help: "Servers of an upstream pool currently taking traffic.",
		}, []string{"upstream"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_upstream_retries_total",
			Help: "Extra attempts of idempotent requests after a connection failure.",
		}, []string{"upstream"}),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_upstream_ejections_total",
			Help: "Servers taken out of a pool, by active health checks or passive failure counting.",
		}, []string{"upstream", "reason"}),
		owners: make(map[string][]*Pool),
	}
	if reg != nil {
		m.requests = metrics.Register(reg, m.requests)
		m.duration = metrics.Register(reg, m.duration)
		m.healthy = metrics.Register(reg, m.healthy)
		m.retries = metrics.Register(reg, m.retries)
		m.ejections = metrics.Register(reg, m.ejections)
	}
	return m
}

// poolMetrics are one pool's series, resolved once so that the request path
// does no label lookups.
type poolMetrics struct {
	results        [numKinds]prometheus.Counter
	duration       prometheus.Observer
	retries        prometheus.Counter
	ejectedActive  prometheus.Counter
	ejectedPassive prometheus.Counter
}

func (m *Metrics) forPool(name string) poolMetrics {
	var pm poolMetrics
	for k := range numKinds {
		pm.results[k] = m.requests.WithLabelValues(name, kindNames[k])
	}
	pm.duration = m.duration.WithLabelValues(name)
	pm.retries = m.retries.WithLabelValues(name)
	pm.ejectedActive = m.ejections.WithLabelValues(name, "active")
	pm.ejectedPassive = m.ejections.WithLabelValues(name, "passive")
	return pm
}

// adopt makes p the publisher of its name's gauge.
func (m *Metrics) adopt(p *Pool) {
	m.mu.Lock()
	m.owners[p.name] = append(m.owners[p.name], p)
	m.mu.Unlock()
	m.publish(p)
}

// release hands the gauge of p's name to the newest other live pool of that
// name, or deletes the series when there is none.
func (m *Metrics) release(p *Pool) {
	m.mu.Lock()
	list := m.owners[p.name]
	for i, q := range list {
		if q == p {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	var next *Pool
	if len(list) == 0 {
		delete(m.owners, p.name)
		m.healthy.DeleteLabelValues(p.name)
	} else {
		m.owners[p.name] = list
		next = list[len(list)-1]
	}
	m.mu.Unlock()
	if next != nil {
		m.publish(next)
	}
}

// publish sets the gauge of p's name to p.Healthy() if p is the newest live
// pool of that name. The count is taken under the lock so that concurrent
// publishers cannot leave an older count behind.
func (m *Metrics) publish(p *Pool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	list := m.owners[p.name]
	if len(list) > 0 && list[len(list)-1] == p {
		m.healthy.WithLabelValues(p.name).Set(float64(p.Healthy()))
	}
}
