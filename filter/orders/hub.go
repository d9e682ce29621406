package orders

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"edge/filter/ratelimit"
	"edge/internal/config"
)

// Defaults applied when a config.Queue value is zero (config.Load applies
// the same ones).
const (
	// DefaultMaxLength bounds a route's queued, undecided orders.
	DefaultMaxLength = 100000
	// DefaultConcurrency bounds one node's orders in flight to the shop.
	DefaultConcurrency = 64
	// DefaultConcurrencyPerItem bounds one node's orders of one item in
	// flight to the shop.
	DefaultConcurrencyPerItem = 8
	// DefaultRetries is how many times a failed send is repeated.
	DefaultRetries = 5
	// DefaultRetryBackoff is the wait before the first repeat (doubled per
	// repeat, at most 10s).
	DefaultRetryBackoff = 500 * time.Millisecond
	// DefaultResultTTL is how long a final result stays readable.
	DefaultResultTTL = time.Hour
	// DefaultClaimIdle is how long the orders of a silent node wait before
	// another node takes them over.
	DefaultClaimIdle = 30 * time.Second
	// DefaultLongPollMax bounds ?wait= of GET /_edge/orders/{ticket}.
	DefaultLongPollMax = 20 * time.Second
)

// ErrClosed is returned by Hub.NewStage after Close.
var ErrClosed = errors.New("orders: hub closed")

// HubOptions configure a Hub. Zero values take the defaults.
type HubOptions struct {
	// Pace, when set, makes route rates fleet-wide: every node draws its
	// sends from one bucket per route in Redis. Nil: each node paces alone.
	Pace *ratelimit.Redis
	// After is the dispatchers' timer (retry backoff, pacing). Default
	// time.After.
	After func(time.Duration) <-chan time.Time
	// Now is the clock of queueing times. Default time.Now.
	Now func() time.Time
	// Log receives the dispatchers' problems. Default slog.Default().
	Log *slog.Logger
}

// Hub is the async order machinery of one process: the backend, the
// metrics and one dispatcher per async route. It outlives reloads: each
// route table asks it for its stages (NewStage); a route's dispatcher runs
// while a table using the route is alive, follows the settings of the
// newest one, and once none is left runs on until the route's queue is
// empty.
type Hub struct {
	be     Backend
	settle Settler
	m      *Metrics
	opts   HubOptions

	mu     sync.Mutex
	routes map[string]*hubRoute
	closed bool
	done   chan struct{} // closed by Close
}

// hubRoute is one async route: its dispatcher and the live stages using
// it, oldest first (the newest gives the settings).
type hubRoute struct {
	d        *dispatcher
	m        *routeMetrics
	stages   []*Stage
	draining bool // no stage left: the dispatcher runs until the queue is empty
}

// NewHub returns a hub over be. settle settles the stock units of decided
// orders (nil: units are not settled, for routes without stock). m may be
// nil (metrics not registered).
func NewHub(be Backend, settle Settler, m *Metrics, o HubOptions) *Hub {
	if settle == nil {
		settle = noSettle{}
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Hub{be: be, settle: settle, m: m, opts: o, routes: map[string]*hubRoute{}, done: make(chan struct{})}
}

// Backend returns the hub's backend.
func (h *Hub) Backend() Backend { return h.be }

// NewStage returns the async stage of route for a new route table and
// makes cfg the route's dispatch settings (sender sends its orders to the
// shop). The stage's Close releases it; the route's dispatcher stops when
// no live stage uses it.
func (h *Hub) NewStage(route string, cfg *config.Queue, prepare Preparer, sender Sender) (*Stage, error) {
	if prepare == nil || sender == nil {
		return nil, errors.New("orders: a stage needs a preparer and a sender")
	}
	set := h.settings(route, cfg, sender)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	hr := h.routes[route]
	if hr == nil {
		rm := h.m.route(route)
		hr = &hubRoute{m: rm, d: newDispatcher(route, h.be, h.settle, rm, h.opts.Log, h.opts.After, set)}
		h.routes[route] = hr
		hr.d.start()
	} else {
		hr.d.update(set)
		hr.draining = false
	}
	s := &Stage{hub: h, route: route, prepare: prepare, set: set, m: hr.m, now: h.opts.Now,
		log: h.opts.Log.With(slog.String("stage", "queue"), slog.String("route", route))}
	hr.stages = append(hr.stages, s)
	return s, nil
}

// release forgets s; the route's dispatcher returns to the settings of the
// newest stage left or, when none is left (the route was removed or made
// sync), drains the route's queue and then stops.
func (h *Hub) release(s *Stage) {
	h.mu.Lock()
	hr := h.routes[s.route]
	if hr == nil {
		h.mu.Unlock()
		return
	}
	i := slices.Index(hr.stages, s)
	if i < 0 {
		h.mu.Unlock()
		return
	}
	hr.stages = slices.Delete(hr.stages, i, i+1)
	if len(hr.stages) > 0 {
		if i == len(hr.stages) { // the newest left: back to the one before
			hr.d.update(hr.stages[len(hr.stages)-1].set)
		}
		h.mu.Unlock()
		return
	}
	if !hr.draining {
		hr.draining = true
		go h.drain(s.route, hr)
	}
	h.mu.Unlock()
}

// drain keeps a route without stages dispatching until its queue is empty
// (fleet-wide with Redis), so that orders queued before a reload removed
// the route are still decided; then it stops the dispatcher. A new stage
// for the route takes the dispatcher over again.
func (h *Hub) drain(route string, hr *hubRoute) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		n, _, err := h.be.Stats(context.Background(), route)
		h.mu.Lock()
		switch {
		case h.routes[route] != hr || !hr.draining:
			h.mu.Unlock()
			return // closed, or in use again
		case err == nil && n == 0:
			delete(h.routes, route)
			h.mu.Unlock()
			hr.d.close()
			h.m.forget(route)
			return
		}
		h.mu.Unlock()
		select {
		case <-tick.C:
		case <-h.done:
			return
		}
	}
}

// longPoll returns the long-poll bound of route.
func (h *Hub) longPoll(route string) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if hr := h.routes[route]; hr != nil && len(hr.stages) > 0 {
		return hr.stages[len(hr.stages)-1].set.longPoll
	}
	return DefaultLongPollMax
}

// Close stops every dispatcher (sends in flight finish and record their
// results; other orders stay queued) and the backend.
func (h *Hub) Close() error {
	h.mu.Lock()
	if !h.closed {
		close(h.done)
	}
	h.closed = true
	routes := h.routes
	h.routes = map[string]*hubRoute{}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for name, hr := range routes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hr.d.close()
			h.m.forget(name)
		}()
	}
	wg.Wait()
	return h.be.Close()
}

// settings builds a route's dispatch settings from cfg (zero values take
// the defaults).
func (h *Hub) settings(route string, q *config.Queue, sender Sender) *settings {
	if q == nil {
		q = &config.Queue{}
	}
	or := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	ord := func(v config.Duration, def time.Duration) time.Duration {
		if v > 0 {
			return v.D()
		}
		return def
	}
	s := &settings{
		sender:    sender,
		maxLen:    or(q.MaxLength, DefaultMaxLength),
		total:     or(q.Concurrency, DefaultConcurrency),
		perItem:   or(q.ConcurrencyPerItem, DefaultConcurrencyPerItem),
		retries:   DefaultRetries,
		backoff:   ord(q.RetryBackoff, DefaultRetryBackoff),
		resultTTL: ord(q.ResultTTL, DefaultResultTTL),
		claimIdle: ord(q.ClaimIdle, DefaultClaimIdle),
		longPoll:  ord(q.LongPollMax, DefaultLongPollMax),
		pacer:     newPacer(q.Rate.PerSecond(), h.opts.Pace, "{orders}:rate:"+route, h.opts.After),
	}
	if q.Retries != nil {
		s.retries = max(*q.Retries, 0)
	}
	s.maxHeld = max(2*s.total, 16)
	return s
}
