package filter

import (
	"strconv"
	"time"

	"edge/internal/config"

	"github.com/valyala/fasthttp"
)

// SaleWindow is the funnel stage "saletime": it refuses orders for an item
// on sale outside the sale's window. Before Starts: 403
// {"error":"not_started","starts":"<RFC 3339>"} with Retry-After set to the
// seconds left; from Ends on: 410 {"error":"sale_ended"}. Items not on sale,
// and requests without an item, pass. The window is [Starts, Ends): a zero
// Starts or Ends leaves that side open.
type SaleWindow struct {
	now   func() time.Time
	sales map[string]*saleWindow
}

type saleWindow struct {
	starts, ends time.Time
	body         []byte // not_started body, rendered once
}

var _ Stage = (*SaleWindow)(nil)

// NewSaleWindow builds the stage from the configured sales (nil entries are
// skipped; for an item listed twice the first entry counts). now is the
// clock (nil: time.Now).
func NewSaleWindow(sales []*config.Sale, now func() time.Time) *SaleWindow {
	if now == nil {
		now = time.Now
	}
	w := &SaleWindow{now: now, sales: make(map[string]*saleWindow, len(sales))}
	for _, s := range sales {
		if s == nil || s.Item == "" {
			continue
		}
		if _, dup := w.sales[s.Item]; dup {
			continue
		}
		sw := &saleWindow{starts: s.Starts, ends: s.Ends}
		if !s.Starts.IsZero() {
			b := []byte(`{"error":"not_started","starts":`)
			b = strconv.AppendQuote(b, s.Starts.Format(time.RFC3339))
			sw.body = append(b, '}')
		}
		w.sales[s.Item] = sw
	}
	return w
}

// Name returns "saletime".
func (w *SaleWindow) Name() string { return "saletime" }

// Handle passes requests inside their item's sale window and refuses the
// others.
func (w *SaleWindow) Handle(ctx *fasthttp.RequestCtx, st *State) Verdict {
	if len(st.Item) == 0 {
		return Continue
	}
	s, ok := w.sales[string(st.Item)]
	if !ok {
		return Continue
	}
	now := w.now()
	switch {
	case !s.starts.IsZero() && now.Before(s.starts):
		v := Reject(ctx, st, w.Name(), fasthttp.StatusForbidden, "not_started", s.starts.Sub(now))
		ctx.Response.SetBodyRaw(s.body)
		return v
	case !s.ends.IsZero() && !now.Before(s.ends):
		return Reject(ctx, st, w.Name(), fasthttp.StatusGone, "sale_ended", 0)
	}
	return Continue
}
