package gateway

import (
	"bytes"
	"context"
	"sync"

	"github.com/valyala/fasthttp"

	"edge/cachehttp"
	"edge/cachehttp/esi"
	"edge/filter"
	"edge/internal/config"
)

// esiPage assembles the ESI markup of one route's HTML responses. On a
// cached route the template is parsed once, when the response is stored,
// and every hit only assembles; on an uncached route each response is
// parsed as it passes.
type esiPage struct {
	route   *Route
	opts    esi.Options
	forward [][]byte // request headers passed on to fragments
	m       *esiRouteMetrics
}

func newESIPage(r *Route, cfg *config.ESI, m *ESIMetrics) *esiPage {
	p := &esiPage{route: r, opts: esi.OptionsFromConfig(cfg), m: m.route(r.name)}
	for _, h := range cfg.ForwardHeaders {
		p.forward = append(p.forward, []byte(h))
	}
	return p
}

// transformer is the cache's hook: parse at store time, render per hit.
func (p *esiPage) transformer() cachehttp.Transformer {
	return cachehttp.Transformer{
		Parse: func(hdr *fasthttp.ResponseHeader, body []byte) (any, error) {
			if t := parseESI(hdr, body); t != nil {
				return t, nil
			}
			return nil, nil
		},
		Render: func(ctx *fasthttp.RequestCtx, e *cachehttp.Entry) {
			p.render(ctx, e.Template.(*esi.Template))
		},
	}
}

// parseESI returns the template of an HTML body with ESI markup, or nil:
// bodies without markup are stored and served byte-identical.
func parseESI(hdr *fasthttp.ResponseHeader, body []byte) *esi.Template {
	if len(hdr.ContentEncoding()) > 0 || !isHTML(hdr.ContentType()) || !esi.HasESI(body) {
		return nil
	}
	t, err := esi.Parse(body)
	if err != nil {
		return nil
	}
	return t
}

func isHTML(ct []byte) bool {
	return bytes.HasPrefix(ct, []byte("text/html")) || bytes.HasPrefix(ct, []byte("application/xhtml+xml"))
}

// render answers ctx from template t. When ctx is itself a fragment fetch,
// the template goes back to the page being assembled, which assembles it in
// place with its own depth and deadline.
func (p *esiPage) render(ctx *fasthttp.RequestCtx, t *esi.Template) {
	if fc := fragmentOf(ctx); fc != nil {
		fc.tmpl = t
		return
	}
	f := acquireFetcher(ctx, p)
	buf := assembleBufs.Get().(*[]byte)
	out, stats, err := t.Assemble(context.Background(), (*buf)[:0], f.pageURL(), esi.RequestVars{Req: &ctx.Request}, f, p.opts)
	private := f.private
	releaseFetcher(f)
	p.m.observe(stats, err != nil)
	if err != nil {
		*buf = out[:0]
		assembleBufs.Put(buf)
		filter.Reject(ctx, nil, "esi", fasthttp.StatusBadGateway, "fragment_failed", 0)
		return
	}
	h := &ctx.Response.Header
	// The assembled page is not the stored representation: its validators
	// would let a client keep a page whose fragments changed.
	h.Del(fasthttp.HeaderETag)
	h.Del(fasthttp.HeaderLastModified)
	h.Del(fasthttp.HeaderAcceptRanges)
	if private {
		// A shopper's own fragment is in it: no shared cache downstream may
		// keep it.
		h.Set(fasthttp.HeaderCacheControl, "private, no-store")
	}
	writeAssembled(ctx, out)
	*buf = out[:0]
	assembleBufs.Put(buf)
}

var assembleBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// compressMin is the smallest assembled page worth compressing.
const compressMin = 1024

// writeAssembled sets the assembled body, gzip-compressed for clients that
// accept it (fast level: it is done per request), identity otherwise.
func writeAssembled(ctx *fasthttp.RequestCtx, out []byte) {
	h := &ctx.Response.Header
	h.Del(fasthttp.HeaderContentEncoding)
	h.Add(fasthttp.HeaderVary, "Accept-Encoding")
	if ctx.Request.Header.IsHead() {
		h.SetContentLength(len(out))
		ctx.Response.SkipBody = true
		return
	}
	if len(out) >= compressMin && ctx.Request.Header.HasAcceptEncoding("gzip") {
		ctx.Response.ResetBody()
		_, _ = fasthttp.WriteGzipLevel(ctx.Response.BodyWriter(), out, fasthttp.CompressBestSpeed)
		h.Set(fasthttp.HeaderContentEncoding, "gzip")
		return
	}
	ctx.Response.SetBody(out)
}

// afterForward assembles an uncached route's response, parsing it on the
// way through.
func (p *esiPage) afterForward(ctx *fasthttp.RequestCtx) {
	resp := &ctx.Response
	if resp.StatusCode() != fasthttp.StatusOK || resp.IsBodyStream() {
		return
	}
	if t := parseESI(&resp.Header, resp.Body()); t != nil {
		p.render(ctx, t)
	}
}

// forwardESI forwards a request of an uncached ESI route asking the origin
// for an identity body (ESI markup cannot be read through gzip), then
// assembles the answer.
func (r *Route) forwardESI(ctx *fasthttp.RequestCtx, st *filter.State) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	r.fwd.PrepareRequest(ctx, req, r.outbound(ctx, st))
	req.Header.Del(fasthttp.HeaderAcceptEncoding)
	if err := r.pool.Do(req, resp, r.timeout); err != nil {
		upstreamWriteError(ctx, err)
		return
	}
	r.fwd.WriteResponse(ctx, resp)
	r.esi.afterForward(ctx)
}
