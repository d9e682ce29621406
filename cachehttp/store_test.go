package cachehttp

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"
)

// mkEntry makes a stored-ready entry fresh for an hour from now.
func mkEntry(key string, body int, now time.Time) *Entry {
	var h fasthttp.ResponseHeader
	h.SetContentType("text/plain")
	h.Set("Cache-Control", "max-age=3600")
	e := packEntry(&h, nil, key, make([]byte, body), false)
	e.status = 200
	e.setTimes(freshness{lifetime: time.Hour}, now)
	e.computeSize()
	return e
}

// checkAccounting sums what the shards hold and compares with the counters.
func checkAccounting(t *testing.T, s *store) {
	t.Helper()
	var bytes, hot, objects, entries int64
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, o := range sh.main.Values() {
			bytes += o.size
			objects++
			entries += int64(len(o.variants))
		}
		for _, o := range sh.hot.Values() {
			bytes += o.size
			hot += o.size
			objects++
			entries += int64(len(o.variants))
		}
		sh.mu.RUnlock()
	}
	if bytes != s.bytes.Load() || hot != s.hotBytes.Load() || objects != s.objects.Load() || entries != s.entries.Load() {
		t.Fatalf("counters bytes=%d hot=%d objects=%d entries=%d; shards hold %d %d %d %d",
			s.bytes.Load(), s.hotBytes.Load(), s.objects.Load(), s.entries.Load(), bytes, hot, objects, entries)
	}
	if bytes > s.limit.Load() || hot > s.hotLimit.Load() {
		t.Fatalf("bytes %d (limit %d), hot %d (limit %d)", bytes, s.limit.Load(), hot, s.hotLimit.Load())
	}
}

func TestStoreByteBound(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	s := newStore(8, limit, limit/8, 1<<20)
	now := time.Now()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				key := fmt.Sprintf("http://h/w%d/%d", w, i)
				e := mkEntry(key, 200+i%1500, now)
				if !s.addVariant(varySpec{}, e, now.UnixNano()) {
					t.Errorf("entry %s refused", key)
					return
				}
				if i%7 == 0 {
					s.get([]byte(key), now.UnixNano())
				}
			}
		})
	}
	wg.Wait()
	checkAccounting(t, s)
	if s.evictions.Load() == 0 || s.bytes.Load() < limit/2 {
		t.Fatalf("evictions %d, bytes %d: expected a full store", s.evictions.Load(), s.bytes.Load())
	}
	// Shrinking evicts at once.
	s.setLimits(limit/4, limit/16, 1<<20)
	checkAccounting(t, s)
	// An entry larger than the store is refused.
	if s.addVariant(varySpec{}, mkEntry("http://h/huge", limit, now), now.UnixNano()) {
		t.Fatal("entry larger than the store accepted")
	}
}

func TestHotSegmentSurvivesColdScan(t *testing.T) {
	t.Parallel()
	const limit = 512 << 10
	s := newStore(4, limit, limit/4, 1<<20)
	now := time.Now()
	ns := now.UnixNano()
	hot := make([]string, 20)
	for i := range hot {
		hot[i] = fmt.Sprintf("http://h/hot/%d", i)
		s.addVariant(varySpec{}, mkEntry(hot[i], 2000, now), ns)
	}
	cold := make([]string, 20)
	for i := range cold {
		cold[i] = fmt.Sprintf("http://h/warm/%d", i)
		s.addVariant(varySpec{}, mkEntry(cold[i], 2000, now), ns)
	}
	// Half the hot set earns promotion by hits, half by Promote (hot-key
	// detection).
	for i, k := range hot {
		if i%2 == 0 {
			for range promoteHits {
				s.get([]byte(k), ns)
			}
		} else if !s.promote(k) {
			t.Fatalf("promote %s failed", k)
		}
	}
	if got := s.hotObjects.Load(); got != int64(len(hot)) {
		t.Fatalf("%d hot objects, want %d", got, len(hot))
	}
	// A scan of cold URLs: ten times the store.
	for i := range 2500 {
		s.addVariant(varySpec{}, mkEntry(fmt.Sprintf("http://h/scan/%d", i), 2000, now), ns)
	}
	for _, k := range hot {
		if s.get([]byte(k), ns) == nil {
			t.Fatalf("hot %s evicted by a cold scan", k)
		}
	}
	for _, k := range cold {
		if s.get([]byte(k), ns) != nil {
			t.Fatalf("unpromoted %s survived the scan", k)
		}
	}
	checkAccounting(t, s)
	// A smaller protected segment demotes its least recently used objects.
	s.setLimits(limit, 10_000, 1<<20)
	checkAccounting(t, s)
	if s.hotObjects.Load() >= int64(len(hot)) || s.demoted.Load() == 0 {
		t.Fatalf("hot objects %d after shrinking the segment", s.hotObjects.Load())
	}
}

func TestStoreExpiry(t *testing.T) {
	t.Parallel()
	s := newStore(2, 1<<20, 1<<17, 1<<20)
	now := time.Now()
	e := mkEntry("http://h/e", 10, now)
	s.addVariant(varySpec{}, e, now.UnixNano())
	if s.get([]byte("http://h/e"), now.Add(30*time.Minute).UnixNano()) == nil {
		t.Fatal("fresh entry missing")
	}
	if s.get([]byte("http://h/e"), now.Add(2*time.Hour).UnixNano()) != nil {
		t.Fatal("expired entry returned")
	}
	if s.objects.Load() != 0 || s.bytes.Load() != 0 {
		t.Fatalf("expired entry still charged: %d objects, %d bytes", s.objects.Load(), s.bytes.Load())
	}
}

func TestVariantsBounded(t *testing.T) {
	t.Parallel()
	s := newStore(1, 1<<20, 0, 1<<20)
	now := time.Now()
	spec := varySpec{names: [][]byte{[]byte("User-Agent")}}
	for i := range maxVariants + 5 {
		var h fasthttp.ResponseHeader
		e := packEntry(&h, fmt.Appendf(nil, "agent-%d\x00", i), "http://h/ua", make([]byte, 10), false)
		e.status = 200
		e.setTimes(freshness{lifetime: time.Hour}, now)
		e.computeSize()
		s.addVariant(spec, e, now.UnixNano())
	}
	o := s.get([]byte("http://h/ua"), now.UnixNano())
	if len(o.variants) != maxVariants || o.match([]byte("agent-0\x00")) != nil || o.match([]byte(fmt.Sprintf("agent-%d\x00", maxVariants+4))) == nil {
		t.Fatalf("%d variants kept; the oldest should go first", len(o.variants))
	}
	checkAccounting(t, s)
}

func TestMaxEntrySize(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, config.Cache{Size: 1 << 20, MaxEntrySize: 1000}, &config.RouteCache{TTL: dur(time.Minute)},
		func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(strings.Repeat("x", len(ctx.Path())*100)) })
	if r := e.get(t, "/small"); xcache(r) != "MISS" {
		t.Fatal(xcache(r))
	}
	if r := e.get(t, "/small"); xcache(r) != "HIT" {
		t.Fatalf("small: %q", xcache(r))
	}
	_ = e.get(t, "/this-one-is-large")
	if r := e.get(t, "/this-one-is-large"); xcache(r) != "PASS" || len(r.Body()) != 1800 {
		t.Fatalf("large: %q %d bytes", xcache(r), len(r.Body()))
	}
}

func TestCacheResizeAndStats(t *testing.T) {
	t.Parallel()
	c := New(config.Cache{Size: 1 << 20, HotSize: 1 << 18}, nil)
	now := time.Now()
	for i := range 100 {
		c.store.addVariant(varySpec{}, mkEntry(fmt.Sprintf("http://h/%d", i), 1000, now), now.UnixNano())
	}
	if !c.Promote("http://h/1") || c.Promote("http://h/missing") {
		t.Fatal("Promote")
	}
	st := c.Stats()
	if st.Entries != 100 || st.URLs != 100 || st.HotURLs != 1 || st.Capacity != 1<<20 || st.HotCapacity != 1<<18 {
		t.Fatalf("stats %+v", st)
	}
	c.Resize(config.Cache{Size: 20_000})
	st = c.Stats()
	if st.Bytes > 20_000 || st.Capacity != 20_000 || st.HotCapacity != 2500 || st.Evictions == 0 {
		t.Fatalf("after resize %+v", st)
	}
	checkAccounting(t, c.store)
}

func TestFrequencyPromotionWhenSegmentFull(t *testing.T) {
	t.Parallel()
	s := newStore(1, 1<<20, 20_000, 1<<20)
	now := time.Now()
	ns := now.UnixNano()
	var keys []string
	for i := range 20 {
		k := fmt.Sprintf("http://h/%d", i)
		keys = append(keys, k)
		s.addVariant(varySpec{}, mkEntry(k, 2000, now), ns)
	}
	hit := func(k string, at int64) {
		for range promoteHits {
			s.get([]byte(k), at)
		}
	}
	for _, k := range keys {
		hit(k, ns)
	}
	full := s.hotObjects.Load()
	if full == 0 || full == int64(len(keys)) {
		t.Fatalf("%d of %d promoted into a segment for a few", full, len(keys))
	}
	// Busy protected objects are not pushed out by newcomers...
	last := keys[len(keys)-1]
	hit(last, ns+int64(time.Second))
	if o := s.get([]byte(last), ns); o.hot.Load() || s.demoted.Load() != 0 {
		t.Fatal("a busy protected object was demoted for a newcomer")
	}
	// The newcomer backs off: as many hits again do not try the segment.
	hit(last, ns+hotIdle+int64(time.Second))
	if o := s.get([]byte(last), ns); o.hot.Load() || s.demoted.Load() != 0 {
		t.Fatal("a newcomer that found the segment full tried again after a few hits")
	}
	// ...idle ones are, once the newcomer has backed off for as many hits.
	for range promoteBackoff {
		s.get([]byte(last), ns+hotIdle+int64(time.Second))
	}
	if o := s.get([]byte(last), ns); !o.hot.Load() || s.demoted.Load() == 0 {
		t.Fatal("an idle protected object kept its place")
	}
	checkAccounting(t, s)
}

// TestWarmOnlyWhenNamedHot: an object protected for its hit count keeps its
// packed header lines; one the hot-key detector names (promote) gets its
// header sets materialised and charged, also when it was protected
// already, and keeps them when replaced by a fresher response.
func TestWarmOnlyWhenNamedHot(t *testing.T) {
	t.Parallel()
	s := newStore(2, 8<<20, 1<<20, 1<<20)
	now := time.Now()
	ns := now.UnixNano()
	const byHits, named = "http://h/by-hits", "http://h/named"
	for _, k := range []string{byHits, named} {
		s.addVariant(varySpec{}, mkEntry(k, 2000, now), ns)
		for range promoteHits {
			s.get([]byte(k), ns)
		}
	}
	materialised := func(k string) bool {
		o := s.get([]byte(k), ns)
		if o == nil || !o.hot.Load() {
			t.Fatalf("%s not in the protected segment", k)
		}
		return o.variants[0].hdr.Load() != nil
	}
	if materialised(byHits) || materialised(named) {
		t.Fatal("promotion by hit count materialised a header set")
	}
	before := s.bytes.Load()
	if !s.promote(named) {
		t.Fatal("promote failed")
	}
	if !materialised(named) || materialised(byHits) {
		t.Fatal("promote did not warm the named object alone")
	}
	o := s.get([]byte(named), ns)
	if grew := s.bytes.Load() - before; grew != o.variants[0].hdrCost() {
		t.Fatalf("warming charged %d bytes, want %d", grew, o.variants[0].hdrCost())
	}
	checkAccounting(t, s)
	// A fresher response replaces the variant: still warm.
	s.addVariant(varySpec{}, mkEntry(named, 2000, now), ns)
	if !materialised(named) {
		t.Fatal("a replaced warm object lost its header set")
	}
	checkAccounting(t, s)
}

// An object the detector names hot but too large for the protected segment
// stays in the main one, marked warm: the hot hits that find it not warm
// ask to promote it (Route.ServeHot), and each ask takes the shard's lock.
func TestPromoteTooLargeMarksWarm(t *testing.T) {
	t.Parallel()
	s := newStore(1, 1<<20, 4<<10, 1<<20)
	now := time.Now()
	s.addVariant(varySpec{}, mkEntry("http://h/big", 8<<10, now), now.UnixNano())
	if s.promote("http://h/big") {
		t.Fatal("an object larger than the segment was promoted")
	}
	o := s.get([]byte("http://h/big"), now.UnixNano())
	if o.hot.Load() || !o.warm.Load() {
		t.Fatalf("hot %v warm %v; want in the main segment, marked warm", o.hot.Load(), o.warm.Load())
	}
	checkAccounting(t, s)
}

// TestEvictionSecondChance: hits do not reorder the LRU, but an object read
// since it was put at the front outlives one that was not.
func TestEvictionSecondChance(t *testing.T) {
	t.Parallel()
	now := time.Now()
	probe := mkEntry("http://h/probe", 1000, now)
	s := newStore(1, 3*probe.size+probe.size/2, 0, 1<<20)
	add := func(key string, at time.Time) {
		t.Helper()
		if !s.addVariant(varySpec{}, mkEntry(key, 1000, at), at.UnixNano()) {
			t.Fatalf("%s refused", key)
		}
	}
	add("http://h/a", now)
	add("http://h/b", now)
	add("http://h/c", now)
	later := now.Add(2 * time.Duration(bumpEvery))
	if s.get([]byte("http://h/a"), later.UnixNano()) == nil {
		t.Fatal("a missing")
	}
	stored := func(key string) bool { // without reading it
		_, ok := s.shards[0].peek("http://h/" + key)
		return ok
	}
	add("http://h/d", later) // evicts b: a, the oldest, was read since
	for key, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if got := stored(key); got != want {
			t.Errorf("%s stored: %v, want %v", key, got, want)
		}
	}
	add("http://h/e", later) // evicts c: a and d were put at the front after it
	if stored("c") || !stored("a") {
		t.Error("c kept or a evicted")
	}
	checkAccounting(t, s)
}

// TestPromotionDemotesTheIdleObject: a promotion into a full protected
// segment makes room by demoting an object idle for hotIdle, and only that
// one, even when it was read once since it was promoted and a busy object
// was promoted after it.
func TestPromotionDemotesTheIdleObject(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	at := func(d time.Duration) int64 { return t0.Add(d).UnixNano() }
	probe := mkEntry("http://h/probe", 1000, t0)
	s := newStore(1, 1<<20, 2*(probe.size+objectOverhead)+100, 1<<20)
	add := func(key string, d time.Duration) {
		t.Helper()
		if !s.addVariant(varySpec{}, mkEntry("http://h/"+key, 1000, t0.Add(d)), at(d)) {
			t.Fatalf("%s refused", key)
		}
		if !s.promoteAt("http://h/"+key, at(d), false) {
			t.Fatalf("%s not promoted", key)
		}
	}
	add("a", 0)
	s.get([]byte("http://h/a"), at(time.Second)) // read once, then idle
	add("b", 99*time.Second)
	s.get([]byte("http://h/b"), at(99*time.Second+500*time.Millisecond))
	add("c", 100*time.Second) // the segment is full: a makes room
	for key, want := range map[string]bool{"a": false, "b": true, "c": true} {
		o, _ := s.shards[0].peek("http://h/" + key)
		if o == nil || o.hot.Load() != want {
			t.Errorf("%s protected: %v, want %v", key, o != nil && o.hot.Load(), want)
		}
	}
	checkAccounting(t, s)
}
