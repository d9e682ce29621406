package cachehttp

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"
)

// errLeaderFailed is what waiters get when the request leading their fetch
// ended without a result (a panic in the origin).
var errLeaderFailed = errors.New("cachehttp: origin fetch ended without a result")

// miss answers a GET or HEAD that the store could not answer fresh: one
// origin request per key (the leader's), which the others wait for.
// sc.stale is the stale variant found, if any.
func (r *Route) miss(ctx *fasthttp.RequestCtx, sc *scratch) {
	key := string(sc.key)
	for range 2 {
		f, leader := r.c.flights.join(key)
		if leader {
			r.lead(ctx, sc, key, f)
			return
		}
		f.waiters.Add(1)
		timer := time.NewTimer(r.wait)
		select {
		case <-f.done:
			timer.Stop()
		case <-timer.C:
			f.waiters.Add(-1)
			if !r.serveStaleOnError(ctx, sc) {
				r.m.coalesced.Inc()
				r.origin.WriteError(ctx, ErrWaitTimeout)
			}
			return
		}
		switch f.outcome {
		case outStored:
			// Look again with this request's own Vary values.
			now := r.c.now()
			e := r.lookup(ctx, sc, now)
			if e != nil && (e == f.entry || e.isFresh(now)) {
				r.m.coalesced.Inc()
				r.write(ctx, e, sc, now, kindCoalesced)
				return
			}
			// Another variant: lead (or join) a fetch of our own.
			if e != nil {
				sc.stale = e
			}
		case outPass:
			r.m.pass.Inc()
			r.pass(ctx, sc)
			return
		case outShared:
			if !r.serveStaleOnError(ctx, sc) {
				r.m.coalesced.Inc()
				resp := fasthttp.AcquireResponse()
				f.resp.CopyTo(resp)
				r.origin.WriteResponse(ctx, resp)
				fasthttp.ReleaseResponse(resp)
				setPassHeaders(ctx, "MISS", "edge; fwd=miss; collapsed")
			}
			return
		case outFailed:
			if !r.serveStaleOnError(ctx, sc) {
				r.m.coalesced.Inc()
				r.origin.WriteError(ctx, f.err)
			}
			return
		}
	}
	r.m.pass.Inc()
	r.pass(ctx, sc)
}

// lookup finds the variant of sc.key for this request (nil: none).
func (r *Route) lookup(ctx *fasthttp.RequestCtx, sc *scratch, now int64) *Entry {
	o := r.c.store.get(sc.key, now)
	if o == nil || len(o.variants) == 0 {
		return nil
	}
	sc.skey = appendSecondaryKey(sc.skey[:0], o.vary.names, &ctx.Request.Header)
	return o.match(sc.skey)
}

// serveStaleOnError serves sc.stale if stale-if-error allows it now.
func (r *Route) serveStaleOnError(ctx *fasthttp.RequestCtx, sc *scratch) bool {
	now := r.c.now()
	if sc.stale == nil || !sc.stale.canServeOnError(now) {
		return false
	}
	r.m.stale.Inc()
	r.write(ctx, sc.stale, sc, now, kindStaleError)
	return true
}

// lead runs the fetch of a flight and answers ctx with its result.
func (r *Route) lead(ctx *fasthttp.RequestCtx, sc *scratch, key string, f *flight) {
	finished := false
	defer func() {
		if !finished {
			f.outcome, f.err = outFailed, errLeaderFailed
			r.c.flights.finish(key, f)
		}
	}()
	// A flight that ended between our lookup and our join may have stored
	// the answer already (the groupcache re-check).
	now := r.c.now()
	if e := r.lookup(ctx, sc, now); e != nil && e.isFresh(now) {
		f.outcome, f.entry = outStored, e
		finished = true
		r.c.flights.finish(key, f)
		r.m.hit.Inc()
		r.write(ctx, e, sc, now, kindHit)
		return
	} else if e != nil {
		sc.stale = e // the newest stale copy: revalidate that one
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	r.origin.Prepare(ctx, req)
	r.prepareFetch(req, sc.key, sc.stale)
	res := r.fetch(req, resp, &ctx.Request.Header, key, sc.stale)
	f.outcome, f.entry, f.err = res.out, res.entry, res.err
	if res.out == outShared {
		f.resp = new(fasthttp.Response)
		resp.CopyTo(f.resp)
	}
	finished = true
	r.c.flights.finish(key, f)
	r.answer(ctx, sc, res, resp, "MISS", "edge; fwd=miss")
}

// answer writes the result of a fetch this request made.
func (r *Route) answer(ctx *fasthttp.RequestCtx, sc *scratch, res fetched, resp *fasthttp.Response, xc, status string) {
	switch {
	case res.entry != nil:
		if res.kind == kindRevalidated {
			r.m.revalidated.Inc()
		} else if xc == "MISS" {
			r.m.miss.Inc()
		}
		r.write(ctx, res.entry, sc, r.c.now(), res.kind)
	case (res.out == outShared || res.out == outFailed) && r.serveStaleOnError(ctx, sc):
		// The origin failed; a stale copy stands in.
	case res.out == outFailed:
		r.countFetchAnswer(xc)
		r.origin.WriteError(ctx, res.err)
	default:
		r.countFetchAnswer(xc)
		r.origin.WriteResponse(ctx, resp)
		setPassHeaders(ctx, xc, status)
	}
}

func (r *Route) countFetchAnswer(xc string) {
	if xc == "MISS" {
		r.m.miss.Inc()
	}
}

// pass sends the request to the origin without waiting for others (a
// hit-for-pass key, or a fetch that could not be shared). A storable answer
// is still stored, which ends the hit-for-pass period.
func (r *Route) pass(ctx *fasthttp.RequestCtx, sc *scratch) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	r.origin.Prepare(ctx, req)
	r.prepareFetch(req, sc.key, nil)
	res := r.fetch(req, resp, &ctx.Request.Header, string(sc.key), nil)
	r.answer(ctx, sc, res, resp, "PASS", "edge; fwd=bypass")
}

// fetched is the result of one origin fetch.
type fetched struct {
	out   outcome
	entry *Entry // to serve: stored, or revalidated but no longer storable
	kind  kind   // kindMiss or kindRevalidated
	err   error
}

// fetch sends req, stores what may be stored and says what to answer.
// client is the client's request header (for Vary values); stale is the
// entry being revalidated, if any.
func (r *Route) fetch(req *fasthttp.Request, resp *fasthttp.Response, client *fasthttp.RequestHeader, key string, stale *Entry) fetched {
	if err := r.origin.Do(req, resp); err != nil {
		r.m.fetchError.Inc()
		return fetched{out: outFailed, err: fmt.Errorf("cachehttp: origin fetch: %w", err)}
	}
	status := resp.StatusCode()
	now := r.c.timeNow()
	authorized := len(req.Header.Peek(fasthttp.HeaderAuthorization)) > 0
	switch {
	case status == fasthttp.StatusNotModified && stale != nil:
		r.m.notModified.Inc()
		n, merged := stale.refreshed(&resp.Header)
		f := decide(n.status, merged, authorized, &r.pol, now)
		n.setTimes(f, now)
		n.computeSize()
		if !f.store {
			r.c.store.remove(key)
			return fetched{out: outPass, entry: n, kind: kindRevalidated}
		}
		r.c.sets.share(n)
		r.c.store.addVariant(parseVary(merged, r.pol.stripCookies), n, now.UnixNano())
		return fetched{out: outStored, entry: n, kind: kindRevalidated}
	case status >= 500 && status != fasthttp.StatusNotImplemented:
		r.m.serverError.Inc()
		return fetched{out: outShared}
	}
	f := decide(status, &resp.Header, authorized, &r.pol, now)
	if f.store {
		e, spec, err := r.newEntry(key, client, resp, f, now)
		if err == nil && r.c.store.addVariant(spec, e, now.UnixNano()) {
			r.m.stored.Inc()
			return fetched{out: outStored, entry: e, kind: kindMiss}
		}
	}
	r.m.uncacheable.Inc()
	r.c.store.setPass(key, now.Add(r.pol.hitForPass).UnixNano())
	return fetched{out: outPass}
}

// newEntry builds the entry for a storable response.
func (r *Route) newEntry(key string, client *fasthttp.RequestHeader, resp *fasthttp.Response, f freshness, now time.Time) (*Entry, varySpec, error) {
	body, err := identityBody(resp, r.maxEntry())
	if err != nil {
		return nil, varySpec{}, err
	}
	spec := parseVary(&resp.Header, r.pol.stripCookies)
	h := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(h)
	storeHeader(&h.Header, &resp.Header)
	var tmpl any
	keep := r.tr.Parse != nil
	if keep {
		body = bytes.Clone(body) // the entry's own: the template may keep slices of it
		if tmpl, err = r.tr.Parse(&h.Header, body); err != nil {
			return nil, spec, fmt.Errorf("cachehttp: transform %s: %w", key, err)
		}
	}
	var gz, br []byte
	if tmpl == nil && !f.noTransform {
		gz, br = compressVariants(body, h.Header.ContentType())
	}
	if v := varyValue(&resp.Header, gz != nil || br != nil); len(v) > 0 {
		h.Header.SetBytesV(fasthttp.HeaderVary, v)
	}
	status := resp.StatusCode()
	if status == fasthttp.StatusOK && tmpl == nil {
		h.Header.SetCanonical(hdrAcceptRange, []byte("bytes"))
	}
	e := packEntry(&h.Header, appendSecondaryKey(nil, spec.names, client), key, body, keep)
	e.status, e.Template = status, tmpl
	e.setEncodings(gz, br)
	e.tags = parseTags(&resp.Header)
	e.setTimes(f, now)
	e.computeSize()
	r.c.sets.share(e)
	return e, spec, nil
}

// Request headers the cache removes before a fetch: it answers ranges and
// conditionals itself from whole stored bodies, picks encodings itself, and
// ignores clients' cache directives.
var fetchStripped = []string{
	fasthttp.HeaderRange, fasthttp.HeaderIfRange, fasthttp.HeaderIfMatch,
	fasthttp.HeaderIfNoneMatch, fasthttp.HeaderIfModifiedSince, fasthttp.HeaderIfUnmodifiedSince,
	fasthttp.HeaderAcceptEncoding, fasthttp.HeaderCacheControl, fasthttp.HeaderPragma,
}

// prepareFetch turns the gateway's prepared request into the cache's fetch
// of key: a GET of the normalised target (what is stored under a key is
// the origin's answer for exactly that key), without cookies when the route
// strips them, conditional on stale's validators when revalidating.
func (r *Route) prepareFetch(req *fasthttp.Request, key []byte, stale *Entry) {
	req.Header.SetMethod(fasthttp.MethodGet)
	req.ResetBody()
	if i := bytes.Index(key, []byte("://")); i >= 0 {
		target := key[i+3:]
		if j := bytes.IndexByte(target, '/'); j >= 0 {
			target = target[j:]
			path, query := target, []byte(nil)
			if q := bytes.IndexByte(target, '?'); q >= 0 {
				path, query = target[:q], target[q+1:]
			}
			u := req.URI()
			u.SetPathBytes(path)
			u.SetQueryStringBytes(query)
		}
	}
	for _, h := range fetchStripped {
		req.Header.Del(h)
	}
	dropUnderscoreNames(&req.Header)
	if r.pol.stripCookies {
		req.Header.DelAllCookies()
		req.Header.Del(fasthttp.HeaderCookie)
	}
	if stale != nil {
		if len(stale.etag) > 0 {
			req.Header.SetBytesV(fasthttp.HeaderIfNoneMatch, stale.etag)
		}
		if len(stale.lastMod) > 0 {
			req.Header.SetBytesV(fasthttp.HeaderIfModifiedSince, stale.lastMod)
		}
	}
}

// dropUnderscoreNames removes every header whose name holds an underscore
// from a fetch, whose answer is stored for every client. Origins behind
// CGI-style gateways read Accept_Language as Accept-Language and
// If_None_Match as If-None-Match: a client could otherwise steer the
// stored answer past the headers the cache strips, or past the secondary
// key a Vary builds from the dashed name, and poison the entry for every
// other client. nginx drops such names by default.
func dropUnderscoreNames(h *fasthttp.RequestHeader) {
	var drop [][]byte
	for k := range h.All() {
		if bytes.IndexByte(k, '_') >= 0 {
			drop = append(drop, bytes.Clone(k))
		}
	}
	for _, k := range drop {
		h.DelBytes(k)
	}
}

// refreshInBackground starts the one refresh of a stale entry served under
// stale-while-revalidate, unless a fetch of the key is already under way.
// Everything the fetch needs is copied from ctx before the handler returns.
func (r *Route) refreshInBackground(ctx *fasthttp.RequestCtx, sc *scratch, stale *Entry) {
	if r.c.flights.running(sc.key) {
		return
	}
	key := string(sc.key)
	f, leader := r.c.flights.join(key)
	if !leader {
		return
	}
	req, client := fasthttp.AcquireRequest(), fasthttp.AcquireRequest()
	r.origin.Prepare(ctx, req)
	r.prepareFetch(req, sc.key, stale)
	ctx.Request.Header.CopyTo(&client.Header)
	r.c.bg.Add(1)
	go func() {
		defer r.c.bg.Done()
		resp := fasthttp.AcquireResponse()
		defer func() {
			fasthttp.ReleaseRequest(req)
			fasthttp.ReleaseRequest(client)
			fasthttp.ReleaseResponse(resp)
		}()
		finished := false
		defer func() {
			if !finished {
				f.outcome, f.err = outFailed, errLeaderFailed
				r.c.flights.finish(key, f)
			}
		}()
		res := r.fetch(req, resp, &client.Header, key, stale)
		f.outcome, f.entry, f.err = res.out, res.entry, res.err
		if res.out == outShared {
			f.resp = new(fasthttp.Response)
			resp.CopyTo(f.resp)
		}
		finished = true
		r.c.flights.finish(key, f)
	}()
}

// forward passes a request of another method than GET or HEAD to the
// origin. When an unsafe method succeeds, the URL's stored responses are
// dropped (RFC 9111 §4.4).
func (r *Route) forward(ctx *fasthttp.RequestCtx, https bool) {
	r.m.pass.Inc()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	r.origin.Prepare(ctx, req)
	if err := r.origin.Do(req, resp); err != nil {
		r.origin.WriteError(ctx, fmt.Errorf("cachehttp: origin: %w", err))
		return
	}
	if status := resp.StatusCode(); status < 400 && !isSafeMethod(ctx.Method()) {
		if key, err := r.appendRequestKey(nil, ctx, https); err == nil {
			r.c.store.remove(string(key))
			r.c.metrics.purges.WithLabelValues(PurgeInvalidate).Inc()
		}
	}
	r.origin.WriteResponse(ctx, resp)
	setPassHeaders(ctx, "PASS", "edge; fwd=bypass")
}

func isSafeMethod(m []byte) bool {
	switch string(m) {
	case fasthttp.MethodGet, fasthttp.MethodHead, fasthttp.MethodOptions, fasthttp.MethodTrace:
		return true
	}
	return false
}
