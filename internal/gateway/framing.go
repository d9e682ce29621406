package gateway

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"edge/filter"
)

// guardFraming wraps the public handler with a check of the request's raw
// header block. fasthttp v1.74 accepts three framings that another HTTP
// parser in front of or behind edge may read differently, which is how
// requests are smuggled:
//   - Content-Length together with Transfer-Encoding (fasthttp silently
//     uses the chunked body; RFC 9112 §6.1 lets a server do so only if it
//     then closes the connection, and a proxy must not forward both);
//   - obsolete line folding (a header line starting with SP or HTAB, which
//     RFC 9112 §5.2 says a server must reject or replace);
//   - a bare LF ending a header line (RFC 9112 §2.2: a recipient may accept
//     it, but a front proxy that does not may see different headers).
//
// It also refuses request lines fasthttp takes as they come but a gateway
// should not pass on (see requestLineOK).
//
// Such a request is answered 400 bad_request and the connection is closed,
// so nothing read behind it on the same connection is ever served. The
// check runs twice: in HeaderReceived (framingHeaderReceived), before any
// body is read, where it sets the body length to zero so no ambiguous body
// is consumed (nor waited for); and here, where the request is refused.
func guardFraming(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if !framingOK(ctx.Request.Header.RawHeaders()) {
			filter.Reject(ctx, nil, "server", fasthttp.StatusBadRequest, "bad_request", 0)
			ctx.SetConnectionClose()
			return
		}
		if status, reason := requestLineOK(&ctx.Request.Header); status != 0 {
			if status == fasthttp.StatusMethodNotAllowed {
				ctx.Response.Header.Set(fasthttp.HeaderAllow, allowedMethods)
			}
			filter.Reject(ctx, nil, "server", status, reason, 0)
			ctx.SetConnectionClose()
			return
		}
		h(ctx)
	}
}

// framingHeaderReceived is the server's HeaderReceived hook: a request with
// ambiguous framing gets no body read at all; guardFraming then refuses it.
// The zero RequestConfig keeps the server's own limits and timeouts.
func framingHeaderReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if !framingOK(h.RawHeaders()) {
		h.SetContentLength(0)
	}
	return fasthttp.RequestConfig{}
}

var (
	headerCL = []byte("content-length")
	headerTE = []byte("transfer-encoding")
)

// framingOK reports whether raw (the header lines after the request line,
// as received) has no folded line, no bare LF and not both Content-Length
// and Transfer-Encoding.
func framingOK(raw []byte) bool {
	var cl, te bool
	for len(raw) > 0 {
		n := bytes.IndexByte(raw, '\n')
		if n < 0 {
			return true
		}
		line := raw[:n]
		raw = raw[n+1:]
		if len(line) == 0 || line[len(line)-1] != '\r' {
			return false // bare LF
		}
		line = line[:len(line)-1]
		if len(line) == 0 {
			break // end of the header block
		}
		if line[0] == ' ' || line[0] == '\t' {
			return false // obs-fold
		}
		// A field name ends at its colon (RFC 9112 §5.1 allows no space
		// before it). Only two names matter; most lines differ from both
		// in their first letter.
		switch line[0] | 0x20 {
		case 'c':
			cl = cl || isField(line, headerCL)
		case 't':
			te = te || isField(line, headerTE)
		}
	}
	return !(cl && te)
}

// isField reports whether line is a field named name (lower case).
func isField(line, name []byte) bool {
	return len(line) > len(name) && line[len(name)] == ':' && bytes.EqualFold(line[:len(name)], name)
}

// allowedMethods are the methods edge serves: the methods of RFC 9110 a
// shop's pages and writes use. TRACE (which reflects headers, cookies
// included), CONNECT (tunnels) and extension or lower-case spellings
// ("get" is not GET, and a cache or origin may disagree on that) are
// refused with 405 before any route sees them.
const allowedMethods = "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS"

// requestLineOK checks the request line fasthttp parsed. It returns 0 for a
// request edge serves, else the status and reason to refuse it with:
//   - 505 for a protocol other than HTTP/1.1 or HTTP/1.0 (fasthttp serves
//     "HTTP/9.9" as HTTP/1.0);
//   - 405 for a method not in allowedMethods;
//   - 400 for an absolute-form target ("http://host/p") whose scheme is not
//     http or https or whose authority differs from the Host header: edge
//     is not a forward proxy, and such a target would make the Host the
//     origin sees differ from the host edge routes and caches by.
func requestLineOK(h *fasthttp.RequestHeader) (int, string) {
	switch string(h.Protocol()) {
	case "HTTP/1.1", "HTTP/1.0":
	default:
		return fasthttp.StatusHTTPVersionNotSupported, "http_version_not_supported"
	}
	switch string(h.Method()) {
	case fasthttp.MethodGet, fasthttp.MethodHead, fasthttp.MethodPost, fasthttp.MethodPut,
		fasthttp.MethodDelete, fasthttp.MethodPatch, fasthttp.MethodOptions:
	default:
		return fasthttp.StatusMethodNotAllowed, "method_not_allowed"
	}
	target := h.RequestURI()
	if len(target) == 0 || target[0] == '/' || (len(target) == 1 && target[0] == '*') {
		return 0, ""
	}
	i := bytes.Index(target, []byte("://"))
	if i < 0 {
		return fasthttp.StatusBadRequest, "bad_request"
	}
	scheme := target[:i]
	if !bytes.EqualFold(scheme, []byte("http")) && !bytes.EqualFold(scheme, []byte("https")) {
		return fasthttp.StatusBadRequest, "bad_request"
	}
	authority := target[i+3:]
	if j := bytes.IndexAny(authority, "/?#"); j >= 0 {
		authority = authority[:j]
	}
	if !bytes.EqualFold(authority, h.Host()) {
		return fasthttp.StatusBadRequest, "bad_request"
	}
	return 0, ""
}
