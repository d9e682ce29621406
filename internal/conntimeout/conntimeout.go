// Package conntimeout enforces a server's read, write and idle timeouts with
// one sweeper goroutine per listener instead of socket deadlines set on every
// request.
//
// fasthttp applies its ReadTimeout, IdleTimeout and WriteTimeout by calling
// SetReadDeadline and SetWriteDeadline on the connection three times per
// request; each call re-arms a runtime timer, and on a keep-alive connection
// serving cache hits that costs a measurable share of the CPU of a request
// (bench/README.md). Here a connection only records, with a few atomic
// stores on a coarse clock, when its blocked Read or Write must end; the
// sweeper looks at every connection a few times per second and sets a
// deadline in the past on those that overran, which makes the blocked call
// return a timeout error exactly as an expired socket deadline would. The
// server then answers 408 (a request read too slowly) or closes the
// connection (an idle keep-alive, a client that does not read its answer).
//
// The server reports where requests start and responses end through
// ConnState, fasthttp's connection-state hook, at the very places fasthttp
// re-arms its own deadlines; the timeouts then mean what fasthttp's mean:
//   - Read: a request, from its start (for the first request of a
//     connection, the accept; for the next ones, their first byte) until
//     the server has read it, the body after a "100 Continue" included;
//   - Idle: a keep-alive connection waiting for the first byte of its next
//     request (zero: Read, as in fasthttp);
//   - Write: the whole response, from its first write.
//
// Time spent in the handler counts against none of them. A deadline is
// enforced at most two sweeper ticks after it passes, never before.
package conntimeout

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Timeouts are the limits a Listener enforces; zero disables one.
type Timeouts struct {
	Read, Write, Idle time.Duration
}

// Tick is how often the sweeper of a listener with these timeouts looks at
// its connections: an eighth of the shortest timeout, between 10 ms and
// 250 ms. A limit is enforced at most two ticks late.
func (t Timeouts) Tick() time.Duration {
	least := time.Duration(0)
	for _, d := range []time.Duration{t.Read, t.Write, t.Idle} {
		if d > 0 && (least == 0 || d < least) {
			least = d
		}
	}
	tick := least / 8
	switch {
	case tick < 10*time.Millisecond:
		tick = 10 * time.Millisecond
	case tick > 250*time.Millisecond:
		tick = 250 * time.Millisecond
	}
	return tick
}

// Listener wraps a net.Listener; the connections it accepts keep to its
// Timeouts. Close stops the sweeper.
type Listener struct {
	net.Listener
	t    Timeouts
	tick int64 // ns
	// clock is nanoseconds since start, advanced by the sweeper every tick:
	// a connection reads it instead of the system clock.
	clock atomic.Int64
	start time.Time

	mu    sync.Mutex
	conns map[*Conn]struct{}

	done      chan struct{}
	closeOnce sync.Once
}

// Wrap returns ln enforcing t on every accepted connection; the server must
// set ConnState as its connection-state hook. With all of t zero it still
// wraps, so that callers need not care, but runs no sweeper.
func Wrap(ln net.Listener, t Timeouts) *Listener {
	if t.Idle == 0 {
		t.Idle = t.Read
	}
	l := &Listener{
		Listener: ln,
		t:        t,
		tick:     int64(t.Tick()),
		start:    time.Now(),
		conns:    make(map[*Conn]struct{}),
		done:     make(chan struct{}),
	}
	if t.Read > 0 || t.Write > 0 || t.Idle > 0 {
		go l.sweep()
	}
	return l
}

// ConnState is the fasthttp.Server.ConnState hook of a server on a Listener:
// a request starts (StateActive, where fasthttp sets its read deadline) or a
// response has been written and the connection waits for the next request
// (StateIdle). Connections of other listeners are ignored.
func ConnState(nc net.Conn, st fasthttp.ConnState) {
	c, ok := nc.(*Conn)
	if !ok {
		return
	}
	switch st {
	case fasthttp.StateActive:
		c.phaseDue.Store(c.l.due(c.l.t.Read))
		c.respDue.Store(0)
	case fasthttp.StateIdle:
		c.phaseDue.Store(c.l.due(c.l.t.Idle))
		c.respDue.Store(0)
	}
}

// Accept returns the next connection, registered with the sweeper.
func (l *Listener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &Conn{Conn: nc, l: l}
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		if a, ok := netip.AddrFromSlice(ta.IP); ok {
			c.peer = a.Unmap()
		}
	}
	c.phaseDue.Store(l.due(l.t.Read)) // the first request runs from the accept
	l.mu.Lock()
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	return c, nil
}

// Close closes the listener. Accepted connections stay open until their
// owner closes them, still within their timeouts; the sweeper stops once the
// last one is closed.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// Conns is the number of open connections the listener tracks.
func (l *Listener) Conns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// due is the clock value at which a limit d starting now has passed, or 0
// when d is zero (no limit). One tick is added because the clock lags the
// system clock by up to a tick: a limit is never enforced early.
func (l *Listener) due(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return l.clock.Load() + int64(d) + l.tick
}

// sweep advances the clock and expires overrunning calls every tick. After
// Close it goes on while connections remain, so that a draining server is
// still protected from slow clients; then it ends.
func (l *Listener) sweep() {
	t := time.NewTicker(time.Duration(l.tick))
	defer t.Stop()
	done, closed := l.done, false
	for {
		select {
		case <-done:
			closed, done = true, nil // a nil channel: wait on the ticker alone
		case now := <-t.C:
			clock := int64(now.Sub(l.start))
			l.clock.Store(clock)
			l.mu.Lock()
			for c := range l.conns {
				c.check(clock)
			}
			n := len(l.conns)
			l.mu.Unlock()
			if closed && n == 0 {
				return
			}
		}
	}
}

func (l *Listener) forget(c *Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// Conn is an accepted connection keeping to its listener's timeouts.
type Conn struct {
	net.Conn
	l    *Listener
	peer netip.Addr // the TCP peer, worked out once at accept

	// phaseDue is when the request being read, or the wait for the next
	// one, must end; respDue when the response being written must be out
	// (0: not started). Set by ConnState, 0 meaning no limit.
	phaseDue, respDue atomic.Int64
	// readDue and writeDue are when the Read or Write in progress must end
	// (0: none in progress, or no limit).
	readDue, writeDue atomic.Int64
	// readExpired and writeExpired are set by the sweeper; the connection
	// then fails every later call of that kind.
	readExpired, writeExpired atomic.Bool
	closeOnce                 sync.Once
	closeErr                  error
}

// PeerAddr is the connection's TCP peer address (the zero Addr when the
// listener is not TCP): the gateway asks for it on every request, and the
// answer never changes for a connection.
func (c *Conn) PeerAddr() netip.Addr { return c.peer }

// Read reads as net.Conn does, within the request or idle limit.
func (c *Conn) Read(p []byte) (int, error) {
	if c.readExpired.Load() {
		return 0, c.timeout("read")
	}
	c.readDue.Store(c.phaseDue.Load())
	n, err := c.Conn.Read(p)
	c.readDue.Store(0)
	return n, err
}

// Write writes as net.Conn does, within the limit of the response it is
// part of (which its first write starts).
func (c *Conn) Write(p []byte) (int, error) {
	if c.writeExpired.Load() {
		return 0, c.timeout("write")
	}
	due := c.respDue.Load()
	if due == 0 {
		if due = c.l.due(c.l.t.Write); due != 0 {
			c.respDue.Store(due)
		}
	}
	c.writeDue.Store(due)
	n, err := c.Conn.Write(p)
	c.writeDue.Store(0)
	return n, err
}

// Close closes the connection once and forgets it.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.l.forget(c)
		c.closeErr = c.Conn.Close()
	})
	return c.closeErr
}

// check expires a Read or Write that has overrun its limit at clock now.
// A deadline in the past makes the blocked call return at once with a
// timeout, as if the socket's own deadline had passed.
func (c *Conn) check(now int64) {
	if d := c.readDue.Load(); d != 0 && now >= d && !c.readExpired.Load() {
		c.readExpired.Store(true)
		_ = c.Conn.SetReadDeadline(aLongTimeAgo)
	}
	if d := c.writeDue.Load(); d != 0 && now >= d && !c.writeExpired.Load() {
		c.writeExpired.Store(true)
		_ = c.Conn.SetWriteDeadline(aLongTimeAgo)
	}
}

var aLongTimeAgo = time.Unix(1, 0)

func (c *Conn) timeout(op string) error {
	return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.ErrDeadlineExceeded}
}
