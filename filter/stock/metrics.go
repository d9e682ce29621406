package stock

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Decision labels of edge_stock_decisions_total.
const (
	decTaken     = "taken"
	decSoldOut   = "sold_out"
	decLimit     = "limit_reached"
	decNotOnSale = "not_on_sale"
	decError     = "error"
)

// Metrics are the stock metrics, created once per process (they outlive
// reloads). Label values come from bounded sets: route and sale names from
// the config, fixed decision results.
//
// The gauges report the fleet-wide counters as this node last saw them
// (every node of a fleet reports the same values: aggregate with max, not
// sum); the counters count what this node did (sum them over the fleet).
type Metrics struct {
	decisions *prometheus.CounterVec
	sold      *prometheus.CounterVec
	givenBack *prometheus.CounterVec
	gauges    *gaugeCollector
}

// NewMetrics creates the stock metrics and registers them on reg (nil reg:
// not registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_stock_decisions_total",
			Help: "Orders decided by the stock gate, by route and result (taken, sold_out, limit_reached, not_on_sale, error).",
		}, []string{"route", "result"}),
		sold: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_stock_sold_total",
			Help: "Units this node kept because the shop accepted the order, by sale.",
		}, []string{"sale"}),
		givenBack: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_stock_given_back_total",
			Help: "Units this node returned to the stock (shop failure or refusal, later stage refused, operator release), by sale.",
		}, []string{"sale"}),
		gauges: &gaugeCollector{
			remaining: prometheus.NewDesc("edge_stock_remaining",
				"Units left to take, by sale, as this node last saw them.", []string{"sale"}, nil),
			reserved: prometheus.NewDesc("edge_stock_reserved",
				"Units taken by orders the shop has not answered yet, by sale, as this node last saw them.", []string{"sale"}, nil),
		},
	}
	if reg != nil {
		reg.MustRegister(m.decisions, m.sold, m.givenBack, m.gauges)
	}
	return m
}

// gaugeCollector reads the gauges from the ledger's local view when
// scraped, so the order path never updates them.
type gaugeCollector struct {
	remaining, reserved *prometheus.Desc
	ledger              atomic.Pointer[Ledger]
}

func (c *gaugeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.remaining
	ch <- c.reserved
}

func (c *gaugeCollector) Collect(ch chan<- prometheus.Metric) {
	l := c.ledger.Load()
	if l == nil {
		return
	}
	for _, sale := range l.Sales().All() {
		info, ok := l.store.Local(sale)
		if !ok {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.remaining, prometheus.GaugeValue, float64(max(info.Remaining, 0)), sale.Name)
		ch <- prometheus.MustNewConstMetric(c.reserved, prometheus.GaugeValue, float64(max(info.Reserved, 0)), sale.Name)
	}
}

// routeDecisions are one route's decision counters, resolved once.
type routeDecisions struct {
	taken, soldOut, limit, notOnSale, err prometheus.Counter
}

func (m *Metrics) route(name string) *routeDecisions {
	return &routeDecisions{
		taken:     m.decisions.WithLabelValues(name, decTaken),
		soldOut:   m.decisions.WithLabelValues(name, decSoldOut),
		limit:     m.decisions.WithLabelValues(name, decLimit),
		notOnSale: m.decisions.WithLabelValues(name, decNotOnSale),
		err:       m.decisions.WithLabelValues(name, decError),
	}
}
