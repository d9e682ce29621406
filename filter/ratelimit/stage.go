package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"edge/filter"
	"edge/internal/config"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// Limit keys: what a limit counts requests per.
const (
	PerIP    = "ip"    // the client address (IPv6: its /64)
	PerUser  = "user"  // the shopper id; the client address when there is none
	PerItem  = "item"  // the item id; requests without one share one bucket
	PerRoute = "route" // one bucket for the whole route
)

// OnError values: what a stage does when Redis cannot decide.
const (
	// OnErrorClosed refuses with 503 {"error":"unavailable"}, Retry-After 1.
	OnErrorClosed = "closed"
	// OnErrorOpen lets this node's local engine decide.
	OnErrorOpen = "open"
)

// errorLogEvery bounds how often a stage logs Redis failures.
const errorLogEvery = 10 * time.Second

// Stage applies a route's rate limits, in order; the first refusal ends the
// request with 429, Retry-After (seconds until the next request would pass,
// rounded up), the RateLimit-Policy and RateLimit fields and
// {"error":"rate_limited"}; later limits and stages are not consulted. It is
// the funnel stage named "ratelimit".
//
// With a Redis engine every decision is made in Redis. When Redis fails (or
// its circuit is open, see Redis), on_error "closed" answers 503
// {"error":"unavailable"} with Retry-After 1, and "open" lets the local
// engine decide, so each node then enforces the limit on its own share of the
// traffic. Either way the failure is counted and logged at most once per 10
// seconds per route, and the next decision tries Redis again.
type Stage struct {
	route    string
	limits   []limit
	local    *Local
	remote   *Redis
	failOpen bool
	m        *Metrics
	log      *slog.Logger

	nextLog    atomic.Int64 // unix ns before which failures are not logged
	suppressed atomic.Int64 // failures not logged since the last line
}

var _ filter.Stage = (*Stage)(nil)

// limit is one compiled config.RateLimit.
type limit struct {
	per     string
	lim     Limit
	ns      uint64
	tag     string // "{rl:<route>:<per>[.n]:" — Redis key up to the id
	policy  string // RateLimit-Policy value
	name    string // policy name in the RateLimit header, quoted
	allowed prometheus.Counter
	limited prometheus.Counter
	errored prometheus.Counter
}

// NewStage compiles the limits of route. local decides when there is no
// Redis (remote nil) or, with onError "open", when Redis fails; it may be nil
// only with a remote engine and onError "closed". onError "" means "closed".
// m may be nil (unregistered metrics); log nil means slog.Default.
//
// Redis keys are prefix + "{rl:<route>:<per>:<id>}"; a second limit of the
// same kind on one route gets "<per>.2", a third "<per>.3" and so on, so
// every limit has its own bucket. Ids are the address (IPv6: its /64
// network), "u:<user id>" or "ip:<address>" for per-user limits, the item id,
// or nothing for per-route limits.
func NewStage(route string, limits []*config.RateLimit, local *Local, remote *Redis, onError string, m *Metrics, log *slog.Logger) (*Stage, error) {
	switch onError {
	case "":
		onError = OnErrorClosed
	case OnErrorClosed, OnErrorOpen:
	default:
		return nil, fmt.Errorf("ratelimit: route %q: on_error %q: want closed or open", route, onError)
	}
	if local == nil && (remote == nil || onError == OnErrorOpen) {
		return nil, fmt.Errorf("ratelimit: route %q: a local engine is needed without redis or with on_error open", route)
	}
	if len(limits) == 0 {
		return nil, fmt.Errorf("ratelimit: route %q: no limits", route)
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	if log == nil {
		log = slog.Default()
	}
	m.track(local)
	s := &Stage{route: route, local: local, remote: remote, failOpen: onError == OnErrorOpen, m: m, log: log}
	seen := map[string]int{}
	for i, rl := range limits {
		if rl == nil {
			return nil, fmt.Errorf("ratelimit: route %q: limit %d is empty", route, i)
		}
		switch rl.Per {
		case PerIP, PerUser, PerItem, PerRoute:
		default:
			return nil, fmt.Errorf("ratelimit: route %q: limit %d: per %q: want ip, user, item or route", route, i, rl.Per)
		}
		rate := rl.Rate.PerSecond()
		if !(rate > 0) {
			return nil, fmt.Errorf("ratelimit: route %q: limit %d: rate must be above zero", route, i)
		}
		burst := rl.Burst
		if burst <= 0 {
			burst = int(max(1, math.Min(math.Ceil(rate), math.MaxInt32)))
		}
		seen[rl.Per]++
		name := rl.Per
		if n := seen[rl.Per]; n > 1 {
			name += "." + strconv.Itoa(n)
		}
		lim := Limit{Rate: rate, Burst: burst}
		s.limits = append(s.limits, limit{
			per:     rl.Per,
			lim:     lim,
			ns:      Namespace(route + "\x00" + name),
			tag:     "{rl:" + route + ":" + name + ":",
			policy:  strconv.Quote(name) + ";q=" + strconv.Itoa(burst) + ";w=" + strconv.FormatInt(lim.window(), 10),
			name:    strconv.Quote(name),
			allowed: m.decisions.WithLabelValues(route, rl.Per, "allowed"),
			limited: m.decisions.WithLabelValues(route, rl.Per, "limited"),
			errored: m.decisions.WithLabelValues(route, rl.Per, "error"),
		})
	}
	return s, nil
}

// Name returns "ratelimit".
func (s *Stage) Name() string { return "ratelimit" }

// Handle checks every limit in order and refuses the request at the first
// one that is exhausted.
func (s *Stage) Handle(ctx *fasthttp.RequestCtx, st *filter.State) filter.Verdict {
	for i := range s.limits {
		l := &s.limits[i]
		d, err := s.decide(st, l)
		if err != nil {
			l.errored.Inc()
			return filter.Reject(ctx, st, s.Name(), fasthttp.StatusServiceUnavailable, "unavailable", time.Second)
		}
		if !d.Allowed {
			l.limited.Inc()
			return s.refuse(ctx, st, l, d)
		}
		l.allowed.Inc()
	}
	return filter.Continue
}

// decide asks Redis when there is one, else (or on failure with on_error
// open) the local engine. An error means the request must be refused.
func (s *Stage) decide(st *filter.State, l *limit) (Decision, error) {
	if s.remote == nil {
		return s.local.Allow(s.localKey(st, l), l.lim), nil
	}
	var buf [256]byte
	d, err := s.remote.Allow(context.Background(), s.redisKey(buf[:0], st, l), l.lim)
	if err == nil {
		return d, nil
	}
	s.m.redisErrors.Inc()
	s.logFailure(err)
	if s.failOpen {
		return s.local.Allow(s.localKey(st, l), l.lim), nil
	}
	return Decision{}, err
}

func (s *Stage) localKey(st *filter.State, l *limit) Key {
	switch l.per {
	case PerIP:
		return AddrKey(l.ns, st.ClientIP)
	case PerUser:
		if len(st.User) == 0 {
			return AddrKey(l.ns, st.ClientIP)
		}
		return BytesKey(l.ns, st.User)
	case PerItem:
		return BytesKey(l.ns, st.Item)
	}
	return NamespaceKey(l.ns)
}

// redisKey appends the bucket's Redis key (without the engine's prefix).
func (s *Stage) redisKey(b []byte, st *filter.State, l *limit) []byte {
	b = append(b, l.tag...)
	switch l.per {
	case PerIP:
		b = appendAddr(b, st.ClientIP)
	case PerUser:
		if len(st.User) == 0 {
			b = appendAddr(append(b, "ip:"...), st.ClientIP)
		} else {
			b = append(append(b, "u:"...), st.User...)
		}
	case PerItem:
		b = append(b, st.Item...)
	}
	return append(b, '}')
}

// appendAddr appends an IPv4 address, or an IPv6 address's /64 network.
func appendAddr(b []byte, a netip.Addr) []byte {
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.WithZone("").Prefix(64); err == nil {
			return p.AppendTo(b)
		}
	}
	return a.AppendTo(b)
}

// refuse writes the 429 with Retry-After and the RateLimit header fields of
// draft-ietf-httpapi-ratelimit-headers-10 (September 2025):
//
//	RateLimit-Policy: "ip";q=40;w=2
//	RateLimit: "ip";r=0;t=2
//
// The policy is named after the limit that refused (ip, user, item, route;
// "ip.2" for a second per-ip limit), q is the burst and w the seconds a
// drained bucket takes to refill; r is what remains and t the seconds until
// the bucket is full again.
func (s *Stage) refuse(ctx *fasthttp.RequestCtx, st *filter.State, l *limit, d Decision) filter.Verdict {
	v := filter.Reject(ctx, st, s.Name(), fasthttp.StatusTooManyRequests, "rate_limited", d.RetryAfter)
	h := &ctx.Response.Header
	h.Set("RateLimit-Policy", l.policy)
	var buf [64]byte
	b := append(buf[:0], l.name...)
	b = append(b, ";r="...)
	b = strconv.AppendInt(b, int64(d.Remaining), 10)
	b = append(b, ";t="...)
	b = strconv.AppendInt(b, ceilSeconds(d.ResetAfter), 10)
	h.SetBytesV("RateLimit", b)
	return v
}

// logFailure logs a Redis failure at most once per errorLogEvery per stage,
// with the number of failures left unlogged since the previous line.
func (s *Stage) logFailure(err error) {
	now := time.Now().UnixNano()
	next := s.nextLog.Load()
	if now < next || !s.nextLog.CompareAndSwap(next, now+int64(errorLogEvery)) {
		s.suppressed.Add(1)
		return
	}
	action := "refusing with 503"
	if s.failOpen {
		action = "deciding on local memory"
	}
	level := slog.LevelWarn
	if errors.Is(err, ErrCircuitOpen) {
		level = slog.LevelInfo
	}
	s.log.Log(context.Background(), level, "rate limit: redis unavailable, "+action,
		"route", s.route, "err", err, "unlogged", s.suppressed.Swap(0))
}
