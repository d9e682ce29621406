package cachehttp

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"sync"

	"github.com/valyala/fasthttp"
)

// headerSets interns the header sets (status and stored lines) that many
// entries have in common, as one fasthttp header each: the pages of a
// shop's catalogue mostly come from one template with one set of headers.
//
// A hit adds an entry's stored lines to the response one by one, and
// fasthttp copies each name and value twice and scans both for CR and LF:
// about 30 ns a line, and the lines, among thousands of entries, are not
// in the CPU's cache. An entry whose set is interned is answered with one
// copy of a header every hit of the set keeps in cache (see Route.write).
//
// A set is interned when an entry of a second URL is stored with it, so
// that sets unique to one page (a request id or a canonical link among
// the lines, say) cost nothing but a hash. Lines naming one representation
// or one moment (ETag, Last-Modified, Expires: see ownField) are no part
// of a set: an entry keeps them before the others and adds them to the
// copy. The table holds at most maxSharedBytes of sets and, once full,
// interns no more: every set an entry points to stays in it, so that bound
// is the sets' whole memory. It is not charged to the store.
type headerSets struct {
	mu    sync.Mutex
	seed  maphash.Seed
	sets  map[uint64]*headerSet
	seen  map[uint64]uint64 // sets seen with one key: the key's hash
	bytes int
}

// headerSet is one interned set.
type headerSet struct {
	status int
	fields []byte
	h      fasthttp.ResponseHeader
}

const (
	// maxSharedBytes bounds the interned sets (see headerSetCost).
	maxSharedBytes = 1 << 20
	// maxSeen bounds the sets remembered as seen with one URL.
	maxSeen = 4096
)

func newHeaderSets() *headerSets {
	return &headerSets{seed: maphash.MakeSeed(), sets: map[uint64]*headerSet{}, seen: map[uint64]uint64{}}
}

// share gives e the interned header of its set, interning the set if an
// entry of another URL had it before. e's status and fields are final.
func (hs *headerSets) share(e *Entry) {
	lines, ok := e.sharedLines()
	if !ok {
		return
	}
	var st [8]byte
	binary.LittleEndian.PutUint64(st[:], uint64(e.status))
	var mh maphash.Hash
	mh.SetSeed(hs.seed)
	_, _ = mh.Write(st[:])
	_, _ = mh.Write(lines)
	k := mh.Sum64()

	hs.mu.Lock()
	defer hs.mu.Unlock()
	if s := hs.sets[k]; s != nil {
		if s.status == e.status && bytes.Equal(s.fields, lines) {
			e.common = &s.h
		}
		return
	}
	// Interned once another URL has the set too: the same page stored
	// again (revalidated, refetched) is no second sighting.
	key := maphash.String(hs.seed, e.key)
	if first, ok := hs.seen[k]; !ok || first == key {
		if len(hs.seen) >= maxSeen {
			clear(hs.seen)
		}
		hs.seen[k] = key
		return
	}
	delete(hs.seen, k)
	cost := headerSetCost(lines)
	if hs.bytes+cost > maxSharedBytes {
		return
	}
	s := &headerSet{status: e.status, fields: bytes.Clone(lines)}
	s.h.SetNoDefaultContentType(true)
	s.h.SetStatusCode(e.status)
	addLines(&s.h, s.fields)
	hs.sets[k] = s
	hs.bytes += cost
	e.common = &s.h
}

// headerSetCost is what an interned set of packed lines costs: the set's
// struct, the fasthttp header (a struct, one argsKV and two small
// allocations per line), the lines twice and the map slot.
func headerSetCost(lines []byte) int {
	n := 0
	for b := lines; len(b) >= 8; n++ {
		b = b[8+int(binary.LittleEndian.Uint32(b))+int(binary.LittleEndian.Uint32(b[4:])):]
	}
	return 96 + 320 + 112*n + 2*len(lines) + 32
}
