// Package app assembles one edge node from its config: metrics, the cache
// store, shared-state clients, the gateway and the two listeners (public and
// admin). cmd/edge is a thin shell around it; end-to-end tests run it
// in-process.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"edge/cachehttp"
	"edge/filter/orders"
	"edge/filter/queue"
	"edge/filter/quiz"
	"edge/filter/ratelimit"
	"edge/filter/stock"
	"edge/internal/admin"
	"edge/internal/config"
	"edge/internal/gateway"
	"edge/internal/metrics"
	"edge/internal/redisx"
	"edge/upstream"
)

// localLimiterKeys bounds the keys this node's rate limiter holds.
const localLimiterKeys = 1 << 20

// App is one running edge node.
type App struct {
	Log     *slog.Logger
	Metrics *metrics.Metrics
	Gateway *gateway.Gateway
	Admin   *admin.Server
	Cache   *cachehttp.Cache

	path    string
	version string
	rdb     redis.UniversalClient
	redisUp *redisx.Health
	stock   stock.Store
	ledger  *stock.Ledger
	deps    *gateway.Deps
	ctx     context.Context

	quizMetrics *quiz.Metrics
	quiz        atomic.Pointer[quizLive]
	orders      *asyncOrders
	cancel      context.CancelFunc

	public            *gateway.Server
	adminSrv          *fasthttp.Server
	publicLn, adminLn net.Listener

	draining atomic.Bool
	started  time.Time
	lastErr  atomic.Pointer[string]
	wg       sync.WaitGroup
	// serveMu orders Serve's start against Shutdown: the listeners' serving
	// goroutines are counted in wg before Shutdown waits, or not started
	// (shut is set).
	serveMu sync.Mutex
	shut    bool
}

// New builds a node from cfg (already loaded and validated) without
// listening yet. path is the config file, reread on Reload.
func New(cfg *config.Config, path, version string, log *slog.Logger) (*App, error) {
	ctx, cancel := context.WithCancel(context.Background())
	a := &App{Log: log, path: path, version: version, cancel: cancel, ctx: ctx, started: time.Now()}
	a.Metrics = metrics.New(version)
	reg := a.Metrics.Registry
	a.Cache = cachehttp.New(cfg.Cache, cachehttp.NewMetrics(reg))

	deps := &gateway.Deps{
		Log:      log,
		Metrics:  a.Metrics,
		Upstream: upstream.NewMetrics(reg),
		Cache:    a.Cache,
		ESI:      gateway.NewESIMetrics(reg),
		Stages: gateway.StageDeps{
			Local:     ratelimit.NewLocal(localLimiterKeys, time.Now),
			RateLimit: ratelimit.NewMetrics(reg),
			Stock:     stock.NewMetrics(reg),
			Queue:     queue.NewMetrics(reg),
		},
	}
	var store stock.Store = stock.NewMemory()
	if cfg.Redis != nil {
		redisx.RouteLogs(log)
		a.rdb = redisx.New(cfg.Redis)
		deps.Stages.Redis = a.rdb
		a.redisUp = redisx.NewHealth(a.rdb, cfg.Redis.Timeout.D(), log)
		reg.MustRegister(a.redisUp.Collector())
		go a.redisUp.Watch(ctx, 0)
		a.Cache.StartBus(ctx, a.rdb, cfg.Redis.Prefix+"purge", log)
		store = stock.NewRedis(a.rdb, stock.RedisOptions{Prefix: cfg.Redis.Prefix, Timeout: cfg.Redis.Timeout.D(), Log: log})
	}
	a.stock = store
	deps.Stages.Ledger = stock.NewLedger(store, deps.Stages.Stock, time.Now, log)
	a.quizMetrics = quiz.NewMetrics(reg)
	a.startHot(ctx, cfg, deps)
	a.deps = deps
	if err := a.ensureQuiz(ctx, cfg); err != nil {
		a.closeShared()
		return nil, err
	}
	a.orders = a.newOrders(cfg, reg, deps.Stages.Ledger)
	deps.Stages.Orders = a.orders.hub
	gw, err := gateway.New(cfg, deps)
	if err != nil {
		a.closeShared()
		return nil, err
	}
	a.Gateway = gw
	a.ledger = deps.Stages.Ledger
	gw.HandleEdge(stock.EdgePrefix, stock.StockHandler(a.ledger))
	gw.HandleEdge(quiz.IssuePath, a.quizHandler)
	// GET /_edge/orders/{ticket}: the ticket is the shopper's own.
	gw.HandleEdge(orders.EdgePrefix, a.orders.hub.Handler(gw.Shopper))
	a.Admin = admin.New(admin.Settings{Token: cfg.Admin.Token, GuardReads: cfg.Admin.GuardReads}, reg)
	a.registerAdmin()
	a.registerDashboard(ctx)
	a.public = gateway.NewServer(cfg.Server, gw.Handle, log)
	a.adminSrv = &fasthttp.Server{
		Handler:               a.Admin.Handler,
		Name:                  "edge-admin",
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           60 * time.Second,
		MaxRequestBodySize:    64 << 20, // quiz banks and stock tables are pushed here
		NoDefaultServerHeader: true,
		CloseOnShutdown:       true,
	}
	return a, nil
}

// Listen opens both listeners; it fails early when an address is taken.
func (a *App) Listen() error {
	cfg := a.Gateway.Config()
	var err error
	if a.publicLn, err = net.Listen("tcp", cfg.Listen); err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	if a.adminLn, err = net.Listen("tcp", cfg.Admin.Listen); err != nil {
		a.publicLn.Close()
		return fmt.Errorf("admin listen %s: %w", cfg.Admin.Listen, err)
	}
	return nil
}

// Addrs returns the bound public and admin addresses (after Listen).
func (a *App) Addrs() (public, adminAddr string) {
	return a.publicLn.Addr().String(), a.adminLn.Addr().String()
}

// Serve serves both listeners until Shutdown; it returns the first serving
// error other than a clean shutdown.
func (a *App) Serve() error {
	errc := make(chan error, 2)
	a.serveMu.Lock()
	if a.shut {
		a.serveMu.Unlock()
		return nil // shut down before it started
	}
	a.wg.Add(2)
	go func() { defer a.wg.Done(); errc <- a.public.Serve(a.publicLn) }()
	go func() { defer a.wg.Done(); errc <- a.adminSrv.Serve(a.adminLn) }()
	a.serveMu.Unlock()
	a.Log.Info("edge serving", slog.String("listen", a.publicLn.Addr().String()),
		slog.String("admin", a.adminLn.Addr().String()), slog.String("version", a.version))
	err := <-errc
	if err != nil && !a.draining.Load() {
		return err
	}
	return nil
}

// Reload rereads the config file and swaps in the new table. A file that
// does not load or build leaves the running config in place; the error
// lists every problem.
func (a *App) Reload() error {
	cfg, err := config.Load(a.path)
	if err == nil {
		err = a.apply(cfg)
	}
	if err != nil {
		// Counted before the error is shown, so that whoever sees the
		// error (the dashboard) also sees the count.
		a.Metrics.Reload(false, 0, 0)
		msg := err.Error()
		a.lastErr.Store(&msg)
		return err
	}
	a.lastErr.Store(nil)
	return nil
}

// apply swaps in cfg, warning about settings that need a restart.
func (a *App) apply(cfg *config.Config) error {
	old := a.Gateway.Config()
	if err := a.ensureQuiz(a.ctx, cfg); err != nil {
		return err
	}
	if err := a.Gateway.Load(cfg); err != nil {
		return err
	}
	a.deps.Hot.Reconfigure(cfg.Hot)
	a.Admin.SetSettings(admin.Settings{Token: cfg.Admin.Token, GuardReads: cfg.Admin.GuardReads})
	for _, s := range restartOnly(old, cfg) {
		a.Log.Warn("config change takes effect only after a restart", slog.String("setting", s))
	}
	return nil
}

// restartOnly names settings that changed but cannot change live.
func restartOnly(old, cfg *config.Config) []string {
	var out []string
	if old.Listen != cfg.Listen {
		out = append(out, "listen")
	}
	if old.Admin.Listen != cfg.Admin.Listen {
		out = append(out, "admin.listen")
	}
	if old.Server != cfg.Server {
		out = append(out, "server")
	}
	if !reflect.DeepEqual(old.Redis, cfg.Redis) {
		out = append(out, "redis")
	}
	return out
}

// Shutdown drains the node: readiness turns false, the public listener stops
// accepting, in-flight requests finish (up to the grace period), then the
// pools, Redis and the admin listener close.
func (a *App) Shutdown(ctx context.Context) error {
	a.serveMu.Lock()
	a.shut = true
	a.serveMu.Unlock()
	a.draining.Store(true)
	var errs []error
	// fasthttp closes only the listeners its Serve has registered: a
	// Shutdown that comes before Serve got that far would leave Serve
	// accepting for ever. The listeners are the App's; it closes them
	// first (fasthttp's second close only reports that it was closed).
	if a.publicLn != nil {
		_ = a.publicLn.Close()
	}
	if err := a.public.ShutdownWithContext(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
		errs = append(errs, fmt.Errorf("public listener: %w", err))
	}
	a.Gateway.Close(ctx)
	if a.adminLn != nil {
		_ = a.adminLn.Close()
	}
	if err := a.adminSrv.ShutdownWithContext(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
		errs = append(errs, fmt.Errorf("admin listener: %w", err))
	}
	a.wg.Wait()
	a.closeShared()
	return errors.Join(errs...)
}

func (a *App) closeShared() {
	a.cancel()
	a.orders.close()
	if a.stock != nil {
		a.stock.Close()
	}
	if a.rdb != nil {
		_ = a.rdb.Close()
	}
}

// GracePeriod is how long Shutdown should be given (server.grace_period).
func (a *App) GracePeriod() time.Duration {
	return a.Gateway.Config().Server.GracePeriod.D()
}
