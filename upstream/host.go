package upstream

// rewriteHeaders let a client name another path or method than the request
// line's to frameworks that honour them (IIS, Symfony, Laravel, Rails...):
// a request routed, filtered and cached as GET /item/1 could be served by
// the origin as DELETE /admin, and the answer cached under /item/1. Edge
// routes by the request line only, so these are never forwarded.
var rewriteHeaders = [...]string{
	"X-Original-URL",
	"X-Rewrite-URL",
	"X-HTTP-Method-Override",
	"X-HTTP-Method",
	"X-Method-Override",
}

// appendCanonicalHost appends host in the canonical spelling the cache key
// uses (cachehttp.AppendKey): lower case, no trailing dot on the name, no
// leading zeros on the port and no port when it is the scheme's default.
// Forwarding the host as the client spelled it would let "SHOP" or
// "shop:80" — one cache key — reach the origin as different hosts, and an
// origin that reflects its host (absolute links) would poison the entry
// every other spelling is served from. A host it cannot read (an IPv6
// literal without its closing bracket, say) is appended lower-cased.
func appendCanonicalHost(dst, host []byte, https bool) []byte {
	name, port := host, []byte(nil)
	if i := lastColon(host); i >= 0 {
		name, port = host[:i], host[i+1:]
	}
	for len(name) > 1 && name[len(name)-1] == '.' {
		name = name[:len(name)-1]
	}
	for _, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	for len(port) > 1 && port[0] == '0' {
		port = port[1:]
	}
	if len(port) == 0 || (!https && string(port) == "80") || (https && string(port) == "443") {
		return dst
	}
	dst = append(dst, ':')
	return append(dst, port...)
}

// lastColon returns the index of the colon before a port in host, or -1
// (none, or only colons inside an IPv6 literal's brackets).
func lastColon(host []byte) int {
	for i := len(host) - 1; i >= 0; i-- {
		switch c := host[i]; {
		case c == ':':
			return i
		case c == ']':
			return -1
		case c < '0' || c > '9':
			return -1
		}
	}
	return -1
}
