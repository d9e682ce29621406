package stock

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// userShards spreads the per-user counts of one item over this many locks.
const userShards = 32

// Memory is the one-node store: each item's counters are atomics in this
// process, so the sold-out flag is simply "nothing remains". Its state is
// lost when the process exits: a restarted node seeds its sales again from
// the config, so a sale that must survive restarts needs the Redis store.
//
// Memory is safe for concurrent use.
type Memory struct {
	mu    sync.Mutex                          // serialises adding items
	items atomic.Pointer[map[string]*memItem] // copy on write: lock-free reads
	seed  maphash.Seed
}

type memItem struct {
	left, reserved, sold, back atomic.Int64
	out                        atomic.Bool // marked sold out by the shop
	users                      [userShards]userShard
	ops                        [userShards]opShard
}

// userShard holds per-user counts; pointers, so counting a known user
// does not allocate a key.
type userShard struct {
	mu sync.Mutex
	n  map[string]*int64
}

// opShard holds the ids of taken units not kept or given back yet, so Keep
// and Give act once per id.
type opShard struct {
	mu  sync.Mutex
	ids map[uint64]struct{}
}

// open records id as taken.
func (it *memItem) open(id uint64) {
	sh := &it.ops[id%userShards]
	sh.mu.Lock()
	if sh.ids == nil {
		sh.ids = make(map[uint64]struct{})
	}
	sh.ids[id] = struct{}{}
	sh.mu.Unlock()
}

// close forgets id and reports whether it was taken.
func (it *memItem) close(id uint64) bool {
	sh := &it.ops[id%userShards]
	sh.mu.Lock()
	_, ok := sh.ids[id]
	delete(sh.ids, id)
	sh.mu.Unlock()
	return ok
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	m := &Memory{seed: maphash.MakeSeed()}
	empty := map[string]*memItem{}
	m.items.Store(&empty)
	return m
}

func (m *Memory) item(sale *Sale) *memItem { return (*m.items.Load())[sale.Item] }

// Take takes one unit: lock-free unless a per-user cap applies, in which
// case the user's shard is locked so one shopper cannot race past the cap.
func (m *Memory) Take(_ context.Context, sale *Sale, user []byte, perUser int, id uint64) (Result, error) {
	it := m.item(sale)
	switch {
	case it == nil:
		return Unknown, nil
	case it.out.Load():
		return SoldOut, nil
	case perUser <= 0 || len(user) == 0:
		if !it.takeOne() {
			return SoldOut, nil
		}
	default:
		sh := &it.users[maphash.Bytes(m.seed, user)%userShards]
		sh.mu.Lock()
		held := sh.n[string(user)]
		if held != nil && *held >= int64(perUser) {
			sh.mu.Unlock()
			if it.left.Load() <= 0 {
				return SoldOut, nil
			}
			return LimitReached, nil
		}
		if !it.takeOne() {
			sh.mu.Unlock()
			return SoldOut, nil
		}
		switch {
		case held != nil:
			*held++
		case sh.n == nil:
			sh.n = map[string]*int64{string(user): new(int64(1))}
		default:
			sh.n[string(user)] = new(int64(1))
		}
		sh.mu.Unlock()
	}
	it.open(id)
	it.reserved.Add(1)
	return Taken, nil
}

// takeOne decrements left unless it is zero.
func (it *memItem) takeOne() bool {
	for {
		v := it.left.Load()
		if v <= 0 {
			return false
		}
		if it.left.CompareAndSwap(v, v-1) {
			return true
		}
	}
}

// lower takes n from user's count, forgetting the user at zero.
func (m *Memory) lower(it *memItem, user []byte, n int64) {
	sh := &it.users[maphash.Bytes(m.seed, user)%userShards]
	sh.mu.Lock()
	if c := sh.n[string(user)]; c != nil {
		if *c <= n {
			delete(sh.n, string(user))
		} else {
			*c -= n
		}
	}
	sh.mu.Unlock()
}

// Keep moves id's unit from reserved to sold (once).
func (m *Memory) Keep(_ context.Context, sale *Sale, id uint64) error {
	if it := m.item(sale); it != nil && it.close(id) {
		it.reserved.Add(-1)
		it.sold.Add(1)
	}
	return nil
}

// Give returns id's unit to the stock and lowers user's count (once).
func (m *Memory) Give(_ context.Context, sale *Sale, user []byte, id uint64) error {
	it := m.item(sale)
	if it == nil || !it.close(id) {
		return nil
	}
	if len(user) > 0 {
		m.lower(it, user, 1)
	}
	it.reserved.Add(-1)
	it.back.Add(1)
	it.left.Add(1)
	return nil
}

// MarkSoldOut refuses further takes until Set or Release.
func (m *Memory) MarkSoldOut(_ context.Context, sale *Sale) error {
	if it := m.item(sale); it != nil {
		it.out.Store(true)
	}
	return nil
}

// Set makes stock the remaining units and clears the sold-out mark,
// creating the item's state when it has none.
func (m *Memory) Set(_ context.Context, sale *Sale, stock int64) error {
	it, _ := m.add(sale.Item, stock)
	it.left.Store(max(stock, 0))
	it.out.Store(false)
	return nil
}

// Release returns up to units sold units and lowers user's count.
func (m *Memory) Release(_ context.Context, sale *Sale, units int64, user string) (int64, error) {
	it := m.item(sale)
	if it == nil {
		return 0, ErrUnknownSale
	}
	var n int64
	for {
		sold := it.sold.Load()
		n = min(units, sold)
		if n <= 0 {
			return 0, nil
		}
		if it.sold.CompareAndSwap(sold, sold-n) {
			break
		}
	}
	if user != "" {
		m.lower(it, []byte(user), n)
	}
	it.back.Add(n)
	it.left.Add(n)
	it.out.Store(false)
	return n, nil
}

// Seed creates the item's state with stock units unless it exists.
func (m *Memory) Seed(_ context.Context, sale *Sale, stock int64) (bool, error) {
	_, created := m.add(sale.Item, stock)
	return created, nil
}

// add returns item's state, creating it with stock units when absent.
func (m *Memory) add(item string, stock int64) (*memItem, bool) {
	if it := (*m.items.Load())[item]; it != nil {
		return it, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := *m.items.Load()
	if it := cur[item]; it != nil {
		return it, false
	}
	it := &memItem{}
	it.left.Store(max(stock, 0))
	next := make(map[string]*memItem, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	next[item] = it
	m.items.Store(&next)
	return it, true
}

// Info returns the counters; ErrUnknownSale when the item has no state.
func (m *Memory) Info(_ context.Context, sale *Sale) (Info, error) {
	info, ok := m.Local(sale)
	if !ok {
		return Info{}, ErrUnknownSale
	}
	return info, nil
}

// SoldOut reports whether nothing remains or the shop said sold out.
func (m *Memory) SoldOut(sale *Sale) bool {
	it := m.item(sale)
	return it != nil && (it.out.Load() || it.left.Load() <= 0)
}

// Local returns the counters (exact: this node is the authority).
func (m *Memory) Local(sale *Sale) (Info, bool) {
	it := m.item(sale)
	if it == nil {
		return Info{}, false
	}
	left := it.left.Load()
	return Info{
		Remaining: left,
		Reserved:  it.reserved.Load(),
		Sold:      it.sold.Load(),
		GivenBack: it.back.Load(),
		SoldOut:   it.out.Load() || left <= 0,
	}, true
}

// Close does nothing: the memory store has no background work.
func (m *Memory) Close() error { return nil }
