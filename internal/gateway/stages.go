package gateway

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"edge/filter"
	"edge/filter/orders"
	"edge/filter/queue"
	"edge/filter/quiz"
	"edge/filter/ratelimit"
	"edge/filter/stock"
	"edge/internal/config"
)

// StageDeps is what funnel stages share across reloads: local limiter
// state (so a reload does not hand every shopper a fresh burst), the Redis
// client, and the stage metrics.
type StageDeps struct {
	// Now is the clock of time-dependent stages; nil means time.Now.
	Now func() time.Time
	// Local is this node's rate-limit engine.
	Local *ratelimit.Local
	// Redis is the shared-state client; nil when no redis is configured.
	Redis redis.UniversalClient
	// RateLimit are the rate-limit metrics.
	RateLimit *ratelimit.Metrics
	// Ledger holds the stock store and the sales in effect.
	Ledger *stock.Ledger
	// Quiz is the quiz service; nil when no quiz_bank is configured.
	Quiz *quiz.Service
	// Stock and Queue are the stock-gate and queue metrics.
	Stock *stock.Metrics
	Queue *queue.Metrics
	// Orders runs the async order queues (queue: {mode: async}); nil
	// refuses such routes.
	Orders *orders.Hub
}

// buildStages builds a route's funnel in its fixed order: cheapest and
// widest first. Item extraction and identity come first because later
// stages key on them.
func buildStages(rc *config.Route, t *Table, d *Deps) ([]filter.Stage, error) {
	cfg := t.cfg
	sd := &d.Stages
	now := sd.Now
	if now == nil {
		now = time.Now
	}
	var stages []filter.Stage
	if rc.Item != nil {
		stages = append(stages, filter.NewItem(rc.Item))
	}
	var gate *stock.Gate
	if rc.Stock != nil {
		onError := "closed"
		if cfg.Redis != nil {
			onError = cfg.Redis.OnError
		}
		gate = stock.NewGate(rc.Name, rc.Stock, t.sales, sd.Ledger.Store(), onError, sd.Stock, d.Log.With(slog.String("route", rc.Name)))
		// Once an item sells out nearly every order is for it: answer those
		// from this node's flag before any stage that costs I/O (rate
		// limits and quiz on Redis). The gate itself comes later.
		stages = append(stages, gate.SoldOutCheck(now))
	}
	if cfg.Identity != nil && (rc.Identity != "" || perUser(rc)) {
		id, err := filter.NewIdentity(cfg.Identity, rc.Identity)
		if err != nil {
			return nil, fmt.Errorf("identity: %w", err)
		}
		stages = append(stages, id)
	}
	if len(rc.RateLimit) > 0 {
		var remote *ratelimit.Redis
		onError := "closed"
		if cfg.Redis != nil && sd.Redis != nil {
			remote = ratelimit.NewRedis(sd.Redis, cfg.Redis.Prefix, cfg.Redis.Timeout.D())
			onError = cfg.Redis.OnError
		}
		rl, err := ratelimit.NewStage(rc.Name, rc.RateLimit, sd.Local, remote, onError, sd.RateLimit, d.Log.With(slog.String("route", rc.Name)))
		if err != nil {
			return nil, fmt.Errorf("ratelimit: %w", err)
		}
		stages = append(stages, rl)
	}
	if rc.Item != nil && len(cfg.Sales) > 0 {
		stages = append(stages, filter.NewSaleWindow(cfg.Sales, now))
	}
	if rc.Quiz != nil {
		if sd.Quiz == nil {
			return nil, fmt.Errorf("quiz: no quiz_bank configured")
		}
		stages = append(stages, quiz.NewStage(rc.Name, rc.Quiz, sd.Quiz))
	}
	if gate != nil {
		stages = append(stages, gate)
	}
	if rc.Queue != nil {
		q, err := buildQueue(rc, t, d)
		if err != nil {
			return nil, fmt.Errorf("queue: %w", err)
		}
		stages = append(stages, q)
	}
	return stages, nil
}

// perUser reports whether a route limits per shopper, which needs identity.
func perUser(rc *config.Route) bool {
	for _, l := range rc.RateLimit {
		if l.Per == "user" {
			return true
		}
	}
	return false
}
