package ratelimit

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxKeys is a sensible bound for NewLocal: about a million buckets,
// roughly 64 MiB when full (see Local).
const DefaultMaxKeys = 1 << 20

// maxShards bounds the number of independently locked shards of a Local.
const maxShards = 64

// evictScan is how many least-recently-used buckets a full shard inspects
// for one that is already full (and so can be forgotten at no cost).
const evictScan = 8

// floorPrune is the size above which a shard drops floors that lie in the
// past.
const floorPrune = 64

// Local is the in-memory engine: GCRA buckets for any number of limits in a
// table of at most maxKeys keys, split into shards, each with its own lock,
// open-addressing index and least-recently-used order. A decision takes one
// lock, one index probe and no allocation.
//
// Eviction. A bucket that is full (its owner has been idle for at least
// burst/rate) holds no information: forgetting it is free, and a full shard
// first looks among its least recently used buckets for such a one. Only when
// every candidate is still refilling (more than maxKeys keys active within
// their windows: a flood of addresses, or a table sized too small) is the
// least recently used bucket evicted anyway. Its state is then not simply
// lost: the shard keeps, per limit, the latest TAT it had to evict (a
// "floor"), and a key that (re)enters the table while the floor is in the
// future starts from it instead of from a full bucket, capped so that a new
// key always gets its first request. So an evicted owner coming back gets at
// most one request more than it would have had, never a fresh burst; the
// price is that newcomers during such a flood start with a partly used
// burst. Floors expire by themselves once their time has passed.
//
// Memory: about 64 bytes per key held (48 for the bucket with its list
// links, 8 to 16 for its index slots), allocated as the table grows and kept
// up to maxKeys.
//
// Local is safe for concurrent use. One Local is meant to serve every route
// of a node and to outlive configuration reloads.
type Local struct {
	now    func() time.Time
	seed   uint64
	shift  uint
	shards []shard
	keys   atomic.Int64
}

type shard struct {
	mu    sync.Mutex
	slots []int32 // open-addressing index into ents, -1 = empty
	ents  []entry
	limit int32
	head  int32 // most recently used, -1 when empty
	tail  int32 // least recently used, -1 when empty
	// floors holds, per namespace, the latest TAT evicted while its bucket
	// was still refilling; see Local.
	floors map[uint64]int64
	_      [64]byte // keep hot shards on separate cache lines
}

type entry struct {
	key        Key
	tat        int64
	prev, next int32
}

// NewLocal returns a local engine holding at most maxKeys buckets (values
// below 1 mean DefaultMaxKeys). now is the clock (nil: time.Now); tests
// inject their own.
func NewLocal(maxKeys int, now func() time.Time) *Local {
	if maxKeys < 1 {
		maxKeys = DefaultMaxKeys
	}
	maxKeys = min(maxKeys, math.MaxInt32/4*maxShards)
	if now == nil {
		now = time.Now
	}
	// Shards of at least 16 keys each, a power of two, at most maxShards.
	n := 1
	for n < maxShards && maxKeys/(n*2) >= 16 {
		n *= 2
	}
	l := &Local{
		now:    now,
		seed:   rand.Uint64(),
		shift:  uint(64 - bits.TrailingZeros(uint(n))),
		shards: make([]shard, n),
	}
	for i := range l.shards {
		size := maxKeys / n
		if i < maxKeys%n {
			size++
		}
		s := &l.shards[i]
		s.limit = int32(size)
		s.head, s.tail = -1, -1
	}
	return l
}

// Len returns the number of buckets held.
func (l *Local) Len() int { return int(l.keys.Load()) }

// Allow decides one request for key k under lim.
func (l *Local) Allow(k Key, lim Limit) Decision {
	t, tau := lim.interval()
	now := l.now().UnixNano()
	h := k.hash(l.seed)
	s := &l.shards[h>>l.shift&uint64(len(l.shards)-1)]
	s.mu.Lock()
	_, i := s.find(&k, h)
	var tat int64
	if i >= 0 {
		tat = s.ents[i].tat
	} else {
		tat = s.start(k.ns, now, t, tau)
	}
	next, d := gcra(tat, now, t, tau)
	switch {
	case i >= 0:
		if d.Allowed {
			s.ents[i].tat = next
		}
		s.touch(i)
	case d.Allowed:
		s.insert(l, k, h, next, now)
	}
	s.mu.Unlock()
	return d
}

// start returns the TAT a key entering the table starts from: now (a full
// bucket) unless a bucket of the same limit was evicted while still
// refilling; see Local.
func (s *shard) start(ns uint64, now, t, tau int64) int64 {
	f, ok := s.floors[ns]
	if !ok {
		return now
	}
	if f <= now {
		delete(s.floors, ns)
		return now
	}
	return min(f, now+tau-t)
}

// insert adds k (of hash h) with TAT tat, reusing a slot when the shard is
// full.
func (s *shard) insert(l *Local, k Key, h uint64, tat, now int64) {
	var i int32
	if n := int32(len(s.ents)); n < s.limit {
		if n == int32(cap(s.ents)) {
			grown := make([]entry, n, min(max(2*n, 16), s.limit))
			copy(grown, s.ents)
			s.ents = grown
		}
		s.ents = s.ents[:n+1]
		i = n
		l.keys.Add(1)
		s.reserve(l.seed, len(s.ents))
	} else {
		i = s.victim(now)
		s.unlink(i)
		v := &s.ents[i].key
		slot, _ := s.find(v, v.hash(l.seed))
		s.remove(l.seed, slot)
	}
	s.ents[i] = entry{key: k, tat: tat, prev: -1, next: -1}
	s.place(h, i)
	s.pushFront(i)
}

// victim picks the slot to reuse in a full shard: a full bucket among the
// least recently used ones if there is one, else the least recently used
// bucket, whose TAT then raises its limit's floor.
func (s *shard) victim(now int64) int32 {
	j := s.tail
	for n := 0; n < evictScan && j >= 0; n++ {
		if s.ents[j].tat <= now {
			return j
		}
		j = s.ents[j].prev
	}
	v := &s.ents[s.tail]
	if s.floors == nil {
		s.floors = make(map[uint64]int64)
	}
	if len(s.floors) > floorPrune {
		for ns, f := range s.floors {
			if f <= now {
				delete(s.floors, ns)
			}
		}
	}
	if v.tat > s.floors[v.key.ns] {
		s.floors[v.key.ns] = v.tat
	}
	return s.tail
}

func (s *shard) touch(i int32) {
	if s.head == i {
		return
	}
	s.unlink(i)
	s.pushFront(i)
}

func (s *shard) unlink(i int32) {
	e := &s.ents[i]
	if e.prev >= 0 {
		s.ents[e.prev].next = e.next
	} else {
		s.head = e.next
	}
	if e.next >= 0 {
		s.ents[e.next].prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

func (s *shard) pushFront(i int32) {
	e := &s.ents[i]
	e.prev, e.next = -1, s.head
	if s.head >= 0 {
		s.ents[s.head].prev = i
	}
	s.head = i
	if s.tail < 0 {
		s.tail = i
	}
}
