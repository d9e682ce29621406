package ratelimit

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a manual clock safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// within reports whether got is within frac of want.
func within(got, want, frac float64) bool { return math.Abs(got-want) <= frac*want }

func TestGCRABasics(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := NewLocal(100, clk.Now)
	lim := Limit{Rate: 10, Burst: 3} // T = 100ms
	k := NamespaceKey(Namespace("t"))
	steps := []struct {
		advance   time.Duration
		allowed   bool
		remaining int
		retry     time.Duration
		reset     time.Duration
	}{
		{0, true, 2, 0, 100 * time.Millisecond},
		{0, true, 1, 0, 200 * time.Millisecond},
		{0, true, 0, 0, 300 * time.Millisecond},
		{0, false, 0, 100 * time.Millisecond, 300 * time.Millisecond},
		{40 * time.Millisecond, false, 0, 60 * time.Millisecond, 260 * time.Millisecond},
		{60 * time.Millisecond, true, 0, 0, 300 * time.Millisecond},
		{time.Second, true, 2, 0, 100 * time.Millisecond}, // idle: full again
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		d := l.Allow(k, lim)
		want := Decision{Allowed: s.allowed, Remaining: s.remaining, RetryAfter: s.retry, ResetAfter: s.reset}
		if d != want {
			t.Fatalf("step %d: got %+v, want %+v", i, d, want)
		}
	}
}

// TestLocalAccuracy offers 1000 req/s for 10 s to one key limited at 100/s
// with burst 10: burst + rate·time = 1010 must pass, within 2 %.
func TestLocalAccuracy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		lim     Limit
		offered int // per second
		secs    int
		want    float64
	}{
		{"100/s burst 10", Limit{Rate: 100, Burst: 10}, 1000, 10, 1010},
		{"3/s burst 2", Limit{Rate: 3, Burst: 2}, 50, 100, 302},
		{"0.5/s burst 5", Limit{Rate: 0.5, Burst: 5}, 100, 600, 305},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			l := NewLocal(1000, clk.Now)
			k := AddrKey(Namespace("acc"), netip.MustParseAddr("192.0.2.1"))
			allowed := 0
			step := time.Second / time.Duration(tc.offered)
			for range tc.offered * tc.secs {
				if l.Allow(k, tc.lim).Allowed {
					allowed++
				}
				clk.Advance(step)
			}
			t.Logf("allowed %d of %d, want %.0f ±2%%", allowed, tc.offered*tc.secs, tc.want)
			if !within(float64(allowed), tc.want, 0.02) {
				t.Fatalf("allowed %d, want %.0f ±2%%", allowed, tc.want)
			}
		})
	}
}

func TestLocalKeysIndependent(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := NewLocal(1000, clk.Now)
	lim := Limit{Rate: 1, Burst: 1}
	nsA, nsB := Namespace("a"), Namespace("b")
	v4 := netip.MustParseAddr("192.0.2.7")
	keys := []struct {
		name string
		a, b Key
		same bool
	}{
		{"same address", AddrKey(nsA, v4), AddrKey(nsA, v4), true},
		{"mapped v4 is v4", AddrKey(nsA, v4), AddrKey(nsA, netip.MustParseAddr("::ffff:192.0.2.7")), true},
		{"other address", AddrKey(nsA, v4), AddrKey(nsA, netip.MustParseAddr("192.0.2.8")), false},
		{"other namespace", AddrKey(nsA, v4), AddrKey(nsB, v4), false},
		{"same v6 /64", AddrKey(nsA, netip.MustParseAddr("2001:db8::1")), AddrKey(nsA, netip.MustParseAddr("2001:db8::ffff:2")), true},
		{"other v6 /64", AddrKey(nsA, netip.MustParseAddr("2001:db8::1")), AddrKey(nsA, netip.MustParseAddr("2001:db8:0:1::1")), false},
		{"same bytes", BytesKey(nsA, []byte("alice")), BytesKey(nsA, []byte("alice")), true},
		{"other bytes", BytesKey(nsA, []byte("alice")), BytesKey(nsA, []byte("alicf")), false},
		{"bytes vs namespace", BytesKey(nsA, nil), NamespaceKey(nsA), false},
	}
	for _, tc := range keys {
		clk.Advance(time.Hour) // every bucket full again
		if !l.Allow(tc.a, lim).Allowed {
			t.Fatalf("%s: first request refused", tc.name)
		}
		if got := !l.Allow(tc.b, lim).Allowed; got != tc.same {
			t.Errorf("%s: second key limited=%v, want %v", tc.name, got, tc.same)
		}
	}
}

func TestLocalBoundAndEviction(t *testing.T) {
	t.Parallel()
	lim := Limit{Rate: 1, Burst: 5} // a drained bucket refills in 5 s
	ns := Namespace("evict")
	key := func(i int) Key {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(i))
		return AddrKey(ns, netip.AddrFrom4(b))
	}
	drain := func(l *Local, k Key) {
		for l.Allow(k, lim).Allowed {
		}
	}
	count := func(l *Local, k Key) int {
		n := 0
		for l.Allow(k, lim).Allowed {
			n++
		}
		return n
	}

	t.Run("idle buckets go first", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		l := NewLocal(16, clk.Now) // one shard of 16
		victim := key(0)
		drain(l, victim)
		for i := 1; i < 16; i++ {
			l.Allow(key(i), lim)
		}
		clk.Advance(2 * time.Second) // the 15 others are full again, victim is not
		for i := 100; i < 115; i++ {
			l.Allow(key(i), lim)
		}
		if l.Len() != 16 {
			t.Fatalf("len %d, want 16", l.Len())
		}
		// The drained victim was kept: full buckets were evicted instead.
		if n := count(l, victim); n != 2 {
			t.Fatalf("victim got %d requests after 2 s, want 2 (its own refill)", n)
		}
	})

	t.Run("evicted owner gets no new burst", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		l := NewLocal(16, clk.Now)
		owner := key(0)
		drain(l, owner)
		// A flood of active keys pushes the drained owner out.
		for i := 1; i <= 40; i++ {
			l.Allow(key(i), lim)
		}
		if l.Len() != 16 {
			t.Fatalf("len %d, want 16", l.Len())
		}
		clk.Advance(100 * time.Millisecond)
		if n := count(l, owner); n > 1 {
			t.Fatalf("evicted owner got %d requests back, want at most 1 (no fresh burst of 5)", n)
		}
		// A newcomer during the flood still gets its first request.
		if !l.Allow(key(1000), lim).Allowed {
			t.Fatal("newcomer refused its first request")
		}
		// Once the evicted bucket would have refilled, newcomers start full.
		clk.Advance(10 * time.Second)
		if n := count(l, key(2000)); n != 5 {
			t.Fatalf("newcomer after the floor expired got %d, want the full burst 5", n)
		}
	})
}

func TestLocalConcurrent(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := NewLocal(4096, clk.Now)
	lim := Limit{Rate: 1, Burst: 100}
	ns := Namespace("conc")
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := BytesKey(ns, []byte{byte(i % 50)})
				if l.Allow(k, lim).Allowed {
					allowed.Add(1)
				}
				if i%100 == g {
					l.Allow(AddrKey(ns, netip.AddrFrom4([4]byte{10, byte(g), byte(i >> 8), byte(i)})), lim)
				}
			}
		}()
	}
	wg.Wait()
	// 50 shared keys, burst 100 each, no time passing.
	if got := allowed.Load(); got != 50*100 {
		t.Fatalf("allowed %d, want %d", got, 50*100)
	}
}

func TestLocalZeroAlloc(t *testing.T) {
	clk := newClock()
	l := NewLocal(1024, clk.Now)
	lim := Limit{Rate: 1e6, Burst: 1e6}
	k := AddrKey(Namespace("alloc"), netip.MustParseAddr("198.51.100.1"))
	u := BytesKey(Namespace("alloc-u"), []byte("user-1"))
	l.Allow(k, lim)
	l.Allow(u, lim)
	if n := testing.AllocsPerRun(1000, func() {
		l.Allow(k, lim)
		l.Allow(BytesKey(Namespace("alloc-u"), []byte("user-1")), lim)
	}); n != 0 {
		t.Fatalf("%v allocations per decision, want 0", n)
	}
}

// TestLocalMemory sends a million distinct addresses through a table bounded
// at 65536 keys: the table stays at its bound and its heap with it. With
// -short or -race it sends 150000 (still more than twice the bound).
func TestLocalMemory(t *testing.T) {
	n := 1_000_000
	if testing.Short() || raceEnabled {
		n = 150_000
	}
	const maxKeys = 1 << 16
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	clk := newClock()
	l := NewLocal(maxKeys, clk.Now)
	lim := Limit{Rate: 2, Burst: 4}
	ns := Namespace("mem")
	peak := 0
	for i := range n {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(i)+1<<24)
		l.Allow(AddrKey(ns, netip.AddrFrom4(b)), lim)
		if i%1000 == 0 {
			clk.Advance(time.Millisecond) // 1000 new addresses per ms: a flood
			peak = max(peak, l.Len())
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d distinct addresses: %d keys held (bound %d), heap +%.1f MiB (%.0f B/key)",
		n, l.Len(), maxKeys, float64(heap)/(1<<20), float64(heap)/float64(l.Len()))
	if l.Len() != maxKeys || peak > maxKeys {
		t.Fatalf("keys held %d (peak %d), want %d", l.Len(), peak, maxKeys)
	}
	if heap > 200*maxKeys {
		t.Fatalf("heap grew by %d bytes for %d keys", heap, maxKeys)
	}
	runtime.KeepAlive(l)
}

func BenchmarkLocalDecision(b *testing.B) {
	l := NewLocal(DefaultMaxKeys, nil)
	lim := Limit{Rate: 1e9, Burst: 1 << 30}
	ns := Namespace("bench")
	keys := make([]Key, 1024)
	for i := range keys {
		keys[i] = AddrKey(ns, netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.Allow(keys[i&1023], lim)
		i++
	}
}

func BenchmarkLocalDecisionParallel(b *testing.B) {
	l := NewLocal(DefaultMaxKeys, nil)
	lim := Limit{Rate: 1e9, Burst: 1 << 30}
	ns := Namespace("bench")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.Allow(AddrKey(ns, netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})), lim)
			i++
		}
	})
}

// TestLocalIndexInvariants churns a small table through random keys, times
// and limits and checks after every decision that each held bucket is
// reachable through the index, the index holds nothing else, and the LRU
// list links every bucket once.
func TestLocalIndexInvariants(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := NewLocal(64, clk.Now)
	rng := rand.New(rand.NewPCG(1, 2))
	limits := []Limit{{Rate: 1, Burst: 3}, {Rate: 50, Burst: 1}}
	for step := range 20000 {
		k := BytesKey(Namespace("inv"), []byte{byte(rng.IntN(200))})
		l.Allow(k, limits[rng.IntN(2)])
		clk.Advance(time.Duration(rng.IntN(30)) * time.Millisecond)
		if step%97 != 0 {
			continue
		}
		total := 0
		for si := range l.shards {
			s := &l.shards[si]
			used := 0
			for _, e := range s.slots {
				if e >= 0 {
					used++
				}
			}
			if used != len(s.ents) {
				t.Fatalf("step %d shard %d: %d index slots used for %d buckets", step, si, used, len(s.ents))
			}
			for i := range s.ents {
				if _, got := s.find(&s.ents[i].key, s.ents[i].key.hash(l.seed)); got != int32(i) {
					t.Fatalf("step %d shard %d: bucket %d found at %d", step, si, i, got)
				}
			}
			n := 0
			for j := s.head; j >= 0; j = s.ents[j].next {
				n++
				if n > len(s.ents) {
					t.Fatalf("step %d shard %d: LRU list loops", step, si)
				}
			}
			if n != len(s.ents) {
				t.Fatalf("step %d shard %d: LRU list has %d of %d buckets", step, si, n, len(s.ents))
			}
			total += len(s.ents)
		}
		if total != l.Len() || total > 64 {
			t.Fatalf("step %d: %d buckets, Len %d, bound 64", step, total, l.Len())
		}
	}
}
