package hot

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestSketchPairedCounters: counters that share a 64-bit word count and
// decay independently, and an estimate is never below the truth.
func TestSketchPairedCounters(t *testing.T) {
	t.Parallel()
	s := newSketch()
	// Counters 0 and 1 share a word; give them very different counts.
	for range 1000 {
		s.inc(0)
	}
	s.inc(1)
	if lo, hi := uint32(s.c[0].Load()), uint32(s.c[0].Load()>>32); lo != 1000*sketchUnit || hi != sketchUnit {
		t.Fatalf("counters %d and %d, want %d and %d", lo, hi, 1000*sketchUnit, sketchUnit)
	}
	want := [2]uint32{1000 * sketchUnit, sketchUnit}
	for range 40 {
		s.decay()
		for k := range want {
			if want[k] >= 1<<sketchDecayShift {
				want[k] -= want[k] >> sketchDecayShift
			}
		}
		if lo, hi := uint32(s.c[0].Load()), uint32(s.c[0].Load()>>32); lo != want[0] || hi != want[1] {
			t.Fatalf("after decay: %d and %d, want %d and %d", lo, hi, want[0], want[1])
		}
	}

	// Estimates never undercount, whatever the keys share.
	s = newSketch()
	truth := map[uint64]uint32{}
	r := rand.New(rand.NewPCG(1, 2))
	keys := make([]uint64, 50_000)
	for i := range keys {
		keys[i] = r.Uint64()
	}
	for range 200_000 {
		h := keys[r.IntN(len(keys))]
		truth[h]++
		if est := s.add(h); est < truth[h]*sketchUnit {
			t.Fatalf("estimate %d below the true count %d", est, truth[h]*sketchUnit)
		}
	}
}

// BenchmarkSketchDecay: one bucket's decay of a sketch most of whose
// counters are in use (tens of thousands of keys a second).
func BenchmarkSketchDecay(b *testing.B) {
	s := newSketch()
	r := rand.New(rand.NewPCG(3, 4))
	for range 100_000 {
		s.add(r.Uint64())
	}
	for b.Loop() {
		s.decay()
		s.add(r.Uint64())
	}
}

// A key's two counters are distinct and in one 64-byte block (the array is
// page-aligned, being larger than 32 KiB), and keys spread evenly over the
// counters.
func TestSketchSlotsBlocked(t *testing.T) {
	t.Parallel()
	s := newSketch()
	if uintptr(unsafe.Pointer(s.c))%64 != 0 {
		t.Fatal("sketch counters not aligned to a cache line")
	}
	r := rand.New(rand.NewPCG(3, 4))
	const n = sketchCounters
	counts := make([]int, n)
	const keys = 200 * n
	for range keys {
		a, b := sketchSlots(r.Uint64())
		if a == b || a/sketchBlock != b/sketchBlock || a >= n || b >= n {
			t.Fatalf("slots %d and %d", a, b)
		}
		counts[a]++
		counts[b]++
	}
	// Each counter expects 400 hits; a binomial spread stays within ±30%.
	for i, c := range counts {
		if c < 280 || c > 520 {
			t.Fatalf("counter %d got %d of an expected 400", i, c)
		}
	}
}
