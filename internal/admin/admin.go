// Package admin is the operators' listener: health, readiness, metrics, the
// effective config, and (registered by other packages) the endpoints that
// change state. It runs on its own address, never on the public listener.
//
// Every endpoint has an access class. Open endpoints (/healthz, /readyz,
// /metrics) answer anyone who can reach the admin address. Read endpoints
// need the bearer token only when admin.guard_reads is set. Write endpoints
// always need `Authorization: Bearer <admin.token>`; with no token
// configured they are refused, never left open.
package admin

import (
	"crypto/subtle"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Access says who may call an endpoint.
type Access uint8

const (
	// Open endpoints need no token.
	Open Access = iota
	// Read endpoints need the token when guard_reads is on.
	Read
	// Write endpoints always need the token.
	Write
)

// Settings are the reloadable parts of the admin config.
type Settings struct {
	Token      string
	GuardReads bool
}

type endpoint struct {
	method string
	path   string
	prefix bool
	access Access
	h      fasthttp.RequestHandler
}

// Server routes admin requests. Register endpoints before serving; settings
// may change at any time (config reload).
type Server struct {
	settings atomic.Pointer[Settings]

	mu        sync.RWMutex
	endpoints []endpoint
}

// New returns an admin server with the given settings and the /metrics
// endpoint serving reg.
func New(s Settings, reg *prometheus.Registry) *Server {
	srv := &Server{}
	srv.SetSettings(s)
	metrics := fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		EnableOpenMetrics: false,
		ErrorHandling:     promhttp.ContinueOnError,
	}))
	srv.Handle("GET", "/metrics", Open, metrics)
	return srv
}

// SetSettings replaces the token and guard settings (config reload).
func (s *Server) SetSettings(st Settings) {
	s.settings.Store(&st)
}

// Handle registers h for an exact method and path.
func (s *Server) Handle(method, path string, a Access, h fasthttp.RequestHandler) {
	s.add(endpoint{method: method, path: path, access: a, h: h})
}

// HandlePrefix registers h for every path under prefix (e.g. "/stock/").
func (s *Server) HandlePrefix(method, prefix string, a Access, h fasthttp.RequestHandler) {
	s.add(endpoint{method: method, path: prefix, prefix: true, access: a, h: h})
}

func (s *Server) add(e endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endpoints = append(s.endpoints, e)
}

// Handler is the fasthttp handler of the admin listener.
func (s *Server) Handler(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	method := string(ctx.Method())
	if method == fasthttp.MethodHead {
		method = fasthttp.MethodGet
	}
	s.mu.RLock()
	var match *endpoint
	pathKnown := false
	for i := range s.endpoints {
		e := &s.endpoints[i]
		if e.path == path || (e.prefix && strings.HasPrefix(path, e.path)) {
			pathKnown = true
			if e.method == method {
				match = e
				break
			}
		}
	}
	s.mu.RUnlock()
	switch {
	case match == nil && pathKnown:
		JSONError(ctx, fasthttp.StatusMethodNotAllowed, "method_not_allowed")
		return
	case match == nil:
		JSONError(ctx, fasthttp.StatusNotFound, "not_found")
		return
	}
	if !s.allowed(ctx, match.access) {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="edge-admin"`)
		JSONError(ctx, fasthttp.StatusUnauthorized, "unauthorized")
		return
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	match.h(ctx)
}

// allowed checks the bearer token in constant time.
func (s *Server) allowed(ctx *fasthttp.RequestCtx, a Access) bool {
	st := s.settings.Load()
	if a == Open || (a == Read && !st.GuardReads) {
		return true
	}
	if st.Token == "" {
		return false
	}
	auth := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	const bearer = "Bearer "
	if len(auth) <= len(bearer) || !strings.EqualFold(string(auth[:len(bearer)]), bearer) {
		return false
	}
	return subtle.ConstantTimeCompare(auth[len(bearer):], []byte(st.Token)) == 1
}

// JSONError writes {"error":"<reason>"} with status. reason is a fixed token.
func JSONError(ctx *fasthttp.RequestCtx, status int, reason string) {
	ctx.Response.Reset()
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBodyString(`{"error":"` + reason + `"}`)
}
