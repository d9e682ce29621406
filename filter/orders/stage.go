package orders

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"edge/filter"
	"edge/filter/stock"
)

// EdgePrefix is the public path of order results: GET EdgePrefix+ticket.
const EdgePrefix = "/_edge/orders/"

// RetryAfter is sent with queue_full and unavailable refusals.
const RetryAfter = time.Second

// Preparer writes into out the request the route would send to the shop
// for ctx (forwarding hygiene, X-Forwarded-*, Via, Host); out must own its
// bytes.
type Preparer func(ctx *fasthttp.RequestCtx, st *filter.State, out *fasthttp.Request)

// Stage is the funnel stage "queue" of a route with queue: {mode: async}.
// It turns a viable order (one that passed every earlier stage, the stock
// gate included) into a queued order and answers at once:
//
//	202 {"ticket":"<ticket>","status":"/_edge/orders/<ticket>"}
//	Location: /_edge/orders/<ticket>
//
// The stock unit the gate took travels with the order; the dispatcher
// settles it once the shop answered. A full queue answers 503
// {"error":"queue_full"} and a backend that cannot answer 503
// {"error":"unavailable"}, both with Retry-After; the gate then gives the
// unit back. Build stages with Hub.NewStage; Close releases them.
type Stage struct {
	hub     *Hub
	route   string
	prepare Preparer
	set     *settings
	m       *routeMetrics
	now     func() time.Time
	log     *slog.Logger
	lastLog atomic.Int64
}

var (
	_ filter.Stage  = (*Stage)(nil)
	_ filter.Closer = (*Stage)(nil)
)

// Name returns "queue".
func (s *Stage) Name() string { return "queue" }

// Handle queues the order and answers with its ticket.
func (s *Stage) Handle(ctx *fasthttp.RequestCtx, st *filter.State) filter.Verdict {
	ticket := NewTicket()
	req := fasthttp.AcquireRequest()
	s.prepare(ctx, st, req)
	req.Header.Set(HeaderIdempotencyKey, ticket)
	wire, err := encodeRequest(req)
	fasthttp.ReleaseRequest(req)
	if err != nil {
		s.m.enqErr.Inc()
		s.logSometimes("orders: an order could not be encoded", err)
		return filter.Reject(ctx, st, "queue", fasthttp.StatusServiceUnavailable, "unavailable", RetryAfter)
	}
	unit, _ := stock.ReservedUnit(ctx, st)
	o := &Order{
		Ticket:   ticket,
		Route:    s.route,
		User:     string(st.User),
		Item:     string(st.Item),
		Unit:     unit,
		Request:  wire,
		Enqueued: s.now(),
	}
	be := s.hub.be
	switch err := be.Enqueue(context.Background(), o, s.set.maxLen); {
	case err == nil:
	case errors.Is(err, ErrFull):
		s.m.full.Inc()
		return filter.Reject(ctx, st, "queue", fasthttp.StatusServiceUnavailable, "queue_full", RetryAfter)
	default:
		// The order may have been queued without an answer: forget its
		// pending result, so a dispatcher meeting it drops it (the gate
		// gives the unit back now).
		s.m.enqErr.Inc()
		s.logSometimes("orders: the queue cannot answer; orders get 503", err)
		go func() { _ = be.Cancel(context.Background(), ticket) }()
		return filter.Reject(ctx, st, "queue", fasthttp.StatusServiceUnavailable, "unavailable", RetryAfter)
	}
	stock.HandOver(ctx, st)
	s.m.queued.Inc()

	ctx.Response.Reset()
	ctx.SetStatusCode(fasthttp.StatusAccepted)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set(fasthttp.HeaderLocation, EdgePrefix+ticket)
	ctx.Response.AppendBodyString(`{"ticket":"`)
	ctx.Response.AppendBodyString(ticket)
	ctx.Response.AppendBodyString(`","status":"` + EdgePrefix)
	ctx.Response.AppendBodyString(ticket)
	ctx.Response.AppendBodyString(`"}`)
	return filter.Served
}

// Close releases the stage: the route's dispatcher follows the newer
// table's settings or, when no table uses the route any more, finishes the
// route's queued orders and stops.
func (s *Stage) Close() error {
	s.hub.release(s)
	return nil
}

// logSometimes logs at most once per second per stage.
func (s *Stage) logSometimes(msg string, err error) {
	now := time.Now().UnixNano()
	last := s.lastLog.Load()
	if now-last < int64(time.Second) || !s.lastLog.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn(msg, slog.Any("err", err))
}
