package shop

import (
	"context"
	"maps"
	"strconv"
	"sync"
)

// memStore is the in-memory store: one mutex over the stock map and the
// idempotency index. The index only holds completed orders, so it is bounded
// by the total stock.
type memStore struct {
	mu     sync.Mutex
	stock  map[string]int
	byKey  map[string]order
	lastID uint64
}

var _ store = (*memStore)(nil)

func newMemStore(stock map[string]int) *memStore {
	return &memStore{stock: maps.Clone(stock), byKey: map[string]order{}}
}

func (m *memStore) Sell(_ context.Context, item, buyer, key string) (sale, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if key != "" {
		if o, ok := m.byKey[key]; ok {
			return replayOf(o, item, buyer)
		}
	}
	left, ok := m.stock[item]
	if !ok {
		return sale{}, errUnknownItem
	}
	if left <= 0 {
		return sale{}, errSoldOut
	}
	m.stock[item] = left - 1
	m.lastID++
	o := order{ID: strconv.FormatUint(m.lastID, 10), Item: item, Buyer: buyer}
	if key != "" {
		m.byKey[key] = o
	}
	return sale{Order: o}, nil
}

func (m *memStore) ItemStock(_ context.Context, item string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.stock[item]
	if !ok {
		return 0, errUnknownItem
	}
	return n, nil
}

func (m *memStore) Stock(context.Context) (map[string]int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.stock), nil
}

func (m *memStore) Ping(context.Context) error { return nil }

func (m *memStore) Mode() string { return "memory" }

func (m *memStore) Close() {}
