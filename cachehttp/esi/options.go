package esi

import (
	"time"

	"edge/internal/config"
)

// Defaults and hard caps of Options. A zero or negative field takes the
// default; a larger one is cut to the cap so a config typo cannot make one
// page fan out without bound.
const (
	DefaultMaxDepth    = 3
	DefaultMaxIncludes = 32
	DefaultConcurrency = 8
	DefaultTimeout     = 500 * time.Millisecond

	maxDepthCap    = 10
	maxIncludesCap = 1024
	concurrencyCap = 256
)

// OnError values.
const (
	// OnErrorDrop drops a failed fragment that nothing else handles.
	OnErrorDrop = "drop"
	// OnErrorFail makes Assemble return an error (the page answers 502).
	OnErrorFail = "fail"
)

// Options bound and steer one page assembly.
type Options struct {
	// MaxDepth is the deepest include level fetched: 1 allows the page's own
	// includes only, 3 (the default) allows fragments of fragments of
	// fragments. Deeper includes fail (and follow the failure rules). Capped
	// at 10.
	MaxDepth int
	// MaxIncludes bounds the includes fetched for one page, all levels
	// together (an include's alt is part of the same include). Includes past
	// it fail. Default 32, capped at 1024.
	MaxIncludes int
	// Concurrency is how many fragments of one page are fetched at once.
	// Default 8, capped at 256. 1 fetches them one by one without
	// goroutines.
	Concurrency int
	// Timeout is the deadline of the whole page's fetches, from the start of
	// Assemble. Fetches still running then count as timeouts and follow the
	// failure rules. Default 500ms.
	Timeout time.Duration
	// OnError says what a failed include that has no alt that works, no
	// onerror="continue" and no enclosing esi:try does: OnErrorDrop (the
	// default, also for any unknown value) leaves it out; OnErrorFail fails
	// the page (or, in a fragment, the include of that fragment).
	OnError string
	// AllowedHosts lists the hosts absolute include URLs may name: "host"
	// (default port of the URL's scheme only), "host:port", "[::1]:8080" or
	// "*.example.com". Empty (the default) refuses every absolute URL except
	// those naming the page's own host, which are fetched as paths.
	AllowedHosts []string
}

// OptionsFromConfig converts a route's esi block; nil yields the defaults.
func OptionsFromConfig(c *config.ESI) Options {
	if c == nil {
		return Options{}
	}
	return Options{
		MaxDepth:     c.MaxDepth,
		MaxIncludes:  c.MaxIncludes,
		Concurrency:  c.Concurrency,
		Timeout:      c.Timeout.D(),
		OnError:      c.OnError,
		AllowedHosts: c.AllowedHosts,
	}
}

func (o Options) normalized() Options {
	o.MaxDepth = clampDefault(o.MaxDepth, DefaultMaxDepth, maxDepthCap)
	o.MaxIncludes = clampDefault(o.MaxIncludes, DefaultMaxIncludes, maxIncludesCap)
	o.Concurrency = clampDefault(o.Concurrency, DefaultConcurrency, concurrencyCap)
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.OnError != OnErrorFail {
		o.OnError = OnErrorDrop
	}
	return o
}

func clampDefault(v, def, limit int) int {
	if v <= 0 {
		return def
	}
	return min(v, limit)
}
