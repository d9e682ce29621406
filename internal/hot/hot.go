// Package hot finds the hot cache keys and item ids by itself, within a
// second, in bounded memory: not every hot item is known before a sale (a
// link is shared, a page goes viral), and edge must notice and protect the
// shop on its own.
//
// # How a key becomes hot
//
// Every cache lookup key and every order's item id is fed to
// [Detector.Observe]. Two structures per [Kind] see it:
//
//   - a count-min sketch (32 768 counters, 128 KiB; a key's two share one
//     64-byte block) whose counters decay by 1/8 every bucket (100 ms), so
//     it estimates each key's recent rate with a horizon of about one
//     second. It only decides which keys deserve exact counting; the long
//     tail never leaves it, so a million distinct URLs cost nothing more
//     than the sketch itself.
//   - a small table of candidates (8-way set-associative, sized from hot.top:
//     room for max(4×top, 64) keys) that a key enters when its sketch
//     estimate passes a quarter of the threshold. Candidates are counted
//     exactly, per 100 ms bucket, over a sliding window of 10 buckets (1 s).
//     When a set is full, its coldest candidate gives way to a hotter
//     newcomer; a hot candidate only to a newcomer more than twice as hot.
//     Keys longer than 2 KiB are not tracked.
//
// Every bucket (100 ms, see [Detector.Start] and [Detector.Tick]) the
// candidates' windows slide and their rates are compared with hot.threshold:
// a key becomes hot when its rate over the last second reaches the threshold
// and stays hot until that rate falls below 80% of it (hysteresis, so a key
// hovering at the threshold does not flap). A key jumping from nothing to
// ten times the threshold is hot within 0.2 s, to twice the threshold within
// 0.6 s; a key whose one-second rate creeps up to the threshold is hot about
// 0.3 s after it gets there (the time it takes to enter the candidates).
// Candidates' rates are exact lower bounds (counting starts when a key enters
// the table), so a key below the threshold is never reported hot. A key that
// stops cools within one window.
//
// # Across nodes
//
// With Redis, every node publishes its locally hot keys on a pub/sub channel
// (once when a key becomes hot, then every 500 ms while any is hot; one
// bounded message per announcement) and treats the keys announced by others
// as hot too, until they have not been announced for two windows (2 s).
//
// # Cost
//
// Observe hashes the key once (hash/maphash with a per-process seed, so
// nobody can aim collisions at the sketch), looks it up in one cache line of
// candidate hashes and, for keys that are not candidates, adds to two
// sketch counters: tens of nanoseconds, no allocation, no lock. IsHot with
// nothing hot is one atomic load.
package hot

import (
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"edge/internal/config"
)

// Kind says what a key names: a cache key (URL) or an item id (Item). Each
// kind has its own sketch, candidates and hot set.
type Kind uint8

const (
	// URL is a cache lookup key (canonical URL).
	URL Kind = iota
	// Item is an item id taken from an order.
	Item

	numKinds
)

// String returns "url" or "item" (the metric label and JSON value).
func (k Kind) String() string {
	switch k {
	case URL:
		return "url"
	case Item:
		return "item"
	}
	return "unknown"
}

// parseKind is the inverse of Kind.String.
func parseKind(s string) (Kind, bool) {
	switch s {
	case "url":
		return URL, true
	case "item":
		return Item, true
	}
	return 0, false
}

const (
	// bucketDuration is one step of the sliding window and the tick period.
	bucketDuration = 100 * time.Millisecond
	// buckets is the number of buckets in the window.
	buckets = 10
	// window is the span over which rates are measured (1 s).
	window = buckets * bucketDuration
	// coolFactor: a hot key cools once its rate is below coolFactor×threshold.
	coolFactor = 0.8
	// admitFraction of the threshold lets a key into the candidates.
	admitFraction = 0.25
	// minCandidates is the smallest candidate capacity, whatever hot.top says.
	minCandidates = 64
	// candidatesPerTop: candidate capacity is candidatesPerTop × hot.top.
	candidatesPerTop = 4
	// retryMask: a key above the admission bar that is not a candidate (its
	// set was full of hotter keys, or the table was busy) tries again on
	// about one Observe in retryMask+1.
	retryMask = 63
)

// Entry is one hot key as shown by GET /hot.
type Entry struct {
	// Kind is "url" or "item".
	Kind string `json:"kind"`
	// Key is the cache key or item id.
	Key string `json:"key"`
	// Rate is the key's rate over the last window, per second. For remote
	// keys it is the rate announced by the node that found it hot.
	Rate float64 `json:"rate_per_second"`
	// Since is when this node started treating the key as hot.
	Since time.Time `json:"since"`
	// Source is "local" (found by this node) or "remote" (announced by
	// another node through Redis).
	Source string `json:"source"`
}

// Sources of an Entry.
const (
	SourceLocal  = "local"
	SourceRemote = "remote"
)

// settings are the reloadable parts of the configuration.
type settings struct {
	threshold float64 // per second
	top       int
}

// Detector finds hot keys. One Detector lives for the whole process (its
// counters survive config reloads); it is safe for concurrent use. Observe,
// ObserveHot and IsHot are meant for the request path: no allocation, no lock.
type Detector struct {
	seed maphash.Seed
	now  func() time.Time
	m    *Metrics
	node string // identifies this process in announcements

	set atomic.Pointer[settings]
	// bar is the sketch estimate (in sketch units) a key needs to become
	// a candidate.
	bar atomic.Uint32

	trackers [numKinds]tracker
	// hot holds, per kind, the hashes of every key treated as hot (local
	// and remote), rebuilt by Tick when it changes.
	hot [numKinds]atomic.Pointer[hashSet]
	// snap is the sorted Top() list, rebuilt by Tick.
	snap  atomic.Pointer[[]Entry]
	onHot atomic.Pointer[[]func(Kind, string)]

	tickMu sync.Mutex // serialises Tick; guards the fields below
	ticks  uint64
	times  [buckets]time.Time // when each of the last ticks ran
	born   time.Time
	prev   map[memberKey]struct{} // hot keys after the last tick
	pub    chan []byte            // announcements to publish; nil = local only
	lastAn time.Time              // last announcement

	remoteMu sync.Mutex // guards remote
	remote   map[memberKey]*remoteEntry

	running atomic.Bool
}

// New returns a detector configured by cfg (nil: threshold 500/s, top 50),
// recording into m (nil: no metrics) and reading time from now (nil:
// time.Now). Nothing runs until Start; tests may call Tick instead.
func New(cfg *config.Hot, m *Metrics, now func() time.Time) *Detector {
	if now == nil {
		now = time.Now
	}
	d := &Detector{
		seed:   maphash.MakeSeed(),
		now:    now,
		m:      m,
		node:   nodeID(),
		prev:   map[memberKey]struct{}{},
		remote: map[memberKey]*remoteEntry{},
	}
	d.born = now()
	st := toSettings(cfg)
	d.set.Store(st)
	d.bar.Store(admissionBar(st.threshold))
	for k := range d.trackers {
		d.trackers[k].init(Kind(k), st.top)
	}
	empty := []Entry{}
	d.snap.Store(&empty)
	return d
}

// Reconfigure applies a reloaded configuration (nil: defaults). A new
// threshold counts from the next tick; a new top resizes the candidate
// tables, keeping the keys they hold.
func (d *Detector) Reconfigure(cfg *config.Hot) {
	st := toSettings(cfg)
	d.tickMu.Lock()
	defer d.tickMu.Unlock()
	d.set.Store(st)
	d.bar.Store(admissionBar(st.threshold))
	for k := range d.trackers {
		d.trackers[k].resize(st.top)
	}
}

func toSettings(cfg *config.Hot) *settings {
	st := &settings{threshold: config.DefaultHotThreshold, top: config.DefaultHotTop}
	if cfg != nil {
		if r := cfg.Threshold.PerSecond(); r > 0 {
			st.threshold = r
		}
		if cfg.Top > 0 {
			st.top = cfg.Top
		}
	}
	return st
}

// Observe counts one occurrence of key. It is called for every cache lookup
// and every order's item id: it does not allocate, does not lock and does not
// keep key (a key entering the candidates is copied). Unknown kinds, keys
// longer than 2 KiB and a nil Detector are ignored.
func (d *Detector) Observe(kind Kind, key []byte) {
	if d == nil || kind >= numKinds || len(key) > maxKeyLen {
		return
	}
	d.observe(kind, fix(maphash.Bytes(d.seed, key)), key)
}

// ObserveHot is Observe followed by IsHot, hashing key once.
func (d *Detector) ObserveHot(kind Kind, key []byte) bool {
	if d == nil || kind >= numKinds || len(key) > maxKeyLen {
		return false
	}
	h := fix(maphash.Bytes(d.seed, key))
	d.observe(kind, h, key)
	s := d.hot[kind].Load()
	return s != nil && s.has(h)
}

// observe counts key, whose seeded hash h has been through fix.
func (d *Detector) observe(kind Kind, h uint64, key []byte) {
	t := &d.trackers[kind]
	if t.table.Load().inc(h) {
		return
	}
	est := t.sketch.add(h)
	bar := d.bar.Load()
	if est < bar {
		return
	}
	// First crossing of the bar in this estimate, or a sampled retry.
	if est-sketchUnit < bar || rand.Uint32()&retryMask == 0 {
		t.admit(h, key, est)
	}
}

// IsHot reports whether key is hot, locally found or announced by another
// node. With nothing hot it costs one atomic load; otherwise one hash and a
// lookup. It does not allocate and does not keep key. Keys are compared by
// their 64-bit seeded hash: another key with the same hash (odds 2^-64 per
// pair) would count as hot too.
func (d *Detector) IsHot(kind Kind, key []byte) bool {
	if d == nil || kind >= numKinds || len(key) > maxKeyLen {
		return false
	}
	s := d.hot[kind].Load()
	if s == nil {
		return false
	}
	return s.has(fix(maphash.Bytes(d.seed, key)))
}

// Top returns the hot keys (local and remote) as of the last tick, hottest
// first, at most hot.top of them. The slice is the caller's.
func (d *Detector) Top() []Entry {
	p := d.snap.Load()
	return append([]Entry(nil), (*p)...)
}

// OnHot registers fn to be called, from the ticker goroutine (never from
// Observe), once for each key that becomes hot on this node, locally found
// or announced by another node. fn must be quick and must not call Tick.
// Several functions may be registered; they run in order.
func (d *Detector) OnHot(fn func(kind Kind, key string)) {
	if fn == nil {
		return
	}
	for {
		old := d.onHot.Load()
		var fns []func(Kind, string)
		if old != nil {
			fns = append(fns, (*old)...)
		}
		fns = append(fns, fn)
		if d.onHot.CompareAndSwap(old, &fns) {
			return
		}
	}
}

// Threshold returns the configured threshold in requests per second.
func (d *Detector) Threshold() float64 { return d.set.Load().threshold }

// fix maps the hash 0, which marks an empty slot, to 1.
func fix(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// admissionBar is the sketch estimate a key at admitFraction×threshold
// reaches in steady state, and at least two occurrences.
func admissionBar(threshold float64) uint32 {
	bar := admitFraction * threshold * sketchSteady
	if bar > 1<<30 {
		bar = 1 << 30
	}
	if b := uint32(bar); b > 2*sketchUnit {
		return b
	}
	return 2 * sketchUnit
}
