package shoptest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPGDSN is the PostgreSQL server the tests use unless the
// EDGE_TEST_PG_DSN environment variable names another.
const DefaultPGDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// pgTimeout bounds each setup and cleanup step against PostgreSQL.
const pgTimeout = 10 * time.Second

// PGBaseDSN returns the DSN of the test PostgreSQL server after checking it
// answers. When it does not, the test fails with a clear message if the CI
// environment variable is set, and is skipped otherwise.
func PGBaseDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("EDGE_TEST_PG_DSN")
	if dsn == "" {
		dsn = DefaultPGDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		err = conn.Ping(ctx)
		_ = conn.Close(ctx)
	}
	if err != nil {
		msg := "shoptest: PostgreSQL at " + redact(dsn) + " is unreachable (" + err.Error() +
			"); start it or point EDGE_TEST_PG_DSN at one"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dsn
}

// PGSchema creates a fresh, uniquely named schema on the test PostgreSQL
// server and drops it (with everything in it) at t's cleanup. It returns
// the server's DSN and the schema name, for shop.Options{DSN, Schema}.
// Unreachable server: see PGBaseDSN.
func PGSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	dsn = PGBaseDSN(t)
	schema = "shop_test_" + strings.ToLower(rand.Text())
	ident := pgx.Identifier{schema}.Sanitize()
	if err := exec(dsn, "CREATE SCHEMA "+ident); err != nil {
		t.Fatalf("shoptest: %v", err)
	}
	t.Cleanup(func() {
		if err := exec(dsn, "DROP SCHEMA IF EXISTS "+ident+" CASCADE"); err != nil {
			t.Errorf("shoptest: %v", err)
		}
	})
	return dsn, schema
}

// PGDSN returns a DSN whose connections use a fresh schema (created now,
// dropped at t's cleanup) as their search_path, so parallel tests never see
// each other's tables. Unreachable server: see PGBaseDSN.
func PGDSN(t testing.TB) string {
	t.Helper()
	dsn, schema := PGSchema(t)
	return withSearchPath(dsn, schema)
}

// withSearchPath adds search_path=schema to a URL or key=value DSN.
func withSearchPath(dsn, schema string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// exec runs one statement on a connection of its own.
func exec(dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL at %s: %w", redact(dsn), err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// redact hides a password in a URL DSN; other forms are shown as "the DSN".
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "the configured DSN"
}
