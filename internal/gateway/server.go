package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/valyala/fasthttp"

	"edge/filter"
	"edge/internal/config"
	"edge/internal/conntimeout"
)

// Server is the public listener's fasthttp server. Its read, write and idle
// timeouts are kept by the listener Serve wraps (internal/conntimeout), not
// by socket deadlines fasthttp would re-arm three times per request; the
// fasthttp server itself is not exposed, so that nothing serves without
// that listener.
type Server struct {
	srv      *fasthttp.Server
	timeouts conntimeout.Timeouts
}

// Serve serves ln, every connection within the configured timeouts. When
// it returns, the sweeper stops once the last connection is closed.
func (s *Server) Serve(ln net.Listener) error {
	w := conntimeout.Wrap(ln, s.timeouts)
	defer w.Close()
	return s.srv.Serve(w)
}

// ShutdownWithContext stops accepting and waits for the open connections
// as fasthttp.Server.ShutdownWithContext does.
func (s *Server) ShutdownWithContext(ctx context.Context) error {
	return s.srv.ShutdownWithContext(ctx)
}

// NewServer returns the public server for cfg.Server, serving h. Limits and
// timeouts come from the config; malformed requests get a 4xx JSON answer
// from ErrorHandler and never reach a route, and requests whose framing is
// ambiguous (see guardFraming) get 400 before h sees them.
func NewServer(cfg config.Server, h fasthttp.RequestHandler, log *slog.Logger) *Server {
	t := conntimeout.Timeouts{Read: cfg.ReadTimeout.D(), Write: cfg.WriteTimeout.D(), Idle: cfg.IdleTimeout.D()}
	return &Server{timeouts: t, srv: &fasthttp.Server{
		// Where requests start and responses end, for the timeouts.
		ConnState:             conntimeout.ConnState,
		Handler:               guardFraming(h),
		HeaderReceived:        framingHeaderReceived,
		ErrorHandler:          errorHandler,
		Name:                  "",
		NoDefaultServerHeader: true,
		NoDefaultDate:         false,
		ReadBufferSize:        int(cfg.MaxHeaderSize),
		// A product page of a few KiB goes out in one write(2) instead of
		// two with fasthttp's default 4 KiB buffer: measurably less CPU per
		// cache hit (bench/README.md).
		WriteBufferSize:    writeBufferSize,
		MaxRequestBodySize: int(cfg.MaxBodySize),
		Concurrency:        cfg.MaxConns,
		CloseOnShutdown:    true,
		// Bodies are forwarded as sent; edge never parses multipart itself.
		DisablePreParseMultipartForm: true,
		// Responses from the origin carry their own Content-Type; edge must
		// not invent one.
		NoDefaultContentType: true,
		// Header names are normalised (Content-Type, X-Edge-Hot): the
		// gateway looks some up with PeekCanonical (X-Edge-Hot, which a
		// client must not set, and X-Forwarded-Proto), and the cache stores
		// origin names as normalised.
		DisableHeaderNamesNormalizing: false,
		Logger:                        slogPrinter{log},
	}}
}

// writeBufferSize is the per-connection response buffer of the public
// listener.
const writeBufferSize = 16 << 10

// errorHandler answers requests fasthttp could not parse: 413 for a body
// over the limit, 431 for headers over the buffer, 408 for a client too slow
// to send its request, 400 otherwise. No parser text reaches the client.
func errorHandler(ctx *fasthttp.RequestCtx, err error) {
	var (
		status = fasthttp.StatusBadRequest
		reason = "bad_request"
	)
	var netErr net.Error
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, reason = fasthttp.StatusRequestEntityTooLarge, "body_too_large"
	case errors.As(err, &small):
		status, reason = fasthttp.StatusRequestHeaderFieldsTooLarge, "header_too_large"
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		status, reason = fasthttp.StatusRequestTimeout, "request_timeout"
	}
	filter.Reject(ctx, nil, "server", status, reason, 0)
	ctx.SetConnectionClose()
}

// slogPrinter adapts slog to fasthttp's Logger.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, args ...any) {
	p.log.Debug("fasthttp", slog.String("msg", fmt.Sprintf(format, args...)))
}
