// Package shop is a small stand-alone web shop: product pages with ESI
// fragments, a stock counter and an order endpoint, kept either in memory or
// in PostgreSQL. It plays the "existing backend" that a gateway is put in
// front of, so it knows nothing of the gateway and imports none of its code.
//
// Start it with New and Serve (or mount Handler in any net/http server);
// stop it with Shutdown or Close.
package shop

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Default values used when the matching Options field is zero.
const (
	// DefaultPageMaxAge is the max-age of the product page (Cache-Control: public).
	DefaultPageMaxAge = 2 * time.Second
	// DefaultFragmentMaxAge is the max-age of the public price and stock fragments.
	DefaultFragmentMaxAge = time.Second
	// DefaultDBTimeout bounds every PostgreSQL call made while serving a request.
	DefaultDBTimeout = 3 * time.Second
	// DefaultConnectTimeout bounds connecting and preparing the schema in New.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultMaxConns is the PostgreSQL pool size.
	DefaultMaxConns = 16
)

// DefaultStock is the catalogue stocked when Options.Stock is nil: item 42
// with 200 units and item 43 with 50.
func DefaultStock() map[string]int { return map[string]int{"42": 200, "43": 50} }

// Options configures a Server. The zero value is a usable in-memory shop
// selling DefaultStock.
type Options struct {
	// DSN selects PostgreSQL mode when set (e.g.
	// "postgres://user@host:5432/db?sslmode=disable"); empty means in-memory.
	DSN string
	// Schema, in PostgreSQL mode, is the schema the tables live in: created if
	// missing and put first on every connection's search_path. Empty keeps
	// the DSN's own search_path. Lower-case letters, digits and '_' only.
	Schema string
	// Reset, in PostgreSQL mode, overwrites the stock of the items named in
	// Stock at start. Without it, only missing items are inserted and the
	// stock already in the table is kept. Orders are never deleted.
	Reset bool
	// Stock is the initial stock per item id (nil: DefaultStock). In memory
	// mode these are the only items sold; in PostgreSQL mode see Reset.
	Stock map[string]int
	// FailRate is the fraction (0..1) of orders answered 500 on purpose,
	// without selling, to exercise a gateway's error handling. Default 0.
	FailRate float64
	// Latency is added to every order before it is processed. Default 0.
	Latency time.Duration
	// PageMaxAge is the product page's Cache-Control max-age (default
	// DefaultPageMaxAge, rounded down to whole seconds).
	PageMaxAge time.Duration
	// FragmentMaxAge is the price and stock fragments' max-age (default
	// DefaultFragmentMaxAge).
	FragmentMaxAge time.Duration
	// DBTimeout bounds each PostgreSQL call made for a request (default
	// DefaultDBTimeout).
	DBTimeout time.Duration
	// ConnectTimeout bounds connecting to PostgreSQL and preparing the tables
	// in New (default DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// MaxConns is the PostgreSQL pool size (default DefaultMaxConns).
	MaxConns int32
	// Logger receives the shop's logs (nil: slog.Default()).
	Logger *slog.Logger
}

var (
	itemIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	schemaPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
)

// validItemID reports whether id may name an item: 1 to 64 ASCII letters,
// digits, '-' or '_'. Anything else is refused before it reaches a store.
func validItemID(id string) bool { return itemIDPattern.MatchString(id) }

// withDefaults returns a copy of o with zero fields replaced by defaults, or
// an error naming every invalid field.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	if o.Stock == nil {
		o.Stock = DefaultStock()
	} else {
		stock := make(map[string]int, len(o.Stock))
		for id, n := range o.Stock {
			if !validItemID(id) {
				errs = append(errs, fmt.Errorf("shop: stock: invalid item id %q", id))
			}
			if n < 0 {
				errs = append(errs, fmt.Errorf("shop: stock: item %q: negative stock %d", id, n))
			}
			stock[id] = n
		}
		o.Stock = stock
	}
	if o.FailRate < 0 || o.FailRate > 1 {
		errs = append(errs, fmt.Errorf("shop: fail rate %v: want 0..1", o.FailRate))
	}
	if o.Latency < 0 {
		errs = append(errs, fmt.Errorf("shop: latency %v: want >= 0", o.Latency))
	}
	if o.Schema != "" && !schemaPattern.MatchString(o.Schema) {
		errs = append(errs, fmt.Errorf("shop: schema %q: want [a-z_][a-z0-9_]*", o.Schema))
	}
	if o.DSN == "" && (o.Schema != "" || o.Reset) {
		errs = append(errs, errors.New("shop: schema and reset need a DSN"))
	}
	if o.PageMaxAge <= 0 {
		o.PageMaxAge = DefaultPageMaxAge
	}
	if o.FragmentMaxAge <= 0 {
		o.FragmentMaxAge = DefaultFragmentMaxAge
	}
	if o.DBTimeout <= 0 {
		o.DBTimeout = DefaultDBTimeout
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, errors.Join(errs...)
}

// ParseStock parses a stock list such as "42=200,43=50" (item id, '=',
// units; comma separated; spaces ignored). An empty string gives an empty,
// non-nil map. Duplicate ids, bad ids and negative or non-numeric counts are
// errors.
func ParseStock(s string) (map[string]int, error) {
	stock := map[string]int{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, count, ok := strings.Cut(part, "=")
		id, count = strings.TrimSpace(id), strings.TrimSpace(count)
		if !ok {
			return nil, fmt.Errorf("shop: stock %q: want id=count", part)
		}
		if !validItemID(id) {
			return nil, fmt.Errorf("shop: stock %q: invalid item id", part)
		}
		n, err := strconv.Atoi(count)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("shop: stock %q: want a count >= 0", part)
		}
		if _, dup := stock[id]; dup {
			return nil, fmt.Errorf("shop: stock %q: item listed twice", part)
		}
		stock[id] = n
	}
	return stock, nil
}

// FormatStock is the inverse of ParseStock, with ids in sorted order.
func FormatStock(stock map[string]int) string {
	ids := sortedKeys(stock)
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id + "=" + strconv.Itoa(stock[id])
	}
	return strings.Join(parts, ",")
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
