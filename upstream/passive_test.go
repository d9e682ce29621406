package upstream

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"
)

// switchable answers 502 while bad is set, 200 otherwise.
func switchable(bad *atomic.Bool) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if bad.Load() {
			ctx.SetStatusCode(fasthttp.StatusBadGateway)
		}
	}
}

func passiveConfig(servers ...string) *config.Upstream {
	cfg := poolConfig(servers...)
	cfg.Passive = config.Passive{MaxFails: intp(2), EjectFor: config.Duration(10 * time.Second)}
	return cfg
}

func TestPassiveEjectionAndHalfOpen(t *testing.T) {
	t.Parallel()
	n := newNetwork()
	var aBad atomic.Bool
	aBad.Store(true)
	a := n.serve(t, "a:80", switchable(&aBad))
	b := n.serve(t, "b:80", func(ctx *fasthttp.RequestCtx) {})
	clk := newClock()
	p := newPool(t, n, passiveConfig("a:80", "b:80"), WithClock(clk.now))
	gauge := p.m.healthy.WithLabelValues("shop")

	for range 4 { // round robin: two reach a and eject it
		if _, _, err := get(p, "GET", "/"); err != nil {
			t.Fatal(err)
		}
	}
	if a.hits.Load() != 2 {
		t.Fatalf("a hit %d times before ejection, want 2", a.hits.Load())
	}
	st := p.Status()[0]
	if !st.Ejected || !st.Healthy || st.Fails != 2 {
		t.Fatalf("a status %+v, want ejected", st)
	}
	if p.Healthy() != 1 || value(t, gauge) != 1 || value(t, p.pm.ejectedPassive) != 1 {
		t.Fatalf("healthy=%d gauge=%v ejections=%v", p.Healthy(), value(t, gauge), value(t, p.pm.ejectedPassive))
	}
	bHits := b.hits.Load()
	for range 6 {
		get(p, "GET", "/") //nolint:errcheck
	}
	if a.hits.Load() != 2 || b.hits.Load() != bHits+6 {
		t.Fatalf("traffic reached the ejected server: a=%d b=%d", a.hits.Load(), b.hits.Load())
	}

	// Half-open after EjectFor; a still fails: one trial, ejected again.
	clk.advance(10 * time.Second)
	if p.Healthy() != 2 {
		t.Fatalf("half-open server not counted: healthy=%d", p.Healthy())
	}
	for a.hits.Load() == 2 {
		get(p, "GET", "/") //nolint:errcheck
	}
	for range 6 {
		get(p, "GET", "/") //nolint:errcheck
	}
	if a.hits.Load() != 3 || !p.Status()[0].Ejected || value(t, p.pm.ejectedPassive) != 2 {
		t.Fatalf("failed trial: a hits=%d status=%+v ejections=%v", a.hits.Load(), p.Status()[0], value(t, p.pm.ejectedPassive))
	}

	// Recovered: one good trial closes it.
	aBad.Store(false)
	clk.advance(10 * time.Second)
	for a.hits.Load() == 3 {
		get(p, "GET", "/") //nolint:errcheck
	}
	if st := p.Status()[0]; st.Ejected || st.Fails != 0 {
		t.Fatalf("a status after a good trial %+v", st)
	}
	if p.Healthy() != 2 || value(t, gauge) != 2 {
		t.Fatalf("healthy=%d gauge=%v", p.Healthy(), value(t, gauge))
	}
}

// Every server ejected: the pool keeps sending rather than failing (panic
// mode), and a recovered server closes again.
func TestPassivePanicMode(t *testing.T) {
	t.Parallel()
	n := newNetwork()
	var bad atomic.Bool
	bad.Store(true)
	a := n.serve(t, "a:80", switchable(&bad))
	b := n.serve(t, "b:80", switchable(&bad))
	p := newPool(t, n, passiveConfig("a:80", "b:80"), WithClock(newClock().now))
	for range 4 {
		get(p, "GET", "/") //nolint:errcheck
	}
	if p.Healthy() != 0 {
		t.Fatalf("healthy = %d, want every server ejected", p.Healthy())
	}
	bad.Store(false)
	status, _, err := get(p, "GET", "/")
	if err != nil || status != 200 {
		t.Fatalf("panic mode: status %d err %v", status, err)
	}
	if a.hits.Load()+b.hits.Load() != 5 || p.Healthy() != 1 {
		t.Fatalf("hits a=%d b=%d healthy=%d", a.hits.Load(), b.hits.Load(), p.Healthy())
	}
}

func TestPassiveOff(t *testing.T) {
	t.Parallel()
	n := newNetwork()
	var bad atomic.Bool
	bad.Store(true)
	n.serve(t, "a:80", switchable(&bad))
	cfg := poolConfig("a:80")
	cfg.Passive.MaxFails = intp(0)
	p := newPool(t, n, cfg)
	for range 10 {
		get(p, "GET", "/") //nolint:errcheck
	}
	if p.Status()[0].Ejected || value(t, p.pm.ejectedPassive) != 0 {
		t.Fatal("ejected although passive ejection is off")
	}
}

func TestPick(t *testing.T) {
	t.Parallel()
	const (
		normal = iota
		down
		ejected
		halfOpen
		halfOpenBusy
	)
	tests := []struct {
		name      string
		states    []int
		inflight  []int32
		tried     uint64
		want      int // index, -1 for none
		wantTrial bool
	}{
		{"least in flight", []int{normal, normal, normal}, []int32{3, 1, 2}, 0, 1, false},
		{"down skipped", []int{down, normal}, []int32{0, 5}, 0, 1, false},
		{"ejected skipped", []int{ejected, normal}, []int32{0, 5}, 0, 1, false},
		{"tried skipped", []int{normal, normal}, []int32{0, 5}, 1, 1, false},
		{"half-open takes a trial", []int{halfOpen}, []int32{0}, 0, 0, true},
		{"busy half-open skipped", []int{halfOpenBusy, normal}, []int32{0, 9}, 0, 1, false},
		{"all ejected: panic mode", []int{ejected, ejected}, []int32{4, 2}, 0, 1, false},
		{"all down: none", []int{down, down}, []int32{0, 0}, 0, -1, false},
		{"all tried: none", []int{normal, normal}, []int32{0, 0}, 3, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			p := &Pool{now: clk.now}
			now := clk.now().UnixNano()
			for i, st := range tt.states {
				s := &server{index: i}
				s.inflight.Store(tt.inflight[i])
				switch st {
				case down:
					s.down.Store(true)
				case ejected:
					s.ejectedUntil.Store(now + int64(time.Second))
				case halfOpen, halfOpenBusy:
					s.ejectedUntil.Store(now - 1)
					s.trial.Store(st == halfOpenBusy)
				}
				if st >= ejected {
					p.ejected.Add(1)
				}
				p.servers = append(p.servers, s)
			}
			s, trial := p.pick(tt.tried)
			got := -1
			if s != nil {
				got = s.index
			}
			if got != tt.want || trial != tt.wantTrial {
				t.Fatalf("pick = %d (trial %v), want %d (trial %v)", got, trial, tt.want, tt.wantTrial)
			}
		})
	}
}
