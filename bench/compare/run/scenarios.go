package main

import (
	"strconv"

	"edge/bench/compare/pages"
)

// Scenario is one line group of the table.
type Scenario struct {
	// ID names the scenario in BENCH_ONLY.
	ID string
	// Title is its label in the table.
	Title string
	// Paths is the path each server is asked for; a server without one
	// does not take part (the ceiling has nothing to show where the work
	// is the origin's).
	Paths map[string]string
	// URLs, when positive, spreads the load over Paths + n for n in
	// [0, URLs): the many-URLs scenario.
	URLs int
	// Uncached marks the scenario measured with Settings.ConnsUncached.
	Uncached bool
	// Stampede marks the burst on a cold URL (Paths are prefixes, a fresh
	// id is appended per round).
	Stampede bool
}

// scenarios returns the run's scenarios in the table's order.
func scenarios(s Settings) []Scenario {
	same := func(path string, servers ...string) map[string]string {
		m := map[string]string{}
		for _, name := range servers {
			m[name] = path
		}
		return m
	}
	includes := func(k pages.Kind, ceiling bool) map[string]string {
		m := map[string]string{"edge": "/esi/" + k.Name(), "varnish": "/esi/" + k.Name(), "nginx": "/ssi/" + k.Name()}
		if ceiling {
			m["ceiling"] = "/esi/" + k.Name()
		}
		return m
	}
	all := []Scenario{
		{ID: "hot", Title: "hot URL", Paths: same("/hot", allServers...)},
		{ID: "urls", Title: strconv.Itoa(s.URLs) + " URLs", Paths: same("/u/", allServers...), URLs: s.URLs},
		{ID: "esi-cached", Title: "ESI, 3 cached fragments", Paths: includes(pages.Cached, true)},
		{ID: "esi-uncached", Title: "ESI, 3 uncached " + s.FragDelay.String() + " fragments", Paths: includes(pages.Uncached, false), Uncached: true},
		{ID: "stampede", Title: strconv.Itoa(s.StampedeClients) + " clients, cold " + s.SlowDelay.String() + " URL", Paths: same("/slow/", "edge", "varnish", "nginx"), Stampede: true},
	}
	var out []Scenario
	for _, sc := range all {
		if s.wants(sc.ID) {
			out = append(out, sc)
		}
	}
	return out
}

// scenarioIDs lists the valid BENCH_ONLY values.
func scenarioIDs() []string { return []string{"hot", "urls", "esi-cached", "esi-uncached", "stampede"} }

// expected returns the bytes a client of path must receive, or nil when
// no fixed answer exists.
func expected(path string) []byte {
	switch path {
	case "/hot":
		return pages.Hot()
	case "/esi/cached", "/ssi/cached":
		return pages.Assembled(pages.Cached)
	case "/esi/uncached", "/ssi/uncached":
		return pages.Assembled(pages.Uncached)
	}
	if len(path) > len("/u/") && path[:len("/u/")] == "/u/" {
		if n, err := strconv.Atoi(path[len("/u/"):]); err == nil {
			return pages.U(n)
		}
	}
	return nil
}
