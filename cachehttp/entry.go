package cachehttp

import (
	"bytes"
	"encoding/binary"
	"math"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Entry is one stored response: one variant of one URL. Once stored it is
// immutable (it is read by many requests at once without locks); only its
// freshness deadline moves, when a soft purge marks it stale. A new origin
// answer or a revalidation makes a new Entry.
//
// The stored header set is packed into one allocation (fields), so a
// million entries cost the garbage collector a few million objects rather
// than tens of millions, and the heap stays close to what the store charges.
type Entry struct {
	// What a fresh hit reads comes first, in the struct's first two cache
	// lines (with the allocator's header before it, the box's first two):
	// an entry among thousands is out of the CPU's cache when it is hit,
	// and every further line read is a miss. What follows own is read only
	// by some hits (ESI pages, compressed variants, secondary keys,
	// validators) or by none.

	fresh    atomic.Int64 // fresh until, unix nanos
	keepFor  int64        // dropped this long after fresh, nanos
	storedAt int64        // unix nanos
	age      int64        // seconds the response was already old on arrival
	status   int
	// hdr is fields as a fasthttp header set, built when the hot-key
	// detector names the entry's URL: a hot entry's hits copy it in one
	// CopyTo instead of adding each line. Set under the shard lock.
	hdr atomic.Pointer[fasthttp.ResponseHeader]
	// hit is hdr as a fresh hit sends it at one (Age, ttl) pair; see
	// hitHeader.
	hit atomic.Pointer[hitSet]
	// common is the lines of fields after the entry's own, with status, as
	// a header set other entries share (see headerSets), nil when none is;
	// set before the entry is stored.
	common *fasthttp.ResponseHeader
	body   []byte // identity body
	// fields are the stored header lines, as served: hop-by-hop fields,
	// Set-Cookie, Age, Date, tag headers, Content-Length and
	// Content-Encoding removed. Each is a 4-byte key length, a 4-byte value
	// length (little endian), the key and the value. key, skey, etag,
	// lastMod and body are views into the same allocation (see pack). The
	// entry's own lines (see ownField) come first, then those it may share.
	fields  []byte
	skeyLen int32 // len(skey): most entries have none to compare
	encoded bool  // gz or br is set (see setEncodings)
	// revalidate: never served stale (here, where the padding after the
	// fields above leaves room).
	revalidate bool
	// own is how many bytes of fields the entry's own lines take;
	// unshareable when too many to share the others.
	own uint16

	// Template is what the route's Transformer.Parse made of the body when
	// the response was stored (a parsed ESI page, say), nil otherwise. It is
	// shared by every request served from the entry and must not be changed.
	Template any
	gz, br   []byte // compressed variants, nil when not worth it
	skey     []byte // secondary key: values of the request headers Vary names

	key      string // primary key
	etag     []byte
	lastMod  []byte // Last-Modified as received
	modTime  int64  // Last-Modified, unix seconds; 0 when absent or malformed
	blob     int    // capacity of the allocation fields...body live in
	nfields  int    // header lines in fields
	swr, sie int64  // stale windows after fresh, nanos
	tags     []string
	size     int64 // bytes charged to the store
	// spare is the object allocated with the entry (see entryBox), until
	// store.addVariant takes it; nil for an entry made without one.
	spare *object
}

// setEncodings stores the compressed variants.
func (e *Entry) setEncodings(gz, br []byte) {
	e.gz, e.br, e.encoded = gz, br, gz != nil || br != nil
}

// Status is the stored status code.
func (e *Entry) Status() int { return e.status }

// Body is the stored identity body. It must not be modified.
func (e *Entry) Body() []byte { return e.body }

// Key is the entry's cache key (see AppendKey).
func (e *Entry) Key() string { return e.key }

// CopyHeaderTo adds the stored status and header set to dst (which should
// be empty).
func (e *Entry) CopyHeaderTo(dst *fasthttp.ResponseHeader) { e.writeHeader(dst) }

// writeHeader sets the stored status and adds the stored header lines to h.
func (e *Entry) writeHeader(h *fasthttp.ResponseHeader) {
	h.SetStatusCode(e.status)
	addLines(h, e.fields)
}

// writeSharedHeader is writeHeader for an answer: an entry with a shared
// header set (see headerSets) copies it whole, which also gives h the
// set's settings (no default Content-Type, names normalised: the public
// server's), then adds its own lines.
func (e *Entry) writeSharedHeader(h *fasthttp.ResponseHeader) {
	if e.common == nil {
		e.writeHeader(h)
		return
	}
	e.common.CopyTo(h)
	if e.own > 0 {
		addLines(h, e.fields[:e.own])
	}
}

// addLines adds packed header lines (see Entry.fields) to h. The names are
// stored as fasthttp normalised them when the origin's response was read,
// so adding them skips normalising each again.
func addLines(h *fasthttp.ResponseHeader, b []byte) {
	wasOff := h.DisableNormalizing()
	for len(b) >= 8 {
		kl := int(binary.LittleEndian.Uint32(b))
		vl := int(binary.LittleEndian.Uint32(b[4:]))
		h.AddBytesKV(b[8:8+kl], b[8+kl:8+kl+vl])
		b = b[8+kl+vl:]
	}
	if !wasOff {
		h.EnableNormalizing()
	}
}

// unshareable is Entry.own when the entry's own lines are too long for it.
const unshareable = math.MaxUint16

// sharedLines returns the lines of fields other entries may have too, and
// whether there are such lines to share.
func (e *Entry) sharedLines() ([]byte, bool) {
	if e.own == unshareable || int(e.own) == len(e.fields) {
		return nil, false
	}
	return e.fields[e.own:], true
}

// ownField reports whether a header line names one representation or one
// moment (ETag, Last-Modified, Expires): an entry's own, which it keeps
// before the lines it may share with others (see headerSets).
func ownField(k []byte) bool {
	return bytes.EqualFold(k, hdrETag) || bytes.EqualFold(k, hdrLastModified) || bytes.EqualFold(k, hdrExpires)
}

var (
	hdrETag         = []byte(fasthttp.HeaderETag)
	hdrLastModified = []byte(fasthttp.HeaderLastModified)
	hdrExpires      = []byte(fasthttp.HeaderExpires)
)

// packEntry returns a new entry holding the key, skey, h's lines and the
// body in one allocation with the entry itself (see entryBox): key, skey,
// fields and body are views into it, in this order. An entry is a
// handful of heap objects whatever its header count. body may alias a
// pooled response: it is copied, unless keep says it is the entry's own
// already (a Template may hold slices of it), when it stays where it is.
func packEntry(h *fasthttp.ResponseHeader, skey []byte, key string, body []byte, keep bool) *Entry {
	n := len(skey) + len(key)
	if !keep {
		n += len(body)
	}
	for k, v := range h.All() {
		n += 8 + len(k) + len(v)
	}
	e, buf := allocEntry(n)
	view := func(from int) []byte { return buf[from:len(buf):len(buf)] }
	// The key comes first: a lookup compares it (see index.get), and the
	// lines after it, which the answer reads next, come in with it.
	buf = append(buf, key...)
	e.key = bytesString(buf)
	start := len(buf)
	buf = append(buf, skey...)
	e.skey = view(start)
	e.skeyLen = int32(len(skey))
	start = len(buf)
	var etag, lastMod [2]int
	// The entry's own lines first, then those other entries may have too.
	own := 0
	for _, ownPass := range [2]bool{true, false} {
		for k, v := range h.All() {
			if ownField(k) != ownPass {
				continue
			}
			e.nfields++
			buf = binary.LittleEndian.AppendUint32(buf, uint32(len(k)))
			buf = binary.LittleEndian.AppendUint32(buf, uint32(len(v)))
			buf = append(buf, k...)
			switch {
			case bytes.EqualFold(k, hdrETag):
				etag = [2]int{len(buf), len(buf) + len(v)}
			case bytes.EqualFold(k, hdrLastModified):
				lastMod = [2]int{len(buf), len(buf) + len(v)}
			}
			buf = append(buf, v...)
		}
		if ownPass {
			own = len(buf) - start
		}
	}
	e.fields = view(start)
	e.own = uint16(min(own, unshareable))
	if keep {
		e.body = body
	} else {
		start = len(buf)
		buf = append(buf, body...)
		e.body = view(start)
	}
	if etag[1] > etag[0] {
		e.etag = buf[etag[0]:etag[1]:etag[1]]
	}
	if lastMod[1] > lastMod[0] {
		e.lastMod = buf[lastMod[0]:lastMod[1]:lastMod[1]]
	}
	if len(e.lastMod) > 0 {
		if t, err := fasthttp.ParseHTTPDate(e.lastMod); err == nil {
			e.modTime = t.Unix()
		}
	}
	e.blob = cap(buf)
	if keep {
		e.blob += cap(body)
	}
	return e
}

// materialize builds e.hdr if needed and returns what it costs.
func (e *Entry) materialize() int64 {
	if e.hdr.Load() == nil {
		h := new(fasthttp.ResponseHeader)
		h.SetNoDefaultContentType(true)
		e.writeHeader(h)
		e.hdr.Store(h)
	}
	return e.hdrCost()
}

// hdrCost is what e.hdr and the hit set built from it cost: for each, the
// struct, one argsKV and two small allocations per line, and the bytes; the
// hit set has three lines more.
func (e *Entry) hdrCost() int64 {
	one := int64(320 + 112*e.nfields + len(e.fields))
	return 2*one + 3*112 + 64
}

// hitSet is a materialised entry's header set with Age, X-Cache: HIT and
// Cache-Status added for one (age, ttl) pair.
type hitSet struct {
	age, ttl int64
	h        fasthttp.ResponseHeader
}

// hitHeader returns the header set a fresh hit on e sends at age and ttl;
// hh is e.hdr. The set is rebuilt when the pair changes, about twice a
// second, so the hits of a hot entry copy one header set and set no field
// (buf is scratch). A set, once published, is only read.
func (e *Entry) hitHeader(hh *fasthttp.ResponseHeader, buf *[]byte, age, ttl int64) *fasthttp.ResponseHeader {
	if s := e.hit.Load(); s != nil && s.age == age && s.ttl == ttl {
		return &s.h
	}
	s := &hitSet{age: age, ttl: ttl}
	hh.CopyTo(&s.h)
	setCacheHeaders(&s.h, buf, kindHit, age, ttl)
	// Hits on either side of a second's turn must not take turns
	// replacing each other's set: only a newer one is kept.
	if cur := e.hit.Load(); cur == nil || age > cur.age || (age == cur.age && ttl < cur.ttl) {
		e.hit.Store(s)
	}
	return &s.h
}

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

// storeHeader copies src into dst without what must not be stored (Vary
// too: the caller sets the one to serve).
func storeHeader(dst, src *fasthttp.ResponseHeader) {
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
	// An origin that sent no Content-Type gets none invented.
	dst.SetNoDefaultContentType(true)
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

// entryOverhead is what an entry costs beyond the bytes it holds: the
// Entry struct, the object and its variants slice, the LRU element and map
// slot, and allocator rounding. Calibrated with BenchmarkMemory.
const entryOverhead = 512

// computeSize charges the entry its key, header lines, bodies and overhead.
func (e *Entry) computeSize() {
	n := int64(entryOverhead + e.blob + cap(e.gz) + cap(e.br))
	for _, t := range e.tags {
		// Stored in the entry and in the tag index with the key.
		n += int64(2*len(t) + len(e.key) + 64)
	}
	e.size = n
}

// refreshed is e with its header updated by a 304's fields (RFC 9111
// §4.3.4): same bodies, tags and template. It returns the merged header
// too, for the freshness verdict. Deadlines and size are the caller's.
func (e *Entry) refreshed(nm *fasthttp.ResponseHeader) (*Entry, *fasthttp.ResponseHeader) {
	h := new(fasthttp.ResponseHeader)
	h.SetNoDefaultContentType(true)
	e.writeHeader(h)
	mergeHeader(h, nm)
	n := packEntry(h, e.skey, e.key, e.body, e.Template != nil)
	n.Template, n.status, n.tags = e.Template, e.status, e.tags
	n.setEncodings(e.gz, e.br)
	return n, h
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
