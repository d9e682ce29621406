package stock

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"edge/internal/testredis"
)

// nodes returns n stores sharing one state: n Redis stores (each with its
// own client, as separate edge nodes would have) or the one memory store.
type nodes func(t *testing.T, n int) []Store

func memoryNodes(t *testing.T, n int) []Store {
	m := NewMemory()
	out := make([]Store, n)
	for i := range out {
		out[i] = m
	}
	return out
}

func redisNodes(addrs ...string) nodes {
	return func(t *testing.T, n int) []Store {
		out := make([]Store, n)
		for i := range out {
			out[i] = newRedisStore(t, newClient(t, nil, addrs...), RedisOptions{Prefix: "t:"})
		}
		return out
	}
}

func TestMemoryContract(t *testing.T) {
	t.Parallel()
	contract(t, memoryNodes)
}

func TestRedisContract(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	contract(t, redisNodes(srv.Addr))
}

func TestClusterContract(t *testing.T) {
	t.Parallel()
	cl := testredis.StartCluster(t, 3)
	contract(t, redisNodes(cl.Addrs()...))
}

// contract runs the behaviour every store must have.
func contract(t *testing.T, newNodes nodes) {
	ctx := context.Background()
	seed := func(t *testing.T, s Store, stock int64) *Sale {
		t.Helper()
		sale := testSale(uniqueItem(), stock)
		if ok, err := s.Seed(ctx, sale, stock); err != nil || !ok {
			t.Fatalf("seed = %v, %v", ok, err)
		}
		return sale
	}
	info := func(t *testing.T, s Store, sale *Sale) Info {
		t.Helper()
		in, err := s.Info(ctx, sale)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}

	t.Run("concurrent takes never exceed stock", func(t *testing.T) {
		t.Parallel()
		const stock, orders = 200, 5000
		ns := newNodes(t, 3)
		sale := seed(t, ns[0], stock)
		var taken, soldOut, other atomic.Int64
		var wg sync.WaitGroup
		for i := range orders {
			s := ns[i%len(ns)]
			wg.Go(func() {
				r, err := s.Take(ctx, sale, nil, 0, rand.Uint64())
				switch {
				case err != nil:
					t.Error(err)
				case r == Taken:
					taken.Add(1)
				case r == SoldOut:
					soldOut.Add(1)
				default:
					other.Add(1)
				}
			})
		}
		wg.Wait()
		if taken.Load() != stock || soldOut.Load() != orders-stock || other.Load() != 0 {
			t.Fatalf("taken %d, sold out %d, other %d; want %d, %d, 0", taken.Load(), soldOut.Load(), other.Load(), stock, orders-stock)
		}
		if in := info(t, ns[1], sale); in.Remaining != 0 || in.Reserved != stock || !in.SoldOut {
			t.Fatalf("info %+v", in)
		}
	})

	t.Run("per-user limit across nodes", func(t *testing.T) {
		t.Parallel()
		ns := newNodes(t, 3)
		sale := seed(t, ns[0], 100)
		var taken atomic.Int64
		var wg sync.WaitGroup
		for i := range 60 {
			s := ns[i%len(ns)]
			wg.Go(func() {
				r, err := s.Take(ctx, sale, []byte("alice"), 2, rand.Uint64())
				if err != nil {
					t.Error(err)
				}
				if r == Taken {
					taken.Add(1)
				} else if r != LimitReached {
					t.Errorf("got %v, want limit_reached", r)
				}
			})
		}
		wg.Wait()
		if taken.Load() != 2 {
			t.Fatalf("alice took %d units with per_user 2", taken.Load())
		}
		// Another shopper is not affected; a zero cap is no cap.
		if r, _ := ns[1].Take(ctx, sale, []byte("bob"), 2, rand.Uint64()); r != Taken {
			t.Fatalf("bob: %v", r)
		}
		if r, _ := ns[2].Take(ctx, sale, []byte("alice"), 0, rand.Uint64()); r != Taken {
			t.Fatalf("alice without cap: %v", r)
		}
		if in := info(t, ns[0], sale); in.Remaining != 96 {
			t.Fatalf("remaining %d, want 96", in.Remaining)
		}
	})

	t.Run("seed once", func(t *testing.T) {
		t.Parallel()
		ns := newNodes(t, 2)
		sale := seed(t, ns[0], 10)
		if _, err := ns[0].Take(ctx, sale, nil, 0, 1); err != nil {
			t.Fatal(err)
		}
		for _, s := range ns { // a later node, a reload: never a reset
			if ok, err := s.Seed(ctx, sale, 500); err != nil || ok {
				t.Fatalf("second seed = %v, %v; want false", ok, err)
			}
		}
		if in := info(t, ns[1], sale); in.Remaining != 9 || in.Reserved != 1 {
			t.Fatalf("info %+v", in)
		}
	})

	t.Run("keep and give back exactly once", func(t *testing.T) {
		t.Parallel()
		ns := newNodes(t, 2)
		sale := seed(t, ns[0], 3)
		for _, id := range []uint64{11, 12, 13} {
			if r, err := ns[0].Take(ctx, sale, []byte("u"), 5, id); r != Taken || err != nil {
				t.Fatalf("take %d: %v %v", id, r, err)
			}
		}
		if r, _ := ns[1].Take(ctx, sale, nil, 0, 14); r != SoldOut {
			t.Fatalf("fourth take: %v", r)
		}
		for range 2 { // the second round must change nothing
			if err := ns[0].Keep(ctx, sale, 11); err != nil {
				t.Fatal(err)
			}
			if err := ns[1].Give(ctx, sale, []byte("u"), 12); err != nil {
				t.Fatal(err)
			}
			if err := ns[1].Keep(ctx, sale, 12); err != nil { // already given back
				t.Fatal(err)
			}
			want := Info{Remaining: 1, Reserved: 1, Sold: 1, GivenBack: 1}
			if in := info(t, ns[0], sale); in != want {
				t.Fatalf("info %+v, want %+v", in, want)
			}
		}
		// The given-back unit is for sale again, and the user's count went down.
		if r, _ := ns[1].Take(ctx, sale, []byte("u"), 3, 15); r != Taken {
			t.Fatalf("take after give: %v", r)
		}
	})

	t.Run("the shop's sold out, set and release", func(t *testing.T) {
		t.Parallel()
		ns := newNodes(t, 1)
		s := ns[0]
		sale := seed(t, s, 5)
		for id := uint64(1); id <= 2; id++ {
			s.Take(ctx, sale, []byte("u"), 2, id)
			s.Keep(ctx, sale, id)
		}
		if err := s.MarkSoldOut(ctx, sale); err != nil {
			t.Fatal(err)
		}
		if r, _ := s.Take(ctx, sale, nil, 0, 3); r != SoldOut {
			t.Fatalf("after the shop's sold out: %v", r)
		}
		if err := s.Give(ctx, sale, nil, 99); err != nil { // an unknown id
			t.Fatal(err)
		}
		if in := info(t, s, sale); !in.SoldOut || in.Remaining != 3 {
			t.Fatalf("info %+v", in)
		}
		// Release: at most the units sold; the user may buy again.
		n, err := s.Release(ctx, sale, 5, "u")
		if err != nil || n != 2 {
			t.Fatalf("release = %d, %v; want 2", n, err)
		}
		if in := info(t, s, sale); in.SoldOut || in.Remaining != 5 || in.Sold != 0 || in.GivenBack != 2 {
			t.Fatalf("after release %+v", in)
		}
		if r, _ := s.Take(ctx, sale, []byte("u"), 2, 4); r != Taken {
			t.Fatalf("u after release: %v", r)
		}
		if err := s.Set(ctx, sale, 0); err != nil {
			t.Fatal(err)
		}
		if r, _ := s.Take(ctx, sale, nil, 0, 5); r != SoldOut {
			t.Fatalf("after set 0: %v", r)
		}
		if err := s.Set(ctx, sale, 1); err != nil {
			t.Fatal(err)
		}
		if r, _ := s.Take(ctx, sale, nil, 0, 6); r != Taken {
			t.Fatalf("after set 1: %v", r)
		}
		if in := info(t, s, sale); in.Remaining != 0 || in.Reserved != 2 {
			t.Fatalf("after set %+v", in)
		}
	})

	t.Run("no state", func(t *testing.T) {
		t.Parallel()
		s := newNodes(t, 1)[0]
		sale := testSale(uniqueItem(), 5)
		if r, err := s.Take(ctx, sale, nil, 0, 1); r != Unknown || err != nil {
			t.Fatalf("take = %v, %v", r, err)
		}
		if _, err := s.Info(ctx, sale); !errors.Is(err, ErrUnknownSale) {
			t.Fatalf("info err %v", err)
		}
		if _, err := s.Release(ctx, sale, 1, ""); !errors.Is(err, ErrUnknownSale) {
			t.Fatalf("release err %v", err)
		}
		if s.SoldOut(sale) {
			t.Fatal("sold out without state")
		}
		if err := s.Set(ctx, sale, 2); err != nil {
			t.Fatal(err)
		}
		if r, _ := s.Take(ctx, sale, nil, 0, 2); r != Taken {
			t.Fatalf("after set: %v", r)
		}
	})

	t.Run("local flag", func(t *testing.T) {
		t.Parallel()
		s := newNodes(t, 1)[0]
		sale := seed(t, s, 1)
		if s.SoldOut(sale) {
			t.Fatal("sold out too early")
		}
		if r, _ := s.Take(ctx, sale, nil, 0, 1); r != Taken {
			t.Fatal(r)
		}
		if !s.SoldOut(sale) {
			t.Fatal("the taker of the last unit must know at once")
		}
		s.Give(ctx, sale, nil, 1)
		if s.SoldOut(sale) {
			t.Fatal("a given-back unit reopens the sale")
		}
		info(t, s, sale) // Redis: the local counters follow a read
		if in, ok := s.Local(sale); !ok || in.Remaining != 1 || in.Reserved != 0 || in.GivenBack != 1 {
			t.Fatalf("local %+v %v", in, ok)
		}
	})
}
