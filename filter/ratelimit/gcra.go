// Package ratelimit is the funnel's first gate: per-IP, per-user, per-item
// and per-route rate limits, decided on this node (Local) or fleet-wide in
// Redis (Redis), and the stage that applies a route's limits to requests.
//
// Both engines implement the same algorithm, GCRA (the generic cell rate
// algorithm, a token bucket kept as one timestamp per key): a key's state is
// its theoretical arrival time (TAT), the instant at which its bucket will be
// full again. A request at time now is allowed when
//
//	max(TAT, now) + T - now <= tau        (T = 1/rate, tau = burst·T)
//
// and then moves TAT by T. One number per key makes the local table small and
// the Redis script a single GET and SET; and because both engines agree, a
// route that falls back from Redis to local memory keeps the same behaviour.
package ratelimit

import (
	"math"
	"time"
)

// Limit is one rate: Rate events per second on average, with up to Burst
// events at once after a quiet period.
type Limit struct {
	// Rate is the sustained rate in events per second. Must be > 0.
	Rate float64
	// Burst is the bucket size: how many events may pass back to back.
	// Values below 1 count as 1.
	Burst int
}

// Decision is the outcome of one rate-limit check.
type Decision struct {
	// Allowed reports whether the request may pass.
	Allowed bool
	// Remaining is how many more requests would pass right now.
	Remaining int
	// RetryAfter is how long until the next request would pass; zero when
	// Allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the bucket is full again.
	ResetAfter time.Duration
}

// interval returns T, the emission interval, and tau, the burst tolerance,
// in nanoseconds. T is at least 1ns.
func (l Limit) interval() (t, tau int64) {
	burst := l.Burst
	if burst < 1 {
		burst = 1
	}
	if l.Rate <= 0 || math.IsNaN(l.Rate) {
		// No rate: nothing ever refills. Treat as one event per century so
		// the arithmetic below stays in range.
		t = int64(100 * 365 * 24 * time.Hour)
	} else {
		t = int64(math.Ceil(float64(time.Second) / l.Rate))
		if t < 1 {
			t = 1
		}
	}
	return t, t * int64(burst)
}

// window returns the time a full bucket takes to refill, in whole seconds
// (at least 1): the "w" of the RateLimit-Policy header.
func (l Limit) window() int64 {
	_, tau := l.interval()
	return ceilSeconds(time.Duration(tau))
}

// gcra decides one request for a key whose stored TAT is tat (0 when the key
// is unknown) at time now, all in nanoseconds. It returns the new TAT to
// store when the request is allowed.
func gcra(tat, now, t, tau int64) (int64, Decision) {
	if tat < now {
		tat = now
	}
	next := tat + t
	diff := next - now
	if diff > tau {
		return tat, Decision{
			RetryAfter: time.Duration(diff - tau),
			ResetAfter: time.Duration(tat - now),
		}
	}
	return next, Decision{
		Allowed:    true,
		Remaining:  int((tau - diff) / t),
		ResetAfter: time.Duration(diff),
	}
}

// ceilSeconds rounds d up to whole seconds, at least 1.
func ceilSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}
