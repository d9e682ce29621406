package upstream

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestErrorKindAndStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		kind   string
		status int
	}{
		{"nil", nil, KindOK, 0},
		{"pool error keeps its kind", &Error{Upstream: "shop", Kind: KindTooLarge, Err: fasthttp.ErrBodyTooLarge}, KindTooLarge, 502},
		{"wrapped pool error", fmt.Errorf("route: %w", &Error{Kind: KindTimeout, Err: fasthttp.ErrTimeout}), KindTimeout, 504},
		{"no healthy", ErrNoHealthy, KindNoHealthy, 503},
		{"no free connection", fasthttp.ErrNoFreeConns, KindNoFreeConn, 503},
		{"fasthttp timeout", fasthttp.ErrTimeout, KindTimeout, 504},
		{"deadline", os.ErrDeadlineExceeded, KindTimeout, 504},
		{"dial timeout", &dialError{err: fasthttp.ErrDialTimeout}, KindTimeout, 504},
		{"dial refused", &dialError{err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, KindConnRefused, 502},
		{"dial unreachable", &dialError{err: &net.OpError{Op: "dial", Err: syscall.EHOSTUNREACH}}, KindConnRefused, 502},
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, KindConnRefused, 502},
		{"closed", fasthttp.ErrConnectionClosed, KindConnReset, 502},
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, KindConnReset, 502},
		{"broken pipe", &net.OpError{Op: "write", Err: syscall.EPIPE}, KindConnReset, 502},
		{"truncated", io.ErrUnexpectedEOF, KindConnReset, 502},
		{"too large", fasthttp.ErrBodyTooLarge, KindTooLarge, 502},
		{"stream too large", errStreamTooLarge, KindTooLarge, 502},
		{"anything else", errors.New("boom"), KindOther, 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ErrorKind(tt.err); got != tt.kind {
				t.Errorf("ErrorKind = %q, want %q", got, tt.kind)
			}
			if got := ErrorStatus(tt.err); got != tt.status {
				t.Errorf("ErrorStatus = %d, want %d", got, tt.status)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err        error
		status     int
		body       string
		retryAfter string
	}{
		{&Error{Upstream: "shop", Server: "10.0.0.7:8080", Kind: KindConnRefused, Err: errors.New("dial tcp 10.0.0.7:8080: refused")}, 502, `{"error":"bad_gateway"}`, ""},
		{fasthttp.ErrTimeout, 504, `{"error":"upstream_timeout"}`, ""},
		{ErrNoHealthy, 503, `{"error":"upstream_unavailable"}`, "1"},
		{nil, 502, `{"error":"bad_gateway"}`, ""},
	}
	for _, tt := range tests {
		ctx := &fasthttp.RequestCtx{}
		ctx.Response.Header.Set("X-Stale", "1")
		ctx.Response.SetConnectionClose()
		if got := WriteError(ctx, tt.err); got != tt.status {
			t.Errorf("%v: status %d, want %d", tt.err, got, tt.status)
		}
		r := &ctx.Response
		if r.StatusCode() != tt.status || string(r.Body()) != tt.body ||
			string(r.Header.ContentType()) != "application/json" ||
			string(r.Header.Peek("Cache-Control")) != "no-store" ||
			string(r.Header.Peek("Retry-After")) != tt.retryAfter ||
			len(r.Header.Peek("X-Stale")) != 0 || !r.ConnectionClose() {
			t.Errorf("%v: response\n%s", tt.err, r.String())
		}
	}
}
