package filter

import (
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// Reject writes a refusal: status, optional Retry-After (rounded up to whole
// seconds, at least 1) and the JSON body {"error":"<reason>"}. reason must be
// a fixed token from the refusal vocabulary, never client or error text.
func Reject(ctx *fasthttp.RequestCtx, st *State, stage string, status int, reason string, retryAfter time.Duration) Verdict {
	ctx.Response.Reset()
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	if retryAfter > 0 {
		secs := int64((retryAfter + time.Second - 1) / time.Second)
		ctx.Response.Header.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	ctx.Response.AppendBodyString(`{"error":"`)
	ctx.Response.AppendBodyString(reason)
	ctx.Response.AppendBodyString(`"}`)
	if st != nil {
		st.Stage, st.Reason = stage, reason
	}
	return Rejected
}
