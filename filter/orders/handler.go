package orders

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"edge/filter"
)

// pollEvery bounds a long poll's wait between two reads of the result, in
// case a wake-up was missed.
const pollEvery = time.Second

// UserFunc finds the shopper of a request (the route's identity source);
// ok is false when the request names none.
type UserFunc func(ctx *fasthttp.RequestCtx) (user []byte, ok bool)

// resultJSON is the body of GET /_edge/orders/{ticket}.
type resultJSON struct {
	Ticket   string          `json:"ticket"`
	Status   string          `json:"status"`
	Reason   string          `json:"reason,omitempty"`
	Code     int             `json:"code,omitempty"`
	Body     json.RawMessage `json:"body,omitempty"`
	Attempts int             `json:"attempts"`
	QueuedAt string          `json:"queued_at,omitempty"`
	DoneAt   string          `json:"done_at,omitempty"`
}

// Handler answers GET /_edge/orders/{ticket} (register it under
// EdgePrefix):
//
//	200 {"ticket":"…","status":"pending","attempts":0,"queued_at":"…"}
//	200 {"ticket":"…","status":"accepted","code":201,"body":{…},…}
//	200 {"ticket":"…","status":"rejected","reason":"sold_out","code":410,"body":{…},…}
//
// body is the shop's answer (at most MaxResultBody bytes): as JSON when it
// is JSON, else as a string. reason is sold_out, shop_refused,
// shop_unavailable or invalid_order. A pending answer carries
// Retry-After: 1.
//
// ?wait=N (seconds, or a duration such as 1500ms) makes a pending order's
// answer wait for the result up to N, at most the route's long_poll_max.
// A ticket that is unknown, expired (result_ttl), or placed by another
// shopper (user names the requester) gets 404 {"error":"not_found"}.
func (h *Hub) Handler(user UserFunc) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) { h.serveResult(ctx, user) }
}

func (h *Hub) serveResult(ctx *fasthttp.RequestCtx, user UserFunc) {
	if !ctx.IsGet() && !ctx.IsHead() {
		filter.Reject(ctx, nil, "orders", fasthttp.StatusMethodNotAllowed, "method_not_allowed", 0)
		ctx.Response.Header.Set(fasthttp.HeaderAllow, "GET, HEAD")
		return
	}
	path := ctx.Path()
	if len(path) <= len(EdgePrefix) || !ValidTicket(path[len(EdgePrefix):]) {
		filter.Reject(ctx, nil, "orders", fasthttp.StatusNotFound, "not_found", 0)
		return
	}
	ticket := string(path[len(EdgePrefix):])
	var who []byte
	if user != nil {
		if u, ok := user(ctx); ok {
			who = u
		}
	}
	wait := parseWait(ctx.QueryArgs().Peek("wait"))
	start := time.Now()

	var (
		watch <-chan struct{}
		stop  = func() {}
	)
	defer func() { stop() }()
	for first := true; ; first = false {
		if wait > 0 && watch == nil {
			watch, stop = h.be.Watch(ticket) // before reading: no wake-up is missed
		}
		r, err := h.be.Result(context.Background(), ticket)
		if err != nil {
			filter.Reject(ctx, nil, "orders", fasthttp.StatusServiceUnavailable, "unavailable", RetryAfter)
			return
		}
		if r == nil || !owns(r, who) {
			filter.Reject(ctx, nil, "orders", fasthttp.StatusNotFound, "not_found", 0)
			return
		}
		if first && wait > 0 {
			wait = min(wait, h.longPoll(r.Route))
		}
		left := wait - time.Since(start)
		if r.final() || left <= 0 {
			writeResult(ctx, r)
			return
		}
		t := time.NewTimer(min(left, pollEvery))
		select {
		case <-watch:
			stop()
			watch, stop = nil, func() {}
		case <-t.C:
		}
		t.Stop()
	}
}

// owns reports whether who may read r: the shopper who
// placed the order (anyone holding the ticket when the route knew no
// shopper).
func owns(r *Result, who []byte) bool {
	if r.User == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(r.User), who) == 1
}

// parseWait reads ?wait=: whole seconds or a Go duration; anything else
// (or a negative value) is no wait.
func parseWait(v []byte) time.Duration {
	if len(v) == 0 {
		return 0
	}
	if n, err := strconv.Atoi(string(v)); err == nil {
		return time.Duration(max(n, 0)) * time.Second
	}
	d, err := time.ParseDuration(string(v))
	if err != nil || d < 0 {
		return 0
	}
	return d
}

// writeResult answers with r.
func writeResult(ctx *fasthttp.RequestCtx, r *Result) {
	out := resultJSON{Ticket: r.Ticket, Status: r.Status, Reason: r.Reason, Code: r.Code, Attempts: r.Attempts}
	if !r.Enqueued.IsZero() {
		out.QueuedAt = r.Enqueued.UTC().Format(time.RFC3339Nano)
	}
	if !r.Done.IsZero() {
		out.DoneAt = r.Done.UTC().Format(time.RFC3339Nano)
	}
	if len(r.Body) > 0 {
		if json.Valid(r.Body) {
			out.Body = r.Body
		} else {
			out.Body, _ = json.Marshal(string(r.Body))
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		filter.Reject(ctx, nil, "orders", fasthttp.StatusInternalServerError, "internal", 0)
		return
	}
	ctx.Response.Reset()
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	if !r.final() {
		ctx.Response.Header.Set("Retry-After", "1")
	}
	ctx.SetBody(b)
}
