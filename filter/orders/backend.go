package orders

import (
	"context"
	"errors"
	"time"
)

// ErrFull is returned by Backend.Enqueue when the route's queue holds its
// maximum length.
var ErrFull = errors.New("orders: queue full")

// PendingTTL is how long a pending result is kept: an order still queued
// this long after it was placed counts as lost (its dispatcher gives the
// unit back and drops it). Final results are kept for the route's
// result_ttl.
const PendingTTL = 24 * time.Hour

// Backend keeps the queues (one per async route) and the results (one per
// ticket). Implementations are safe for concurrent use and bound the wait of
// every call themselves, whatever ctx says.
//
// A queued order is delivered to one dispatcher at a time; it stays in the
// queue until Finish or Drop acknowledges it, so the orders of a dispatcher
// that stopped without acknowledging are delivered again through Claim.
type Backend interface {
	// Enqueue appends o to its route's queue and records its pending
	// result, in one step; ErrFull when the queue holds maxLen orders.
	Enqueue(ctx context.Context, o *Order, maxLen int) error
	// Cancel forgets the pending result of a ticket whose Enqueue failed
	// without an answer, so that a dispatcher meeting the order drops it.
	Cancel(ctx context.Context, ticket string) error
	// Read returns up to n orders of route never delivered before, waiting
	// up to block for the first.
	Read(ctx context.Context, route string, n int, block time.Duration) ([]Delivery, error)
	// Claim returns up to n orders of route delivered at least idle ago
	// and not acknowledged (their dispatcher stopped), delivering them
	// again to the caller.
	Claim(ctx context.Context, route string, idle time.Duration, n int) ([]Delivery, error)
	// Touch restarts the idle time of orders the caller still works on, so
	// that no other dispatcher claims them.
	Touch(ctx context.Context, route string, ids []string) error
	// Attempt records one more send of ticket's order and returns the
	// result's status and the sends so far (this one included). A status
	// other than StatusPending means: do not send; "" means the result is
	// gone (cancelled or expired).
	Attempt(ctx context.Context, ticket string) (status string, attempts int, err error)
	// Finish stores r as the final result of its ticket (unless one is
	// stored already) for ttl, wakes the ticket's watchers and
	// acknowledges the delivery id, in one step.
	Finish(ctx context.Context, route, id string, r *Result, ttl time.Duration) error
	// Drop acknowledges the delivery id without a result.
	Drop(ctx context.Context, route, id string) error
	// Stats returns the orders of route not acknowledged yet and when the
	// oldest of them was queued (zero when none).
	Stats(ctx context.Context, route string) (length int64, oldest time.Time, err error)
	// Result returns ticket's result, nil when there is none.
	Result(ctx context.Context, ticket string) (*Result, error)
	// Watch returns a channel that is closed when ticket's result may have
	// become final (it may also be closed without a change, or stay open
	// when a wake-up was missed: poll as well). stop releases it.
	Watch(ticket string) (ch <-chan struct{}, stop func())
	// Close stops the backend's background work.
	Close() error
}
