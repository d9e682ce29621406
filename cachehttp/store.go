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

// Store tuning.
const (
	// bumpEvery: a hit records its time on the object at most this often.
	// Hits never reorder the LRUs themselves, which would take the shard's
	// exclusive lock and touch three list nodes (the element and its
	// neighbours, cache misses all) per hit: eviction gives the object at
	// the back, if read since it was put at the front, a second chance,
	// moving it to the front instead (see oldest). That approximates LRU
	// order as the CLOCK algorithm does: an object read once since it was
	// placed outlives one placed later and never read.
	bumpEvery = int64(time.Second)
	// maxRequeue bounds the second chances one eviction gives, so that a
	// shard whose every object was read lately still evicts promptly.
	maxRequeue = 64
	lruCount   = math.MaxInt32 // the LRUs are bounded by bytes, not count
)

// shard is one lock's worth of the store: a main LRU, a protected LRU for
// hot objects, the lock-free index reads go through (see index), and the
// tag index of both. Hits take no lock (see index and bumpEvery), so they
// scale with cores instead of queueing on one reader count.
type shard struct {
	mu   sync.RWMutex
	main *simplelru.LRU[string, *object]
	hot  *simplelru.LRU[string, *object]
	idx  index
	tags map[string]map[string]struct{} // tag -> keys
	_    [64]byte                       // keep shards' locks on separate cache lines
}

// store is the byte-bounded, sharded LRU holding the cache's objects. The
// byte budget is global; eviction takes the oldest object of each shard in
// turn, which approximates one LRU over all shards without one lock.
type store struct {
	shards []shard
	mask   uint64
	shift  uint // a hash's top bits pick its shard, its low bits a slot (see index)
	seed   maphash.Seed

	limit, hotLimit, maxEntry atomic.Int64

	bytes, hotBytes                atomic.Int64
	entries, objects, hotObjects   atomic.Int64
	evictions, promotions, demoted atomic.Uint64
	cursor                         atomic.Uint64
}

func newStore(shards int, limit, hotLimit, maxEntry int64) *store {
	n, shift := 1, uint(64)
	for n < shards {
		n <<= 1
		shift--
	}
	s := &store{shards: make([]shard, n), mask: uint64(n - 1), shift: shift, seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].idx.init()
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

// shardOf returns the shard of a key hashed to h. With one shard the shift
// is 64, and h>>64 is 0.
func (s *store) shardOf(h uint64) *shard { return &s.shards[h>>s.shift] }

// hashString is the hash of a key held as a string (maphash.String and
// maphash.Bytes agree on the same bytes).
func (s *store) hashString(key string) uint64 { return maphash.String(s.seed, key) }

// shardOfString returns the shard of key.
func (s *store) shardOfString(key string) *shard { return s.shardOf(s.hashString(key)) }

// bytesString views b as a string for a map lookup that does not keep it.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// get returns the object under key, or nil. An expired object is removed.
// A hit counts toward promotion to the protected segment.
func (s *store) get(key []byte, now int64) *object {
	h := maphash.Bytes(s.seed, key)
	sh := s.shardOf(h)
	o := sh.idx.get(h, key)
	if o == nil {
		return nil
	}
	k := o.key
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
	}
	if !o.hot.Load() && len(o.variants) > 0 && o.hits.Add(1) == promoteHits {
		s.promoteAt(o.key, now, false)
	}
	return o
}

// oldest returns the least recently used object of lru, which stays at its
// back. Objects read since they were last put at the front (see bumpEvery)
// go to the front first, up to maxRequeue of them. The shard lock is held.
func oldest(lru *simplelru.LRU[string, *object]) (string, *object, bool) {
	for range maxRequeue {
		k, o, ok := lru.GetOldest()
		if !ok {
			return k, o, ok
		}
		b := o.bumped.Load()
		if b <= o.placed {
			return k, o, true
		}
		o.placed = b
		lru.Get(k)
	}
	return lru.GetOldest()
}

// front adds o at the front of lru. The shard lock is held.
func front(lru *simplelru.LRU[string, *object], o *object) {
	o.placed = o.bumped.Load()
	lru.Add(o.key, o)
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
	o.hash = s.hashString(o.key)
	sh := s.shardOf(o.hash)
	sh.mu.Lock()
	s.putLocked(sh, o)
	sh.mu.Unlock()
	if o.hot.Load() {
		s.shrinkHot(0)
	}
	s.evict()
}

// putLocked stores o, whose hash is set, in sh; sh.mu is held.
func (s *store) putLocked(sh *shard, o *object) {
	old, _ := sh.peek(o.key)
	if old == o {
		return // stored already
	}
	o.warm.Store(old != nil && old.warm.Load())
	o.size = o.setHot(old != nil && old.hot.Load() && len(o.variants) > 0)
	if o.bumped.Load() == 0 {
		o.bumped.Store(time.Now().UnixNano())
	}
	// Set up, the new object takes the old one's place in the index, so
	// that no reader finds the key missing meanwhile; then the old one
	// leaves its segment (its index slot is the new one's already).
	sh.idx.set(o)
	if old != nil {
		s.unlinkLocked(sh, old)
	}
	if o.hot.Load() {
		front(sh.hot, o)
		s.hotBytes.Add(o.size)
		s.hotObjects.Add(1)
	} else {
		front(sh.main, o)
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
	h := s.hashString(e.key)
	sh := s.shardOf(h)
	sh.mu.Lock()
	var kept []*Entry // the other variants kept
	if old, ok := sh.peek(e.key); ok && len(old.variants) > 0 && old.vary.same(spec) {
		for _, v := range old.variants {
			if !bytes.Equal(v.skey, e.skey) && !v.expired(now) {
				kept = append(kept, v)
			}
		}
		if len(kept) >= maxVariants {
			kept = kept[len(kept)-maxVariants+1:]
		}
	}
	// The only variant goes in the object allocated with it (see
	// entryBox), whose first variant's pointer lives in the object itself.
	o := e.spare
	if o == nil || len(kept) > 0 {
		o = new(object)
	} else {
		e.spare = nil
	}
	o.key, o.hash, o.vary = e.key, h, spec
	o.variants = append(append(o.one[:0], kept...), e)
	o.bumped.Store(now)
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

// removeLocked takes key out of the shard, its index and the counters;
// sh.mu is held.
func (s *store) removeLocked(sh *shard, key string) *object {
	o, ok := sh.peek(key)
	if !ok {
		return nil
	}
	s.unlinkLocked(sh, o)
	sh.idx.remove(o)
	return o
}

// unlinkLocked takes o out of its segment and the counters, not out of the
// index; sh.mu is held.
func (s *store) unlinkLocked(sh *shard, o *object) {
	if o.hot.Load() {
		sh.hot.Remove(o.key)
	} else {
		sh.main.Remove(o.key)
	}
	s.forget(sh, o)
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
			_, o, ok := oldest(lru)
			if ok {
				lru.RemoveOldest()
				sh.idx.remove(o)
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
