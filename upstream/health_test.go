package upstream

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"

	"edge/internal/testutil"
)

func healthConfig20ms(servers ...string) *config.Upstream {
	cfg := poolConfig(servers...)
	cfg.HealthCheck = &config.HealthCheck{
		Path:     "/healthz",
		Interval: config.Duration(20 * time.Millisecond),
		Timeout:  config.Duration(500 * time.Millisecond),
		Fails:    2,
		Passes:   2,
	}
	return cfg
}

func healthyHandler(ctx *fasthttp.RequestCtx) {
	if string(ctx.Path()) == "/healthz" && string(ctx.Request.Header.UserAgent()) != "edge-health-check" {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
	}
}

func TestActiveHealthChecks(t *testing.T) {
	t.Parallel()
	n := newNetwork()
	// a is dead from the start (connections refused); b is live.
	b := n.serve(t, "b:80", healthyHandler)
	var logs testutil.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	p, err := NewPool("shop", healthConfig20ms("a:80", "b:80"), NewMetrics(nil), log, WithDialer(n.dial))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	gauge := p.m.healthy.WithLabelValues("shop")
	if p.Healthy() != 2 || value(t, gauge) != 2 {
		t.Fatal("servers must start healthy")
	}
	p.Start()
	testutil.WaitFor(t, 5*time.Second, "a taken out", func() bool { return !p.Status()[0].Healthy })
	if p.Healthy() != 1 || value(t, gauge) != 1 || value(t, p.pm.ejectedActive) != 1 {
		t.Fatalf("healthy=%d gauge=%v ejections=%v", p.Healthy(), value(t, gauge), value(t, p.pm.ejectedActive))
	}
	if !p.Status()[1].Healthy {
		t.Fatal("b taken out too")
	}
	before := b.traffic()
	for range 10 {
		if status, _, err := get(p, "POST", "/order"); err != nil || status != 200 {
			t.Fatalf("status %d err %v", status, err)
		}
	}
	if got := b.traffic() - before; got != 10 {
		t.Fatalf("b served %d of 10 requests", got)
	}

	// a comes up: back after two good probes, and traffic reaches it.
	a := n.serve(t, "a:80", healthyHandler)
	testutil.WaitFor(t, 5*time.Second, "a back", func() bool { return p.Status()[0].Healthy })
	if p.Healthy() != 2 || value(t, gauge) != 2 {
		t.Fatalf("healthy=%d gauge=%v", p.Healthy(), value(t, gauge))
	}
	for range 4 {
		get(p, "GET", "/item/1") //nolint:errcheck
	}
	if a.traffic() == 0 {
		t.Fatal("no traffic reached the recovered server")
	}
	out := logs.String()
	for _, want := range []string{"upstream server down", "server=a:80", "upstream server back in rotation"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestAllServersDownIs503(t *testing.T) {
	t.Parallel()
	n := newNetwork()
	unhealthy := func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/healthz" {
			ctx.SetStatusCode(fasthttp.StatusInternalServerError)
		}
	}
	a := n.serve(t, "a:80", unhealthy)
	p := newPool(t, n, healthConfig20ms("a:80"))
	p.Start()
	testutil.WaitFor(t, 5*time.Second, "a down", func() bool { return p.Healthy() == 0 })
	_, _, err := get(p, "GET", "/")
	if ErrorKind(err) != KindNoHealthy || ErrorStatus(err) != 503 {
		t.Fatalf("got %v, want no_healthy / 503", err)
	}
	if a.traffic() != 0 {
		t.Fatal("a request reached a server health checks had taken out")
	}
}

func TestStartCloseIdempotent(t *testing.T) {
	t.Parallel()
	n := newNetwork()
	n.serve(t, "a:80", healthyHandler)
	p := newPool(t, n, healthConfig20ms("a:80"))
	p.Start()
	p.Start()
	p.Close()
	p.Close()
	p.Start() // after Close: nothing
	if status, _, err := get(p, "GET", "/"); err != nil || status != 200 {
		t.Fatalf("a closed pool still serves late callers: %d %v", status, err)
	}
}
