package cachehttp

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"
)

// Defaults of config.Cache, applied by New and Resize to zero fields.
const (
	// DefaultSize bounds stored bytes.
	DefaultSize = 256 << 20
	// DefaultShards is the number of store shards (locks).
	DefaultShards = 64
	// DefaultMaxEntrySize: larger bodies are not stored.
	DefaultMaxEntrySize = 8 << 20
)

// Cache is the whole-response cache shared by every route of a node: the
// byte-bounded store, the misses in flight, the purge bus. It outlives
// reloads (Resize applies a new config.Cache). Safe for concurrent use.
type Cache struct {
	store    *store
	filter   atomic.Pointer[ParamFilter]
	metrics  *Metrics
	flights  flights
	sets     *headerSets
	bg       sync.WaitGroup // background refreshes under way
	node     string         // this node's id on the purge bus
	bus      atomic.Pointer[busConn]
	clock    func() time.Time // nil: time.Now, or the request's start time
	onRemote func()           // test hook: a purge from the bus was applied
}

// New builds a cache from cfg (zero fields take the defaults above;
// hot_size defaults to size/8). m may be nil (metrics not exported).
func New(cfg config.Cache, m *Metrics) *Cache {
	if m == nil {
		m = NewMetrics(nil)
	}
	size, hot, maxEntry := limits(cfg)
	shards := cfg.Shards
	if shards <= 0 {
		shards = DefaultShards
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	c := &Cache{
		store:   newStore(shards, size, hot, maxEntry),
		metrics: m,
		sets:    newHeaderSets(),
		node:    hex.EncodeToString(id[:]),
	}
	c.flights.m = make(map[string]*flight)
	c.filter.Store(NewParamFilter(cfg.IgnoreParams))
	m.cache.Store(c)
	return c
}

func limits(cfg config.Cache) (size, hot, maxEntry int64) {
	size = int64(cfg.Size)
	if size <= 0 {
		size = DefaultSize
	}
	hot = int64(cfg.HotSize)
	if hot <= 0 {
		hot = size / 8
	}
	maxEntry = int64(cfg.MaxEntrySize)
	if maxEntry <= 0 {
		maxEntry = DefaultMaxEntrySize
	}
	return size, min(hot, size), maxEntry
}

// Resize applies a reloaded cache config: size, hot_size, max_entry_size
// and ignore_params take effect at once (shrinking evicts at once; keys
// stored under other ignore_params age out). The shard count stays what New
// made it.
func (c *Cache) Resize(cfg config.Cache) {
	size, hot, maxEntry := limits(cfg)
	c.filter.Store(NewParamFilter(cfg.IgnoreParams))
	c.store.setLimits(size, hot, maxEntry)
}

// Promote moves the entry stored under key (as made by AppendKey) into the
// protected segment, where a scan of cold URLs cannot evict it. Hot-key
// detection calls it; entries hit repeatedly are promoted on their own. It
// reports whether the key is stored (and fits the segment).
func (c *Cache) Promote(key string) bool { return c.store.promote(key) }

// Stats is a snapshot of the store for /stats and the dashboard.
type Stats struct {
	// Entries are stored responses (each variant counts).
	Entries int64 `json:"entries"`
	// URLs are stored keys (a URL with its variants, or a hit-for-pass mark).
	URLs int64 `json:"urls"`
	// Bytes charged to the store, and its limit.
	Bytes    int64 `json:"bytes"`
	Capacity int64 `json:"capacity_bytes"`
	// HotURLs and HotBytes are in the protected segment; HotCapacity its limit.
	HotURLs     int64 `json:"hot_urls"`
	HotBytes    int64 `json:"hot_bytes"`
	HotCapacity int64 `json:"hot_capacity_bytes"`
	// Evictions to stay within Capacity; Promotions to the protected
	// segment and Demotions back out of it; all since start.
	Evictions  uint64 `json:"evictions"`
	Promotions uint64 `json:"promotions"`
	Demotions  uint64 `json:"demotions"`
	// InFlight are origin fetches under way (misses, revalidations);
	// Waiting the requests waiting for them.
	InFlight int `json:"in_flight"`
	Waiting  int `json:"waiting"`
}

// Stats returns a snapshot of the store's counters.
func (c *Cache) Stats() Stats {
	s := c.store
	return Stats{
		Entries:     s.entries.Load(),
		URLs:        s.objects.Load(),
		Bytes:       s.bytes.Load(),
		Capacity:    s.limit.Load(),
		HotURLs:     s.hotObjects.Load(),
		HotBytes:    s.hotBytes.Load(),
		HotCapacity: s.hotLimit.Load(),
		Evictions:   s.evictions.Load(),
		Promotions:  s.promotions.Load(),
		Demotions:   s.demoted.Load(),
		InFlight:    c.flights.len(),
		Waiting:     c.flights.waiting(),
	}
}

// now is the cache's clock in unix nanos (injectable in tests).
func (c *Cache) now() int64 { return c.timeNow().UnixNano() }

func (c *Cache) timeNow() time.Time {
	if c.clock != nil {
		return c.clock()
	}
	return time.Now()
}

// requestTime is now for a request: the time fasthttp read it, which it
// took anyway, unless a clock is injected.
func (c *Cache) requestTime(ctx *fasthttp.RequestCtx) int64 {
	if c.clock == nil {
		if t := ctx.Time(); !t.IsZero() {
			return t.UnixNano()
		}
	}
	return c.now()
}
