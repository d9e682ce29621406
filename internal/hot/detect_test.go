package hot

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"edge/internal/config"
)

// clock is an injected clock advanced by the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 12, 12, 0, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func hotCfg(perSecond float64, top int) *config.Hot {
	return &config.Hot{Threshold: config.Rate{N: perSecond, Per: time.Second}, Top: top}
}

// step advances the clock by one bucket and ticks.
func step(c *clock, d *Detector) {
	c.Add(bucketDuration)
	d.Tick()
}

// hotNow returns every key treated as hot after the last tick.
func hotNow(d *Detector) map[memberKey]struct{} {
	d.tickMu.Lock()
	defer d.tickMu.Unlock()
	out := make(map[memberKey]struct{}, len(d.prev))
	for k := range d.prev {
		out[k] = struct{}{}
	}
	return out
}

// truth counts what the test really fed, per bucket, over the last window.
type truth struct {
	ring [buckets]map[string]int
	pos  int
}

func newTruth() *truth {
	t := &truth{}
	for i := range t.ring {
		t.ring[i] = map[string]int{}
	}
	return t
}

func (t *truth) add(key string) { t.ring[t.pos][key]++ }

// next closes the bucket (call it together with step).
func (t *truth) next() {
	t.pos = (t.pos + 1) % buckets
	clear(t.ring[t.pos])
}

func (t *truth) window(key string) int {
	n := 0
	for _, m := range t.ring {
		n += m[key]
	}
	return n
}

// TestSpikeAmongZipfBackground feeds a Zipf background of 100 000 URLs, a key
// at half the threshold all along and, from 1.5 s on, a key at 5 000/s. The
// spike must be hot within one second of its start; the slow key never; and
// every key reported hot must really have run at 80% of the threshold or more
// over the last window (rates are lower bounds, cooling is at 80%).
func TestSpikeAmongZipfBackground(t *testing.T) {
	t.Parallel()
	const (
		threshold = 500.0
		keys      = 100_000
		spikeRate = 5000
		slowRate  = threshold / 2
		start     = 12 // buckets
		steps     = 26
	)
	cases := []struct {
		name       string
		top        int
		background int // per second
	}{
		{"roomy table", 50, 50_000},
		// 64 candidate slots, ~130 background keys above the admission bar
		// and ~40 of them hot: the spike must win a slot.
		{"crowded table", 5, 200_000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			d := New(hotCfg(threshold, tc.top), nil, clk.Now)
			r := rand.New(rand.NewPCG(1, 2))
			z := rand.NewZipf(r, 1.1, 1, keys-1)
			tr := newTruth()
			spike, slow := "https://shop.example/item/viral", "https://shop.example/item/slow"
			var detected time.Duration = -1
			buf := make([]byte, 0, 64)
			evs := make([]int, 0, tc.background/buckets+spikeRate/buckets+int(slowRate)/buckets)
			for s := 0; s < steps; s++ {
				evs = evs[:0]
				for range tc.background / buckets {
					evs = append(evs, int(z.Uint64()))
				}
				if s >= start {
					for range spikeRate / buckets {
						evs = append(evs, -1)
					}
				}
				for range int(slowRate) / buckets {
					evs = append(evs, -2)
				}
				r.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
				for _, e := range evs {
					var k string
					switch e {
					case -1:
						k = spike
					case -2:
						k = slow
					default:
						buf = strconv.AppendInt(append(buf[:0], "https://shop.example/p/"...), int64(e), 10)
						k = string(buf)
					}
					d.Observe(URL, []byte(k))
					tr.add(k)
				}
				step(clk, d)
				elapsed := time.Duration(s+1-start) * bucketDuration
				hot := hotNow(d)
				for k := range hot {
					if n := tr.window(k.key); float64(n) < coolFactor*threshold {
						t.Fatalf("t=%v: %q reported hot with %d requests in the last second", elapsed, k.key, n)
					}
				}
				if _, ok := hot[memberKey{URL, slow}]; ok || d.IsHot(URL, []byte(slow)) {
					t.Fatalf("t=%v: key at half the threshold reported hot", elapsed)
				}
				if d.IsHot(URL, []byte(spike)) {
					if detected < 0 {
						detected = elapsed
					}
				} else if detected >= 0 {
					t.Fatalf("t=%v: spike cooled while still at %d/s", elapsed, spikeRate)
				}
				tr.next()
			}
			if detected < 0 || detected > time.Second {
				t.Fatalf("spike detected after %v, want within 1s", detected)
			}
			t.Logf("spike at %d/s among %d/s over %d keys: hot %v after it started; %d keys hot, %d candidates",
				spikeRate, tc.background, keys, detected, len(hotNow(d)), d.trackers[URL].candidates())
		})
	}
}

// feed observes key n times.
func feed(d *Detector, k Kind, key string, n int) {
	b := []byte(key)
	for range n {
		d.Observe(k, b)
	}
}

// TestHotAndCooling follows one key through rate changes, one bucket at a
// time: it becomes hot at the threshold, stays hot between 80% and 100% of it
// (hysteresis), cools below 80%, and a key rising only to 90% never becomes
// hot.
func TestHotAndCooling(t *testing.T) {
	t.Parallel()
	type phase struct {
		perBucket int // occurrences per 100 ms
		buckets   int
		wantHot   bool // at the end of the phase
	}
	cases := []struct {
		name   string
		phases []phase
	}{
		{"rises to 90% of the threshold", []phase{{45, 30, false}}},
		// The one-second rate reaches the threshold after 10 buckets; the
		// key enters the candidates (exact counting) during the third.
		{"at the threshold: hot 0.3s after its rate reaches it", []phase{{50, 13, true}}},
		{"ten times the threshold: hot within 0.2s", []phase{{500, 2, true}}},
		{"twice the threshold: hot within 0.6s", []phase{{100, 6, true}}},
		{"hysteresis keeps it hot at 90%", []phase{{100, 10, true}, {45, 20, true}}},
		{"cools below 80%", []phase{{100, 10, true}, {35, 11, false}}},
		{"stops", []phase{{500, 10, true}, {0, 11, false}}},
		{"comes back", []phase{{500, 10, true}, {0, 30, false}, {500, 3, true}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			d := New(hotCfg(500, 50), nil, clk.Now)
			var fired []string
			d.OnHot(func(k Kind, key string) { fired = append(fired, k.String()+" "+key) })
			for i, p := range tc.phases {
				for range p.buckets {
					feed(d, Item, "42", p.perBucket)
					step(clk, d)
				}
				if got := d.IsHot(Item, []byte("42")); got != p.wantHot {
					t.Fatalf("phase %d: hot = %v, want %v (top %+v)", i, got, p.wantHot, d.Top())
				}
				if d.IsHot(URL, []byte("42")) {
					t.Fatalf("phase %d: kinds are separate, the URL 42 was never seen", i)
				}
			}
			wantFired := 0
			was := false
			for _, p := range tc.phases {
				if p.wantHot && !was {
					wantFired++
				}
				was = p.wantHot
			}
			if len(fired) != wantFired {
				t.Fatalf("OnHot called %d times (%v), want %d", len(fired), fired, wantFired)
			}
		})
	}
}

// TestCoolingTime: a key at 5 000/s that stops cools within one second.
func TestCoolingTime(t *testing.T) {
	t.Parallel()
	clk := newClock()
	d := New(hotCfg(500, 50), nil, clk.Now)
	for range 20 {
		feed(d, URL, "/item/1", 500)
		step(clk, d)
	}
	if !d.IsHot(URL, []byte("/item/1")) {
		t.Fatal("not hot at 10× the threshold")
	}
	n := 0
	for d.IsHot(URL, []byte("/item/1")) {
		step(clk, d)
		if n++; n > 20 {
			t.Fatal("still hot 2s after it stopped")
		}
	}
	if n > buckets {
		t.Fatalf("cooled after %d buckets, want within %d", n, buckets)
	}
	t.Logf("cooled %v after the requests stopped", time.Duration(n)*bucketDuration)
	if len(d.Top()) != 0 {
		t.Fatalf("Top after cooling: %+v", d.Top())
	}
}

// TestTop checks the list behind GET /hot: hottest first, at most top,
// rates measured and Since set.
func TestTop(t *testing.T) {
	t.Parallel()
	clk := newClock()
	d := New(hotCfg(100, 3), nil, clk.Now)
	for range 2 * buckets {
		for i := range 5 {
			feed(d, URL, "/k/"+strconv.Itoa(i), 20*(i+1)) // 200/s ... 1000/s
		}
		step(clk, d)
	}
	top := d.Top()
	want := []string{"/k/4", "/k/3", "/k/2"}
	if len(top) != len(want) {
		t.Fatalf("Top = %+v, want %v", top, want)
	}
	for i, e := range top {
		if e.Key != want[i] || e.Kind != "url" || e.Source != SourceLocal || e.Since.IsZero() {
			t.Fatalf("Top[%d] = %+v, want key %s", i, e, want[i])
		}
	}
	if top[0].Rate != 1000 {
		t.Fatalf("rate of /k/4 = %v, want 1000", top[0].Rate)
	}
	if got := len(hotNow(d)); got != 5 {
		t.Fatalf("%d keys hot, want all 5 (Top shows 3)", got)
	}
}

// TestReconfigure changes the threshold and top while keys are hot.
func TestReconfigure(t *testing.T) {
	t.Parallel()
	clk := newClock()
	d := New(hotCfg(500, 50), nil, clk.Now)
	for range buckets {
		feed(d, URL, "/a", 100) // 1000/s
		feed(d, URL, "/b", 30)  // 300/s
		step(clk, d)
	}
	if !d.IsHot(URL, []byte("/a")) || d.IsHot(URL, []byte("/b")) {
		t.Fatal("want /a hot and /b not")
	}
	d.Reconfigure(hotCfg(200, 1000)) // bigger table, lower threshold
	if got := len(d.trackers[URL].table.Load().hashes); got != slotsFor(1000) {
		t.Fatalf("table has %d slots after reconfigure, want %d", got, slotsFor(1000))
	}
	for range 2 {
		feed(d, URL, "/a", 100)
		feed(d, URL, "/b", 30)
		step(clk, d)
	}
	if !d.IsHot(URL, []byte("/a")) || !d.IsHot(URL, []byte("/b")) {
		t.Fatalf("after lowering the threshold want /a and /b hot, top %+v", d.Top())
	}
	if d.Threshold() != 200 {
		t.Fatalf("threshold %v", d.Threshold())
	}
	d.Reconfigure(nil)
	if d.Threshold() != config.DefaultHotThreshold {
		t.Fatalf("nil config: threshold %v, want the default", d.Threshold())
	}
}

// TestIgnoredInput: unknown kinds, over-long keys and a nil detector are
// harmless.
func TestIgnoredInput(t *testing.T) {
	t.Parallel()
	var nilD *Detector
	nilD.Observe(URL, []byte("x"))
	if nilD.IsHot(URL, []byte("x")) || nilD.ObserveHot(URL, []byte("x")) {
		t.Fatal("nil detector reports hot")
	}
	clk := newClock()
	d := New(hotCfg(10, 5), nil, clk.Now)
	long := make([]byte, maxKeyLen+1)
	for range buckets {
		for range 100 {
			d.Observe(Kind(7), []byte("x"))
			d.Observe(URL, long)
		}
		step(clk, d)
	}
	if d.IsHot(Kind(7), []byte("x")) || d.IsHot(URL, long) || len(d.Top()) != 0 {
		t.Fatalf("ignored input became hot: %+v", d.Top())
	}
}

// TestObserveHot: ObserveHot counts like Observe and answers like IsHot.
func TestObserveHot(t *testing.T) {
	t.Parallel()
	clk := newClock()
	d := New(hotCfg(100, 5), nil, clk.Now)
	key := []byte("/item/7")
	for i := range 3 * buckets {
		was := false
		for range 50 {
			was = d.ObserveHot(URL, key)
		}
		if was != d.IsHot(URL, key) {
			t.Fatalf("bucket %d: ObserveHot said %v, IsHot %v", i, was, d.IsHot(URL, key))
		}
		step(clk, d)
	}
	if !d.IsHot(URL, key) {
		t.Fatal("a key at 5× the threshold fed by ObserveHot is not hot")
	}
}

// TestStartLocal runs the real ticker without Redis: a loaded key becomes
// hot and OnHot runs from the ticker. Real time, bounded wait.
func TestStartLocal(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := New(hotCfg(500, 50), nil, nil)
	got := make(chan string, 4)
	d.OnHot(func(k Kind, key string) { got <- k.String() + ":" + key })
	d.Start(ctx, nil, "", nil)
	d.Start(ctx, nil, "", nil) // a second start does nothing
	go load(ctx, d, []byte("/item/9"))
	select {
	case k := <-got:
		if k != "url:/item/9" {
			t.Fatalf("OnHot(%s)", k)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("not hot within 3s")
	}
	if !d.IsHot(URL, []byte("/item/9")) {
		t.Fatal("OnHot ran but IsHot is false")
	}
}
