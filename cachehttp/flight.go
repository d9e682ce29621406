package cachehttp

import (
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// outcome is how an origin fetch ended, as its waiters need to know.
type outcome uint8

const (
	// outStored: the answer was stored; waiters look it up again.
	outStored outcome = iota
	// outPass: the answer could not be stored and is not shared (it may be
	// meant for one shopper); waiters ask the origin themselves.
	outPass
	// outShared: a server error, shared with waiters as it is (resp), so a
	// failing origin is not asked once per waiting shopper.
	outShared
	// outFailed: no usable answer (err); waiters serve stale if they may or
	// write the error.
	outFailed
)

// flight is one origin fetch for a key that other requests can wait for.
// The leader fills the result fields, then closes done.
type flight struct {
	done    chan struct{}
	waiters atomic.Int32 // requests waiting for this fetch
	outcome outcome
	entry   *Entry             // the entry stored or refreshed (outStored)
	resp    *fasthttp.Response // owned copy, read-only once done (outShared)
	err     error              // outFailed
}

// flights are the fetches under way, by primary key: the keyed
// single-flight that makes concurrent misses for one key one origin request.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

// join returns the flight for key and whether the caller leads it (and must
// call finish).
func (g *flights) join(key string) (*flight, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		return f, false
	}
	f := &flight{done: make(chan struct{})}
	g.m[key] = f
	return f, true
}

// running reports whether a flight for key is under way.
func (g *flights) running(key []byte) bool {
	g.mu.Lock()
	_, ok := g.m[string(key)]
	g.mu.Unlock()
	return ok
}

// finish ends a flight: later requests start a new one, waiters wake.
func (g *flights) finish(key string, f *flight) {
	g.mu.Lock()
	if g.m[key] == f {
		delete(g.m, key)
	}
	g.mu.Unlock()
	close(f.done)
}

func (g *flights) len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.m)
}

// waiting is the number of requests waiting for fetches.
func (g *flights) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, f := range g.m {
		n += int(f.waiters.Load())
	}
	return n
}
