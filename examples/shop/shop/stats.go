package shop

import (
	"context"
	"net/http"
	"sync/atomic"
)

// counters are the order outcomes since start, updated atomically.
type counters struct {
	received, accepted, soldOut, failedInjected, replays atomic.Int64
	unknownItem, unauthorized, badRequest, errors        atomic.Int64
}

// OrderStats counts order outcomes since the server started. Every request
// to /order that reaches the handler adds one to Received and then, at most,
// one to exactly one of the other fields (none when the client left first).
type OrderStats struct {
	// Received is every order request seen.
	Received int64 `json:"received"`
	// Accepted is the orders that sold a unit (201, not replays).
	Accepted int64 `json:"accepted"`
	// SoldOut is the orders refused with 410 because the item had no stock.
	SoldOut int64 `json:"rejected_sold_out"`
	// FailedInjected is the orders answered 500 on purpose (Options.FailRate).
	FailedInjected int64 `json:"failed_injected"`
	// IdempotentReplays is the repeated Idempotency-Keys answered with the
	// earlier order, without selling again.
	IdempotentReplays int64 `json:"duplicate_idempotent"`
	// UnknownItem is the orders for items the shop does not sell (404).
	UnknownItem int64 `json:"unknown_item"`
	// Unauthorized is the orders without a buyer identity (401).
	Unauthorized int64 `json:"unauthorized"`
	// BadRequest is the malformed orders (400, 405, 422).
	BadRequest int64 `json:"bad_request"`
	// Errors is the orders that failed for real (store errors, 500/503).
	Errors int64 `json:"errors"`
}

// Stats is the JSON document served at GET /stats.
type Stats struct {
	// Mode is the store in use: "memory" or "postgres".
	Mode string `json:"mode"`
	// Orders counts order outcomes since start.
	Orders OrderStats `json:"orders"`
	// Stock is the remaining units per item id.
	Stock map[string]int `json:"stock"`
}

// Stats returns the order counters and the current stock.
func (s *Server) Stats(ctx context.Context) (Stats, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.DBTimeout)
	defer cancel()
	stock, err := s.store.Stock(ctx)
	if err != nil {
		return Stats{}, err
	}
	c := &s.counters
	return Stats{
		Mode:  s.store.Mode(),
		Stock: stock,
		Orders: OrderStats{
			Received:          c.received.Load(),
			Accepted:          c.accepted.Load(),
			SoldOut:           c.soldOut.Load(),
			FailedInjected:    c.failedInjected.Load(),
			IdempotentReplays: c.replays.Load(),
			UnknownItem:       c.unknownItem.Load(),
			Unauthorized:      c.unauthorized.Load(),
			BadRequest:        c.badRequest.Load(),
			Errors:            c.errors.Load(),
		},
	}, nil
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	st, err := s.Stats(r.Context())
	if err != nil {
		s.log.Error("stats", "err", err)
		writeJSONError(w, http.StatusServiceUnavailable, "unavailable")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.dbContext(r)
	defer cancel()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("health check failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("unavailable"))
		return
	}
	_, _ = w.Write([]byte("ok"))
}
