package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"

	"edge/internal/testutil"
)

// startNode runs a whole edge node in-process from YAML (with %s for the
// public, admin and origin addresses, in that order).
func startNode(t *testing.T, yamlFmt string, origin string) (pub, adm string, a *App) {
	t.Helper()
	return startNodeTB(t, yamlFmt, origin)
}

// startNodeTB is startNode for tests and benchmarks alike.
func startNodeTB(t testing.TB, yamlFmt string, origin string) (pub, adm string, a *App) {
	t.Helper()
	pub, adm = testutil.FreeAddr(t), testutil.FreeAddr(t)
	cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(yamlFmt, pub, adm, origin)))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	a, err = New(cfg, "test.yaml", "test", log)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	go a.Serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	return pub, adm, a
}

const nodeYAML = `listen: %s
admin: {listen: %s, token: s3cret}
upstreams:
  shop: {servers: [%s], timeout: 2s}
routes:
  - name: item
    match: {path: /item/}
    upstream: shop
`

func TestNodeServesAndAdmin(t *testing.T) {
	t.Parallel()
	origin := startOrigin(t)
	pub, adm, _ := startNode(t, nodeYAML, origin)

	code, body := do(t, "GET", "http://"+pub+"/item/42", "")
	if code != 200 || body != "item /item/42" {
		t.Fatalf("forwarded: %d %q", code, body)
	}
	code, body = do(t, "GET", "http://"+pub+"/nothing", "")
	if code != 404 || body != `{"error":"no_route"}` {
		t.Fatalf("unrouted: %d %q", code, body)
	}
	code, _ = do(t, "GET", "http://"+pub+"/_edge/unknown", "")
	if code != 404 {
		t.Fatalf("/_edge/unknown: %d", code)
	}

	if code, _ := do(t, "GET", "http://"+adm+"/healthz", ""); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, body := do(t, "GET", "http://"+adm+"/readyz", ""); code != 200 {
		t.Fatalf("readyz %d %s", code, body)
	}
	_, metrics := do(t, "GET", "http://"+adm+"/metrics", "")
	for _, want := range []string{
		`edge_requests_total{code="2xx",route="item"} 1`,
		`edge_requests_total{code="4xx",route="_unmatched"} 2`,
		`edge_build_info{`,
		`edge_config_reloads_total{result="ok"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	_, cfg := do(t, "GET", "http://"+adm+"/config", "")
	if strings.Contains(cfg, "s3cret") || !strings.Contains(cfg, "redacted") {
		t.Errorf("/config leaks or lacks redaction:\n%s", cfg)
	}
	if code, _ := do(t, "POST", "http://"+adm+"/purge?prefix=http://x/", ""); code != 401 {
		t.Errorf("purge without token: %d, want 401", code)
	}
	if code, _ := do(t, "POST", "http://"+adm+"/purge?prefix=http://x/", "Bearer wrong"); code != 401 {
		t.Errorf("purge with a wrong token: %d, want 401", code)
	}
	if code, body := do(t, "POST", "http://"+adm+"/purge?prefix=http://x/", "Bearer s3cret"); code != 200 || !strings.Contains(body, `"purged":0`) {
		t.Errorf("purge with token: %d %s", code, body)
	}
	// Admin endpoints are not on the public listener.
	if code, _ := do(t, "GET", "http://"+pub+"/metrics", ""); code != 404 {
		t.Errorf("/metrics on the public listener: %d", code)
	}
}

func TestReadyzFollowsDrain(t *testing.T) {
	t.Parallel()
	origin := startOrigin(t)
	_, adm, a := startNode(t, nodeYAML, origin)
	a.draining.Store(true)
	if code, body := do(t, "GET", "http://"+adm+"/readyz", ""); code != 503 || !strings.Contains(body, "draining") {
		t.Fatalf("readyz while draining: %d %s", code, body)
	}
	a.draining.Store(false)
}

func startOrigin(t *testing.T) string {
	t.Helper()
	addr := testutil.ServeOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyString("item " + string(ctx.Path()))
	})
	return addr
}

func do(t *testing.T, method, url, auth string) (int, string) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(url)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if err := fasthttp.DoTimeout(req, resp, 3*time.Second); err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp.StatusCode(), string(resp.Body())
}

// TestShutdownRightAfterServe: a node shut down before its Serve goroutine
// has registered the listeners with fasthttp still stops (fasthttp's
// Shutdown only closes listeners it knows; the App closes its own too).
func TestShutdownRightAfterServe(t *testing.T) {
	t.Parallel()
	origin := startOrigin(t)
	for i := range 20 {
		pub, adm := testutil.FreeAddr(t), testutil.FreeAddr(t)
		cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(nodeYAML, pub, adm, origin)))
		if err != nil {
			t.Fatal(err)
		}
		a, err := New(cfg, "test.yaml", "test", slog.New(slog.NewJSONHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Listen(); err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- a.Serve() }()
		stopped := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			stopped <- a.Shutdown(ctx)
		}()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: Shutdown did not return", i)
		}
		select {
		case err := <-served:
			if err != nil {
				t.Fatalf("round %d: Serve: %v", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: Serve still running after Shutdown", i)
		}
	}
}
