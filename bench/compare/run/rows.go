package main

import (
	"slices"
	"time"
)

// Cell holds what was measured of one server on one scenario.
type Cell struct {
	// Samples, one per round.
	Samples []Sample
	// Skip says why the server was not measured ("" when it was).
	Skip string
	// Notes are remarks on the measurement (errors seen).
	Notes []string
	// HeaderDiff, on edge's cell of a scenario with a target relative to
	// the ceiling, says how the header names of their answers differ (""
	// when they agree or were not compared).
	HeaderDiff string
}

// Row is a Cell reduced to the table's figures: the median over rounds.
type Row struct {
	Scenario Scenario
	Server   string
	// Skip says why there are no figures.
	Skip string
	// Medians over the rounds.
	RPS           float64
	P50, P99, Max time.Duration
	CPUShare      float64
	CPUPerRequest time.Duration
	LoadShare     float64
	Noise         float64
	// WorstMax is the slowest request of all rounds.
	WorstMax time.Duration
	// Origin is the origin's requests over every measured round, or for a
	// stampede the most any round caused (one cold URL per round).
	Origin int64
	// OriginRounds lists the origin's requests round by round.
	OriginRounds []int64
	// Spread is (max − min) / median of the rounds' requests/s.
	Spread float64
	// Errors over every round.
	Errors int64
	Notes  []string
	// HeaderDiff is the cell's (see Cell.HeaderDiff).
	HeaderDiff string
}

// makeRow reduces a cell.
func makeRow(sc Scenario, server string, c *Cell) Row {
	r := Row{Scenario: sc, Server: server, Skip: c.Skip, Notes: c.Notes, HeaderDiff: c.HeaderDiff}
	if r.Skip != "" || len(c.Samples) == 0 {
		if r.Skip == "" {
			r.Skip = "no successful round"
		}
		return r
	}
	var rps, share, load, noise []float64
	var p50, p99, mx, cpuReq []time.Duration
	for _, x := range c.Samples {
		rps = append(rps, x.RPS())
		share = append(share, x.CPUShare())
		noise = append(noise, x.Noise)
		load = append(load, x.LoadShare())
		p50 = append(p50, x.P50)
		p99 = append(p99, x.P99)
		mx = append(mx, x.Max)
		cpuReq = append(cpuReq, x.CPUPerRequest())
		r.Errors += x.Errors
		r.OriginRounds = append(r.OriginRounds, x.Origin)
		r.WorstMax = max(r.WorstMax, x.Max)
		if sc.Stampede {
			r.Origin = max(r.Origin, x.Origin)
		} else {
			r.Origin += x.Origin
		}
	}
	r.RPS, r.CPUShare, r.LoadShare, r.Noise = median(rps), median(share), median(load), median(noise)
	r.P50, r.P99, r.Max, r.CPUPerRequest = medianD(p50), medianD(p99), medianD(mx), medianD(cpuReq)
	if r.RPS > 0 {
		r.Spread = (slices.Max(rps) - slices.Min(rps)) / r.RPS
	}
	return r
}

// median of a non-empty slice (mean of the two middle values when even).
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func medianD(v []time.Duration) time.Duration {
	f := make([]float64, len(v))
	for i, d := range v {
		f[i] = float64(d)
	}
	return time.Duration(median(f))
}

// Table is every row of a run, looked up by scenario id and server.
type Table struct {
	Rows []Row
}

// Get returns the row of scenario id and server, if any.
func (t Table) Get(id, server string) (Row, bool) {
	for _, r := range t.Rows {
		if r.Scenario.ID == id && r.Server == server {
			return r, true
		}
	}
	return Row{}, false
}
