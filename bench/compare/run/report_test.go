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
	stampede := func(origin int64, maxLat time.Duration) Row {
		r := row("stampede", "edge", 900)
		r.Origin, r.OriginRounds, r.Max, r.WorstMax = origin, []int64{origin}, maxLat, maxLat
		return r
	}
	skipped := func(r Row, why string) Row { r.Skip = why; return r }
	tests := []struct {
		name string
		t    Table
		want []Verdict
	}{
		{"all pass", table(
			row("hot", "ceiling", 100), row("hot", "edge", 95), row("hot", "nginx", 70),
			row("esi-cached", "edge", 90), row("esi-cached", "varnish", 30),
			uncached(6*time.Millisecond), stampede(1, 210*time.Millisecond)),
			[]Verdict{Pass, Pass, Pass, Pass, Pass, Pass}},
		{"all miss", table(
			row("hot", "ceiling", 100), row("hot", "edge", 89), row("hot", "nginx", 70),
			row("esi-cached", "edge", 89), row("esi-cached", "varnish", 30),
			uncached(9*time.Millisecond), stampede(2, 216*time.Millisecond)),
			[]Verdict{Miss, Miss, Miss, Miss, Miss, Miss}},
		{"nothing measured", table(), []Verdict{Skip, Skip, Skip, Skip, Skip, Skip}},
		{"edge not measured is a miss, others missing a skip", table(
			row("hot", "ceiling", 100), skipped(row("hot", "edge", 0), "failed"), skipped(row("hot", "nginx", 0), "not installed"),
			skipped(row("esi-cached", "edge", 0), "ESI not assembled"), row("esi-cached", "varnish", 30)),
			[]Verdict{Miss, Miss, Miss, Skip, Skip, Skip}},
		{"other not measured", table(
			row("hot", "ceiling", 100), row("hot", "edge", 95), skipped(row("hot", "nginx", 0), "not installed")),
			[]Verdict{Pass, Skip, Skip, Skip, Skip, Skip}},
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
	printTargets(&b, []TargetResult{{Pass, "a", "b"}, {Miss, "c", "d"}})
	if b.String() != "PASS  a: b\nMISS  c: d\n" {
		t.Errorf("targets printed as %q", b.String())
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
