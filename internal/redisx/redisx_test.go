package redisx

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"edge/internal/config"
	"edge/internal/testredis"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	edgetest "edge/internal/testutil"
)

func TestNewNil(t *testing.T) {
	t.Parallel()
	if New(nil) != nil {
		t.Fatal("New(nil) should be nil")
	}
	if New(&config.Redis{}) != nil {
		t.Fatal("New without addresses should be nil")
	}
	if got := Timeout(nil); got != DefaultTimeout {
		t.Fatalf("Timeout(nil) = %v", got)
	}
	if got := Timeout(&config.Redis{Timeout: config.Duration(time.Second)}); got != time.Second {
		t.Fatalf("Timeout = %v", got)
	}
}

func TestNewSingleNode(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	rdb := New(&config.Redis{Addrs: []string{srv.Addr}, DB: 2, Timeout: config.Duration(time.Second)})
	defer rdb.Close()
	c, ok := rdb.(*redis.Client)
	if !ok {
		t.Fatalf("one address gave %T, want *redis.Client", rdb)
	}
	if o := c.Options(); o.ReadTimeout != time.Second || o.WriteTimeout != time.Second || o.DB != 2 {
		t.Fatalf("options not applied: read %v write %v db %d", o.ReadTimeout, o.WriteTimeout, o.DB)
	}
	ctx := context.Background()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("get = %q, %v", v, err)
	}
}

func TestNewCluster(t *testing.T) {
	t.Parallel()
	cl := testredis.StartCluster(t, 3)
	rdb := New(&config.Redis{Addrs: cl.Addrs()})
	defer rdb.Close()
	if _, ok := rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("several addresses gave %T, want *redis.ClusterClient", rdb)
	}
	ctx := context.Background()
	// Keys spread over all slots: the client must follow the topology.
	for i := range 50 {
		k := fmt.Sprintf("key-%d", i)
		if err := rdb.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
	}
	h := NewHealth(rdb, time.Second, slog.New(slog.DiscardHandler))
	if err := h.Check(ctx); err != nil || !h.Up() {
		t.Fatalf("cluster health: %v up=%v", err, h.Up())
	}
	cl.Nodes[1].Stop()
	if err := h.Check(ctx); err == nil || h.Up() {
		t.Fatal("a cluster with a dead master should be down")
	}
}

func TestHealthTransitions(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	rdb := New(&config.Redis{Addrs: []string{srv.Addr}})
	defer rdb.Close()
	var logs edgetest.SyncBuffer
	h := NewHealth(rdb, 0, slog.New(slog.NewTextHandler(&logs, nil)))
	if h.Up() {
		t.Fatal("health must start down until a probe succeeds")
	}
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	reg.MustRegister(h.Collector())

	steps := []struct {
		name string
		do   func()
		up   bool
	}{
		{"first probe", func() {}, true},
		{"still up", func() {}, true},
		{"killed", srv.Stop, false},
		{"still down", func() {}, false},
		{"restarted", srv.Restart, true},
	}
	for _, s := range steps {
		s.do()
		err := h.Check(ctx)
		if h.Up() != s.up || (err == nil) != s.up {
			t.Fatalf("%s: up=%v err=%v, want up=%v", s.name, h.Up(), err, s.up)
		}
		want := 0.0
		if s.up {
			want = 1
		}
		if got := testutil.ToFloat64(h.Collector()); got != want {
			t.Fatalf("%s: edge_redis_up = %v, want %v", s.name, got, want)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "redis up"); n != 2 {
		t.Errorf("want 2 'redis up' lines, got %d:\n%s", n, out)
	}
	if n := strings.Count(out, "redis down"); n != 1 {
		t.Errorf("want 1 'redis down' line, got %d:\n%s", n, out)
	}
	if n, err := testutil.GatherAndCount(reg, "edge_redis_up"); err != nil || n != 1 {
		t.Errorf("registered gauge: %d series, %v", n, err)
	}
}

func TestHealthWatchStops(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	rdb := New(&config.Redis{Addrs: []string{srv.Addr}})
	defer rdb.Close()
	h := NewHealth(rdb, 0, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Watch(ctx, time.Hour); close(done) }()
	// Watch probes at once: wait for that first probe, then stop it.
	deadline := time.Now().Add(5 * time.Second)
	for !h.Up() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !h.Up() {
		t.Fatal("Watch did not probe at start")
	}
	cancel()
	<-done
}
