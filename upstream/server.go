package upstream

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// server is one origin address of a pool: its connection pool, its health
// as seen by active probes, and its passive failure state.
//
// Passive state machine: every attempt that ends in a connection error, a
// timeout, a malformed response or a 502/503/504 adds one to fails; any
// other answer resets it. When fails reaches the pool's MaxFails the server
// is ejected until ejectedUntil. After that it is half-open: exactly one
// request at a time (the trial) may go to it; a good answer closes it again
// (fails back to 0), a failure ejects it for another EjectFor.
type server struct {
	addr  string
	index int
	hc    *fasthttp.HostClient // traffic
	probe *fasthttp.HostClient // active health checks, so probes never queue behind traffic

	writeTimeout time.Duration
	maxBody      int

	inflight atomic.Int32
	down     atomic.Bool // taken out by active health checks

	// Active check counters, touched only by the server's probe goroutine.
	probeFails, probePasses int

	mu           sync.Mutex   // serialises passive transitions
	fails        atomic.Int32 // consecutive passive failures
	ejectedUntil atomic.Int64 // unix nanoseconds; 0 when not ejected
	trial        atomic.Bool  // the half-open trial request is in flight
}

// ServerStatus describes one server for readiness checks and the dashboard.
type ServerStatus struct {
	// Addr is the server's host:port as configured.
	Addr string `json:"addr"`
	// Healthy is false while active health checks have it out.
	Healthy bool `json:"healthy"`
	// Ejected is true while passive failure counting has it out.
	Ejected bool `json:"ejected"`
	// InFlight counts requests waiting for this server's response head.
	InFlight int `json:"in_flight"`
	// Fails counts consecutive failed requests (passive).
	Fails int `json:"fails"`
}

// ejectedAt reports whether s is ejected (not yet half-open) at now.
func (s *server) ejectedAt(now int64) bool {
	eu := s.ejectedUntil.Load()
	return eu != 0 && now < eu
}

// success records a good answer: it closes a half-open or ejected server.
func (s *server) success(p *Pool, trial bool) {
	if s.fails.Load() == 0 && s.ejectedUntil.Load() == 0 {
		if trial {
			s.trial.Store(false)
		}
		return
	}
	s.mu.Lock()
	s.fails.Store(0)
	recovered := s.ejectedUntil.Swap(0) != 0
	if recovered {
		p.ejected.Add(-1)
	}
	s.trial.Store(false)
	s.mu.Unlock()
	if recovered {
		p.log.Info("upstream server back in rotation", "upstream", p.name, "server", s.addr, "reason", "passive")
		p.publish()
	}
}

// failure records a failed attempt and ejects s when it reaches the limit.
// A server already ejected and not yet half-open is left as it is, so that
// late answers of requests sent before the ejection do not prolong it.
func (s *server) failure(p *Pool, k kind, status int, trial bool) {
	if p.maxFails <= 0 {
		if trial {
			s.trial.Store(false)
		}
		return
	}
	s.mu.Lock()
	n := s.fails.Add(1)
	eject := false
	if int(n) >= p.maxFails {
		now := p.now().UnixNano()
		if !s.ejectedAt(now) {
			if s.ejectedUntil.Swap(now+int64(p.ejectFor)) == 0 {
				p.ejected.Add(1)
			}
			eject = true
		}
	}
	if trial || eject {
		s.trial.Store(false)
	}
	s.mu.Unlock()
	if !eject {
		return
	}
	p.pm.ejectedPassive.Inc()
	p.log.Warn("upstream server ejected", "upstream", p.name, "server", s.addr,
		"reason", "passive", "fails", n, "last", k.String(), "status", status, "for", p.ejectFor)
	p.publish()
	// Refresh the gauge when the ejection ends even if no request comes.
	time.AfterFunc(p.ejectFor, p.publish)
}

// resetPassive forgets passive failures (the server passed active checks
// again after being down).
func (s *server) resetPassive(p *Pool) {
	s.mu.Lock()
	s.fails.Store(0)
	if s.ejectedUntil.Swap(0) != 0 {
		p.ejected.Add(-1)
	}
	s.trial.Store(false)
	s.mu.Unlock()
}

// isFailure says whether an attempt's outcome counts against the server.
// Local limits (no free connection) and oversized bodies say nothing about
// the server's health.
func isFailure(k kind, status int) bool {
	switch k {
	case kTimeout, kConnRefused, kConnReset, kBadResponse:
		return true
	case kOK:
		return status == fasthttp.StatusBadGateway || status == fasthttp.StatusServiceUnavailable ||
			status == fasthttp.StatusGatewayTimeout
	}
	return false
}

// record updates s's passive state after one attempt.
func (p *Pool) record(s *server, k kind, status int, trial bool) {
	switch {
	case isFailure(k, status):
		s.failure(p, k, status, trial)
	case k == kOK:
		s.success(p, trial)
	case trial:
		s.trial.Store(false) // inconclusive: let another request try
	}
}

// pick chooses the server for one attempt: among servers that active checks
// keep in and that tried does not mark, the one with the fewest requests in
// flight, ties broken round robin. A half-open server competes too but takes
// one request at a time. When every such server is ejected, the pool is in
// panic mode and spreads the request over them all the same way (ejecting
// every server would turn a partial failure into a total outage). It
// returns nil only when no server is left (all down by active checks, or
// all tried).
func (p *Pool) pick(tried uint64) (s *server, trial bool) {
	n := len(p.servers)
	var now int64
	if p.ejected.Load() > 0 {
		now = p.now().UnixNano()
	}
	for range 3 { // a lost race for a trial slot rescans
		// Only first attempts advance the rotation, so that retries do not
		// skew it.
		rr := p.rr.Load()
		if tried == 0 {
			rr = p.rr.Add(1)
		}
		start := int(rr % uint32(n))
		best, panicBest := -1, -1
		var bestLoad, panicLoad int32
		bestTrial := false
		for i := range n {
			idx := start + i
			if idx >= n {
				idx -= n
			}
			c := p.servers[idx]
			if c.down.Load() || (idx < 64 && tried&(1<<idx) != 0) {
				continue
			}
			load := c.inflight.Load()
			if panicBest < 0 || load < panicLoad {
				panicBest, panicLoad = idx, load
			}
			half := false
			if eu := c.ejectedUntil.Load(); eu != 0 {
				if now < eu || c.trial.Load() {
					continue
				}
				half = true
			}
			if best < 0 || load < bestLoad {
				best, bestLoad, bestTrial = idx, load, half
			}
		}
		switch {
		case best >= 0 && !bestTrial:
			return p.servers[best], false
		case best >= 0:
			c := p.servers[best]
			if c.trial.CompareAndSwap(false, true) {
				return c, true
			}
		case panicBest >= 0:
			return p.servers[panicBest], false
		default:
			return nil, false
		}
	}
	// Three lost races in a row: the half-open server is busy with its
	// trial; treat the pool as in panic mode for this request.
	return p.leastLoaded(tried), false
}

// leastLoaded returns the server with the fewest requests in flight among
// those active checks keep in and tried does not mark, ejected or not.
func (p *Pool) leastLoaded(tried uint64) *server {
	var best *server
	for i, c := range p.servers {
		if c.down.Load() || (i < 64 && tried&(1<<i) != 0) {
			continue
		}
		if best == nil || c.inflight.Load() < best.inflight.Load() {
			best = c
		}
	}
	return best
}
