package cachehttp

import (
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"
)

// Origin is how a route's cache reaches its origin. The gateway implements
// it once per route (forwarding hygiene, pool, timeouts); the cache decides
// when to call it: once per key on a miss, conditionally to revalidate, in
// the background for stale-while-revalidate, directly for passes.
type Origin interface {
	// Prepare fills out with the request to send to the origin for ctx (the
	// gateway strips hop-by-hop headers, sets X-Forwarded-*; the cache then
	// removes Cookie when stripping and adds conditional headers when
	// revalidating). It runs on the request's goroutine.
	Prepare(ctx *fasthttp.RequestCtx, out *fasthttp.Request)
	// Do sends a prepared request; an error means no usable answer (the
	// gateway maps it with WriteError). It may run on another goroutine than
	// the request's, and must bound its own time.
	Do(req *fasthttp.Request, resp *fasthttp.Response) error
	// WriteError writes the client answer for an origin error (502/503/504
	// JSON).
	WriteError(ctx *fasthttp.RequestCtx, err error)
	// WriteResponse writes an origin answer that is passed through (not from
	// the store): hop-by-hop stripped, Via.
	WriteResponse(ctx *fasthttp.RequestCtx, resp *fasthttp.Response)
}

// Transformer is the extension point for body processing such as ESI: a
// parsed form of each stored body is kept with the entry (Entry.Template)
// and rendered per request instead of the stored bytes. Compressed variants,
// 304 and 206 answers are not made for entries with a Template: what the
// client gets is what Render makes.
type Transformer struct {
	// Parse runs once when a response is stored, with the header set being
	// stored (it may adjust it, but not keep it past the call) and the
	// identity body, which stays the entry's (the template may keep slices
	// of it; nothing may change it). A nil result stores the entry as plain
	// bytes; an error means the response is not stored (it is passed
	// through as the origin sent it).
	Parse func(hdr *fasthttp.ResponseHeader, body []byte) (any, error)
	// Render answers a request from an entry with a Template. The cache has
	// already written the stored status and headers, Age, X-Cache and
	// Cache-Status into ctx.Response; Render writes the body (and may change
	// headers). It runs on the request's goroutine and must not keep ctx.
	Render func(ctx *fasthttp.RequestCtx, e *Entry)
}

// RouteOption adjusts a Route built by NewRoute.
type RouteOption func(*Route)

// WithTransformer sets the route's Transformer (see its doc).
func WithTransformer(t Transformer) RouteOption {
	return func(r *Route) { r.tr = t }
}

// WithWaitTimeout bounds how long a request waits for another request's
// origin fetch of the same key before giving up (stale if it may, else an
// ErrWaitTimeout through Origin.WriteError). Default DefaultWaitTimeout.
func WithWaitTimeout(d time.Duration) RouteOption {
	return func(r *Route) {
		if d > 0 {
			r.wait = d
		}
	}
}

// DefaultWaitTimeout is how long a coalesced request waits for the fetch it
// joined. Origin timeouts are shorter; this only guards against a fetch that
// never ends.
const DefaultWaitTimeout = 10 * time.Second

// ErrWaitTimeout is given to Origin.WriteError when a request waited too
// long for another request's fetch of the same key (map it to 504).
var ErrWaitTimeout = errors.New("cachehttp: timed out waiting for the origin fetch of this key")

// Route is one route's view of the cache: its policy, its origin and its
// metrics. Built once per route per config table; safe for concurrent use.
type Route struct {
	c      *Cache
	name   string
	pol    policy
	origin Origin
	tr     Transformer
	wait   time.Duration
	m      routeMetrics
}

// NewRoute makes a cached route: requests given to Serve are answered from
// c under cfg's policy, misses fetched through origin. name labels metrics.
func NewRoute(c *Cache, name string, cfg *config.RouteCache, origin Origin, opts ...RouteOption) *Route {
	r := &Route{
		c:      c,
		name:   name,
		pol:    newPolicy(cfg),
		origin: origin,
		wait:   DefaultWaitTimeout,
		m:      c.metrics.route(name),
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Name is the route's name.
func (r *Route) Name() string { return r.name }

// maxEntry is the route's bound on a stored body.
func (r *Route) maxEntry() int64 {
	if r.pol.maxEntry > 0 {
		return r.pol.maxEntry
	}
	return r.c.store.maxEntry.Load()
}
