package app

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"edge/filter"
	"edge/filter/orders"
	"edge/filter/ratelimit"
	"edge/filter/stock"
	"edge/internal/config"
)

// asyncOrders is the node's async order machinery (queue: {mode: async}):
// the hub the route tables get their stages from, and the shopper lookup
// of GET /_edge/orders/{ticket}.
type asyncOrders struct {
	hub   *orders.Hub
	ident atomic.Pointer[identityCache]
}

// identityCache is the identity stage built from one config's identity.
type identityCache struct {
	cfg *config.Identity
	id  *filter.Identity // nil: no identity source
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

// handler returns the GET /_edge/orders/{ticket} handler; the shopper is
// read with the identity source of the config in effect.
func (o *asyncOrders) handler(current func() *config.Config) fasthttp.RequestHandler {
	return o.hub.Handler(func(ctx *fasthttp.RequestCtx) ([]byte, bool) {
		id := o.identity(current().Identity)
		if id == nil {
			return nil, false
		}
		st := filter.AcquireState()
		defer filter.ReleaseState(st)
		id.Handle(ctx, st) // optional mode: never answers
		if len(st.User) == 0 {
			return nil, false
		}
		return append([]byte(nil), st.User...), true
	})
}

// identity returns the identity stage of cfg, built once per config.
func (o *asyncOrders) identity(cfg *config.Identity) *filter.Identity {
	if c := o.ident.Load(); c != nil && c.cfg == cfg {
		return c.id
	}
	c := &identityCache{cfg: cfg}
	if cfg != nil {
		if id, err := filter.NewIdentity(cfg, filter.IdentityOptional); err == nil {
			c.id = id
		}
	}
	o.ident.Store(c)
	return c.id
}

// close stops the dispatchers and the backend.
func (o *asyncOrders) close() {
	if o != nil {
		_ = o.hub.Close()
	}
}
