package shoptest

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"edge/examples/shop/shop"
)

func TestStartServesAndStops(t *testing.T) {
	t.Parallel()
	var addr string
	t.Run("serve", func(t *testing.T) {
		a, s := Start(t, shop.Options{Stock: map[string]int{"7": 1}})
		addr = a
		if s == nil {
			t.Fatal("no server")
		}
		res, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("healthz: %d %q", res.StatusCode, body)
		}
	})
	// The subtest's cleanup has stopped the shop.
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if res, err := c.Get("http://" + addr + "/healthz"); err == nil {
		_ = res.Body.Close()
		t.Fatal("shop still answers after cleanup")
	}
}

func TestWithSearchPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://u@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?search_path=s1&sslmode=disable"},
		{"postgresql://u@h/db", "postgresql://u@h/db?search_path=s1"},
		{"host=h user=u dbname=db", "host=h user=u dbname=db search_path=s1"},
	} {
		if got := withSearchPath(tc.dsn, "s1"); got != tc.want {
			t.Errorf("withSearchPath(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
	}
}

func TestPGDSNIsAFreshSchema(t *testing.T) {
	t.Parallel()
	var schema string
	t.Run("use", func(t *testing.T) {
		dsn := PGDSN(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close(ctx) }()
		if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			t.Fatal(err)
		}
		if len(schema) < len("shop_test_")+10 || schema[:len("shop_test_")] != "shop_test_" {
			t.Fatalf("current_schema() = %q, want a fresh shop_test_ schema", schema)
		}
	})
	if t.Skipped() || schema == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, PGBaseDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n); err != nil || n != 0 {
		t.Fatalf("schema %s left behind (count %d, err %v)", schema, n, err)
	}
}
