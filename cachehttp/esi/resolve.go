package esi

import "bytes"

// URLInfo describes the page being assembled: the base that relative
// include src values are resolved against, and the host whose absolute
// URLs are fetched like relative ones (through the gateway's routes).
type URLInfo struct {
	// Scheme is "http" or "https" as the shopper sees the page; empty means
	// "http".
	Scheme []byte
	// Host is the page's host[:port] (the Host header).
	Host []byte
	// RequestURI is the page's path and query ("/item/42?x=1"); empty
	// means "/".
	RequestURI []byte
}

// base is the URL a template instance's relative references resolve
// against: the page, or the fragment that held the template.
type base struct {
	abs      bool // an allowed absolute host, not the gateway itself
	scheme   []byte
	host     []byte
	path     []byte
	query    []byte
	hasQuery bool
}

var (
	schemeHTTP  = []byte("http")
	schemeHTTPS = []byte("https")
	slash       = []byte("/")
)

// pageBase turns the page description into a base.
func pageBase(u URLInfo) base {
	b := base{scheme: u.Scheme, host: u.Host}
	if len(b.scheme) == 0 {
		b.scheme = schemeHTTP
	}
	uri := u.RequestURI
	if i := bytes.IndexByte(uri, '#'); i >= 0 {
		uri = uri[:i]
	}
	b.path, b.query, b.hasQuery = splitQuery(uri)
	if len(b.path) == 0 || b.path[0] != '/' {
		b.path = slash
	}
	return b
}

// baseOf returns the base for a fragment fetched from url, a URL produced
// by resolve (absolute-path or http(s)://host/path).
func baseOf(url []byte, page *base) base {
	if len(url) > 0 && url[0] == '/' {
		b := base{scheme: page.scheme, host: page.host}
		b.path, b.query, b.hasQuery = splitQuery(url)
		return b
	}
	scheme, rest, _ := splitScheme(url)
	auth, pq := splitAuthority(rest[2:])
	b := base{abs: true, scheme: scheme, host: auth}
	b.path, b.query, b.hasQuery = splitQuery(pq)
	if len(b.path) == 0 {
		b.path = slash
	}
	return b
}

// resolver turns include src values into fetchable URLs.
type resolver struct {
	page    base
	allowed []string
	scratch []byte
}

// resolve appends to dst the URL that ref (an evaluated src or alt)
// designates, resolved per RFC 3986 §5.2 against b with dot segments
// removed. A reference to the page's own host becomes an absolute path
// ("/frag?x"); any other absolute URL (including "//host/x") is kept
// absolute and allowed only when its host is in the allow list. ok is
// false for refused or malformed references, which must not be fetched.
func (r *resolver) resolve(dst, ref []byte, b *base) (_ []byte, ok bool) {
	ref = bytes.TrimSpace(ref)
	if i := bytes.IndexByte(ref, '#'); i >= 0 {
		ref = ref[:i]
	}
	if len(ref) == 0 {
		return dst, false
	}
	scheme, rest, hasScheme := splitScheme(ref)
	if hasScheme && (!isHTTPScheme(scheme) || !bytes.HasPrefix(rest, []byte("//"))) {
		return dst, false
	}
	if !hasScheme && bytes.HasPrefix(ref, []byte("//")) {
		scheme, rest, hasScheme = b.scheme, ref, true
	}
	if hasScheme {
		auth, pq := splitAuthority(rest[2:])
		host, port, valid := splitHostPort(auth)
		if !valid {
			return dst, false
		}
		path, query, hasQuery := splitQuery(pq)
		if len(path) == 0 {
			path = slash
		}
		if !sameHost(host, port, scheme, &r.page) {
			if !hostAllowed(host, port, scheme, r.allowed) {
				return dst, false
			}
			dst = appendLower(dst, scheme)
			dst = append(dst, "://"...)
			dst = appendLower(dst, auth)
		}
		return appendPathQuery(dst, path, query, hasQuery), true
	}
	path, query, hasQuery := splitQuery(ref)
	switch {
	case len(path) == 0:
		path = b.path
		if !hasQuery {
			query, hasQuery = b.query, b.hasQuery
		}
	case path[0] != '/':
		dir := b.path[:bytes.LastIndexByte(b.path, '/')+1]
		if len(dir) == 0 {
			dir = slash
		}
		r.scratch = append(append(r.scratch[:0], dir...), path...)
		path = r.scratch
	}
	if b.abs {
		dst = appendLower(dst, b.scheme)
		dst = append(dst, "://"...)
		dst = appendLower(dst, b.host)
	}
	return appendPathQuery(dst, path, query, hasQuery), true
}

// appendPathQuery appends the path with dot segments removed and the query,
// percent-encoding bytes that may not appear in a request line.
func appendPathQuery(dst, path, query []byte, hasQuery bool) []byte {
	dst = appendRemoveDots(dst, path)
	if hasQuery {
		dst = append(dst, '?')
		dst = appendURLSanitized(dst, query)
	}
	return dst
}

// appendRemoveDots appends path (which starts with '/') with "." and ".."
// segments removed (RFC 3986 §5.2.4); "%2e" counts as a dot, so an encoded
// traversal cannot climb above the root either.
func appendRemoveDots(dst, path []byte) []byte {
	root := len(dst)
	if len(path) > 0 && path[0] == '/' {
		path = path[1:]
	}
	for {
		seg := path
		i := bytes.IndexByte(path, '/')
		last := i < 0
		if !last {
			seg, path = path[:i], path[i+1:]
		}
		switch dots(seg) {
		case 1:
			if last {
				dst = append(dst, '/')
			}
		case 2:
			if k := bytes.LastIndexByte(dst[root:], '/'); k >= 0 {
				dst = dst[:root+k]
			}
			if last {
				dst = append(dst, '/')
			}
		default:
			dst = append(dst, '/')
			dst = appendURLSanitized(dst, seg)
		}
		if last {
			break
		}
	}
	if len(dst) == root {
		dst = append(dst, '/')
	}
	return dst
}

// dots returns 1 for a "." segment, 2 for "..", 0 otherwise.
func dots(seg []byte) int {
	n := 0
	for i := 0; i < len(seg); {
		switch {
		case seg[i] == '.':
			i++
		case i+2 < len(seg) && seg[i] == '%' && seg[i+1] == '2' && (seg[i+2] == 'e' || seg[i+2] == 'E'):
			i += 3
		default:
			return 0
		}
		n++
		if n > 2 {
			return 0
		}
	}
	return n
}

// splitScheme splits "scheme:rest"; ok is false when ref has no scheme.
func splitScheme(ref []byte) (scheme, rest []byte, ok bool) {
	for i, c := range ref {
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return ref[:i], ref[i+1:], true
		default:
			return nil, ref, false
		}
	}
	return nil, ref, false
}

func isHTTPScheme(s []byte) bool {
	return bytes.EqualFold(s, schemeHTTP) || bytes.EqualFold(s, schemeHTTPS)
}

// splitAuthority splits "host:port/path?q" after "//".
func splitAuthority(b []byte) (auth, rest []byte) {
	for i, c := range b {
		if c == '/' || c == '?' {
			return b[:i], b[i:]
		}
	}
	return b, nil
}

// splitQuery splits "path?query".
func splitQuery(b []byte) (path, query []byte, hasQuery bool) {
	if i := bytes.IndexByte(b, '?'); i >= 0 {
		return b[:i], b[i+1:], true
	}
	return b, nil, false
}

// splitHostPort validates an authority and splits it. Userinfo, empty
// hosts, bad ports and characters outside a DNS name or an IP literal make
// it invalid: "http://allowed@evil/" is never read as "allowed".
func splitHostPort(auth []byte) (host, port []byte, ok bool) {
	if len(auth) == 0 {
		return nil, nil, false
	}
	rest := auth
	if auth[0] == '[' {
		end := bytes.IndexByte(auth, ']')
		if end < 2 {
			return nil, nil, false
		}
		for _, c := range auth[1:end] {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == ':' || c == '.') {
				return nil, nil, false
			}
		}
		host, rest = auth[:end+1], auth[end+1:]
	} else {
		i := bytes.IndexByte(auth, ':')
		if i < 0 {
			i = len(auth)
		}
		host, rest = auth[:i], auth[i:]
		if len(host) == 0 {
			return nil, nil, false
		}
		for _, c := range host {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
				return nil, nil, false
			}
		}
	}
	if len(rest) == 0 {
		return host, nil, true
	}
	if rest[0] != ':' || len(rest) < 2 || len(rest) > 6 {
		return nil, nil, false
	}
	port = rest[1:]
	n := 0
	for _, c := range port {
		if c < '0' || c > '9' {
			return nil, nil, false
		}
		n = n*10 + int(c-'0')
	}
	if n == 0 || n > 65535 {
		return nil, nil, false
	}
	return host, port, true
}

var (
	port80  = []byte("80")
	port443 = []byte("443")
)

// effectivePort returns port, or the scheme's default when port is empty.
func effectivePort(port, scheme []byte) []byte {
	if len(port) > 0 {
		return port
	}
	if bytes.EqualFold(scheme, schemeHTTPS) {
		return port443
	}
	return port80
}

// sameHost reports whether host:port names the page's own host, so the
// URL can be fetched through the gateway's routes. Ports are compared only
// when one side names one (a page on http and a link to https on the
// same name are the same site).
func sameHost(host, port, scheme []byte, page *base) bool {
	ph, pp, ok := splitHostPort(page.host)
	if !ok || !bytes.EqualFold(ph, host) {
		return false
	}
	if len(port) == 0 && len(pp) == 0 {
		return true
	}
	return bytes.Equal(effectivePort(port, scheme), effectivePort(pp, page.scheme))
}

// hostAllowed reports whether host:port matches an allow-list entry:
// "host" (the scheme's default port only), "host:port", "[v6]:port" or
// "*.suffix" (any subdomain). Names compare case-insensitively.
func hostAllowed(host, port, scheme []byte, allowed []string) bool {
	eport := effectivePort(port, scheme)
	for _, e := range allowed {
		eh, ep := e, ""
		if i := lastColonOutsideBrackets(e); i >= 0 {
			eh, ep = e[:i], e[i+1:]
		}
		if ep == "" {
			ep = string(effectivePort(nil, scheme))
		}
		if string(eport) != ep {
			continue
		}
		if len(eh) > 2 && eh[0] == '*' && eh[1] == '.' {
			suffix := eh[1:]
			if len(host) > len(suffix) && equalFoldString(host[len(host)-len(suffix):], suffix) {
				return true
			}
			continue
		}
		if equalFoldString(host, eh) {
			return true
		}
	}
	return false
}

func lastColonOutsideBrackets(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case ':':
			return i
		case ']':
			return -1
		}
	}
	return -1
}

// equalFoldString is bytes.EqualFold against a string, without copying.
func equalFoldString(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func appendLower(dst, b []byte) []byte {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
