package quiz

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"edge/internal/metrics"
)

// Check results, the values of the result label of edge_quiz_checks_total.
const (
	ResultOK       = "ok"       // right answer, fresh token: the order goes on
	ResultRequired = "required" // no token or no answer (quiz_required)
	ResultInvalid  = "invalid"  // bad token, other shopper/item, unknown question, wrong answer (quiz_invalid)
	ResultTooFast  = "too_fast" // answered sooner than min_think after issue (quiz_too_fast)
	ResultExpired  = "expired"  // token older than max_age (quiz_expired)
	ResultReplayed = "replayed" // token already used (quiz_replayed)
	ResultAttempts = "attempts" // no attempts left for this shopper and item (quiz_attempts)
	ResultError    = "error"    // Redis failed: refused with 503 (unavailable)
)

// results lists the check results in result order (see result).
var results = [...]string{ResultOK, ResultRequired, ResultInvalid, ResultTooFast, ResultExpired, ResultReplayed, ResultAttempts, ResultError}

// Metrics are the quiz's Prometheus series, shared by the Service and every
// Stage of a process (and across reloads):
//
//	edge_quiz_issued_total                   questions handed out by GET /_edge/quiz
//	edge_quiz_checks_total{route,result}     answers checked, by result (ok, required,
//	                                         invalid, too_fast, expired, replayed, attempts, error)
//	edge_quiz_bank_questions                 questions in the bank in use (0: none yet)
//	edge_quiz_bank_updates_total{source}     banks put in use: generated, imported (admin
//	                                         PUT) or shared (loaded from Redis)
type Metrics struct {
	issued  prometheus.Counter
	checks  *prometheus.CounterVec
	updates *prometheus.CounterVec
	size    atomic.Int64
}

// NewMetrics creates the series and registers them on reg (nil: not
// registered, for tests). Registering twice on one registry reuses the
// series already there; the bank gauge then reports the first Metrics'
// bank.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		issued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edge_quiz_issued_total",
			Help: "Quiz questions handed out by GET /_edge/quiz.",
		}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_quiz_checks_total",
			Help: "Quiz answers checked on order routes, by route and result (ok, required, invalid, too_fast, expired, replayed, attempts, error).",
		}, []string{"route", "result"}),
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_quiz_bank_updates_total",
			Help: "Quiz banks put in use, by source (generated, imported, shared).",
		}, []string{"source"}),
	}
	size := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "edge_quiz_bank_questions",
		Help: "Questions in the quiz bank in use; 0 until the first bank exists.",
	}, func() float64 { return float64(m.size.Load()) })
	if reg != nil {
		m.issued = metrics.Register(reg, m.issued)
		m.checks = metrics.Register(reg, m.checks)
		m.updates = metrics.Register(reg, m.updates)
		_ = metrics.Register[prometheus.Collector](reg, size)
	}
	return m
}
