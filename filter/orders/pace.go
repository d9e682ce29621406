package orders

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"edge/filter/ratelimit"
)

// slots bounds the orders a dispatcher has in flight: in total and per
// item. Limits are read at every check, so a reload that changes them takes
// effect at once.
type slots struct {
	mu     sync.Mutex
	cond   sync.Cond
	total  int
	items  map[string]int
	closed bool
}

func newSlots() *slots {
	s := &slots{items: map[string]int{}}
	s.cond.L = &s.mu
	return s
}

// acquire waits for a slot of item under the limits limit returns (total,
// per item); false once the slots are closed.
func (s *slots) acquire(item string, limit func() (total, perItem int)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.closed {
			return false
		}
		total, perItem := limit()
		if s.total < total && s.items[item] < perItem {
			s.total++
			s.items[item]++
			return true
		}
		s.cond.Wait()
	}
}

// release gives a slot of item back.
func (s *slots) release(item string) {
	s.mu.Lock()
	s.total--
	if n := s.items[item] - 1; n > 0 {
		s.items[item] = n
	} else {
		delete(s.items, item)
	}
	s.cond.Broadcast()
	s.mu.Unlock()
}

// wake makes waiters check the limits again (they changed).
func (s *slots) wake() {
	s.mu.Lock()
	s.cond.Broadcast()
	s.mu.Unlock()
}

// close makes every waiting and later acquire fail.
func (s *slots) close() {
	s.mu.Lock()
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
}

// pacer spaces the sends to the shop to a rate: fleet-wide through a GCRA
// bucket in Redis (burst 1) when remote is set, else (and while Redis
// fails) on this node alone. One goroutine of the node asks at a time, so a
// crowd of waiting orders costs Redis one call per send, not one per waiter.
type pacer struct {
	mu     sync.Mutex
	local  *rate.Limiter
	remote *ratelimit.Redis
	key    []byte
	lim    ratelimit.Limit
	after  func(time.Duration) <-chan time.Time
}

// newPacer returns a pacer of perSecond sends, nil when perSecond is 0
// (unbounded). remote may be nil.
func newPacer(perSecond float64, remote *ratelimit.Redis, key string, after func(time.Duration) <-chan time.Time) *pacer {
	if perSecond <= 0 {
		return nil
	}
	return &pacer{
		local:  rate.NewLimiter(rate.Limit(perSecond), 1),
		remote: remote,
		key:    []byte(key),
		lim:    ratelimit.Limit{Rate: perSecond, Burst: 1},
		after:  after,
	}
}

// wait blocks until one send may go; false when stop closed first.
func (p *pacer) wait(stop <-chan struct{}) bool {
	if p == nil {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.remote != nil {
		d, err := p.remote.Allow(context.Background(), p.key, p.lim)
		if err != nil {
			break // Redis fails: this node paces alone meanwhile
		}
		if d.Allowed {
			return true
		}
		select {
		case <-p.after(d.RetryAfter):
		case <-stop:
			return false
		}
	}
	r := p.local.Reserve()
	if delay := r.Delay(); delay > 0 {
		select {
		case <-p.after(delay):
		case <-stop:
			r.Cancel()
			return false
		}
	}
	return true
}
