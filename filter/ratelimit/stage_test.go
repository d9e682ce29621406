package ratelimit

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"edge/filter"
	"edge/internal/config"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
)

func perSecond(n float64) config.Rate { return config.Rate{N: n, Per: time.Second} }

// request is one request as the stage sees it.
type request struct {
	ip, user, item string
}

// handle runs s on a fresh request and returns the verdict and the context.
func handle(s *Stage, r request) (filter.Verdict, *fasthttp.RequestCtx, *filter.State) {
	ctx := new(fasthttp.RequestCtx)
	st := &filter.State{Route: s.route, ClientIP: netip.MustParseAddr(r.ip)}
	st.User = append(st.User, r.user...)
	st.Item = append(st.Item, r.item...)
	return s.Handle(ctx, st), ctx, st
}

func newLocalStage(t testing.TB, clk *clock, limits []*config.RateLimit, m *Metrics) *Stage {
	t.Helper()
	s, err := NewStage("order", limits, NewLocal(1000, clk.Now), nil, "", m, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStageRefusal(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newLocalStage(t, clk, []*config.RateLimit{{Per: "ip", Rate: perSecond(2), Burst: 3}}, nil)
	r := request{ip: "192.0.2.1"}
	for i := range 3 {
		if v, _, _ := handle(s, r); v != filter.Continue {
			t.Fatalf("request %d refused", i)
		}
	}
	clk.Advance(100 * time.Millisecond)
	v, ctx, st := handle(s, r)
	if v != filter.Rejected || ctx.Response.StatusCode() != fasthttp.StatusTooManyRequests {
		t.Fatalf("verdict %v status %d, want 429", v, ctx.Response.StatusCode())
	}
	h := &ctx.Response.Header
	checks := map[string]string{
		"Retry-After":      "1", // 400ms until a token, rounded up
		"RateLimit-Policy": `"ip";q=3;w=2`,
		"RateLimit":        `"ip";r=0;t=2`, // 1.4 s until full, rounded up
		"Cache-Control":    "no-store",
		"Content-Type":     "application/json",
	}
	for k, want := range checks {
		if got := string(h.Peek(k)); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if b := string(ctx.Response.Body()); b != `{"error":"rate_limited"}` {
		t.Errorf("body %s", b)
	}
	if st.Stage != "ratelimit" || st.Reason != "rate_limited" {
		t.Errorf("state stage %q reason %q", st.Stage, st.Reason)
	}
	clk.Advance(400 * time.Millisecond)
	if v, _, _ := handle(s, r); v != filter.Continue {
		t.Fatal("refused after Retry-After")
	}
}

func TestStageKeys(t *testing.T) {
	t.Parallel()
	one := func(per string) []*config.RateLimit {
		return []*config.RateLimit{{Per: per, Rate: perSecond(1), Burst: 1}}
	}
	tests := []struct {
		name   string
		limits []*config.RateLimit
		a, b   request
		shared bool
	}{
		{"ip same", one("ip"), request{ip: "192.0.2.1"}, request{ip: "192.0.2.1", user: "x"}, true},
		{"ip other", one("ip"), request{ip: "192.0.2.1"}, request{ip: "192.0.2.2"}, false},
		{"ip v6 same /64", one("ip"), request{ip: "2001:db8::1"}, request{ip: "2001:db8::2"}, true},
		{"ip v6 other /64", one("ip"), request{ip: "2001:db8::1"}, request{ip: "2001:db8:0:1::1"}, false},
		{"user same", one("user"), request{ip: "192.0.2.1", user: "alice"}, request{ip: "192.0.2.9", user: "alice"}, true},
		{"user other", one("user"), request{ip: "192.0.2.1", user: "alice"}, request{ip: "192.0.2.1", user: "bob"}, false},
		{"user falls back to ip", one("user"), request{ip: "192.0.2.1"}, request{ip: "192.0.2.1"}, true},
		{"user fallback per ip", one("user"), request{ip: "192.0.2.1"}, request{ip: "192.0.2.2"}, false},
		{"user vs anonymous", one("user"), request{ip: "192.0.2.1", user: "alice"}, request{ip: "192.0.2.1"}, false},
		{"item same", one("item"), request{ip: "192.0.2.1", item: "42"}, request{ip: "192.0.2.2", item: "42"}, true},
		{"item other", one("item"), request{ip: "192.0.2.1", item: "42"}, request{ip: "192.0.2.1", item: "43"}, false},
		{"route", one("route"), request{ip: "192.0.2.1", user: "a", item: "1"}, request{ip: "192.0.2.2", user: "b", item: "2"}, true},
		{"two ip limits are separate buckets",
			[]*config.RateLimit{{Per: "ip", Rate: perSecond(1000), Burst: 1000}, {Per: "ip", Rate: perSecond(1), Burst: 1}},
			request{ip: "192.0.2.1"}, request{ip: "192.0.2.1"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newLocalStage(t, newClock(), tc.limits, nil)
			if v, _, _ := handle(s, tc.a); v != filter.Continue {
				t.Fatal("first request refused")
			}
			v, _, _ := handle(s, tc.b)
			if (v == filter.Rejected) != tc.shared {
				t.Fatalf("second request verdict %v, shared bucket want %v", v, tc.shared)
			}
		})
	}
}

func TestStageOrderStopsAtFirstRefusal(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	clk := newClock()
	s := newLocalStage(t, clk, []*config.RateLimit{
		{Per: "user", Rate: perSecond(1), Burst: 1},
		{Per: "ip", Rate: perSecond(100), Burst: 100},
	}, m)
	// alice passes both; her second request is refused by the user limit
	// and must not consume the ip limit.
	handle(s, request{ip: "192.0.2.1", user: "alice"})
	v, ctx, _ := handle(s, request{ip: "192.0.2.1", user: "alice"})
	if v != filter.Rejected || !strings.HasPrefix(string(ctx.Response.Header.Peek("RateLimit-Policy")), `"user"`) {
		t.Fatalf("verdict %v policy %q, want refusal by the user limit", v, ctx.Response.Header.Peek("RateLimit-Policy"))
	}
	got := func(per, result string) float64 {
		return testutil.ToFloat64(m.decisions.WithLabelValues("order", per, result))
	}
	if got("user", "allowed") != 1 || got("user", "limited") != 1 || got("ip", "allowed") != 1 || got("ip", "limited") != 0 {
		t.Fatalf("decisions: user %v/%v ip %v/%v", got("user", "allowed"), got("user", "limited"), got("ip", "allowed"), got("ip", "limited"))
	}
	want := `
# HELP edge_ratelimit_keys Rate-limit buckets held in this node's memory.
# TYPE edge_ratelimit_keys gauge
edge_ratelimit_keys 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "edge_ratelimit_keys"); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("promlint: %v %v", problems, err)
	}
}

func TestNewStageErrors(t *testing.T) {
	t.Parallel()
	ok := []*config.RateLimit{{Per: "ip", Rate: perSecond(1)}}
	local := NewLocal(10, nil)
	remote := NewRedis(nil, "edge:", 0)
	tests := []struct {
		name    string
		limits  []*config.RateLimit
		local   *Local
		remote  *Redis
		onError string
	}{
		{"no limits", nil, local, nil, ""},
		{"nil limit", []*config.RateLimit{nil}, local, nil, ""},
		{"bad per", []*config.RateLimit{{Per: "session", Rate: perSecond(1)}}, local, nil, ""},
		{"zero rate", []*config.RateLimit{{Per: "ip"}}, local, nil, ""},
		{"bad on_error", ok, local, remote, "maybe"},
		{"no engine", ok, nil, nil, ""},
		{"open without local", ok, nil, remote, "open"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewStage("order", tc.limits, tc.local, tc.remote, tc.onError, nil, nil); err == nil {
				t.Fatal("want an error")
			}
		})
	}
	if _, err := NewStage("order", ok, nil, remote, "closed", nil, nil); err != nil {
		t.Fatalf("closed redis-only stage: %v", err)
	}
}

func TestStageDefaultBurst(t *testing.T) {
	t.Parallel()
	s := newLocalStage(t, newClock(), []*config.RateLimit{{Per: "ip", Rate: perSecond(2.5)}}, nil)
	if b := s.limits[0].lim.Burst; b != 3 {
		t.Fatalf("default burst %d, want ceil(2.5/s) = 3", b)
	}
	s = newLocalStage(t, newClock(), []*config.RateLimit{{Per: "ip", Rate: config.Rate{N: 5, Per: time.Hour}}}, nil)
	if b := s.limits[0].lim.Burst; b != 1 {
		t.Fatalf("default burst %d, want 1", b)
	}
	if p := s.limits[0].policy; p != `"ip";q=1;w=720` {
		t.Fatalf("policy %s", p)
	}
}

func TestStageRedisKeys(t *testing.T) {
	t.Parallel()
	s, err := NewStage("order", []*config.RateLimit{
		{Per: "ip", Rate: perSecond(1)}, {Per: "user", Rate: perSecond(1)},
		{Per: "item", Rate: perSecond(1)}, {Per: "route", Rate: perSecond(1)}, {Per: "ip", Rate: perSecond(9)},
	}, NewLocal(10, nil), nil, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		limit int
		r     request
		want  string
	}{
		{0, request{ip: "192.0.2.1"}, "{rl:order:ip:192.0.2.1}"},
		{0, request{ip: "::ffff:192.0.2.1"}, "{rl:order:ip:192.0.2.1}"},
		{0, request{ip: "2001:db8:1:2:3:4:5:6"}, "{rl:order:ip:2001:db8:1:2::/64}"},
		{1, request{ip: "192.0.2.1", user: "alice"}, "{rl:order:user:u:alice}"},
		{1, request{ip: "192.0.2.1"}, "{rl:order:user:ip:192.0.2.1}"},
		{2, request{ip: "192.0.2.1", item: "42"}, "{rl:order:item:42}"},
		{3, request{ip: "192.0.2.1"}, "{rl:order:route:}"},
		{4, request{ip: "192.0.2.1"}, "{rl:order:ip.2:192.0.2.1}"},
	}
	for _, tc := range tests {
		st := &filter.State{ClientIP: netip.MustParseAddr(tc.r.ip), User: []byte(tc.r.user), Item: []byte(tc.r.item)}
		if got := string(s.redisKey(nil, st, &s.limits[tc.limit])); got != tc.want {
			t.Errorf("key %q, want %q", got, tc.want)
		}
	}
}

func TestStageZeroAlloc(t *testing.T) {
	clk := newClock()
	s := newLocalStage(t, clk, []*config.RateLimit{
		{Per: "ip", Rate: perSecond(1e6), Burst: 1e6},
		{Per: "user", Rate: perSecond(1e6), Burst: 1e6},
		{Per: "item", Rate: perSecond(1e6), Burst: 1e6},
	}, nil)
	ctx := new(fasthttp.RequestCtx)
	st := &filter.State{ClientIP: netip.MustParseAddr("2001:db8::7"), User: []byte("alice"), Item: []byte("42")}
	if n := testing.AllocsPerRun(1000, func() {
		if s.Handle(ctx, st) != filter.Continue {
			t.Fatal("refused")
		}
	}); n != 0 {
		t.Fatalf("%v allocations per request, want 0", n)
	}
}

func TestStageLogIsRateLimited(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s, err := NewStage("order", []*config.RateLimit{{Per: "ip", Rate: perSecond(1)}}, NewLocal(10, nil), nil, "open", nil,
		slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		s.logFailure(ErrCircuitOpen)
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 {
		t.Fatalf("%d log lines for 1000 failures, want 1:\n%s", n, logs.String())
	}
	if s.suppressed.Load() != 999 {
		t.Fatalf("suppressed %d, want 999", s.suppressed.Load())
	}
}

func BenchmarkStageLocal(b *testing.B) {
	s := newLocalStage(b, newClock(), []*config.RateLimit{
		{Per: "ip", Rate: perSecond(1e9), Burst: 1 << 30},
		{Per: "user", Rate: perSecond(1e9), Burst: 1 << 30},
	}, nil)
	ctx := new(fasthttp.RequestCtx)
	st := &filter.State{ClientIP: netip.MustParseAddr("192.0.2.1"), User: []byte("alice")}
	b.ReportAllocs()
	for b.Loop() {
		s.Handle(ctx, st)
	}
}
