package cachehttp

import (
	"bytes"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// object is what the store keeps under one primary key: the variants of a
// URL, or a hit-for-pass mark. It is replaced, never changed, once stored
// (copy on write), so a reader holding one needs no lock.
type object struct {
	// What a hit reads comes first (see Entry).
	variants  []*Entry
	one       [1]*Entry     // backing array of variants while there is one
	passUntil int64         // hit-for-pass mark when variants is empty; unix nanos
	bumped    atomic.Int64  // last move to the LRU front, unix nanos
	hits      atomic.Uint32 // hits while in the main segment
	hot       atomic.Bool   // in the protected segment (changed under the shard lock)
	// warm: the hot-key detector named the object (Cache.Promote, or a hit
	// served for a hot URL), so its variants' header sets are materialised
	// (Entry.hdr). Changed under the shard lock, read by hits without it.
	warm atomic.Bool
	vary varySpec

	key  string
	size int64
	tags []string // union of the variants' tags
}

// objectOverhead is an object's cost beyond its entries.
const objectOverhead = 160

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

// computeSize charges the object its key, its variants and their
// materialised header sets.
func (o *object) computeSize() int64 {
	n := objectOverhead + int64(len(o.key))
	for _, e := range o.variants {
		n += e.size
		if e.hdr.Load() != nil {
			n += e.hdrCost()
		}
	}
	return n
}

// hotSize is the object's size once in the protected segment, warm (its
// header sets materialised) or not.
func (o *object) hotSize(warm bool) int64 {
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
	return o.computeSize()
}

// isPass reports whether the object is a live hit-for-pass mark.
func (o *object) isPass(now int64) bool { return len(o.variants) == 0 && now < o.passUntil }

// match returns the variant for the secondary key skey, or nil.
func (o *object) match(skey []byte) *Entry {
	for _, e := range o.variants {
		if bytes.Equal(e.skey, skey) {
			return e
		}
	}
	return nil
}

// Store tuning.
const (
	// promoteHits: a main-segment object hit this often moves to the
	// protected segment.
	promoteHits = 4
	// bumpEvery: an object read more often than this is not moved to the
	// LRU front again, so that a hot key's hits take no exclusive lock,
	// and the hits of many warm keys do not each touch three list nodes
	// (the element and its neighbours, cache misses all) to reorder the
	// LRU. Eviction order is exact to this much.
	bumpEvery = int64(time.Second)
	// hotIdle: a protected object not read for this long may make room for
	// one promoted by the frequency rule.
	hotIdle  = int64(10 * time.Second)
	lruCount = math.MaxInt32 // the LRUs are bounded by bytes, not count
)

// shard is one lock's worth of the store: a main LRU, a protected LRU for
// hot objects, and the tag index of both.
type shard struct {
	mu   sync.RWMutex
	main *simplelru.LRU[string, *object]
	hot  *simplelru.LRU[string, *object]
	// hotView is a read-only copy of hot's map, replaced (under mu) on every
	// change of the protected segment, which is rare: the hits of hot
	// objects, nearly all the traffic of a sale, take no lock at all, so
	// they scale with cores instead of queueing on one reader count.
	hotView atomic.Pointer[map[string]*object]
	tags    map[string]map[string]struct{} // tag -> keys
	_       [64]byte                       // keep shards' locks on separate cache lines
}

// syncHot republishes hotView after a change of sh.hot. sh.mu is held.
func (sh *shard) syncHot() {
	m := make(map[string]*object, sh.hot.Len())
	for _, k := range sh.hot.Keys() {
		o, _ := sh.hot.Peek(k)
		m[k] = o
	}
	sh.hotView.Store(&m)
}

// lookup finds k without taking the lock for protected objects.
func (sh *shard) lookup(k string) *object {
	if m := sh.hotView.Load(); m != nil {
		if o := (*m)[k]; o != nil {
			return o
		}
	}
	sh.mu.RLock()
	o, _ := sh.main.Peek(k)
	sh.mu.RUnlock()
	if o == nil {
		// Promoted while we looked.
		if m := sh.hotView.Load(); m != nil {
			o = (*m)[k]
		}
	}
	return o
}

// store is the byte-bounded, sharded LRU holding the cache's objects. The
// byte budget is global; eviction takes the oldest object of each shard in
// turn, which approximates one LRU over all shards without one lock.
type store struct {
	shards []shard
	mask   uint64
	seed   maphash.Seed

	limit, hotLimit, maxEntry atomic.Int64

	bytes, hotBytes                atomic.Int64
	entries, objects, hotObjects   atomic.Int64
	evictions, promotions, demoted atomic.Uint64
	cursor                         atomic.Uint64
}

func newStore(shards int, limit, hotLimit, maxEntry int64) *store {
	n := 1
	for n < shards {
		n <<= 1
	}
	s := &store{shards: make([]shard, n), mask: uint64(n - 1), seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].main, _ = simplelru.NewLRU[string, *object](lruCount, nil)
		s.shards[i].hot, _ = simplelru.NewLRU[string, *object](lruCount, nil)
		s.shards[i].tags = make(map[string]map[string]struct{})
	}
	s.setLimits(limit, hotLimit, maxEntry)
	return s
}

func (s *store) setLimits(limit, hotLimit, maxEntry int64) {
	s.limit.Store(limit)
	s.hotLimit.Store(min(hotLimit, limit))
	s.maxEntry.Store(maxEntry)
	s.shrinkHot(0)
	s.evict()
}

func (s *store) shardOf(key []byte) *shard {
	return &s.shards[maphash.Bytes(s.seed, key)&s.mask]
}

// shardOfString is shardOf for a string key (the same hash).
func (s *store) shardOfString(key string) *shard {
	return &s.shards[maphash.String(s.seed, key)&s.mask]
}

// bytesString views b as a string for a map lookup that does not keep it.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// get returns the object under key, or nil. An expired object is removed.
// A hit counts toward promotion to the protected segment.
func (s *store) get(key []byte, now int64) *object {
	sh := s.shardOf(key)
	k := bytesString(key)
	o := sh.lookup(k)
	if o == nil {
		return nil
	}
	if o.expired(now) {
		sh.mu.Lock()
		if cur, _ := sh.peek(k); cur == o {
			s.removeLocked(sh, k)
		}
		sh.mu.Unlock()
		return nil
	}
	if now-o.bumped.Load() >= bumpEvery {
		o.bumped.Store(now)
		sh.mu.Lock()
		if o.hot.Load() {
			sh.hot.Get(k)
		} else {
			sh.main.Get(k)
		}
		sh.mu.Unlock()
	}
	if !o.hot.Load() && len(o.variants) > 0 && o.hits.Add(1) == promoteHits {
		s.promoteAt(o.key, now, false)
	}
	return o
}

func (sh *shard) peek(k string) (*object, bool) {
	if o, ok := sh.hot.Peek(k); ok {
		return o, true
	}
	return sh.main.Peek(k)
}

// put stores o under o.key, replacing what was there (keeping its place in
// the protected segment), then evicts down to the byte limit.
func (s *store) put(o *object) {
	sh := s.shardOfString(o.key)
	sh.mu.Lock()
	s.putLocked(sh, o)
	sh.mu.Unlock()
	if o.hot.Load() {
		s.shrinkHot(0)
	}
	s.evict()
}

func (s *store) putLocked(sh *shard, o *object) {
	old := s.removeLocked(sh, o.key)
	o.warm.Store(old != nil && old.warm.Load())
	o.size = o.setHot(old != nil && old.hot.Load() && len(o.variants) > 0)
	if o.bumped.Load() == 0 {
		o.bumped.Store(time.Now().UnixNano())
	}
	if o.hot.Load() {
		sh.hot.Add(o.key, o)
		sh.syncHot()
		s.hotBytes.Add(o.size)
		s.hotObjects.Add(1)
	} else {
		sh.main.Add(o.key, o)
	}
	s.bytes.Add(o.size)
	s.objects.Add(1)
	s.entries.Add(int64(len(o.variants)))
	for _, t := range o.tags {
		keys := sh.tags[t]
		if keys == nil {
			keys = make(map[string]struct{}, 1)
			sh.tags[t] = keys
		}
		keys[o.key] = struct{}{}
	}
}

// addVariant stores e as a variant of the object under e.key, replacing the
// variant with the same secondary key. A different Vary spec replaces the
// whole object. It returns false when e is larger than the whole store.
func (s *store) addVariant(spec varySpec, e *Entry, now int64) bool {
	if e.size > s.limit.Load() {
		return false
	}
	sh := s.shardOfString(e.key)
	sh.mu.Lock()
	o := &object{key: e.key, vary: spec}
	// Most URLs have one variant: its pointer lives in the object itself,
	// so a hit reads one allocation less.
	o.variants = o.one[:0]
	o.bumped.Store(now)
	if old, ok := sh.peek(e.key); ok && len(old.variants) > 0 && old.vary.same(spec) {
		for _, v := range old.variants {
			if !bytes.Equal(v.skey, e.skey) && !v.expired(now) {
				o.variants = append(o.variants, v)
			}
		}
		if len(o.variants) >= maxVariants {
			o.variants = o.variants[len(o.variants)-maxVariants+1:]
		}
	}
	o.variants = append(o.variants, e)
	for _, v := range o.variants {
		for _, t := range v.tags {
			if !containsString(o.tags, t) {
				o.tags = append(o.tags, t)
			}
		}
	}
	s.putLocked(sh, o)
	hot := o.hot.Load()
	sh.mu.Unlock()
	if hot {
		s.shrinkHot(0)
	}
	s.evict()
	return true
}

// setPass marks key hit-for-pass until the given time, replacing what was
// stored under it.
func (s *store) setPass(key string, until int64) {
	s.put(&object{key: key, passUntil: until})
}

// removeLocked takes key out of the shard and the counters; sh.mu is held.
func (s *store) removeLocked(sh *shard, key string) *object {
	o, ok := sh.hot.Peek(key)
	if ok {
		sh.hot.Remove(key)
		sh.syncHot()
	} else if o, ok = sh.main.Peek(key); ok {
		sh.main.Remove(key)
	} else {
		return nil
	}
	s.forget(sh, o)
	return o
}

// forget updates counters and the tag index for an object that left sh.
func (s *store) forget(sh *shard, o *object) {
	if o.hot.Load() {
		s.hotBytes.Add(-o.size)
		s.hotObjects.Add(-1)
	}
	s.bytes.Add(-o.size)
	s.objects.Add(-1)
	s.entries.Add(-int64(len(o.variants)))
	for _, t := range o.tags {
		if keys := sh.tags[t]; keys != nil {
			delete(keys, o.key)
			if len(keys) == 0 {
				delete(sh.tags, t)
			}
		}
	}
}

// evict removes least recently used objects until the store is within its
// byte limit: from the main segments first, one shard after the other, and
// from the protected segments only when the main ones are empty.
func (s *store) evict() {
	for _, fromHot := range []bool{false, true} {
		empty := 0
		for s.bytes.Load() > s.limit.Load() && empty <= len(s.shards) {
			sh := &s.shards[s.cursor.Add(1)&s.mask]
			sh.mu.Lock()
			lru := sh.main
			if fromHot {
				lru = sh.hot
			}
			_, o, ok := lru.RemoveOldest()
			if ok && fromHot {
				sh.syncHot()
			}
			if ok {
				s.forget(sh, o)
				o.hot.Store(false)
				s.evictions.Add(1)
				empty = 0
			} else {
				empty++
			}
			sh.mu.Unlock()
		}
	}
}

// promote moves the object under key into the protected segment, where a
// scan of cold URLs cannot evict it, demoting the segment's least recently
// used objects if it is full. It reports whether key is now protected.
func (s *store) promote(key string) bool { return s.promoteAt(key, 0, true) }

// promoteAt promotes key. Unless force is set (an explicit Promote), a full
// segment only makes room by demoting objects idle for hotIdle: a working
// set larger than the segment then stays put instead of churning in and
// out of it on every few hits.
func (s *store) promoteAt(key string, now int64, force bool) bool {
	sh := s.shardOfString(key)
	sh.mu.Lock()
	o, ok := sh.main.Peek(key)
	if !ok {
		p, hot := sh.hot.Peek(key)
		if hot && force && !p.warm.Load() {
			// Protected already for its hit count; now hot: warm it.
			p.warm.Store(true)
			size := p.setHot(true)
			s.bytes.Add(size - p.size)
			s.hotBytes.Add(size - p.size)
			p.size = size
			sh.mu.Unlock()
			s.shrinkHot(0)
			s.evict()
			return true
		}
		sh.mu.Unlock()
		return hot
	}
	if o.hotSize(force || o.warm.Load()) > s.hotLimit.Load() || len(o.variants) == 0 {
		sh.mu.Unlock()
		return false
	}
	if force {
		o.warm.Store(true)
	} else {
		for s.hotBytes.Load()+o.hotSize(o.warm.Load()) > s.hotLimit.Load() {
			_, tail, ok := sh.hot.GetOldest()
			if !ok || now-tail.bumped.Load() < hotIdle {
				o.hits.Store(0) // try again after as many hits
				sh.mu.Unlock()
				return false
			}
			s.demoteOldest(sh)
		}
	}
	sh.main.Remove(key)
	sh.hot.Add(key, o)
	sh.syncHot()
	size := o.setHot(true)
	s.bytes.Add(size - o.size)
	o.size = size
	s.hotBytes.Add(o.size)
	s.hotObjects.Add(1)
	s.promotions.Add(1)
	sh.mu.Unlock()
	s.shrinkHot(0)
	s.evict()
	return true
}

// demoteOldest moves the least recently used object of sh's protected
// segment to the front of its main segment. sh.mu is held.
func (s *store) demoteOldest(sh *shard) bool {
	k, o, ok := sh.hot.RemoveOldest()
	if !ok {
		return false
	}
	sh.syncHot()
	s.hotBytes.Add(-o.size)
	size := o.setHot(false)
	s.bytes.Add(size - o.size)
	o.size = size
	o.hits.Store(0)
	sh.main.Add(k, o)
	s.hotObjects.Add(-1)
	s.demoted.Add(1)
	return true
}

// shrinkHot demotes the least recently used protected objects back to the
// front of their shard's main segment until the protected bytes are within
// hotLimit-reserve.
func (s *store) shrinkHot(reserve int64) {
	empty := 0
	for s.hotBytes.Load() > s.hotLimit.Load()-reserve && empty <= len(s.shards) {
		sh := &s.shards[s.cursor.Add(1)&s.mask]
		sh.mu.Lock()
		if s.demoteOldest(sh) {
			empty = 0
		} else {
			empty++
		}
		sh.mu.Unlock()
	}
}

// remove deletes the object under key and returns how many entries it held.
func (s *store) remove(key string) int {
	sh := s.shardOfString(key)
	sh.mu.Lock()
	o := s.removeLocked(sh, key)
	sh.mu.Unlock()
	if o == nil {
		return 0
	}
	return len(o.variants)
}

// markStale makes every entry under key stale at now (soft purge) and
// returns how many there were.
func (s *store) markStale(key string, now int64) int {
	sh := s.shardOfString(key)
	sh.mu.RLock()
	o, ok := sh.peek(key)
	sh.mu.RUnlock()
	if !ok {
		return 0
	}
	for _, e := range o.variants {
		for {
			f := e.fresh.Load()
			if f <= now || e.fresh.CompareAndSwap(f, now) {
				break
			}
		}
	}
	return len(o.variants)
}

// keys returns the keys of every shard matching pred (nil: all).
func (s *store) keys(pred func(string) bool) []string {
	var out []string
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, lru := range []*simplelru.LRU[string, *object]{sh.hot, sh.main} {
			for _, k := range lru.Keys() {
				if pred == nil || pred(k) {
					out = append(out, k)
				}
			}
		}
		sh.mu.RUnlock()
	}
	return out
}

// tagged returns the keys of the objects carrying tag.
func (s *store) tagged(tag string) []string {
	var out []string
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for k := range sh.tags[tag] {
			out = append(out, k)
		}
		sh.mu.RUnlock()
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
