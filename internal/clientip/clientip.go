// Package clientip finds the shopper's address: the TCP peer, or, when the
// peer is a configured trusted proxy, the right-most X-Forwarded-For hop that
// is not itself a trusted proxy. A client can write anything into
// X-Forwarded-For; only hops appended by our own proxies are believed.
package clientip

import (
	"bytes"
	"net"
	"net/netip"

	"github.com/valyala/fasthttp"
)

// Resolver resolves client addresses. The zero value trusts nobody.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver trusting the given proxy networks.
func New(trusted []netip.Prefix) *Resolver {
	return &Resolver{trusted: append([]netip.Prefix(nil), trusted...)}
}

// Trusted reports whether addr is one of the configured proxies.
func (r *Resolver) Trusted(addr netip.Addr) bool {
	if r == nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range r.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// peerConn is a connection that knows its peer address already (the public
// listener's, see internal/conntimeout).
type peerConn interface{ PeerAddr() netip.Addr }

// Peer returns the TCP peer address of ctx.
func Peer(ctx *fasthttp.RequestCtx) netip.Addr {
	if pc, ok := ctx.Conn().(peerConn); ok {
		if a := pc.PeerAddr(); a.IsValid() {
			return a
		}
	}
	if ta, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		if a, ok := netip.AddrFromSlice(ta.IP); ok {
			return a.Unmap()
		}
	}
	return netip.IPv4Unspecified()
}

// Resolve returns the client address of ctx. It does not allocate.
func (r *Resolver) Resolve(ctx *fasthttp.RequestCtx) netip.Addr {
	peer := Peer(ctx)
	if !r.Trusted(peer) {
		return peer
	}
	client := peer
	// Walk the X-Forwarded-For chain from the last hop backwards; stop at
	// the first address that is not a trusted proxy.
	found := false
	xff := lastXFF(&ctx.Request.Header)
	for len(xff) > 0 && !found {
		var hop []byte
		if i := bytes.LastIndexByte(xff, ','); i >= 0 {
			hop, xff = xff[i+1:], xff[:i]
		} else {
			hop, xff = xff, nil
		}
		a, err := netip.ParseAddr(string(bytes.TrimSpace(hop)))
		if err != nil {
			// Garbage in the chain: what lies left of it cannot be trusted.
			return client
		}
		client = a.Unmap()
		if !r.Trusted(client) {
			found = true
		}
	}
	return client
}

// lastXFF returns the value of X-Forwarded-For. Several X-Forwarded-For
// headers are treated as one comma-joined list, as RFC 9110 allows; fasthttp
// keeps only the first for Peek, so they are joined here when there are more.
func lastXFF(h *fasthttp.RequestHeader) []byte {
	all := h.PeekAll(fasthttp.HeaderXForwardedFor)
	if len(all) <= 1 {
		return h.Peek(fasthttp.HeaderXForwardedFor)
	}
	var out []byte
	n := 0
	for _, v := range all {
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, v...)
		n++
	}
	return out
}
