package main

import (
	"net/http"
	"slices"
	"strings"
)

// ceilingTargets holds the scenarios whose target is a ratio of edge's
// requests/s to the ceiling's, with that ratio. Those ratios are only
// meaningful if both answer with the same bytes; the body is checked byte
// for byte, and headerDiff guards the header.
var ceilingTargets = map[string]float64{"hot": 0.9, "urls": 0.85}

// headerNames returns the names of h, lower-cased and sorted, without Date
// (which every server adds) and without duplicates.
func headerNames(h http.Header) []string {
	names := make([]string, 0, len(h))
	for k := range h {
		k = strings.ToLower(k)
		if k != "date" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// headerDiff compares the header names of edge's answer with the
// ceiling's, ignoring Date, case and order. It returns "" when they agree,
// else which names only one of them sends.
func headerDiff(edge, ceiling http.Header) string {
	e, c := headerNames(edge), headerNames(ceiling)
	var onlyEdge, onlyCeiling []string
	for _, n := range e {
		if _, found := slices.BinarySearch(c, n); !found {
			onlyEdge = append(onlyEdge, n)
		}
	}
	for _, n := range c {
		if _, found := slices.BinarySearch(e, n); !found {
			onlyCeiling = append(onlyCeiling, n)
		}
	}
	var parts []string
	if len(onlyEdge) > 0 {
		parts = append(parts, "only edge sends "+strings.Join(onlyEdge, ", "))
	}
	if len(onlyCeiling) > 0 {
		parts = append(parts, "only the ceiling sends "+strings.Join(onlyCeiling, ", "))
	}
	return strings.Join(parts, "; ")
}
