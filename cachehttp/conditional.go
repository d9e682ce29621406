package cachehttp

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// notModified evaluates If-None-Match (weak comparison, "*" matches), or
// when absent If-Modified-Since, against a stored 200 (RFC 9110 §13.2.2).
func notModified(h *fasthttp.RequestHeader, e *Entry) bool {
	if inm := h.PeekCanonical(hdrIfNoneMatch); len(inm) > 0 {
		return etagListMatch(inm, e.etag, false)
	}
	ims := h.PeekCanonical(hdrIfModifiedSince)
	if len(ims) == 0 || e.modTime == 0 {
		return false
	}
	t, err := fasthttp.ParseHTTPDate(ims)
	return err == nil && e.modTime <= t.Unix()
}

// etagListMatch reports whether a comma-separated list of entity tags (or
// "*") matches etag. strong refuses weak tags on either side.
func etagListMatch(list, etag []byte, strong bool) bool {
	if len(etag) == 0 {
		return false
	}
	if len(bytes.TrimSpace(list)) == 1 && bytes.TrimSpace(list)[0] == '*' {
		return true
	}
	weakE := bytes.HasPrefix(etag, []byte("W/"))
	if strong && weakE {
		return false
	}
	opaque := bytes.TrimPrefix(etag, []byte("W/"))
	for len(list) > 0 {
		var t []byte
		if i := bytes.IndexByte(list, ','); i >= 0 {
			t, list = list[:i], list[i+1:]
		} else {
			t, list = list, nil
		}
		t = bytes.TrimSpace(t)
		if bytes.HasPrefix(t, []byte("W/")) {
			if strong {
				continue
			}
			t = t[2:]
		}
		if bytes.Equal(t, opaque) {
			return true
		}
	}
	return false
}

// ifRangeHolds evaluates If-Range: absent, or a strong match of the ETag,
// or exactly the stored Last-Modified. Otherwise Range is ignored and the
// whole body is sent.
func ifRangeHolds(ir []byte, e *Entry) bool {
	ir = bytes.TrimSpace(ir)
	if len(ir) == 0 {
		return true
	}
	if ir[0] == '"' || bytes.HasPrefix(ir, []byte("W/")) {
		return etagListMatch(ir, e.etag, true)
	}
	return len(e.lastMod) > 0 && bytes.Equal(ir, e.lastMod)
}

// writeRange answers a single "bytes=" range of the identity body with 206,
// or an unsatisfiable one with 416. It reports false (send the whole body)
// for anything else: another unit, several ranges, a malformed spec.
func writeRange(ctx *fasthttp.RequestCtx, e *Entry, spec []byte) bool {
	start, end, ok := parseRange(spec, len(e.body))
	h := &ctx.Response.Header
	switch ok {
	case rangeIgnore:
		return false
	case rangeUnsatisfiable:
		h.SetStatusCode(fasthttp.StatusRequestedRangeNotSatisfiable)
		h.SetContentEncodingBytes(nil)
		h.SetBytesV(fasthttp.HeaderContentRange, fasthttp.AppendUint([]byte("bytes */"), len(e.body)))
		ctx.Response.ResetBody()
		return true
	}
	h.SetStatusCode(fasthttp.StatusPartialContent)
	h.SetContentRange(start, end, len(e.body))
	ctx.Response.SetBodyRaw(e.body[start : end+1])
	return true
}

type rangeResult uint8

const (
	rangeOK rangeResult = iota
	rangeIgnore
	rangeUnsatisfiable
)

// parseRange reads "bytes=a-b", "bytes=a-" or "bytes=-n" for a body of size
// bytes.
func parseRange(spec []byte, size int) (start, end int, res rangeResult) {
	spec = bytes.TrimSpace(spec)
	const unit = "bytes="
	if len(spec) < len(unit) || !eqFold(spec[:len(unit)], unit) {
		return 0, 0, rangeIgnore
	}
	spec = bytes.TrimSpace(spec[len(unit):])
	if bytes.IndexByte(spec, ',') >= 0 {
		return 0, 0, rangeIgnore // several ranges: the whole body is simpler and allowed
	}
	dash := bytes.IndexByte(spec, '-')
	if dash < 0 {
		return 0, 0, rangeIgnore
	}
	first, last := bytes.TrimSpace(spec[:dash]), bytes.TrimSpace(spec[dash+1:])
	switch {
	case len(first) == 0: // suffix: the last n bytes
		n, ok := parseDigits(last)
		if !ok {
			return 0, 0, rangeIgnore
		}
		if n == 0 || size == 0 {
			return 0, 0, rangeUnsatisfiable
		}
		return max(size-n, 0), size - 1, rangeOK
	default:
		a, ok := parseDigits(first)
		if !ok {
			return 0, 0, rangeIgnore
		}
		b := size - 1
		if len(last) > 0 {
			if b, ok = parseDigits(last); !ok || b < a {
				return 0, 0, rangeIgnore
			}
		}
		if a >= size {
			return 0, 0, rangeUnsatisfiable
		}
		return a, min(b, size-1), rangeOK
	}
}

// parseDigits reads a non-negative decimal, saturating far above any body.
func parseDigits(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < 1<<40 {
			n = n*10 + int(c-'0')
		}
	}
	return n, true
}
