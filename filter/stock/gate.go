package stock

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"edge/filter"
	"edge/internal/config"
)

// DefaultRetryAfter is sent with 503 answers when the route's stock config
// names none.
const DefaultRetryAfter = time.Second

// Gate is the funnel stage "stock". Handle takes one unit of the order's
// item before the order may go on; After, once the shop answered, keeps the
// unit (2xx), or gives it back: the shop said sold out (410, or 409 whose
// body says "sold_out": the item is also marked sold out everywhere), the
// shop refused otherwise (other 4xx, passed on as is), the shop failed (5xx,
// including the forwarder's 502/503/504: the answer becomes 503
// {"error":"retry"} with Retry-After), or a later stage answered (queue_full;
// a stage that takes the order over, such as an async queue, must clear
// State.Reserved and settle the unit itself). A unit is given back at most
// once: After clears State.Reserved, and the store acts once per take id.
//
// Refusals: item not on sale 404 not_on_sale; sold out 410 sold_out
// (answered from this node's flag without I/O once known); the shopper holds
// per_user units 409 limit_reached; the store cannot answer 503 unavailable
// with Retry-After.
//
// The stock gate always fails closed, whatever redis.on_error says: when
// the store cannot answer, no unit can be taken safely, and taking one from
// this node's memory instead could sell units the fleet already sold. The
// shop is never asked to sell what the gate could not reserve.
//
// Per-user caps need the shopper's id (State.User, filled by the identity
// stage); an order without one is not capped (config validation requires
// identity: required on routes with per_user).
type Gate struct {
	route      string
	perUser    int
	retryAfter time.Duration
	sales      *Sales
	store      Store
	m          *Metrics
	dec        *routeDecisions
	log        *slog.Logger
	lastLog    atomic.Int64 // unix ns of the last store-error log
}

var (
	_ filter.Stage   = (*Gate)(nil)
	_ filter.Afterer = (*Gate)(nil)
)

// NewGate builds the stock stage of route. cfg may be nil (no per-user cap,
// Retry-After 1s). onError is redis.on_error; the gate fails closed
// regardless (see Gate) and only notes an "open" setting in the log. m may
// be nil (metrics not registered), log nil (slog.Default()).
func NewGate(route string, cfg *config.RouteStock, sales *Sales, store Store, onError string, m *Metrics, log *slog.Logger) *Gate {
	if m == nil {
		m = NewMetrics(nil)
	}
	if log == nil {
		log = slog.Default()
	}
	g := &Gate{
		route:      route,
		retryAfter: DefaultRetryAfter,
		sales:      sales,
		store:      store,
		m:          m,
		dec:        m.route(route),
		log:        log.With(slog.String("stage", "stock"), slog.String("route", route)),
	}
	if cfg != nil {
		g.perUser = max(cfg.PerUser, 0)
		if d := cfg.RetryAfter.D(); d > 0 {
			g.retryAfter = d
		}
	}
	if onError == "open" {
		g.log.Info("redis.on_error is open, but the stock gate fails closed: orders get 503 while the stock store cannot answer")
	}
	return g
}

// Name returns "stock".
func (g *Gate) Name() string { return "stock" }

// reservation is what Handle leaves for After in the request's user values.
type reservation struct {
	sale   *Sale
	id     uint64
	capped bool // the take counted against the shopper's per-user cap
}

// resKey is the user-value key of the reservation.
type resKey struct{}

var resPool = sync.Pool{New: func() any { return new(reservation) }}

// Handle takes one unit of the order's item or answers the order.
func (g *Gate) Handle(ctx *fasthttp.RequestCtx, st *filter.State) filter.Verdict {
	sale := g.sales.Lookup(st.Item)
	if sale == nil {
		g.dec.notOnSale.Inc()
		return filter.Reject(ctx, st, "stock", fasthttp.StatusNotFound, decNotOnSale, 0)
	}
	if g.store.SoldOut(sale) {
		g.dec.soldOut.Inc()
		return filter.Reject(ctx, st, "stock", fasthttp.StatusGone, decSoldOut, 0)
	}
	id := rand.Uint64()
	res, err := g.store.Take(context.Background(), sale, g.user(st), g.perUser, id)
	if err != nil {
		g.dec.err.Inc()
		g.logSometimes("stock: store cannot answer; orders get 503", sale, err)
		return filter.Reject(ctx, st, "stock", fasthttp.StatusServiceUnavailable, "unavailable", g.retryAfter)
	}
	switch res {
	case Taken:
		g.dec.taken.Inc()
		r := resPool.Get().(*reservation)
		r.sale, r.id, r.capped = sale, id, g.perUser > 0
		ctx.SetUserValue(resKey{}, r)
		st.Reserved = true
		return filter.Continue
	case SoldOut:
		g.dec.soldOut.Inc()
		return filter.Reject(ctx, st, "stock", fasthttp.StatusGone, decSoldOut, 0)
	case LimitReached:
		g.dec.limit.Inc()
		return filter.Reject(ctx, st, "stock", fasthttp.StatusConflict, decLimit, 0)
	}
	g.dec.err.Inc()
	g.logSometimes("stock: the store has no state for a sale (not seeded, or lost); orders get 503 until it is seeded or set with PUT /stock/{item}", sale, nil)
	return filter.Reject(ctx, st, "stock", fasthttp.StatusServiceUnavailable, "unavailable", g.retryAfter)
}

// user returns the id per-user caps count, or nil when none apply.
func (g *Gate) user(st *filter.State) []byte {
	if g.perUser <= 0 {
		return nil
	}
	return st.User
}

// After settles the unit Handle took, once the outcome is known.
func (g *Gate) After(ctx *fasthttp.RequestCtx, st *filter.State) {
	if !st.Reserved {
		return
	}
	st.Reserved = false
	r, _ := ctx.UserValue(resKey{}).(*reservation)
	ctx.RemoveUserValue(resKey{})
	if r == nil {
		g.log.Error("stock: a reserved unit lost its reservation; it stays reserved")
		return
	}
	sale, id := r.sale, r.id
	*r = reservation{}
	resPool.Put(r)

	bg := context.Background()
	status := ctx.Response.StatusCode()
	switch {
	case st.Stage != "":
		// A later stage answered (queue_full...): the shop never saw it.
		g.give(bg, sale, st, id)
	case status >= 200 && status < 300:
		if err := g.store.Keep(bg, sale, id); err != nil {
			g.logSometimes("stock: recording a sold unit failed; retried in the background", sale, err)
		}
		g.m.sold.WithLabelValues(sale.Name).Inc()
	case status == fasthttp.StatusGone || (status == fasthttp.StatusConflict && saysSoldOut(ctx)):
		// The shop is the authority: stop sending it orders for this item.
		if err := g.store.MarkSoldOut(bg, sale); err != nil {
			g.logSometimes("stock: marking a sale sold out failed", sale, err)
		}
		g.give(bg, sale, st, id)
	case status >= 500:
		g.give(bg, sale, st, id)
		filter.Reject(ctx, st, "stock", fasthttp.StatusServiceUnavailable, "retry", g.retryAfter)
	default:
		// The shop refused this order for its own reasons (400, 401, 409
		// duplicate, 422...): its answer goes to the shopper unchanged.
		g.give(bg, sale, st, id)
	}
}

// give returns the unit and counts it.
func (g *Gate) give(ctx context.Context, sale *Sale, st *filter.State, id uint64) {
	if err := g.store.Give(ctx, sale, g.user(st), id); err != nil {
		g.logSometimes("stock: giving a unit back failed; retried in the background", sale, err)
	}
	g.m.givenBack.WithLabelValues(sale.Name).Inc()
}

// saysSoldOut reports whether the shop's answer body names sold_out, which
// tells a 409 meaning "sold out" from one meaning "already ordered".
func saysSoldOut(ctx *fasthttp.RequestCtx) bool {
	return bytes.Contains(ctx.Response.Body(), []byte("sold_out"))
}

// logSometimes logs a store problem at most once per second per gate, so
// an outage does not flood the log.
func (g *Gate) logSometimes(msg string, sale *Sale, err error) {
	now := time.Now().UnixNano()
	last := g.lastLog.Load()
	if now-last < int64(time.Second) || !g.lastLog.CompareAndSwap(last, now) {
		return
	}
	attrs := []any{slog.String("sale", sale.Name)}
	if err != nil {
		attrs = append(attrs, slog.Any("err", err))
	}
	g.log.Warn(msg, attrs...)
}
