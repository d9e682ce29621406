// Package dashboard is the operators' live view of one edge node during a
// sale: GET /stats, a JSON summary (requests per second, the funnel with
// what each layer stopped, the cache, each sale's stock, hot keys, upstream
// and Redis health, the config in effect), and GET /dashboard, a
// self-contained page (embedded in the binary, no external assets) that
// draws it and refreshes every second.
//
// The numbers come from the node's Prometheus registry (one source of
// truth: /stats and /metrics agree) plus a few live facts the registry does
// not hold (Sources). A Collector samples both once per interval and keeps
// the last History samples, so rates and sparklines are computed on the
// server and every viewer sees the same numbers.
package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Options.
const (
	// DefaultInterval is the sampling period: the page refreshes as often.
	DefaultInterval = time.Second
	// DefaultHistory is the number of samples kept (two minutes at the
	// default interval).
	DefaultHistory = 120
)

// Options tune a Collector; the zero value is usable.
type Options struct {
	// Interval between samples (default DefaultInterval).
	Interval time.Duration
	// History is the number of samples kept for sparklines (default
	// DefaultHistory).
	History int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives sampling problems (default slog.Default()).
	Log *slog.Logger
}

// Collector samples the node's metrics and sources and serves the result.
// It is safe for concurrent use.
type Collector struct {
	g    prometheus.Gatherer
	src  Sources
	opt  Options
	mu   sync.Mutex // serialises Sample
	ring []*sample  // oldest first, at most opt.History
	seq  uint64
	boot string // tells this collector's ETags from a restarted node's

	latest atomic.Pointer[snapshot]
}

// snapshot is the latest Stats and its JSON, shared by every viewer.
type snapshot struct {
	stats *Stats
	json  []byte
	etag  string // "<boot>-<seq>": the page asks again with If-None-Match
}

// New returns a collector over g (normally the node's *prometheus.Registry)
// and src. It takes no sample until Sample or Run is called.
func New(g prometheus.Gatherer, src Sources, opt Options) *Collector {
	if opt.Interval <= 0 {
		opt.Interval = DefaultInterval
	}
	if opt.History <= 1 {
		opt.History = DefaultHistory
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	return &Collector{g: g, src: src, opt: opt, boot: strconv.FormatUint(rand.Uint64(), 36)}
}

// Run samples once at once and then every Interval until ctx is done.
func (c *Collector) Run(ctx context.Context) {
	t := time.NewTicker(c.opt.Interval)
	defer t.Stop()
	for {
		if err := c.Sample(); err != nil {
			c.opt.Log.Warn("dashboard: sampling failed", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sample takes one sample now and makes it the one /stats serves.
func (c *Collector) Sample() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The config source is read before the metrics: a reload's error is
	// published after its counter moves, so a sample that shows the error
	// also shows the count. Sources still win over metric fallbacks.
	s := &sample{at: c.opt.Now()}
	var cfgVersion uint64
	var cfgLoadedAt time.Time
	var cfgError string
	if f := c.src.Config; f != nil {
		cfgVersion, cfgLoadedAt, cfgError = f()
	}
	fams, err := gather(c.g)
	if err != nil {
		return err
	}
	s.fromMetrics(fams)
	c.fromSources(s)
	if c.src.Config != nil {
		s.cfgVersion, s.cfgLoadedAt, s.cfgError = cfgVersion, cfgLoadedAt, cfgError
	}
	if len(c.ring) == c.opt.History {
		copy(c.ring, c.ring[1:])
		c.ring = c.ring[:len(c.ring)-1]
	}
	c.ring = append(c.ring, s)
	c.seq++
	st := build(c.ring, c.seq, c.opt.Interval)
	body, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("dashboard: encode stats: %w", err)
	}
	etag := `"` + c.boot + "-" + strconv.FormatUint(c.seq, 10) + `"`
	c.latest.Store(&snapshot{stats: st, json: append(body, '\n'), etag: etag})
	return nil
}

// fromSources fills the parts of s the registry does not hold.
func (c *Collector) fromSources(s *sample) {
	if f := c.src.Upstreams; f != nil {
		s.upstreamStatus = f()
	}
	if f := c.src.Sales; f != nil {
		s.sales = f()
	}
	if f := c.src.Hot; f != nil {
		s.hot = f()
		if s.hot == nil {
			s.hot = []HotKey{}
		}
	}
	if f := c.src.Redis; f != nil {
		s.redisConfigured, s.redisUp = f()
		s.redisUp = s.redisUp && s.redisConfigured
	}
}

// Stats returns the latest sample's stats, taking a first sample if none
// was taken yet (nil if that fails). The result must not be modified.
func (c *Collector) Stats() *Stats {
	if sn := c.snapshot(); sn != nil {
		return sn.stats
	}
	return nil
}

func (c *Collector) snapshot() *snapshot {
	if sn := c.latest.Load(); sn != nil {
		return sn
	}
	if err := c.Sample(); err != nil {
		c.opt.Log.Warn("dashboard: sampling failed", slog.Any("err", err))
	}
	return c.latest.Load()
}
