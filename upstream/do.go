package upstream

import (
	"time"

	"github.com/valyala/fasthttp"
)

// Do sends a fully prepared request to one server of the pool and fills
// resp with the buffered response (body at most max_response_size; larger
// fails with kind too_large). timeout bounds the whole call, retries
// included; 0 means the pool's timeout.
//
// The server is the least busy of those active health checks keep in and
// passive ejection has not taken out (round robin among equals). GET, HEAD,
// OPTIONS, PUT, DELETE and TRACE requests that certainly got no response
// (connection refused, connect timeout, a new connection closed before the
// first response byte) are retried on another server, up to the pool's
// retries. A request that found a reused keep-alive connection closed (the
// origin dropped it while idle) gets one more attempt on top, on any server.
// POST, PATCH and requests with a body stream are never retried. Any
// response from the origin, 5xx included, is a success: Do returns nil.
//
// The request target is sent as it is (no path normalisation). Errors are
// *Error values; map them with ErrorStatus / ErrorKind, never show them to
// clients.
func (p *Pool) Do(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) error {
	return p.do(req, resp, timeout, -1)
}

// DoStream is Do for responses that may be large: a body with a
// Content-Length up to streamAbove bytes is buffered as with Do; a longer
// one, or one without a length (chunked, until close), is left on the
// origin connection as resp's body stream. The caller must then consume it
// and release resp (fasthttp.ReleaseResponse, or Response.CloseBodyStream),
// which returns the connection; Forwarder.WriteResponse hands it to the
// client response instead. A negative streamAbove buffers everything.
func (p *Pool) DoStream(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration, streamAbove int) error {
	return p.do(req, resp, timeout, streamAbove)
}

func (p *Pool) do(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration, streamAbove int) error {
	if timeout <= 0 {
		timeout = p.timeout
	}
	start := time.Now()
	deadline := start.Add(timeout)
	// Send the target as received: HostClient.Do would do the same with
	// DisablePathNormalizing; the exchange writes the request itself.
	req.URI().DisablePathNormalizing = true
	mayRetry := isIdempotent(&req.Header) && !req.IsBodyStream()

	var (
		s        *server
		trial    bool
		k        kind
		rc       retryClass
		err      error
		tried    uint64 // servers already used, by index (the first 64)
		retries  int    // attempts on other servers so far
		stale    bool   // the free retry after a stale connection is used
		lastAddr string
	)
	for attempt := 0; ; attempt++ {
		s, trial = p.pick(tried)
		if s == nil {
			if attempt == 0 {
				k, err = kNoHealthy, ErrNoHealthy
			}
			break
		}
		if attempt > 0 {
			p.pm.retries.Inc()
		}
		lastAddr = s.addr
		s.inflight.Add(1)
		k, rc, err = s.exchange(req, resp, deadline, timeout, streamAbove)
		s.inflight.Add(-1)
		switch {
		case rc == retryStale:
			// An idle connection the origin closed says nothing about it.
			p.record(s, kOther, 0, trial)
		case err == nil:
			p.record(s, k, resp.Header.StatusCode(), trial)
		default:
			p.record(s, k, 0, trial)
		}
		if err == nil || !mayRetry || rc == noRetry || !time.Now().Before(deadline) {
			break
		}
		if rc == retryStale && !stale {
			stale = true // any server, this one included
			continue
		}
		if retries >= p.retries {
			break
		}
		retries++
		if s.index < 64 {
			tried |= 1 << s.index
		}
	}
	p.pm.duration.Observe(time.Since(start).Seconds())
	p.pm.results[k].Inc()
	if err != nil {
		return &Error{Upstream: p.name, Server: lastAddr, Kind: kindNames[k], Err: err}
	}
	return nil
}

// isIdempotent: methods whose repetition is harmless (RFC 9110 9.2.2).
func isIdempotent(h *fasthttp.RequestHeader) bool {
	return h.IsGet() || h.IsHead() || h.IsOptions() || h.IsPut() || h.IsDelete() || h.IsTrace()
}
