package gateway

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"edge/cachehttp"
	"edge/filter"
	"edge/internal/config"
	"edge/internal/hot"
)

// HeaderHot tells the shop that a request is for a hot item, so it can
// protect itself (serve it from its own cache, shed optional work). edge
// removes it from every client request and sets it itself.
const HeaderHot = "X-Edge-Hot"

var headerHot = []byte(HeaderHot)

// hotRoute is what a route does for hot keys: a micro-cache for an
// otherwise uncacheable GET route, and a cap on the upstream connections one
// hot item may hold.
type hotRoute struct {
	micro     *cachehttp.Route // nil: no micro-cache
	microHits prometheus.Counter
	maxConns  int64 // per hot item; 0 = no cap
	inflight  sync.Map
}

func newHotRoute(r *Route, rc *config.Route, ucfg *config.Upstream, d *Deps) *hotRoute {
	h := rc.HotKeys
	if h == nil || d.Hot == nil {
		return nil
	}
	hr := &hotRoute{}
	if mc := h.MicroCache.D(); mc > 0 && d.Cache != nil && r.cache == nil && !rc.Private {
		// A one-second (or so) cache of a hot key: stored even when the
		// origin asks for revalidation (no-cache, max-age=0), never when it
		// says no-store or private, so a shopper's own answer is never
		// kept for others.
		strip := true
		hr.micro = cachehttp.NewRoute(d.Cache, rc.Name, &config.RouteCache{
			TTL: config.Duration(mc), ForceTTL: true, StripCookies: &strip, HitForPass: config.Duration(mc),
		}, &origin{route: r})
		hr.microHits = d.HotMetrics.MicroCacheHits(rc.Name)
	}
	if h.MaxConnShare > 0 {
		total := ucfg.MaxConns * len(ucfg.Servers)
		hr.maxConns = int64(math.Max(1, math.Floor(h.MaxConnShare*float64(total))))
	}
	return hr
}

// urlKey is the hot-key detector's name of a URL: host and request URI as
// sent (equivalent spellings count apart; they are rare on one hot link).
func urlKey(dst []byte, ctx *fasthttp.RequestCtx) []byte {
	return append(append(dst, ctx.Host()...), ctx.Request.Header.RequestURI()...)
}

// serveMicro answers a GET of a hot URL from the route's micro-cache.
func (r *Route) serveMicro(ctx *fasthttp.RequestCtx) {
	hr := r.hot
	hr.micro.ServeHot(ctx, r.proto(ctx) == protoHTTPS)
	if string(ctx.Response.Header.Peek("X-Cache")) == "HIT" {
		hr.microHits.Inc()
	}
}

// hotItem marks a request for a hot item for the shop and holds one of the
// item's capped connections. It reports false (and answers 503) when the
// item already holds its share; release must be called when it returns
// true.
func (r *Route) hotItem(ctx *fasthttp.RequestCtx, st *filter.State, det *hot.Detector) (release func(), ok bool) {
	if len(st.Item) == 0 || !det.ObserveHot(hot.Item, st.Item) {
		return nil, true
	}
	ctx.Request.Header.Set(HeaderHot, "1")
	hr := r.hot
	if hr == nil || hr.maxConns == 0 {
		return nil, true
	}
	v, _ := hr.inflight.LoadOrStore(string(st.Item), new(atomic.Int64))
	n := v.(*atomic.Int64)
	if n.Add(1) > hr.maxConns {
		n.Add(-1)
		filter.Reject(ctx, st, "hot", fasthttp.StatusServiceUnavailable, "hot_item_busy", time.Second)
		return nil, false
	}
	return func() { n.Add(-1) }, true
}
