package cachehttp

import (
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// The protected segment: objects hit repeatedly, or named hot, that a scan
// of cold URLs cannot evict (see store).
const (
	// promoteHits: a main-segment object hit this often moves to the
	// protected segment.
	promoteHits = 4
	// promoteBackoff: an object that found the protected segment full of
	// objects in use tries again after this many more hits, so that a
	// working set larger than the segment does not take the shard's lock
	// every few hits.
	promoteBackoff = 64
	// promoteLooks bounds the second chances a promotion's look for an
	// idle object gives (see idleBack, maxRequeue), made on every attempt.
	promoteLooks = 4
	// hotIdle: a protected object not read for this long may make room for
	// one promoted by the frequency rule.
	hotIdle = int64(10 * time.Second)
)

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
	o, inMain := sh.main.Peek(key)
	if !inMain {
		p, hot := sh.hot.Peek(key)
		if !hot || !force || p.warm.Load() {
			sh.mu.Unlock()
			return hot
		}
		// Protected already for its hit count; now hot: warm it.
		p.warm.Store(true)
		s.hotBytes.Add(s.resizeLocked(p, true))
	} else {
		if len(o.variants) == 0 {
			sh.mu.Unlock()
			return false
		}
		if o.sizeWith(force || o.warm.Load()) > s.hotLimit.Load() {
			// Too large for the segment. An object the detector names is
			// marked warm all the same, so that its hot hits stop asking
			// (each would take the lock for nothing); should the segment
			// grow, it goes in warm.
			if force {
				o.warm.Store(true)
			}
			sh.mu.Unlock()
			return false
		}
		if force {
			o.warm.Store(true)
		} else {
			for s.hotBytes.Load()+o.sizeWith(o.warm.Load()) > s.hotLimit.Load() {
				tail := idleBack(sh.hot, now)
				if tail == nil {
					o.hits.Store(promoteHits - promoteBackoff)
					sh.mu.Unlock()
					return false
				}
				s.demoteBack(sh, tail)
			}
		}
		sh.main.Remove(key)
		front(sh.hot, o)
		s.resizeLocked(o, true)
		s.hotBytes.Add(o.size)
		s.hotObjects.Add(1)
		s.promotions.Add(1)
	}
	sh.mu.Unlock()
	s.shrinkHot(0)
	s.evict()
	return true
}

// resizeLocked moves o in or out of the protected state (see setHot),
// charges the store its new size and returns the change; sh.mu is held.
func (s *store) resizeLocked(o *object, hot bool) int64 {
	size := o.setHot(hot)
	d := size - o.size
	s.bytes.Add(d)
	o.size = size
	return d
}

// demoteOldest moves the least recently used object of sh's protected
// segment to the front of its main segment. sh.mu is held.
func (s *store) demoteOldest(sh *shard) bool {
	_, o, ok := oldest(sh.hot)
	if ok {
		s.demoteBack(sh, o)
	}
	return ok
}

// demoteBack moves o, at the back of sh's protected segment, to the front
// of its main segment. sh.mu is held.
func (s *store) demoteBack(sh *shard, o *object) {
	sh.hot.RemoveOldest()
	s.hotBytes.Add(-o.size)
	s.resizeLocked(o, false)
	o.hits.Store(0)
	front(sh.main, o)
	s.hotObjects.Add(-1)
	s.demoted.Add(1)
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

// idleBack returns the object at the back of the protected segment lru
// if it has not been read for hotIdle at now, or nil when the segment is
// in use. An object at the back read since it was placed there, but
// within hotIdle, goes to the front first, up to promoteLooks of them.
// The shard lock is held.
func idleBack(lru *simplelru.LRU[string, *object], now int64) *object {
	for range promoteLooks {
		k, o, ok := lru.GetOldest()
		if !ok {
			return nil
		}
		b := o.bumped.Load()
		switch {
		case now-b >= hotIdle:
			return o
		case b <= o.placed:
			return nil // in use where it stands
		}
		o.placed = b
		lru.Get(k)
	}
	return nil
}
