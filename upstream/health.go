package upstream

import (
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"
)

// healthConfig is a pool's active health check with defaults applied.
type healthConfig struct {
	path     string
	host     string // Host header of probes; "" = the server address
	interval time.Duration
	timeout  time.Duration
	fails    int
	passes   int
}

// probeBodyLimit bounds a health endpoint's answer.
const probeBodyLimit = 1 << 20

func newHealthConfig(c *config.HealthCheck, host string) *healthConfig {
	h := &healthConfig{
		path:     c.Path,
		host:     host,
		interval: orDur(c.Interval.D(), DefaultHealthInterval),
		timeout:  orDur(c.Timeout.D(), DefaultHealthTimeout),
		fails:    orInt(c.Fails, DefaultHealthFails),
		passes:   orInt(c.Passes, DefaultHealthPasses),
	}
	if h.path == "" {
		h.path = DefaultHealthPath
	}
	return h
}

// client builds the probe client of one server: its own connection (probes
// never wait behind traffic for a free one), one attempt, a fresh
// connection per probe so that each probe also proves the server accepts
// connections.
func (h *healthConfig) client(addr string, dial fasthttp.DialFuncWithTimeout) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                      addr,
		DialTimeout:               dial,
		MaxConns:                  1,
		ReadTimeout:               h.timeout,
		WriteTimeout:              h.timeout,
		MaxResponseBodySize:       probeBodyLimit,
		NoDefaultUserAgentHeader:  true,
		DisablePathNormalizing:    true,
		SecureErrorLogMessage:     true,
		MaxIdemponentCallAttempts: 1,
		RetryIf:                   neverRetry,
		RetryIfErr:                neverRetryErr,
	}
}

// healthLoop probes s now and then every interval until the pool closes.
func (p *Pool) healthLoop(s *server) {
	defer p.wg.Done()
	t := time.NewTicker(p.health.interval)
	defer t.Stop()
	for {
		p.probeOnce(s)
		select {
		case <-p.done:
			return
		case <-t.C:
		}
	}
}

// probeOnce sends one GET to the health path: a 2xx or 3xx answer within
// the timeout passes. fails consecutive failures take the server out,
// passes consecutive passes bring it back.
func (p *Pool) probeOnce(s *server) {
	h := p.health
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	req.Header.SetMethod(fasthttp.MethodGet)
	req.SetRequestURI(h.path)
	if h.host != "" {
		req.Header.SetHost(h.host)
	} else {
		req.Header.SetHost(s.addr)
	}
	req.Header.SetUserAgent("edge-health-check")
	req.SetConnectionClose()
	err := s.probe.DoTimeout(req, resp, h.timeout)
	status := resp.StatusCode()
	fasthttp.ReleaseRequest(req)
	fasthttp.ReleaseResponse(resp)

	ok := err == nil && status >= 200 && status < 400
	if ok {
		s.probeFails = 0
		s.probePasses++
		if s.down.Load() && s.probePasses >= h.passes {
			s.resetPassive(p)
			s.down.Store(false)
			p.log.Info("upstream server back in rotation", "upstream", p.name, "server", s.addr,
				"reason", "active", "passes", s.probePasses)
			p.publish()
		}
		return
	}
	s.probePasses = 0
	s.probeFails++
	if !s.down.Load() && s.probeFails >= h.fails {
		s.down.Store(true)
		p.pm.ejectedActive.Inc()
		attrs := []any{"upstream", p.name, "server", s.addr, "reason", "active", "fails", s.probeFails}
		if err != nil {
			attrs = append(attrs, "error", ErrorKind(err), "cause", err.Error())
		} else {
			attrs = append(attrs, "status", status)
		}
		p.log.Warn("upstream server down", attrs...)
		p.publish()
	}
}
