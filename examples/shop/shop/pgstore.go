package shop

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// schemaLockID is the advisory lock taken while creating the tables, so that
// several shops starting at once on one database do not race on CREATE.
const schemaLockID = 0x5e0b5e0b

const (
	sqlCreateItems = `CREATE TABLE IF NOT EXISTS items (
	id    text PRIMARY KEY,
	stock int  NOT NULL CHECK (stock >= 0))`
	sqlCreateOrders = `CREATE TABLE IF NOT EXISTS orders (
	id         bigserial PRIMARY KEY,
	order_key  text UNIQUE,
	item       text,
	buyer      text,
	created_at timestamptz DEFAULT now())`
	sqlSeedKeep = `INSERT INTO items (id, stock)
	SELECT * FROM unnest($1::text[], $2::int[]) ON CONFLICT (id) DO NOTHING`
	sqlSeedReset = `INSERT INTO items (id, stock)
	SELECT * FROM unnest($1::text[], $2::int[]) ON CONFLICT (id) DO UPDATE SET stock = EXCLUDED.stock`
	sqlTake      = `UPDATE items SET stock = stock - 1 WHERE id = $1 AND stock > 0 RETURNING stock`
	sqlItemStock = `SELECT stock FROM items WHERE id = $1`
	sqlAllStock  = `SELECT id, stock FROM items`
	sqlInsert    = `INSERT INTO orders (order_key, item, buyer) VALUES ($1, $2, $3)
	ON CONFLICT (order_key) DO NOTHING RETURNING id`
	sqlByKey = `SELECT id, item, buyer FROM orders WHERE order_key = $1`
)

// errKeyTaken is internal to pgStore: the INSERT met an order already
// committed under the same idempotency key, by a concurrent request.
var errKeyTaken = errors.New("shop: idempotency key taken concurrently")

// pgStore keeps stock and orders in PostgreSQL. A sale is one transaction:
// a conditional decrement (the row lock serialises buyers of one item and
// the CHECK constraint backs the "never below zero" rule) and the INSERT of
// the order, whose unique order_key makes idempotency keys hold across
// processes.
type pgStore struct {
	pool *pgxpool.Pool
}

var _ store = (*pgStore)(nil)

// newPGStore connects, creates the schema and tables if missing and seeds
// the stock (overwriting it when o.Reset). ctx bounds all of it.
func newPGStore(ctx context.Context, o Options) (*pgStore, error) {
	cfg, err := pgxpool.ParseConfig(o.DSN)
	if err != nil {
		// The DSN may hold a password: name the problem, not the DSN.
		return nil, errors.New("shop: invalid PostgreSQL DSN")
	}
	cfg.MaxConns = o.MaxConns
	if o.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = o.Schema
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("shop: connect to PostgreSQL: %w", err)
	}
	p := &pgStore{pool: pool}
	if err := p.prepare(ctx, o); err != nil {
		pool.Close()
		return nil, err
	}
	return p, nil
}

func (p *pgStore) prepare(ctx context.Context, o Options) error {
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(schemaLockID)); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		stmts := []string{sqlCreateItems, sqlCreateOrders}
		if o.Schema != "" {
			create := "CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{o.Schema}.Sanitize()
			stmts = append([]string{create}, stmts...)
		}
		for _, stmt := range stmts {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("create tables: %w", err)
			}
		}
		ids := sortedKeys(o.Stock)
		counts := make([]int32, len(ids))
		for i, id := range ids {
			counts[i] = int32(o.Stock[id])
		}
		seed := sqlSeedKeep
		if o.Reset {
			seed = sqlSeedReset
		}
		if _, err := tx.Exec(ctx, seed, ids, counts); err != nil {
			return fmt.Errorf("seed stock: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("shop: prepare PostgreSQL: %w", err)
	}
	return nil
}

func (p *pgStore) Sell(ctx context.Context, item, buyer, key string) (sale, error) {
	if key != "" {
		if o, found, err := p.byKey(ctx, key); err != nil || found {
			if err != nil {
				return sale{}, err
			}
			return replayOf(o, item, buyer)
		}
	}
	s, err := p.sellOnce(ctx, item, buyer, key)
	if key != "" && (errors.Is(err, errKeyTaken) || errors.Is(err, errSoldOut)) {
		// A concurrent request with the same key won: its order is the
		// answer (it may also have taken the last unit).
		o, found, lerr := p.byKey(ctx, key)
		switch {
		case lerr != nil:
			return sale{}, lerr
		case found:
			return replayOf(o, item, buyer)
		case errors.Is(err, errKeyTaken):
			return sale{}, fmt.Errorf("shop: order key vanished after conflict")
		}
	}
	return s, err
}

// sellOnce runs the sale transaction. The decrement and the order row commit
// together or not at all.
func (p *pgStore) sellOnce(ctx context.Context, item, buyer, key string) (sale, error) {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return sale{}, fmt.Errorf("shop: begin sale: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // no-op after Commit

	var left int
	err = tx.QueryRow(ctx, sqlTake, item).Scan(&left)
	if errors.Is(err, pgx.ErrNoRows) {
		var n int
		err = tx.QueryRow(ctx, sqlItemStock, item).Scan(&n)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return sale{}, errUnknownItem
		case err != nil:
			return sale{}, fmt.Errorf("shop: read stock: %w", err)
		}
		return sale{}, errSoldOut
	}
	if err != nil {
		return sale{}, fmt.Errorf("shop: take stock: %w", err)
	}

	var keyArg *string
	if key != "" {
		keyArg = &key
	}
	var id int64
	err = tx.QueryRow(ctx, sqlInsert, keyArg, item, buyer).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return sale{}, errKeyTaken // the deferred rollback gives the unit back
	}
	if err != nil {
		return sale{}, fmt.Errorf("shop: insert order: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return sale{}, fmt.Errorf("shop: commit sale: %w", err)
	}
	return sale{Order: order{ID: strconv.FormatInt(id, 10), Item: item, Buyer: buyer}}, nil
}

func (p *pgStore) byKey(ctx context.Context, key string) (order, bool, error) {
	var (
		id          int64
		item, buyer *string
	)
	err := p.pool.QueryRow(ctx, sqlByKey, key).Scan(&id, &item, &buyer)
	if errors.Is(err, pgx.ErrNoRows) {
		return order{}, false, nil
	}
	if err != nil {
		return order{}, false, fmt.Errorf("shop: look up order key: %w", err)
	}
	return order{ID: strconv.FormatInt(id, 10), Item: deref(item), Buyer: deref(buyer)}, true, nil
}

func (p *pgStore) ItemStock(ctx context.Context, item string) (int, error) {
	var n int
	err := p.pool.QueryRow(ctx, sqlItemStock, item).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, errUnknownItem
	}
	if err != nil {
		return 0, fmt.Errorf("shop: read stock: %w", err)
	}
	return n, nil
}

func (p *pgStore) Stock(ctx context.Context) (map[string]int, error) {
	rows, err := p.pool.Query(ctx, sqlAllStock)
	if err != nil {
		return nil, fmt.Errorf("shop: read stock: %w", err)
	}
	stock := map[string]int{}
	var (
		id string
		n  int
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &n}, func() error {
		stock[id] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("shop: read stock: %w", err)
	}
	return stock, nil
}

func (p *pgStore) Ping(ctx context.Context) error {
	if err := p.pool.Ping(ctx); err != nil {
		return fmt.Errorf("shop: ping PostgreSQL: %w", err)
	}
	return nil
}

func (p *pgStore) Mode() string { return "postgres" }

func (p *pgStore) Close() { p.pool.Close() }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
