package gateway

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"edge/cachehttp"
	"edge/filter"
	"edge/filter/stock"
	"edge/internal/clientip"
	"edge/internal/config"
	"edge/internal/metrics"
	"edge/upstream"
)

// Table is one built configuration: the compiled routes, their stages and
// the upstream pools they use. A table is immutable once built; a reload
// builds a new one and swaps it in.
type Table struct {
	cfg      *config.Config
	version  uint64
	loadedAt time.Time
	routes   []*Route
	pools    map[string]*upstream.Pool
	resolver *clientip.Resolver
	sales    *stock.Sales
	identity *filter.Identity // the identity source in "required" mode, nil without one
	unrouted *metrics.RouteMetrics
	access   bool

	inflight atomic.Int64
}

// Route is one compiled route.
type Route struct {
	name     string
	match    matcher
	stages   []filter.Stage
	afters   []filter.Afterer // afters[i] is stages[i] as an Afterer, or nil
	pool     *upstream.Pool
	fwd      *upstream.Forwarder
	cache    *cachehttp.Route
	esi      *esiPage  // nil: no ESI on this route
	hot      *hotRoute // nil: nothing special for hot keys
	gw       *Gateway
	table    *Table
	fragLat  prometheus.Observer // this route's latency as an ESI fragment
	private  bool
	timeout  time.Duration
	resolver *clientip.Resolver
	m        *metrics.RouteMetrics
}

// Name is the route's configured name.
func (r *Route) Name() string { return r.name }

// build compiles cfg into a table. Pools whose config did not change are
// taken over from prev (keeping their connections and health state); prev
// may be nil. Nothing of prev is modified.
func build(cfg *config.Config, version uint64, prev *Table, g *Gateway) (*Table, error) {
	d := g.deps
	t := &Table{
		cfg:      cfg,
		version:  version,
		loadedAt: time.Now(),
		pools:    make(map[string]*upstream.Pool, len(cfg.Upstreams)),
		unrouted: d.Metrics.Route("_unmatched"),
		access:   cfg.Log.Access,
		sales:    stock.NewSales(cfg.Sales),
	}
	trusted := make([]netip.Prefix, 0, len(cfg.TrustedProxies))
	for _, c := range cfg.TrustedProxies {
		trusted = append(trusted, c.Prefix)
	}
	t.resolver = clientip.New(trusted)

	fail := func(err error) (*Table, error) {
		t.closeNew(prev)
		return nil, err
	}
	if cfg.Identity != nil {
		id, err := filter.NewIdentity(cfg.Identity, filter.IdentityRequired)
		if err != nil {
			return fail(fmt.Errorf("identity: %w", err))
		}
		t.identity = id
	}
	for name, ucfg := range cfg.Upstreams {
		if prev != nil {
			if old, ok := prev.pools[name]; ok && reflect.DeepEqual(prev.cfg.Upstreams[name], ucfg) {
				t.pools[name] = old
				continue
			}
		}
		p, err := upstream.NewPool(name, ucfg, d.Upstream, d.Log)
		if err != nil {
			return fail(fmt.Errorf("upstream %q: %w", name, err))
		}
		t.pools[name] = p
	}
	for _, rc := range cfg.Routes {
		r, err := buildRoute(rc, t, g)
		if err != nil {
			return fail(fmt.Errorf("route %q: %w", rc.Name, err))
		}
		t.routes = append(t.routes, r)
	}
	return t, nil
}

func buildRoute(rc *config.Route, t *Table, g *Gateway) (*Route, error) {
	d := g.deps
	pool, ok := t.pools[rc.Upstream]
	if !ok {
		return nil, fmt.Errorf("unknown upstream %q", rc.Upstream)
	}
	ucfg := t.cfg.Upstreams[rc.Upstream]
	r := &Route{
		name:     rc.Name,
		match:    compileMatch(rc.Match),
		pool:     pool,
		fwd:      &upstream.Forwarder{Via: t.cfg.Server.Via, Host: ucfg.Host},
		private:  rc.Private,
		timeout:  rc.Timeout.D(),
		resolver: t.resolver,
		m:        d.Metrics.Route(rc.Name),
		gw:       g,
		table:    t,
		fragLat:  d.ESI.latency.WithLabelValues(rc.Name),
	}
	stages, err := buildStages(rc, t, d)
	if err != nil {
		return nil, err
	}
	r.stages = stages
	r.afters = make([]filter.Afterer, len(stages))
	for i, s := range stages {
		if a, ok := s.(filter.Afterer); ok {
			r.afters[i] = a
		}
	}
	var opts []cachehttp.RouteOption
	if rc.ESI != nil {
		r.esi = newESIPage(r, rc.ESI, d.ESI)
		opts = append(opts, cachehttp.WithTransformer(r.esi.transformer()))
	}
	if rc.Cache != nil && !rc.Private && d.Cache != nil {
		r.cache = cachehttp.NewRoute(d.Cache, rc.Name, rc.Cache, &origin{route: r}, opts...)
	}
	r.hot = newHotRoute(r, rc, ucfg, d)
	return r, nil
}

// pools of t that prev does not share.
func (t *Table) ownPools(other *Table) []*upstream.Pool {
	var out []*upstream.Pool
	for name, p := range t.pools {
		if other != nil && other.pools[name] == p {
			continue
		}
		out = append(out, p)
	}
	return out
}

// closeNew releases what a failed build created (pools not taken from prev,
// stages built so far).
func (t *Table) closeNew(prev *Table) {
	for _, p := range t.ownPools(prev) {
		p.Close()
	}
	t.closeStages()
}

func (t *Table) closeStages() {
	for _, r := range t.routes {
		for _, s := range r.stages {
			if c, ok := s.(filter.Closer); ok {
				_ = c.Close()
			}
		}
	}
}

// start begins background work of the pools t owns beyond prev.
func (t *Table) start(prev *Table) {
	for _, p := range t.ownPools(prev) {
		p.Start()
	}
}

// retire waits (up to ctx) for requests still using t, then closes what t
// owns that next does not share.
func (t *Table) retire(ctx context.Context, next *Table) {
	waitIdle(ctx, &t.inflight)
	for _, p := range t.ownPools(next) {
		p.Close()
	}
	t.closeStages()
}

// waitIdle polls n until it is zero or ctx ends.
func waitIdle(ctx context.Context, n *atomic.Int64) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for n.Load() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
