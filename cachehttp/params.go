package cachehttp

import "strings"

// ParamFilter names the query parameters left out of cache keys (and out of
// the request a miss sends to the origin): tracking tags such as utm_source
// or fbclid that do not change the page and would otherwise split one page
// into as many entries as there are ad campaigns.
//
// A pattern is an exact parameter name or a glob where "*" matches any run
// of characters ("utm_*"). Names are compared after key normalisation
// (percent-encoded unreserved characters decoded) and case-sensitively, as
// the origin sees them. The nil *ParamFilter drops nothing. It is immutable
// and safe for concurrent use.
type ParamFilter struct {
	exact map[string]struct{}
	globs []string
}

// NewParamFilter builds a filter from patterns (cache.ignore_params).
// Empty patterns are skipped; no pattern gives nil.
func NewParamFilter(patterns []string) *ParamFilter {
	f := &ParamFilter{exact: make(map[string]struct{})}
	for _, p := range patterns {
		switch {
		case p == "":
		case strings.Contains(p, "*"):
			f.globs = append(f.globs, p)
		default:
			f.exact[p] = struct{}{}
		}
	}
	if len(f.exact) == 0 && len(f.globs) == 0 {
		return nil
	}
	return f
}

// Drop reports whether the parameter called name is left out of keys.
func (f *ParamFilter) Drop(name []byte) bool {
	if f == nil {
		return false
	}
	if _, ok := f.exact[string(name)]; ok {
		return true
	}
	for _, g := range f.globs {
		if globMatch(g, name) {
			return true
		}
	}
	return false
}

// globMatch matches s against a pattern where '*' is any run of bytes.
func globMatch(pattern string, s []byte) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
