package quiz

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"sync"
	"time"
)

// DefaultMemoryEntries bounds the entries (failed-attempt counters and used
// tokens) the in-memory store keeps; about 50 bytes each. When it is full
// the oldest entries go first, so a used token could be replayed once about
// this many newer correct answers have been given on this node within its
// max_age: far beyond what one node sees in a sale.
const DefaultMemoryEntries = 1 << 18

// outcome is what the store decided about one answer.
type outcome uint8

const (
	// settledOK: a right answer; the token is now used.
	settledOK outcome = iota
	// settledWrong: a wrong answer, counted against the attempts.
	settledWrong
	// settledReplayed: a right answer with a token already used.
	settledReplayed
	// settledAttempts: the shopper has no attempts left for the item.
	settledAttempts
)

// answerStore records used tokens and failed attempts. The decision is
// atomic: the attempts check, then either the use of the token (right
// answer) or the count of a failure (wrong answer).
type answerStore interface {
	// settle decides an answer of user for item, to the token of question
	// issued at issuedMS. limit is the number of failures allowed per
	// window ttl; ttl also bounds how long a used token is remembered.
	settle(ctx context.Context, user, item []byte, question uint64, issuedMS int64, correct bool, limit int, ttl time.Duration) (outcome, error)
}

// appendTag appends the store tag of a shopper and item:
// "<len(item)>:<item>:<user>". The length makes the split unambiguous
// (item ids may contain ':'); user ids never contain braces, so the tag is
// a valid Redis Cluster hash tag.
func appendTag(dst, user, item []byte) []byte {
	dst = appendUint(dst, uint64(len(item)))
	dst = append(dst, ':')
	dst = append(dst, item...)
	dst = append(dst, ':')
	return append(dst, user...)
}

func appendUint(dst []byte, v uint64) []byte {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

// memStore is the single-node answerStore: sharded maps of entries with an
// expiry, bounded in count. Entries are keyed by a 64-bit keyed hash
// (maphash, seeded per process) of their key, so the maps hold no pointers
// (nothing for the garbage collector to scan) and a decision allocates
// nothing; a collision needs about 2^32 entries to become likely, far above
// the bound. Both entries of one shopper and item live in one shard, so a
// decision takes one lock.
type memStore struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [memShards]memShard
}

const memShards = 32

type memShard struct {
	mu   sync.Mutex
	max  int // entries
	m    map[uint64]memEntry
	fifo []fifoRec // insertion order, for expiry and eviction
	head int
}

type memEntry struct {
	exp int64 // unix ns
	n   int   // failures (attempt counters)
}

type fifoRec struct {
	key uint64
	exp int64 // the entry's exp when recorded: a re-armed entry has a newer record
}

// newMemStore returns a store of at most entries entries (0 means
// DefaultMemoryEntries).
func newMemStore(entries int, now func() time.Time) *memStore {
	if entries <= 0 {
		entries = DefaultMemoryEntries
	}
	s := &memStore{now: now, seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].m = make(map[uint64]memEntry)
		s.shards[i].max = max(entries/memShards, 16)
	}
	return s
}

func (s *memStore) settle(_ context.Context, user, item []byte, question uint64, issuedMS int64, correct bool, limit int, ttl time.Duration) (outcome, error) {
	// Keys: 'a' + tag for the failure count, 't' + tag + question + issued
	// for a used token.
	var kb [256]byte
	key := appendTag(append(kb[:0], 'a'), user, item)
	akey := maphash.Bytes(s.seed, key)
	sh := &s.shards[akey%memShards]

	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := s.now().UnixNano()
	sh.expire(now, 8)
	a, ok := sh.m[akey]
	if ok && a.exp <= now {
		ok = false // expired; re-armed below if needed
	}
	if ok && a.n >= limit {
		return settledAttempts, nil
	}
	if !correct {
		if ok {
			a.n++
			sh.m[akey] = a
			return settledWrong, nil
		}
		sh.put(akey, now+int64(ttl), 1)
		return settledWrong, nil
	}
	key[0] = 't'
	key = binary.BigEndian.AppendUint64(key, question)
	key = binary.BigEndian.AppendUint64(key, uint64(issuedMS))
	tkey := maphash.Bytes(s.seed, key)
	if t, used := sh.m[tkey]; used && t.exp > now {
		return settledReplayed, nil
	}
	sh.put(tkey, now+int64(ttl), 0)
	return settledOK, nil
}

// put stores (or re-arms) the entry of key.
func (sh *memShard) put(key uint64, exp int64, n int) {
	if _, ok := sh.m[key]; !ok {
		for len(sh.m) >= sh.max && sh.evictOne() {
		}
	}
	sh.m[key] = memEntry{exp: exp, n: n}
	sh.push(fifoRec{key: key, exp: exp})
}

// expire drops up to n entries at the front of the queue that have
// expired.
func (sh *memShard) expire(now int64, n int) {
	for ; n > 0 && sh.head < len(sh.fifo); n-- {
		if sh.fifo[sh.head].exp > now {
			return
		}
		sh.pop()
	}
}

// evictOne drops the oldest live record's entry; false when the queue is
// empty.
func (sh *memShard) evictOne() bool {
	for sh.head < len(sh.fifo) {
		if sh.pop() {
			return true
		}
	}
	return false
}

// pop removes the front record and its entry unless the entry was re-armed
// since; it reports whether an entry was removed.
func (sh *memShard) pop() bool {
	r := sh.fifo[sh.head]
	sh.head++
	if sh.head == len(sh.fifo) {
		sh.fifo, sh.head = sh.fifo[:0], 0
	}
	if e, ok := sh.m[r.key]; !ok || e.exp != r.exp {
		return false
	}
	delete(sh.m, r.key)
	return true
}

func (sh *memShard) push(r fifoRec) {
	if sh.head > 0 && len(sh.fifo) == cap(sh.fifo) && sh.head >= len(sh.fifo)/2 {
		n := copy(sh.fifo, sh.fifo[sh.head:])
		sh.fifo, sh.head = sh.fifo[:n], 0
	}
	sh.fifo = append(sh.fifo, r)
}

// len returns the number of entries held (expired ones included until
// they are swept).
func (s *memStore) len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
