package cachehttp

import (
	"bytes"
	"strconv"
	"sync"

	"github.com/valyala/fasthttp"
)

// scratch is per-request working memory, pooled so a hit allocates nothing.
type scratch struct {
	key   []byte // primary key
	skey  []byte // secondary key
	buf   []byte // header values
	stale *Entry // the stale variant found, if any
	// The last Accept-Encoding parsed with this scratch and its verdict:
	// browsers send a few identical strings, so most hits skip the parse.
	ae           []byte
	aeBr, aeGzip bool
}

// acceptEncoding is acceptEncoding(ae) remembered for the next request.
func (sc *scratch) acceptEncoding(ae []byte) (br, gz bool) {
	if !bytes.Equal(ae, sc.ae) || sc.ae == nil {
		sc.ae = append(sc.ae[:0], ae...)
		sc.aeBr, sc.aeGzip = acceptEncoding(ae)
	}
	return sc.aeBr, sc.aeGzip
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{key: make([]byte, 0, 256), skey: make([]byte, 0, 64), buf: make([]byte, 0, 64), ae: make([]byte, 0, 64)}
}}

func acquireScratch() *scratch { return scratchPool.Get().(*scratch) }

func releaseScratch(sc *scratch) {
	sc.stale = nil
	scratchPool.Put(sc)
}

var (
	strHTTP  = []byte("http")
	strHTTPS = []byte("https")
)

// Serve answers ctx from the cache or through the origin, storing what may
// be stored. https says whether the client-facing scheme is https (a key
// component).
//
// Only GET and HEAD are looked up (HEAD from the GET entry); other methods
// pass through, and one that succeeds invalidates the URL (RFC 9111 §4.4).
// A request whose URI cannot be normalised is answered 400 (see AppendKey).
// Request Cache-Control and Pragma are ignored: in front of a flash sale, a
// shopper's reload (max-age=0, no-cache) must not reach the origin. Operators
// refresh content with purges.
func (r *Route) Serve(ctx *fasthttp.RequestCtx, https bool) { r.serve(ctx, https, false) }

// ServeHot is Serve for a request whose URL the hot-key detector finds hot:
// a hit on an object not warm yet warms it (see object.warm). The detector
// names a key once, when it turns hot; an entry stored again later (after
// a purge, an expiry, an eviction) is warmed by the hot requests that find
// it.
func (r *Route) ServeHot(ctx *fasthttp.RequestCtx, https bool) { r.serve(ctx, https, true) }

func (r *Route) serve(ctx *fasthttp.RequestCtx, https, hot bool) {
	rh := &ctx.Request.Header
	if !rh.IsGet() && !rh.IsHead() {
		r.forward(ctx, https)
		return
	}
	sc := acquireScratch()
	defer releaseScratch(sc)
	var err error
	sc.key, err = r.appendRequestKey(sc.key[:0], ctx, https)
	if err != nil {
		writeInvalid(ctx)
		return
	}
	now := r.c.requestTime(ctx)
	if o := r.c.store.get(sc.key, now); o != nil {
		if o.isPass(now) {
			r.m.pass.Inc()
			r.pass(ctx, sc)
			return
		}
		sc.skey = appendSecondaryKey(sc.skey[:0], o.vary.names, rh)
		if e := o.match(sc.skey); e != nil {
			if e.isFresh(now) {
				r.m.hit.Inc()
				if hot && !o.warm.Load() {
					r.c.store.promote(o.key)
				}
				r.write(ctx, e, sc, now, kindHit)
				return
			}
			if e.canServeStale(now) {
				r.m.stale.Inc()
				r.write(ctx, e, sc, now, kindStale)
				r.refreshInBackground(ctx, sc, e)
				return
			}
			sc.stale = e
		}
	}
	r.miss(ctx, sc)
}

// appendRequestKey appends the primary key of ctx's request (see AppendKey);
// https says whether the client-facing scheme is https.
func (r *Route) appendRequestKey(dst []byte, ctx *fasthttp.RequestCtx, https bool) ([]byte, error) {
	scheme := strHTTP
	if https {
		scheme = strHTTPS
	}
	return AppendKey(dst, scheme, ctx.Host(), ctx.Request.Header.RequestURI(), r.c.filter.Load())
}

// writeInvalid answers a request the cache refuses to key.
func writeInvalid(ctx *fasthttp.RequestCtx) {
	ctx.Response.Reset()
	ctx.SetStatusCode(fasthttp.StatusBadRequest)
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"error":"invalid_uri"}` + "\n")
}

// kind is how a response from the store came about; it selects X-Cache and
// Cache-Status.
type kind uint8

const (
	kindHit kind = iota
	kindStale
	kindStaleError
	kindMiss
	kindCoalesced
	kindRevalidated
)

var (
	hdrAge         = []byte(fasthttp.HeaderAge)
	hdrXCache      = []byte("X-Cache")
	hdrCacheStatus = []byte("Cache-Status")
	hdrAcceptRange = []byte(fasthttp.HeaderAcceptRanges)

	// Request header names in canonical form, for PeekCanonical: the
	// gateway's server normalises header names (the fasthttp default), so
	// the hit path skips normalising its lookups.
	hdrRange           = []byte(fasthttp.HeaderRange)
	hdrIfRange         = []byte(fasthttp.HeaderIfRange)
	hdrAcceptEncoding  = []byte(fasthttp.HeaderAcceptEncoding)
	hdrIfNoneMatch     = []byte(fasthttp.HeaderIfNoneMatch)
	hdrIfModifiedSince = []byte(fasthttp.HeaderIfModifiedSince)

	xCache = [...][]byte{
		kindHit: []byte("HIT"), kindStale: []byte("STALE"), kindStaleError: []byte("STALE"),
		kindMiss: []byte("MISS"), kindCoalesced: []byte("MISS"), kindRevalidated: []byte("MISS"),
	}
	// Cache-Status (RFC 9211) up to the ttl value, which is appended.
	cacheStatus = [...][]byte{
		kindHit:         []byte("edge; hit; ttl="),
		kindStale:       []byte("edge; hit; detail=stale-while-revalidate; ttl="),
		kindStaleError:  []byte("edge; hit; detail=stale-if-error; ttl="),
		kindMiss:        []byte("edge; fwd=miss; stored; ttl="),
		kindCoalesced:   []byte("edge; fwd=miss; collapsed; ttl="),
		kindRevalidated: []byte("edge; fwd=stale; fwd-status=304; ttl="),
	}
)

// write answers ctx from e: the stored status line, headers and body as
// stored, with Age, X-Cache and Cache-Status set for this request; 304 to a
// matching conditional, 206 to a single range, and the compressed variant
// the client accepts.
func (r *Route) write(ctx *fasthttp.RequestCtx, e *Entry, sc *scratch, now int64, k kind) {
	h := &ctx.Response.Header
	age, ttl := e.ageAt(now), e.ttlAt(now)
	switch hh := e.hdr.Load(); {
	case hh == nil:
		e.writeSharedHeader(h)
		setCacheHeaders(h, &sc.buf, k, age, ttl)
	case k == kindHit:
		e.hitHeader(hh, &sc.buf, age, ttl).CopyTo(h)
	default:
		hh.CopyTo(h)
		setCacheHeaders(h, &sc.buf, k, age, ttl)
	}

	// The route's Render first: most routes have none, and Template lies
	// past the entry's lines a hit reads.
	if r.tr.Render != nil && e.Template != nil {
		ctx.Response.ResetBody()
		r.tr.Render(ctx, e)
		return
	}
	rh := &ctx.Request.Header
	if e.status == fasthttp.StatusOK {
		if notModified(rh, e) {
			h.SetStatusCode(fasthttp.StatusNotModified)
			ctx.Response.ResetBody()
			return
		}
		if spec := rh.PeekCanonical(hdrRange); len(spec) > 0 && ifRangeHolds(rh.PeekCanonical(hdrIfRange), e) {
			if writeRange(ctx, e, spec) {
				return
			}
		}
	}
	body := e.body
	if e.encoded {
		br, gz := sc.acceptEncoding(rh.PeekCanonical(hdrAcceptEncoding))
		switch {
		case br && e.br != nil:
			h.SetContentEncodingBytes(strBrotli)
			body = e.br
		case gz && e.gz != nil:
			h.SetContentEncodingBytes(strGzip)
			body = e.gz
		}
	}
	if len(body) == 0 {
		ctx.Response.ResetBody()
		return
	}
	ctx.Response.SetBodyRaw(body)
}

// setCacheHeaders sets Age, X-Cache and Cache-Status on h for an answer of
// kind k from an entry at age and ttl; buf is scratch.
func setCacheHeaders(h *fasthttp.ResponseHeader, buf *[]byte, k kind, age, ttl int64) {
	*buf = strconv.AppendInt((*buf)[:0], age, 10)
	h.SetCanonical(hdrAge, *buf)
	h.SetCanonical(hdrXCache, xCache[k])
	*buf = strconv.AppendInt(append((*buf)[:0], cacheStatus[k]...), ttl, 10)
	h.SetCanonical(hdrCacheStatus, *buf)
}

// setPassHeaders marks an answer that did not come from the store.
func setPassHeaders(ctx *fasthttp.RequestCtx, xc, status string) {
	ctx.Response.Header.Set("X-Cache", xc)
	ctx.Response.Header.Set("Cache-Status", status)
}
