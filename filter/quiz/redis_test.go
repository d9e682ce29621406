package quiz

import (
	"sync"
	"testing"
	"time"

	"edge/filter"
	"edge/internal/config"
	"edge/internal/redisx"
	"edge/internal/testredis"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
)

func redisClient(t *testing.T, addrs ...string) redis.UniversalClient {
	t.Helper()
	rdb := redisx.New(&config.Redis{Addrs: addrs, Timeout: config.Duration(time.Second)})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// twoNodes returns two services sharing rdb, with different seeds, both
// bootstrapped (the first one's bank is the fleet's).
func twoNodes(t *testing.T, clk *clock, rdb redis.UniversalClient) (a, b *Service) {
	t.Helper()
	a = newService(t, clk, rdb, false)
	b = newService(t, clk, rdb, false)
	b.seed = func() [32]byte { return [32]byte{0xbb} }
	ctx := t.Context()
	a.bootstrap(ctx)
	b.bootstrap(ctx)
	if a.Bank() == nil || b.Bank() == nil || a.Bank().ID() != b.Bank().ID() {
		t.Fatalf("nodes disagree on the bank: %v / %v", a.Bank(), b.Bank())
	}
	if got := testutil.ToFloat64(b.m.updates.WithLabelValues(sourceShared)); got != 1 {
		t.Fatalf("second node: %v shared banks loaded, want 1", got)
	}
	if got := testutil.ToFloat64(b.m.updates.WithLabelValues(sourceGenerated)); got != 0 {
		t.Fatalf("second node generated %v banks, want 0", got)
	}
	return a, b
}

func TestRedisReplayAcrossNodes(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	clk := newClock()
	a, b := twoNodes(t, clk, redisClient(t, srv.Addr))
	sa, sb := NewStage("order", quizCfg, a), NewStage("order", quizCfg, b)

	is := issueFor(t, a, "u1", "42")
	right := answerOf(t, a, is.Token)
	clk.Add(2 * time.Second)
	if got := run(t, sb, order{user: "u1", item: "42", token: is.Token, answer: right}); got.verdict != filter.Continue {
		t.Fatalf("token of node a refused on node b: %s", got.body)
	}
	for _, st := range []*Stage{sa, sb} {
		if got := run(t, st, order{user: "u1", item: "42", token: is.Token, answer: right}); got.reason != "quiz_replayed" {
			t.Fatalf("replay: %d %s", got.status, got.body)
		}
	}

	// Failed attempts count across nodes.
	is2 := issueFor(t, b, "u2", "42")
	clk.Add(2 * time.Second)
	wrong := wrongAnswer(t, b, is2.Token)
	for i, st := range []*Stage{sa, sb, sa} {
		if got := run(t, st, order{user: "u2", item: "42", token: is2.Token, answer: wrong}); got.reason != "quiz_invalid" {
			t.Fatalf("wrong answer %d: %s", i, got.body)
		}
	}
	if got := run(t, sb, order{user: "u2", item: "42", token: is2.Token, answer: answerOf(t, b, is2.Token)}); got.reason != "quiz_attempts" {
		t.Fatalf("after 3 failures on two nodes: %s", got.body)
	}
}

func TestRedisBankUpdates(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	clk := newClock()
	rdb := redisClient(t, srv.Addr)
	a, b := twoNodes(t, clk, rdb)
	ctx := t.Context()
	sb := NewStage("order", quizCfg, b)
	first := a.Bank().ID()
	before := issueFor(t, a, "u1", "42")

	// An operator pushes a bank to node a: node b picks it up.
	pushed, err := Generate(ctx, 3, [32]byte{0x42}, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	data, _ := pushed.Export()
	_, put := a.AdminBank()
	if r := serve(put, "PUT", "/quiz/bank", nil, data); r.StatusCode() != 200 {
		t.Fatalf("PUT: %d %s", r.StatusCode(), r.Body())
	}
	b.tick(ctx, false)
	if b.Bank().ID() != pushed.ID() {
		t.Fatalf("node b did not load the pushed bank: %s", b.Bank().ID())
	}
	clk.Add(2 * time.Second)
	if got := run(t, sb, order{user: "u1", item: "42", token: before.Token, answer: answerOf(t, b, before.Token)}); got.verdict != filter.Continue {
		t.Fatalf("token issued before the push: %s", got.body)
	}

	// Scheduled regeneration: one node makes the bank for the fleet.
	cfg := bankCfg(secretA, "")
	cfg.Regenerate = config.Duration(10 * time.Minute)
	for _, s := range []*Service{a, b} {
		if err := s.Reconfigure(cfg); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(5 * time.Minute)
	a.tick(ctx, false)
	if a.Bank().ID() != pushed.ID() {
		t.Fatal("regenerated before the interval")
	}
	clk.Add(6 * time.Minute)
	a.tick(ctx, false)
	regen := a.Bank().ID()
	if regen == pushed.ID() || regen == first || a.Bank().Len() != 12 {
		t.Fatalf("no regeneration after the interval: %s (%d questions)", regen, a.Bank().Len())
	}
	b.tick(ctx, false)
	if b.Bank().ID() != regen {
		t.Fatalf("node b has %s, want the regenerated %s", b.Bank().ID(), regen)
	}
	if got := testutil.ToFloat64(b.m.updates.WithLabelValues(sourceGenerated)); got != 0 {
		t.Fatalf("node b generated %v banks, want 0 (node a did it for the fleet)", got)
	}

	// A size change regenerates at once (through the running loop's kick).
	cfg.Size = 5
	if err := b.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.kick:
	default:
		t.Fatal("a size change should trigger a regeneration")
	}
	b.tick(ctx, true)
	a.tick(ctx, false)
	if b.Bank().Len() != 5 || a.Bank().ID() != b.Bank().ID() {
		t.Fatalf("after resize: a %s, b %s (%d questions)", a.Bank().ID(), b.Bank().ID(), b.Bank().Len())
	}
}

func TestRedisConcurrentStartsAgree(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	clk := newClock()
	rdb := redisClient(t, srv.Addr)
	nodes := make([]*Service, 3)
	for i := range nodes {
		nodes[i] = newService(t, clk, rdb, false)
		nodes[i].seed = func() [32]byte { return [32]byte{byte(i + 1)} }
	}
	var wg sync.WaitGroup
	for _, s := range nodes {
		wg.Go(func() { s.bootstrap(t.Context()) })
	}
	wg.Wait()
	id, err := sharedBankID(t.Context(), rdb, "test:", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range nodes {
		if s.Bank().ID() != id {
			t.Fatalf("node %d uses %s, the fleet %s", i, s.Bank().ID(), id)
		}
	}
}

func TestRedisRestartRepublishes(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	clk := newClock()
	rdb := redisClient(t, srv.Addr)
	a, _ := twoNodes(t, clk, rdb)
	srv.Restart() // empty
	a.tick(t.Context(), false)
	id, err := sharedBankID(t.Context(), rdb, "test:", time.Second)
	if err != nil || id != a.Bank().ID() {
		t.Fatalf("after a Redis restart the fleet's bank is %q (%v), want %s", id, err, a.Bank().ID())
	}
}

func TestRedisDownFailsClosed(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	clk := newClock()
	a, _ := twoNodes(t, clk, redisClient(t, srv.Addr))
	st := NewStage("order", quizCfg, a)
	is := issueFor(t, a, "u1", "42")
	clk.Add(2 * time.Second)
	srv.Stop()
	got := run(t, st, order{user: "u1", item: "42", token: is.Token, answer: answerOf(t, a, is.Token)})
	if got.status != 503 || got.body != `{"error":"unavailable"}` || got.retryAfter != "1" {
		t.Fatalf("Redis down: %d %s Retry-After %q", got.status, got.body, got.retryAfter)
	}
	if v := testutil.ToFloat64(a.m.checks.WithLabelValues("order", ResultError)); v != 1 {
		t.Fatalf("error checks = %v", v)
	}
	// Issuing and images need no Redis.
	issueFor(t, a, "u1", "42")
	// An operator's PUT cannot reach the fleet: refused, nothing changes.
	data, _ := mustBank(t).Export()
	_, put := a.AdminBank()
	if r := serve(put, "PUT", "/quiz/bank", nil, data); r.StatusCode() != 503 || a.Bank().ID() == mustBank(t).ID() {
		t.Fatalf("PUT with Redis down: %d, bank %s", r.StatusCode(), a.Bank().ID())
	}
}

func TestRedisCluster(t *testing.T) {
	t.Parallel()
	cl := testredis.StartCluster(t, 3)
	clk := newClock()
	rdb := redisClient(t, cl.Addrs()...)
	a, b := twoNodes(t, clk, rdb)
	sa, sb := NewStage("order", quizCfg, a), NewStage("order", quizCfg, b)
	for i, item := range []string{"1", "42", "sku:9", "x-7"} {
		user := "user-" + item
		is := issueFor(t, a, user, item)
		clk.Add(2 * time.Second)
		if got := run(t, sb, order{user: user, item: item, token: is.Token, answer: wrongAnswer(t, a, is.Token)}); got.reason != "quiz_invalid" {
			t.Fatalf("item %d: wrong answer: %d %s", i, got.status, got.body)
		}
		if got := run(t, sa, order{user: user, item: item, token: is.Token, answer: answerOf(t, a, is.Token)}); got.verdict != filter.Continue {
			t.Fatalf("item %d: %d %s", i, got.status, got.body)
		}
		if got := run(t, sb, order{user: user, item: item, token: is.Token, answer: answerOf(t, a, is.Token)}); got.reason != "quiz_replayed" {
			t.Fatalf("item %d: replay: %d %s", i, got.status, got.body)
		}
	}
}
