package gateway

import (
	"bytes"
	"strings"

	"edge/internal/config"
)

// matcher is a route's compiled match block. All set conditions must hold.
type matcher struct {
	host     []byte // lower case, without port; empty = any
	wildcard bool   // host was "*.example.com": host holds ".example.com"
	prefix   []byte // path prefix; empty = any
	exact    []byte // exact path; empty = unused
	methods  [][]byte
}

func compileMatch(m config.Match) matcher {
	c := matcher{prefix: []byte(m.Path), exact: []byte(m.PathExact)}
	if h := strings.ToLower(m.Host); h != "" {
		if strings.HasPrefix(h, "*.") {
			c.wildcard = true
			h = h[1:]
		}
		c.host = []byte(h)
	}
	for _, meth := range m.Methods {
		meth = strings.ToUpper(meth)
		c.methods = append(c.methods, []byte(meth))
		if meth == "GET" {
			// HEAD is GET without a body (RFC 9110 §9.3.2): a GET route
			// answers it too, and the cache serves it from the GET entry.
			c.methods = append(c.methods, []byte("HEAD"))
		}
	}
	return c
}

// match reports whether a request with the given host (as sent, maybe with a
// port), normalised path and method belongs to the route.
func (m *matcher) match(host, path, method []byte) bool {
	if len(m.methods) > 0 {
		ok := false
		for _, want := range m.methods {
			if bytes.Equal(want, method) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(m.exact) > 0 {
		if !bytes.Equal(path, m.exact) {
			return false
		}
	} else if !bytes.HasPrefix(path, m.prefix) {
		return false
	}
	if len(m.host) == 0 {
		return true
	}
	host = stripPort(host)
	if m.wildcard {
		return len(host) > len(m.host) && hasSuffixFold(host, m.host)
	}
	return bytes.EqualFold(host, m.host)
}

// stripPort removes a trailing :port from a Host value, IPv6 aware.
func stripPort(host []byte) []byte {
	if len(host) > 0 && host[0] == '[' {
		if i := bytes.IndexByte(host, ']'); i > 0 {
			return host[:i+1]
		}
		return host
	}
	if i := bytes.LastIndexByte(host, ':'); i >= 0 {
		return host[:i]
	}
	return host
}

func hasSuffixFold(s, suffix []byte) bool {
	return len(s) >= len(suffix) && bytes.EqualFold(s[len(s)-len(suffix):], suffix)
}
