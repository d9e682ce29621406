package testutil

import (
	"testing"
	"time"
)

// pollEvery is how often WaitFor evaluates its condition.
const pollEvery = 5 * time.Millisecond

// WaitFor polls cond every 5ms until it holds, and fails the test with
// "<what>: not within <within>" once within has passed. It is meant for
// states reached through real processes or I/O (Redis, pub/sub, health
// probes, other goroutines) where no clock can be injected; logic driven
// by time itself should use an injected clock instead.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(pollEvery)
	}
}
