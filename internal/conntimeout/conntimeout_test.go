package conntimeout

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// serve starts a fasthttp server without timeouts of its own on a wrapped
// listener and returns its address and the listener.
func serve(t *testing.T, to Timeouts, h fasthttp.RequestHandler) (string, *Listener) {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := Wrap(raw, to)
	s := &fasthttp.Server{Handler: h, ConnState: ConnState, ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			ctx.Error("timeout", fasthttp.StatusRequestTimeout)
			return
		}
		ctx.Error("bad", fasthttp.StatusBadRequest)
	}}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown() })
	return raw.Addr().String(), ln
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// statusLine sends req on c and returns the status line of the answer.
func statusLine(t *testing.T, c net.Conn, br *bufio.Reader, req string) string {
	t.Helper()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var resp fasthttp.Response
	if err := resp.Read(br); err != nil {
		t.Fatalf("reading answer: %v", err)
	}
	return string(resp.Header.StatusMessage())
}

// waitClosed reads from c until it is closed by the server, returning what
// it read and how long that took; it fails after limit.
func waitClosed(t *testing.T, c net.Conn, limit time.Duration) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	b, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("connection not closed within %v: %v (read %q)", limit, err, b)
	}
	return string(b), time.Since(start)
}

const get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"

func TestKeepAliveAndHandlerTimeNotCounted(t *testing.T) {
	t.Parallel()
	to := Timeouts{Read: 200 * time.Millisecond, Write: 200 * time.Millisecond, Idle: time.Second}
	addr, _ := serve(t, to, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/slow" {
			time.Sleep(3 * to.Read) // the handler's time counts against no limit
		}
		ctx.SetBodyString("ok")
	})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		if s := statusLine(t, c, br, get); s != "OK" {
			t.Fatalf("request %d: %q", i, s)
		}
	}
	if s := statusLine(t, c, br, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"); s != "OK" {
		t.Fatalf("slow handler: %q", s)
	}
	// Waiting between requests is bounded by Idle, not Read.
	time.Sleep(2 * to.Read)
	if s := statusLine(t, c, br, get); s != "OK" {
		t.Fatalf("after a pause within the idle timeout: %q", s)
	}
}

func TestSlowRequestCut(t *testing.T) {
	t.Parallel()
	to := Timeouts{Read: 300 * time.Millisecond, Write: time.Second, Idle: time.Second}
	addr, _ := serve(t, to, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	c := dial(t, addr)
	start := time.Now()
	// One byte every 50 ms: every read is quick, the request is not.
	go func() {
		for i := 0; i < len(get)-2; i++ {
			if _, err := c.Write([]byte{get[i]}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	got, _ := waitClosed(t, c, 5*time.Second)
	el := time.Since(start)
	if !strings.Contains(got, "408") {
		t.Errorf("answer %q, want 408", got)
	}
	if el < to.Read || el > to.Read+2*to.Tick()+300*time.Millisecond {
		t.Errorf("cut after %v, want about %v (tick %v)", el, to.Read, to.Tick())
	}
}

func TestIdleConnectionClosed(t *testing.T) {
	t.Parallel()
	to := Timeouts{Read: time.Second, Write: time.Second, Idle: 300 * time.Millisecond}
	addr, ln := serve(t, to, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	c := dial(t, addr)
	br := bufio.NewReader(c)
	if s := statusLine(t, c, br, get); s != "OK" {
		t.Fatal(s)
	}
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(5 * time.Second))
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("idle connection sent something")
	}
	if el := time.Since(start); el < to.Idle-to.Tick() || el > to.Idle+2*to.Tick()+300*time.Millisecond {
		t.Errorf("idle connection closed after %v, want about %v", el, to.Idle)
	}
	deadline := time.Now().Add(2 * time.Second)
	for ln.Conns() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := ln.Conns(); n != 0 {
		t.Errorf("%d connection(s) still tracked after close", n)
	}
}

// A new connection that never sends a byte gets the read timeout, not the
// (longer) idle one.
func TestSilentNewConnection(t *testing.T) {
	t.Parallel()
	to := Timeouts{Read: 200 * time.Millisecond, Write: time.Second, Idle: 10 * time.Second}
	addr, _ := serve(t, to, func(ctx *fasthttp.RequestCtx) {})
	c := dial(t, addr)
	if _, el := waitClosed(t, c, 3*time.Second); el > to.Read+2*to.Tick()+300*time.Millisecond {
		t.Errorf("silent connection closed after %v, want about %v", el, to.Read)
	}
}

func TestClientNotReadingCut(t *testing.T) {
	t.Parallel()
	to := Timeouts{Read: time.Second, Write: 300 * time.Millisecond, Idle: time.Second}
	big := make([]byte, 64<<20) // far beyond what socket buffers hold
	addr, ln := serve(t, to, func(ctx *fasthttp.RequestCtx) { ctx.Response.SetBodyRaw(big) })
	c := dial(t, addr)
	if _, err := io.WriteString(c, get); err != nil {
		t.Fatal(err)
	}
	// Never read: the server's write blocks, then must be cut.
	deadline := time.Now().Add(5 * time.Second)
	time.Sleep(50 * time.Millisecond)
	for ln.Conns() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := ln.Conns(); n != 0 {
		t.Fatalf("a client that does not read still holds %d connection(s) after 5s", n)
	}
}

func TestSweeperOutlivesListenerForOpenConns(t *testing.T) {
	t.Parallel()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	to := Timeouts{Read: 200 * time.Millisecond}
	ln := Wrap(raw, to)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_ = ln.Close() // the listener closes; the accepted connection is still bounded
		var b [1]byte
		_, err = c.Read(b[:])
		if errors.Is(err, os.ErrDeadlineExceeded) {
			c.Close()
		}
	}()
	c := dial(t, raw.Addr().String())
	if _, el := waitClosed(t, c, 3*time.Second); el > time.Second {
		t.Errorf("connection closed after %v, want about %v", el, to.Read)
	}
}

// The body after a "100 Continue" is part of the request: a client that
// sends it late gets 408 at the read timeout, not the idle one.
func TestContinueBodyWithinReadTimeout(t *testing.T) {
	t.Parallel()
	to := Timeouts{Read: 300 * time.Millisecond, Write: time.Second, Idle: 5 * time.Second}
	addr, _ := serve(t, to, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	c := dial(t, addr)
	start := time.Now()
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := waitClosed(t, c, 5*time.Second) // the body never comes
	if el := time.Since(start); !strings.Contains(got, "408") || el > to.Read+2*to.Tick()+300*time.Millisecond {
		t.Errorf("after %v: %q, want 408 at about %v", el, got, to.Read)
	}
}

// The handler's time does not count against the next pipelined request,
// even when that request's body arrives only after the first answer.
func TestPipelinedHandlerTimeNotCounted(t *testing.T) {
	t.Parallel()
	to := Timeouts{Read: 400 * time.Millisecond, Write: time.Second, Idle: 5 * time.Second}
	addr, _ := serve(t, to, func(ctx *fasthttp.RequestCtx) {
		time.Sleep(2 * to.Read)
		ctx.SetBodyString("ok")
	})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	// The first request and the second's header at once; the second's body
	// while the first is in the handler, past the read timeout counted
	// from when the two arrived, but in time counted from the second's
	// start (after the first answer).
	if _, err := io.WriteString(c, get+"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2*to.Read + 100*time.Millisecond)
	if _, err := io.WriteString(c, "hi"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var resp fasthttp.Response
		if err := resp.Read(br); err != nil || resp.StatusCode() != 200 {
			t.Fatalf("answer %d: %v %d", i+1, err, resp.StatusCode())
		}
	}
}

// The first request of a connection runs from the accept: bytes trickled in
// past the read timeout are cut even though each arrives in time.
func TestFirstRequestFromAccept(t *testing.T) {
	t.Parallel()
	to := Timeouts{Read: 400 * time.Millisecond, Write: time.Second, Idle: 5 * time.Second}
	addr, _ := serve(t, to, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	c := dial(t, addr)
	time.Sleep(300 * time.Millisecond)
	_, _ = io.WriteString(c, "G")
	time.Sleep(300 * time.Millisecond)
	_, _ = io.WriteString(c, get[1:])
	got, _ := waitClosed(t, c, 5*time.Second)
	if strings.Contains(got, "200 OK") {
		t.Errorf("a request read over %v was answered: %q", 600*time.Millisecond, got)
	}
}

// The write timeout bounds the whole response: a client reading a little
// at a time, each read well within it, is cut once it has passed.
func TestWriteTimeoutCoversWholeResponse(t *testing.T) {
	t.Parallel()
	to := Timeouts{Read: time.Second, Write: 400 * time.Millisecond, Idle: 5 * time.Second}
	big := make([]byte, 64<<20)
	addr, ln := serve(t, to, func(ctx *fasthttp.RequestCtx) { ctx.Response.SetBodyRaw(big) })
	c := dial(t, addr)
	if _, err := io.WriteString(c, get); err != nil {
		t.Fatal(err)
	}
	// Read a little at a time, each read well within the write timeout.
	go func() {
		buf := make([]byte, 64<<10)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	start := time.Now()
	for ln.Conns() != 0 && time.Since(start) < 5*time.Second {
		time.Sleep(20 * time.Millisecond)
	}
	if el := time.Since(start); ln.Conns() != 0 || el > to.Write+2*to.Tick()+500*time.Millisecond {
		t.Errorf("the server gave a slow reader's response %v (write timeout %v; %d connection(s) open)", el, to.Write, ln.Conns())
	}
}

func TestExpiredConnFailsLaterCalls(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer b.Close()
	l := &Listener{t: Timeouts{Read: time.Millisecond, Write: time.Millisecond}, conns: map[*Conn]struct{}{}}
	c := &Conn{Conn: a, l: l}
	c.readDue.Store(1)
	c.writeDue.Store(1)
	c.check(2)
	for _, op := range []func() error{
		func() error { _, err := c.Read(make([]byte, 1)); return err },
		func() error { _, err := c.Write([]byte("x")); return err },
	} {
		err := op()
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("after expiry: %v, want a timeout error", err)
		}
	}
	_ = c.Close()
}

func TestTick(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		to   Timeouts
		want time.Duration
	}{
		{Timeouts{}, 10 * time.Millisecond},
		{Timeouts{Read: 10 * time.Second, Write: 10 * time.Second, Idle: time.Minute}, 250 * time.Millisecond},
		{Timeouts{Read: time.Second}, 125 * time.Millisecond},
		{Timeouts{Read: time.Minute, Idle: 400 * time.Millisecond}, 50 * time.Millisecond},
		{Timeouts{Write: time.Millisecond}, 10 * time.Millisecond},
	} {
		if got := c.to.Tick(); got != c.want {
			t.Errorf("%+v: tick %v, want %v", c.to, got, c.want)
		}
	}
}
