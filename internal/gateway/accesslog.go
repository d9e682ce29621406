package gateway

import (
	"context"
	"log/slog"
	"time"

	"github.com/valyala/fasthttp"

	"edge/filter"
)

// logAccess writes one JSON line for an answered request. It runs only when
// log.access is on; it allocates, which is why it is optional.
func (t *Table) logAccess(ctx *fasthttp.RequestCtx, r *Route, st *filter.State, status int, elapsed time.Duration, log *slog.Logger) {
	attrs := make([]slog.Attr, 0, 12)
	route, upstreamName := "", ""
	if r != nil {
		route, upstreamName = r.name, r.pool.Name()
	}
	attrs = append(attrs,
		slog.String("route", route),
		slog.String("method", string(ctx.Method())),
		slog.String("path", string(ctx.Path())),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		slog.Int("bytes", len(ctx.Response.Body())),
		slog.String("upstream", upstreamName),
	)
	if c := ctx.Response.Header.Peek("X-Cache"); len(c) > 0 {
		attrs = append(attrs, slog.String("cache", string(c)))
	}
	if st != nil {
		attrs = append(attrs, slog.String("client", st.ClientIP.String()))
		if st.Reason != "" {
			attrs = append(attrs, slog.String("stage", st.Stage), slog.String("reason", st.Reason))
		}
	}
	log.LogAttrs(context.Background(), slog.LevelInfo, "access", attrs...)
}
