package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestMakeRow(t *testing.T) {
	t.Parallel()
	sc := Scenario{ID: "hot", Title: "hot URL"}
	c := &Cell{Samples: []Sample{
		{Requests: 1000, Wall: time.Second, P50: 3 * time.Millisecond, P99: 9 * time.Millisecond, Max: 12 * time.Millisecond, Origin: 1, CPU: 900 * time.Millisecond},
		{Requests: 3000, Wall: time.Second, P50: 1 * time.Millisecond, P99: 5 * time.Millisecond, Max: 30 * time.Millisecond, Origin: 0, CPU: 600 * time.Millisecond, Errors: 2},
		{Requests: 2000, Wall: time.Second, P50: 2 * time.Millisecond, P99: 7 * time.Millisecond, Max: 20 * time.Millisecond, Origin: 2, CPU: 800 * time.Millisecond},
	}}
	r := makeRow(sc, "edge", c)
	if r.RPS != 2000 || r.P50 != 2*time.Millisecond || r.P99 != 7*time.Millisecond || r.Max != 20*time.Millisecond {
		t.Fatalf("medians: %+v", r)
	}
	if r.WorstMax != 30*time.Millisecond || r.Errors != 2 || r.Origin != 3 || r.Spread != 1 {
		t.Fatalf("totals: worst %v errors %d origin %d spread %v", r.WorstMax, r.Errors, r.Origin, r.Spread)
	}
	if r.CPUShare != 0.8 || r.CPUPerRequest != 400*time.Microsecond {
		t.Fatalf("cpu: share %v per request %v", r.CPUShare, r.CPUPerRequest)
	}

	sc.Stampede = true
	if r := makeRow(sc, "edge", c); r.Origin != 2 {
		t.Fatalf("stampede origin = %d, want the most of one round (2)", r.Origin)
	}
	if r := makeRow(sc, "nginx", &Cell{Skip: "not installed"}); r.Skip != "not installed" {
		t.Fatalf("skip = %q", r.Skip)
	}
	if r := makeRow(sc, "nginx", &Cell{}); r.Skip == "" {
		t.Fatal("a cell without samples must be skipped")
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   []float64
		want float64
	}{{[]float64{5}, 5}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// table builds a Table from figures: rps per scenario and server.
func table(rows ...Row) Table { return Table{Rows: rows} }

func row(id, server string, rps float64) Row {
	return Row{Scenario: Scenario{ID: id, Title: id, Stampede: id == "stampede"}, Server: server, RPS: rps}
}

func TestTargets(t *testing.T) {
	t.Parallel()
	s, _ := loadSettings(env(nil))
	uncached := func(p50 time.Duration) Row { r := row("esi-uncached", "edge", 500); r.P50 = p50; return r }
	stampede := func(origin int64, p50, maxLat time.Duration) Row {
		r := row("stampede", "edge", 900)
		r.Origin, r.OriginRounds, r.P50, r.Max, r.WorstMax = origin, []int64{origin}, p50, maxLat, maxLat
		return r
	}
	skipped := func(r Row, why string) Row { r.Skip = why; return r }
	const ms = time.Millisecond
	// Targets in order: hot/ceiling, urls/ceiling, hot/nginx, ESI cached,
	// ESI uncached, stampede origin, stampede median, stampede slowest.
	tests := []struct {
		name string
		t    Table
		want []Verdict
	}{
		{"all pass", table(
			row("hot", "ceiling", 100), row("hot", "edge", 90), row("hot", "nginx", 69),
			row("urls", "ceiling", 100), row("urls", "edge", 85),
			row("esi-cached", "edge", 90), row("esi-cached", "varnish", 30),
			uncached(8*ms), stampede(1, 214*ms, 215*ms)),
			[]Verdict{Pass, Pass, Pass, Pass, Pass, Pass, Pass, Pass}},
		{"all miss", table(
			row("hot", "ceiling", 100), row("hot", "edge", 89), row("hot", "nginx", 70),
			row("urls", "ceiling", 100), row("urls", "edge", 84),
			row("esi-cached", "edge", 89), row("esi-cached", "varnish", 30),
			uncached(9*ms), stampede(2, 216*ms, 216*ms)),
			[]Verdict{Miss, Miss, Miss, Miss, Miss, Miss, Miss, Miss}},
		{"median within, slowest not", table(stampede(1, 205*ms, 230*ms)),
			[]Verdict{Skip, Skip, Skip, Skip, Skip, Pass, Pass, Miss}},
		{"nothing measured", table(), []Verdict{Skip, Skip, Skip, Skip, Skip, Skip, Skip, Skip}},
		{"edge not measured is a miss, others missing a skip", table(
			row("hot", "ceiling", 100), skipped(row("hot", "edge", 0), "failed"), skipped(row("hot", "nginx", 0), "not installed"),
			skipped(row("urls", "ceiling", 0), "failed"), row("urls", "edge", 80),
			skipped(row("esi-cached", "edge", 0), "ESI not assembled"), row("esi-cached", "varnish", 30)),
			[]Verdict{Miss, Skip, Miss, Miss, Skip, Skip, Skip, Skip}},
		{"other not measured", table(
			row("hot", "ceiling", 100), row("hot", "edge", 95), skipped(row("hot", "nginx", 0), "not installed")),
			[]Verdict{Pass, Skip, Skip, Skip, Skip, Skip, Skip, Skip}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := targets(tt.t, s)
			if len(got) != len(tt.want) {
				t.Fatalf("%d targets, want %d", len(got), len(tt.want))
			}
			for i, tr := range got {
				if tr.Verdict != tt.want[i] {
					t.Errorf("target %q: %s (%s), want %s", tr.Target, tr.Verdict, tr.Detail, tt.want[i])
				}
			}
		})
	}
}

// TestTargetNames: the ceiling targets read as the issue states them.
func TestTargetNames(t *testing.T) {
	t.Parallel()
	s, _ := loadSettings(env(nil))
	got := targets(table(), s)
	for i, want := range []string{
		"hot URL: edge ≥ 0.9× ceiling (requests/s)",
		"10 000 URLs: edge ≥ 0.85× ceiling (requests/s)",
		"hot URL: edge ≥ 1.3× nginx (requests/s)",
		"ESI, cached fragments: edge ≥ 3× varnish (requests/s)",
	} {
		if got[i].Target != want {
			t.Errorf("target %d is %q, want %q", i, got[i].Target, want)
		}
	}
}

// TestHeaderDiffInReport: a difference in header names between edge and
// the ceiling shows under the table and on the target line, and does not
// change the verdict.
func TestHeaderDiffInReport(t *testing.T) {
	t.Parallel()
	s, _ := loadSettings(env(nil))
	e := row("hot", "edge", 95)
	e.Scenario.Title = "hot URL"
	e.HeaderDiff = "only edge sends x-cache"
	tab := table(row("hot", "ceiling", 100), e, row("urls", "ceiling", 100), row("urls", "edge", 90))

	var b bytes.Buffer
	printHeaderNotes(&b, tab)
	if out := b.String(); !strings.Contains(out, "on hot URL, edge's and the ceiling's answers differ in header names (only edge sends x-cache)") ||
		strings.Count(out, "note:") != 1 {
		t.Errorf("header notes:\n%s", out)
	}
	got := targets(tab, s)
	if got[0].Verdict != Pass || !strings.Contains(got[0].Detail, "header names differ from the ceiling's: only edge sends x-cache") {
		t.Errorf("hot target: %+v", got[0])
	}
	if got[1].Verdict != Pass || strings.Contains(got[1].Detail, "header") {
		t.Errorf("urls target: %+v", got[1])
	}
}

// TestRatioTargetDetail: a ratio target shows the requests/CPU-second ratio
// beside the requests/s one, and says when wrk set the other's pace.
func TestRatioTargetDetail(t *testing.T) {
	t.Parallel()
	s, _ := loadSettings(env(nil))
	c, e := row("urls", "ceiling", 90000), row("urls", "edge", 68000)
	c.CPUPerRequest, e.CPUPerRequest, c.LoadShare = 10*time.Microsecond, 15*time.Microsecond, 0.99
	got := targets(table(c, e), s)[1]
	want := "0.76× (68 000 vs 90 000 req/s); per CPU-second 0.67×; wrk used 99% of its CPU against ceiling, whose req/s is then a lower bound"
	if got.Verdict != Miss || got.Detail != want {
		t.Errorf("urls target: %s %q, want MISS %q", got.Verdict, got.Detail, want)
	}
}

func TestPrintReport(t *testing.T) {
	t.Parallel()
	hotEdge := row("hot", "edge", 95000)
	hotEdge.Scenario.Title = "hot URL"
	hotEdge.P50, hotEdge.P99, hotEdge.CPUShare, hotEdge.CPUPerRequest = 1500*time.Microsecond, 4*time.Millisecond, 0.99, 10*time.Microsecond
	hotEdge.Notes = []string{"round 2: 3 errors"}
	hotNginx := row("hot", "nginx", 50000)
	hotNginx.Scenario.Title = "hot URL"
	hotNginx.CPUPerRequest = 20 * time.Microsecond
	hotVarnish := row("hot", "varnish", 0)
	hotVarnish.Scenario.Title = "hot URL"
	hotVarnish.Skip = "varnishd not installed\nmore"
	st := row("stampede", "edge", 900)
	st.Max = 210 * time.Millisecond
	stN := row("stampede", "nginx", 400)
	stN.Max = 420 * time.Millisecond
	tab := table(hotEdge, hotVarnish, hotNginx, st, stN)

	var b bytes.Buffer
	printTable(&b, tab)
	out := b.String()
	for _, want := range []string{
		"hot URL", "95 000", "1.50ms", "4.00ms", "99%", "10µs",
		"varnish  not measured: varnishd not installed\n", "note: round 2: 3 errors",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "hot URL") != 1 {
		t.Errorf("the scenario title must appear once:\n%s", out)
	}

	b.Reset()
	printRatios(&b, tab)
	out = b.String()
	for _, want := range []string{"1.90×", "requests/CPU-second", "2.00×", "0.50×", "slowest waiter"} {
		if !strings.Contains(out, want) {
			t.Errorf("ratios lack %q:\n%s", want, out)
		}
	}

	b.Reset()
	printTargets(&b, []TargetResult{{Verdict: Pass, Target: "a", Detail: "b"}, {Verdict: Miss, Target: "c", Detail: "d"},
		{Verdict: Skip, Target: "e", Detail: "not in this run", Outside: true}})
	if want := "PASS  a: b\nMISS  c: d\n(1 more targets concern scenarios or servers this run leaves out: BENCH_ONLY, BENCH_SERVERS)\n"; b.String() != want {
		t.Errorf("targets printed as %q, want %q", b.String(), want)
	}
}

// TestRatioColumns: the ratios name only the servers of the run.
func TestRatioColumns(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	printRatios(&b, table(row("hot", "ceiling", 100), row("hot", "edge", 90)))
	out := b.String()
	if !strings.Contains(out, "edge/ceiling") || strings.Contains(out, "varnish") || strings.Contains(out, "nginx") ||
		!strings.Contains(out, "0.90×") {
		t.Errorf("ratios:\n%s", out)
	}
}

// TestTargetsOutsideTheRun: make bench runs the ceiling and edge on three
// scenarios; the other targets are left out, not reported as skipped.
func TestTargetsOutsideTheRun(t *testing.T) {
	t.Parallel()
	s, err := loadSettings(env(map[string]string{"BENCH_SERVERS": "ceiling,edge", "BENCH_ONLY": "hot,urls,stampede"}))
	if err != nil {
		t.Fatal(err)
	}
	var inside []string
	for _, tr := range targets(table(row("hot", "ceiling", 100), row("hot", "edge", 95)), s) {
		if tr.Outside != (tr.Verdict == Skip && tr.Detail == "not in this run") {
			t.Errorf("%q: outside %v with %s %q", tr.Target, tr.Outside, tr.Verdict, tr.Detail)
		}
		if !tr.Outside {
			inside = append(inside, string(tr.Verdict)+" "+tr.Target)
		}
	}
	want := []string{
		"PASS hot URL: edge ≥ 0.9× ceiling (requests/s)",
		"SKIP 10 000 URLs: edge ≥ 0.85× ceiling (requests/s)",
		"SKIP stampede: one origin request per cold URL",
		"SKIP stampede: waiters' median within 15 ms of the origin (p50 ≤ 215.00ms)",
		"SKIP stampede: every waiter within 15 ms of the origin (slowest ≤ 215.00ms)",
	}
	if strings.Join(inside, "\n") != strings.Join(want, "\n") {
		t.Errorf("targets of the run:\n%s\nwant\n%s", strings.Join(inside, "\n"), strings.Join(want, "\n"))
	}
}

func TestGroupThousands(t *testing.T) {
	t.Parallel()
	for v, want := range map[float64]string{0: "0", 999.4: "999", 1000: "1 000", 1234567: "1 234 567"} {
		if got := groupThousands(v); got != want {
			t.Errorf("groupThousands(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestNoisiest(t *testing.T) {
	t.Parallel()
	a, b, st, skipped := row("hot", "edge", 1), row("urls", "edge", 1), row("stampede", "edge", 1), row("hot", "nginx", 0)
	a.Noise, b.Noise, st.Noise, skipped.Noise, skipped.Skip = 0.1, 0.3, 0.9, 0.8, "not installed"
	if got := noisiest(table(a, b, st, skipped)); got != 0.3 {
		t.Fatalf("noisiest = %v, want 0.3 (stampede and skipped rows left out)", got)
	}
}

// TestSpreadMakesRatiosUncertain: a ratio whose rounds disagree says so.
func TestSpreadMakesRatiosUncertain(t *testing.T) {
	t.Parallel()
	s, _ := loadSettings(env(nil))
	c, e, st := row("urls", "ceiling", 90000), row("urls", "edge", 81000), row("stampede", "edge", 1)
	c.Spread, e.Spread, st.Spread = 0.1, 0.5, 0.9
	got := targets(table(c, e), s)[1]
	want := "0.90× (81 000 vs 90 000 req/s); rounds spread up to ±25%, the ratio is uncertain"
	if got.Verdict != Pass || got.Detail != want {
		t.Errorf("urls target: %s %q, want PASS %q", got.Verdict, got.Detail, want)
	}
	if w := widest(table(c, e, st)); w != 0.5 {
		t.Errorf("widest = %v, want 0.5 (the stampede left out)", w)
	}
	e.Spread = spreadWarning
	if got := targets(table(c, e), s)[1]; strings.Contains(got.Detail, "uncertain") {
		t.Errorf("a spread at the threshold is called uncertain: %q", got.Detail)
	}
}

func TestLoadBound(t *testing.T) {
	t.Parallel()
	a, b, st := row("hot", "ceiling", 1), row("hot", "edge", 1), row("stampede", "edge", 1)
	a.LoadShare, b.LoadShare, st.LoadShare = 0.95, 0.5, 1
	got := loadBound(table(a, b, st))
	if len(got) != 1 || got[0] != "hot/ceiling" {
		t.Fatalf("loadBound = %v, want [hot/ceiling]", got)
	}
	x := Sample{Wall: 2 * time.Second, LoadCPU: time.Second}
	if x.LoadShare() != 0.5 || (Sample{}).LoadShare() != 0 {
		t.Fatalf("LoadShare = %v", x.LoadShare())
	}
}
