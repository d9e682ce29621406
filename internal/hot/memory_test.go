package hot

import (
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestMemoryBoundedWithMillionKeys feeds a million distinct URLs and checks
// that the detector does not grow: neither when each is seen once (the long
// tail never leaves the sketch) nor at a threshold so low that every key
// enters the candidates (slots are reused, evicted keys become garbage).
// Not parallel: it measures the heap.
func TestMemoryBoundedWithMillionKeys(t *testing.T) {
	const (
		perTick = 10_000 // keys per 100 ms bucket: 100 000 new URLs a second
		limit   = 1 << 20
	)
	distinct := 1_000_000
	if raceEnabled {
		distinct /= 5
	}
	cases := []struct {
		name      string
		threshold float64
		hits      int // occurrences of each key in a row
	}{
		{"each seen once", 500, 1},
		{"each a candidate", 10, 2}, // the bar is 2 occurrences
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			before := heapInUse()
			d := New(hotCfg(tc.threshold, 50), nil, clk.Now)
			built := heapInUse()
			buf := make([]byte, 0, 64)
			for i := range distinct {
				buf = strconv.AppendInt(append(buf[:0], "https://shop.example/p/"...), int64(i), 10)
				for range tc.hits {
					d.Observe(URL, buf)
				}
				if i%perTick == perTick-1 {
					step(clk, d)
				}
			}
			after := heapInUse()
			size := int64(built) - int64(before)
			growth := int64(after) - int64(built)
			cands := d.trackers[URL].candidates()
			t.Logf("detector: %d KiB on the heap (sketches %d KiB, tables %d KiB); after %d distinct keys: %+d KiB, %d candidates",
				size>>10, 2*d.trackers[URL].sketch.bytes()>>10,
				(d.trackers[URL].table.Load().bytes()+d.trackers[Item].table.Load().bytes())>>10,
				distinct, growth>>10, cands)
			if size > limit {
				t.Errorf("detector takes %d bytes, want at most %d", size, limit)
			}
			if growth > limit/4 {
				t.Errorf("heap grew by %d bytes over %d distinct keys, want at most %d", growth, distinct, limit/4)
			}
			if cands > len(d.trackers[URL].table.Load().hashes) {
				t.Errorf("%d candidates", cands)
			}
			runtime.KeepAlive(d)
		})
	}
}

// TestConcurrentUse runs Observe, IsHot, Top, Tick and Reconfigure at once
// (for the race detector) and checks the hot key is still found.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	clk := newClock()
	d := New(hotCfg(500, 10), nil, clk.Now)
	var running atomic.Int32
	var wg sync.WaitGroup
	for g := range 4 {
		running.Add(1)
		wg.Go(func() {
			defer running.Add(-1)
			buf := make([]byte, 0, 32)
			for i := range 5000 {
				d.Observe(URL, []byte("/hot"))
				buf = strconv.AppendInt(append(buf[:0], "/tail/"...), int64(g*1_000_000+i), 10)
				d.Observe(URL, buf)
				d.IsHot(URL, buf)
				d.ObserveHot(Item, []byte("9"))
			}
		})
	}
	for i := 0; i < 3 || running.Load() > 0; i++ {
		step(clk, d)
		_ = d.Top()
		if i == 1 {
			d.Reconfigure(hotCfg(500, 100))
		}
	}
	wg.Wait()
	for range 2 {
		feed(d, URL, "/hot", 1000)
		step(clk, d)
	}
	if !d.IsHot(URL, []byte("/hot")) {
		t.Fatalf("hot key not found after concurrent use; top %+v", d.Top())
	}
}
