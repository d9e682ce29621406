package hot

import (
	"context"
	"math/bits"
	"time"
)

// memberKey names a hot key.
type memberKey struct {
	kind Kind
	key  string
}

// member is one hot key as seen by a tick.
type member struct {
	kind   Kind
	key    string
	hash   uint64
	rate   float64
	since  time.Time
	source string
}

// run calls Tick every bucket until ctx is done.
func (d *Detector) run(ctx context.Context) {
	t := time.NewTicker(bucketDuration)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.Tick()
		}
	}
}

// Tick closes the current 100 ms bucket: the candidates' windows slide, keys
// become hot or cool down, remote keys that were not announced again expire,
// the hot sets read by IsHot and the list behind Top are rebuilt, locally hot
// keys are announced (with Redis), and the OnHot functions run for the keys
// that became hot. Start calls it every 100 ms; tests call it directly with
// an injected clock.
func (d *Detector) Tick() {
	fns, fresh := d.tick()
	for _, m := range fresh {
		for _, fn := range fns {
			fn(m.kind, m.key)
		}
	}
}

func (d *Detector) tick() ([]func(Kind, string), []member) {
	d.tickMu.Lock()
	defer d.tickMu.Unlock()
	now := d.now()
	st := d.set.Load()
	d.ticks++
	pos := int(d.ticks % buckets)
	start := d.times[pos] // the tick `buckets` ticks ago opened the window
	if start.IsZero() {
		start = d.born
	}
	d.times[pos] = now
	span := now.Sub(start)
	if span < window {
		span = window // the first second, or a clock that went back
	}
	in := tickIn{pos: pos, ticks: d.ticks, now: now, span: span.Seconds(), threshold: st.threshold}

	var local []member
	detected := 0
	for k := range d.trackers {
		t := &d.trackers[k]
		n := t.tick(in, &local)
		t.sketch.decay()
		detected += n
		if n > 0 {
			d.m.detected(Kind(k), n)
		}
	}
	all := d.mergeRemote(now, local)
	if len(all) == 0 && len(d.prev) == 0 {
		return nil, nil
	}

	cur := make(map[memberKey]struct{}, len(all))
	var fresh []member
	for _, m := range all {
		k := memberKey{m.kind, m.key}
		cur[k] = struct{}{}
		if _, ok := d.prev[k]; !ok {
			fresh = append(fresh, m)
		}
	}
	if len(fresh) > 0 || len(cur) != len(d.prev) {
		d.publishSets(all)
	}
	d.prev = cur

	sortByRate(all)
	top := make([]Entry, 0, min(len(all), st.top))
	for _, m := range all[:min(len(all), st.top)] {
		top = append(top, Entry{Kind: m.kind.String(), Key: m.key, Rate: m.rate, Since: m.since, Source: m.source})
	}
	d.snap.Store(&top)

	if len(local) > 0 && (detected > 0 || now.Sub(d.lastAn) >= announceEvery) {
		d.announce(local, st.top)
		d.lastAn = now
	}
	var fns []func(Kind, string)
	if p := d.onHot.Load(); p != nil && len(fresh) > 0 {
		fns = *p
	}
	return fns, fresh
}

// publishSets rebuilds the per-kind hash sets read by IsHot and the gauges.
func (d *Detector) publishSets(all []member) {
	var n [numKinds]int
	for _, m := range all {
		n[m.kind]++
	}
	for k := range d.hot {
		if n[k] == 0 {
			d.hot[k].Store(nil)
			d.m.setKeys(Kind(k), 0)
			continue
		}
		s := newHashSet(n[k])
		for _, m := range all {
			if m.kind == Kind(k) {
				s.add(m.hash)
			}
		}
		d.hot[k].Store(s)
		d.m.setKeys(Kind(k), n[k])
	}
}

// hashSet is an immutable set of key hashes (open addressing, linear
// probing, at most half full). The hash 0 marks an empty slot.
type hashSet struct {
	mask  uint64
	slots []uint64
}

func newHashSet(n int) *hashSet {
	size := 1 << bits.Len(uint(2*n))
	return &hashSet{mask: uint64(size - 1), slots: make([]uint64, size)}
}

func (s *hashSet) add(h uint64) {
	for i := h & s.mask; ; i = (i + 1) & s.mask {
		switch s.slots[i] {
		case h:
			return
		case 0:
			s.slots[i] = h
			return
		}
	}
}

func (s *hashSet) has(h uint64) bool {
	for i := h & s.mask; ; i = (i + 1) & s.mask {
		switch s.slots[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}
