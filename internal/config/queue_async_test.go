package config

import (
	"strings"
	"testing"
	"time"
)

// The settings of an async queue: defaults, and each rule from a document
// with exactly that one mistake.
func TestAsyncQueue(t *testing.T) {
	t.Parallel()
	route := func(q string) string {
		return "routes: [{name: r, upstream: shop, item: {query: i}, queue: {mode: async" + q + "}}]"
	}
	bad := []struct {
		name, q, path, msg string
	}{
		{"max_length", ", max_length: -1", "routes[0].queue.max_length", "want a number > 0"},
		{"concurrency", ", concurrency: -2", "routes[0].queue.concurrency", "want a number > 0"},
		{"retries", ", retries: 101", "routes[0].queue.retries", "want 0 to 100, got 101"},
		{"negative retries", ", retries: -1", "routes[0].queue.retries", "want 0 to 100"},
		{"claim_idle", ", claim_idle: 100ms", "routes[0].queue.claim_idle", "want at least 1s"},
		{"long_poll_max", ", long_poll_max: 10m", "routes[0].queue.long_poll_max", "want at most 5m"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ps := problemsOf(t, base(route(tt.q)), noEnv)
			if len(ps) != 1 || ps[0].Path != tt.path || !strings.Contains(ps[0].Msg, tt.msg) {
				t.Errorf("problems = %q\nwant one at %q containing %q", ps, tt.path, tt.msg)
			}
		})
	}

	c, err := parse("t.yaml", []byte(base(route(", retries: 0, rate: 300/s"))), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	q := c.Routes[0].Queue
	if q.MaxLength != 100000 || q.Concurrency != 64 || *q.Retries != 0 || q.RetryBackoff.D() != 500*time.Millisecond ||
		q.ResultTTL.D() != time.Hour || q.ClaimIdle.D() != 30*time.Second || q.LongPollMax.D() != 20*time.Second ||
		q.Rate.PerSecond() != 300 {
		t.Fatalf("defaults: %+v", q)
	}
	// The sync queue ignores the async settings (claim_idle is not checked).
	if _, err := parse("t.yaml", []byte(base("routes: [{name: r, upstream: shop, item: {query: i}, queue: {claim_idle: 1ms}}]")), noEnv); err != nil {
		t.Fatalf("sync queue: %v", err)
	}
}
