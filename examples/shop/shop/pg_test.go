package shop_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"edge/examples/shop/shop"
	"edge/examples/shop/shoptest"
)

// query runs one single-row query on the database of dsn.
func query(t *testing.T, dsn, sql string, dest ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if err := conn.QueryRow(ctx, sql).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestPGContentionSellsExactlyTheStock(t *testing.T) {
	t.Parallel()
	dsn := shoptest.PGDSN(t)
	checkContention(t, shop.Options{DSN: dsn}, 100, 1000)
	var orders, buyers, minStock int
	query(t, dsn, `SELECT count(*), count(DISTINCT buyer) FROM orders WHERE item = '42'`, &orders, &buyers)
	query(t, dsn, `SELECT min(stock) FROM items`, &minStock)
	if orders != 100 || buyers != 100 || minStock != 0 {
		t.Errorf("orders rows %d (buyers %d), min stock %d; want 100, 100, 0", orders, buyers, minStock)
	}
}

func TestPGIdempotencyKey(t *testing.T) {
	t.Parallel()
	dsn := shoptest.PGDSN(t)
	checkIdempotency(t, shop.Options{DSN: dsn})
	var orders, keyed int
	query(t, dsn, `SELECT count(*), count(order_key) FROM orders`, &orders, &keyed)
	if orders != 3 || keyed != 2 {
		t.Errorf("orders rows %d (%d with a key), want 3 (2)", orders, keyed)
	}
}

func TestPGFailRateNeverSells(t *testing.T) {
	t.Parallel()
	checkFailRate(t, func(t *testing.T) shop.Options { return shop.Options{DSN: shoptest.PGDSN(t)} })
}

func TestPGSchemaOptionAndReset(t *testing.T) {
	t.Parallel()
	dsn, schema := shoptest.PGSchema(t)
	steps := []struct {
		name  string
		stock map[string]int
		reset bool
		sell  int
		want  map[string]int
	}{
		{"first start seeds", map[string]int{"42": 5}, true, 2, map[string]int{"42": 3}},
		{"restart keeps stock, adds items", map[string]int{"42": 5, "43": 7}, false, 0, map[string]int{"42": 3, "43": 7}},
		{"reset restores named items", map[string]int{"42": 5}, true, 0, map[string]int{"42": 5, "43": 7}},
	}
	for _, step := range steps {
		s, err := shop.New(shop.Options{DSN: dsn, Schema: schema, Reset: step.reset, Stock: step.stock, Logger: quiet})
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		for range step.sell {
			if a := serve(s.Handler(), "POST", "/order?item=42", map[string]string{"X-User-Id": "a"}); a.Status != 201 {
				t.Errorf("%s: order %d %q", step.name, a.Status, a.Body)
			}
		}
		st := stats(t, s)
		_ = s.Close()
		if st.Mode != "postgres" || len(st.Stock) != len(step.want) {
			t.Fatalf("%s: stats %+v, want stock %v", step.name, st, step.want)
		}
		for id, n := range step.want {
			if st.Stock[id] != n {
				t.Errorf("%s: stock %v, want %v", step.name, st.Stock, step.want)
			}
		}
	}
	var tables int
	query(t, dsn, `SELECT count(*) FROM information_schema.tables WHERE table_schema = '`+schema+`'`, &tables)
	if tables != 2 {
		t.Errorf("schema %s holds %d tables, want items and orders", schema, tables)
	}
}

func TestPGUnreachable(t *testing.T) {
	t.Parallel()
	base, schema := shoptest.PGSchema(t)
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		t.Skip("needs a URL DSN with a host to put a relay in front of")
	}
	relay := startRelay(t, u.Host)
	u.Host = relay.addr()
	s := newShop(t, shop.Options{DSN: u.String(), Schema: schema, Stock: map[string]int{"42": 5}, DBTimeout: 2 * time.Second})
	h := s.Handler()
	if a := serve(h, "GET", "/healthz", nil); a.Status != 200 || a.Body != "ok" {
		t.Fatalf("healthz with the database up: %d %q", a.Status, a.Body)
	}
	relay.Close()
	for _, tc := range []struct {
		method, target string
		status         int
		body           string
	}{
		{"GET", "/healthz", 503, "unavailable"},
		{"POST", "/order?item=42", 500, `{"error":"internal_error"}`},
		{"GET", "/item/42", 503, "service unavailable"},
		{"GET", "/frag/stock/42", 503, "service unavailable"},
		{"GET", "/stats", 503, `{"error":"unavailable"}`},
	} {
		a := serve(h, tc.method, tc.target, map[string]string{"X-User-Id": "a"})
		if a.Status != tc.status || strings.TrimSpace(a.Body) != tc.body {
			t.Errorf("%s %s with the database down: %d %q, want %d %q", tc.method, tc.target, a.Status, a.Body, tc.status, tc.body)
		}
	}
}

func TestNewFailsOnUnreachableDatabase(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	_, err = shop.New(shop.Options{DSN: "postgres://u:secret@" + addr + "/db", ConnectTimeout: 2 * time.Second, Logger: quiet})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("New on a closed port: %v", err)
	}
}

// relay forwards TCP connections to a target until closed, so a test can
// take a database away from a running shop.
type relay struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	done  bool
	wg    sync.WaitGroup
	once  sync.Once
}

func startRelay(t *testing.T, target string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln}
	r.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.DialTimeout("tcp", target, 3*time.Second)
			if err != nil {
				_ = c.Close()
				continue
			}
			if !r.track(c, up) {
				return
			}
			r.wg.Go(func() { _, _ = io.Copy(up, c); _ = up.Close() })
			r.wg.Go(func() { _, _ = io.Copy(c, up); _ = c.Close() })
		}
	})
	t.Cleanup(r.Close)
	return r
}

func (r *relay) addr() string { return r.ln.Addr().String() }

// track records a connection pair, or closes it and reports false once the
// relay is closed.
func (r *relay) track(cs ...net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		for _, c := range cs {
			_ = c.Close()
		}
		return false
	}
	r.conns = append(r.conns, cs...)
	return true
}

// Close stops accepting, cuts every relayed connection and waits for the
// relay's goroutines.
func (r *relay) Close() {
	r.once.Do(func() {
		_ = r.ln.Close()
		r.mu.Lock()
		for _, c := range r.conns {
			_ = c.Close()
		}
		r.conns, r.done = nil, true
		r.mu.Unlock()
		r.wg.Wait()
	})
}
