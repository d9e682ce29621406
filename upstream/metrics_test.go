package upstream

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"edge/internal/config"
)

func TestMetricsRegisterTwice(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	a := NewMetrics(reg)
	b := NewMetrics(reg)
	if a.requests != b.requests || a.healthy != b.healthy {
		t.Fatal("a second NewMetrics on one registry must reuse the collectors")
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

// Across a reload two pools of one name live side by side; the newest
// publishes the gauge, and the series disappears with the last one.
func TestHealthyGaugeOwnership(t *testing.T) {
	t.Parallel()
	m := NewMetrics(nil)
	n := newNetwork()
	old, err := NewPool("shop", &config.Upstream{Servers: []string{"a:80", "b:80"}}, m, nil, WithDialer(n.dial))
	if err != nil {
		t.Fatal(err)
	}
	if got := value(t, m.healthy); got != 2 {
		t.Fatalf("gauge %v, want 2", got)
	}
	cur, err := NewPool("shop", &config.Upstream{Servers: []string{"a:80"}}, m, nil, WithDialer(n.dial))
	if err != nil {
		t.Fatal(err)
	}
	if got := value(t, m.healthy); got != 1 {
		t.Fatalf("gauge %v, want the new pool's 1", got)
	}
	old.publish() // the old pool's transitions no longer write
	if got := value(t, m.healthy); got != 1 {
		t.Fatalf("gauge %v after the old pool published", got)
	}
	old.Close()
	if got := value(t, m.healthy); got != 1 {
		t.Fatalf("gauge %v after closing the old pool", got)
	}
	// A failed reload: the newest pool closes, the running one publishes again.
	failed, _ := NewPool("shop", &config.Upstream{Servers: []string{"a:80", "b:80", "c:80"}}, m, nil, WithDialer(n.dial))
	failed.Close()
	if got := value(t, m.healthy); got != 1 {
		t.Fatalf("gauge %v after a failed reload", got)
	}
	cur.Close()
	ch := make(chan prometheus.Metric, 4)
	m.healthy.Collect(ch)
	if len(ch) != 0 {
		t.Fatal("series kept after the last pool closed")
	}
}
