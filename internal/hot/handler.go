package hot

import (
	"encoding/json"

	"github.com/valyala/fasthttp"
)

// hotResponse is the body of GET /hot.
type hotResponse struct {
	Threshold float64 `json:"threshold_per_second"`
	CoolBelow float64 `json:"cool_below_per_second"`
	Window    float64 `json:"window_seconds"`
	Keys      []Entry `json:"keys"`
}

// Handler serves GET /hot on the admin listener: the threshold, the rate
// below which a hot key cools, the measuring window and the hot keys (local
// and remote, hottest first, at most hot.top) as JSON:
//
//	{"threshold_per_second":500,"cool_below_per_second":400,"window_seconds":1,
//	 "keys":[{"kind":"url","key":"http://shop/item/42","rate_per_second":5012,
//	          "since":"2026-12-12T00:00:01.2Z","source":"local"}]}
//
// Other methods than GET and HEAD get 405.
func (d *Detector) Handler() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if !ctx.IsGet() && !ctx.IsHead() {
			ctx.Response.Header.Set(fasthttp.HeaderAllow, "GET, HEAD")
			ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"error":"method_not_allowed"}`)
			return
		}
		t := d.Threshold()
		body, err := json.Marshal(hotResponse{
			Threshold: t,
			CoolBelow: coolFactor * t,
			Window:    window.Seconds(),
			Keys:      d.Top(),
		})
		if err != nil { // cannot happen: plain strings, finite numbers and times
			ctx.SetStatusCode(fasthttp.StatusInternalServerError)
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"error":"internal"}`)
			return
		}
		ctx.SetContentType("application/json")
		ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
		ctx.SetBody(body)
	}
}
