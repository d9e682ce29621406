package app

import (
	"net/http/pprof"

	"github.com/valyala/fasthttp/fasthttpadaptor"

	"edge/internal/admin"
)

// registerPprof serves Go's profiler under /debug/pprof/ on the admin
// listener, behind the token (profiles show code paths and memory): how
// the figures in bench/README.md are explained.
func (a *App) registerPprof() {
	a.Admin.Handle("GET", "/debug/pprof/profile", admin.Write, fasthttpadaptor.NewFastHTTPHandlerFunc(pprof.Profile))
	a.Admin.Handle("GET", "/debug/pprof/trace", admin.Write, fasthttpadaptor.NewFastHTTPHandlerFunc(pprof.Trace))
	a.Admin.Handle("GET", "/debug/pprof/symbol", admin.Write, fasthttpadaptor.NewFastHTTPHandlerFunc(pprof.Symbol))
	// Named profiles (heap, goroutine, allocs...) last: the admin router
	// takes the first registered match.
	a.Admin.HandlePrefix("GET", "/debug/pprof/", admin.Write, fasthttpadaptor.NewFastHTTPHandlerFunc(pprof.Index))
}
