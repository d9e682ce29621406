package upstream

import (
	"bufio"
	"io"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// streamBody is a response body still on its origin connection. It is set
// as a fasthttp.Response body stream; fasthttp's server reads it while
// writing the response to the client and then closes it, which returns the
// connection to the pool (when the body was read to its end) or closes it.
// Objects are pooled: a streamed response allocates nothing.
//
// Read and Close must not be called concurrently (fasthttp's server calls
// both from the connection's goroutine).
type streamBody struct {
	s    *server
	cc   any // the HostClient connection, see releaseConn
	conn net.Conn
	br   *bufio.Reader

	// inner decodes the framing (chunked, length, until close) through
	// fasthttp's own body stream.
	inner fasthttp.Response
	body  io.Reader

	idle    time.Duration // each read gets this long
	renewed time.Time     // last read deadline extension
	max     int64         // max_response_size; 0 = none
	n       int64         // bytes delivered

	closeConn bool // the connection cannot be reused
	eof       bool // the whole body was read
	failed    bool // a read failed; the connection is unusable
	handoff   bool // the next Close moves ownership instead of closing
	closed    bool
}

var streamBodyPool = sync.Pool{New: func() any { return new(streamBody) }}

func acquireStreamBody() *streamBody {
	b := streamBodyPool.Get().(*streamBody)
	b.closed = false
	return b
}

// start attaches fasthttp's body decoder for a body of length cl (-1
// chunked, -2 until close).
func (b *streamBody) start(cl int) error {
	b.inner.Header.SetContentLength(cl)
	b.inner.StreamBody = true
	if err := b.inner.ReadBody(b.br, 0); err != nil {
		return err
	}
	b.body = b.inner.BodyStream()
	b.renewed = time.Time{}
	return nil
}

// Read implements io.Reader. Each read may wait up to the pool's timeout
// for data (an idle timeout, not a bound on the whole transfer); a body
// growing past max_response_size ends with an error, which makes the
// server cut the client connection rather than deliver a silently
// truncated body.
func (b *streamBody) Read(p []byte) (int, error) {
	if b.closed || b.body == nil {
		return 0, io.ErrClosedPipe
	}
	if b.eof {
		return 0, io.EOF
	}
	if b.idle > 0 {
		if now := time.Now(); now.Sub(b.renewed) >= b.idle/8 {
			if err := b.conn.SetReadDeadline(now.Add(b.idle)); err != nil {
				b.failed = true
				return 0, err
			}
			b.renewed = now
		}
	}
	n, err := b.body.Read(p)
	b.n += int64(n)
	if b.max > 0 && b.n > b.max {
		b.failed = true
		return 0, errStreamTooLarge
	}
	switch err {
	case nil:
	case io.EOF:
		b.eof = true
	default:
		b.failed = true
	}
	return n, err
}

// Close implements io.Closer: it returns the connection to its pool when the
// body was read to its end and the connection may be reused, and closes it
// otherwise. The object goes back to its pool.
func (b *streamBody) Close() error {
	if b.handoff {
		b.handoff = false
		return nil
	}
	if b.closed {
		return nil
	}
	b.closed = true
	reuse := b.eof && !b.failed && !b.closeConn
	b.inner.ResetBody() // releases fasthttp's decoder
	b.s.hc.ReleaseReader(b.br)
	reuseOrClose(b.s.hc, b.cc, reuse)

	b.inner.Reset()
	b.s, b.cc, b.conn, b.br, b.body = nil, nil, nil, nil, nil
	b.idle, b.renewed, b.max, b.n = 0, time.Time{}, 0, 0
	b.closeConn, b.eof, b.failed, b.handoff = false, false, false, false
	// closed stays true until the object is reused, so a stale Close is a
	// no-op.
	streamBodyPool.Put(b)
	return nil
}
