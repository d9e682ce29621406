package stock

import (
	"time"

	"github.com/valyala/fasthttp"

	"edge/filter"
)

// SoldOutCheck is the stock gate's early answer, a funnel stage placed
// right after the item is known: an order for an item this node knows to be
// sold out is answered 410 {"error":"sold_out"} from the local flag, before
// any stage that costs I/O (rate limits and quiz checks on Redis). Once an
// item sells out nearly every order gets this answer, so it must cost no
// Redis round trip and no more than a cache hit. Orders for items that are
// not sold out, not on sale, or outside their sale window (the sale-window
// stage answers those) pass on; the Gate later in the funnel still decides
// them. It is counted as the gate's sold_out decisions are, and refusals
// name the stage "stock".
type SoldOutCheck struct {
	g   *Gate
	now func() time.Time
}

var _ filter.Stage = (*SoldOutCheck)(nil)

// SoldOutCheck returns g's early sold-out stage. now is the clock of sale
// windows (nil: time.Now).
func (g *Gate) SoldOutCheck(now func() time.Time) *SoldOutCheck {
	if now == nil {
		now = time.Now
	}
	return &SoldOutCheck{g: g, now: now}
}

// Name returns "stock".
func (c *SoldOutCheck) Name() string { return "stock" }

// Handle answers sold_out when the local flag says so inside the sale's
// window, and passes every other order on. It does no I/O and does not
// allocate.
func (c *SoldOutCheck) Handle(ctx *fasthttp.RequestCtx, st *filter.State) filter.Verdict {
	sale := c.g.sales.Lookup(st.Item)
	if sale == nil || !c.g.store.SoldOut(sale) {
		return filter.Continue
	}
	if (!sale.Starts.IsZero() || !sale.Ends.IsZero()) && sale.State(c.now(), true) != StateSoldOut {
		return filter.Continue
	}
	c.g.dec.soldOut.Inc()
	return filter.Reject(ctx, st, "stock", fasthttp.StatusGone, decSoldOut, 0)
}
