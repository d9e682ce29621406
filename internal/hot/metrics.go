package hot

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the hot-key metrics. They live for the whole process; a nil
// *Metrics records nothing. Labels come from fixed sets (kind: url|item,
// op: publish|receive) and from route names; never from keys.
type Metrics struct {
	keys       *prometheus.GaugeVec
	detections *prometheus.CounterVec
	microHits  *prometheus.CounterVec
	exchange   *prometheus.CounterVec

	keysBy [numKinds]prometheus.Gauge
	detBy  [numKinds]prometheus.Counter

	mu     sync.RWMutex
	hitsBy map[string]prometheus.Counter
}

// NewMetrics creates the hot-key metrics and registers them on reg (nil:
// not registered):
//
//   - edge_hot_keys{kind}: keys treated as hot right now (local and remote).
//   - edge_hot_detections_total{kind}: keys this node found crossing the
//     threshold.
//   - edge_hot_micro_cache_hits_total{route}: requests for a hot key of an
//     uncacheable route answered from the micro-cache (see MicroCacheHit).
//   - edge_hot_exchange_errors_total{op}: failed publishes (op="publish") and
//     unreadable announcements (op="receive") of the Redis exchange.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		keys: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edge_hot_keys",
			Help: "Keys treated as hot right now, found by this node or announced by others, by kind (url, item).",
		}, []string{"kind"}),
		detections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_hot_detections_total",
			Help: "Keys this node found crossing the hot threshold, by kind (url, item).",
		}, []string{"kind"}),
		microHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_hot_micro_cache_hits_total",
			Help: "Requests for a hot key of an otherwise uncacheable route answered from the micro-cache, by route.",
		}, []string{"route"}),
		exchange: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_hot_exchange_errors_total",
			Help: "Failures of the hot-key exchange through Redis: publish (announcement not sent) and receive (announcement unreadable).",
		}, []string{"op"}),
		hitsBy: make(map[string]prometheus.Counter),
	}
	for k := range numKinds {
		m.keysBy[k] = m.keys.WithLabelValues(k.String())
		m.detBy[k] = m.detections.WithLabelValues(k.String())
	}
	for _, op := range []string{"publish", "receive"} {
		m.exchange.WithLabelValues(op)
	}
	if reg != nil {
		reg.MustRegister(m.keys, m.detections, m.microHits, m.exchange)
	}
	return m
}

// MicroCacheHits returns the micro-cache hit counter of route, for callers
// that resolve their series once per route (no lookup per request).
func (m *Metrics) MicroCacheHits(route string) prometheus.Counter {
	if m == nil {
		// An unregistered counter: counts go nowhere.
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "edge_hot_micro_cache_hits_total", Help: "unregistered"})
	}
	m.mu.RLock()
	c, ok := m.hitsBy[route]
	m.mu.RUnlock()
	if ok {
		return c
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok = m.hitsBy[route]; !ok {
		c = m.microHits.WithLabelValues(route)
		m.hitsBy[route] = c
	}
	return c
}

// MicroCacheHit counts one micro-cache hit on route. The series is resolved
// once per route and kept, so this does not allocate once warm.
func (m *Metrics) MicroCacheHit(route string) {
	if m == nil {
		return
	}
	m.MicroCacheHits(route).Inc()
}

func (m *Metrics) setKeys(k Kind, n int) {
	if m != nil {
		m.keysBy[k].Set(float64(n))
	}
}

func (m *Metrics) detected(k Kind, n int) {
	if m != nil {
		m.detBy[k].Add(float64(n))
	}
}

func (m *Metrics) exchangeError(op string) {
	if m != nil {
		m.exchange.WithLabelValues(op).Inc()
	}
}
