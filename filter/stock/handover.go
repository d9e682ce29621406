package stock

import (
	"context"

	"github.com/valyala/fasthttp"

	"edge/filter"
)

// Unit is one unit the gate took for an order, in a form that outlives the
// request: a later stage that takes the order over (an async queue) carries
// it with the order and settles it once the shop answered, through the
// Ledger's Keep or Give. The zero Unit (ID 0) stands for "no unit".
type Unit struct {
	// Item is the item id of the sale the unit belongs to.
	Item string
	// ID is the take id: Keep and Give of one id act at most once.
	ID uint64
	// User is the shopper the unit counts against under a per-user cap,
	// empty when the take was not capped.
	User string
}

// Valid reports whether u names a unit.
func (u Unit) Valid() bool { return u.ID != 0 && u.Item != "" }

// ReservedUnit returns the unit the gate took for ctx's order, without
// settling it; ok is false when none was taken.
func ReservedUnit(ctx *fasthttp.RequestCtx, st *filter.State) (u Unit, ok bool) {
	if !st.Reserved {
		return Unit{}, false
	}
	r, _ := ctx.UserValue(resKey{}).(*reservation)
	if r == nil {
		return Unit{}, false
	}
	u = Unit{Item: r.sale.Item, ID: r.id}
	if r.capped {
		u.User = string(st.User)
	}
	return u, true
}

// HandOver makes the unit of ctx's order the caller's: the gate's After
// neither keeps nor gives it back; the caller settles it later with
// Ledger.Keep or Ledger.Give. It does nothing when no unit was taken.
func HandOver(ctx *fasthttp.RequestCtx, st *filter.State) {
	if !st.Reserved {
		return
	}
	st.Reserved = false
	if r, _ := ctx.UserValue(resKey{}).(*reservation); r != nil {
		ctx.RemoveUserValue(resKey{})
		*r = reservation{}
		resPool.Put(r)
	}
}

// sale returns the sale of item in effect or, when a reload removed it,
// a stand-in the store can settle units of (the store keys on the item).
func (l *Ledger) sale(item string) (s *Sale, named bool) {
	if s := l.Sales().Get(item); s != nil {
		return s, true
	}
	return &Sale{Name: "item-" + item, Item: item}, false
}

// Keep records that the shop accepted the order of u: its unit is sold.
// Keeping a unit twice, or one given back, does nothing. A failed call is
// retried by the store in the background.
func (l *Ledger) Keep(ctx context.Context, u Unit) error {
	if !u.Valid() {
		return nil
	}
	sale, named := l.sale(u.Item)
	err := l.store.Keep(ctx, sale, u.ID)
	if named {
		l.m.sold.WithLabelValues(sale.Name).Inc()
	}
	return err
}

// Give returns the unit of u to the stock (the order was refused or
// failed). Giving twice, or after Keep, does nothing. A failed call is
// retried by the store in the background.
func (l *Ledger) Give(ctx context.Context, u Unit) error {
	if !u.Valid() {
		return nil
	}
	sale, named := l.sale(u.Item)
	var user []byte
	if u.User != "" {
		user = []byte(u.User)
	}
	err := l.store.Give(ctx, sale, user, u.ID)
	if named {
		l.m.givenBack.WithLabelValues(sale.Name).Inc()
	}
	return err
}

// MarkSoldOut records the shop's word that item is sold out: takes are
// refused everywhere until an operator sets the stock again.
func (l *Ledger) MarkSoldOut(ctx context.Context, item string) error {
	sale, _ := l.sale(item)
	return l.store.MarkSoldOut(ctx, sale)
}
