// Package shoptest runs the example shop for other packages' tests: on a
// free loopback port, stopped at the test's cleanup, and on a fresh
// PostgreSQL schema when a test wants the database mode.
package shoptest

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"edge/examples/shop/shop"
)

// Start runs a shop built from opts on 127.0.0.1 on a free port and returns
// its address ("127.0.0.1:PORT") and the server. opts.Logger defaults to a
// logger that discards everything. The shop is closed, and its Serve loop
// waited for, at t's cleanup. A shop that cannot start fails the test.
func Start(t testing.TB, opts shop.Options) (addr string, s *shop.Server) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := shop.New(opts)
	if err != nil {
		t.Fatalf("shoptest: start shop: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = s.Close()
		t.Fatalf("shoptest: listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.Close()
		select {
		case err := <-served:
			if err != nil && !errors.Is(err, net.ErrClosed) {
				t.Errorf("shoptest: serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("shoptest: shop did not stop within 10s")
		}
	})
	return ln.Addr().String(), s
}
