package hot

import (
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"
)

// zipfKeys returns n cache-key-like URLs drawn from a Zipf law over 100 000
// distinct pages (a few very hot, a long tail).
func zipfKeys(n int) [][]byte {
	r := rand.New(rand.NewPCG(3, 4))
	z := rand.NewZipf(r, 1.1, 1, 99_999)
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = strconv.AppendUint([]byte("https://shop.example/item/"), z.Uint64(), 10)
	}
	return keys
}

// warmDetector returns a detector that has seen keys for a few buckets, so
// the hottest are candidates and hot, as in a running gateway.
func warmDetector(keys [][]byte) (*Detector, *clock) {
	clk := newClock()
	d := New(hotCfg(500, 50), NewMetrics(nil), clk.Now)
	for i := range 3 * buckets {
		for _, k := range keys[i*len(keys)/(3*buckets) : (i+1)*len(keys)/(3*buckets)] {
			d.Observe(URL, k)
		}
		step(clk, d)
	}
	return d, clk
}

const benchKeys = 1 << 16

// BenchmarkObserve is the per-request cost of detection: one Observe of a
// Zipf-distributed cache key.
func BenchmarkObserve(b *testing.B) {
	keys := zipfKeys(benchKeys)
	d, _ := warmDetector(keys)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.Observe(URL, keys[i&(benchKeys-1)])
		i++
	}
}

// BenchmarkObserveTail is Observe of keys seen once each (the long tail: the
// sketch path).
func BenchmarkObserveTail(b *testing.B) {
	keys := make([][]byte, benchKeys)
	for i := range keys {
		keys[i] = strconv.AppendInt([]byte("https://shop.example/p/"), int64(i), 10)
	}
	clk := newClock()
	d := New(hotCfg(500, 50), nil, clk.Now)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.Observe(URL, keys[i&(benchKeys-1)])
		if i++; i&(benchKeys-1) == 0 {
			step(clk, d)
		}
	}
}

// BenchmarkObserveParallel is Observe from all Ps at once (shared counters).
func BenchmarkObserveParallel(b *testing.B) {
	keys := zipfKeys(benchKeys)
	d, _ := warmDetector(keys)
	var seq atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seq.Add(1)) * 7919
		for pb.Next() {
			d.Observe(URL, keys[i&(benchKeys-1)])
			i++
		}
	})
}

// BenchmarkIsHot is the lookup made before serving: some keys hot, most not.
func BenchmarkIsHot(b *testing.B) {
	keys := zipfKeys(benchKeys)
	d, _ := warmDetector(keys)
	if d.hot[URL].Load() == nil {
		b.Fatal("setup: nothing hot")
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.IsHot(URL, keys[i&(benchKeys-1)])
		i++
	}
}

// BenchmarkIsHotNoneHot is IsHot while nothing is hot (the usual case).
func BenchmarkIsHotNoneHot(b *testing.B) {
	keys := zipfKeys(benchKeys)
	d := New(hotCfg(500, 50), nil, nil)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.IsHot(URL, keys[i&(benchKeys-1)])
		i++
	}
}

// BenchmarkTick is the work done every 100 ms with a full candidate table.
func BenchmarkTick(b *testing.B) {
	keys := zipfKeys(benchKeys)
	d, clk := warmDetector(keys)
	b.ReportAllocs()
	for b.Loop() {
		step(clk, d)
	}
}
