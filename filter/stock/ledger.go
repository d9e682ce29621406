package stock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Ledger is the process-lifetime view of the sales in effect and their
// store: the public stock endpoint, the admin endpoints and the gauges read
// it, so they follow reloads without being registered again.
type Ledger struct {
	store Store
	now   func() time.Time
	log   *slog.Logger
	m     *Metrics
	sales atomic.Pointer[Sales]
}

// NewLedger returns a ledger over store with no sales yet. now is the
// clock of sale windows (nil: time.Now); m receives the gauges (nil: none);
// log receives seeding problems (nil: slog.Default()).
func NewLedger(store Store, m *Metrics, now func() time.Time, log *slog.Logger) *Ledger {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	l := &Ledger{store: store, now: now, log: log, m: m}
	l.sales.Store(&Sales{})
	m.gauges.ledger.Store(l)
	return l
}

// Store returns the ledger's store.
func (l *Ledger) Store() Store { return l.store }

// Sales returns the sale table in effect.
func (l *Ledger) Sales() *Sales { return l.sales.Load() }

// Use makes sales the table in effect (call it once the table built with
// it took effect).
func (l *Ledger) Use(sales *Sales) {
	if sales == nil {
		sales = &Sales{}
	}
	l.sales.Store(sales)
}

// Seed seeds every sale of sales with its configured stock; a sale that
// already has state keeps it (so a reload never resets a running sale: an
// operator changes the stock of a running sale with PUT /stock/{item}). It
// tries every sale, logs and returns the failures joined; the Redis store
// keeps retrying a failed seed in the background, so a node may start while
// Redis is away (its orders get 503 until the seed succeeds).
func (l *Ledger) Seed(ctx context.Context, sales *Sales) error {
	var errs []error
	for _, sale := range sales.All() {
		seeded, err := l.store.Seed(ctx, sale, sale.Stock)
		if err != nil {
			l.log.Warn("stock: seeding a sale failed; retrying in the background",
				slog.String("sale", sale.Name), slog.Any("err", err))
			errs = append(errs, fmt.Errorf("seed sale %q: %w", sale.Name, err))
			continue
		}
		if seeded {
			l.log.Info("stock: sale seeded", slog.String("sale", sale.Name),
				slog.String("item", sale.Item), slog.Int64("stock", sale.Stock))
		}
	}
	return errors.Join(errs...)
}
