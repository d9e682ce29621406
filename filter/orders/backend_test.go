package orders

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"edge/filter/stock"
)

func testOrder(route, user string) *Order {
	return &Order{Ticket: NewTicket(), Route: route, User: user, Item: "42",
		Unit:     stock.Unit{Item: "42", ID: 0xbeef, User: user},
		Request:  []byte("POST /order?item=42 HTTP/1.1\r\nHost: shop\r\nContent-Length: 0\r\n\r\n"),
		Enqueued: time.Now().Truncate(time.Millisecond)}
}

// TestBackendContract runs the same script on every backend: bounded
// enqueue, delivery in order and once, attempts, claims of unacknowledged
// orders, final results that are written once and wake watchers.
func TestBackendContract(t *testing.T) {
	t.Parallel()
	for name, mk := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			be := mk(t)
			ctx := context.Background()
			var placed []*Order
			for i := range 3 {
				o := testOrder("r1", []string{"alice", "bob", "carol"}[i])
				if err := be.Enqueue(ctx, o, 3); err != nil {
					t.Fatalf("enqueue %d: %v", i, err)
				}
				placed = append(placed, o)
			}
			if err := be.Enqueue(ctx, testOrder("r1", "dave"), 3); !errors.Is(err, ErrFull) {
				t.Fatalf("enqueue past max_length: %v, want ErrFull", err)
			}
			if err := be.Enqueue(ctx, testOrder("r2", "erin"), 3); err != nil {
				t.Fatalf("another route has its own bound: %v", err)
			}
			n, oldest, err := be.Stats(ctx, "r1")
			if err != nil || n != 3 || oldest.IsZero() || time.Since(oldest) > time.Minute {
				t.Fatalf("stats = %d, %v, %v", n, oldest, err)
			}

			r, err := be.Result(ctx, placed[0].Ticket)
			if err != nil || r == nil || r.Status != StatusPending || r.User != "alice" || r.Route != "r1" {
				t.Fatalf("pending result = %+v, %v", r, err)
			}

			ds, err := be.Read(ctx, "r1", 2, 10*time.Millisecond)
			if err != nil || len(ds) != 2 {
				t.Fatalf("read 2: %d, %v", len(ds), err)
			}
			more, err := be.Read(ctx, "r1", 10, 10*time.Millisecond)
			if err != nil || len(more) != 1 {
				t.Fatalf("read rest: %d, %v", len(more), err)
			}
			ds = append(ds, more...)
			for i, d := range ds {
				o := d.Order
				if o.Ticket != placed[i].Ticket || o.User != placed[i].User || o.Unit != placed[i].Unit ||
					string(o.Request) != string(placed[i].Request) || !o.Enqueued.Equal(placed[i].Enqueued) {
					t.Fatalf("delivery %d = %+v, want %+v", i, o, placed[i])
				}
			}
			if again, _ := be.Read(ctx, "r1", 10, 10*time.Millisecond); len(again) != 0 {
				t.Fatalf("orders delivered twice: %d", len(again))
			}
			if c, _ := be.Claim(ctx, "r1", time.Hour, 10); len(c) != 0 {
				t.Fatalf("claimed %d busy orders", len(c))
			}

			for want := 1; want <= 2; want++ {
				st, n, err := be.Attempt(ctx, placed[0].Ticket)
				if err != nil || st != StatusPending || n != want {
					t.Fatalf("attempt = %q, %d, %v; want pending, %d", st, n, err, want)
				}
			}

			watch, stop := be.Watch(placed[0].Ticket)
			defer stop()
			res := &Result{Ticket: placed[0].Ticket, Status: StatusAccepted, Code: 201,
				ContentType: "application/json", Body: []byte(`{"order":"1"}`), Done: time.Now()}
			if err := be.Finish(ctx, "r1", ds[0].ID, res, time.Hour); err != nil {
				t.Fatal(err)
			}
			select {
			case <-watch:
			case <-time.After(5 * time.Second):
				t.Fatal("watcher not woken by the final result")
			}
			got, err := be.Result(ctx, placed[0].Ticket)
			if err != nil || got.Status != StatusAccepted || got.Code != 201 || string(got.Body) != `{"order":"1"}` ||
				got.Attempts != 2 || got.User != "alice" || got.Done.IsZero() {
				t.Fatalf("final result = %+v, %v", got, err)
			}
			late := &Result{Ticket: placed[0].Ticket, Status: StatusRejected, Reason: ReasonRefused, Done: time.Now()}
			if err := be.Finish(ctx, "r1", ds[0].ID, late, time.Hour); err != nil {
				t.Fatal(err)
			}
			if got, _ := be.Result(ctx, placed[0].Ticket); got.Status != StatusAccepted {
				t.Fatalf("a second Finish overwrote the result: %+v", got)
			}
			if st, _, _ := be.Attempt(ctx, placed[0].Ticket); st != StatusAccepted {
				t.Fatalf("attempt on a decided order = %q", st)
			}

			if err := be.Cancel(ctx, placed[1].Ticket); err != nil {
				t.Fatal(err)
			}
			if st, _, err := be.Attempt(ctx, placed[1].Ticket); st != "" || err != nil {
				t.Fatalf("attempt on a cancelled order = %q, %v", st, err)
			}
			if err := be.Drop(ctx, "r1", ds[1].ID); err != nil {
				t.Fatal(err)
			}

			// The third order was never acknowledged: a claim takes it.
			claimed, err := be.Claim(ctx, "r1", 0, 10)
			if err != nil || len(claimed) != 1 || claimed[0].Order.Ticket != placed[2].Ticket {
				t.Fatalf("claim = %+v, %v", claimed, err)
			}
			if n, _, _ := be.Stats(ctx, "r1"); n != 1 {
				t.Fatalf("length after finishing two = %d, want 1", n)
			}
			if r, _ := be.Result(ctx, NewTicket()); r != nil {
				t.Fatalf("unknown ticket has a result: %+v", r)
			}
		})
	}
}

// TestRedisConsumersShareWork: two nodes read one stream as one group; a
// node's unacknowledged orders go to the other only through a claim.
func TestRedisConsumersShareWork(t *testing.T) {
	t.Parallel()
	rdb := newRedisClient(t)
	a := NewRedis(rdb, RedisOptions{Consumer: "a", Timeout: 2 * time.Second, Log: quiet})
	b := NewRedis(rdb, RedisOptions{Consumer: "b", Timeout: 2 * time.Second, Log: quiet})
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	ctx := context.Background()
	for range 4 {
		if err := a.Enqueue(ctx, testOrder("r", "u"), 100); err != nil {
			t.Fatal(err)
		}
	}
	got, err := a.Read(ctx, "r", 4, 10*time.Millisecond)
	if err != nil || len(got) != 4 {
		t.Fatalf("a read %d, %v", len(got), err)
	}
	if ds, _ := b.Read(ctx, "r", 4, 10*time.Millisecond); len(ds) != 0 {
		t.Fatalf("b read %d orders a holds", len(ds))
	}
	// a still works on the first two: touching them keeps them a's.
	if err := a.Touch(ctx, "r", []string{got[0].ID, got[1].ID}); err != nil {
		t.Fatal(err)
	}
	claimed, err := b.Claim(ctx, "r", 0, 10)
	if err != nil || len(claimed) != 4 {
		t.Fatalf("b claimed %d, %v", len(claimed), err)
	}
	// Once b owns them, a's touch leaves them alone.
	if err := a.Touch(ctx, "r", []string{got[0].ID}); err != nil {
		t.Fatal(err)
	}
	pend, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: b.streamKey("r"), Group: group, Start: "-", End: "+", Count: 10}).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pend {
		if p.Consumer != "b" {
			t.Fatalf("entry %s owned by %s after b's claim", p.ID, p.Consumer)
		}
	}
}
