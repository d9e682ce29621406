package orders

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"edge/filter/stock"
)

// Dispatcher tuning that is not configuration.
const (
	// readBatch bounds the orders read or claimed at once.
	readBatch = 64
	// readBlock is how long one read waits for new orders.
	readBlock = time.Second
	// maintEvery is the period of the maintenance loop (stats, touch,
	// claim); touches and claims run at their own, longer periods.
	maintEvery = 250 * time.Millisecond
	// statsEvery is how often the queue gauges are read.
	statsEvery = time.Second
	// storeRetry is the wait before calling a failing backend again.
	storeRetry = time.Second
	// maxBackoff caps the wait between retries (unless retry_backoff is
	// longer).
	maxBackoff = 10 * time.Second
)

// Sender sends one order to the shop and fills resp with its answer. It
// bounds the call's time itself (the route's upstream timeout). Any answer
// from the shop, 5xx included, is a nil error; an error means no answer.
type Sender interface {
	Send(req *fasthttp.Request, resp *fasthttp.Response) error
}

// Settler settles the stock unit of a decided order (stock.Ledger
// implements it): Keep when the shop accepted, Give otherwise, MarkSoldOut
// when the shop said the item is sold out. Each acts at most once per unit.
type Settler interface {
	Keep(ctx context.Context, u stock.Unit) error
	Give(ctx context.Context, u stock.Unit) error
	MarkSoldOut(ctx context.Context, item string) error
}

// settings are a route's dispatch settings from the route table in effect.
type settings struct {
	sender         Sender
	maxLen         int
	total, perItem int
	retries        int
	backoff        time.Duration
	resultTTL      time.Duration
	claimIdle      time.Duration
	longPoll       time.Duration
	pacer          *pacer
	maxHeld        int // orders read and not decided yet, at most
}

// dispatcher feeds one route's queued orders to the shop from this node.
type dispatcher struct {
	route  string
	be     Backend
	settle Settler
	m      *routeMetrics
	log    *slog.Logger
	after  func(time.Duration) <-chan time.Time

	cfg    atomic.Pointer[settings]
	slots  *slots
	stop   chan struct{}
	ctx    context.Context // cancelled with stop (ends a blocking read)
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	held    map[string]struct{} // deliveries being worked on
	room    chan struct{}       // signalled when one is done
	lastLog atomic.Int64
}

func newDispatcher(route string, be Backend, settle Settler, m *routeMetrics, log *slog.Logger,
	after func(time.Duration) <-chan time.Time, set *settings) *dispatcher {
	d := &dispatcher{
		route: route, be: be, settle: settle, m: m, after: after,
		log:   log.With(slog.String("component", "orders"), slog.String("route", route)),
		slots: newSlots(),
		stop:  make(chan struct{}),
		held:  map[string]struct{}{},
		room:  make(chan struct{}, 1),
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.cfg.Store(set)
	return d
}

// start begins reading and maintenance.
func (d *dispatcher) start() {
	d.wg.Add(2)
	go d.readLoop()
	go d.maintLoop()
}

// update switches to new settings (a reload).
func (d *dispatcher) update(set *settings) {
	d.cfg.Store(set)
	d.slots.wake()
	d.signalRoom()
}

// close stops reading, lets sends in flight finish and record their
// results, and returns once every worker ended. Orders not decided stay in
// the queue for another dispatcher (or this one's successor) to claim.
func (d *dispatcher) close() {
	close(d.stop)
	d.cancel()
	d.slots.close()
	d.wg.Wait()
}

func (d *dispatcher) limits() (int, int) {
	c := d.cfg.Load()
	return c.total, c.perItem
}

// sleep waits for dt; false when the dispatcher stops first.
func (d *dispatcher) sleep(dt time.Duration) bool {
	select {
	case <-d.after(dt):
		return true
	case <-d.stop:
		return false
	}
}

func (d *dispatcher) stopped() bool {
	select {
	case <-d.stop:
		return true
	default:
		return false
	}
}

// free returns how many more deliveries this dispatcher may take.
func (d *dispatcher) free() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg.Load().maxHeld - len(d.held)
}

func (d *dispatcher) signalRoom() {
	select {
	case d.room <- struct{}{}:
	default:
	}
}

// readLoop reads new orders while there is room for them.
func (d *dispatcher) readLoop() {
	defer d.wg.Done()
	for !d.stopped() {
		n := d.free()
		if n <= 0 {
			select {
			case <-d.room:
			case <-d.stop:
				return
			}
			continue
		}
		ds, err := d.be.Read(d.ctx, d.route, min(n, readBatch), readBlock)
		if err != nil {
			d.logSometimes("orders: reading the queue failed; retrying", err)
			if !d.sleep(storeRetry) {
				return
			}
			continue
		}
		for _, del := range ds {
			d.launch(del)
		}
	}
}

// launch starts a worker for del unless one works on it already. The
// caller holds a d.wg count.
func (d *dispatcher) launch(del Delivery) bool {
	d.mu.Lock()
	if _, dup := d.held[del.ID]; dup {
		d.mu.Unlock()
		return false
	}
	d.held[del.ID] = struct{}{}
	d.mu.Unlock()
	d.wg.Add(1)
	go d.run(del)
	return true
}

// done forgets a delivery whose worker ended.
func (d *dispatcher) done(id string) {
	d.mu.Lock()
	delete(d.held, id)
	d.mu.Unlock()
	d.signalRoom()
}

// maintLoop reads the queue gauges, keeps this node's deliveries from
// looking idle, and claims the orders of dispatchers that stopped.
func (d *dispatcher) maintLoop() {
	defer d.wg.Done()
	tick := time.NewTicker(maintEvery)
	defer tick.Stop()
	var nextStats, nextTouch, nextClaim time.Time
	for {
		now := time.Now()
		cfg := d.cfg.Load()
		if !now.Before(nextStats) {
			d.stats()
			nextStats = now.Add(statsEvery)
		}
		if !now.Before(nextTouch) {
			d.touch()
			nextTouch = now.Add(cfg.claimIdle / 3)
		}
		if !now.Before(nextClaim) {
			d.claim(cfg)
			nextClaim = now.Add(cfg.claimIdle / 2)
		}
		select {
		case <-d.stop:
			return
		case <-tick.C:
		}
	}
}

func (d *dispatcher) stats() {
	n, oldest, err := d.be.Stats(context.Background(), d.route)
	if err != nil {
		return
	}
	d.m.length.Set(float64(n))
	age := 0.0
	if !oldest.IsZero() {
		age = max(time.Since(oldest).Seconds(), 0)
	}
	d.m.oldest.Set(age)
}

func (d *dispatcher) touch() {
	d.mu.Lock()
	ids := make([]string, 0, len(d.held))
	for id := range d.held {
		ids = append(ids, id)
	}
	d.mu.Unlock()
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 100)]
		ids = ids[len(chunk):]
		if err := d.be.Touch(context.Background(), d.route, chunk); err != nil {
			d.logSometimes("orders: keeping this node's orders failed; another node may take them over", err)
			return
		}
	}
}

func (d *dispatcher) claim(cfg *settings) {
	n := d.free()
	if n <= 0 {
		return
	}
	ds, err := d.be.Claim(context.Background(), d.route, cfg.claimIdle, min(n, readBatch))
	if err != nil {
		d.logSometimes("orders: claiming idle orders failed; retrying", err)
		return
	}
	for _, del := range ds {
		if d.launch(del) {
			d.m.claims.Inc()
		}
	}
}

// run takes one order to its result: send, retry failures with backoff,
// then settle the unit, store the result and acknowledge.
func (d *dispatcher) run(del Delivery) {
	defer d.wg.Done()
	defer d.done(del.ID)
	o := del.Order
	for {
		cfg := d.cfg.Load()
		if !d.slots.acquire(o.Item, d.limits) {
			return
		}
		status, attempts, err := d.be.Attempt(context.Background(), o.Ticket)
		if err != nil {
			d.slots.release(o.Item)
			d.logSometimes("orders: the queue store cannot answer; retrying", err)
			if !d.sleep(storeRetry) {
				return
			}
			continue
		}
		if status != StatusPending {
			d.slots.release(o.Item)
			d.drop(del, status)
			return
		}
		if !cfg.pacer.wait(d.stop) {
			d.slots.release(o.Item)
			return
		}
		ans := d.send(cfg.sender, o)
		d.slots.release(o.Item)
		if ans.retryable() && attempts <= cfg.retries {
			d.m.retries.Inc()
			if !d.sleep(backoff(cfg.backoff, attempts)) {
				return
			}
			continue
		}
		d.decide(del, ans, attempts, cfg)
		return
	}
}

// drop acknowledges an order that is not to be sent: its result is gone
// (the enqueue was cancelled, or it waited past PendingTTL: its unit goes
// back) or was decided by another node.
func (d *dispatcher) drop(del Delivery, status string) {
	if status == "" {
		d.giveBack(del.Order)
	}
	if err := d.be.Drop(context.Background(), d.route, del.ID); err != nil {
		d.logSometimes("orders: acknowledging a dropped order failed; it will be seen again", err)
		return
	}
	d.m.dropped.Inc()
}

// answer is the shop's answer to one send.
type answer struct {
	code    int
	ctype   string
	body    []byte
	soldOut bool // the body names sold_out
	invalid bool // the queued request could not be read back
	err     error
}

// retryable reports a failure worth another send: no answer, 5xx, 429
// or 408.
func (a *answer) retryable() bool {
	return a.err != nil || a.code >= 500 || a.code == fasthttp.StatusTooManyRequests ||
		a.code == fasthttp.StatusRequestTimeout
}

// send sends o once.
func (d *dispatcher) send(s Sender, o *Order) answer {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	if err := decodeRequest(o.Request, req); err != nil {
		d.logSometimes("orders: a queued order cannot be read back; rejected", err)
		return answer{invalid: true}
	}
	d.m.inFlight.Inc()
	err := s.Send(req, resp)
	d.m.inFlight.Dec()
	if err != nil {
		return answer{err: err}
	}
	body := resp.Body()
	a := answer{
		code:    resp.StatusCode(),
		ctype:   string(resp.Header.ContentType()),
		soldOut: bytes.Contains(body, []byte(ReasonSoldOut)),
	}
	a.body = append([]byte(nil), body[:min(len(body), MaxResultBody)]...)
	return a
}

// decide settles the unit, stores the result and acknowledges the order.
func (d *dispatcher) decide(del Delivery, ans answer, attempts int, cfg *settings) {
	o := del.Order
	res := &Result{Ticket: o.Ticket, Route: o.Route, User: o.User, Code: ans.code,
		ContentType: ans.ctype, Body: ans.body, Attempts: attempts, Enqueued: o.Enqueued, Done: time.Now()}
	bg := context.Background()
	switch {
	case ans.invalid:
		res.Status, res.Reason = StatusRejected, ReasonInvalid
		d.giveBack(o)
		d.m.refused.Inc()
	case ans.retryable():
		res.Status, res.Reason = StatusRejected, ReasonUnavailable
		d.giveBack(o)
		d.m.failed.Inc()
	case ans.code >= 200 && ans.code < 300:
		res.Status = StatusAccepted
		if err := d.settle.Keep(bg, o.Unit); err != nil {
			d.logSometimes("orders: recording a sold unit failed; retried in the background", err)
		}
		d.m.accepted.Inc()
	case ans.code == fasthttp.StatusGone || (ans.code == fasthttp.StatusConflict && ans.soldOut):
		res.Status, res.Reason = StatusRejected, ReasonSoldOut
		if o.Unit.Valid() {
			// The shop is the authority: stop queueing orders for the item.
			if err := d.settle.MarkSoldOut(bg, o.Item); err != nil {
				d.logSometimes("orders: marking a sale sold out failed", err)
			}
		}
		d.giveBack(o)
		d.m.soldOut.Inc()
	default:
		res.Status, res.Reason = StatusRejected, ReasonRefused
		d.giveBack(o)
		d.m.refused.Inc()
	}
	for {
		err := d.be.Finish(bg, d.route, del.ID, res, cfg.resultTTL)
		if err == nil {
			break
		}
		d.logSometimes("orders: storing a result failed; retrying", err)
		if !d.sleep(storeRetry) {
			return // the order stays queued; whoever takes it sends it again
		}
	}
	if !o.Enqueued.IsZero() {
		d.m.duration.Observe(max(time.Since(o.Enqueued).Seconds(), 0))
	}
}

func (d *dispatcher) giveBack(o *Order) {
	if err := d.settle.Give(context.Background(), o.Unit); err != nil {
		d.logSometimes("orders: giving a unit back failed; retried in the background", err)
	}
}

// backoff returns the wait after the attempts-th failed send: base doubled
// per earlier failure, capped at max(maxBackoff, base), ±20% jitter so a
// crowd of failed orders does not return at one instant.
func backoff(base time.Duration, attempts int) time.Duration {
	limit := max(maxBackoff, base)
	d := base
	for i := 1; i < attempts && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

// logSometimes logs at most once per second per dispatcher, so an outage
// does not flood the log.
func (d *dispatcher) logSometimes(msg string, err error) {
	now := time.Now().UnixNano()
	last := d.lastLog.Load()
	if now-last < int64(time.Second) || !d.lastLog.CompareAndSwap(last, now) {
		return
	}
	d.log.Warn(msg, slog.Any("err", err))
}

// noSettle is the Settler of routes without a stock gate.
type noSettle struct{}

func (noSettle) Keep(context.Context, stock.Unit) error    { return nil }
func (noSettle) Give(context.Context, stock.Unit) error    { return nil }
func (noSettle) MarkSoldOut(context.Context, string) error { return nil }
