package upstream

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/valyala/fasthttp"
)

// Error kinds: the fixed vocabulary of the result label of
// edge_upstream_requests_total and of access logs. ErrorKind maps any error
// from Pool.Do to one of them.
const (
	// KindOK: the origin answered (any status, 5xx included).
	KindOK = "ok"
	// KindTimeout: connecting or waiting for the response took too long (504).
	KindTimeout = "timeout"
	// KindConnRefused: no connection could be made (refused, unreachable,
	// name not resolved) (502).
	KindConnRefused = "conn_refused"
	// KindConnReset: the connection broke before a whole response arrived
	// (reset, closed, truncated) (502).
	KindConnReset = "conn_reset"
	// KindNoFreeConn: every connection to the chosen server was busy for
	// longer than max_conn_wait (503).
	KindNoFreeConn = "no_free_conn"
	// KindNoHealthy: active health checks say every server is down (503).
	KindNoHealthy = "no_healthy"
	// KindTooLarge: the response body is over max_response_size (502).
	KindTooLarge = "too_large"
	// KindBadResponse: the origin sent something that is not valid HTTP/1.x
	// (502).
	KindBadResponse = "bad_response"
	// KindOther: anything else (502).
	KindOther = "other"
)

// kind is the internal, array-indexable form of the kinds above.
type kind uint8

const (
	kOK kind = iota
	kTimeout
	kConnRefused
	kConnReset
	kNoFreeConn
	kNoHealthy
	kTooLarge
	kBadResponse
	kOther
	numKinds
)

var kindNames = [numKinds]string{
	kOK:          KindOK,
	kTimeout:     KindTimeout,
	kConnRefused: KindConnRefused,
	kConnReset:   KindConnReset,
	kNoFreeConn:  KindNoFreeConn,
	kNoHealthy:   KindNoHealthy,
	kTooLarge:    KindTooLarge,
	kBadResponse: KindBadResponse,
	kOther:       KindOther,
}

func (k kind) String() string { return kindNames[k] }

// ErrNoHealthy is returned by Pool.Do when active health checks have taken
// every server of the pool out.
var ErrNoHealthy = errors.New("upstream: no healthy server")

// errStreamTooLarge ends a streamed body that grew past max_response_size.
var errStreamTooLarge = errors.New("upstream: streamed response body exceeds max_response_size")

// errUnexpectedUpgrade: the origin switched protocols although edge never
// asks it to (Upgrade is hop-by-hop and removed).
var errUnexpectedUpgrade = errors.New("upstream: unexpected 101 Switching Protocols")

// errTooManyInterim: the origin sent an endless series of 1xx responses.
var errTooManyInterim = errors.New("upstream: too many 1xx responses")

// Error is what Pool.Do returns when no usable response arrived. Its text
// is for logs only: clients get WriteError's fixed JSON.
type Error struct {
	// Upstream is the pool name.
	Upstream string
	// Server is the address of the last server tried; empty when none was.
	Server string
	// Kind is one of the Kind* constants.
	Kind string
	// Err is the underlying cause.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Server == "" {
		return "upstream " + e.Upstream + ": " + e.Kind + ": " + e.Err.Error()
	}
	return "upstream " + e.Upstream + " server " + e.Server + ": " + e.Kind + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// dialError marks a failure to connect: nothing was sent, so any request may
// safely go to another server.
type dialError struct{ err error }

func (e *dialError) Error() string { return "dial: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// ErrorKind returns the Kind* constant for an error returned by Pool.Do
// (KindOK for nil). Errors from elsewhere are classified by their cause.
func ErrorKind(err error) string {
	return classify(err).String()
}

// ErrorStatus maps an error from Pool.Do to the status the client gets:
// 504 for timeouts, 503 when no server or no connection is available, 502
// for everything else (refused, reset, garbage, too large). It returns 0
// for nil.
func ErrorStatus(err error) int {
	if err == nil {
		return 0
	}
	return kindStatus(classify(err))
}

func kindStatus(k kind) int {
	switch k {
	case kOK:
		return 0
	case kTimeout:
		return fasthttp.StatusGatewayTimeout
	case kNoHealthy, kNoFreeConn:
		return fasthttp.StatusServiceUnavailable
	default:
		return fasthttp.StatusBadGateway
	}
}

// classify finds the kind of any error.
func classify(err error) kind {
	if err == nil {
		return kOK
	}
	var ue *Error
	if errors.As(err, &ue) {
		for k, name := range kindNames {
			if name == ue.Kind {
				return kind(k)
			}
		}
		return kOther
	}
	switch {
	case errors.Is(err, ErrNoHealthy):
		return kNoHealthy
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return kNoFreeConn
	case errors.Is(err, fasthttp.ErrBodyTooLarge), errors.Is(err, errStreamTooLarge):
		return kTooLarge
	}
	var de *dialError
	if errors.As(err, &de) {
		if isTimeout(err) {
			return kTimeout
		}
		return kConnRefused
	}
	switch {
	case isTimeout(err):
		return kTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return kConnRefused
	case isReset(err):
		return kConnReset
	}
	return kOther
}

// classifyRead is classify for errors met while reading a response: what is
// neither a timeout nor a broken connection nor too large is a malformed
// response.
func classifyRead(err error) kind {
	k := classify(err)
	if k == kOther {
		return kBadResponse
	}
	return k
}

func isTimeout(err error) bool {
	if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) ||
		errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, fasthttp.ErrTLSHandshakeTimeout) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

func isReset(err error) bool {
	return errors.Is(err, fasthttp.ErrConnectionClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, net.ErrClosed)
}

// Error bodies: fixed, never the error text.
var (
	bodyBadGateway  = []byte(`{"error":"bad_gateway"}`)
	bodyTimeout     = []byte(`{"error":"upstream_timeout"}`)
	bodyUnavailable = []byte(`{"error":"upstream_unavailable"}`)
)

// WriteError answers the client for an origin failure: the status of
// ErrorStatus (502 for nil or unknown errors), the JSON body
// {"error":"bad_gateway"|"upstream_timeout"|"upstream_unavailable"},
// Content-Type application/json, Cache-Control: no-store and, on 503,
// Retry-After: 1. Nothing of err reaches the client. Any response already
// in ctx is replaced (a Connection: close decided earlier is kept). It
// returns the status written.
func WriteError(ctx *fasthttp.RequestCtx, err error) int {
	return writeError(&ctx.Response, err)
}

func writeError(r *fasthttp.Response, err error) int {
	status := ErrorStatus(err)
	if status == 0 {
		status = fasthttp.StatusBadGateway
	}
	closeConn := r.ConnectionClose()
	r.Reset()
	if closeConn {
		r.SetConnectionClose()
	}
	r.SetStatusCode(status)
	r.Header.SetContentType("application/json")
	r.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	var body []byte
	switch status {
	case fasthttp.StatusGatewayTimeout:
		body = bodyTimeout
	case fasthttp.StatusServiceUnavailable:
		body = bodyUnavailable
		r.Header.Set(fasthttp.HeaderRetryAfter, "1")
	default:
		body = bodyBadGateway
	}
	// The bodies are package-level and never modified: no copy needed.
	r.SetBodyRaw(body)
	return status
}
