package filter

import (
	"testing"
	"time"

	"edge/internal/config"

	"github.com/valyala/fasthttp"
)

func TestSaleWindow(t *testing.T) {
	t.Parallel()
	cst := time.FixedZone("CST", 8*3600)
	starts := time.Date(2026, 12, 12, 0, 0, 0, 0, cst)
	ends := starts.Add(2 * time.Hour)
	sales := []*config.Sale{
		nil,
		{Item: "42", Starts: starts, Ends: ends},
		{Item: "42", Starts: starts.Add(-24 * time.Hour)}, // duplicate: ignored
		{Item: "open-start", Ends: ends},
		{Item: "open-end", Starts: starts},
		{Item: "always"},
	}
	tests := []struct {
		name   string
		item   string
		at     time.Time
		status int // 0 = passes
		body   string
		retry  string
	}{
		{"long before", "42", starts.Add(-90*time.Minute - 500*time.Millisecond), 403,
			`{"error":"not_started","starts":"2026-12-12T00:00:00+08:00"}`, "5401"},
		{"a moment before", "42", starts.Add(-time.Millisecond), 403,
			`{"error":"not_started","starts":"2026-12-12T00:00:00+08:00"}`, "1"},
		{"at start", "42", starts, 0, "", ""},
		{"during", "42", starts.Add(time.Hour), 0, "", ""},
		{"a moment before end", "42", ends.Add(-time.Nanosecond), 0, "", ""},
		{"at end", "42", ends, 410, `{"error":"sale_ended"}`, ""},
		{"after", "42", ends.Add(time.Hour), 410, `{"error":"sale_ended"}`, ""},
		{"open start, early", "open-start", starts.Add(-1000 * time.Hour), 0, "", ""},
		{"open start, after", "open-start", ends, 410, `{"error":"sale_ended"}`, ""},
		{"open end, before", "open-end", starts.Add(-time.Second), 403,
			`{"error":"not_started","starts":"2026-12-12T00:00:00+08:00"}`, "1"},
		{"open end, years later", "open-end", starts.Add(10000 * time.Hour), 0, "", ""},
		{"unbounded", "always", starts, 0, "", ""},
		{"not on sale", "7", starts.Add(-time.Hour), 0, "", ""},
		{"no item", "", starts.Add(-time.Hour), 0, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := NewSaleWindow(sales, func() time.Time { return tc.at })
			ctx := new(fasthttp.RequestCtx)
			st := &State{Item: []byte(tc.item)}
			v := w.Handle(ctx, st)
			if tc.status == 0 {
				if v != Continue {
					t.Fatalf("verdict %v (status %d), want Continue", v, ctx.Response.StatusCode())
				}
				return
			}
			if v != Rejected || ctx.Response.StatusCode() != tc.status {
				t.Fatalf("verdict %v status %d, want Rejected %d", v, ctx.Response.StatusCode(), tc.status)
			}
			if b := string(ctx.Response.Body()); b != tc.body {
				t.Fatalf("body %s, want %s", b, tc.body)
			}
			if r := string(ctx.Response.Header.Peek(fasthttp.HeaderRetryAfter)); r != tc.retry {
				t.Fatalf("Retry-After %q, want %q", r, tc.retry)
			}
			if string(ctx.Response.Header.ContentType()) != "application/json" || st.Stage != "saletime" {
				t.Fatalf("content type %q stage %q", ctx.Response.Header.ContentType(), st.Stage)
			}
		})
	}
}

func TestSaleWindowZeroAlloc(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start.Add(time.Minute)
	w := NewSaleWindow([]*config.Sale{{Item: "42", Starts: start}}, func() time.Time { return now })
	ctx := new(fasthttp.RequestCtx)
	st := &State{Item: []byte("42")}
	if n := testing.AllocsPerRun(100, func() { w.Handle(ctx, st) }); n != 0 {
		t.Fatalf("%v allocations per open-window check, want 0", n)
	}
}
