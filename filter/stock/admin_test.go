package stock

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"
	"edge/internal/testredis"
)

// call runs one admin request through h.
func call(h fasthttp.RequestHandler, method, path, body string) (int, string) {
	ctx := new(fasthttp.RequestCtx)
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(path)
	ctx.Request.SetBodyString(body)
	h(ctx)
	return ctx.Response.StatusCode(), strings.TrimSpace(string(ctx.Response.Body()))
}

// adminLedger returns a memory ledger with sale 42 (stock 10, 3 sold to
// "u") and sale 43 unseeded.
func adminLedger(t *testing.T) (*Ledger, *Sale) {
	t.Helper()
	ctx := context.Background()
	store := NewMemory()
	sales := NewSales([]*config.Sale{{Item: "42", Stock: 10, Name: "phone"}, {Item: "43", Stock: 1}})
	sale := sales.Get("42")
	store.Seed(ctx, sale, 10)
	for id := uint64(1); id <= 3; id++ {
		store.Take(ctx, sale, []byte("u"), 3, id)
		store.Keep(ctx, sale, id)
	}
	l := NewLedger(store, nil, nil, quiet)
	l.Use(sales)
	return l, sale
}

func TestAdminReadAndSet(t *testing.T) {
	t.Parallel()
	l, _ := adminLedger(t)
	list, item, _ := AdminHandlers(l)

	code, body := call(list, "GET", "/stock", "")
	var got struct{ Sales []saleJSON }
	if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || len(got.Sales) != 2 {
		t.Fatalf("list: %d %s", code, body)
	}
	p := got.Sales[0]
	if p.Name != "phone" || *p.Remaining != 7 || *p.Sold != 3 || *p.Reserved != 0 || p.State != StateOnSale {
		t.Fatalf("list entry %+v", p)
	}
	if q := got.Sales[1]; q.Error != "no_state" || q.Remaining != nil || q.Name != "item-43" {
		t.Fatalf("unseeded entry %+v", q)
	}

	cases := []struct {
		name, method, path, body string
		status                   int
		want                     string // a substring of the answer
	}{
		{"get", "GET", "/stock/42", "", 200, `"remaining":7`},
		{"unknown", "GET", "/stock/99", "", 404, `{"error":"not_on_sale"}`},
		{"extra segment", "GET", "/stock/42/x", "", 404, `not_on_sale`},
		{"set", "PUT", "/stock/42", `{"stock": 0}`, 200, `"state":"sold_out"`},
		{"set unseeded", "PUT", "/stock/43", `{"stock": 4}`, 200, `"remaining":4`},
		{"empty body", "PUT", "/stock/42", ``, 400, `want_json_body`},
		{"negative", "PUT", "/stock/42", `{"stock": -1}`, 400, `want_stock`},
		{"missing", "PUT", "/stock/42", `{}`, 400, `want_stock`},
		{"unknown field", "PUT", "/stock/42", `{"stok": 1}`, 400, `invalid_json`},
		{"not json", "PUT", "/stock/42", `stock=1`, 400, `invalid_json`},
		{"two values", "PUT", "/stock/42", `{"stock":1}{"stock":2}`, 400, `invalid_json`},
		{"fraction", "PUT", "/stock/42", `{"stock":1.5}`, 400, `invalid_json`},
		{"huge", "PUT", "/stock/42", `{"stock":` + strings.Repeat("1", 5000) + `}`, 413, `body_too_large`},
		{"too many", "PUT", "/stock/42", `{"stock":1099511627777}`, 400, `want_stock`},
		{"delete", "DELETE", "/stock/42", ``, 405, `method_not_allowed`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, _ := adminLedger(t)
			_, item, _ := AdminHandlers(l)
			code, body := call(item, c.method, c.path, c.body)
			if code != c.status || !strings.Contains(body, c.want) {
				t.Fatalf("got %d %s, want %d ~%s", code, body, c.status, c.want)
			}
		})
	}
	// After PUT the store answers with the new stock.
	if code, body := call(item, "PUT", "/stock/42", `{"stock":2}`); code != 200 || !strings.Contains(body, `"remaining":2`) {
		t.Fatalf("put: %d %s", code, body)
	}
}

func TestAdminRelease(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, path, body string
		status           int
		want             string
		remaining        int64
	}{
		{"default one unit", "/stock/42/release", ``, 200, `"released":1`, 8},
		{"capped at sold", "/stock/42/release", `{"units": 50, "user": "u"}`, 200, `"released":3`, 10},
		{"zero units", "/stock/42/release", `{"units": 0}`, 400, `want_units`, 7},
		{"bad json", "/stock/42/release", `{"units": "two"}`, 400, `invalid_json`, 7},
		{"long user", "/stock/42/release", `{"user":"` + strings.Repeat("x", 600) + `"}`, 400, `user_too_long`, 7},
		{"no state", "/stock/43/release", ``, 409, `no_state`, 7},
		{"not on sale", "/stock/99/release", ``, 404, `not_on_sale`, 7},
		{"wrong suffix", "/stock/42/relax", ``, 404, `not_on_sale`, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l, sale := adminLedger(t)
			_, _, release := AdminHandlers(l)
			code, body := call(release, "POST", c.path, c.body)
			if code != c.status || !strings.Contains(body, c.want) {
				t.Fatalf("got %d %s, want %d ~%s", code, body, c.status, c.want)
			}
			if in, _ := l.Store().Info(context.Background(), sale); in.Remaining != c.remaining {
				t.Fatalf("remaining %d, want %d", in.Remaining, c.remaining)
			}
		})
	}
	t.Run("user may buy again", func(t *testing.T) {
		t.Parallel()
		l, sale := adminLedger(t)
		_, _, release := AdminHandlers(l)
		if r, _ := l.Store().Take(context.Background(), sale, []byte("u"), 3, 9); r != LimitReached {
			t.Fatalf("before release: %v", r)
		}
		call(release, "POST", "/stock/42/release", `{"units":1,"user":"u"}`)
		if r, _ := l.Store().Take(context.Background(), sale, []byte("u"), 3, 9); r != Taken {
			t.Fatalf("after release: %v", r)
		}
	})
	t.Run("wrong method", func(t *testing.T) {
		t.Parallel()
		l, _ := adminLedger(t)
		_, _, release := AdminHandlers(l)
		if code, _ := call(release, "GET", "/stock/42/release", ""); code != 405 {
			t.Fatalf("status %d", code)
		}
	})
}

func TestAdminStoreDown(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	store := newRedisStore(t, newClient(t, nil, srv.Addr), RedisOptions{Timeout: 200 * time.Millisecond})
	sales := NewSales([]*config.Sale{{Item: "42", Stock: 5}})
	if err := seedSales(t, store, sales); err != nil {
		t.Fatal(err)
	}
	l := NewLedger(store, nil, nil, quiet)
	l.Use(sales)
	list, item, release := AdminHandlers(l)
	srv.Stop()
	if code, body := call(list, "GET", "/stock", ""); code != 200 || !strings.Contains(body, `"error":"unavailable"`) {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, body := call(item, "PUT", "/stock/42", `{"stock":1}`); code != 503 || body != `{"error":"unavailable"}` {
		t.Fatalf("put: %d %s", code, body)
	}
	if code, _ := call(release, "POST", "/stock/42/release", ""); code != 503 {
		t.Fatalf("release: %d", code)
	}
}

// seedSales seeds sales through a throwaway ledger.
func seedSales(t *testing.T, store Store, sales *Sales) error {
	t.Helper()
	return NewLedger(store, nil, nil, quiet).Seed(context.Background(), sales)
}

// A 405 names the methods the endpoint takes (RFC 9110 §15.5.6).
func TestAdminMethodNotAllowedSaysAllow(t *testing.T) {
	t.Parallel()
	l, _ := adminLedger(t)
	_, item, release := AdminHandlers(l)
	for _, c := range []struct {
		h            fasthttp.RequestHandler
		method, path string
		allow        string
	}{
		{item, "DELETE", "/stock/42", "GET, HEAD, PUT"},
		{release, "GET", "/stock/42/release", "POST"},
	} {
		ctx := new(fasthttp.RequestCtx)
		ctx.Request.Header.SetMethod(c.method)
		ctx.Request.SetRequestURI(c.path)
		c.h(ctx)
		if ctx.Response.StatusCode() != 405 || string(ctx.Response.Header.Peek("Allow")) != c.allow {
			t.Errorf("%s %s: %d, Allow %q; want 405, %q", c.method, c.path, ctx.Response.StatusCode(), ctx.Response.Header.Peek("Allow"), c.allow)
		}
	}
}
