// Package gateway is edge's request path: it holds the route table built
// from the config, matches each request to a route, runs the route's funnel
// stages, and answers from the cache or forwards to the route's upstream.
// A reload builds a whole new table first and swaps it in atomically; the old
// table is retired once the requests still using it are done.
package gateway

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"edge/cachehttp"
	"edge/filter"
	"edge/internal/config"
	"edge/internal/hot"
	"edge/internal/metrics"
	"edge/upstream"
)

// Deps are the process-lifetime parts every table is built with: they
// outlive reloads (metrics, the cache store, shared-state engines).
type Deps struct {
	Log      *slog.Logger
	Metrics  *metrics.Metrics
	Upstream *upstream.Metrics
	// Cache is the shared response store; nil disables caching.
	Cache *cachehttp.Cache
	// ESI are the ESI assembly metrics.
	ESI *ESIMetrics
	// Hot is the hot-key detector; nil turns detection off.
	Hot *hot.Detector
	// HotMetrics count micro-cache hits.
	HotMetrics *hot.Metrics
	// Stages holds what the funnel stages share across reloads.
	Stages StageDeps
}

// Gateway serves the public listener.
type Gateway struct {
	deps  *Deps
	table atomic.Pointer[Table]
	edge  edgeMux

	mu      sync.Mutex // serialises Load
	version uint64
	retired sync.WaitGroup

	// retiring are tables Load replaced, while their requests are not all
	// done: those are in flight too (see InFlight). retireMu also orders
	// the swap of table with InFlight's reads.
	retireMu sync.Mutex
	retiring []*Table
}

// New builds the first table from cfg. It fails when any part of the config
// cannot be built; nothing is left running then.
func New(cfg *config.Config, d *Deps) (*Gateway, error) {
	g := &Gateway{deps: d}
	if err := g.Load(cfg); err != nil {
		return nil, err
	}
	d.Metrics.SetInFlight(g.InFlight)
	return g, nil
}

// Load builds a table from cfg and swaps it in. On error the running table
// stays and keeps serving. The old table is closed in the background once
// its in-flight requests are done (or after the grace period).
func (g *Gateway) Load(cfg *config.Config) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	prev := g.table.Load()
	t, err := build(cfg, g.version+1, prev, g)
	if err != nil {
		return err // counted by the caller, which also sees files that do not load
	}
	if l := g.deps.Stages.Ledger; l != nil {
		// New sales get their stock; running sales keep theirs (a reload
		// never resets a sale). Failures are retried by the store.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := l.Seed(ctx, t.sales); err != nil {
			g.deps.Log.Warn("seeding sales", slog.String("error", err.Error()))
		}
		cancel()
	}
	if g.deps.Cache != nil {
		g.deps.Cache.Resize(cfg.Cache)
	}
	t.start(prev)
	g.version++
	// The swap and the old table's place among the retiring are one step
	// for InFlight.
	g.retireMu.Lock()
	g.table.Store(t)
	if prev != nil {
		g.retiring = append(pruneIdle(g.retiring), prev)
	}
	g.retireMu.Unlock()
	if l := g.deps.Stages.Ledger; l != nil {
		l.Use(t.sales)
	}
	g.deps.Metrics.Reload(true, g.version, float64(t.loadedAt.UnixNano())/1e9)
	if prev != nil {
		g.retired.Add(1)
		go func() {
			defer g.retired.Done()
			ctx, cancel := context.WithTimeout(context.Background(), cfg.Server.GracePeriod.D())
			defer cancel()
			prev.retire(ctx, t)
		}()
	}
	return nil
}

// InFlight is the number of requests being handled: those of the table in
// effect and of the tables it replaced that are still finishing, past the
// grace period of their retirement too.
func (g *Gateway) InFlight() int64 {
	g.retireMu.Lock()
	defer g.retireMu.Unlock()
	n := g.table.Load().inflight.Load()
	g.retiring = pruneIdle(g.retiring)
	for _, t := range g.retiring {
		n += t.inflight.Load()
	}
	return n
}

// pruneIdle drops the replaced tables with no request left: none can
// start on them any more.
func pruneIdle(ts []*Table) []*Table {
	return slices.DeleteFunc(ts, func(t *Table) bool { return t.inflight.Load() == 0 })
}

// Config returns the configuration in effect.
func (g *Gateway) Config() *config.Config { return g.table.Load().cfg }

// Version returns the sequence number of the table in effect and when it
// took effect.
func (g *Gateway) Version() (uint64, time.Time) {
	t := g.table.Load()
	return t.version, t.loadedAt
}

// Identify resolves the shopper of a request for endpoints edge answers
// itself (quiz questions, order tickets), with the identity config in
// effect: it fills st.User or answers 401 identity_required.
func (g *Gateway) Identify(ctx *fasthttp.RequestCtx, st *filter.State) filter.Verdict {
	id := g.table.Load().identity
	if id == nil {
		return filter.Reject(ctx, st, "identity", fasthttp.StatusUnauthorized, "identity_required", 0)
	}
	return id.Handle(ctx, st)
}

// Shopper returns a copy of the shopper id of ctx under the identity config
// in effect, or false when there is none (no identity configured, none
// sent, or an invalid token). It never writes a response.
func (g *Gateway) Shopper(ctx *fasthttp.RequestCtx) ([]byte, bool) {
	id := g.table.Load().identity
	if id == nil {
		return nil, false
	}
	user, _ := id.User(ctx)
	if len(user) == 0 {
		return nil, false
	}
	return bytes.Clone(user), true
}

// Pools returns the upstream pools of the table in effect, by name.
func (g *Gateway) Pools() map[string]*upstream.Pool { return g.table.Load().pools }

// Ready reports whether every upstream of the table in effect has a server
// taking traffic; the error names the first that has none.
func (g *Gateway) Ready() error {
	for name, p := range g.table.Load().pools {
		if p.Healthy() == 0 {
			return errors.New("upstream " + name + " has no healthy server")
		}
	}
	return nil
}

// Close retires the table in effect: waits for its requests (up to ctx) and
// stops its pools and stages.
func (g *Gateway) Close(ctx context.Context) {
	if t := g.table.Load(); t != nil {
		t.retire(ctx, nil)
	}
	g.retired.Wait()
}

// Handle serves one request on the public listener.
func (g *Gateway) Handle(ctx *fasthttp.RequestCtx) {
	t := g.table.Load()
	t.inflight.Add(1)

	path := ctx.Path()
	var r *Route
	if len(path) >= len(edgePrefix) && string(path[:len(edgePrefix)]) == edgePrefix {
		g.edge.serve(ctx)
		t.finish(ctx, nil, nil, g.deps)
	} else if r = t.match(ctx); r == nil {
		filter.Reject(ctx, nil, "route", fasthttp.StatusNotFound, "no_route", 0)
		t.finish(ctx, nil, nil, g.deps)
	} else {
		st := filter.AcquireState()
		st.Route = r.name
		st.ClientIP = t.resolver.Resolve(ctx)
		r.serve(ctx, st)
		t.finish(ctx, r, st, g.deps)
		filter.ReleaseState(st)
	}

	t.inflight.Add(-1)
}

// match returns the first route matching ctx, or nil.
func (t *Table) match(ctx *fasthttp.RequestCtx) *Route {
	host, path, method := ctx.Host(), ctx.Path(), ctx.Method()
	for _, r := range t.routes {
		if r.match.match(host, path, method) {
			return r
		}
	}
	return nil
}

// serve runs the funnel, then the cache or the upstream, then the After
// hooks of the stages that ran, in reverse order.
func (r *Route) serve(ctx *fasthttp.RequestCtx, st *filter.State) {
	// Only edge says what is hot. Looked up before deleting: Del
	// normalises the name on every call, and the header is rarely there.
	if ctx.Request.Header.PeekCanonical(headerHot) != nil {
		ctx.Request.Header.Del(HeaderHot)
	}
	det := r.gw.deps.Hot
	urlHot := false
	if det != nil && (ctx.IsGet() || ctx.IsHead()) {
		var buf [512]byte
		urlHot = det.ObserveHot(hot.URL, urlKey(buf[:0], ctx))
	}
	ran := 0
	verdict := filter.Continue
	for _, s := range r.stages {
		ran++
		if verdict = s.Handle(ctx, st); verdict != filter.Continue {
			if st.Stage == "" {
				st.Stage = s.Name()
			}
			break
		}
	}
	if verdict == filter.Continue {
		r.answer(ctx, st, det, urlHot)
	}
	for i := ran - 1; i >= 0; i-- {
		if a := r.afters[i]; a != nil {
			a.After(ctx, st)
		}
	}
}

// answer serves a request the funnel let through: from the cache (or the
// hot micro-cache), or from the upstream.
func (r *Route) answer(ctx *fasthttp.RequestCtx, st *filter.State, det *hot.Detector, urlHot bool) {
	if det != nil {
		release, ok := r.hotItem(ctx, st, det)
		if !ok {
			return
		}
		if release != nil {
			defer release()
		}
	}
	switch {
	case r.cache != nil && urlHot:
		r.cache.ServeHot(ctx, r.proto(ctx) == protoHTTPS)
	case r.cache != nil:
		r.cache.Serve(ctx, r.proto(ctx) == protoHTTPS)
	case urlHot && r.hot != nil && r.hot.micro != nil && ctx.IsGet():
		r.serveMicro(ctx)
	case r.esi != nil:
		r.forwardESI(ctx, st)
	default:
		r.fwd.Forward(ctx, r.pool, r.outbound(ctx, st), r.timeout)
	}
}

// finish records metrics and the access log line of an answered request.
func (t *Table) finish(ctx *fasthttp.RequestCtx, r *Route, st *filter.State, d *Deps) {
	status := ctx.Response.StatusCode()
	elapsed := time.Since(ctx.Time())
	rm := t.unrouted
	if r != nil {
		rm = r.m
		if st.Reason != "" {
			d.Metrics.Rejection(r.name, st.Stage, st.Reason)
		}
	}
	rm.Observe(status, elapsed.Seconds())
	if t.access {
		t.logAccess(ctx, r, st, status, elapsed, d.Log)
	}
}
