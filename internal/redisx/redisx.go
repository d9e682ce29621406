// Package redisx builds the one Redis client edge shares between its stages
// (rate limits, stock, quiz replay, purges) from the typed configuration, and
// watches whether that Redis answers.
//
// The client is tuned for a gateway rather than for a batch job: every call
// is bounded by the configured timeout, dialing is tried once per call (the
// callers have their own fallbacks and circuit breakers) and a failed command
// is retried at most once, so a dead Redis costs a request one timeout, not
// the library's default of several seconds.
package redisx

import (
	"time"

	"edge/internal/config"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// DefaultTimeout bounds every Redis call when config.Redis.Timeout is zero.
const DefaultTimeout = 200 * time.Millisecond

// New returns a client for cfg: one address gives a single-node client, several
// a Redis Cluster client (the addresses are seeds; the cluster's topology is
// discovered from them). cfg.Timeout (default 200ms) bounds reading, writing,
// waiting for a pooled connection and each dial attempt. cfg.DB applies to a
// single node only. New does not contact Redis; the first command does.
//
// New returns nil when cfg is nil or names no address: the caller then keeps
// its state in memory.
func New(cfg *config.Redis) redis.UniversalClient {
	if cfg == nil || len(cfg.Addrs) == 0 {
		return nil
	}
	timeout := Timeout(cfg)
	// One address gives a single-node client, several a cluster client; DB
	// is ignored by the cluster client.
	return redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 append([]string(nil), cfg.Addrs...),
		Username:              cfg.Username,
		Password:              cfg.Password,
		DB:                    cfg.DB,
		DialTimeout:           timeout,
		DialerRetries:         1,
		ReadTimeout:           timeout,
		WriteTimeout:          timeout,
		PoolTimeout:           timeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            1,
		MinRetryBackoff:       time.Millisecond,
		MaxRetryBackoff:       timeout / 4,
		DisableIdentity:       true,
		// Maintenance push notifications need RESP3 and a server that knows
		// them; edge gains nothing from them and must not depend on a server
		// feature.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

// Timeout returns the per-call timeout New applies for cfg (cfg.Timeout, or
// DefaultTimeout when unset). Callers use it for their own context deadlines,
// since a fasthttp request context is never cancelled.
func Timeout(cfg *config.Redis) time.Duration {
	if cfg == nil || cfg.Timeout.D() <= 0 {
		return DefaultTimeout
	}
	return cfg.Timeout.D()
}
