package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/valyala/fasthttp"

	"edge/examples/shop/shop"
	"edge/examples/shop/shoptest"
	"edge/internal/app"
	"edge/internal/config"
	"edge/internal/dashboard"

	"edge/internal/testutil"
)

// browserNodeYAML is a node in front of the example shop: a cached,
// ESI-assembled product page and an order route with the whole funnel,
// with the admin token required for reads. %s: public, admin, shop.
const browserNodeYAML = `listen: %s
admin: {listen: %s, token: s3cret, guard_reads: true}
identity: {header: X-User-Id}
hot: {threshold: 20/s, top: 10}
upstreams:
  shop: {servers: [%s], timeout: 2s, health_check: {path: /healthz}}
routes:
  - name: item-page
    match: {path: /item/}
    upstream: shop
    cache: {ttl: 2s, stale_while_revalidate: 10s}
    esi: {}
  - name: user-box
    match: {path_exact: /frag/user}
    upstream: shop
    private: true
  - name: fragments
    match: {path: /frag/}
    upstream: shop
    cache: {ttl: 1s}
  - name: order
    match: {path_exact: /order, methods: [POST]}
    upstream: shop
    item: {query: item}
    identity: required
    ratelimit: [{per: user, rate: 2/s, burst: 2}]
    stock: {per_user: 1}
    queue: {mode: sync, concurrency_per_item: 8, max_wait: 2s}
sales:
  - {name: phone-42, item: "42", stock: 40}
  - {name: tv-43, item: "43", stock: 400}
`

// chromium returns the headless browser to drive: EDGE_CHROMIUM or
// /usr/bin/chromium. Without one the test skips, or fails when CI is set.
func chromium(t *testing.T) string {
	t.Helper()
	p := os.Getenv("EDGE_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(p); err != nil {
		msg := fmt.Sprintf("headless Chromium not found at %s: the dashboard browser test needs it "+
			"(Debian/Ubuntu: apt-get install chromium, or run scripts/ci-deps.sh; EDGE_CHROMIUM=/path overrides)", p)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// TestDashboardInBrowser opens /dashboard in headless Chromium in front of
// a real node and the example shop under load: the page loads without
// console errors, takes the token from #token=, its numbers move, they are
// the numbers of /stats, and it fits a phone's width. It saves screenshots
// (see screenshotDir).
func TestDashboardInBrowser(t *testing.T) {
	browser := chromium(t)
	shopAddr, _ := shoptest.Start(t, shop.Options{Stock: map[string]int{"42": 40, "43": 400}})
	pub, adm := startNode(t, browserNodeYAML, shopAddr)

	if code, _ := get(t, "http://"+adm+"/stats", ""); code != fasthttp.StatusUnauthorized {
		t.Fatalf("/stats without the token under guard_reads: %d, want 401", code)
	}

	ctx, cancel := newBrowser(t, browser)
	defer cancel()
	problems := watchConsole(t, ctx)
	run(t, ctx, chromedp.EmulateViewport(1280, 900))
	run(t, ctx, chromedp.Navigate("http://"+adm+"/dashboard#token=s3cret"))
	before := waitDOM(t, ctx, "the first render", func(d domStats) bool { return d.Seq > 0 })
	if before.Hash != "" || before.Conn != "live" {
		t.Errorf("after load: location.hash %q (token must leave the URL), connection %q", before.Hash, before.Conn)
	}

	loadCtx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	generateLoad(loadCtx, &wg, pub)
	defer func() { stopLoad(); wg.Wait() }()

	// Under load every part of the funnel moves: cache answers, refusals,
	// orders to the shop, a sold-out sale.
	during := waitDOM(t, ctx, "the load to show", func(d domStats) bool {
		return d.Total > before.Total+200 && d.Funnel["cache"] > 0 && d.Funnel["refused"] > 0 &&
			d.Funnel["ratelimit"] > 0 && d.Funnel["stock"] > 0 && d.Funnel["accepted"] >= 40 &&
			d.Sales["phone-42"].Remaining == 0 && d.Hot > 0 && d.Seq >= before.Seq+4
	})
	// What the page shows is /stats: read both at the same sample.
	matchStats(t, ctx, adm)

	after := waitDOM(t, ctx, "another refresh", func(d domStats) bool { return d.Seq > during.Seq && d.Total > during.Total })
	if after.Funnel["requests"] != after.Total {
		t.Errorf("funnel requests %d, header total %d", after.Funnel["requests"], after.Total)
	}

	// A phone: nothing wider than the screen, the funnel redrawn to fit.
	run(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	phone := waitDOM(t, ctx, "a render at phone width", func(d domStats) bool { return d.Seq > after.Seq+1 })
	if phone.Overflow > 0 || phone.FunnelWidth > 390 || phone.FunnelWidth < 300 {
		t.Errorf("at 390px: page overflows by %dpx, funnel %dpx wide", phone.Overflow, phone.FunnelWidth)
	}
	shot(t, ctx, "dashboard-phone.png")

	// Back on a laptop, with a few more seconds of history for the picture.
	run(t, ctx, chromedp.EmulateViewport(1280, 900))
	waitDOM(t, ctx, "a render at laptop width", func(d domStats) bool { return d.Seq > phone.Seq+1 })
	shot(t, ctx, "dashboard.png")

	stopLoad()
	wg.Wait()
	for _, p := range problems() {
		t.Errorf("browser console: %s", p)
	}
}

// domStats is what the page shows, read in one go.
type domStats struct {
	Seq         uint64              `json:"seq"`
	Total       int64               `json:"total"`
	Entries     int64               `json:"entries"`
	Funnel      map[string]int64    `json:"funnel"`
	Sales       map[string]domSale  `json:"sales"`
	Upstreams   map[string][]string `json:"upstreams"`
	Hot         int                 `json:"hot"`
	Hash        string              `json:"hash"`
	Conn        string              `json:"conn"`
	Overflow    int                 `json:"overflow"`
	FunnelWidth int                 `json:"funnelWidth"`
}

type domSale struct {
	Remaining int64  `json:"remaining"`
	Sold      int64  `json:"sold"`
	State     string `json:"state"`
}

const readDOM = `(() => {
  const num = (e) => e ? Number(e.textContent.split('/')[0].replace(/[^0-9.]/g, '')) : -1;
  const funnel = {}, sales = {}, upstreams = {};
  document.querySelectorAll('#funnel [data-total]').forEach((e) => { funnel[e.dataset.total] = num(e); });
  document.querySelectorAll('[data-sale]').forEach((e) => {
    sales[e.dataset.sale] = { remaining: num(e.querySelector('.remaining')), sold: num(e.querySelector('.sold')),
      state: e.querySelector('.badge').textContent };
  });
  document.querySelectorAll('[data-upstream]').forEach((e) => {
    upstreams[e.dataset.upstream] = [...e.querySelectorAll('.addr')].map((a) => a.textContent);
  });
  return { seq: Number(document.documentElement.dataset.seq || 0), total: num(document.getElementById('req-total')),
    entries: num(document.getElementById('cache-entries')), funnel, sales, upstreams, hash: location.hash,
    hot: document.querySelectorAll('#hot .hot').length,
    conn: document.getElementById('conn').textContent,
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    funnelWidth: Math.round(document.getElementById('funnel').getBoundingClientRect().width) };
})()`

func dom(t *testing.T, ctx context.Context) domStats {
	t.Helper()
	d, err := chromedp.Run(ctx, chromedp.Evaluate[domStats](readDOM))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	return d
}

// waitDOM polls the page until ok holds (each render is one sample, about a
// second apart), failing after 20 s.
func waitDOM(t *testing.T, ctx context.Context, what string, ok func(domStats) bool) domStats {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d := dom(t, ctx)
		if ok(d) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: the page shows %+v", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// matchStats reads the page and then /stats until both show the same
// sample (they differ only across a refresh) and compares every number.
func matchStats(t *testing.T, ctx context.Context, adm string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		d := dom(t, ctx)
		code, body := get(t, "http://"+adm+"/stats", "Bearer s3cret")
		if code != fasthttp.StatusOK {
			t.Fatalf("/stats: %d %s", code, body)
		}
		var st dashboard.Stats
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("/stats: %v", err)
		}
		if st.Seq != d.Seq {
			time.Sleep(20 * time.Millisecond) // the page shows a new sample within a quarter interval
			continue
		}
		if d.Total != st.Requests.Total || d.Entries != st.Cache.Entries {
			t.Errorf("page total %d entries %d, /stats %d %d", d.Total, d.Entries, st.Requests.Total, st.Cache.Entries)
		}
		for _, f := range st.Funnel {
			if d.Funnel[f.Stage] != f.Total {
				t.Errorf("funnel %s: page %d, /stats %d", f.Stage, d.Funnel[f.Stage], f.Total)
			}
		}
		for _, s := range st.Sales {
			ds := d.Sales[s.Name]
			if ds.Remaining != s.Remaining || ds.Sold != s.Sold || ds.State != strings.ReplaceAll(s.State, "_", " ") {
				t.Errorf("sale %s: page %+v, /stats remaining %d sold %d %s", s.Name, ds, s.Remaining, s.Sold, s.State)
			}
		}
		if !st.Hot.Available || d.Hot != min(len(st.Hot.Keys), 20) {
			t.Errorf("hot keys: page %d, /stats %+v", d.Hot, st.Hot)
		}
		for _, u := range st.Upstreams {
			if len(d.Upstreams[u.Name]) != len(u.Servers) {
				t.Errorf("upstream %s: page %v, /stats %+v", u.Name, d.Upstreams[u.Name], u.Servers)
			}
		}
		return
	}
	t.Fatal("the page never showed the sample /stats served")
}

// generateLoad sends, until ctx ends, product page views (cache hits and
// misses), orders from new shoppers (accepted until the sale sells out),
// orders from one eager shopper (rate limited, limit reached) and
// anonymous orders (identity required).
func generateLoad(ctx context.Context, wg *sync.WaitGroup, pub string) {
	c := &fasthttp.Client{ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second, MaxConnsPerHost: 64}
	send := func(method, path, user string) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod(method)
		req.SetRequestURI("http://" + pub + path)
		if user != "" {
			req.Header.Set("X-User-Id", user)
		}
		_ = c.DoTimeout(req, resp, 3*time.Second)
	}
	every := func(d time.Duration, fn func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(d)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					fn(i)
				}
			}
		}()
	}
	for r := range 2 {
		every(8*time.Millisecond, func(i int) { send("GET", fmt.Sprintf("/item/%d", 42+(i+r)%2), "") })
	}
	every(25*time.Millisecond, func(i int) { send("POST", fmt.Sprintf("/order?item=%d", 42+i%3/2), fmt.Sprintf("buyer-%d", i)) })
	every(60*time.Millisecond, func(int) { send("POST", "/order?item=43", "eager") })
	every(150*time.Millisecond, func(int) { send("POST", "/order?item=42", "") })
}

func newBrowser(t *testing.T, path string) (context.Context, context.CancelFunc) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("font-render-hinting", "none"),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// The first action starts the browser; its context must not time out.
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx, func() { cancelCtx(); cancelAlloc() }
}

func run(t *testing.T, ctx context.Context, a chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, a); err != nil {
		t.Fatal(err)
	}
}

// watchConsole collects console errors, uncaught exceptions and browser log
// errors (failed loads, CSP violations); warnings are logged only.
func watchConsole(t *testing.T, ctx context.Context) func() []string {
	var mu sync.Mutex
	var errs []string
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleException:
				mu.Lock()
				errs = append(errs, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
				mu.Unlock()
			case chromedp.ConsoleWarning:
				t.Logf("browser console: %s", m)
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

// screenshotDir is where the test saves its screenshots: EDGE_SCREENSHOT_DIR,
// the repository's docs/ with EDGE_WRITE_DOCS=1 (the README shows
// docs/dashboard.png), or bin/screenshots so a test run leaves the tree clean.
func screenshotDir() string {
	if d := os.Getenv("EDGE_SCREENSHOT_DIR"); d != "" {
		return d
	}
	if os.Getenv("EDGE_WRITE_DOCS") == "1" {
		return filepath.Join("..", "..", "docs")
	}
	return filepath.Join("..", "..", "bin", "screenshots")
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := screenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot saved: %s", path)
}

// startNode runs an edge node in-process from yamlFmt (public, admin and
// shop addresses in that order) until the test ends.
func startNode(t *testing.T, yamlFmt, shopAddr string) (pub, adm string) {
	t.Helper()
	pub, adm = testutil.FreeAddr(t), testutil.FreeAddr(t)
	cfg, err := config.Parse("dashboard-test.yaml", []byte(fmt.Sprintf(yamlFmt, pub, adm, shopAddr)))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	a, err := app.New(cfg, "dashboard-test.yaml", "test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = a.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	return pub, adm
}

func get(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if err := fasthttp.DoTimeout(req, resp, 3*time.Second); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode(), string(resp.Body())
}
