package hot

import (
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// ways is the associativity of the candidate table: a key may live in one of
// the 8 slots of its set, whose hashes share one cache line.
const ways = 8

// maxKeyLen bounds the keys that are tracked and announced (bytes). Longer
// keys are ignored, so the candidates' memory stays bounded.
const maxKeyLen = 2048

// table holds the candidates of one kind. The request path reads hashes and
// adds to counts without locking; everything else (taking and freeing slots,
// meta) happens under the tracker's mutex. A slot is free when its hash is 0.
//
// Slots are reused in place, so an Observe that matched a slot just before
// it was given to another key may add one occurrence to the newcomer; the
// error is a handful of counts per eviction.
type table struct {
	setMask uint64
	hashes  []atomic.Uint64
	counts  []atomic.Uint32 // occurrences in the current bucket
	meta    []meta
}

// meta is a candidate's bookkeeping, guarded by the tracker's mutex.
type meta struct {
	key       string
	ring      [buckets]uint32 // occurrences per closed bucket
	sum       uint64          // sum of ring
	rate      float64         // per second, as of the last tick
	admitted  uint64          // tick count when the key entered
	admitRate float64         // sketch-estimated rate when it entered
	hot       bool
	since     time.Time
}

// score is what a candidate is worth when a newcomer wants its slot: its
// measured rate, or, during its first window (not yet fully measured), the
// rate estimated when it entered if that is higher.
// A hot candidate counts double: only a key estimated at more than twice
// its rate may take its slot, so the hot keys of a crowded set do not flap.
func (m *meta) score(ticks uint64) float64 {
	switch {
	case m.hot:
		return hotKeep * m.rate
	case ticks-m.admitted < buckets && m.admitRate > m.rate:
		return m.admitRate
	}
	return m.rate
}

// hotKeep is how many times hotter than a hot candidate a newcomer must be
// to take its slot.
const hotKeep = 2

// slotsFor returns the table size for hot.top: max(4×top, 64) rounded up
// to a power of two.
func slotsFor(top int) int {
	n := max(candidatesPerTop*top, minCandidates)
	return 1 << bits.Len(uint(n-1))
}

func newTable(slots int) *table {
	return &table{
		setMask: uint64(slots/ways - 1),
		hashes:  make([]atomic.Uint64, slots),
		counts:  make([]atomic.Uint32, slots),
		meta:    make([]meta, slots),
	}
}

// base returns the first slot of h's set.
func (t *table) base(h uint64) int { return int((h>>20)&t.setMask) * ways }

// inc adds one occurrence to h's slot and reports whether h is a candidate.
func (t *table) inc(h uint64) bool {
	b := t.base(h)
	set := (*[ways]atomic.Uint64)(t.hashes[b : b+ways])
	for i := range set {
		if set[i].Load() == h {
			t.counts[b+i].Add(1)
			return true
		}
	}
	return false
}

// occupy gives slot i to the key hashed to h (under the tracker's mutex).
func (t *table) occupy(i int, h uint64, m meta) {
	t.hashes[i].Store(0)
	t.counts[i].Store(0)
	t.meta[i] = m
	t.hashes[i].Store(h)
}

// free empties slot i (under the tracker's mutex).
func (t *table) free(i int) {
	t.hashes[i].Store(0)
	t.counts[i].Store(0)
	t.meta[i] = meta{}
}

// metaSize is the size of one slot's bookkeeping.
const metaSize = unsafe.Sizeof(meta{})

// bytes is the table's fixed memory (keys not included).
func (t *table) bytes() int {
	return len(t.hashes)*8 + len(t.counts)*4 + len(t.meta)*int(metaSize)
}

// tracker holds the sketch and candidates of one kind.
type tracker struct {
	kind   Kind
	sketch sketch
	table  atomic.Pointer[table]

	mu    sync.Mutex // guards slot assignment, meta and ticks
	ticks uint64     // the detector's tick count, for admissions
}

func (t *tracker) init(k Kind, top int) {
	t.kind = k
	t.sketch = newSketch()
	t.table.Store(newTable(slotsFor(top)))
}

// admit tries to make the key hashed to h a candidate; est is its sketch
// estimate. It gives up at once when the table is busy (the key retries on a
// later Observe), takes a free slot of the key's set, or else the slot of the
// set's coldest candidate, if the newcomer is hotter (see meta.score).
func (t *tracker) admit(h uint64, key []byte, est uint32) {
	if !t.mu.TryLock() {
		return
	}
	defer t.mu.Unlock()
	tab := t.table.Load()
	b := tab.base(h)
	rate := float64(est) / sketchSteady
	empty, victim, worst := -1, -1, rate
	for i := b; i < b+ways; i++ {
		switch hh := tab.hashes[i].Load(); {
		case hh == h:
			return
		case hh == 0:
			if empty < 0 {
				empty = i
			}
		default:
			if s := tab.meta[i].score(t.ticks); s < worst {
				victim, worst = i, s
			}
		}
	}
	if empty >= 0 {
		victim = empty
	}
	if victim < 0 {
		return
	}
	tab.occupy(victim, h, meta{key: string(key), admitted: t.ticks, admitRate: rate})
}

// tickIn is what one tick needs to slide the candidates' windows.
type tickIn struct {
	pos       int // ring position of the bucket being closed
	ticks     uint64
	now       time.Time
	span      float64 // seconds covered by the window
	threshold float64
}

// tick closes the current bucket of every candidate, updates their rates and
// hot state, frees the ones that went cold, and appends the hot ones to out.
// It returns how many keys became hot.
func (t *tracker) tick(in tickIn, out *[]member) (detected int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ticks = in.ticks
	tab := t.table.Load()
	cool := coolFactor * in.threshold
	drop := admitFraction * in.threshold / 2
	for i := range tab.hashes {
		h := tab.hashes[i].Load()
		if h == 0 {
			continue
		}
		m := &tab.meta[i]
		c := tab.counts[i].Swap(0)
		m.sum = m.sum - uint64(m.ring[in.pos]) + uint64(c)
		m.ring[in.pos] = c
		m.rate = float64(m.sum) / in.span
		switch {
		case !m.hot && m.rate >= in.threshold:
			m.hot, m.since = true, in.now
			detected++
		case m.hot && m.rate < cool:
			m.hot, m.since = false, time.Time{}
		}
		if m.hot {
			*out = append(*out, member{kind: t.kind, key: m.key, hash: h, rate: m.rate, since: m.since, source: SourceLocal})
			continue
		}
		if in.ticks-m.admitted >= buckets && m.rate < drop {
			tab.free(i)
		}
	}
	return detected
}

// resize rebuilds the table for a new hot.top, keeping its candidates
// (hottest first) as far as the new sets have room.
func (t *tracker) resize(top int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.table.Load()
	slots := slotsFor(top)
	if slots == len(old.hashes) {
		return
	}
	idx := make([]int, 0, len(old.hashes))
	for i := range old.hashes {
		if old.hashes[i].Load() != 0 {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		ma, mb := &old.meta[a], &old.meta[b]
		if ma.hot != mb.hot {
			if ma.hot {
				return -1
			}
			return 1
		}
		switch {
		case ma.rate > mb.rate:
			return -1
		case ma.rate < mb.rate:
			return 1
		}
		return 0
	})
	tab := newTable(slots)
	for _, i := range idx {
		h := old.hashes[i].Load()
		b := tab.base(h)
		for j := b; j < b+ways; j++ {
			if tab.hashes[j].Load() == 0 {
				tab.occupy(j, h, old.meta[i])
				tab.counts[j].Store(old.counts[i].Load())
				break
			}
		}
	}
	t.table.Store(tab)
}

// candidates returns how many keys are counted exactly.
func (t *tracker) candidates() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	tab := t.table.Load()
	n := 0
	for i := range tab.hashes {
		if tab.hashes[i].Load() != 0 {
			n++
		}
	}
	return n
}
