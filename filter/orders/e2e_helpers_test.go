package orders_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/app"
	"edge/internal/config"

	"edge/internal/testutil"
)

// nodeConfig is an edge config with one async order route. Arguments:
// public and admin listen addresses, the redis line (or ""), the shop's
// address and the queue settings.
const nodeConfig = `listen: %s
admin: {listen: %s, token: t}
server: {grace_period: 2s}
%s
identity: {header: X-User-Id}
upstreams:
  shop: {servers: [%s], timeout: 3s, passive: {max_fails: 0}}
routes:
  - name: order
    match: {path_exact: /order, methods: [POST]}
    upstream: shop
    identity: required
    item: {query: item}
    stock: {}
    queue: {%s}
sales:
  - {item: "42", stock: 100000000}
`

// startNode runs an edge node in this process and returns its public
// address.
func startNode(t testing.TB, redisLine, shop, queue string) string {
	t.Helper()
	pub := testutil.FreeAddr(t)
	yaml := fmt.Sprintf(nodeConfig, pub, testutil.FreeAddr(t), redisLine, shop, queue)
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	a, err := app.New(cfg, "test.yaml", "test", slog.New(slog.NewTextHandler(io.Discard, nil)))
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
	return pub
}

// client talks to edge nodes.
var client = &fasthttp.Client{
	ReadTimeout:              30 * time.Second,
	WriteTimeout:             5 * time.Second,
	MaxConnsPerHost:          256,
	MaxConnWaitTimeout:       10 * time.Second,
	NoDefaultUserAgentHeader: true,
}

// order places an order for item as user and returns the status and the
// ticket (on 202).
func order(t testing.TB, pub, item, user string) (int, string) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod("POST")
	req.SetRequestURI("http://" + pub + "/order?item=" + item)
	req.Header.Set("X-User-Id", user)
	req.Header.SetContentType("application/x-www-form-urlencoded")
	req.SetBodyString("qty=1")
	if err := client.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Errorf("order %s: %v", user, err)
		return 0, ""
	}
	var body struct{ Ticket, Status string }
	if resp.StatusCode() == fasthttp.StatusAccepted {
		if err := json.Unmarshal(resp.Body(), &body); err != nil || body.Status != "/_edge/orders/"+body.Ticket {
			t.Errorf("202 body %q", resp.Body())
		}
	}
	return resp.StatusCode(), body.Ticket
}

// result is the answer of GET /_edge/orders/{ticket}.
type result struct {
	Ticket   string          `json:"ticket"`
	Status   string          `json:"status"`
	Reason   string          `json:"reason"`
	Code     int             `json:"code"`
	Body     json.RawMessage `json:"body"`
	Attempts int             `json:"attempts"`
}

// fetch reads a ticket's result from pub, long-polling up to wait.
func fetch(pub, ticket, user, wait string) (result, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + pub + "/_edge/orders/" + ticket + "?wait=" + wait)
	req.Header.Set("X-User-Id", user)
	if err := client.DoTimeout(req, resp, 30*time.Second); err != nil {
		return result{}, err
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return result{}, fmt.Errorf("status %d: %s", resp.StatusCode(), resp.Body())
	}
	var r result
	err := json.Unmarshal(resp.Body(), &r)
	return r, err
}

// awaitAll long-polls every ticket at pub until it is final (within
// limit) and returns the results by ticket.
func awaitAll(t testing.TB, pub string, tickets map[string]string, limit time.Duration) map[string]result {
	t.Helper()
	deadline := time.Now().Add(limit)
	var mu sync.Mutex
	out := map[string]result{}
	work := make(chan [2]string)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tu := range work {
				for {
					r, err := fetch(pub, tu[0], tu[1], "5")
					if err == nil && r.Status != "pending" {
						mu.Lock()
						out[tu[0]] = r
						mu.Unlock()
						break
					}
					if time.Now().After(deadline) {
						t.Errorf("ticket %s: not final within %s (%v, %+v)", tu[0], limit, err, r)
						break
					}
					if err != nil {
						time.Sleep(100 * time.Millisecond) // the node is away; ask again
					}
				}
			}
		}()
	}
	for tk, user := range tickets {
		work <- [2]string{tk, user}
	}
	close(work)
	wg.Wait()
	return out
}

// placeMany places n orders for item 42 (users <prefix>0…) at pub, 32 at
// a time, and returns ticket → user; every one must be queued (202).
func placeMany(t testing.TB, pub, prefix string, n int) map[string]string {
	t.Helper()
	var mu sync.Mutex
	tickets := map[string]string{}
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			user := fmt.Sprintf("%s%d", prefix, i)
			code, ticket := order(t, pub, "42", user)
			if code != fasthttp.StatusAccepted {
				t.Errorf("order %s: status %d, want 202", user, code)
				return
			}
			mu.Lock()
			tickets[ticket] = user
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(tickets) != n {
		t.Fatalf("%d of %d orders queued", len(tickets), n)
	}
	return tickets
}

// proc is an edge process.
type proc struct {
	cmd  *exec.Cmd
	out  *testutil.SyncBuffer
	done chan error
}

// startProc runs bin with cfg and waits until adm reports ready.
func startProc(t testing.TB, bin, cfg, adm string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, "-config", cfg), out: &testutil.SyncBuffer{}, done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("edge log:\n%s", p.out.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, _, err := client.GetTimeout(nil, "http://"+adm+"/readyz", time.Second)
		if err == nil && code == 200 {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("edge not ready within 15s: %v\n%s", err, p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metric returns the value of one series on adm's /metrics (0 if absent).
func metric(t testing.TB, adm, series string) float64 {
	t.Helper()
	_, body, err := client.GetTimeout(nil, "http://"+adm+"/metrics", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}

func writeFile(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
