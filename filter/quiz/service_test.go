package quiz

import (
	"strings"
	"testing"
	"time"

	"edge/internal/config"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestNewServiceValidation(t *testing.T) {
	t.Parallel()
	short := strings.Repeat("x", 31)
	cases := map[string]*config.QuizBank{
		"nil config":            nil,
		"no secret":             {Size: 10},
		"short secret":          {Secret: short, Size: 10},
		"short previous secret": {Secret: secretA, PreviousSecret: short, Size: 10},
		"negative size":         {Secret: secretA, Size: -1},
		"huge size":             {Secret: secretA, Size: MaxBankSize + 1},
		"negative regenerate":   {Secret: secretA, Regenerate: config.Duration(-time.Minute)},
	}
	for name, cfg := range cases {
		if _, err := NewService(cfg, nil, "", 0, nil, nil, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	s, err := NewService(&config.QuizBank{Secret: secretA}, nil, "", 0, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.size.Load() != config.DefaultQuizBankSize || s.Bank() != nil {
		t.Fatalf("defaults: size %d, bank %v", s.size.Load(), s.Bank())
	}
	// A refused reload keeps the running settings.
	before := s.signer.Load()
	if err := s.Reconfigure(&config.QuizBank{Secret: short}); err == nil || s.signer.Load() != before {
		t.Fatal("a bad reload replaced the signer")
	}
}

func TestMetricsLint(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	again := NewMetrics(reg) // a second registration reuses the series
	m.checks.WithLabelValues("order", ResultOK).Inc()
	again.checks.WithLabelValues("order", ResultOK).Inc()
	m.updates.WithLabelValues(sourceGenerated).Inc()
	m.issued.Inc()
	m.size.Store(12)
	if got := testutil.ToFloat64(m.checks.WithLabelValues("order", ResultOK)); got != 2 {
		t.Fatalf("shared series = %v, want 2", got)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	if n, err := testutil.GatherAndCount(reg, "edge_quiz_bank_questions"); err != nil || n != 1 {
		t.Fatalf("bank gauge: %d %v", n, err)
	}
}
