// Package upstream sends requests to origin servers: named pools of servers
// with their own balancing, retries, active health checks and passive
// ejection (pool.go, server.go, health.go), a transport on fasthttp's
// connection pools that buffers small bodies and streams large ones
// (transport.go, stream.go), the forwarding hygiene of a reverse proxy
// (forward.go, hopbyhop.go) and the mapping of failures to 502/503/504
// (errors.go).
package upstream

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"
)

// Defaults applied to zero config values (config.Load normally fills them;
// see config.Upstream for the meaning of each).
const (
	DefaultConnectTimeout      = time.Second            // connect_timeout
	DefaultTimeout             = 3 * time.Second        // timeout: response head (and buffered body)
	DefaultWriteTimeout        = 3 * time.Second        // write_timeout
	DefaultMaxConns            = 512                    // max_conns, per server
	DefaultMaxConnWait         = 100 * time.Millisecond // max_conn_wait, then 503
	DefaultMaxIdleConnDuration = 10 * time.Second       // max_idle_conn_duration
	DefaultMaxResponseSize     = 64 << 20               // max_response_size in bytes, then 502
	DefaultRetries             = 1                      // retries of idempotent requests
	DefaultMaxFails            = 5                      // passive.max_fails; 0 turns passive ejection off
	DefaultEjectFor            = 10 * time.Second       // passive.eject_for
	DefaultHealthPath          = "/healthz"             // health_check.path
	DefaultHealthInterval      = 2 * time.Second        // health_check.interval
	DefaultHealthTimeout       = time.Second            // health_check.timeout
	DefaultHealthFails         = 2                      // health_check.fails
	DefaultHealthPasses        = 2                      // health_check.passes
)

// Pool is one named upstream: its servers, balancing, retries and health.
// It is safe for concurrent use. Build it with NewPool, call Start to begin
// active health checks, Close when a reload replaced it.
type Pool struct {
	name    string
	servers []*server
	log     *slog.Logger
	m       *Metrics
	pm      poolMetrics
	now     func() time.Time

	timeout  time.Duration
	retries  int
	maxFails int
	ejectFor time.Duration
	health   *healthConfig // nil: no active checks

	rr      atomic.Uint32
	ejected atomic.Int32 // servers with a passive ejection (incl. half-open)

	startOnce sync.Once
	closeOnce sync.Once
	closed    atomic.Bool
	done      chan struct{}
	wg        sync.WaitGroup
}

// Option adjusts NewPool; production code needs none.
type Option func(*options)

type options struct {
	dial Dialer
	now  func() time.Time
}

// WithDialer replaces the TCP dialer (tests dial in-memory listeners).
func WithDialer(d Dialer) Option { return func(o *options) { o.dial = d } }

// WithClock replaces time.Now for passive ejection (tests move time).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// NewPool builds the pool called name from cfg. m may be shared by every
// pool of the process (nil: unregistered metrics); log nil discards. Zero
// config values take the Default* values. It fails when cfg has no servers
// or a server address is not host:port.
func NewPool(name string, cfg *config.Upstream, m *Metrics, log *slog.Logger, opts ...Option) (*Pool, error) {
	if cfg == nil {
		return nil, errors.New("upstream: nil config")
	}
	if len(cfg.Servers) == 0 {
		return nil, fmt.Errorf("upstream %q: no servers", name)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.dial == nil {
		o.dial = defaultDialer()
	}
	if o.now == nil {
		o.now = time.Now
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pool{
		name:     name,
		log:      log,
		m:        m,
		pm:       m.forPool(name),
		now:      o.now,
		timeout:  orDur(cfg.Timeout.D(), DefaultTimeout),
		retries:  DefaultRetries,
		maxFails: DefaultMaxFails,
		ejectFor: orDur(cfg.Passive.EjectFor.D(), DefaultEjectFor),
		done:     make(chan struct{}),
	}
	if cfg.Retries != nil {
		p.retries = max(*cfg.Retries, 0)
	}
	if cfg.Passive.MaxFails != nil {
		p.maxFails = *cfg.Passive.MaxFails
	}
	if cfg.HealthCheck != nil {
		p.health = newHealthConfig(cfg.HealthCheck, cfg.Host)
	}
	connect := orDur(cfg.ConnectTimeout.D(), DefaultConnectTimeout)
	dial := dialFunc(o.dial, connect)
	maxBody := int(cfg.MaxResponseSize)
	if maxBody <= 0 {
		maxBody = DefaultMaxResponseSize
	}
	for i, addr := range cfg.Servers {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("upstream %q: server %q: %w", name, addr, err)
		}
		s := &server{
			addr:         addr,
			index:        i,
			writeTimeout: orDur(cfg.WriteTimeout.D(), DefaultWriteTimeout),
			maxBody:      maxBody,
		}
		s.hc = &fasthttp.HostClient{
			Addr:                      addr,
			DialTimeout:               dial,
			MaxConns:                  orInt(cfg.MaxConns, DefaultMaxConns),
			MaxConnWaitTimeout:        orDur(cfg.MaxConnWait.D(), DefaultMaxConnWait),
			MaxIdleConnDuration:       orDur(cfg.MaxIdleConnDuration.D(), DefaultMaxIdleConnDuration),
			ReadTimeout:               p.timeout,
			WriteTimeout:              s.writeTimeout,
			MaxResponseBodySize:       maxBody,
			ReadBufferSize:            readBufferSize,
			NoDefaultUserAgentHeader:  true,
			DisablePathNormalizing:    true,
			SecureErrorLogMessage:     true,
			MaxIdemponentCallAttempts: 1,
			RetryIf:                   neverRetry,
			RetryIfErr:                neverRetryErr,
		}
		if p.health != nil {
			s.probe = p.health.client(addr, dial)
		}
		p.servers = append(p.servers, s)
	}
	m.adopt(p)
	return p, nil
}

func neverRetry(*fasthttp.Request) bool { return false }

func neverRetryErr(*fasthttp.Request, int, error) (bool, bool) { return false, false }

func orDur(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func orInt(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// Name returns the pool's name.
func (p *Pool) Name() string { return p.name }

// Start begins active health checks when the pool has them; without, it
// does nothing. Calling it again, or after Close, does nothing.
func (p *Pool) Start() {
	p.startOnce.Do(func() {
		if p.health == nil || p.closed.Load() {
			return
		}
		for _, s := range p.servers {
			p.wg.Add(1)
			go p.healthLoop(s)
		}
	})
}

// Close stops the health checks (waiting for a probe in progress, at most
// the probe timeout) and closes idle connections. Requests in flight
// finish normally; Do keeps working for late callers. Idempotent.
func (p *Pool) Close() {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		close(p.done)
		p.wg.Wait()
		for _, s := range p.servers {
			s.hc.CloseIdleConnections()
			if s.probe != nil {
				s.probe.CloseIdleConnections()
			}
		}
		p.m.release(p)
	})
}

// Healthy counts the servers currently taking traffic: in by active checks
// and not passively ejected (a half-open server counts).
func (p *Pool) Healthy() int {
	now := p.now().UnixNano()
	n := 0
	for _, s := range p.servers {
		if !s.down.Load() && !s.ejectedAt(now) {
			n++
		}
	}
	return n
}

// Status describes every server, in configuration order.
func (p *Pool) Status() []ServerStatus {
	now := p.now().UnixNano()
	out := make([]ServerStatus, len(p.servers))
	for i, s := range p.servers {
		out[i] = ServerStatus{
			Addr:     s.addr,
			Healthy:  !s.down.Load(),
			Ejected:  s.ejectedAt(now),
			InFlight: int(s.inflight.Load()),
			Fails:    int(s.fails.Load()),
		}
	}
	return out
}

// publish refreshes the healthy-servers gauge (no-op once closed).
func (p *Pool) publish() {
	if !p.closed.Load() {
		p.m.publish(p)
	}
}
