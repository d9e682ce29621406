// Package queue is the per-item queue of the funnel: it bounds the orders
// of one item in flight from this node to the shop, so a burst that passed
// the stock gate reaches the shop at a pace it can take, and makes the rest
// wait their turn, first come first served, for a bounded time.
package queue

import (
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"edge/filter"
	"edge/internal/config"
)

// Defaults applied when the config leaves a value at zero (config.Load
// applies the same ones).
const (
	// DefaultConcurrency is the orders of one item in flight to the shop.
	DefaultConcurrency = 8
	// DefaultMaxWait bounds one order's wait for a slot.
	DefaultMaxWait = 2 * time.Second
	// DefaultMaxWaiting bounds the orders waiting per item.
	DefaultMaxWaiting = 1024
	// RetryAfter is sent with queue_full.
	RetryAfter = time.Second
)

// shards spreads the items over this many locks.
const shards = 16

// ErrAsyncUnsupported is returned by New for mode "async": async orders are
// the orders package's stage (filter/orders), built instead of this one.
var ErrAsyncUnsupported = errors.New(`queue: mode "async" is served by the async order stage, not this one`)

// Queue is the funnel stage "queue" (mode sync). Per item, at most
// ConcurrencyPerItem orders are in flight to the shop from this node; the
// next ones wait in arrival order, at most MaxWaiting of them and each at
// most MaxWait, and are then refused with 503 {"error":"queue_full"} and
// Retry-After. A slot is held from Handle until After (the shop answered,
// or the request ended otherwise) and then handed to the longest waiter.
//
// An item's state exists only while it has orders in flight or waiting, so
// memory stays bounded by the traffic, not by the item ids ever seen. The
// bound is per node and per route table: during a reload the retiring table
// finishes its orders while the new one admits its own.
//
// Queue is safe for concurrent use; it starts no goroutines.
type Queue struct {
	route      string
	conc       int
	maxWait    time.Duration
	maxWaiting int
	m          *routeMetrics
	seed       maphash.Seed
	shards     [shards]shard
}

type shard struct {
	mu    sync.Mutex
	items map[string]*item
}

// item is the queue of one item id.
type item struct {
	key      string
	inFlight int
	waiting  int
	head     *waiter // oldest
	tail     *waiter
}

// waiter is one order waiting for a slot. granted is set (under the shard
// lock) when a slot is handed over; ch then holds one token.
type waiter struct {
	prev, next *waiter
	ch         chan struct{}
	granted    bool
}

var (
	_ filter.Stage   = (*Queue)(nil)
	_ filter.Afterer = (*Queue)(nil)
)

// New builds the sync queue stage of route from cfg (nil: the defaults).
// Mode "async" is refused with ErrAsyncUnsupported (filter/orders builds
// that stage); negative sizes are refused. m may be nil (metrics not registered).
func New(route string, cfg *config.Queue, m *Metrics) (*Queue, error) {
	q := &Queue{
		route:      route,
		conc:       DefaultConcurrency,
		maxWait:    DefaultMaxWait,
		maxWaiting: DefaultMaxWaiting,
		seed:       maphash.MakeSeed(),
	}
	if cfg != nil {
		switch cfg.Mode {
		case "", "sync":
		case "async":
			return nil, ErrAsyncUnsupported
		default:
			return nil, fmt.Errorf("queue: unknown mode %q (want sync)", cfg.Mode)
		}
		if cfg.ConcurrencyPerItem < 0 || cfg.MaxWaiting < 0 || cfg.MaxWait < 0 {
			return nil, fmt.Errorf("queue: concurrency_per_item, max_waiting and max_wait must not be negative")
		}
		if cfg.ConcurrencyPerItem > 0 {
			q.conc = cfg.ConcurrencyPerItem
		}
		if cfg.MaxWait > 0 {
			q.maxWait = cfg.MaxWait.D()
		}
		if cfg.MaxWaiting > 0 {
			q.maxWaiting = cfg.MaxWaiting
		}
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	q.m = m.route(route)
	for i := range q.shards {
		q.shards[i].items = make(map[string]*item)
	}
	return q, nil
}

// Name returns "queue".
func (q *Queue) Name() string { return "queue" }

// slotKey is the user-value key under which Handle leaves the held slot's
// item for After.
type slotKey struct{}

// Handle admits the order when its item has a free slot, else waits for
// one in FIFO order (bounded), else refuses with queue_full.
func (q *Queue) Handle(ctx *fasthttp.RequestCtx, st *filter.State) filter.Verdict {
	sh := &q.shards[maphash.Bytes(q.seed, st.Item)%shards]
	sh.mu.Lock()
	it := sh.items[string(st.Item)]
	if it == nil {
		it = &item{key: string(st.Item)}
		sh.items[it.key] = it
	}
	if it.inFlight < q.conc && it.head == nil {
		it.inFlight++
		sh.mu.Unlock()
		q.m.admitted.Inc()
		return q.hold(ctx, it)
	}
	if it.waiting >= q.maxWaiting {
		sh.forget(it)
		sh.mu.Unlock()
		q.m.full.Inc()
		return filter.Reject(ctx, st, "queue", fasthttp.StatusServiceUnavailable, "queue_full", RetryAfter)
	}
	w := &waiter{ch: make(chan struct{}, 1)} // only waiting orders allocate
	it.push(w)
	sh.mu.Unlock()

	start := time.Now()
	timer := time.NewTimer(q.maxWait)
	select {
	case <-w.ch:
		timer.Stop()
	case <-timer.C:
		sh.mu.Lock()
		if !w.granted {
			it.remove(w)
			sh.forget(it)
			sh.mu.Unlock()
			q.m.wait.Observe(time.Since(start).Seconds())
			q.m.full.Inc()
			return filter.Reject(ctx, st, "queue", fasthttp.StatusServiceUnavailable, "queue_full", RetryAfter)
		}
		sh.mu.Unlock()
		// Granted as the timer fired: the slot is ours.
	}
	q.m.wait.Observe(time.Since(start).Seconds())
	q.m.waited.Inc()
	return q.hold(ctx, it)
}

// hold records the held slot for After.
func (q *Queue) hold(ctx *fasthttp.RequestCtx, it *item) filter.Verdict {
	ctx.SetUserValue(slotKey{}, it)
	q.m.inFlight.Inc()
	return filter.Continue
}

// After releases the slot Handle took: to the longest waiter if any, else
// back to the item (whose state goes away once idle).
func (q *Queue) After(ctx *fasthttp.RequestCtx, st *filter.State) {
	it, _ := ctx.UserValue(slotKey{}).(*item)
	if it == nil {
		return
	}
	ctx.RemoveUserValue(slotKey{})
	q.m.inFlight.Dec()
	sh := &q.shards[maphash.String(q.seed, it.key)%shards]
	sh.mu.Lock()
	if w := it.head; w != nil {
		it.remove(w)
		w.granted = true
		w.ch <- struct{}{} // buffered, empty: never blocks
	} else {
		it.inFlight--
		sh.forget(it)
	}
	sh.mu.Unlock()
}

// forget drops it from the shard once nothing is in flight or waiting.
// The caller holds the shard lock.
func (sh *shard) forget(it *item) {
	if it.inFlight == 0 && it.head == nil && sh.items[it.key] == it {
		delete(sh.items, it.key)
	}
}

// push appends w to the waiters.
func (it *item) push(w *waiter) {
	w.prev, w.next = it.tail, nil
	if it.tail != nil {
		it.tail.next = w
	} else {
		it.head = w
	}
	it.tail = w
	it.waiting++
}

// remove unlinks w from the waiters.
func (it *item) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		it.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		it.tail = w.prev
	}
	w.prev, w.next = nil, nil
	it.waiting--
}

// Stats returns the orders in flight and waiting for item right now.
func (q *Queue) Stats(item []byte) (inFlight, waiting int) {
	sh := &q.shards[maphash.Bytes(q.seed, item)%shards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if it := sh.items[string(item)]; it != nil {
		return it.inFlight, it.waiting
	}
	return 0, 0
}

// Items returns the number of items with state (in flight or waiting).
func (q *Queue) Items() int {
	n := 0
	for i := range q.shards {
		sh := &q.shards[i]
		sh.mu.Lock()
		n += len(sh.items)
		sh.mu.Unlock()
	}
	return n
}
