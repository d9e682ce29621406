package upstream

import (
	"bytes"
	"net/netip"
	"sync"
	"time"

	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fasthttp"

	"edge/internal/clientip"
)

// DefaultStreamAbove is Forwarder.StreamAbove's default: response bodies
// with a Content-Length above 1 MiB are streamed to the client.
const DefaultStreamAbove = 1 << 20

// Forwarder turns client requests into origin requests and origin responses
// into client responses: hop-by-hop hygiene, X-Forwarded-*, Via, Host. One
// Forwarder serves a route; it is safe for concurrent use and must not be
// copied after first use.
type Forwarder struct {
	// Via is the pseudonym edge adds to Via in both directions ("edge" ->
	// "Via: 1.1 edge"). Empty: no Via.
	Via string
	// Host, when set, replaces the Host header sent upstream (the pool's
	// host setting); X-Forwarded-Host keeps the client's.
	Host string
	// StreamAbove is the Content-Length in bytes above which a response
	// body is streamed to the client instead of buffered; chunked and
	// until-close bodies are always streamed. Buffering frees the origin
	// connection before a slow client has read the body; streaming bounds
	// memory. 0 means DefaultStreamAbove; negative buffers everything (up
	// to the pool's max_response_size).
	StreamAbove int

	once         sync.Once
	via10, via11 []byte
}

// Outbound is what the gateway resolved about a client request before
// forwarding it.
type Outbound struct {
	// ClientIP is the shopper's address (internal/clientip).
	ClientIP netip.Addr
	// PeerTrusted says the TCP peer is a trusted proxy: its X-Forwarded-For
	// chain is kept and the peer appended; otherwise X-Forwarded-* and
	// Forwarded from the client are replaced.
	PeerTrusted bool
	// StripCookies drops Cookie from the request.
	StripCookies bool
	// Proto is "http" or "https" (from a trusted X-Forwarded-Proto).
	// Default "http".
	Proto string
}

// Forwarding headers that a client may forge: dropped unless the peer is a
// trusted proxy.
var untrustedForwarding = [...]string{
	fasthttp.HeaderForwarded,
	"X-Forwarded-Port",
	"X-Forwarded-Prefix",
	"X-Forwarded-Server",
	"X-Forwarded-Ssl",
	"X-Forwarded-Scheme",
}

const headerXRealIP = "X-Real-IP"

var strHTTP11 = []byte("HTTP/1.1")

func (f *Forwarder) init() {
	f.once.Do(func() {
		if f.Via != "" {
			f.via11 = []byte("1.1 " + f.Via)
			f.via10 = []byte("1.0 " + f.Via)
		}
	})
}

func (f *Forwarder) via(http11 bool) []byte {
	if http11 {
		return f.via11
	}
	return f.via10
}

func (f *Forwarder) streamAbove() int {
	if f.StreamAbove == 0 {
		return DefaultStreamAbove
	}
	return f.StreamAbove
}

// PrepareRequest copies ctx.Request into out (which it overwrites) as the
// request for the origin:
//
//   - method, target (sent as received, never normalised), headers and body
//     copied; out owns its bytes and may outlive the handler;
//   - hop-by-hop headers removed (Connection, Keep-Alive, Proxy-Connection,
//     TE, Trailer, Transfer-Encoding, Upgrade, Proxy-Authorization,
//     Proxy-Authenticate, every header named in Connection except framing
//     and forwarding headers) and Expect;
//   - X-Forwarded-For: the trusted chain plus the peer when PeerTrusted,
//     otherwise just ClientIP; X-Real-IP: ClientIP;
//   - X-Forwarded-Proto: o.Proto; X-Forwarded-Host: the client's Host in
//     its canonical spelling (a trusted proxy's X-Forwarded-Host is kept);
//     Forwarded and other X-Forwarded-* dropped unless PeerTrusted;
//   - Via appended; Host in its canonical spelling (see
//     appendCanonicalHost) unless Forwarder.Host is set; Cookie dropped
//     when o.StripCookies;
//   - the rewrite headers (X-Original-URL, X-HTTP-Method-Override...)
//     dropped, and the body of a GET or HEAD;
//   - underscore spellings of the headers above and of X-Edge-*
//     (X_Forwarded_For...) dropped: CGI-style origins read them as the
//     same header (see dropUnderscoreAliases).
func (f *Forwarder) PrepareRequest(ctx *fasthttp.RequestCtx, out *fasthttp.Request, o Outbound) {
	f.init()
	in := &ctx.Request
	out.Reset()
	in.Header.CopyTo(&out.Header)
	out.UseHostHeader = true
	h := &out.Header
	if in.Header.IsGet() || in.Header.IsHead() {
		// A body on GET or HEAD has no meaning (RFC 9110 §9.3.1) but an
		// origin may still read it, and the answer would be cached for
		// every client of the URL: it is never forwarded.
		h.SetContentLength(0)
	} else {
		out.SetBody(in.Body())
	}

	stripRequestHopByHop(h)
	dropUnderscoreAliases(h)
	for _, name := range rewriteHeaders {
		h.Del(name)
	}

	bb := bytebufferpool.Get()
	defer bytebufferpool.Put(bb)
	canonHost := appendCanonicalHost(bb.B[:0], in.Header.Host(), o.Proto == "https")
	bb.B = canonHost
	if f.Host != "" {
		h.SetHost(f.Host)
	} else if len(canonHost) > 0 {
		h.SetHostBytes(canonHost)
	}
	if o.StripCookies {
		h.Del(fasthttp.HeaderCookie)
	}
	if !o.PeerTrusted {
		for _, name := range untrustedForwarding {
			h.Del(name)
		}
	}

	if !o.PeerTrusted || len(h.Peek(fasthttp.HeaderXForwardedHost)) == 0 {
		if len(canonHost) > 0 {
			h.SetBytesV(fasthttp.HeaderXForwardedHost, canonHost)
		} else {
			h.Del(fasthttp.HeaderXForwardedHost)
		}
	}

	bb.B = appendXFF(bb.B[:0], ctx, h, o)
	if len(bb.B) > 0 {
		h.SetBytesV(fasthttp.HeaderXForwardedFor, bb.B)
	} else {
		h.Del(fasthttp.HeaderXForwardedFor)
	}
	if o.ClientIP.IsValid() {
		bb.B = o.ClientIP.AppendTo(bb.B[:0])
		h.SetBytesV(headerXRealIP, bb.B)
	} else {
		h.Del(headerXRealIP)
	}

	if o.Proto == "https" {
		h.Set(fasthttp.HeaderXForwardedProto, "https")
	} else {
		h.Set(fasthttp.HeaderXForwardedProto, "http")
	}
	if via := f.via(in.Header.IsHTTP11()); via != nil {
		h.AddBytesV(fasthttp.HeaderVia, via)
	}
}

// appendXFF appends the X-Forwarded-For value for the origin to dst.
func appendXFF(dst []byte, ctx *fasthttp.RequestCtx, h *fasthttp.RequestHeader, o Outbound) []byte {
	if !o.PeerTrusted {
		if o.ClientIP.IsValid() {
			dst = o.ClientIP.AppendTo(dst)
		}
		return dst
	}
	for _, v := range h.PeekAll(fasthttp.HeaderXForwardedFor) {
		v = bytes.Trim(v, " \t,")
		if len(v) == 0 {
			continue
		}
		if len(dst) > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, v...)
	}
	// The hop this request came from is the trusted peer itself.
	hop := clientip.Peer(ctx)
	if !hop.IsValid() || hop.IsUnspecified() {
		hop = o.ClientIP
	}
	if hop.IsValid() {
		if len(dst) > 0 {
			dst = append(dst, ", "...)
		}
		dst = hop.AppendTo(dst)
	}
	return dst
}

// WriteResponse moves resp into ctx.Response: status and headers copied
// with hop-by-hop headers (and those named in Connection) removed and Via
// appended; the body moved, not copied. A buffered body's buffer is
// swapped into ctx.Response (resp is left with an empty one); a body set
// with SetBodyRaw is shared; a body streamed by Pool.DoStream is handed
// over and flows to the client when the handler returns. In every case
// resp no longer holds the body afterwards: a caller that wants to keep
// the bytes (a cache) must copy them first. A Connection: close already
// decided for ctx is kept. No Content-Type is invented when the origin sent
// none.
func (f *Forwarder) WriteResponse(ctx *fasthttp.RequestCtx, resp *fasthttp.Response) {
	f.init()
	dst := &ctx.Response
	keepClose := dst.ConnectionClose()
	resp.Header.CopyTo(&dst.Header)
	stripResponseHopByHop(&dst.Header)
	if keepClose {
		dst.SetConnectionClose()
	}
	// edge speaks HTTP/1.1 to its clients whatever the origin spoke.
	dst.Header.SetProtocol(strHTTP11)
	dst.Header.SetNoDefaultContentType(true)
	if via := f.via(resp.Header.IsHTTP11()); via != nil {
		dst.Header.AddBytesV(fasthttp.HeaderVia, via)
	}
	moveBody(dst, resp)
}

// moveBody moves src's body into dst without copying bytes.
func moveBody(dst, src *fasthttp.Response) {
	if src.IsBodyStream() {
		cl := src.Header.ContentLength()
		if cl < -1 {
			cl = -1 // a body that ended with the origin connection goes out chunked
		}
		if sb, ok := src.BodyStream().(*streamBody); ok {
			sb.handoff = true // src's reset must not close it
			src.ResetBody()
			dst.SetBodyStream(sb, cl)
			return
		}
		// A stream from elsewhere cannot be detached from src: buffer it.
		dst.ResetBody()
		if err := src.BodyWriteTo(dst.BodyWriter()); err != nil {
			writeError(dst, err)
		}
		return
	}
	body := src.Body()
	buf := src.SwapBody(nil)
	if sameBytes(body, buf) {
		// The body lived in src's buffer: give it to dst, and dst's old
		// buffer to src.
		src.SwapBody(dst.SwapBody(buf))
		return
	}
	// The body was set with SetBodyRaw (shared, immutable): share it too.
	src.SwapBody(buf)
	dst.SetBodyRaw(body)
}

func sameBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	return len(a) == 0 || &a[0] == &b[0]
}

// Forward sends ctx's request to p and writes the answer into ctx: the
// origin's response (any status; large bodies streamed, see StreamAbove),
// or on failure the mapped 502/503/504 from WriteError. Request and
// response objects come from fasthttp's pools and go back before it
// returns (a streamed body returns its connection when fasthttp's server
// has written it). timeout 0 means the pool's. It returns Do's error: nil
// whenever the origin answered.
func (f *Forwarder) Forward(ctx *fasthttp.RequestCtx, p *Pool, o Outbound, timeout time.Duration) error {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	f.PrepareRequest(ctx, req, o)
	err := p.DoStream(req, resp, timeout, f.streamAbove())
	fasthttp.ReleaseRequest(req)
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		WriteError(ctx, err)
		return err
	}
	f.WriteResponse(ctx, resp)
	fasthttp.ReleaseResponse(resp)
	return nil
}
