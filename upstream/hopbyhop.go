package upstream

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"edge/internal/httplist"
)

// hopByHop are the headers that concern one connection only (RFC 9110
// 7.6.1, plus the de-facto Proxy-Connection and Keep-Alive) and never cross
// a proxy, in either direction.
var hopByHop = [...]string{
	fasthttp.HeaderConnection,
	"Keep-Alive",
	"Proxy-Connection",
	fasthttp.HeaderTE,
	fasthttp.HeaderTrailer,
	fasthttp.HeaderTransferEncoding,
	fasthttp.HeaderUpgrade,
	fasthttp.HeaderProxyAuthorization,
	fasthttp.HeaderProxyAuthenticate,
}

// protectedToken reports whether a header named in Connection must stay
// anyway: message framing and the forwarding headers edge rewrites itself
// (a client listing X-Forwarded-For in Connection must not make edge drop
// a trusted proxy's chain).
func protectedToken(tok []byte) bool {
	for _, p := range protectedNames {
		if bytes.EqualFold(tok, p) {
			return true
		}
	}
	return false
}

var protectedNames = [...][]byte{
	[]byte(fasthttp.HeaderHost),
	[]byte(fasthttp.HeaderContentLength),
	[]byte(fasthttp.HeaderXForwardedFor),
	[]byte(fasthttp.HeaderXForwardedHost),
	[]byte(fasthttp.HeaderXForwardedProto),
	[]byte(fasthttp.HeaderForwarded),
	[]byte(fasthttp.HeaderVia),
	[]byte("X-Real-IP"),
}

// stripRequestHopByHop removes from h the hop-by-hop headers, the headers
// named in Connection, and Expect (edge already has the whole body).
func stripRequestHopByHop(h *fasthttp.RequestHeader) {
	// The values returned by PeekAll point into h's own storage, which
	// DelBytes does not overwrite (it moves entries, not bytes).
	for _, v := range h.PeekAll(fasthttp.HeaderConnection) {
		for len(v) > 0 {
			var tok []byte
			tok, _, v = httplist.Next(v)
			if len(tok) > 0 && !protectedToken(tok) {
				h.DelBytes(tok)
			}
		}
	}
	for _, name := range hopByHop {
		h.Del(name)
	}
	h.Del(fasthttp.HeaderExpect)
}

// stripResponseHopByHop removes from h the hop-by-hop headers and the
// headers named in Connection.
func stripResponseHopByHop(h *fasthttp.ResponseHeader) {
	for _, v := range h.PeekAll(fasthttp.HeaderConnection) {
		for len(v) > 0 {
			var tok []byte
			tok, _, v = httplist.Next(v)
			if len(tok) > 0 && !bytes.EqualFold(tok, protectedNames[1]) {
				h.DelBytes(tok)
			}
		}
	}
	for _, name := range hopByHop {
		h.Del(name)
	}
}
