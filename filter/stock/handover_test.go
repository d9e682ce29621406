package stock

import (
	"context"
	"testing"

	"edge/filter"
	"edge/internal/config"
)

// TestHandOver: a later stage takes the unit over (the gate's After then
// leaves it reserved) and settles it through the ledger afterwards, once.
func TestHandOver(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		perUser int
		settle  func(l *Ledger, u Unit) error
		info    Info
		again   bool // alice may take another unit afterwards
	}{
		{"kept", 1, func(l *Ledger, u Unit) error { return l.Keep(context.Background(), u) },
			Info{Remaining: 4, Sold: 1}, false},
		{"given back", 1, func(l *Ledger, u Unit) error { return l.Give(context.Background(), u) },
			Info{Remaining: 5, GivenBack: 1}, true},
		{"kept uncapped", 0, func(l *Ledger, u Unit) error { return l.Keep(context.Background(), u) },
			Info{Remaining: 4, Sold: 1}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			g, store, sale := memGate(t, 5, &config.RouteStock{PerUser: c.perUser}, nil)
			ledger := NewLedger(store, nil, nil, quiet)
			ledger.Use(g.sales)
			r := newRequest("42", "alice")
			if g.Handle(r.ctx, r.st) != filter.Continue {
				t.Fatal("refused")
			}
			u, ok := ReservedUnit(r.ctx, r.st)
			wantUser := ""
			if c.perUser > 0 {
				wantUser = "alice"
			}
			if !ok || !u.Valid() || u.Item != "42" || u.User != wantUser {
				t.Fatalf("ReservedUnit = %+v, %v", u, ok)
			}
			HandOver(r.ctx, r.st)
			r.answer(202, `{"ticket":"t"}`)
			r.st.Stage = "queue" // the async stage served the order
			g.After(r.ctx, r.st)
			if in, _ := store.Info(context.Background(), sale); in.Reserved != 1 || in.Remaining != 4 {
				t.Fatalf("after the gate's After: %+v, want the unit still reserved", in)
			}
			if err := c.settle(ledger, u); err != nil {
				t.Fatal(err)
			}
			// Settling twice (a retried dispatch) changes nothing.
			_ = c.settle(ledger, u)
			_ = ledger.Give(context.Background(), u)
			if in, _ := store.Info(context.Background(), sale); in != c.info {
				t.Fatalf("settled: %+v, want %+v", in, c.info)
			}
			r2 := newRequest("42", "alice")
			got := g.Handle(r2.ctx, r2.st) == filter.Continue
			if got != c.again {
				t.Fatalf("alice may take again = %v, want %v (%s)", got, c.again, r2.body())
			}
		})
	}
	if _, ok := ReservedUnit(newRequest("42", "bob").ctx, &filter.State{}); ok {
		t.Fatal("a unit reported for an order that took none")
	}
	if err := NewLedger(NewMemory(), nil, nil, quiet).Keep(context.Background(), Unit{}); err != nil {
		t.Fatal(err)
	}
}
