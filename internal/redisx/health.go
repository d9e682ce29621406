package redisx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// DefaultHealthInterval is how often Watch probes Redis when given no interval.
const DefaultHealthInterval = time.Second

// Health records whether Redis answers, for /readyz and the edge_redis_up
// gauge. It starts down: Redis counts as up only once a probe succeeded. A
// probe is a PING to the single node or to every master of a cluster (a
// cluster with one master down cannot serve that master's keys, so it counts
// as down). Transitions are logged once each, never per probe.
//
// Health is safe for concurrent use.
type Health struct {
	rdb     redis.UniversalClient
	log     *slog.Logger
	timeout time.Duration

	up      atomic.Bool
	mu      sync.Mutex // serialises transitions so each is logged once
	checked bool
}

// NewHealth returns a watcher for rdb. timeout bounds one probe (0 means
// DefaultTimeout). log receives the up/down transitions (nil: slog.Default).
func NewHealth(rdb redis.UniversalClient, timeout time.Duration, log *slog.Logger) *Health {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if log == nil {
		log = slog.Default()
	}
	return &Health{rdb: rdb, log: log, timeout: timeout}
}

// Up reports whether the last probe succeeded.
func (h *Health) Up() bool { return h.up.Load() }

// Check probes Redis once, records the outcome and returns the probe's error.
func (h *Health) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	err := h.ping(ctx)
	h.record(err)
	return err
}

// Watch probes Redis now and then every interval (0 means
// DefaultHealthInterval) until ctx is done. Run it in its own goroutine.
func (h *Health) Watch(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = DefaultHealthInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		_ = h.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Collector returns the gauge edge_redis_up (1 when the last probe
// succeeded, else 0) for registration on the metrics registry.
func (h *Health) Collector() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "edge_redis_up",
		Help: "Whether the shared Redis answered the last health probe (1) or not (0).",
	}, func() float64 {
		if h.Up() {
			return 1
		}
		return 0
	})
}

func (h *Health) ping(ctx context.Context) error {
	if h.rdb == nil {
		return errors.New("redis: no client configured")
	}
	if cc, ok := h.rdb.(*redis.ClusterClient); ok {
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			if err := c.Ping(ctx).Err(); err != nil {
				return fmt.Errorf("ping %s: %w", c.Options().Addr, err)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("redis cluster: %w", err)
		}
		return nil
	}
	if err := h.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

func (h *Health) record(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	was, first := h.up.Load(), !h.checked
	h.checked = true
	now := err == nil
	h.up.Store(now)
	switch {
	case now && (!was || first):
		h.log.Info("redis up")
	case !now && (was || first):
		h.log.Warn("redis down", "err", err)
	}
}
