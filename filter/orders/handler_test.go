package orders

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"
	"edge/internal/testutil"
)

// headerUser reads the shopper from X-User-Id, as an identity source would.
func headerUser(ctx *fasthttp.RequestCtx) ([]byte, bool) {
	u := ctx.Request.Header.Peek("X-User-Id")
	return u, len(u) > 0
}

// get calls the handler and returns status, decoded body (nil and an
// error reported when not JSON) and Retry-After.
func get(t testing.TB, h fasthttp.RequestHandler, method, uri, user string) (int, map[string]any, string) {
	t.Helper()
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	if user != "" {
		ctx.Request.Header.Set("X-User-Id", user)
	}
	h(ctx)
	var body map[string]any
	if err := json.Unmarshal(ctx.Response.Body(), &body); err != nil {
		t.Errorf("%s %s: body %q: %v", method, uri, ctx.Response.Body(), err) // may run off the test goroutine
	}
	return ctx.Response.StatusCode(), body, string(ctx.Response.Header.Peek("Retry-After"))
}

func TestResultHandler(t *testing.T) {
	t.Parallel()
	bs := newBlockingShop()
	shop := startShop(t, bs.handle)
	hub := newHub(t, NewMemory(nil), nil, nil)
	stage, err := hub.NewStage("order", testQueue(func(q *config.Queue) {
		q.LongPollMax = config.Duration(300 * time.Millisecond)
	}), copyRequest, shop)
	if err != nil {
		t.Fatal(err)
	}
	h := hub.Handler(headerUser)
	_, _, ticket := place(t, nil, stage, "42", "alice")
	uri := EdgePrefix + ticket

	cases := []struct {
		name, method, uri, user string
		status                  int
		field, want             string
	}{
		{"pending for its shopper", "GET", uri, "alice", 200, "status", "pending"},
		{"another shopper", "GET", uri, "bob", 404, "error", "not_found"},
		{"no shopper", "GET", uri, "", 404, "error", "not_found"},
		{"unknown ticket", "GET", EdgePrefix + NewTicket(), "alice", 404, "error", "not_found"},
		{"malformed ticket", "GET", EdgePrefix + "../../etc", "alice", 404, "error", "not_found"},
		{"no ticket", "GET", EdgePrefix, "alice", 404, "error", "not_found"},
		{"wrong method", "POST", uri, "alice", 405, "error", "method_not_allowed"},
	}
	for _, c := range cases {
		status, body, _ := get(t, h, c.method, c.uri, c.user)
		if status != c.status || body[c.field] != c.want {
			t.Errorf("%s: %d %v, want %d %s=%s", c.name, status, body, c.status, c.field, c.want)
		}
	}
	_, body, retry := get(t, h, "GET", uri, "alice")
	if retry != "1" || body["ticket"] != ticket || body["queued_at"] == nil {
		t.Fatalf("pending answer %v, Retry-After %q", body, retry)
	}

	// A long poll is bounded by long_poll_max (300ms here), not by ?wait.
	start := time.Now()
	if _, body, _ := get(t, h, "GET", uri+"?wait=30", "alice"); body["status"] != "pending" {
		t.Fatalf("bounded long poll: %v", body)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Fatalf("bounded long poll took %s, want about 300ms", d)
	}

	// A long poll returns as soon as the result is final.
	testutil.WaitFor(t, 10*time.Second, "the order at the shop", func() bool { return bs.inFlight() == 1 })
	done := make(chan map[string]any, 1)
	go func() {
		_, body, _ := get(t, h, "GET", uri+"?wait=300ms", "alice")
		done <- body
	}()
	bs.release <- struct{}{}
	var final map[string]any
	select {
	case final = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("long poll did not return")
	}
	if final["status"] != "pending" {
		// The poll may have ended before the shop answered; ask again.
		waitFinal(t, hub.Backend(), ticket)
		_, final, _ = get(t, h, "GET", uri, "alice")
	}
	body2, _ := final["body"].(map[string]any)
	if final["status"] != "accepted" || final["code"] != float64(201) || body2["ok"] != true ||
		final["attempts"] != float64(1) || final["done_at"] == nil {
		t.Fatalf("final answer %v", final)
	}
	if _, _, retry := get(t, h, "GET", uri, "alice"); retry != "" {
		t.Fatalf("a final answer carries Retry-After %q", retry)
	}
}

// TestLongPollWakes: a long poll waiting for a pending order answers once
// the result is stored, well before its wait ends.
func TestLongPollWakes(t *testing.T) {
	t.Parallel()
	bs := newBlockingShop()
	shop := startShop(t, bs.handle)
	hub := newHub(t, NewMemory(nil), nil, nil)
	stage, err := hub.NewStage("order", testQueue(nil), copyRequest, shop)
	if err != nil {
		t.Fatal(err)
	}
	_, _, ticket := place(t, nil, stage, "42", "alice")
	testutil.WaitFor(t, 10*time.Second, "the order at the shop", func() bool { return bs.inFlight() == 1 })
	h := hub.Handler(headerUser)
	done := make(chan map[string]any, 1)
	start := time.Now()
	go func() {
		_, body, _ := get(t, h, "GET", EdgePrefix+ticket+"?wait=5", "alice")
		done <- body
	}()
	bs.release <- struct{}{}
	select {
	case body := <-done:
		if body["status"] != "accepted" {
			t.Fatalf("long poll answered %v", body)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Fatalf("long poll took %s", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long poll did not return")
	}
}

func TestResultBodyNotJSON(t *testing.T) {
	t.Parallel()
	shop := startShop(t, answerWith(400, "plain <b>text</b>"))
	hub := newHub(t, NewMemory(nil), nil, nil)
	stage, err := hub.NewStage("order", testQueue(nil), copyRequest, shop)
	if err != nil {
		t.Fatal(err)
	}
	_, _, ticket := place(t, nil, stage, "42", "alice")
	waitFinal(t, hub.Backend(), ticket)
	_, body, _ := get(t, hub.Handler(headerUser), "GET", EdgePrefix+ticket, "alice")
	if body["status"] != "rejected" || body["reason"] != ReasonRefused || body["body"] != "plain <b>text</b>" {
		t.Fatalf("answer %v", body)
	}
}
