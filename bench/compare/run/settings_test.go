package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadSettingsDefaults(t *testing.T) {
	t.Parallel()
	s, err := loadSettings(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.Duration != 6*time.Second || s.Rounds != 3 || s.round() != 2*time.Second || s.Conns != 64 ||
		s.ConnsUncached != 16 || s.StampedeClients != 200 || s.CPUServer != 0 || s.CPULoad != 1 ||
		s.URLs != 10000 || s.FragDelay != 5*time.Millisecond || s.SlowDelay != 200*time.Millisecond {
		t.Fatalf("defaults: %+v", s)
	}
	if !slices.Equal(s.Servers, allServers) || !s.wants("stampede") || s.Keep {
		t.Fatalf("defaults: servers %v, only %v, keep %v", s.Servers, s.Only, s.Keep)
	}
}

func TestLoadSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(Settings) bool
	}{
		{"durations", map[string]string{"BENCH_DURATION": "9s", "BENCH_ROUNDS": "3", "BENCH_WARMUP": "0s"}, "",
			func(s Settings) bool { return s.round() == 3*time.Second && s.Warmup == 0 }},
		{"servers and scenarios", map[string]string{"BENCH_SERVERS": "edge, nginx", "BENCH_ONLY": "hot,stampede"}, "",
			func(s Settings) bool {
				return slices.Equal(s.Servers, []string{"edge", "nginx"}) && s.wants("hot") && !s.wants("urls")
			}},
		{"cpus and keep", map[string]string{"BENCH_CPU_SERVER": "1", "BENCH_CPU_LOAD": "0", "BENCH_KEEP": "1"}, "",
			func(s Settings) bool { return s.CPUServer == 1 && s.CPULoad == 0 && s.Keep }},
		{"bad duration", map[string]string{"BENCH_DURATION": "six"}, "BENCH_DURATION", nil},
		{"bad count", map[string]string{"BENCH_CONNS": "0"}, "BENCH_CONNS", nil},
		{"unknown server", map[string]string{"BENCH_SERVERS": "edge,haproxy"}, `unknown "haproxy"`, nil},
		{"unknown scenario", map[string]string{"BENCH_ONLY": "cold"}, `unknown "cold"`, nil},
		{"rounds too short", map[string]string{"BENCH_DURATION": "1s", "BENCH_ROUNDS": "4"}, "at least 500ms per round", nil},
		{"every problem at once", map[string]string{"BENCH_CONNS": "x", "BENCH_ROUNDS": "-1"}, "BENCH_ROUNDS", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := loadSettings(env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(s) {
				t.Fatalf("settings %+v", s)
			}
		})
	}
}

func TestScenarios(t *testing.T) {
	t.Parallel()
	s, _ := loadSettings(env(nil))
	all := scenarios(s)
	var ids []string
	for _, sc := range all {
		ids = append(ids, sc.ID)
	}
	if !slices.Equal(ids, scenarioIDs()) {
		t.Fatalf("scenarios %v, want %v", ids, scenarioIDs())
	}
	for _, sc := range all {
		if sc.ID == "esi-cached" && (sc.Paths["nginx"] != "/ssi/cached" || sc.Paths["varnish"] != "/esi/cached" || sc.Paths["ceiling"] == "") {
			t.Errorf("esi-cached paths %v", sc.Paths)
		}
		if sc.ID == "esi-uncached" && sc.Paths["ceiling"] != "" {
			t.Errorf("the ceiling has no part in the uncached scenario: %v", sc.Paths)
		}
		if sc.ID == "stampede" && (!sc.Stampede || sc.Paths["ceiling"] != "") {
			t.Errorf("stampede %+v", sc)
		}
	}
	s.Only = []string{"urls"}
	if got := scenarios(s); len(got) != 1 || got[0].URLs != 10000 {
		t.Fatalf("only urls: %+v", got)
	}
}

func TestExpected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path string
		size int
	}{
		{"/hot", 4096}, {"/u/17", 4096}, {"/esi/cached", 4096}, {"/ssi/uncached", 4096},
		{"/u/x", 0}, {"/slow/a", 0}, {"/nope", 0},
	}
	for _, tt := range tests {
		if got := len(expected(tt.path)); got != tt.size {
			t.Errorf("expected(%q): %d bytes, want %d", tt.path, got, tt.size)
		}
	}
}
