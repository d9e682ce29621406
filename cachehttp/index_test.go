package cachehttp

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func indexObject(seed maphash.Seed, key string) *object {
	return &object{key: key, hash: maphash.String(seed, key)}
}

func TestIndexSetGetRemove(t *testing.T) {
	seed := maphash.MakeSeed()
	var x index
	x.init()
	objs := map[string]*object{}
	for i := range 1000 {
		k := fmt.Sprintf("http://shop.test/p/%d", i)
		o := indexObject(seed, k)
		objs[k] = o
		x.set(o)
	}
	if x.live != 1000 {
		t.Fatalf("live = %d, want 1000", x.live)
	}
	if x.used*2 > x.size() {
		t.Fatalf("used %d of %d slots: over half full", x.used, x.size())
	}
	for k, o := range objs {
		if got := x.get(o.hash, []byte(k)); got != o {
			t.Fatalf("get(%q) = %p, want %p", k, got, o)
		}
	}
	if got := x.get(maphash.String(seed, "http://shop.test/none"), []byte("http://shop.test/none")); got != nil {
		t.Fatalf("get of an absent key = %p", got)
	}

	// Replacing a key keeps one slot for it, and removing the replaced
	// object leaves the new one in place.
	k := "http://shop.test/p/7"
	old := objs[k]
	repl := indexObject(seed, k)
	x.set(repl)
	x.remove(old)
	if got := x.get(repl.hash, []byte(k)); got != repl {
		t.Fatalf("after replace, get = %p, want the new %p", got, repl)
	}
	if x.live != 1000 {
		t.Fatalf("live = %d after a replace, want 1000", x.live)
	}

	for i := range 500 {
		k := fmt.Sprintf("http://shop.test/p/%d", i)
		o := objs[k]
		if k == "http://shop.test/p/7" {
			o = repl
		}
		x.remove(o)
		if got := x.get(o.hash, []byte(k)); got != nil {
			t.Fatalf("get(%q) after remove = %p", k, got)
		}
	}
	if x.live != 500 {
		t.Fatalf("live = %d, want 500", x.live)
	}
	for i := 500; i < 1000; i++ {
		k := fmt.Sprintf("http://shop.test/p/%d", i)
		if got := x.get(objs[k].hash, []byte(k)); got != objs[k] {
			t.Fatalf("get(%q) after others' removal = %p, want %p", k, got, objs[k])
		}
	}
}

// A key whose hash collides with another's is told apart by the key; so is
// a lookup of a third key with the same hash.
func TestIndexHashCollision(t *testing.T) {
	var x index
	x.init()
	a := &object{key: "a", hash: 42}
	b := &object{key: "b", hash: 42}
	x.set(a)
	x.set(b)
	if x.get(42, []byte("a")) != a || x.get(42, []byte("b")) != b || x.get(42, []byte("c")) != nil {
		t.Fatal("colliding keys not told apart")
	}
	x.remove(a)
	if x.get(42, []byte("a")) != nil || x.get(42, []byte("b")) != b {
		t.Fatal("removing one of two colliding keys lost the other")
	}
	// The tombstone a left is reused, and b is still found beyond it.
	c := &object{key: "c", hash: 42}
	x.set(c)
	if x.get(42, []byte("b")) != b || x.get(42, []byte("c")) != c || x.used != 2 {
		t.Fatalf("tombstone not reused: used %d", x.used)
	}
}

// Churn through many keys with a small live set: tombstones are cleared by
// rebuilds, and the table stays sized for what is live.
func TestIndexChurnStaysSmall(t *testing.T) {
	seed := maphash.MakeSeed()
	var x index
	x.init()
	var ring [64]*object
	for i := range 100_000 {
		if o := ring[i%len(ring)]; o != nil {
			x.remove(o)
		}
		o := indexObject(seed, fmt.Sprintf("k%d", i))
		ring[i%len(ring)] = o
		x.set(o)
	}
	if x.live != len(ring) {
		t.Fatalf("live = %d, want %d", x.live, len(ring))
	}
	if x.size() > 8*len(ring) {
		t.Fatalf("table has %d slots for %d live keys", x.size(), len(ring))
	}
	for _, o := range ring {
		if x.get(o.hash, []byte(o.key)) != o {
			t.Fatalf("lost %q", o.key)
		}
	}
}

// Readers without the lock, while a writer replaces, removes and adds keys
// and rebuilds the table, find every key that stays stored, and find
// nothing but the object stored under the key they ask for.
func TestIndexConcurrentReaders(t *testing.T) {
	seed := maphash.MakeSeed()
	var x index
	x.init()
	var mu sync.Mutex
	stable := make([]*object, 256)
	for i := range stable {
		stable[i] = indexObject(seed, fmt.Sprintf("stable/%d", i))
		x.set(stable[i])
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			for !stop.Load() {
				i := rng.IntN(len(stable))
				k := fmt.Sprintf("stable/%d", i)
				got := x.get(maphash.String(seed, k), []byte(k))
				if got == nil || got.key != k {
					select {
					case errs <- fmt.Sprintf("get(%q) = %v", k, got):
					default:
					}
					return
				}
				k = fmt.Sprintf("churn/%d", rng.IntN(1000))
				if got := x.get(maphash.String(seed, k), []byte(k)); got != nil && got.key != k {
					select {
					case errs <- fmt.Sprintf("get(%q) found %q", k, got.key):
					default:
					}
					return
				}
			}
		}()
	}
	live := map[string]*object{}
	for i := range 50_000 {
		mu.Lock()
		k := fmt.Sprintf("churn/%d", i%1000)
		if o := live[k]; o != nil && i%3 == 0 {
			x.remove(o)
			delete(live, k)
		} else {
			o := indexObject(seed, k)
			x.set(o)
			live[k] = o
		}
		if i%97 == 0 {
			// Replace a stable key with an equal object: readers must
			// never see it missing.
			j := i % len(stable)
			o := indexObject(seed, stable[j].key)
			x.set(o)
			stable[j] = o
		}
		mu.Unlock()
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// The store's index holds exactly the objects of its LRUs, through puts,
// replacements, promotion, demotion, eviction and removal.
func TestStoreIndexMirrorsSegments(t *testing.T) {
	s := newStore(4, 64<<10, 16<<10, 8<<10)
	rng := rand.New(rand.NewPCG(7, 7))
	start := time.Now()
	now := start.UnixNano()
	for i := range 20_000 {
		k := fmt.Sprintf("http://shop.test/%d", rng.IntN(300))
		switch op := rng.IntN(10); {
		case op < 5:
			e := mkEntry(k, rng.IntN(2000), start)
			s.addVariant(varySpec{}, e, now)
		case op < 7:
			s.get([]byte(k), now)
		case op < 8:
			s.promote(k)
		case op < 9:
			s.remove(k)
		default:
			s.setPass(k, now+int64(rng.IntN(3))-1)
		}
		if i%500 == 0 {
			checkIndex(t, s)
			checkAccounting(t, s)
		}
	}
	checkIndex(t, s)
	checkAccounting(t, s)
}

func checkIndex(t *testing.T, s *store) {
	t.Helper()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		n := sh.main.Len() + sh.hot.Len()
		if sh.idx.live != n {
			t.Fatalf("shard %d: index has %d live, segments %d", i, sh.idx.live, n)
		}
		for _, k := range append(sh.main.Keys(), sh.hot.Keys()...) {
			want, _ := sh.peek(k)
			if got := sh.idx.get(s.hashString(k), []byte(k)); got != want {
				t.Fatalf("shard %d: index has %p for %q, segment %p", i, got, k, want)
			}
		}
		sh.mu.RUnlock()
	}
}

// Putting an object that is stored already changes nothing: its index slot
// stays, and the counters do not count it twice.
func TestStorePutStoredObject(t *testing.T) {
	s := newStore(1, 1<<20, 1<<18, 1<<20)
	now := time.Now()
	s.addVariant(varySpec{}, mkEntry("http://shop.test/a", 100, now), now.UnixNano())
	o := s.get([]byte("http://shop.test/a"), now.UnixNano())
	s.put(o)
	if s.get([]byte("http://shop.test/a"), now.UnixNano()) != o {
		t.Fatal("object lost after being put again")
	}
	checkIndex(t, s)
	checkAccounting(t, s)
}

// size is the number of slots.
func (x *index) size() int { return len(x.tab.Load().slots) }
