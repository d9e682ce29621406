package shop

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

const (
	// maxOrderBody bounds the body of POST /order (a form at most).
	maxOrderBody = 64 << 10
	// maxBuyerLen and maxKeyLen bound the identity and Idempotency-Key.
	maxBuyerLen = 128
	maxKeyLen   = 255
	// sessionCookie is the cookie that names a shopper.
	sessionCookie = "session"
)

// orderAnswer is the 201 body of a successful order.
type orderAnswer struct {
	Order string `json:"order"`
	Item  string `json:"item"`
}

// handleOrder sells one unit: POST /order?item=ID (or form field item).
// The buyer is X-User-Id, else the session cookie. An Idempotency-Key header
// makes retries safe: the first order is answered again, nothing is sold
// twice.
func (s *Server) handleOrder(w http.ResponseWriter, r *http.Request) {
	c := &s.counters
	c.received.Add(1)
	if r.Method != http.MethodPost {
		c.badRequest.Add(1)
		w.Header().Set("Allow", http.MethodPost)
		writeJSONError(w, http.StatusMethodNotAllowed, "method_not_allowed")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxOrderBody)
	item := r.URL.Query().Get("item")
	if item == "" {
		item = r.PostFormValue("item")
	}
	if item == "" {
		c.badRequest.Add(1)
		writeJSONError(w, http.StatusBadRequest, "item_required")
		return
	}
	if !validItemID(item) {
		c.unknownItem.Add(1)
		writeJSONError(w, http.StatusNotFound, "unknown_item")
		return
	}
	buyer := buyerOf(r)
	if buyer == "" {
		c.unauthorized.Add(1)
		writeJSONError(w, http.StatusUnauthorized, "identity_required")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxKeyLen || !printable(key) {
		c.badRequest.Add(1)
		writeJSONError(w, http.StatusBadRequest, "invalid_idempotency_key")
		return
	}
	if !wait(r.Context(), s.opts.Latency) {
		return // the client left; nothing was sold
	}
	if s.opts.FailRate > 0 && rand.Float64() < s.opts.FailRate {
		c.failedInjected.Add(1)
		w.Header().Set("X-Shop-Injected-Failure", "1")
		writeJSONError(w, http.StatusInternalServerError, "internal_error")
		return
	}

	ctx, cancel := s.dbContext(r)
	defer cancel()
	sold, err := s.store.Sell(ctx, item, buyer, key)
	switch {
	case err == nil:
	case errors.Is(err, errSoldOut):
		c.soldOut.Add(1)
		writeJSONError(w, http.StatusGone, "sold_out")
		return
	case errors.Is(err, errUnknownItem):
		c.unknownItem.Add(1)
		writeJSONError(w, http.StatusNotFound, "unknown_item")
		return
	case errors.Is(err, errKeyReused):
		c.badRequest.Add(1)
		writeJSONError(w, http.StatusUnprocessableEntity, "idempotency_key_reused")
		return
	case errors.Is(err, context.DeadlineExceeded):
		c.errors.Add(1)
		s.log.Error("order", "item", item, "err", err)
		w.Header().Set("Retry-After", "1")
		writeJSONError(w, http.StatusServiceUnavailable, "unavailable")
		return
	default:
		c.errors.Add(1)
		s.log.Error("order", "item", item, "err", err)
		writeJSONError(w, http.StatusInternalServerError, "internal_error")
		return
	}

	if sold.Replay {
		c.replays.Add(1)
		w.Header().Set("Idempotent-Replayed", "true")
	} else {
		c.accepted.Add(1)
	}
	s.log.Debug("order", "order", sold.Order.ID, "item", item, "replay", sold.Replay)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, orderAnswer{Order: sold.Order.ID, Item: sold.Order.Item})
}

// buyerOf names the shopper: the X-User-Id header (set by a trusted gateway
// or by tests), else the session cookie. Empty, over-long or non-printable
// values count as no identity.
func buyerOf(r *http.Request) string {
	id := strings.TrimSpace(r.Header.Get("X-User-Id"))
	if id == "" {
		if ck, err := r.Cookie(sessionCookie); err == nil {
			id = ck.Value
		}
	}
	if len(id) > maxBuyerLen || !printable(id) {
		return ""
	}
	return id
}

// printable reports whether s is printable ASCII only (no controls).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// wait sleeps for d, or less if ctx ends first; it reports whether the full
// delay passed.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
