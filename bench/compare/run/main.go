// Command run is the runner of make bench-compare: it starts the origin,
// the ceiling, edge, Varnish and nginx (each pinned to the server CPU, from
// configs it writes into a temporary directory), checks that each answers
// with the right bytes, measures every scenario on every server with wrk
// (and the load command for the stampede), then prints one table, the
// ratios of edge to the others and a PASS/MISS line per target.
//
// scripts/bench-compare.sh builds the binaries and calls it; see
// bench/README.md for what the figures mean.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

func main() {
	var s Settings
	flag.StringVar(&s.Edge, "edge", "bin/edge", "edge binary")
	flag.StringVar(&s.Origin, "origin", "", "origin binary (go build ./bench/compare/origin)")
	flag.StringVar(&s.Ceiling, "ceiling", "", "ceiling binary (go build ./bench/compare/ceiling)")
	flag.StringVar(&s.Load, "load", "", "stampede client binary (go build ./bench/compare/load)")
	flag.Parse()
	if err := run(s); err != nil {
		fmt.Fprintln(os.Stderr, "bench-compare:", err)
		os.Exit(1)
	}
}

func run(bins Settings) error {
	s, err := loadSettings(os.Getenv)
	if err != nil {
		return err
	}
	s.Edge, s.Origin, s.Ceiling, s.Load = bins.Edge, bins.Origin, bins.Ceiling, bins.Load
	for _, b := range []struct {
		flag string
		path *string
	}{{"-edge", &s.Edge}, {"-origin", &s.Origin}, {"-ceiling", &s.Ceiling}, {"-load", &s.Load}} {
		if *b.path == "" {
			return fmt.Errorf("flag %s is required", b.flag)
		}
		abs, err := filepath.Abs(*b.path)
		if err != nil {
			return fmt.Errorf("%s: %w", b.flag, err)
		}
		*b.path = abs
	}
	s.lookTools()
	if s.Wrk == "" {
		return fmt.Errorf("wrk not found (Debian: apt-get install wrk)")
	}
	dir, err := os.MkdirTemp("", "bench-compare-")
	if err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	r := &runner{s: s, dir: dir, out: os.Stdout}
	defer r.close()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "\ninterrupted: stopping the servers")
		r.close()
		os.Exit(130)
	}()
	if err := r.start(); err != nil {
		return err
	}
	t := r.measureAll()
	r.report(t)
	return nil
}

// runner holds the processes of one run.
type runner struct {
	s       Settings
	dir     string
	out     *os.File
	origin  *Proc
	oaddr   string
	servers []*Server
	script  string
	runID   string
	closed  bool
}

// start prints the machine, starts the origin and every server.
func (r *runner) start() error {
	s := r.s
	cpus := onlineCPUs()
	fmt.Fprintf(r.out, "== bench-compare: %s, %d CPUs, load average %s\n", cpuModel(), cpus, loadAverage())
	if s.Taskset == "" || cpus < 2 {
		fmt.Fprintln(r.out, "   warning: taskset missing or a single CPU: servers and load generator share CPUs; ratios are less meaningful")
	} else {
		fmt.Fprintf(r.out, "   servers under test on CPU %d; wrk, the stampede client and the origin on CPU %d\n", s.CPUServer, s.CPULoad)
	}
	fmt.Fprintf(r.out, "   %v per scenario and server in %d rounds (median shown), wrk -t1 -c%d (-c%d uncached ESI), warm-up %v\n",
		s.Duration, s.Rounds, s.Conns, s.ConnsUncached, s.Warmup)
	fmt.Fprintf(r.out, "   versions: %s\n", versions(s))
	fmt.Fprintf(r.out, "   configs and logs: %s%s\n", r.dir, map[bool]string{true: " (kept)", false: " (removed at the end; BENCH_KEEP=1 keeps them)"}[s.Keep])

	r.runID = fmt.Sprintf("%x", time.Now().UnixNano())
	d := ConfigData{}
	b, err := render("bench.lua", d)
	if err != nil {
		return err
	}
	r.script = filepath.Join(r.dir, "bench.lua")
	if err := os.WriteFile(r.script, b, 0o644); err != nil {
		return fmt.Errorf("write wrk script: %w", err)
	}
	r.origin, r.oaddr, err = startOrigin(s, r.dir)
	if err != nil {
		return fmt.Errorf("origin: %w", err)
	}
	for _, name := range s.Servers {
		srv := startServer(s, name, r.dir, r.oaddr)
		if srv.Skip != "" {
			fmt.Fprintf(r.out, "   %-8s skipped: %s\n", name, srv.Skip)
		}
		r.servers = append(r.servers, srv)
	}
	return nil
}

// close stops every process the run started and removes its directory.
func (r *runner) close() {
	if r.closed {
		return
	}
	r.closed = true
	for _, srv := range r.servers {
		if srv.Proc != nil {
			srv.Proc.Stop(3 * time.Second)
		}
	}
	if r.origin != nil {
		r.origin.Stop(3 * time.Second)
	}
	if !r.s.Keep {
		os.RemoveAll(r.dir)
	}
}

// report prints the table, the ratios and the targets.
func (r *runner) report(t Table) {
	fmt.Fprintln(r.out)
	fmt.Fprintln(r.out, "== results (median of rounds; origin = origin requests during the measured rounds, per cold URL for the stampede;")
	fmt.Fprintln(r.out, "   CPU = the server's CPU time over wall time, 100% = one core; load = the same for wrk or the stampede client;")
	fmt.Fprintln(r.out, "   spread = half the range of the rounds' req/s; noise = share of the two CPUs taken by other processes)")
	printTable(r.out, t)
	if busy := loadBound(t); len(busy) > 0 {
		fmt.Fprintf(r.out, "\nnote: the load generator used ≥ %.0f%% of its CPU for %s:\n"+
			"      their req/s is a lower bound of what they can serve, and a ratio to them is uncertain\n",
			100*loadBoundShare, strings.Join(busy, ", "))
	}
	printHeaderNotes(r.out, t)
	if worst := noisiest(t); worst > noiseWarning {
		fmt.Fprintf(r.out, "\nwarning: other processes took up to %.0f%% of the benchmark's CPUs (noise column):\n"+
			"         the figures are disturbed; rerun on an idle machine for ratios worth quoting\n", 100*worst)
	}
	if wide := widest(t); wide > spreadWarning {
		fmt.Fprintf(r.out, "\nwarning: the rounds of one server spread up to ±%.0f%% (spread column): the machine's speed\n"+
			"         changed during the run in a way the noise column cannot see (another guest of the host,\n"+
			"         say); the ratios are uncertain, compare builds with scripts/bench-ab.sh instead\n", 50*wide)
	}
	fmt.Fprintln(r.out)
	fmt.Fprintln(r.out, "== ratios")
	printRatios(r.out, t)
	fmt.Fprintln(r.out)
	fmt.Fprintln(r.out, "== targets")
	printTargets(r.out, targets(t, r.s))
}

// noiseWarning is the noise above which the report warns: loopback
// networking alone accounts for a few percent.
const noiseWarning = 0.15

// spreadWarning is the spread (range of the rounds' req/s over their
// median) above which the report warns that its ratios are uncertain: on
// a quiet machine rounds agree within a few percent.
const spreadWarning = 0.2

// worstUnderLoad returns the highest of f over the table's rows under
// sustained load. Stampede rows are left out: their servers mostly wait
// for the origin, so their rounds are timed by its delay, and other
// processes using the idle CPU disturb nothing.
func worstUnderLoad(t Table, f func(Row) float64) float64 {
	worst := 0.0
	for _, r := range t.Rows {
		if r.Skip == "" && !r.Scenario.Stampede {
			worst = max(worst, f(r))
		}
	}
	return worst
}

// widest is the largest spread under sustained load.
func widest(t Table) float64 { return worstUnderLoad(t, func(r Row) float64 { return r.Spread }) }

// noisiest is the highest median noise under sustained load.
func noisiest(t Table) float64 { return worstUnderLoad(t, func(r Row) float64 { return r.Noise }) }

// onlineCPUs counts the machine's CPUs (not only those this process may
// run on: the script pins the runner to the load CPU).
func onlineCPUs() int {
	t, err := readCPUTimes()
	if err != nil {
		return runtime.NumCPU()
	}
	return len(t)
}

// loadBoundShare is the load generator's CPU share from which it, rather
// than the server, likely set the pace.
const loadBoundShare = 0.9

// loadBound names the rows whose load generator was that busy.
func loadBound(t Table) []string {
	var out []string
	for _, r := range t.Rows {
		if r.Skip == "" && !r.Scenario.Stampede && r.LoadShare >= loadBoundShare {
			out = append(out, r.Scenario.Title+"/"+r.Server)
		}
	}
	return out
}

// cpuModel names the CPU from /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// loadAverage is the first three fields of /proc/loadavg: a busy machine
// makes noisy figures.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
