package cachehttp

import (
	"bytes"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Entry is one stored response: one variant of one URL. Once stored it is
// immutable (it is read by many requests at once without locks); only its
// freshness deadline moves, when a soft purge marks it stale. A new origin
// answer or a revalidation makes a new Entry.
type Entry struct {
	// Template is what the route's Transformer.Parse made of the body when
	// the response was stored (a parsed ESI page, say), nil otherwise. It is
	// shared by every request served from the entry and must not be changed.
	Template any

	key    string // primary key
	skey   []byte // secondary key: values of the request headers Vary names
	status int
	// header is the stored header set, as served: hop-by-hop fields,
	// Set-Cookie, Age, tag headers, Content-Length and Content-Encoding
	// removed. Read only through CopyTo: Peek is not safe for concurrent use.
	header  fasthttp.ResponseHeader
	body    []byte // identity body
	gz, br  []byte // compressed variants, nil when not worth it
	etag    []byte
	lastMod []byte // Last-Modified as received
	modTime int64  // Last-Modified, unix seconds; 0 when absent or malformed

	storedAt   int64        // unix nanos
	age        int64        // seconds the response was already old on arrival
	fresh      atomic.Int64 // fresh until, unix nanos
	swr, sie   int64        // stale windows after fresh, nanos
	keepFor    int64        // dropped this long after fresh, nanos
	revalidate bool         // never served stale
	tags       []string
	size       int64 // bytes charged to the store
}

// Status is the stored status code.
func (e *Entry) Status() int { return e.status }

// Body is the stored identity body. It must not be modified.
func (e *Entry) Body() []byte { return e.body }

// Key is the entry's cache key (see AppendKey).
func (e *Entry) Key() string { return e.key }

// CopyHeaderTo copies the stored header set into dst.
func (e *Entry) CopyHeaderTo(dst *fasthttp.ResponseHeader) { e.header.CopyTo(dst) }

// isFresh reports whether the entry may be served without asking the origin.
func (e *Entry) isFresh(now int64) bool { return now < e.fresh.Load() }

// staleFor returns how long ago the entry went stale (negative while fresh).
func (e *Entry) staleFor(now int64) int64 { return now - e.fresh.Load() }

// canServeStale reports whether a stale entry may be served while one
// refresh runs (stale-while-revalidate).
func (e *Entry) canServeStale(now int64) bool {
	return !e.revalidate && e.staleFor(now) < e.swr
}

// canServeOnError reports whether a stale entry may stand in for a failed
// origin (stale-if-error).
func (e *Entry) canServeOnError(now int64) bool {
	return !e.revalidate && e.staleFor(now) < e.sie
}

// expired reports whether the entry is of no more use.
func (e *Entry) expired(now int64) bool { return e.staleFor(now) >= e.keepFor }

// hasValidators reports whether the entry can be revalidated.
func (e *Entry) hasValidators() bool { return len(e.etag) > 0 || len(e.lastMod) > 0 }

// ageAt is the Age to send at now, in seconds.
func (e *Entry) ageAt(now int64) int64 { return e.age + max(now-e.storedAt, 0)/int64(time.Second) }

// ttlAt is the remaining freshness at now in whole seconds (negative when
// stale), for Cache-Status.
func (e *Entry) ttlAt(now int64) int64 {
	d := e.fresh.Load() - now
	if d < 0 {
		return -((-d + int64(time.Second) - 1) / int64(time.Second))
	}
	return d / int64(time.Second)
}

// setTimes fills the entry's deadlines from a verdict.
func (e *Entry) setTimes(f freshness, now time.Time) {
	n := now.UnixNano()
	e.storedAt = n
	e.age = int64(f.age / time.Second)
	e.fresh.Store(n + int64(max(f.lifetime-f.age, 0)))
	e.swr, e.sie = int64(f.swr), int64(f.sie)
	e.revalidate = f.revalidate
	e.keepFor = max(e.swr, e.sie)
	if e.hasValidators() {
		e.keepFor = max(e.keepFor, int64(validatorKeep))
	}
}

// Headers never stored: hop-by-hop fields (RFC 9110 §7.6.1), the ones the
// cache computes per request, and the tag headers, which are edge's
// business and not the shopper's.
var unstoredHeaders = []string{
	fasthttp.HeaderConnection, "Keep-Alive", "Proxy-Connection", fasthttp.HeaderProxyAuthenticate,
	fasthttp.HeaderProxyAuthorization, fasthttp.HeaderTE, fasthttp.HeaderTrailer,
	fasthttp.HeaderTransferEncoding, fasthttp.HeaderUpgrade,
	fasthttp.HeaderAge, fasthttp.HeaderDate, fasthttp.HeaderContentLength, fasthttp.HeaderContentEncoding,
	fasthttp.HeaderVary, "X-Cache", "Cache-Status", "Surrogate-Key", "Cache-Tag",
}

// storeHeader copies src into dst without what must not be stored. vary is
// the Vary value to serve (empty: none).
func storeHeader(dst, src *fasthttp.ResponseHeader, vary []byte) {
	src.CopyTo(dst)
	for _, name := range src.PeekAll(fasthttp.HeaderConnection) {
		for tok := range bytes.SplitSeq(name, []byte{','}) {
			if tok = bytes.TrimSpace(tok); len(tok) > 0 {
				dst.DelBytes(tok)
			}
		}
	}
	for _, h := range unstoredHeaders {
		dst.Del(h)
	}
	dst.DelAllCookies()
	dst.ResetConnectionClose()
	if len(vary) > 0 {
		dst.SetBytesV(fasthttp.HeaderVary, vary)
	}
}

// parseTags reads Surrogate-Key (space-separated) and Cache-Tag
// (comma-separated) into a deduplicated list.
func parseTags(h *fasthttp.ResponseHeader) []string {
	var tags []string
	add := func(t []byte) {
		if len(t) == 0 {
			return
		}
		for _, have := range tags {
			if have == string(t) {
				return
			}
		}
		tags = append(tags, string(t))
	}
	for _, line := range h.PeekAll("Surrogate-Key") {
		for _, t := range bytes.Fields(line) {
			add(t)
		}
	}
	for _, line := range h.PeekAll("Cache-Tag") {
		for t := range bytes.SplitSeq(line, []byte{','}) {
			add(bytes.TrimSpace(t))
		}
	}
	return tags
}

// varyValue is the Vary header to serve: the origin's, plus Accept-Encoding
// when the cache picks an encoding per request.
func varyValue(h *fasthttp.ResponseHeader, compressed bool) []byte {
	var out []byte
	hasAE := false
	for _, line := range h.PeekAll(fasthttp.HeaderVary) {
		for tok := range bytes.SplitSeq(line, []byte{','}) {
			tok = bytes.TrimSpace(tok)
			if len(tok) == 0 {
				continue
			}
			if bytes.EqualFold(tok, []byte(fasthttp.HeaderAcceptEncoding)) {
				hasAE = true
			}
			if len(out) > 0 {
				out = append(out, ", "...)
			}
			out = append(out, tok...)
		}
	}
	if compressed && !hasAE {
		if len(out) > 0 {
			out = append(out, ", "...)
		}
		out = append(out, fasthttp.HeaderAcceptEncoding...)
	}
	return out
}

// entryOverhead is what an entry costs beyond its bytes: the Entry and
// fasthttp.ResponseHeader structs, slice headers, the object, the LRU
// element and map slot. Measured with BenchmarkMemory.
const entryOverhead = 640

// headerKVOverhead is what one stored header line costs beyond its bytes
// (fasthttp's argsKV and the rounding of two small allocations).
const headerKVOverhead = 64

// computeSize charges the entry its key, header lines, bodies and overhead.
func (e *Entry) computeSize() {
	n := int64(entryOverhead + len(e.key) + len(e.skey) + len(e.etag) + len(e.lastMod))
	n += int64(len(e.body) + len(e.gz) + len(e.br))
	for k, v := range e.header.All() {
		n += int64(len(k) + len(v) + headerKVOverhead)
	}
	for _, t := range e.tags {
		// Stored in the entry and in the tag index with the key.
		n += int64(2*len(t) + len(e.key) + 64)
	}
	e.size = n
}

// setValidators keeps the ETag and Last-Modified of h.
func (e *Entry) setValidators(h *fasthttp.ResponseHeader) {
	e.etag = bytes.Clone(h.Peek(fasthttp.HeaderETag))
	e.lastMod = bytes.Clone(h.Peek(fasthttp.HeaderLastModified))
	e.modTime = 0
	if len(e.lastMod) > 0 {
		if t, err := fasthttp.ParseHTTPDate(e.lastMod); err == nil {
			e.modTime = t.Unix()
		}
	}
}

// refreshed is e with its header updated by a 304's fields (RFC 9111
// §4.3.4): same bodies, tags and template. Deadlines and size are the
// caller's to set.
func (e *Entry) refreshed(nm *fasthttp.ResponseHeader) *Entry {
	n := &Entry{
		Template: e.Template,
		key:      e.key, skey: e.skey, status: e.status,
		body: e.body, gz: e.gz, br: e.br,
		tags: e.tags,
	}
	e.header.CopyTo(&n.header)
	mergeHeader(&n.header, nm)
	n.setValidators(&n.header)
	return n
}

// mergeHeader replaces in dst every field src carries, except those a 304
// may not change and those never stored.
func mergeHeader(dst, src *fasthttp.ResponseHeader) {
	skip := func(k []byte) bool {
		if bytes.EqualFold(k, []byte(fasthttp.HeaderContentType)) ||
			bytes.EqualFold(k, []byte(fasthttp.HeaderSetCookie)) ||
			bytes.EqualFold(k, []byte(fasthttp.HeaderServer)) {
			return true
		}
		for _, h := range unstoredHeaders {
			if bytes.EqualFold(k, []byte(h)) {
				return true
			}
		}
		return false
	}
	var names []string
	for k := range src.All() {
		if !skip(k) {
			names = append(names, string(k))
		}
	}
	for _, k := range names {
		dst.Del(k)
	}
	for k, v := range src.All() {
		if !skip(k) {
			dst.AddBytesKV(k, v)
		}
	}
}
