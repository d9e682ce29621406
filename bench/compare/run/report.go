package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// printTable writes the results table: one line per scenario and server.
func printTable(w io.Writer, t Table) {
	fmt.Fprintf(w, "%-30s %-8s %9s %9s %9s %8s %5s %8s %5s %7s %6s\n",
		"scenario", "server", "req/s", "p50", "p99", "origin", "CPU", "CPU/req", "load", "spread", "noise")
	last := ""
	for _, r := range t.Rows {
		title := r.Scenario.Title
		if title == last {
			title = ""
		} else if last != "" {
			fmt.Fprintln(w)
		}
		last = r.Scenario.Title
		if r.Skip != "" {
			fmt.Fprintf(w, "%-30s %-8s not measured: %s\n", title, r.Server, firstLine(r.Skip))
			continue
		}
		fmt.Fprintf(w, "%-30s %-8s %9s %9s %9s %8d %4.0f%% %8s %4.0f%% %7s %5.0f%%\n",
			title, r.Server, groupThousands(r.RPS), ms(r.P50), ms(r.P99), r.Origin,
			100*r.CPUShare, us(r.CPUPerRequest), 100*r.LoadShare, "±"+strconv.Itoa(int(50*r.Spread+0.5))+"%", 100*r.Noise)
		for _, n := range r.Notes {
			fmt.Fprintf(w, "%-30s %-8s   note: %s\n", "", "", n)
		}
	}
}

// printRatios writes edge's figures over the others': requests per second
// and requests per CPU-second of the server (the inverse of CPU/req), which
// holds up better than throughput when other processes take CPU time.
func printRatios(w io.Writer, t Table) {
	var others []string
	for _, name := range []string{"varnish", "nginx", "ceiling"} {
		if slices.ContainsFunc(t.Rows, func(r Row) bool { return r.Server == name }) {
			others = append(others, name)
		}
	}
	fmt.Fprintf(w, "%-30s %-22s", "scenario", "ratio of")
	for _, other := range others {
		fmt.Fprintf(w, " %12s", "edge/"+other)
	}
	fmt.Fprintln(w)
	type metric struct {
		name string
		get  func(Row) float64
	}
	rps := metric{"requests/s", func(r Row) float64 { return r.RPS }}
	perCPU := metric{"requests/CPU-second", func(r Row) float64 {
		if r.CPUPerRequest <= 0 {
			return 0
		}
		return float64(time.Second) / float64(r.CPUPerRequest)
	}}
	slowest := metric{"slowest waiter (lower)", func(r Row) float64 { return float64(r.Max) }}
	for _, sc := range scenariosIn(t) {
		metrics := []metric{rps, perCPU}
		if sc.Stampede {
			metrics = []metric{slowest}
		}
		for i, m := range metrics {
			title := sc.Title
			if i > 0 {
				title = ""
			}
			fmt.Fprintf(w, "%-30s %-22s", title, m.name)
			for _, other := range others {
				fmt.Fprintf(w, " %12s", ratioText(t, sc.ID, other, m.get))
			}
			fmt.Fprintln(w)
		}
	}
}

// ratioText is edge's figure over other's, "-" when either is missing.
func ratioText(t Table, id, other string, get func(Row) float64) string {
	e, ok1 := t.Get(id, "edge")
	o, ok2 := t.Get(id, other)
	if !ok1 || !ok2 || e.Skip != "" || o.Skip != "" || get(o) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", get(e)/get(o))
}

// scenariosIn lists the table's scenarios in order.
func scenariosIn(t Table) []Scenario {
	var out []Scenario
	for _, r := range t.Rows {
		if len(out) == 0 || out[len(out)-1].ID != r.Scenario.ID {
			out = append(out, r.Scenario)
		}
	}
	return out
}

// Verdict of one target.
type Verdict string

// Target outcomes.
const (
	Pass Verdict = "PASS"
	Miss Verdict = "MISS"
	Skip Verdict = "SKIP" // a figure the target needs was not measured
)

// TargetResult is one target's verdict with the figures behind it.
type TargetResult struct {
	Verdict Verdict
	Target  string
	Detail  string
	// Outside marks a target whose scenario or servers the run left out
	// on purpose (BENCH_ONLY, BENCH_SERVERS); its verdict is Skip.
	Outside bool
}

// printHeaderNotes writes a note for every scenario where edge's answer and
// the ceiling's differ in header names: their ratio then compares
// responses of different sizes.
func printHeaderNotes(w io.Writer, t Table) {
	for _, r := range t.Rows {
		if r.Server == "edge" && r.HeaderDiff != "" {
			fmt.Fprintf(w, "\nnote: on %s, edge's and the ceiling's answers differ in header names (%s):\n"+
				"      the ceiling (bench/compare/ceiling) no longer sends what an edge hit sends; the ratio to it is not like for like\n",
				r.Scenario.Title, r.HeaderDiff)
		}
	}
}

// targets checks the goals set for edge against the table.
func targets(t Table, s Settings) []TargetResult {
	var out []TargetResult
	add := func(v Verdict, name, detail string) {
		out = append(out, TargetResult{Verdict: v, Target: name, Detail: detail})
	}
	// outside reports whether the run was asked to leave out scenario id
	// or one of the servers.
	outside := func(id string, servers ...string) bool {
		if !s.wants(id) {
			return true
		}
		for _, name := range servers {
			if !slices.Contains(s.Servers, name) {
				return true
			}
		}
		return false
	}
	ratio := func(id, other, what string, least float64) {
		name := fmt.Sprintf("%s: edge ≥ %s× %s (requests/s)", what, strconv.FormatFloat(least, 'f', -1, 64), other)
		e, ok1 := t.Get(id, "edge")
		o, ok2 := t.Get(id, other)
		switch {
		case outside(id, "edge", other):
			out = append(out, TargetResult{Verdict: Skip, Target: name, Detail: "not in this run", Outside: true})
		case !ok1 || !ok2:
			add(Skip, name, "no figures for it in this run")
		case e.Skip != "":
			add(Miss, name, "edge not measured: "+firstLine(e.Skip))
		case o.Skip != "" || o.RPS == 0:
			add(Skip, name, other+" not measured: "+firstLine(o.Skip))
		default:
			r := e.RPS / o.RPS
			detail := fmt.Sprintf("%.2f× (%s vs %s req/s)", r, groupThousands(e.RPS), groupThousands(o.RPS))
			if e.CPUPerRequest > 0 && o.CPUPerRequest > 0 {
				detail += fmt.Sprintf("; per CPU-second %.2f×", float64(o.CPUPerRequest)/float64(e.CPUPerRequest))
			}
			if o.LoadShare >= loadBoundShare {
				detail += fmt.Sprintf("; wrk used %.0f%% of its CPU against %s, whose req/s is then a lower bound", 100*o.LoadShare, other)
			}
			if wide := max(e.Spread, o.Spread); wide > spreadWarning {
				detail += fmt.Sprintf("; rounds spread up to ±%.0f%%, the ratio is uncertain", 50*wide)
			}
			if other == "ceiling" && e.HeaderDiff != "" {
				detail += "; header names differ from the ceiling's: " + e.HeaderDiff
			}
			add(verdict(r >= least), name, detail)
		}
	}
	edgeRow := func(id, name string, check func(Row) (bool, string)) {
		e, ok := t.Get(id, "edge")
		switch {
		case outside(id, "edge"):
			out = append(out, TargetResult{Verdict: Skip, Target: name, Detail: "not in this run", Outside: true})
		case !ok:
			add(Skip, name, "no figures for it in this run")
		case e.Skip != "":
			add(Miss, name, "edge not measured: "+firstLine(e.Skip))
		default:
			good, detail := check(e)
			add(verdict(good), name, detail)
		}
	}
	ratio("hot", "ceiling", "hot URL", ceilingTargets["hot"])
	ratio("urls", "ceiling", groupThousands(float64(s.URLs))+" URLs", ceilingTargets["urls"])
	ratio("hot", "nginx", "hot URL", 1.3)
	ratio("esi-cached", "varnish", "ESI, cached fragments", 3)
	edgeRow("esi-uncached", "ESI, uncached fragments: edge p50 ≤ 8 ms", func(r Row) (bool, string) {
		return r.P50 <= 8*time.Millisecond, "p50 " + ms(r.P50)
	})
	edgeRow("stampede", "stampede: one origin request per cold URL", func(r Row) (bool, string) {
		return r.Origin == 1 && r.Errors == 0, fmt.Sprintf("origin requests per round %v, errors %d", r.OriginRounds, r.Errors)
	})
	limit := s.SlowDelay + 15*time.Millisecond
	edgeRow("stampede", fmt.Sprintf("stampede: waiters' median within 15 ms of the origin (p50 ≤ %s)", ms(limit)), func(r Row) (bool, string) {
		return r.P50 <= limit, fmt.Sprintf("p50 %s (median of rounds)", ms(r.P50))
	})
	edgeRow("stampede", fmt.Sprintf("stampede: every waiter within 15 ms of the origin (slowest ≤ %s)", ms(limit)), func(r Row) (bool, string) {
		return r.Max <= limit, fmt.Sprintf("slowest waiter %s (median of rounds; worst round %s)", ms(r.Max), ms(r.WorstMax))
	})
	return out
}

func verdict(ok bool) Verdict {
	if ok {
		return Pass
	}
	return Miss
}

// printTargets writes one line per target of the run, and how many
// targets it left out.
func printTargets(w io.Writer, ts []TargetResult) {
	left := 0
	for _, tr := range ts {
		if tr.Outside {
			left++
			continue
		}
		fmt.Fprintf(w, "%-4s  %s: %s\n", tr.Verdict, tr.Target, tr.Detail)
	}
	if left > 0 {
		fmt.Fprintf(w, "(%d more targets concern scenarios or servers this run leaves out: BENCH_ONLY, BENCH_SERVERS)\n", left)
	}
}

// ms writes d in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// us writes d in whole microseconds.
func us(d time.Duration) string { return fmt.Sprintf("%dµs", (d+time.Microsecond/2)/time.Microsecond) }

// groupThousands writes v rounded, with a space between thousands.
func groupThousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// firstLine keeps a message to its first line.
func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
