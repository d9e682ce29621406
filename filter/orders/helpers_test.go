package orders

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"edge/filter"
	"edge/filter/stock"
	"edge/internal/config"
	"edge/internal/testredis"
)

// quiet is a logger for tests.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testShop is a shop on an in-memory listener whose answers the test sets.
type testShop struct {
	mu      sync.Mutex
	handler fasthttp.RequestHandler
	hc      *fasthttp.HostClient
}

// startShop serves h (changeable with set) and returns the shop and a
// Sender to it.
func startShop(t testing.TB, h fasthttp.RequestHandler) *testShop {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	s := &testShop{handler: h}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		s.mu.Lock()
		h := s.handler
		s.mu.Unlock()
		h(ctx)
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(); _ = ln.Close() })
	s.hc = &fasthttp.HostClient{
		Addr:                     "shop",
		Dial:                     func(string) (net.Conn, error) { return ln.Dial() },
		ReadTimeout:              5 * time.Second,
		WriteTimeout:             5 * time.Second,
		MaxConnWaitTimeout:       5 * time.Second,
		MaxConns:                 256,
		NoDefaultUserAgentHeader: true,
		DisablePathNormalizing:   true,
	}
	return s
}

func (s *testShop) set(h fasthttp.RequestHandler) {
	s.mu.Lock()
	s.handler = h
	s.mu.Unlock()
}

// Send implements Sender.
func (s *testShop) Send(req *fasthttp.Request, resp *fasthttp.Response) error {
	return s.hc.Do(req, resp)
}

// answer returns a handler answering status with body.
func answerWith(status int, body string) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(status)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(body)
	}
}

// copyRequest is a Preparer that forwards the request as it came.
func copyRequest(ctx *fasthttp.RequestCtx, _ *filter.State, out *fasthttp.Request) {
	ctx.Request.CopyTo(out)
}

// sale is one item on sale with its ledger and gate.
type sale struct {
	store  *stock.Memory
	ledger *stock.Ledger
	sales  *stock.Sales
	gate   *stock.Gate
	sale   *stock.Sale
}

// newSale puts item on sale with units in a memory store.
func newSale(t testing.TB, item string, units int64, perUser int) *sale {
	t.Helper()
	s := &sale{store: stock.NewMemory()}
	s.sales = stock.NewSales([]*config.Sale{{Item: item, Stock: units}})
	s.ledger = stock.NewLedger(s.store, nil, nil, quiet)
	if err := s.ledger.Seed(context.Background(), s.sales); err != nil {
		t.Fatal(err)
	}
	s.ledger.Use(s.sales)
	s.gate = stock.NewGate("order", &config.RouteStock{PerUser: perUser}, s.sales, s.store, "closed", nil, quiet)
	s.sale = s.sales.Get(item)
	return s
}

func (s *sale) info(t testing.TB) stock.Info {
	t.Helper()
	in, err := s.store.Info(context.Background(), s.sale)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// place runs an order for item by user through the gate and stage, as the
// gateway does (Handle in order, After in reverse), and returns the status,
// body and ticket (empty unless 202). s may be nil (a route without stock).
func place(t testing.TB, s *sale, stage *Stage, item, user string) (int, string, string) {
	t.Helper()
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI("/order?item=" + item)
	ctx.Request.Header.SetHost("shop.test")
	ctx.Request.Header.Set("X-User-Id", user)
	ctx.Request.SetBodyString("qty=1")
	st := filter.AcquireState()
	defer filter.ReleaseState(st)
	st.Route, st.Item, st.User = "order", append(st.Item, item...), append(st.User, user...)
	stages := []filter.Stage{stage}
	if s != nil {
		stages = []filter.Stage{s.gate, stage}
	}
	ran := 0
	for _, stg := range stages {
		ran++
		if v := stg.Handle(ctx, st); v != filter.Continue {
			if st.Stage == "" {
				st.Stage = stg.Name()
			}
			break
		}
	}
	for i := ran - 1; i >= 0; i-- {
		if a, ok := stages[i].(filter.Afterer); ok {
			a.After(ctx, st)
		}
	}
	ticket := ""
	if ctx.Response.StatusCode() == fasthttp.StatusAccepted {
		loc := string(ctx.Response.Header.Peek("Location"))
		ticket = loc[len(EdgePrefix):]
	}
	return ctx.Response.StatusCode(), string(ctx.Response.Body()), ticket
}

// waitFinal waits (through Watch, polling as a fallback) for ticket's
// result to be final, at most 20s.
func waitFinal(t testing.TB, be Backend, ticket string) *Result {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ch, stop := be.Watch(ticket)
		r, err := be.Result(context.Background(), ticket)
		if err != nil {
			stop()
			t.Fatal(err)
		}
		if r != nil && r.final() {
			stop()
			return r
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("ticket %s: no final result within 20s (last %+v)", ticket, r)
		}
		select {
		case <-ch:
		case <-time.After(100 * time.Millisecond):
		}
		stop()
	}
}

// newRedisClient returns a client on a fresh redis-server.
func newRedisClient(t testing.TB) redis.UniversalClient {
	t.Helper()
	srv := testredis.Start(t)
	rdb := redis.NewClient(&redis.Options{
		Addr: srv.Addr, MaxRetries: 1, DialTimeout: time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, PoolTimeout: 10 * time.Second, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// backends returns the backends a contract test runs on: memory, and
// Redis (a fresh server) unless testing.Short.
func backends(t *testing.T) map[string]func(t *testing.T) Backend {
	m := map[string]func(t *testing.T) Backend{
		"memory": func(t *testing.T) Backend { return NewMemory(nil) },
	}
	m["redis"] = func(t *testing.T) Backend {
		be := NewRedis(newRedisClient(t), RedisOptions{Timeout: 2 * time.Second, Log: quiet})
		t.Cleanup(func() { _ = be.Close() })
		return be
	}
	return m
}

// testQueue is a queue config for tests: fast claims and short backoff.
func testQueue(mod func(q *config.Queue)) *config.Queue {
	retries := 3
	q := &config.Queue{Mode: "async", Retries: &retries, RetryBackoff: config.Duration(time.Millisecond),
		ClaimIdle: config.Duration(time.Second), LongPollMax: config.Duration(5 * time.Second)}
	if mod != nil {
		mod(q)
	}
	return q
}
