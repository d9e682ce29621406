package app

import (
	"context"
	"sort"
	"time"

	"edge/internal/admin"
	"edge/internal/dashboard"
)

// registerDashboard adds GET /stats (admin.Read: behind the token when
// admin.guard_reads is on) and GET /dashboard to the admin listener and
// samples the node every second until ctx ends. The page itself is open:
// it holds no data, and a browser cannot send the bearer token when it
// opens a page; it sends the token with its /stats requests.
func (a *App) registerDashboard(ctx context.Context) {
	c := dashboard.New(a.Metrics.Registry, a.dashboardSources(), dashboard.Options{Log: a.Log})
	stats, page := c.Handlers()
	a.Admin.Handle("GET", "/stats", admin.Read, stats)
	a.Admin.Handle("GET", "/dashboard", admin.Open, page)
	go c.Run(ctx)
}

// dashboardSources are the node's live facts beside its metrics. None of
// them does I/O: pools and the stock store answer from memory (the store's
// local view of a fleet's counters), hot keys are the detector's last tick,
// Redis health is the watcher's flag.
func (a *App) dashboardSources() dashboard.Sources {
	src := dashboard.Sources{
		Upstreams: a.upstreamStatus,
		Sales:     a.saleStatus,
		Config: func() (uint64, time.Time, string) {
			v, at := a.Gateway.Version()
			msg := ""
			if p := a.lastErr.Load(); p != nil {
				msg = *p
			}
			return v, at, msg
		},
	}
	if a.deps != nil && a.deps.Hot != nil {
		det := a.deps.Hot
		src.Hot = func() []dashboard.HotKey {
			top := det.Top()
			out := make([]dashboard.HotKey, len(top))
			for i, e := range top {
				out[i] = dashboard.HotKey{Kind: e.Kind, Key: e.Key, Rate: e.Rate, Source: e.Source}
			}
			return out
		}
	}
	if a.redisUp != nil {
		src.Redis = func() (bool, bool) { return true, a.redisUp.Up() }
	} else {
		src.Redis = func() (bool, bool) { return false, false }
	}
	return src
}

func (a *App) upstreamStatus() []dashboard.UpstreamStatus {
	pools := a.Gateway.Pools()
	out := make([]dashboard.UpstreamStatus, 0, len(pools))
	for name, p := range pools {
		st := p.Status()
		u := dashboard.UpstreamStatus{Name: name, Servers: make([]dashboard.ServerStatus, len(st))}
		for i, s := range st {
			u.Servers[i] = dashboard.ServerStatus{Addr: s.Addr, Healthy: s.Healthy, Ejected: s.Ejected, InFlight: s.InFlight, Fails: s.Fails}
		}
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (a *App) saleStatus() []dashboard.SaleStatus {
	store, now := a.ledger.Store(), time.Now()
	sales := a.ledger.Sales().All()
	out := make([]dashboard.SaleStatus, 0, len(sales))
	for _, s := range sales {
		info, known := store.Local(s)
		out = append(out, dashboard.SaleStatus{
			Name: s.Name, Item: s.Item, Stock: s.Stock, Starts: s.Starts, Ends: s.Ends,
			State: s.State(now, known && info.SoldOut), Known: known,
			Remaining: info.Remaining, Reserved: info.Reserved, Sold: info.Sold,
		})
	}
	return out
}
