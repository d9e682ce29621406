// Command shop runs the example shop backend: product pages with ESI
// fragments and an order endpoint, in memory or on PostgreSQL.
//
//	go run ./examples/shop -listen 127.0.0.1:9000
//	go run ./examples/shop -dsn postgres://postgres@127.0.0.1:5432/shop -reset -stock 42=200,43=50
//
// It stops gracefully on SIGINT or SIGTERM: requests in flight are answered
// (for up to -drain) before the database pool is closed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"edge/examples/shop/shop"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "shop:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("shop", flag.ContinueOnError)
	var (
		listen    = fs.String("listen", "127.0.0.1:9000", "address to serve HTTP on")
		dsn       = fs.String("dsn", os.Getenv("SHOP_DSN"), "PostgreSQL DSN (default $SHOP_DSN); empty keeps everything in memory")
		schema    = fs.String("schema", "", "PostgreSQL schema for the tables (created if missing)")
		reset     = fs.Bool("reset", false, "PostgreSQL: overwrite the stock of the -stock items at start")
		stockFlag = fs.String("stock", shop.FormatStock(shop.DefaultStock()), "initial stock, id=units,...")
		failRate  = fs.Float64("fail-rate", 0, "fraction of orders answered 500 without selling (0..1)")
		latency   = fs.Duration("latency", 0, "delay added to every order")
		pageAge   = fs.Duration("page-max-age", shop.DefaultPageMaxAge, "Cache-Control max-age of product pages")
		fragAge   = fs.Duration("fragment-max-age", shop.DefaultFragmentMaxAge, "Cache-Control max-age of price and stock fragments")
		drain     = fs.Duration("drain", 10*time.Second, "how long to wait for requests in flight at shutdown")
		logLevel  = fs.String("log-level", "info", "debug, info, warn or error")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	stock, err := shop.ParseStock(*stockFlag)
	if err != nil {
		return fmt.Errorf("-stock: %w", err)
	}

	srv, err := shop.New(shop.Options{
		DSN:            *dsn,
		Schema:         *schema,
		Reset:          *reset,
		Stock:          stock,
		FailRate:       *failRate,
		Latency:        *latency,
		PageMaxAge:     *pageAge,
		FragmentMaxAge: *fragAge,
		Logger:         log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		srv.Close()
		return fmt.Errorf("listen: %w", err)
	}
	mode := "memory"
	if *dsn != "" {
		mode = "postgres"
	}
	log.Info("shop serving", "addr", ln.Addr().String(), "mode", mode, "stock", *stockFlag,
		"fail_rate", *failRate, "latency", *latency)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		srv.Close()
		return err
	case <-ctx.Done():
	}
	stop() // a second signal kills at once
	log.Info("shop shutting down", "drain", *drain)
	dctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := srv.Shutdown(dctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	srv.Close()
	return <-served
}
