package shop_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"edge/examples/shop/shop"
)

// quiet is a logger for tests: shops log nothing to the test output.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// answer is one HTTP response, read whole.
type answer struct {
	Status int
	Header http.Header
	Body   string
}

// orderBody decodes a 201 order answer.
func (a answer) orderBody(t testing.TB) (order, item string) {
	t.Helper()
	var v struct{ Order, Item string }
	if err := json.Unmarshal([]byte(a.Body), &v); err != nil {
		t.Fatalf("order answer %q: %v", a.Body, err)
	}
	return v.Order, v.Item
}

// newClient returns an HTTP client with a bounded connection pool, closed
// at cleanup.
func newClient(t testing.TB) *http.Client {
	tr := &http.Transport{MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// do sends one request over the network and reads the whole answer. It is
// safe to call from many goroutines; failures are reported with t.Error.
func do(t testing.TB, c *http.Client, method, url string, header map[string]string) answer {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Error(err)
		return answer{}
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Error(err)
		return answer{}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Error(err)
	}
	return answer{Status: res.StatusCode, Header: res.Header, Body: string(body)}
}

// serve calls h in-process and returns the answer.
func serve(h http.Handler, method, target string, header map[string]string) answer {
	req := httptest.NewRequest(method, target, strings.NewReader(""))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{Status: rec.Code, Header: rec.Result().Header, Body: rec.Body.String()}
}

// newShop builds an unserved shop for in-process tests, closed at cleanup.
func newShop(t testing.TB, o shop.Options) *shop.Server {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quiet
	}
	s, err := shop.New(o)
	if err != nil {
		t.Fatalf("shop.New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// stats reads the server's counters and stock.
func stats(t testing.TB, s *shop.Server) shop.Stats {
	t.Helper()
	st, err := s.Stats(t.Context())
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	return st
}

// parallel runs n calls of f on n goroutines, released together, and waits.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}
