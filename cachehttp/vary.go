package cachehttp

import (
	"bytes"
	"slices"

	"github.com/valyala/fasthttp"

	"edge/internal/httplist"
)

// maxVariants bounds the stored variants of one URL (one per combination of
// the values of the request headers its Vary names). A response varying on
// User-Agent would otherwise fill the cache with copies of one page; beyond
// the bound the oldest variant is replaced.
const maxVariants = 16

// varySpec is what a response's Vary header means to the store.
type varySpec struct {
	// names are the request headers whose values select a variant, in
	// canonical form, sorted, without Accept-Encoding (the cache serves
	// every encoding from one entry) and without Cookie when the route
	// strips cookies (the origin never saw one).
	names [][]byte
	// star is Vary: *, which is never stored.
	star bool
}

// parseVary reads every Vary header of h.
func parseVary(h *fasthttp.ResponseHeader, stripCookies bool) varySpec {
	var v varySpec
	for _, line := range h.PeekAll(fasthttp.HeaderVary) {
		for tok := range bytes.SplitSeq(line, []byte{','}) {
			tok = bytes.TrimSpace(tok)
			switch {
			case len(tok) == 0:
			case bytes.Equal(tok, []byte("*")):
				v.star = true
			case bytes.EqualFold(tok, []byte(fasthttp.HeaderAcceptEncoding)):
			case stripCookies && bytes.EqualFold(tok, []byte(fasthttp.HeaderCookie)):
			default:
				name := canonicalHeader(tok)
				if !slices.ContainsFunc(v.names, func(n []byte) bool { return bytes.Equal(n, name) }) {
					v.names = append(v.names, name)
				}
			}
		}
	}
	slices.SortFunc(v.names, bytes.Compare)
	return v
}

// same reports whether two specs select variants by the same headers.
func (v varySpec) same(o varySpec) bool {
	return slices.EqualFunc(v.names, o.names, bytes.Equal)
}

// canonicalHeader returns a copy of name as "Accept-Language".
func canonicalHeader(name []byte) []byte {
	out := make([]byte, len(name))
	upper := true
	for i, c := range name {
		switch {
		case upper && c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case !upper && c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		out[i] = c
		upper = c == '-'
	}
	return out
}

// appendSecondaryKey appends the values of the named request headers, each
// trimmed of surrounding whitespace and ended by a NUL (which no header value
// contains). Absent and empty headers both give an empty value. names are
// canonical and so are the request's header names (see hdrRange).
func appendSecondaryKey(dst []byte, names [][]byte, h *fasthttp.RequestHeader) []byte {
	for _, n := range names {
		dst = append(dst, bytes.TrimSpace(h.PeekCanonical(n))...)
		dst = append(dst, 0)
	}
	return dst
}

// acceptEncoding reads a request's Accept-Encoding and says whether brotli
// and gzip are acceptable (listed, or covered by "*", with a q-value above
// zero). identity is always acceptable. The three buckets this gives (br,
// gzip, identity) are all the cache distinguishes: browsers send a dozen
// spellings of the same wish.
func acceptEncoding(ae []byte) (br, gz bool) {
	star, brSeen, gzSeen := false, false, false
	for len(ae) > 0 {
		var name, params []byte
		name, params, ae = httplist.Next(ae)
		ok := !httplist.ZeroQ(params)
		switch {
		case bytes.EqualFold(name, []byte("br")):
			br, brSeen = ok, true
		case bytes.EqualFold(name, []byte("gzip")), bytes.EqualFold(name, []byte("x-gzip")):
			if !gzSeen || ok {
				gz = ok
			}
			gzSeen = true
		case len(name) == 1 && name[0] == '*':
			star = ok
		}
	}
	if star {
		br = br || !brSeen
		gz = gz || !gzSeen
	}
	return br, gz
}
