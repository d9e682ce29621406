// Command edge is a reverse-proxy gateway for flash sales: it caches whole
// responses, assembles ESI fragments and filters writes through a funnel so
// that only orders that can still succeed reach the shop.
//
//	edge -config FILE          serve
//	edge -check -config FILE   validate FILE, list every problem, exit 1 if any
//	edge -version              print the version
//
// SIGHUP reloads FILE (a bad file is logged and the running config stays);
// SIGTERM or SIGINT drains: stop accepting, finish in-flight requests within
// server.grace_period, exit 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"edge/internal/app"
	"edge/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "configs/edge.yaml", "configuration `file`")
	check := fs.Bool("check", false, "validate the configuration, list every problem and exit (1 if any)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "edge", buildVersion())
		return 0
	}
	cfg, err := config.Load(*path)
	if *check {
		return report(*path, err, stdout, stderr)
	}
	if err != nil {
		report(*path, err, stdout, stderr)
		return 1
	}
	log := newLogger(cfg.Log.Level, stderr)
	a, err := app.New(cfg, *path, buildVersion(), log)
	if err != nil {
		log.Error("cannot start", slog.String("error", err.Error()))
		return 1
	}
	if err := a.Listen(); err != nil {
		log.Error("cannot listen", slog.String("error", err.Error()))
		return 1
	}
	return serve(a, log)
}

// serve runs until SIGTERM/SIGINT, reloading on SIGHUP.
func serve(a *app.App, log *slog.Logger) int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	served := make(chan error, 1)
	go func() { served <- a.Serve() }()
	for {
		select {
		case err := <-served:
			if err != nil {
				log.Error("serving failed", slog.String("error", err.Error()))
				return 1
			}
			return 0
		case s := <-sigs:
			if s == syscall.SIGHUP {
				if err := a.Reload(); err != nil {
					log.Error("reload failed; the running config stays", slog.String("error", err.Error()))
				} else {
					log.Info("config reloaded")
				}
				continue
			}
			log.Info("draining", slog.String("signal", s.String()), slog.Duration("grace", a.GracePeriod()))
			ctx, cancel := context.WithTimeout(context.Background(), a.GracePeriod())
			err := a.Shutdown(ctx)
			cancel()
			if err != nil {
				log.Error("drain incomplete", slog.String("error", err.Error()))
				return 1
			}
			log.Info("stopped")
			return 0
		}
	}
}

// report prints the result of a config check: every problem on its own
// line (file:line: path: message), like nginx -t.
func report(path string, err error, stdout, stderr io.Writer) int {
	if err == nil {
		fmt.Fprintf(stdout, "%s: ok\n", path)
		return 0
	}
	problems := config.Problems(err)
	if len(problems) == 0 {
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
		return 1
	}
	for _, p := range problems {
		fmt.Fprintln(stderr, p.Error())
	}
	fmt.Fprintf(stderr, "%s: %d problem(s)\n", path, len(problems))
	return 1
}

func newLogger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
