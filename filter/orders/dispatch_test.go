package orders

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"
	"edge/internal/testutil"
)

func newHub(t testing.TB, be Backend, settle Settler, after func(time.Duration) <-chan time.Time) *Hub {
	t.Helper()
	h := NewHub(be, settle, nil, HubOptions{Log: quiet, After: after})
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// TestDispatchOutcomes: what the shop answers decides the result, the
// stock unit and the retries.
func TestDispatchOutcomes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		answers  []int // status per send; the last repeats
		body     string
		status   string
		reason   string
		attempts int
		sold     int64 // units sold after the decision
		soldOut  bool
	}{
		{"accepted", []int{201}, `{"order":"7"}`, StatusAccepted, "", 1, 1, false},
		{"retried then accepted", []int{500, 503, 201}, `{"order":"8"}`, StatusAccepted, "", 3, 1, false},
		{"429 is retried", []int{429, 200}, `{}`, StatusAccepted, "", 2, 1, false},
		{"sold out", []int{410}, `{"error":"sold_out"}`, StatusRejected, ReasonSoldOut, 1, 0, true},
		{"409 naming sold_out", []int{409}, `{"error":"sold_out"}`, StatusRejected, ReasonSoldOut, 1, 0, true},
		{"409 duplicate", []int{409}, `{"error":"duplicate"}`, StatusRejected, ReasonRefused, 1, 0, false},
		{"bad request", []int{400}, `{"error":"bad"}`, StatusRejected, ReasonRefused, 1, 0, false},
		{"always failing", []int{503}, `{"error":"down"}`, StatusRejected, ReasonUnavailable, 4, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var sends atomic.Int32
			var badKey atomic.Value
			shop := startShop(t, func(ctx *fasthttp.RequestCtx) {
				n := int(sends.Add(1))
				key := string(ctx.Request.Header.Peek(HeaderIdempotencyKey))
				if !ValidTicket([]byte(key)) || string(ctx.Request.Body()) != "qty=1" ||
					string(ctx.Request.Header.Peek("X-User-Id")) != "alice" {
					badKey.Store(ctx.Request.String())
				}
				ctx.SetStatusCode(c.answers[min(n, len(c.answers))-1])
				ctx.SetContentType("application/json")
				ctx.SetBodyString(c.body)
			})
			s := newSale(t, "42", 10, 1)
			hub := newHub(t, NewMemory(nil), s.ledger, nil)
			stage, err := hub.NewStage("order", testQueue(nil), copyRequest, shop)
			if err != nil {
				t.Fatal(err)
			}
			code, body, ticket := place(t, s, stage, "42", "alice")
			if code != fasthttp.StatusAccepted || !strings.Contains(body, `"status":"/_edge/orders/`+ticket+`"`) {
				t.Fatalf("place = %d %s", code, body)
			}
			r := waitFinal(t, hub.Backend(), ticket)
			if r.Status != c.status || r.Reason != c.reason || r.Attempts != c.attempts ||
				r.Code != c.answers[min(c.attempts, len(c.answers))-1] || string(r.Body) != c.body {
				t.Fatalf("result = %+v", r)
			}
			if v := badKey.Load(); v != nil {
				t.Fatalf("the shop got an order without its ticket or content:\n%s", v)
			}
			info := s.info(t)
			if info.Sold != c.sold || info.Reserved != 0 || info.Remaining != 10-c.sold || info.SoldOut != c.soldOut {
				t.Fatalf("stock after %s: %+v", c.name, info)
			}
		})
	}
}

// blockingShop holds every order until released and records the orders in
// flight, in total and per item.
type blockingShop struct {
	release chan struct{}
	mu      sync.Mutex
	total   int
	items   map[string]int
	maxTot  int
	maxItem int
	seen    int
}

func newBlockingShop() *blockingShop {
	return &blockingShop{release: make(chan struct{}, 1000), items: map[string]int{}}
}

func (b *blockingShop) handle(ctx *fasthttp.RequestCtx) {
	item := string(ctx.QueryArgs().Peek("item"))
	b.mu.Lock()
	b.total++
	b.items[item]++
	b.seen++
	b.maxTot = max(b.maxTot, b.total)
	b.maxItem = max(b.maxItem, b.items[item])
	b.mu.Unlock()
	<-b.release
	b.mu.Lock()
	b.total--
	b.items[item]--
	b.mu.Unlock()
	ctx.SetStatusCode(fasthttp.StatusCreated)
	ctx.SetBodyString(`{"ok":true}`)
}

func (b *blockingShop) inFlight() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}

// TestDispatchConcurrencyBounds: a node never has more than concurrency
// orders in flight, nor more than concurrency_per_item of one item.
func TestDispatchConcurrencyBounds(t *testing.T) {
	t.Parallel()
	bs := newBlockingShop()
	shop := startShop(t, bs.handle)
	hub := newHub(t, NewMemory(nil), nil, nil)
	stage, err := hub.NewStage("order", testQueue(func(q *config.Queue) {
		q.Concurrency, q.ConcurrencyPerItem = 3, 2
	}), copyRequest, shop)
	if err != nil {
		t.Fatal(err)
	}
	var tickets []string
	for i := range 10 {
		item := []string{"42", "43"}[i%2]
		code, _, ticket := place(t, nil, stage, item, "u")
		if code != fasthttp.StatusAccepted {
			t.Fatalf("place: %d", code)
		}
		tickets = append(tickets, ticket)
	}
	for left := 10; left > 0; left-- {
		testutil.WaitFor(t, 10*time.Second, "a full set of orders in flight", func() bool { return bs.inFlight() == min(3, left) })
		bs.release <- struct{}{}
	}
	for _, tk := range tickets {
		if r := waitFinal(t, hub.Backend(), tk); r.Status != StatusAccepted {
			t.Fatalf("result %+v", r)
		}
	}
	if bs.maxTot != 3 || bs.maxItem != 2 || bs.seen != 10 {
		t.Fatalf("max in flight %d (want 3), per item %d (want 2), sends %d", bs.maxTot, bs.maxItem, bs.seen)
	}
}

// TestQueueFullGivesUnitBack: past max_length an order is refused with 503
// queue_full and its unit goes back; queued orders keep theirs until the
// shop answers.
func TestQueueFullGivesUnitBack(t *testing.T) {
	t.Parallel()
	bs := newBlockingShop()
	shop := startShop(t, bs.handle)
	s := newSale(t, "42", 10, 0)
	hub := newHub(t, NewMemory(nil), s.ledger, nil)
	stage, err := hub.NewStage("order", testQueue(func(q *config.Queue) { q.MaxLength = 2 }), copyRequest, shop)
	if err != nil {
		t.Fatal(err)
	}
	var tickets []string
	for i, want := range []int{202, 202, 503} {
		code, body, ticket := place(t, s, stage, "42", "u")
		if code != want {
			t.Fatalf("order %d: %d %s, want %d", i, code, body, want)
		}
		if code == 503 && body != `{"error":"queue_full"}` {
			t.Fatalf("refusal body %s", body)
		}
		if ticket != "" {
			tickets = append(tickets, ticket)
		}
	}
	if in := s.info(t); in.Reserved != 2 || in.Remaining != 8 || in.GivenBack != 1 {
		t.Fatalf("stock while queued: %+v", in)
	}
	bs.release <- struct{}{}
	bs.release <- struct{}{}
	for _, tk := range tickets {
		waitFinal(t, hub.Backend(), tk)
	}
	if in := s.info(t); in.Sold != 2 || in.Reserved != 0 || in.Remaining != 8 {
		t.Fatalf("stock after the shop answered: %+v", in)
	}
}

// TestRetryBackoffDoubles: the waits between sends come from the injected
// clock and double per failure.
func TestRetryBackoffDoubles(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var waits []time.Duration
	after := func(d time.Duration) <-chan time.Time {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		ch := make(chan time.Time, 1)
		ch <- time.Now()
		return ch
	}
	shop := startShop(t, answerWith(502, `{}`))
	hub := newHub(t, NewMemory(nil), nil, after)
	stage, err := hub.NewStage("order", testQueue(func(q *config.Queue) {
		q.RetryBackoff = config.Duration(100 * time.Millisecond)
	}), copyRequest, shop)
	if err != nil {
		t.Fatal(err)
	}
	_, _, ticket := place(t, nil, stage, "42", "u")
	if r := waitFinal(t, hub.Backend(), ticket); r.Reason != ReasonUnavailable || r.Attempts != 4 {
		t.Fatalf("result %+v", r)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}
	if len(waits) != len(want) {
		t.Fatalf("waits %v, want about %v", waits, want)
	}
	for i, w := range want {
		if waits[i] < w*8/10 || waits[i] > w*12/10 {
			t.Fatalf("wait %d = %s, want %s ±20%%", i, waits[i], w)
		}
	}
}

// TestPacerSpacesSends: a rate of 10/s asks the clock to wait about 100ms
// between sends.
func TestPacerSpacesSends(t *testing.T) {
	t.Parallel()
	var waits []time.Duration
	after := func(d time.Duration) <-chan time.Time {
		waits = append(waits, d)
		ch := make(chan time.Time, 1)
		ch <- time.Now()
		return ch
	}
	p := newPacer(10, nil, "k", after)
	for range 3 {
		if !p.wait(nil) {
			t.Fatal("wait refused")
		}
	}
	if len(waits) != 2 || waits[0] < 80*time.Millisecond || waits[0] > 101*time.Millisecond ||
		waits[1] < 180*time.Millisecond || waits[1] > 201*time.Millisecond {
		t.Fatalf("waits %v, want about [100ms 200ms]", waits)
	}
	if newPacer(0, nil, "k", after) != nil {
		t.Fatal("rate 0 must mean no pacing")
	}
}

// TestCancelledOrderIsDropped: an order whose enqueue was cancelled is not
// sent; its unit goes back.
func TestCancelledOrderIsDropped(t *testing.T) {
	t.Parallel()
	bs := newBlockingShop()
	shop := startShop(t, bs.handle)
	s := newSale(t, "42", 10, 0)
	be := NewMemory(nil)
	hub := newHub(t, be, s.ledger, nil)
	stage, err := hub.NewStage("order", testQueue(func(q *config.Queue) { q.Concurrency = 1 }), copyRequest, shop)
	if err != nil {
		t.Fatal(err)
	}
	_, _, first := place(t, s, stage, "42", "u")
	testutil.WaitFor(t, 10*time.Second, "the first order at the shop", func() bool { return bs.inFlight() == 1 })
	_, _, second := place(t, s, stage, "42", "u")
	if err := be.Cancel(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	bs.release <- struct{}{}
	waitFinal(t, be, first)
	testutil.WaitFor(t, 10*time.Second, "the cancelled order dropped", func() bool {
		n, _, _ := be.Stats(context.Background(), "order")
		return n == 0
	})
	if bs.seen != 1 {
		t.Fatalf("shop saw %d orders, want 1", bs.seen)
	}
	if in := s.info(t); in.Sold != 1 || in.Reserved != 0 || in.Remaining != 9 {
		t.Fatalf("stock %+v", in)
	}
}

// TestReloadSettings: the dispatcher follows the newest live stage of its
// route, returns to the older one when the newer is released (a reload
// that failed), and stops when none is left.
func TestReloadSettings(t *testing.T) {
	t.Parallel()
	var gotA, gotB atomic.Int32
	shopA := startShop(t, func(ctx *fasthttp.RequestCtx) { gotA.Add(1); ctx.SetStatusCode(201) })
	shopB := startShop(t, func(ctx *fasthttp.RequestCtx) { gotB.Add(1); ctx.SetStatusCode(201) })
	hub := newHub(t, NewMemory(nil), nil, nil)
	stA, err := hub.NewStage("order", testQueue(nil), copyRequest, shopA)
	if err != nil {
		t.Fatal(err)
	}
	stB, err := hub.NewStage("order", testQueue(nil), copyRequest, shopB)
	if err != nil {
		t.Fatal(err)
	}
	_, _, tk := place(t, nil, stA, "42", "u")
	waitFinal(t, hub.Backend(), tk)
	if gotB.Load() != 1 || gotA.Load() != 0 {
		t.Fatalf("newest settings not in effect: A %d, B %d", gotA.Load(), gotB.Load())
	}
	_ = stB.Close()
	_, _, tk = place(t, nil, stA, "42", "u")
	waitFinal(t, hub.Backend(), tk)
	if gotA.Load() != 1 {
		t.Fatalf("released newest stage: A got %d", gotA.Load())
	}
	_ = stA.Close()
	testutil.WaitFor(t, 10*time.Second, "the idle dispatcher stopped", func() bool {
		hub.mu.Lock()
		defer hub.mu.Unlock()
		return len(hub.routes) == 0
	})
	if _, err := hub.NewStage("order", nil, nil, shopA); err == nil {
		t.Fatal("a stage without preparer was built")
	}
	_ = hub.Close()
	if _, err := hub.NewStage("order", nil, copyRequest, shopA); err != ErrClosed {
		t.Fatalf("after Close: %v", err)
	}
}

// TestDrainAfterRouteRemoved: a reload that removes an async route leaves
// its queued orders to be decided before the dispatcher stops.
func TestDrainAfterRouteRemoved(t *testing.T) {
	t.Parallel()
	bs := newBlockingShop()
	shop := startShop(t, bs.handle)
	hub := newHub(t, NewMemory(nil), nil, nil)
	stage, err := hub.NewStage("order", testQueue(func(q *config.Queue) { q.Concurrency = 1 }), copyRequest, shop)
	if err != nil {
		t.Fatal(err)
	}
	var tickets []string
	for range 3 {
		_, _, tk := place(t, nil, stage, "42", "u")
		tickets = append(tickets, tk)
	}
	testutil.WaitFor(t, 10*time.Second, "an order at the shop", func() bool { return bs.inFlight() == 1 })
	_ = stage.Close()
	for range 3 {
		bs.release <- struct{}{}
	}
	for _, tk := range tickets {
		if r := waitFinal(t, hub.Backend(), tk); r.Status != StatusAccepted {
			t.Fatalf("result %+v", r)
		}
	}
	testutil.WaitFor(t, 10*time.Second, "the drained dispatcher stopped", func() bool {
		hub.mu.Lock()
		defer hub.mu.Unlock()
		return len(hub.routes) == 0
	})
}

// TestDispatchOnRedis: orders go through a Redis stream and leave it once
// decided.
func TestDispatchOnRedis(t *testing.T) {
	t.Parallel()
	var keys sync.Map
	var dup atomic.Bool
	shop := startShop(t, func(ctx *fasthttp.RequestCtx) {
		if _, loaded := keys.LoadOrStore(string(ctx.Request.Header.Peek(HeaderIdempotencyKey)), true); loaded {
			dup.Store(true)
		}
		ctx.SetStatusCode(201)
		ctx.SetBodyString(`{"order":"1"}`)
	})
	be := NewRedis(newRedisClient(t), RedisOptions{Timeout: 2 * time.Second, Log: quiet})
	s := newSale(t, "42", 100, 0)
	hub := newHub(t, be, s.ledger, nil)
	stage, err := hub.NewStage("order", testQueue(nil), copyRequest, shop)
	if err != nil {
		t.Fatal(err)
	}
	var tickets []string
	for range 30 {
		code, _, tk := place(t, s, stage, "42", "u")
		if code != 202 {
			t.Fatalf("place %d", code)
		}
		tickets = append(tickets, tk)
	}
	for _, tk := range tickets {
		if r := waitFinal(t, be, tk); r.Status != StatusAccepted || !bytes.Equal(r.Body, []byte(`{"order":"1"}`)) {
			t.Fatalf("result %+v", r)
		}
	}
	if dup.Load() {
		t.Fatal("an order was sent twice without any failure")
	}
	testutil.WaitFor(t, 10*time.Second, "an empty stream", func() bool {
		n, _, err := be.Stats(context.Background(), "order")
		return err == nil && n == 0
	})
	if in := s.info(t); in.Sold != 30 || in.Reserved != 0 {
		t.Fatalf("stock %+v", in)
	}
}
