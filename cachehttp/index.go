package cachehttp

import "sync/atomic"

// index is a shard's read path: an open-addressing hash table from a key's
// 64-bit hash to its object, in whichever segment it lives. Readers take no
// lock; writers hold the shard lock.
//
// A hit among thousands of URLs finds nothing in the CPU's cache, so what
// it costs is the cache lines it reads. A lookup here reads a line of
// slots, whose hashes tell which object on the probe chain is the key's
// (another key's sits there in about one lookup in three, and reading it
// would be a miss of its own), then the object it needs anyway, and
// compares the key at the start of the entry's packed bytes, the line
// after the object (see entryBox): about two misses where the LRU's own
// map takes four or five (its control word, slot and key bytes, its list
// element), and no reader count to bump on a shared line.
//
// The LRUs still own recency and eviction; the index mirrors which objects
// they hold (see store.putLocked, removeLocked, evict).
//
// A slot's object pointer is only ever stored whole, so a reader sees it
// either before or after a writer's change; its hash is written before
// the pointer and is only a filter, every match being checked against the
// object's own key. A removed key leaves a tombstone, which lookups step
// over and inserts reuse. When used slots (live and tombstones) pass half
// the table, the table is rebuilt, sized for its live keys, and published
// whole: a reader still walking the old one sees the store as it was a
// moment before, as with any lookup racing a write. Tables are never more
// than half full, so every probe ends at an empty slot. A table has 2.7 to
// 5.3 slots per object, 16 bytes each (see objectOverhead).
type index struct {
	tab        atomic.Pointer[indexTable]
	live, used int // changed under the shard lock
}

type indexTable struct {
	slots []slot
	mask  uint64
}

// slot is one place in a table: an object and its key's hash.
type slot struct {
	hash atomic.Uint64
	o    atomic.Pointer[object]
}

// tombstone marks a slot whose key was removed.
var tombstone = &object{}

// minIndexSlots is the smallest table.
const minIndexSlots = 8

func newIndexTable(n int) *indexTable {
	size := minIndexSlots
	for size < n {
		size <<= 1
	}
	return &indexTable{slots: make([]slot, size), mask: uint64(size - 1)}
}

func (x *index) init() { x.tab.Store(newIndexTable(minIndexSlots)) }

// get returns the object under key, whose hash is h, or nil.
func (x *index) get(h uint64, key []byte) *object {
	t := x.tab.Load()
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		sl := &t.slots[i]
		o := sl.o.Load()
		if o == nil {
			return nil
		}
		if sl.hash.Load() == h && o != tombstone {
			// Start loading the variant a hit reads next while the key,
			// in another allocation, is compared: the two misses overlap.
			if e := o.one[0]; e != nil {
				_ = e.fresh.Load()
			}
			if o.key == bytesString(key) {
				return o
			}
		}
	}
}

// set stores o under o.key, replacing the object there. The shard lock is
// held.
func (x *index) set(o *object) {
	t := x.tab.Load()
	free := -1
	for i := o.hash & t.mask; ; i = (i + 1) & t.mask {
		cur := t.slots[i].o.Load()
		switch {
		case cur == nil:
			if free < 0 {
				free = int(i)
				x.used++
			}
			t.slots[free].hash.Store(o.hash)
			t.slots[free].o.Store(o)
			x.live++
			if x.used*2 > len(t.slots) {
				x.rebuild()
			}
			return
		case cur == tombstone:
			if free < 0 {
				free = int(i)
			}
		case cur.hash == o.hash && cur.key == o.key:
			t.slots[i].o.Store(o)
			return
		}
	}
}

// remove takes o out of the index, unless another object has replaced it
// under its key. The shard lock is held.
func (x *index) remove(o *object) {
	t := x.tab.Load()
	for i := o.hash & t.mask; ; i = (i + 1) & t.mask {
		cur := t.slots[i].o.Load()
		switch {
		case cur == nil:
			return
		case cur == o:
			t.slots[i].o.Store(tombstone)
			x.live--
			return
		case cur != tombstone && cur.hash == o.hash && cur.key == o.key:
			return
		}
	}
}

// rebuild publishes a table with the live objects only, at most 3/8 full,
// so at least an eighth of it is inserted before the next rebuild. The
// shard lock is held.
func (x *index) rebuild() {
	old := x.tab.Load()
	t := newIndexTable(x.live*8/3 + 1)
	for i := range old.slots {
		o := old.slots[i].o.Load()
		if o == nil || o == tombstone {
			continue
		}
		j := o.hash & t.mask
		for t.slots[j].o.Load() != nil {
			j = (j + 1) & t.mask
		}
		t.slots[j].hash.Store(o.hash)
		t.slots[j].o.Store(o)
	}
	x.used = x.live
	x.tab.Store(t)
}
