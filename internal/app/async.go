package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"edge/filter/orders"
	"edge/filter/ratelimit"
	"edge/filter/stock"
	"edge/internal/config"
)

// asyncOrders is the node's async order machinery (queue: {mode: async}):
// the hub the route tables get their stages from.
type asyncOrders struct {
	hub *orders.Hub
}

// newOrders builds the hub: orders in Redis streams when Redis is
// configured (shared by the fleet, rates fleet-wide), else in this
// process's memory (lost on restart).
func (a *App) newOrders(cfg *config.Config, reg prometheus.Registerer, ledger *stock.Ledger) *asyncOrders {
	var (
		be   orders.Backend
		pace *ratelimit.Redis
	)
	if a.rdb != nil {
		be = orders.NewRedis(a.rdb, orders.RedisOptions{Prefix: cfg.Redis.Prefix, Timeout: cfg.Redis.Timeout.D(), Log: a.Log})
		pace = ratelimit.NewRedis(a.rdb, cfg.Redis.Prefix, cfg.Redis.Timeout.D())
	} else {
		be = orders.NewMemory(nil)
	}
	return &asyncOrders{hub: orders.NewHub(be, ledger, orders.NewMetrics(reg), orders.HubOptions{Pace: pace, Log: a.Log})}
}

// close stops the dispatchers and the backend.
func (o *asyncOrders) close() {
	if o != nil {
		_ = o.hub.Close()
	}
}
