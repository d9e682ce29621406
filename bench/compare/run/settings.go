package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"edge/bench/compare/pages"
)

// Settings of one comparison run. Binaries come from flags; everything
// else from BENCH_* environment variables (see scripts/bench-compare.sh).
type Settings struct {
	// Binaries built by the script, and the tools found on PATH ("" when
	// missing: the server is skipped, or the run is impossible for wrk).
	Edge, Origin, Ceiling, Load   string
	Varnishd, Nginx, Wrk, Taskset string

	// Duration of one measured round per scenario and server. Default 6s
	// split into Rounds rounds.
	Duration time.Duration
	// Rounds each scenario is measured in, servers taking turns, so that a
	// burst of activity from elsewhere on the machine does not fall on one
	// server only; the table shows the median round. Default 3.
	Rounds int
	// Warmup is load sent before the first measured round, not counted.
	// Default 1s.
	Warmup time.Duration
	// Conns is wrk's connection count for the cached scenarios. Default 64.
	Conns int
	// ConnsUncached is wrk's connection count for the page with uncached
	// fragments, whose figure of merit is latency. Default 16.
	ConnsUncached int
	// StampedeClients is the size of the burst on a cold URL. Default 200.
	StampedeClients int
	// StampedeRounds is how many cold URLs each server gets. Default 3.
	StampedeRounds int
	// Servers in the run, from ceiling, edge, varnish, nginx. Default all.
	Servers []string
	// Only, when set, limits the run to these scenarios.
	Only []string
	// CPUServer runs the servers under test; CPULoad runs wrk, the
	// stampede client and the origin. Defaults 0 and 1.
	CPUServer, CPULoad int
	// URLs is the number of distinct pages of the "urls" scenario.
	URLs int
	// FragDelay and SlowDelay are the origin's latencies for an uncached
	// fragment (5ms) and for the stampede's page (200ms).
	FragDelay, SlowDelay time.Duration
	// Keep leaves the working directory (configs, logs) in place.
	Keep bool
}

// allServers is the order of the table's rows.
var allServers = []string{"ceiling", "edge", "varnish", "nginx"}

// loadSettings reads the BENCH_* variables through getenv.
func loadSettings(getenv func(string) string) (Settings, error) {
	s := Settings{
		Duration: 6 * time.Second, Rounds: 3, Warmup: time.Second,
		Conns: 64, ConnsUncached: 16, StampedeClients: 200, StampedeRounds: 3,
		Servers: allServers, CPUServer: 0, CPULoad: 1, URLs: pages.URLs,
		FragDelay: 5 * time.Millisecond, SlowDelay: 200 * time.Millisecond,
	}
	var errs []error
	dur := func(name string, d *time.Duration) {
		if v := getenv(name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x < 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a duration such as 6s", name, v))
				return
			}
			*d = x
		}
	}
	num := func(name string, n *int, least int) {
		if v := getenv(name); v != "" {
			x, err := strconv.Atoi(v)
			if err != nil || x < least {
				errs = append(errs, fmt.Errorf("%s=%q: want an integer ≥ %d", name, v, least))
				return
			}
			*n = x
		}
	}
	list := func(name string, l *[]string, allowed []string) {
		v := getenv(name)
		if v == "" {
			return
		}
		var out []string
		for _, x := range strings.Split(v, ",") {
			x = strings.TrimSpace(x)
			if !slices.Contains(allowed, x) {
				errs = append(errs, fmt.Errorf("%s: unknown %q (want some of %s)", name, x, strings.Join(allowed, ",")))
				continue
			}
			out = append(out, x)
		}
		*l = out
	}
	dur("BENCH_DURATION", &s.Duration)
	dur("BENCH_WARMUP", &s.Warmup)
	num("BENCH_ROUNDS", &s.Rounds, 1)
	num("BENCH_CONNS", &s.Conns, 1)
	num("BENCH_CONNS_UNCACHED", &s.ConnsUncached, 1)
	num("BENCH_STAMPEDE_CLIENTS", &s.StampedeClients, 1)
	num("BENCH_STAMPEDE_ROUNDS", &s.StampedeRounds, 1)
	num("BENCH_CPU_SERVER", &s.CPUServer, 0)
	num("BENCH_CPU_LOAD", &s.CPULoad, 0)
	list("BENCH_SERVERS", &s.Servers, allServers)
	list("BENCH_ONLY", &s.Only, scenarioIDs())
	s.Keep = getenv("BENCH_KEEP") != ""
	if s.Duration/time.Duration(s.Rounds) < 500*time.Millisecond {
		errs = append(errs, fmt.Errorf("BENCH_DURATION=%v over %d rounds: want at least 500ms per round", s.Duration, s.Rounds))
	}
	return s, errors.Join(errs...)
}

// round is the measured time of one round.
func (s Settings) round() time.Duration { return s.Duration / time.Duration(s.Rounds) }

// lookTools finds varnishd, nginx, wrk and taskset on PATH (and in
// /usr/sbin, where Debian puts the daemons).
func (s *Settings) lookTools() {
	find := func(name string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, dir := range []string{"/usr/sbin", "/sbin"} {
			p := dir + "/" + name
			if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
				return p
			}
		}
		return ""
	}
	s.Varnishd, s.Nginx, s.Wrk, s.Taskset = find("varnishd"), find("nginx"), find("wrk"), find("taskset")
}

// wants reports whether scenario id is in the run.
func (s Settings) wants(id string) bool { return len(s.Only) == 0 || slices.Contains(s.Only, id) }
