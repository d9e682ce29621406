package cachehttp

import (
	"bytes"
	"sync/atomic"
)

// object is what the store keeps under one primary key: the variants of a
// URL, or a hit-for-pass mark. It is replaced, never changed, once stored
// (copy on write), so a reader holding one needs no lock; only its
// bookkeeping moves (read time, hits, segment, place in it).
type object struct {
	// What a hit reads comes first (see Entry).
	hash      uint64 // of key, with the store's seed
	key       string
	variants  []*Entry
	one       [1]*Entry    // backing array of variants while there is one
	passUntil int64        // hit-for-pass mark when variants is empty; unix nanos
	bumped    atomic.Int64 // when last read, to within bumpEvery; unix nanos
	placed    int64        // bumped when put at its segment's front; shard lock
	hits      atomic.Int32 // hits while in the main segment, less a backoff (see promoteAt)
	hot       atomic.Bool  // in the protected segment (changed under the shard lock)
	// warm: the hot-key detector named the object (Cache.Promote, or a hit
	// served for a hot URL), so its variants' header sets are materialised
	// (Entry.hdr). Changed under the shard lock, read by hits without it.
	warm atomic.Bool
	vary varySpec

	size int64
	tags []string // union of the variants' tags
}

// objectOverhead is an object's cost beyond its entries: the object, its
// slots in the index (about 64 bytes, see index) and the LRU's element and
// map slot.
const objectOverhead = 232

// expired reports whether nothing in the object is of use at now.
func (o *object) expired(now int64) bool {
	if len(o.variants) == 0 {
		return now >= o.passUntil
	}
	for _, e := range o.variants {
		if !e.expired(now) {
			return false
		}
	}
	return true
}

// sizeWith charges the object its key, its variants and their header
// sets: those materialised, or all of them when warm (the object's size
// once warmed in the protected segment).
func (o *object) sizeWith(warm bool) int64 {
	n := objectOverhead + int64(len(o.key))
	for _, e := range o.variants {
		n += e.size
		if warm || e.hdr.Load() != nil {
			n += e.hdrCost()
		}
	}
	return n
}

// setHot moves the object in or out of the protected segment and returns
// its new size. A warm object going in materialises its variants' header
// sets (see Entry.hdr), which stay when it is demoted, so an object going
// in and out of the segment allocates them once.
//
// Only warm objects get them: the hits of a key the detector finds hot
// find its header set in the CPU's cache and copy it in one go, while an
// object protected for its hit count alone is read a few times a second at
// most, when a materialised set (a dozen small allocations) would cost a
// cache miss per line and the packed fields cost one or two. The shard
// lock is held.
func (o *object) setHot(hot bool) int64 {
	if hot && o.warm.Load() {
		for _, e := range o.variants {
			e.materialize()
		}
	}
	o.hot.Store(hot)
	return o.sizeWith(false)
}

// isPass reports whether the object is a live hit-for-pass mark.
func (o *object) isPass(now int64) bool { return len(o.variants) == 0 && now < o.passUntil }

// match returns the variant for the secondary key skey, or nil. An entry
// without one is matched without reading its skey, a line further on.
func (o *object) match(skey []byte) *Entry {
	for _, e := range o.variants {
		if int(e.skeyLen) == len(skey) && (len(skey) == 0 || bytes.Equal(e.skey, skey)) {
			return e
		}
	}
	return nil
}
