package app

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

const hotYAML = `listen: %s
admin: {listen: %s, token: s3cret}
hot: {threshold: 50/s}
upstreams:
  shop: {servers: [%s], timeout: 2s, max_conns: 512, max_conn_wait: 2s}
routes:
  - name: price
    match: {path: /price/}
    upstream: shop
    hot: {micro_cache: 1s}
  - name: order
    match: {path_exact: /order}
    upstream: shop
    item: {query: item}
`

// TestHotMicroCache: an uncacheable price endpoint hammered by 200 clients
// reaches the shop about once per second once it is hot; hot items reach the
// shop marked X-Edge-Hot, and a client cannot set that mark itself.
func TestHotMicroCache(t *testing.T) {
	t.Parallel()
	var priceHits, marked, unmarked atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if strings.HasPrefix(string(ctx.Path()), "/price/") {
			priceHits.Add(1)
			ctx.Response.Header.Set("Cache-Control", "no-cache")
			ctx.SetBodyString("42.00")
			return
		}
		if string(ctx.Request.Header.Peek("X-Edge-Hot")) == "1" {
			marked.Add(1)
		} else {
			unmarked.Add(1)
		}
	}}
	go s.Serve(ln)
	defer s.Shutdown()
	pub, adm, _ := startNode(t, hotYAML, ln.Addr().String())

	// A client-set mark is removed while the item is not hot.
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.SetRequestURI("http://" + pub + "/order?item=7")
	req.Header.Set("X-Edge-Hot", "1")
	if err := fasthttp.Do(req, resp); err != nil {
		t.Fatal(err)
	}
	if marked.Load() != 0 {
		t.Fatal("a client-supplied X-Edge-Hot reached the shop")
	}

	c := &fasthttp.HostClient{Addr: pub, MaxConns: 256}
	hammer := func(path string, d time.Duration) {
		var wg sync.WaitGroup
		stop := time.Now().Add(d)
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				req.SetRequestURI("http://" + pub + path)
				for time.Now().Before(stop) {
					if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 {
						t.Errorf("GET %s: %v %d", path, err, resp.StatusCode())
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	hammer("/price/42", time.Second) // becomes hot
	before := priceHits.Load()
	start := time.Now()
	hammer("/price/42", 2*time.Second)
	during := priceHits.Load() - before
	secs := time.Since(start).Seconds()
	t.Logf("origin hits while hot: %d in %.1fs (%d before it was hot)", during, secs, before)
	if limit := int64(secs) + 2; during > limit {
		t.Fatalf("hot endpoint reached the shop %d times in %.1fs; want about once per second", during, secs)
	}

	if code, body := do(t, "GET", "http://"+adm+"/hot", ""); code != 200 || !strings.Contains(body, "/price/42") {
		t.Fatalf("/hot while the price is hot: %d %s", code, body)
	}

	hammer("/order?item=42", time.Second)
	if marked.Load() == 0 {
		t.Fatalf("no order for the hot item reached the shop marked X-Edge-Hot (unmarked %d)", unmarked.Load())
	}
	if code, body := do(t, "GET", "http://"+adm+"/hot", ""); code != 200 || !strings.Contains(body, `"kind":"item","key":"42"`) {
		t.Fatalf("/hot while the item is hot: %d %s", code, body)
	}
}
