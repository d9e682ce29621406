package gateway

import (
	"bytes"
	"net/netip"

	"github.com/valyala/fasthttp"

	"edge/cachehttp"
	"edge/filter"
	"edge/internal/clientip"
	"edge/upstream"
)

const (
	protoHTTP  = "http"
	protoHTTPS = "https"
)

// headerXFP is canonical: the public server normalises header names, so
// PeekCanonical finds the header without normalising the name per request.
var headerXFP = []byte("X-Forwarded-Proto")

// protoOf is the scheme the client used: edge itself speaks plain
// HTTP/1.1, TLS ends at the load balancer in front, which says so in
// X-Forwarded-Proto. Only a trusted proxy is believed.
func protoOf(res *clientip.Resolver, ctx *fasthttp.RequestCtx) string {
	if !saysHTTPS(ctx) {
		return protoHTTP // the peer's trust need not be looked up
	}
	return protoFrom(ctx, res.Trusted(clientip.Peer(ctx)))
}

// saysHTTPS reports whether ctx carries X-Forwarded-Proto: https.
func saysHTTPS(ctx *fasthttp.RequestCtx) bool {
	return bytes.EqualFold(ctx.Request.Header.PeekCanonical(headerXFP), []byte(protoHTTPS))
}

// protoFrom is protoOf for a peer whose trust is known.
func protoFrom(ctx *fasthttp.RequestCtx, peerTrusted bool) string {
	if peerTrusted && saysHTTPS(ctx) {
		return protoHTTPS
	}
	return protoHTTP
}

// outboundOf describes how ctx of the shopper at clientIP is forwarded.
func outboundOf(res *clientip.Resolver, ctx *fasthttp.RequestCtx, clientIP netip.Addr) upstream.Outbound {
	trusted := res.Trusted(clientip.Peer(ctx))
	return upstream.Outbound{ClientIP: clientIP, PeerTrusted: trusted, Proto: protoFrom(ctx, trusted)}
}

// proto is the scheme the client of ctx used.
func (r *Route) proto(ctx *fasthttp.RequestCtx) string { return protoOf(r.resolver, ctx) }

// outbound describes how ctx is forwarded on this route.
func (r *Route) outbound(ctx *fasthttp.RequestCtx, st *filter.State) upstream.Outbound {
	return outboundOf(r.resolver, ctx, st.ClientIP)
}

// origin lets the cache reach a route's upstream: the cache decides when to
// fetch (once per key, revalidating, in the background); the route knows
// how (forwarding hygiene, pool, timeout).
type origin struct {
	route *Route
}

var _ cachehttp.Origin = (*origin)(nil)

// Prepare builds the request to the origin for ctx.
func (o *origin) Prepare(ctx *fasthttp.RequestCtx, out *fasthttp.Request) {
	r := o.route
	r.fwd.PrepareRequest(ctx, out, outboundOf(r.resolver, ctx, r.resolver.Resolve(ctx)))
}

// Do sends a prepared request through the route's pool.
func (o *origin) Do(req *fasthttp.Request, resp *fasthttp.Response) error {
	return o.route.pool.Do(req, resp, o.route.timeout)
}

// WriteError answers the client for an origin failure.
func (o *origin) WriteError(ctx *fasthttp.RequestCtx, err error) {
	upstreamWriteError(ctx, err)
}

// WriteResponse passes an origin answer through to the client.
func (o *origin) WriteResponse(ctx *fasthttp.RequestCtx, resp *fasthttp.Response) {
	o.route.fwd.WriteResponse(ctx, resp)
}

// upstreamWriteError answers the client for an origin failure.
func upstreamWriteError(ctx *fasthttp.RequestCtx, err error) { upstream.WriteError(ctx, err) }
