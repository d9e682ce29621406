package main

import (
	"fmt"
	"net/http"
	"strings"

	"edge/bench/compare/pages"
)

// measureAll runs every scenario on every server taking part and returns
// the table.
func (r *runner) measureAll() Table {
	var t Table
	for _, sc := range scenarios(r.s) {
		fmt.Fprintf(r.out, "\n-- %s\n", sc.Title)
		cells := map[string]*Cell{}
		headers := map[string]http.Header{}
		var live []*Server
		for _, srv := range r.servers {
			if _, ok := sc.Paths[srv.Name]; !ok {
				continue
			}
			c := &Cell{Skip: srv.Skip}
			cells[srv.Name] = c
			if c.Skip == "" && !sc.Stampede {
				headers[srv.Name], c.Skip = r.check(sc, srv)
			}
			if c.Skip != "" {
				fmt.Fprintf(r.out, "   %-8s not measured: %s\n", srv.Name, firstLine(c.Skip))
				continue
			}
			live = append(live, srv)
		}
		r.compareHeaders(sc, headers, cells)
		if sc.Stampede {
			r.stampede(sc, live, cells)
		} else {
			r.sustained(sc, live, cells)
		}
		for _, srv := range r.servers {
			if c, ok := cells[srv.Name]; ok {
				t.Rows = append(t.Rows, makeRow(sc, srv.Name, c))
			}
		}
	}
	return t
}

// check verifies a server's answer on the scenario's path (for many URLs,
// the first and the last page) and, for many URLs, stores every page. It
// returns the header of the first page's second (cached) answer, or why
// the server cannot be measured.
func (r *runner) check(sc Scenario, srv *Server) (http.Header, string) {
	path := sc.Paths[srv.Name]
	checks := []string{path}
	if sc.URLs > 0 {
		checks = []string{fmt.Sprintf("%s%d", path, 0), fmt.Sprintf("%s%d", path, sc.URLs-1)}
	}
	var first http.Header
	for i, p := range checks {
		h, problem := verify(srv.Addr, p)
		if problem != "" {
			return nil, problem
		}
		if i == 0 {
			first = h
		}
	}
	if sc.URLs > 0 {
		if failed := warm(srv.Addr, path, sc.URLs); failed > 0 {
			return nil, fmt.Sprintf("%d of %d pages failed while storing them", failed, sc.URLs)
		}
	}
	return first, ""
}

// compareHeaders, on a scenario whose target is a ratio of edge to the
// ceiling, compares the header names of the two servers' cached answers
// (see headerDiff). A difference does not stop the measurement: it is
// printed now and kept on edge's cell for the report and the target line,
// since the ratio then compares answers of different sizes.
func (r *runner) compareHeaders(sc Scenario, headers map[string]http.Header, cells map[string]*Cell) {
	if _, ok := ceilingTargets[sc.ID]; !ok {
		return
	}
	e, c := headers["edge"], headers["ceiling"]
	if e == nil || c == nil {
		return
	}
	if d := headerDiff(e, c); d != "" {
		cells["edge"].HeaderDiff = d
		fmt.Fprintf(r.out, "   note: edge's and the ceiling's answers differ in header names: %s\n", d)
		return
	}
	fmt.Fprintf(r.out, "   edge and the ceiling answer with the same header names (%s; Date aside)\n",
		strings.Join(headerNames(e), ", "))
}

// sustained measures the servers with wrk, in rounds where they take
// turns.
func (r *runner) sustained(sc Scenario, live []*Server, cells map[string]*Cell) {
	conns := r.s.Conns
	if sc.Uncached {
		conns = r.s.ConnsUncached
	}
	for _, srv := range live {
		if r.s.Warmup > 0 {
			if _, err := runWrk(r.s, r.script, "http://"+srv.Addr+sc.Paths[srv.Name], conns, r.s.Warmup, sc.URLs, sc.Paths[srv.Name]); err != nil {
				cells[srv.Name].Skip = "warm-up: " + err.Error()
			}
		}
	}
	for round := range r.s.Rounds {
		for i := range live {
			srv := live[(i+round)%len(live)] // a different server goes first each round
			c := cells[srv.Name]
			if c.Skip != "" {
				continue
			}
			path := sc.Paths[srv.Name]
			x, err := r.measure(srv, func() (Sample, error) {
				return runWrk(r.s, r.script, "http://"+srv.Addr+path, conns, r.s.round(), sc.URLs, path)
			})
			if err != nil {
				c.Notes = append(c.Notes, fmt.Sprintf("round %d failed: %s", round+1, firstLine(err.Error())))
				continue
			}
			if x.Errors > 0 {
				c.Notes = append(c.Notes, fmt.Sprintf("round %d: %d errors (connection, timeout or non-2xx)", round+1, x.Errors))
			}
			c.Samples = append(c.Samples, x)
			r.progress(sc, srv, round, x)
		}
	}
}

// stampede fires one burst per round and server, each on a URL nobody
// asked for before.
func (r *runner) stampede(sc Scenario, live []*Server, cells map[string]*Cell) {
	for round := range r.s.StampedeRounds {
		for i := range live {
			srv := live[(i+round)%len(live)]
			c := cells[srv.Name]
			path := fmt.Sprintf("%s%s-%s-%d", sc.Paths[srv.Name], srv.Name, r.runID, round)
			var firstErr string
			x, err := r.measure(srv, func() (Sample, error) {
				x, fe, err := runStampede(r.s, srv.Addr, path, pages.Size)
				firstErr = fe
				return x, err
			})
			if err != nil {
				c.Notes = append(c.Notes, fmt.Sprintf("round %d failed: %s", round+1, firstLine(err.Error())))
				continue
			}
			if x.Errors > 0 {
				c.Notes = append(c.Notes, fmt.Sprintf("round %d: %d errors, e.g. %s", round+1, x.Errors, firstErr))
			}
			c.Samples = append(c.Samples, x)
			r.progress(sc, srv, round, x)
		}
	}
}

// measure runs one round and adds the origin's requests, the server's CPU
// time and the noise meanwhile.
func (r *runner) measure(srv *Server, do func() (Sample, error)) (Sample, error) {
	o0, err := originTotal(r.oaddr)
	if err != nil {
		return Sample{}, err
	}
	c0, err := srv.Proc.CPU()
	if err != nil {
		return Sample{}, err
	}
	oc0, err := r.origin.CPU()
	if err != nil {
		return Sample{}, err
	}
	t0, err := readCPUTimes()
	if err != nil {
		return Sample{}, err
	}
	x, err := do()
	if err != nil {
		return Sample{}, err
	}
	t1, err := readCPUTimes()
	if err != nil {
		return Sample{}, err
	}
	c1, err := srv.Proc.CPU()
	if err != nil {
		return Sample{}, err
	}
	oc1, err := r.origin.CPU()
	if err != nil {
		return Sample{}, err
	}
	o1, err := originTotal(r.oaddr)
	if err != nil {
		return Sample{}, err
	}
	x.CPU, x.Origin = c1-c0, o1-o0
	if r.s.Taskset != "" {
		x.Noise = noise(t0, t1, []int{r.s.CPUServer, r.s.CPULoad}, x.CPU+x.LoadCPU+oc1-oc0)
	}
	return x, nil
}

// progress prints one line per measured round.
func (r *runner) progress(sc Scenario, srv *Server, round int, x Sample) {
	rounds := r.s.Rounds
	if sc.Stampede {
		rounds = r.s.StampedeRounds
	}
	var b strings.Builder
	fmt.Fprintf(&b, "   %-8s round %d/%d: %9s req/s  p50 %9s  p99 %9s  max %9s  origin %d  CPU %.0f%%  load %.0f%%  noise %.0f%%",
		srv.Name, round+1, rounds, groupThousands(x.RPS()), ms(x.P50), ms(x.P99), ms(x.Max), x.Origin,
		100*x.CPUShare(), 100*x.LoadShare(), 100*x.Noise)
	fmt.Fprintln(r.out, b.String())
}
