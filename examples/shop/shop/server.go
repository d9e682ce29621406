package shop

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is the shop: its HTTP handler, its store and its counters. Build it
// with New; it is safe for concurrent use.
type Server struct {
	opts      Options
	store     store
	log       *slog.Logger
	counters  counters
	handler   http.Handler
	http      *http.Server
	closeOnce sync.Once
}

// New builds a shop from opts. With opts.DSN it connects to PostgreSQL,
// creates the tables if missing and seeds the stock, all within
// opts.ConnectTimeout; otherwise it keeps everything in memory.
func New(opts Options) (*Server, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, log: o.Logger}
	if o.DSN == "" {
		s.store = newMemStore(o.Stock)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), o.ConnectTimeout)
		defer cancel()
		st, err := newPGStore(ctx, o)
		if err != nil {
			return nil, err
		}
		s.store = st
	}
	s.handler = s.routes()
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleIndex)
	mux.HandleFunc("GET /item/{id}", s.handleItem)
	mux.HandleFunc("GET /frag/user", s.handleUserFragment)
	mux.HandleFunc("GET /frag/price/{id}", s.handlePriceFragment)
	mux.HandleFunc("GET /frag/stock/{id}", s.handleStockFragment)
	mux.HandleFunc("/order", s.handleOrder)
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /stats", s.handleStats)
	return mux
}

// Handler returns the shop's routes, for mounting in another net/http
// server or calling directly in tests:
//
//	GET  /                   index of the items on sale
//	GET  /item/{id}          product page with ESI tags (public, cacheable)
//	GET  /frag/user          "Hello, <user>" box (private, no-store)
//	GET  /frag/price/{id}    price fragment (public)
//	GET  /frag/stock/{id}    remaining stock fragment (public)
//	POST /order?item={id}    sell one unit (JSON answer)
//	GET  /healthz            "ok", or 503 when the database is unreachable
//	GET  /stats              order counters and stock (JSON)
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers HTTP requests on ln until Shutdown or Close, then returns
// nil; any other error from accepting is returned. It may be called for
// several listeners.
func (s *Server) Serve(ln net.Listener) error {
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Shutdown stops accepting requests, waits until the requests in flight are
// answered or ctx ends, then releases the store.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	s.closeStore()
	return err
}

// Close stops the server at once, dropping open connections, and releases
// the store. It is safe to call more than once and after Shutdown.
func (s *Server) Close() error {
	err := s.http.Close()
	s.closeStore()
	return err
}

func (s *Server) closeStore() { s.closeOnce.Do(s.store.Close) }

// dbContext bounds a store call made for request r.
func (s *Server) dbContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.opts.DBTimeout)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal_error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// writeJSONError answers {"error":"<reason>"}, never cached. reason is a
// fixed token, never error text.
func writeJSONError(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": reason})
}
