package orders

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"sync"
	"time"
)

// sweepEvery is how often Memory drops expired results.
const sweepEvery = time.Minute

// Memory is the one-node backend, used when no Redis is configured: the
// same API, the queues and results in this process's memory. Queued orders
// and results are lost when the process ends (their stock units stay
// reserved until an operator releases them); use Redis for orders that must
// survive a restart.
type Memory struct {
	now   func() time.Time
	watch *watchers

	mu        sync.Mutex
	queues    map[string]*memQueue
	results   map[string]*memResult
	seq       uint64
	nextSweep time.Time
}

// memQueue is one route's queue: orders not delivered yet, in order, and
// orders delivered and not acknowledged.
type memQueue struct {
	ready []*memEntry
	head  int
	held  map[string]*memEntry
	wake  chan struct{} // closed and replaced when an order is queued
}

type memEntry struct {
	id        string
	seq       uint64
	order     *Order
	delivered time.Time
}

type memResult struct {
	r       Result
	expires time.Time
}

var _ Backend = (*Memory)(nil)

// NewMemory returns an empty in-memory backend. now is its clock (nil:
// time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, watch: newWatchers(), queues: map[string]*memQueue{},
		results: map[string]*memResult{}}
}

// queue returns route's queue, creating it. The caller holds m.mu.
func (m *Memory) queue(route string) *memQueue {
	q := m.queues[route]
	if q == nil {
		q = &memQueue{held: map[string]*memEntry{}, wake: make(chan struct{})}
		m.queues[route] = q
	}
	return q
}

func (q *memQueue) length() int { return len(q.ready) - q.head + len(q.held) }

// Enqueue implements Backend.
func (m *Memory) Enqueue(_ context.Context, o *Order, maxLen int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.sweep(now)
	q := m.queue(o.Route)
	if q.length() >= maxLen {
		return ErrFull
	}
	m.seq++
	q.ready = append(q.ready, &memEntry{id: strconv.FormatUint(m.seq, 10), seq: m.seq, order: o})
	m.results[o.Ticket] = &memResult{
		r:       Result{Ticket: o.Ticket, Route: o.Route, User: o.User, Status: StatusPending, Enqueued: o.Enqueued},
		expires: now.Add(PendingTTL),
	}
	close(q.wake)
	q.wake = make(chan struct{})
	return nil
}

// sweep drops expired results once per sweepEvery. The caller holds m.mu.
func (m *Memory) sweep(now time.Time) {
	if now.Before(m.nextSweep) {
		return
	}
	m.nextSweep = now.Add(sweepEvery)
	for t, r := range m.results {
		if !now.Before(r.expires) {
			delete(m.results, t)
		}
	}
}

// result returns ticket's live result. The caller holds m.mu.
func (m *Memory) result(ticket string) *memResult {
	r := m.results[ticket]
	if r == nil || !m.now().Before(r.expires) {
		return nil
	}
	return r
}

// Cancel implements Backend.
func (m *Memory) Cancel(_ context.Context, ticket string) error {
	m.mu.Lock()
	delete(m.results, ticket)
	m.mu.Unlock()
	return nil
}

// Read implements Backend.
func (m *Memory) Read(ctx context.Context, route string, n int, block time.Duration) ([]Delivery, error) {
	var timer *time.Timer
	for {
		m.mu.Lock()
		q := m.queue(route)
		if q.head < len(q.ready) {
			out := m.deliver(q, n)
			m.mu.Unlock()
			if timer != nil {
				timer.Stop()
			}
			return out, nil
		}
		wake := q.wake
		m.mu.Unlock()
		if block <= 0 {
			return nil, nil
		}
		if timer == nil {
			timer = time.NewTimer(block)
			defer timer.Stop()
		}
		select {
		case <-wake:
		case <-timer.C:
			return nil, nil
		case <-ctx.Done():
			return nil, nil
		}
	}
}

// deliver moves up to n ready orders to held. The caller holds m.mu.
func (m *Memory) deliver(q *memQueue, n int) []Delivery {
	now := m.now()
	var out []Delivery
	for ; q.head < len(q.ready) && len(out) < n; q.head++ {
		e := q.ready[q.head]
		q.ready[q.head] = nil
		e.delivered = now
		q.held[e.id] = e
		out = append(out, Delivery{ID: e.id, Order: e.order})
	}
	if q.head > 64 && q.head*2 > len(q.ready) {
		q.ready = append(q.ready[:0], q.ready[q.head:]...)
		q.head = 0
	}
	return out
}

// Claim implements Backend.
func (m *Memory) Claim(_ context.Context, route string, idle time.Duration, n int) ([]Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queue(route)
	now := m.now()
	var idleOnes []*memEntry
	for _, e := range q.held {
		if now.Sub(e.delivered) >= idle {
			idleOnes = append(idleOnes, e)
		}
	}
	slices.SortFunc(idleOnes, func(a, b *memEntry) int { return cmp.Compare(a.seq, b.seq) })
	var out []Delivery
	for _, e := range idleOnes {
		if len(out) == n {
			break
		}
		e.delivered = now
		out = append(out, Delivery{ID: e.id, Order: e.order})
	}
	return out, nil
}

// Touch implements Backend.
func (m *Memory) Touch(_ context.Context, route string, ids []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queue(route)
	now := m.now()
	for _, id := range ids {
		if e := q.held[id]; e != nil {
			e.delivered = now
		}
	}
	return nil
}

// Attempt implements Backend.
func (m *Memory) Attempt(_ context.Context, ticket string) (string, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.result(ticket)
	if r == nil {
		return "", 0, nil
	}
	if r.r.Status == StatusPending {
		r.r.Attempts++
	}
	return r.r.Status, r.r.Attempts, nil
}

// Finish implements Backend.
func (m *Memory) Finish(_ context.Context, route, id string, res *Result, ttl time.Duration) error {
	m.mu.Lock()
	delete(m.queue(route).held, id)
	r := m.result(res.Ticket)
	wrote := r != nil && r.r.Status == StatusPending
	if wrote {
		// The ticket's shopper, route, queueing time and attempts stay.
		r.r.Status, r.r.Reason, r.r.Code = res.Status, res.Reason, res.Code
		r.r.ContentType, r.r.Body, r.r.Done = res.ContentType, slices.Clone(res.Body), res.Done
		r.expires = m.now().Add(ttl)
	}
	m.mu.Unlock()
	if wrote {
		m.watch.wake(res.Ticket)
	}
	return nil
}

// Drop implements Backend.
func (m *Memory) Drop(_ context.Context, route, id string) error {
	m.mu.Lock()
	delete(m.queue(route).held, id)
	m.mu.Unlock()
	return nil
}

// Stats implements Backend.
func (m *Memory) Stats(_ context.Context, route string) (int64, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queue(route)
	var oldest time.Time
	older := func(t time.Time) {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	if q.head < len(q.ready) {
		older(q.ready[q.head].order.Enqueued)
	}
	for _, e := range q.held {
		older(e.order.Enqueued)
	}
	return int64(q.length()), oldest, nil
}

// Result implements Backend.
func (m *Memory) Result(_ context.Context, ticket string) (*Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.result(ticket)
	if r == nil {
		return nil, nil
	}
	out := r.r
	out.Body = slices.Clone(r.r.Body)
	return &out, nil
}

// Watch implements Backend.
func (m *Memory) Watch(ticket string) (<-chan struct{}, func()) { return m.watch.add(ticket) }

// Close implements Backend; the memory backend has no background work.
func (m *Memory) Close() error { return nil }
