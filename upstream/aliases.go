package upstream

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// Origins behind CGI-style gateways (PHP, WSGI, Rack and the like) read
// request headers as variables in which '-' and '_' are one character:
// X-Forwarded-For and X_Forwarded_For both become HTTP_X_FORWARDED_FOR.
// A client could then pass, under an underscore spelling, a header that
// edge sets or removes itself (the forwarding headers, X-Edge-Hot, the
// rewrite and framing headers), and the origin might believe it. Such
// aliases are dropped, as nginx drops every name with an underscore by
// default; other underscore names pass.

// ownedNames are the headers edge sets, checks or removes on the way to
// the origin, whose underscore aliases never reach it.
var ownedNames = func() [][]byte {
	var out [][]byte
	out = append(out, protectedNames[:]...)
	for _, group := range [][]string{untrustedForwarding[:], rewriteHeaders[:], hopByHop[:], cacheOwned[:]} {
		for _, n := range group {
			out = append(out, []byte(n))
		}
	}
	return out
}()

// cacheOwned are the request headers the cache strips from its fetches
// (cachehttp drops every underscore name from those; these aliases are
// dropped from every request, cached or not).
var cacheOwned = [...]string{
	fasthttp.HeaderRange, fasthttp.HeaderIfRange, fasthttp.HeaderIfMatch,
	fasthttp.HeaderIfNoneMatch, fasthttp.HeaderIfModifiedSince, fasthttp.HeaderIfUnmodifiedSince,
	fasthttp.HeaderAcceptEncoding, fasthttp.HeaderCacheControl,
}

// ownedPrefix: every X-Edge-* header is edge's.
var ownedPrefix = []byte("X-Edge-")

// dropUnderscoreAliases removes from h every header whose name holds an
// underscore and reads, with '-' for '_', as one of edge's own headers.
func dropUnderscoreAliases(h *fasthttp.RequestHeader) {
	var drop [][]byte
	for k := range h.All() {
		if bytes.IndexByte(k, '_') >= 0 && ownedAlias(k) {
			drop = append(drop, bytes.Clone(k))
		}
	}
	for _, k := range drop {
		h.DelBytes(k)
	}
}

// ownedAlias reports whether name reads as an owned header with '-' for
// '_', in any case.
func ownedAlias(name []byte) bool {
	if len(name) > len(ownedPrefix) && dashFold(name[:len(ownedPrefix)], ownedPrefix) {
		return true
	}
	for _, n := range ownedNames {
		if dashFold(name, n) {
			return true
		}
	}
	return false
}

// dashFold reports whether a equals b ignoring ASCII case, with '_' in a
// read as '-'.
func dashFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x == '_' {
			x = '-'
		}
		if x|0x20 != y|0x20 || (x != y && (x|0x20 < 'a' || x|0x20 > 'z')) {
			return false
		}
	}
	return true
}
