package testutil

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"
)

// RefusedAddr is a loopback address where nothing listens, for a service
// that is down: a connection is refused at once. Unlike a port FreeAddr
// found free a moment ago, which a test running in parallel may bind
// meanwhile (a Redis starting up, say), port 1 (tcpmux) is never served.
const RefusedAddr = "127.0.0.1:1"

// FreeAddr returns a loopback "127.0.0.1:port" address that was free a
// moment ago: a listener is opened on port 0 and closed again, so the
// caller (usually an edge node under test) can bind it. Fails the test if
// no port can be had.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// ServeOrigin runs h on a fasthttp server listening on a free loopback
// port until the test ends (the server is shut down in a cleanup) and
// returns its "127.0.0.1:port" address. It stands in for an origin that
// the gateway reaches over real TCP.
func ServeOrigin(t testing.TB, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{Handler: h}
	go s.Serve(ln) //nolint:errcheck // ends with Shutdown below
	t.Cleanup(func() { _ = s.Shutdown() })
	return ln.Addr().String()
}
