package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fasthttp"

	"edge/examples/shop/shop"
	"edge/examples/shop/shoptest"
	"edge/internal/config"

	"edge/internal/testutil"
)

// adminToken is the admin token of every node the sale tests start.
const adminToken = "s3cret"

// saleSetup describes the edge nodes of a sale test. The zero value is one
// node with an in-memory store selling 200 units of item 42, one per
// shopper, through a sync queue of 8 per item.
type saleSetup struct {
	// Redis addresses; empty keeps the stock in each node's memory.
	Redis []string
	// PerUser caps the units per shopper (default 1; -1: no cap).
	PerUser int
	// Stock of item 42 (default 200).
	Stock int
	// Queue is the route's queue block (default sync, 8 per item, 2s).
	Queue string
	// Sales are extra lines under sales:, each starting with "  - ".
	Sales string
	// Routes are extra routes after the order route, each starting with
	// "  - name: ".
	Routes string
	// NoRateLimit drops the route's (generous) per-user rate limit, whose
	// Redis round trip would blur counts of the stock gate's own.
	NoRateLimit bool
}

// yaml renders the config, with {{listen}}, {{admin}} and {{shop}} left for
// startEdge to fill.
func (c saleSetup) yaml() string {
	if c.Stock == 0 {
		c.Stock = 200
	}
	perUser := c.PerUser
	switch {
	case perUser == 0:
		perUser = 1
	case perUser < 0:
		perUser = 0
	}
	if c.Queue == "" {
		c.Queue = "{mode: sync, concurrency_per_item: 8, max_wait: 2s}"
	}
	rl := "    ratelimit: [{per: user, rate: 100/s, burst: 100}]\n"
	if c.NoRateLimit {
		rl = ""
	}
	var b strings.Builder
	b.WriteString("listen: {{listen}}\nadmin: {listen: {{admin}}, token: " + adminToken + "}\n")
	b.WriteString("identity: {header: X-User-Id}\n")
	if len(c.Redis) > 0 {
		b.WriteString("redis: {addrs: [" + strings.Join(c.Redis, ", ") + "], timeout: 1s}\n")
	}
	b.WriteString(`upstreams:
  shop: {servers: [{{shop}}], timeout: 10s, max_conns: 64, max_conn_wait: 5s}
routes:
  - name: order
    match: {path_exact: /order, methods: [POST]}
    upstream: shop
    item: {query: item}
    identity: required
` + rl + `    stock: {per_user: ` + strconv.Itoa(perUser) + `}
    queue: ` + c.Queue + "\n" + c.Routes + `sales:
  - {item: "42", stock: ` + strconv.Itoa(c.Stock) + "}\n")
	b.WriteString(c.Sales)
	return b.String()
}

// startEdge runs one node from yaml (see saleSetup.yaml) in-process. With
// pub set, the public side serves that listener instead of a TCP port.
func startEdge(tb testing.TB, yaml, origin string, pub net.Listener) (a *App, pubAddr, admAddr string) {
	tb.Helper()
	listen, adm := testutil.FreeAddr(tb), testutil.FreeAddr(tb)
	text := strings.NewReplacer("{{listen}}", listen, "{{admin}}", adm, "{{shop}}", origin).Replace(yaml)
	cfg, err := config.Parse("sale.yaml", []byte(text))
	if err != nil {
		tb.Fatalf("config: %v\n%s", err, text)
	}
	a, err = New(cfg, "sale.yaml", "test", slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	if pub == nil {
		err = a.Listen()
	} else {
		a.publicLn = pub
		a.adminLn, err = net.Listen("tcp", adm)
	}
	if err != nil {
		tb.Fatal(err)
	}
	go a.Serve()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	pubAddr, admAddr = a.Addrs()
	return a, pubAddr, admAddr
}

// fleet is several edge nodes in front of one shop.
type fleet struct {
	nodes []*App
	pubs  []string
	adms  []string
}

// startFleet runs n nodes of the same config in front of origin.
func startFleet(tb testing.TB, n int, c saleSetup, origin string) *fleet {
	tb.Helper()
	f := &fleet{}
	yaml := c.yaml()
	for range n {
		a, pub, adm := startEdge(tb, yaml, origin, nil)
		f.nodes = append(f.nodes, a)
		f.pubs = append(f.pubs, pub)
		f.adms = append(f.adms, adm)
	}
	return f
}

// unsettled returns the units this node took whose order has not finished
// yet, from its own counters: taken − sold − given back.
func unsettled(a *App) float64 {
	mfs, err := a.Metrics.Registry.Gather()
	if err != nil {
		return -1
	}
	var n float64
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			v := m.GetCounter().GetValue()
			switch mf.GetName() {
			case "edge_stock_decisions_total":
				for _, l := range m.GetLabel() {
					if l.GetName() == "result" && l.GetValue() == "taken" {
						n += v
					}
				}
			case "edge_stock_sold_total", "edge_stock_given_back_total":
				n -= v
			}
		}
	}
	return n
}

// saleInfo is GET /stock/{item} of the admin API.
type saleInfo struct {
	State     string `json:"state"`
	Remaining *int64 `json:"remaining"`
	Reserved  *int64 `json:"reserved"`
	Sold      *int64 `json:"sold"`
	GivenBack *int64 `json:"given_back"`
	SoldOut   bool   `json:"sold_out"`
	Error     string `json:"error"`
}

func (s saleInfo) String() string {
	n := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return strconv.FormatInt(*p, 10)
	}
	return "state=" + s.State + " remaining=" + n(s.Remaining) + " reserved=" + n(s.Reserved) +
		" sold=" + n(s.Sold) + " given_back=" + n(s.GivenBack) + " error=" + s.Error
}

// val reads a counter of saleInfo; -1 when absent.
func val(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

// stockOf reads one sale from a node's admin API.
func stockOf(tb testing.TB, adm, item string) saleInfo {
	tb.Helper()
	s, ok := tryStockOf(adm, item)
	if !ok {
		tb.Fatalf("GET /stock/%s on %s failed", item, adm)
	}
	return s
}

// tryStockOf is stockOf for goroutines other than the test's.
func tryStockOf(adm, item string) (saleInfo, bool) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + adm + "/stock/" + item)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	var s saleInfo
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil || resp.StatusCode() != 200 {
		return s, false
	}
	return s, json.Unmarshal(resp.Body(), &s) == nil
}

// doAs does one request with the admin token, an optional user id
// (X-User-Id) and an optional JSON body.
func doAs(tb testing.TB, method, url, user, body string) (int, string) {
	tb.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(url)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if user != "" {
		req.Header.Set("X-User-Id", user)
	}
	if body != "" {
		req.Header.SetContentType("application/json")
		req.SetBodyString(body)
	}
	if err := fasthttp.DoTimeout(req, resp, 15*time.Second); err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	return resp.StatusCode(), string(resp.Body())
}

// orderResult is one POST /order?item= by user to a public address; unlike doAs
// it may be used from any goroutine.
type orderResult struct {
	code       int
	reason     string
	retryAfter string
	elapsed    time.Duration
	err        error
}

func postOrder(pub, item, user string) orderResult {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod("POST")
	req.SetRequestURI("http://" + pub + "/order?item=" + item)
	req.Header.Set("X-User-Id", user)
	start := time.Now()
	err := fasthttp.DoTimeout(req, resp, 15*time.Second)
	o := orderResult{elapsed: time.Since(start), err: err}
	if err == nil {
		o.code, o.reason = resp.StatusCode(), reasonOf(resp.Body())
		o.retryAfter = string(resp.Header.Peek("Retry-After"))
	}
	return o
}

func (o orderResult) String() string {
	if o.err != nil {
		return o.err.Error()
	}
	return strings.TrimSpace(strconv.Itoa(o.code) + " " + o.reason)
}

// reasonOf returns the "error" of a JSON refusal, or "".
func reasonOf(body []byte) string {
	const key = `"error":"`
	i := strings.Index(string(body), key)
	if i < 0 {
		return ""
	}
	rest := string(body[i+len(key):])
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return ""
}

// pgShop is the example shop on a fresh PostgreSQL schema, with a pool to
// read its tables.
type pgShop struct {
	addr   string
	srv    *shop.Server
	db     *pgxpool.Pool
	orders string // schema-qualified table names
	items  string
}

// startPGShop runs the shop on PostgreSQL with stock units of item 42 (the
// test is skipped when PostgreSQL is unreachable outside CI).
func startPGShop(tb testing.TB, stock int, failRate float64) *pgShop {
	tb.Helper()
	dsn, schema := shoptest.PGSchema(tb)
	addr, srv := shoptest.Start(tb, shop.Options{
		DSN: dsn, Schema: schema, Reset: true, Stock: map[string]int{"42": stock},
		FailRate: failRate, MaxConns: 8,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		tb.Fatalf("pgxpool: %v", err)
	}
	pc.MaxConns = 2 // reads only; the server's connections are shared
	db, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		tb.Fatalf("pgxpool: %v", err)
	}
	tb.Cleanup(db.Close)
	return &pgShop{addr: addr, srv: srv, db: db, orders: schema + ".orders", items: schema + ".items"}
}

// stock reads the remaining units of item in the shop's database.
func (p *pgShop) stock(tb testing.TB, item string) int {
	tb.Helper()
	n, err := p.tryStock(item)
	if err != nil {
		tb.Fatalf("read stock: %v", err)
	}
	return n
}

// tryStock is stock for goroutines other than the test's.
func (p *pgShop) tryStock(item string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var n int
	err := p.db.QueryRow(ctx, "SELECT stock FROM "+p.items+" WHERE id = $1", item).Scan(&n)
	return n, err
}

// buyers returns the order rows of item per buyer.
func (p *pgShop) buyers(tb testing.TB, item string) (rows int, perBuyer map[string]int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.db.Query(ctx, "SELECT buyer FROM "+p.orders+" WHERE item = $1", item)
	if err != nil {
		tb.Fatalf("read orders: %v", err)
	}
	defer res.Close()
	perBuyer = map[string]int{}
	for res.Next() {
		var b string
		if err := res.Scan(&b); err != nil {
			tb.Fatalf("read orders: %v", err)
		}
		perBuyer[b]++
		rows++
	}
	if err := res.Err(); err != nil {
		tb.Fatalf("read orders: %v", err)
	}
	return rows, perBuyer
}
