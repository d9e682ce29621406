package upstream

import (
	"bufio"
	"errors"
	"io"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// The exchange below drives fasthttp.HostClient's connection pool directly
// (AcquireConn, ReleaseConn, pooled readers and writers: the API fasthttp
// exports for custom transports) instead of HostClient.Do, because a
// reverse proxy needs what Do cannot give:
//
//   - the choice between buffering and streaming the body made after the
//     response head is read (Content-Length known), not before;
//   - exact knowledge of whether any response byte arrived, so that only
//     requests that provably got no answer are retried;
//   - no hidden retries and no per-request allocations (Do's streaming path
//     allocates closures per response).
//
// HostClient still owns dialing, MaxConns, MaxConnWaitTimeout and idle
// connection cleanup.

// maxInterim bounds 1xx responses skipped before the final one.
const maxInterim = 8

// readBufferSize bounds a response head (status line and headers).
const readBufferSize = 8 << 10

// releaseConn / closeConn return a connection obtained from
// HostClient.AcquireConn. The connection type is unexported in fasthttp;
// it travels as any and is asserted back through the method expression's
// parameter type, without allocating.
func releaseConn[C any](hc *fasthttp.HostClient, cc any, release func(*fasthttp.HostClient, C)) {
	release(hc, cc.(C))
}

func reuseOrClose(hc *fasthttp.HostClient, cc any, reuse bool) {
	if reuse {
		releaseConn(hc, cc, (*fasthttp.HostClient).ReleaseConn)
	} else {
		releaseConn(hc, cc, (*fasthttp.HostClient).CloseConn)
	}
}

// exchange sends req to s and reads the response into resp. The body is
// buffered (bounded by max_response_size) unless streamAbove >= 0 and the
// response has no Content-Length or one above streamAbove: then it is left
// on the connection behind a *streamBody set as resp's body stream, which
// returns the connection when closed. rc says whether the request certainly
// got no response, so that an idempotent request may be sent again.
func (s *server) exchange(req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time, idle time.Duration, streamAbove int) (k kind, rc retryClass, err error) {
	resp.Reset()
	remaining := time.Until(deadline)
	if remaining <= 0 {
		return kTimeout, noRetry, fasthttp.ErrTimeout
	}
	cc, err := s.hc.AcquireConn(remaining, req.ConnectionClose())
	if err != nil {
		var de *dialError
		if errors.As(err, &de) {
			return classify(err), retryElsewhere, err
		}
		return classify(err), noRetry, err
	}
	conn := cc.Conn()
	// A pooled connection has been used before; the origin may have closed
	// it while idle, and then the request never reached the application.
	closedRC := retryElsewhere
	if !cc.LastUseTime().IsZero() {
		closedRC = retryStale
	}
	if req.IsBodyStream() {
		closedRC = noRetry // the body cannot be sent twice
	}

	// Write the request.
	wd := deadline
	if s.writeTimeout > 0 {
		if t := time.Now().Add(s.writeTimeout); t.Before(wd) {
			wd = t
		}
	}
	if err = conn.SetWriteDeadline(wd); err != nil {
		s.hc.CloseConn(cc)
		return kConnReset, closedRC, err
	}
	bw := s.hc.AcquireWriter(conn)
	err = req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	s.hc.ReleaseWriter(bw)
	if err != nil {
		s.hc.CloseConn(cc)
		k = classify(err)
		if k == kTimeout || req.IsBodyStream() {
			return k, noRetry, err
		}
		// Whatever the platform calls it (EPIPE, ECONNRESET, closed
		// pipe), the connection failed before the request was complete.
		return kConnReset, closedRC, err
	}

	// Read the head.
	if err = conn.SetReadDeadline(deadline); err != nil {
		s.hc.CloseConn(cc)
		return kConnReset, noRetry, err
	}
	br := s.hc.AcquireReader(conn)
	if req.Header.IsHead() {
		resp.SkipBody = true
	}
	if err = readHead(resp, br); err != nil {
		s.hc.ReleaseReader(br)
		s.hc.CloseConn(cc)
		if err == io.EOF {
			// Closed (or reset) before the first response byte.
			return kConnReset, closedRC, fasthttp.ErrConnectionClosed
		}
		return classifyRead(err), noRetry, err
	}
	closeConn := req.ConnectionClose() || resp.ConnectionClose()
	status := resp.Header.StatusCode()
	if resp.SkipBody || status == fasthttp.StatusNoContent || status == fasthttp.StatusNotModified {
		s.hc.ReleaseReader(br)
		reuseOrClose(s.hc, cc, !closeConn)
		return kOK, noRetry, nil
	}

	// Read or stream the body.
	cl := resp.Header.ContentLength()
	if s.maxBody > 0 && cl > s.maxBody {
		s.hc.ReleaseReader(br)
		s.hc.CloseConn(cc)
		return kTooLarge, noRetry, fasthttp.ErrBodyTooLarge
	}
	if streamAbove >= 0 && (cl < 0 || cl > streamAbove) {
		sb := acquireStreamBody()
		sb.s, sb.cc, sb.conn, sb.br = s, cc, conn, br
		sb.idle, sb.max = idle, int64(s.maxBody)
		sb.closeConn = closeConn || cl == -2
		if err = sb.start(cl); err != nil {
			sb.eof = false
			sb.Close()
			return classifyRead(err), noRetry, err
		}
		resp.SetBodyStream(sb, cl)
		return kOK, noRetry, nil
	}
	err = resp.ReadBody(br, s.maxBody)
	if err == nil && cl == -1 {
		if err = resp.Header.ReadTrailer(br); err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	}
	s.hc.ReleaseReader(br)
	if err != nil {
		s.hc.CloseConn(cc)
		return classifyRead(err), noRetry, err
	}
	// A body delimited by the connection's end leaves nothing to reuse.
	reuseOrClose(s.hc, cc, !closeConn && cl != -2)
	return kOK, noRetry, nil
}

// retryClass says whether a failed attempt may be repeated.
type retryClass uint8

const (
	// noRetry: the origin may have seen the request, or repeating it
	// cannot help (timeouts, bad or too large responses).
	noRetry retryClass = iota
	// retryElsewhere: nothing reached the server (connect failure, fresh
	// connection closed before answering); another server may take it.
	retryElsewhere
	// retryStale: a reused keep-alive connection turned out closed before
	// any response byte: the server dropped it while idle. Says nothing
	// about the server; one more attempt is free.
	retryStale
)

// readHead reads the final response head, skipping 1xx interim responses.
// It returns io.EOF when the connection ended before the first byte.
func readHead(resp *fasthttp.Response, br *bufio.Reader) error {
	for range maxInterim {
		if err := resp.Header.Read(br); err != nil {
			return err
		}
		status := resp.Header.StatusCode()
		if status == fasthttp.StatusSwitchingProtocols {
			return errUnexpectedUpgrade
		}
		if status >= 200 {
			return nil
		}
	}
	return errTooManyInterim
}

// Dialer opens a connection to addr within timeout. The default dials TCP
// through a fasthttp.TCPDialer (DNS cached for a minute).
type Dialer func(addr string, timeout time.Duration) (net.Conn, error)

// dialFunc adapts d to HostClient.DialTimeout: the connect timeout bounds
// every dial, and the request's remaining time bounds it further. Errors are
// marked as dial errors (nothing sent, safe to retry elsewhere).
func dialFunc(d Dialer, connect time.Duration) fasthttp.DialFuncWithTimeout {
	return func(addr string, timeout time.Duration) (net.Conn, error) {
		t := connect
		if timeout > 0 && timeout < t {
			t = timeout
		}
		c, err := d(addr, t)
		if err != nil {
			return nil, &dialError{err: err}
		}
		return c, nil
	}
}

func defaultDialer() Dialer {
	d := &fasthttp.TCPDialer{DNSCacheDuration: time.Minute}
	return d.DialDualStackTimeout
}
