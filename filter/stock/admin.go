package stock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"edge/filter"
)

// Admin request limits.
const (
	// adminBodyMax bounds the JSON body of PUT and release.
	adminBodyMax = 4 << 10
	// maxUnits bounds one stock value or release, far above any real sale
	// and far below int64 overflow in the counters.
	maxUnits = 1 << 40
	// maxAdminUser bounds the user id of a release.
	maxAdminUser = 512
	// adminPrefix is the admin path of one sale; the item id follows.
	adminPrefix = "/stock/"
)

// saleJSON is one sale as the admin API shows it. The counters are absent
// when the store could not answer (error says why).
type saleJSON struct {
	Name      string     `json:"name"`
	Item      string     `json:"item"`
	Stock     int64      `json:"stock"`
	Starts    *time.Time `json:"starts,omitempty"`
	Ends      *time.Time `json:"ends,omitempty"`
	State     string     `json:"state"`
	Remaining *int64     `json:"remaining,omitempty"`
	Reserved  *int64     `json:"reserved,omitempty"`
	Sold      *int64     `json:"sold,omitempty"`
	GivenBack *int64     `json:"given_back,omitempty"`
	SoldOut   bool       `json:"sold_out"`
	Error     string     `json:"error,omitempty"`
}

// AdminHandlers returns the admin endpoints of the stock, to be registered
// on the admin listener (reads may be open, writes behind the token):
//
//   - list: GET /stock → {"sales":[{name, item, stock, starts, ends, state,
//     remaining, reserved, sold, given_back, sold_out}...]}, counters read
//     from the store (Redis for a fleet).
//   - item: GET /stock/{item} → one sale; PUT /stock/{item} with
//     {"stock": N} sets the remaining units (N ≥ 0), clears a sold-out mark
//     and tells every node; answers the sale.
//   - release: POST /stock/{item}/release with optional {"units": N,
//     "user": "..."} (units default 1) returns units of sold orders the shop
//     cancelled to the stock, at most the units sold, and lowers the user's
//     per-user count; answers {"released": n, "sale": {...}}.
//
// Errors are JSON: 400 invalid input, 404 not_on_sale, 405, 409 no_state
// (release on an item without state), 503 unavailable (the store did not
// answer).
func AdminHandlers(l *Ledger) (list, item, release fasthttp.RequestHandler) {
	a := &admin{l: l}
	return a.list, a.item, a.release
}

type admin struct{ l *Ledger }

func (a *admin) list(ctx *fasthttp.RequestCtx) {
	sales := a.l.Sales().All()
	out := make([]saleJSON, 0, len(sales))
	for _, s := range sales {
		out = append(out, a.describe(s))
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"sales": out})
}

func (a *admin) item(ctx *fasthttp.RequestCtx) {
	name, suffix := itemFromPath(string(ctx.Path()), adminPrefix)
	sale := a.l.Sales().Get(name)
	if sale == nil || suffix != "" {
		filter.Reject(ctx, nil, "stock", fasthttp.StatusNotFound, decNotOnSale, 0)
		return
	}
	switch {
	case ctx.IsGet() || ctx.IsHead():
		writeJSON(ctx, fasthttp.StatusOK, a.describe(sale))
	case ctx.IsPut():
		var body struct {
			Stock *int64 `json:"stock"`
		}
		if !decodeBody(ctx, &body, false) {
			return
		}
		if body.Stock == nil || *body.Stock < 0 || *body.Stock > maxUnits {
			filter.Reject(ctx, nil, "stock", fasthttp.StatusBadRequest, "want_stock_between_0_and_2^40", 0)
			return
		}
		if err := a.l.store.Set(context.Background(), sale, *body.Stock); err != nil {
			filter.Reject(ctx, nil, "stock", fasthttp.StatusServiceUnavailable, "unavailable", 0)
			return
		}
		a.l.log.Info("stock: remaining units set by an operator", "sale", sale.Name, "stock", *body.Stock)
		writeJSON(ctx, fasthttp.StatusOK, a.describe(sale))
	default:
		filter.Reject(ctx, nil, "stock", fasthttp.StatusMethodNotAllowed, "method_not_allowed", 0)
		ctx.Response.Header.Set(fasthttp.HeaderAllow, "GET, HEAD, PUT") // Reject resets the response
	}
}

func (a *admin) release(ctx *fasthttp.RequestCtx) {
	name, suffix := itemFromPath(string(ctx.Path()), adminPrefix)
	sale := a.l.Sales().Get(name)
	if sale == nil || suffix != "/release" {
		filter.Reject(ctx, nil, "stock", fasthttp.StatusNotFound, decNotOnSale, 0)
		return
	}
	if !ctx.IsPost() {
		filter.Reject(ctx, nil, "stock", fasthttp.StatusMethodNotAllowed, "method_not_allowed", 0)
		ctx.Response.Header.Set(fasthttp.HeaderAllow, "POST") // Reject resets the response
		return
	}
	var body struct {
		Units *int64 `json:"units"`
		User  string `json:"user"`
	}
	if !decodeBody(ctx, &body, true) {
		return
	}
	units := int64(1)
	if body.Units != nil {
		units = *body.Units
	}
	if units < 1 || units > maxUnits {
		filter.Reject(ctx, nil, "stock", fasthttp.StatusBadRequest, "want_units_between_1_and_2^40", 0)
		return
	}
	if len(body.User) > maxAdminUser {
		filter.Reject(ctx, nil, "stock", fasthttp.StatusBadRequest, "user_too_long", 0)
		return
	}
	n, err := a.l.store.Release(context.Background(), sale, units, body.User)
	switch {
	case errors.Is(err, ErrUnknownSale):
		filter.Reject(ctx, nil, "stock", fasthttp.StatusConflict, "no_state", 0)
		return
	case err != nil:
		filter.Reject(ctx, nil, "stock", fasthttp.StatusServiceUnavailable, "unavailable", 0)
		return
	}
	if n > 0 {
		a.l.m.givenBack.WithLabelValues(sale.Name).Add(float64(n))
		a.l.log.Info("stock: units released by an operator", "sale", sale.Name, "units", n)
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"released": n, "sale": a.describe(sale)})
}

// describe reads one sale's counters from the store.
func (a *admin) describe(s *Sale) saleJSON {
	out := saleJSON{Name: s.Name, Item: s.Item, Stock: s.Stock}
	if !s.Starts.IsZero() {
		out.Starts = &s.Starts
	}
	if !s.Ends.IsZero() {
		out.Ends = &s.Ends
	}
	info, err := a.l.store.Info(context.Background(), s)
	switch {
	case errors.Is(err, ErrUnknownSale):
		out.Error = "no_state"
	case err != nil:
		out.Error = "unavailable"
	default:
		out.Remaining, out.Reserved, out.Sold, out.GivenBack = &info.Remaining, &info.Reserved, &info.Sold, &info.GivenBack
		out.SoldOut = info.SoldOut
	}
	out.State = s.State(a.l.now(), out.SoldOut)
	return out
}

// decodeBody decodes a small JSON object body strictly into v; an empty
// body is allowed when optional. It answers 400 and returns false on bad
// input.
func decodeBody(ctx *fasthttp.RequestCtx, v any, optional bool) bool {
	body := ctx.Request.Body()
	if len(body) > adminBodyMax {
		filter.Reject(ctx, nil, "stock", fasthttp.StatusRequestEntityTooLarge, "body_too_large", 0)
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return true
		}
		filter.Reject(ctx, nil, "stock", fasthttp.StatusBadRequest, "want_json_body", 0)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.More() {
		filter.Reject(ctx, nil, "stock", fasthttp.StatusBadRequest, "invalid_json", 0)
		return false
	}
	return true
}

// itemFromPath splits an admin path prefix+"{item}[/suffix]".
func itemFromPath(path, prefix string) (item, suffix string) {
	rest, ok := strings.CutPrefix(path, prefix)
	if !ok {
		return "", ""
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i], rest[i:]
	}
	return rest, ""
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		filter.Reject(ctx, nil, "stock", fasthttp.StatusInternalServerError, "internal", 0)
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	ctx.SetBody(append(b, '\n'))
}
