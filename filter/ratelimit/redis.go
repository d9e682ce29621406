package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript decides one request atomically inside Redis, on Redis's own
// clock (TIME), so every edge node shares one notion of "now" per key.
//
//	KEYS[1]  the bucket, holding its TAT in microseconds
//	ARGV[1]  T, the emission interval, in microseconds
//	ARGV[2]  tau = burst·T, in microseconds
//
// It returns {allowed, remaining, retry_after_us, reset_after_us}. The key
// expires when its bucket is full again, so idle keys cost nothing. Times are
// doubles in microseconds since the epoch, exact to a quarter microsecond:
// rates up to about a million per second and key are limited exactly.
// redis.replicate_commands is needed before writing after TIME on Redis
// 3.2-4.x; Redis 5 and later replicate effects anyway and Redis 7 keeps the
// call as a no-op.
const gcraScript = `
if redis.replicate_commands then redis.replicate_commands() end
local t = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local nxt = tat + t
local diff = nxt - now
if diff > tau then
  return {0, 0, math.ceil(diff - tau), math.ceil(tat - now)}
end
redis.call('SET', KEYS[1], nxt, 'PX', math.max(1, math.ceil(diff / 1000)))
return {1, math.floor((tau - diff) / t), 0, math.ceil(diff)}
`

var script = redis.NewScript(gcraScript)

// Circuit breaker of the Redis engine: after breakerFailures consecutive
// failed decisions the engine stops calling Redis for breakerCooldown, then
// lets one decision probe; its success closes the circuit, its failure opens
// it for another cooldown. This keeps a Redis that times out (rather than
// refusing connections) from costing every request a full timeout.
const (
	breakerFailures = 3
	breakerCooldown = 500 * time.Millisecond
)

// ErrCircuitOpen is returned by Redis.Allow while the engine skips Redis
// after repeated failures.
var ErrCircuitOpen = errors.New("ratelimit: redis circuit open after repeated failures")

// Redis is the fleet-wide engine: every decision is one EVALSHA of a GCRA
// script (EVAL once after Redis lost its script cache), so all edge nodes
// share each bucket. Keys are written as prefix + the caller's key; callers
// wrap the variable part in a hash tag ({rl:...}) so a Redis Cluster keeps
// each bucket whole in one slot.
//
// Redis is safe for concurrent use; one value serves every route.
type Redis struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
	now     func() time.Time // breaker clock

	fails     atomic.Int32
	openUntil atomic.Int64 // unix ns; 0 = closed
}

// NewRedis returns a Redis engine on rdb writing keys under prefix (such as
// "edge:"). timeout bounds each decision (0 means 200ms); the caller's
// context never extends it.
func NewRedis(rdb redis.UniversalClient, prefix string, timeout time.Duration) *Redis {
	if timeout <= 0 {
		timeout = 200 * time.Millisecond
	}
	return &Redis{rdb: rdb, prefix: prefix, timeout: timeout, now: time.Now}
}

// Allow decides one request for the bucket named key (without the prefix)
// under lim. It returns ErrCircuitOpen without calling Redis while the
// circuit is open, and any Redis failure wrapped.
func (r *Redis) Allow(ctx context.Context, key []byte, lim Limit) (Decision, error) {
	if !r.admit() {
		return Decision{}, ErrCircuitOpen
	}
	var buf [256]byte
	name := string(append(append(buf[:0], r.prefix...), key...))
	t, tau := lim.interval()
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	res, err := script.Run(ctx, r.rdb, []string{name},
		micros(t), micros(tau)).Int64Slice()
	cancel()
	if err == nil && len(res) != 4 {
		err = fmt.Errorf("unexpected script reply of %d values", len(res))
	}
	if err != nil {
		r.failed()
		return Decision{}, fmt.Errorf("ratelimit: redis decision: %w", err)
	}
	r.succeeded()
	return Decision{
		Allowed:    res[0] == 1,
		Remaining:  int(res[1]),
		RetryAfter: time.Duration(res[2]) * time.Microsecond,
		ResetAfter: time.Duration(res[3]) * time.Microsecond,
	}, nil
}

// micros formats nanoseconds as decimal microseconds for the script.
func micros(ns int64) string {
	return strconv.FormatFloat(float64(ns)/1e3, 'f', -1, 64)
}

// admit reports whether this decision may call Redis. While the circuit is
// open it refuses; once the cooldown has passed it admits exactly one caller
// (the probe) and pushes the others back by another cooldown.
func (r *Redis) admit() bool {
	until := r.openUntil.Load()
	if until == 0 {
		return true
	}
	now := r.now().UnixNano()
	if now < until {
		return false
	}
	return r.openUntil.CompareAndSwap(until, now+int64(breakerCooldown))
}

func (r *Redis) failed() {
	if r.fails.Add(1) >= breakerFailures {
		r.openUntil.Store(r.now().UnixNano() + int64(breakerCooldown))
	}
}

func (r *Redis) succeeded() {
	if r.fails.Load() != 0 {
		r.fails.Store(0)
	}
	if r.openUntil.Load() != 0 {
		r.openUntil.Store(0)
	}
}
