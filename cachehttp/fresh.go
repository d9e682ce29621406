package cachehttp

import "github.com/valyala/fasthttp"

// ServeFresh answers ctx from a fresh stored entry and reports true, or
// does nothing and reports false: it never contacts the origin and never
// waits. ESI assembly uses it to serve cached fragments on the page's own
// goroutine and sends the rest where the page deadline can cut them.
func (r *Route) ServeFresh(ctx *fasthttp.RequestCtx, https bool) bool {
	rh := &ctx.Request.Header
	if !rh.IsGet() && !rh.IsHead() {
		return false
	}
	sc := acquireScratch()
	defer releaseScratch(sc)
	var err error
	sc.key, err = r.appendRequestKey(sc.key[:0], ctx, https)
	if err != nil {
		return false
	}
	now := r.c.now()
	o := r.c.store.get(sc.key, now)
	if o == nil || o.isPass(now) {
		return false
	}
	sc.skey = appendSecondaryKey(sc.skey[:0], o.vary.names, rh)
	e := o.match(sc.skey)
	if e == nil || !e.isFresh(now) {
		return false
	}
	r.m.hit.Inc()
	r.write(ctx, e, sc, now, kindHit)
	return true
}
