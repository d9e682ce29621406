package shop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"edge/examples/shop/shop"
	"edge/examples/shop/shoptest"
)

// checkContention sends orders concurrent orders, one per buyer, for an item
// with stock units and checks that exactly min(stock, orders) sell, with
// distinct order ids, and the rest are refused sold out.
func checkContention(t *testing.T, opts shop.Options, stock, orders int) {
	t.Helper()
	opts.Stock = map[string]int{"42": stock}
	addr, s := shoptest.Start(t, opts)
	c := newClient(t)
	answers := make([]answer, orders)
	parallel(orders, func(i int) {
		answers[i] = do(t, c, http.MethodPost, "http://"+addr+"/order?item=42",
			map[string]string{"X-User-Id": "buyer-" + strconv.Itoa(i)})
	})

	want := min(stock, orders)
	codes := map[int]int{}
	ids := map[string]bool{}
	for _, a := range answers {
		codes[a.Status]++
		switch a.Status {
		case http.StatusCreated:
			id, item := a.orderBody(t)
			if item != "42" || id == "" || ids[id] {
				t.Errorf("order answer %q: want a new order id for item 42", a.Body)
			}
			ids[id] = true
		case http.StatusGone:
			if strings.TrimSpace(a.Body) != `{"error":"sold_out"}` {
				t.Errorf("sold-out body = %q", a.Body)
			}
		}
	}
	if codes[http.StatusCreated] != want || codes[http.StatusGone] != orders-want {
		t.Fatalf("answers by status = %v, want %d x 201 and %d x 410", codes, want, orders-want)
	}
	st := stats(t, s)
	if st.Stock["42"] != stock-want {
		t.Errorf("stock left = %d, want %d", st.Stock["42"], stock-want)
	}
	o := st.Orders
	if o.Received != int64(orders) || o.Accepted != int64(want) || o.SoldOut != int64(orders-want) {
		t.Errorf("counters = %+v, want received %d, accepted %d, sold out %d", o, orders, want, orders-want)
	}
}

func TestMemoryContentionSellsExactlyTheStock(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ stock, orders int }{
		{stock: 100, orders: 500},
		{stock: 500, orders: 500},
		{stock: 1, orders: 200},
		{stock: 0, orders: 50},
	} {
		t.Run(fmt.Sprintf("stock=%d/orders=%d", tc.stock, tc.orders), func(t *testing.T) {
			t.Parallel()
			checkContention(t, shop.Options{}, tc.stock, tc.orders)
		})
	}
}

// checkIdempotency checks that an Idempotency-Key answers the first order
// again, sequentially and under concurrency, never sells twice, survives the
// item selling out and cannot be borrowed by another buyer or item.
func checkIdempotency(t *testing.T, opts shop.Options) {
	t.Helper()
	opts.Stock = map[string]int{"42": 3, "43": 5}
	addr, s := shoptest.Start(t, opts)
	c := newClient(t)
	base := "http://" + addr
	order := func(item, user, key string) answer {
		h := map[string]string{"X-User-Id": user}
		if key != "" {
			h["Idempotency-Key"] = key
		}
		return do(t, c, http.MethodPost, base+"/order?item="+item, h)
	}

	first := order("42", "alice", "k1")
	if first.Status != http.StatusCreated || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first order: %d %q replayed=%q", first.Status, first.Body, first.Header.Get("Idempotent-Replayed"))
	}
	again := order("42", "alice", "k1")
	if again.Status != http.StatusCreated || again.Body != first.Body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %q, want 201 %q marked replayed", again.Status, again.Body, first.Body)
	}

	const n = 40
	answers := make([]answer, n)
	parallel(n, func(i int) { answers[i] = order("42", "bob", "k2") })
	fresh := 0
	for _, a := range answers {
		if a.Status != http.StatusCreated || a.Body != answers[0].Body {
			t.Fatalf("concurrent same key: %d %q, want 201 %q", a.Status, a.Body, answers[0].Body)
		}
		if a.Header.Get("Idempotent-Replayed") == "" {
			fresh++
		}
	}
	if fresh != 1 || answers[0].Body == first.Body {
		t.Fatalf("concurrent same key: %d fresh orders (want 1), body %q", fresh, answers[0].Body)
	}
	if got := stats(t, s).Stock["42"]; got != 1 {
		t.Fatalf("stock after two keyed orders and replays = %d, want 1", got)
	}

	for _, tc := range []struct {
		name, item, user, key string
		status                int
		body                  string
	}{
		{"key of another buyer", "42", "mallory", "k1", 422, `{"error":"idempotency_key_reused"}`},
		{"key of another item", "43", "alice", "k1", 422, `{"error":"idempotency_key_reused"}`},
		{"last unit", "42", "carol", "", 201, ""},
		{"replay after sold out", "42", "alice", "k1", 201, first.Body},
		{"new key after sold out", "42", "alice", "k3", 410, `{"error":"sold_out"}`},
	} {
		a := order(tc.item, tc.user, tc.key)
		if a.Status != tc.status || (tc.body != "" && strings.TrimSpace(a.Body) != strings.TrimSpace(tc.body)) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, a.Status, a.Body, tc.status, tc.body)
		}
	}
	st := stats(t, s)
	if st.Stock["42"] != 0 || st.Stock["43"] != 5 {
		t.Errorf("stock = %v, want 42:0 43:5", st.Stock)
	}
	if o := st.Orders; o.Accepted != 3 || o.IdempotentReplays != 1+(n-1)+1 || o.SoldOut != 1 || o.BadRequest != 2 {
		t.Errorf("counters = %+v", o)
	}
}

func TestMemoryIdempotencyKey(t *testing.T) {
	t.Parallel()
	checkIdempotency(t, shop.Options{})
}

// checkFailRate checks that injected failures answer 500 and never sell.
// opts gives each subtest the options of a fresh shop.
func checkFailRate(t *testing.T, opts func(*testing.T) shop.Options) {
	t.Helper()
	for _, tc := range []struct {
		rate   float64
		orders int
	}{{1, 30}, {0.5, 200}} {
		t.Run(fmt.Sprint("rate=", tc.rate), func(t *testing.T) {
			t.Parallel()
			o := opts(t)
			o.FailRate = tc.rate
			o.Stock = map[string]int{"42": 1000}
			addr, s := shoptest.Start(t, o)
			c := newClient(t)
			answers := make([]answer, tc.orders)
			parallel(tc.orders, func(i int) {
				answers[i] = do(t, c, http.MethodPost, "http://"+addr+"/order?item=42",
					map[string]string{"X-User-Id": "u" + strconv.Itoa(i)})
			})
			sold, failed := 0, 0
			for _, a := range answers {
				switch a.Status {
				case http.StatusCreated:
					sold++
				case http.StatusInternalServerError:
					failed++
					if a.Header.Get("X-Shop-Injected-Failure") != "1" {
						t.Errorf("500 without the injected-failure mark: %q", a.Body)
					}
				default:
					t.Errorf("unexpected answer %d %q", a.Status, a.Body)
				}
			}
			if tc.rate == 1 && sold != 0 {
				t.Errorf("fail rate 1 sold %d units", sold)
			}
			st := stats(t, s)
			if st.Stock["42"] != 1000-sold || st.Orders.FailedInjected != int64(failed) || st.Orders.Accepted != int64(sold) {
				t.Errorf("sold %d, failed %d; stock %d, counters %+v", sold, failed, st.Stock["42"], st.Orders)
			}
		})
	}
}

func TestMemoryFailRateNeverSells(t *testing.T) {
	t.Parallel()
	checkFailRate(t, func(*testing.T) shop.Options { return shop.Options{} })
}

func TestOrderRequests(t *testing.T) {
	t.Parallel()
	s := newShop(t, shop.Options{Stock: map[string]int{"42": 10}})
	h := s.Handler()
	for _, tc := range []struct {
		name, method, target string
		header               map[string]string
		body                 string
		status               int
		want                 string
	}{
		{"first order", "POST", "/order?item=42", map[string]string{"X-User-Id": "alice"}, "", 201, `{"order":"1","item":"42"}`},
		{"session cookie is the buyer", "POST", "/order?item=42", map[string]string{"Cookie": "session=abc"}, "", 201, `"item":"42"`},
		{"item in a form", "POST", "/order", map[string]string{"X-User-Id": "bob", "Content-Type": "application/x-www-form-urlencoded"}, "item=42", 201, `"item":"42"`},
		{"wrong method", "GET", "/order?item=42", nil, "", 405, `{"error":"method_not_allowed"}`},
		{"no item", "POST", "/order", map[string]string{"X-User-Id": "alice"}, "", 400, `{"error":"item_required"}`},
		{"unknown item", "POST", "/order?item=99", map[string]string{"X-User-Id": "alice"}, "", 404, `{"error":"unknown_item"}`},
		{"malformed item", "POST", "/order?item=..%2Fx", map[string]string{"X-User-Id": "alice"}, "", 404, `{"error":"unknown_item"}`},
		{"no identity", "POST", "/order?item=42", nil, "", 401, `{"error":"identity_required"}`},
		{"blank identity", "POST", "/order?item=42", map[string]string{"X-User-Id": "  "}, "", 401, `{"error":"identity_required"}`},
		{"over-long key", "POST", "/order?item=42", map[string]string{"X-User-Id": "a", "Idempotency-Key": strings.Repeat("k", 256)}, "", 400, `{"error":"invalid_idempotency_key"}`},
	} {
		req := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %q, want %d containing %q", tc.name, rec.Code, rec.Body.String(), tc.status, tc.want)
		}
		if ct, cc := rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"); ct != "application/json" || cc != "no-store" {
			t.Errorf("%s: Content-Type %q, Cache-Control %q", tc.name, ct, cc)
		}
		if tc.status == 405 && rec.Header().Get("Allow") != "POST" {
			t.Errorf("%s: Allow = %q", tc.name, rec.Header().Get("Allow"))
		}
	}
	if got := stats(t, s).Stock["42"]; got != 7 {
		t.Errorf("stock = %d, want 7", got)
	}
}

func TestOrderLatency(t *testing.T) {
	t.Parallel()
	const latency = 40 * time.Millisecond
	s := newShop(t, shop.Options{Latency: latency, Stock: map[string]int{"42": 5}})
	h := s.Handler()
	start := time.Now()
	if a := serve(h, "POST", "/order?item=42", map[string]string{"X-User-Id": "a"}); a.Status != 201 {
		t.Fatalf("order: %d %q", a.Status, a.Body)
	}
	if d := time.Since(start); d < latency {
		t.Errorf("order answered in %v, want at least %v", d, latency)
	}

	// A client that leaves during the added latency buys nothing.
	slow := newShop(t, shop.Options{Latency: time.Hour, Stock: map[string]int{"42": 5}})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, "POST", "/order?item=42", nil)
	req.Header.Set("X-User-Id", "a")
	var wg sync.WaitGroup
	wg.Go(func() { slow.Handler().ServeHTTP(httptest.NewRecorder(), req) })
	cancel()
	wg.Wait()
	if st := stats(t, slow); st.Stock["42"] != 5 || st.Orders.Accepted != 0 {
		t.Errorf("after a cancelled order: stock %d, counters %+v", st.Stock["42"], st.Orders)
	}
}

func TestStatsEndpoint(t *testing.T) {
	t.Parallel()
	s := newShop(t, shop.Options{Stock: map[string]int{"42": 1, "43": 2}})
	h := s.Handler()
	serve(h, "POST", "/order?item=42", map[string]string{"X-User-Id": "a"})
	serve(h, "POST", "/order?item=42", map[string]string{"X-User-Id": "b"})
	a := serve(h, "GET", "/stats", nil)
	var got shop.Stats
	if err := json.Unmarshal([]byte(a.Body), &got); err != nil || a.Status != 200 {
		t.Fatalf("stats: %d %q: %v", a.Status, a.Body, err)
	}
	want := shop.Stats{Mode: "memory", Stock: map[string]int{"42": 0, "43": 2},
		Orders: shop.OrderStats{Received: 2, Accepted: 1, SoldOut: 1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
	for _, key := range []string{`"received"`, `"accepted"`, `"rejected_sold_out"`, `"failed_injected"`, `"duplicate_idempotent"`, `"stock"`} {
		if !strings.Contains(a.Body, key) {
			t.Errorf("stats JSON lacks %s: %s", key, a.Body)
		}
	}
}
