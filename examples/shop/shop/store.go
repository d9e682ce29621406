package shop

import (
	"context"
	"errors"
)

// Outcomes of a sale that are answers, not faults. Every other error from a
// store is a fault (500 to the client, logged).
var (
	errUnknownItem = errors.New("shop: unknown item")
	errSoldOut     = errors.New("shop: sold out")
	// errKeyReused means an Idempotency-Key already names an order of
	// another buyer or item: the request is refused rather than answered
	// with someone else's order.
	errKeyReused = errors.New("shop: idempotency key reused for another order")
)

// order is one completed sale.
type order struct {
	ID    string
	Item  string
	Buyer string
}

// sale is what a store answers to a successful Sell: the order, and whether
// it is the replay of an earlier order with the same idempotency key (in
// which case nothing was sold now).
type sale struct {
	Order  order
	Replay bool
}

// store keeps stock and orders. Both implementations are safe for
// concurrent use; a sale never takes stock below zero and never sells twice
// for one idempotency key.
type store interface {
	// Sell sells one unit of item to buyer. A non-empty key makes the call
	// idempotent: an order already placed with key by the same buyer for the
	// same item is returned as a replay; one placed by another buyer or for
	// another item gives errKeyReused. Errors: errUnknownItem, errSoldOut,
	// errKeyReused or a fault.
	Sell(ctx context.Context, item, buyer, key string) (sale, error)
	// ItemStock returns the remaining units of item, or errUnknownItem.
	ItemStock(ctx context.Context, item string) (int, error)
	// Stock returns the remaining units of every item.
	Stock(ctx context.Context) (map[string]int, error)
	// Ping reports whether the store can serve (always nil in memory).
	Ping(ctx context.Context) error
	// Mode names the implementation: "memory" or "postgres".
	Mode() string
	// Close releases the store's resources.
	Close()
}

// replayOf checks an order found under an idempotency key against the
// current request and turns it into a replay or errKeyReused.
func replayOf(o order, item, buyer string) (sale, error) {
	if o.Item != item || o.Buyer != buyer {
		return sale{}, errKeyReused
	}
	return sale{Order: o, Replay: true}, nil
}
