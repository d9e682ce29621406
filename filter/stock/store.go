// Package stock is the stock gate of the funnel: every order for an item on
// sale takes one unit of the item's stock before it may reach the shop, so a
// sale of N units sends about N orders to the shop and every later order is
// answered "sold out" at the edge.
//
// The pieces:
//
//   - Sales is the sale table of one configuration (items, names, windows,
//     initial stock); it is rebuilt on every reload.
//   - Store keeps the counters: Memory for one node, Redis for a fleet (one
//     Lua script per order, sold-out news spread over pub/sub so that
//     sold-out answers come from a local flag).
//   - Gate is the funnel stage "stock": it takes a unit before the order goes
//     on and, once the shop answered, keeps it, gives it back, or marks the
//     item sold out when the shop says so.
//   - Ledger is the process-lifetime view of the sales in effect that the
//     public /_edge/stock/{item} endpoint, the admin endpoints and the gauges
//     read.
//
// Wiring, once per process: store := NewMemory(), or NewRedis(rdb,
// RedisOptions{Prefix: redis.prefix, Timeout: redis.timeout, Log: log});
// m := NewMetrics(reg); ledger := NewLedger(store, m, now, log); register
// StockHandler(ledger) under EdgePrefix on the public listener and
// AdminHandlers(ledger) on the admin listener; store.Close() at shutdown.
// On every (re)load: sales := NewSales(cfg.Sales); ledger.Seed(ctx, sales);
// one NewGate per route with stock: (its SoldOutCheck goes right after the
// item stage, the gate after the cheaper stages); once the new table took
// effect, ledger.Use(sales).
//
// The invariant the package keeps under every fault it knows of (Redis down,
// Redis restarted empty, a retried call, the shop failing or timing out) is
// that no more units are taken than the stock holds: a fault may leave a unit
// unsold (counted as reserved until an operator releases it), never sell one
// twice.
package stock

import (
	"context"
	"errors"
	"sync/atomic"
)

// Result is the outcome of Store.Take.
type Result uint8

const (
	// Unknown means the store has no state for the item: it was never
	// seeded, or its state was lost (a Redis that restarted empty) and an
	// operator has not set it again. The gate answers 503 unavailable.
	Unknown Result = iota
	// Taken means one unit was taken for the order.
	Taken
	// SoldOut means no unit is left (or the shop said the item is sold out).
	SoldOut
	// LimitReached means the shopper already holds per_user units.
	LimitReached
)

// String returns the result's label ("taken", "sold_out"...).
func (r Result) String() string {
	switch r {
	case Taken:
		return "taken"
	case SoldOut:
		return "sold_out"
	case LimitReached:
		return "limit_reached"
	}
	return "unknown"
}

// ErrUnavailable is returned (wrapped) when the store cannot answer: Redis
// does not answer in time, or its circuit is open after repeated failures.
var ErrUnavailable = errors.New("stock: store unavailable")

// ErrUnknownSale is returned by operations that need the item's state
// (Release) when the store has none.
var ErrUnknownSale = errors.New("stock: no state for this item")

// Info is the state of one item's stock.
type Info struct {
	// Remaining units that can still be taken.
	Remaining int64
	// Reserved units: taken by orders the shop has not answered yet (or
	// whose outcome could not be recorded).
	Reserved int64
	// Sold units: taken by orders the shop accepted (2xx).
	Sold int64
	// GivenBack counts units returned to the stock: the shop failed or
	// refused, a later stage refused, or an operator released them.
	GivenBack int64
	// SoldOut is true when no unit can be taken: none remains, or the shop
	// said the item is sold out.
	SoldOut bool
}

// Store keeps the stock counters of the items on sale. Implementations are
// safe for concurrent use and live as long as the process (they outlive
// reloads); every method bounds its own waiting, whatever ctx says.
//
// id names one take: Keep and Give of the same id act at most once, so a
// call retried after a lost reply never counts twice. Callers draw a fresh
// random id per take.
type Store interface {
	// Take checks, in one atomic step, that the item has state, that a unit
	// remains and that user holds fewer than perUser units (0 = no cap; an
	// empty user is not capped), then takes one unit for the order id.
	Take(ctx context.Context, sale *Sale, user []byte, perUser int, id uint64) (Result, error)
	// Keep records that the shop accepted the order id: its unit is sold.
	Keep(ctx context.Context, sale *Sale, id uint64) error
	// Give returns the unit of order id to the stock (and the user's
	// count, user being the value passed to Take). A second Give of the
	// same id does nothing.
	Give(ctx context.Context, sale *Sale, user []byte, id uint64) error
	// MarkSoldOut records that the item is sold out (the shop said so):
	// takes are refused until Set or Release makes units available again.
	MarkSoldOut(ctx context.Context, sale *Sale) error
	// Set makes stock the remaining units (an operator's correction) and
	// clears a sold-out mark; reserved and sold are unchanged.
	Set(ctx context.Context, sale *Sale, stock int64) error
	// Release returns up to units sold units to the stock (the shop
	// cancelled unpaid orders) and lowers user's count when user is set. It
	// returns the units released: at most the units sold.
	Release(ctx context.Context, sale *Sale, units int64, user string) (int64, error)
	// Seed sets the item's stock only when the item has no state yet, and
	// reports whether it did: the first node seeds, later nodes and reloads
	// never reset a running sale.
	Seed(ctx context.Context, sale *Sale, stock int64) (bool, error)
	// Info reads the item's counters from the authority (Redis for a
	// fleet).
	Info(ctx context.Context, sale *Sale) (Info, error)
	// SoldOut reports this node's sold-out flag for the item, without I/O
	// and without allocating.
	SoldOut(sale *Sale) bool
	// Local returns this node's last known counters of the item without
	// I/O; ok is false when none are known yet.
	Local(sale *Sale) (info Info, ok bool)
	// Close stops the store's background work.
	Close() error
}

// flag is a node's sold-out flag with the version of the state it reflects,
// packed in one word (version<<1 | soldOut) so both change together. A
// newer version always wins; news arriving out of order is ignored.
type flag struct{ v atomic.Uint64 }

// apply records that the item was (soldOut) at version ver if ver is newer
// than what the flag holds, and reports whether it did.
func (f *flag) apply(ver uint64, soldOut bool) bool {
	nv := ver << 1
	if soldOut {
		nv |= 1
	}
	for {
		old := f.v.Load()
		if old != 0 && old>>1 >= ver {
			return false
		}
		if f.v.CompareAndSwap(old, nv) {
			return true
		}
	}
}

// set reports the flag.
func (f *flag) set() bool { return f.v.Load()&1 == 1 }

// version returns the version the flag reflects (0: none yet).
func (f *flag) version() uint64 { return f.v.Load() >> 1 }
