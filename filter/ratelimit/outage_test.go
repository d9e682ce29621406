package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"edge/filter"
	"edge/internal/config"
	"edge/internal/testredis"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"

	edgetest "edge/internal/testutil"
)

// TestRedisOutage kills Redis under two routes, one closed and one open,
// and brings it back: closed refuses with 503, open decides locally, and
// both return to Redis by themselves once it answers again.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	rdb := newRedisClient(t, srv.Addr)
	m := NewMetrics(prometheus.NewRegistry())
	var logs edgetest.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	breaker := newClock()
	local := NewLocal(100, newClock().Now) // frozen: only its burst passes
	limits := []*config.RateLimit{{Per: "ip", Rate: perSecond(1), Burst: 2}}
	stage := func(route, onError string) *Stage {
		r := NewRedis(rdb, "edge:", time.Second)
		r.now = breaker.Now
		s, err := NewStage(route, limits, local, r, onError, m, log)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	closed, open := stage("closed", "closed"), stage("open", "open")
	errorsTotal := func() float64 { return testutil.ToFloat64(m.redisErrors) }
	inRedis := func(route, ip string) bool {
		n, err := rdb.Exists(context.Background(), "edge:{rl:"+route+":ip:"+ip+"}").Result()
		return err == nil && n == 1
	}

	// Redis up: both routes decide there.
	for _, s := range []*Stage{closed, open} {
		if v, _, _ := handle(s, request{ip: "192.0.2.1"}); v != filter.Continue || !inRedis(s.route, "192.0.2.1") {
			t.Fatalf("%s: verdict %v, bucket in redis %v", s.route, v, inRedis(s.route, "192.0.2.1"))
		}
	}

	srv.Stop()

	// closed: every request gets 503 unavailable with Retry-After 1.
	for i := range 6 {
		v, ctx, st := handle(closed, request{ip: "192.0.2.1"})
		body := string(ctx.Response.Body())
		if v != filter.Rejected || ctx.Response.StatusCode() != fasthttp.StatusServiceUnavailable ||
			body != `{"error":"unavailable"}` || string(ctx.Response.Header.Peek("Retry-After")) != "1" || st.Reason != "unavailable" {
			t.Fatalf("closed, request %d: verdict %v status %d body %s", i, v, ctx.Response.StatusCode(), body)
		}
	}
	if got := testutil.ToFloat64(m.decisions.WithLabelValues("closed", "ip", "error")); got != 6 {
		t.Fatalf("closed: %v error decisions, want 6", got)
	}
	// open: the local engine decides (burst 2 on a frozen clock).
	var verdicts []filter.Verdict
	for range 3 {
		v, _, _ := handle(open, request{ip: "192.0.2.1"})
		verdicts = append(verdicts, v)
	}
	if fmt.Sprint(verdicts) != fmt.Sprint([]filter.Verdict{filter.Continue, filter.Continue, filter.Rejected}) {
		t.Fatalf("open during the outage: %v, want the local burst of 2 then a refusal", verdicts)
	}
	if got := errorsTotal(); got != 9 {
		t.Fatalf("edge_ratelimit_redis_errors_total = %v, want 9", got)
	}

	srv.Restart()

	// Each stage goes back to Redis by itself: once the circuit lets a
	// probe through and the client has reconnected. The breaker clock is
	// advanced by hand; the client's reconnection takes real time.
	for _, s := range []*Stage{closed, open} {
		deadline := time.Now().Add(10 * time.Second)
		for i := 0; ; i++ {
			breaker.Advance(breakerCooldown)
			ip := fmt.Sprintf("198.51.100.%d", i%250)
			before := errorsTotal()
			v, _, _ := handle(s, request{ip: ip})
			if v == filter.Continue && errorsTotal() == before && inRedis(s.route, ip) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: still not deciding in redis 10 s after the restart", s.route)
			}
			time.Sleep(20 * time.Millisecond) // the client redials in the background
		}
		before := errorsTotal()
		for i := range 5 {
			ip := fmt.Sprintf("203.0.113.%d", i)
			if v, _, _ := handle(s, request{ip: ip}); v != filter.Continue || !inRedis(s.route, ip) {
				t.Fatalf("%s after recovery: verdict %v, in redis %v", s.route, v, inRedis(s.route, ip))
			}
		}
		if errorsTotal() != before {
			t.Fatalf("%s: redis errors after recovery", s.route)
		}
	}

	// Failures were logged, but not one line per request.
	out := logs.String()
	if n := strings.Count(out, "redis unavailable"); n < 1 || n > 2 {
		t.Fatalf("%d log lines about redis for 9+ failures, want 1 per route:\n%s", n, out)
	}
}
