package ratelimit

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"edge/internal/metrics"
)

// Metrics are the rate limiter's Prometheus series, shared by every Stage of
// a process (and across reloads):
//
//	edge_ratelimit_decisions_total{route,per,result}  result: allowed, limited, error
//	edge_ratelimit_redis_errors_total                 decisions Redis could not make
//	edge_ratelimit_keys                               buckets held by local engines
//
// "error" counts requests refused because Redis failed (on_error: closed);
// with on_error: open the local engine decides and the outcome is counted
// as allowed or limited, while edge_ratelimit_redis_errors_total still
// counts the failure (or the skip, while the circuit is open).
type Metrics struct {
	decisions   *prometheus.CounterVec
	redisErrors prometheus.Counter

	mu     sync.Mutex
	locals []*Local
}

// NewMetrics creates the series and registers them on reg (nil: not
// registered, for tests). Registering twice on one registry reuses the
// series already there, so a second NewMetrics does not panic; the keys gauge
// then only reports the engines tracked by the first Metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_ratelimit_decisions_total",
			Help: "Rate-limit decisions by route, limit key (ip, user, item, route) and result (allowed, limited, error).",
		}, []string{"route", "per", "result"}),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edge_ratelimit_redis_errors_total",
			Help: "Rate-limit decisions Redis could not make (failed, timed out or skipped while the circuit is open).",
		}),
	}
	keys := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "edge_ratelimit_keys",
		Help: "Rate-limit buckets held in this node's memory.",
	}, m.keyCount)
	if reg != nil {
		m.decisions = metrics.Register(reg, m.decisions)
		m.redisErrors = metrics.Register(reg, m.redisErrors)
		_ = metrics.Register[prometheus.Collector](reg, keys)
	}
	return m
}

// track adds l to the engines the keys gauge reports.
func (m *Metrics) track(l *Local) {
	if l == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.locals {
		if x == l {
			return
		}
	}
	m.locals = append(m.locals, l)
}

func (m *Metrics) keyCount() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, l := range m.locals {
		n += l.Len()
	}
	return float64(n)
}
