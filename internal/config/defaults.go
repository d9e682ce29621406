package config

import (
	"math"
	"path/filepath"
	"strings"
	"time"
)

// Defaults of the settings that have one. A zero value in the file (or no
// value) means "use the default"; see configs/edge.yaml.
const (
	DefaultListen      = "0.0.0.0:8080"
	DefaultAdminListen = "127.0.0.1:9090"
	DefaultVia         = "edge"
	DefaultLogLevel    = "info"
	DefaultRedisPrefix = "edge:"
	DefaultHealthPath  = "/healthz"
	DefaultJWTClaim    = "sub"
	DefaultShards      = 64
)

func setDuration(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}

func setSize(s *Size, def Size) {
	if *s == 0 {
		*s = def
	}
}

func setInt(i *int, def int) {
	if *i == 0 {
		*i = def
	}
}

func setString(s *string, def string) {
	if *s == "" {
		*s = def
	}
}

func intPtr(i int) *int    { return &i }
func boolPtr(b bool) *bool { return &b }

// applyDefaults fills unset settings with their documented defaults and
// normalises spellings (methods upper case, hosts and enums lower case).
// It never fails; nil entries (a "- ~" list item) are left for validation.
func applyDefaults(c *Config) {
	setString(&c.Listen, DefaultListen)
	setString(&c.Admin.Listen, DefaultAdminListen)

	s := &c.Server
	setDuration(&s.ReadTimeout, 10*time.Second)
	setDuration(&s.WriteTimeout, 10*time.Second)
	setDuration(&s.IdleTimeout, 60*time.Second)
	setSize(&s.MaxHeaderSize, 16*KiB)
	setSize(&s.MaxBodySize, 1*MiB)
	setInt(&s.MaxConns, 262144)
	setDuration(&s.GracePeriod, 15*time.Second)
	setString(&s.Via, DefaultVia)

	c.Log.Level = strings.ToLower(c.Log.Level)
	setString(&c.Log.Level, DefaultLogLevel)

	if r := c.Redis; r != nil {
		setDuration(&r.Timeout, 200*time.Millisecond)
		r.OnError = strings.ToLower(r.OnError)
		setString(&r.OnError, "closed")
		setString(&r.Prefix, DefaultRedisPrefix)
	}

	if id := c.Identity; id != nil && id.JWT != nil {
		j := id.JWT
		setString(&j.Claim, DefaultJWTClaim)
		setDuration(&j.Leeway, 30*time.Second)
		if k := j.RS256PublicKey; k != "" && !isInlinePEM(k) && !filepath.IsAbs(k) && c.File != "" {
			j.RS256PublicKey = filepath.Join(filepath.Dir(c.File), k)
		}
	}

	for _, u := range c.Upstreams {
		if u != nil {
			upstreamDefaults(u)
		}
	}

	ch := &c.Cache
	setSize(&ch.Size, 256*MiB)
	setSize(&ch.HotSize, ch.Size/8)
	setInt(&ch.Shards, DefaultShards)
	setSize(&ch.MaxEntrySize, min(8*MiB, ch.Size))

	for _, r := range c.Routes {
		if r != nil {
			routeDefaults(r, c.Identity != nil)
		}
	}

	for _, s := range c.Sales {
		if s != nil && s.Name == "" && s.Item != "" {
			s.Name = "item-" + s.Item
		}
	}
	quizHotDefaults(c)
}

func upstreamDefaults(u *Upstream) {
	setDuration(&u.ConnectTimeout, time.Second)
	setDuration(&u.Timeout, 3*time.Second)
	setDuration(&u.WriteTimeout, 3*time.Second)
	setInt(&u.MaxConns, 512)
	setDuration(&u.MaxConnWait, 100*time.Millisecond)
	setDuration(&u.MaxIdleConnDuration, 10*time.Second)
	setSize(&u.MaxResponseSize, 64*MiB)
	if u.Retries == nil {
		u.Retries = intPtr(1)
	}
	if h := u.HealthCheck; h != nil {
		setString(&h.Path, DefaultHealthPath)
		setDuration(&h.Interval, 2*time.Second)
		setDuration(&h.Timeout, time.Second)
		setInt(&h.Fails, 2)
		setInt(&h.Passes, 2)
	}
	if u.Passive.MaxFails == nil {
		u.Passive.MaxFails = intPtr(5)
	}
	setDuration(&u.Passive.EjectFor, 10*time.Second)
}

func routeDefaults(r *Route, haveIdentity bool) {
	m := &r.Match
	if m.Path == "" && m.PathExact == "" {
		m.Path = "/"
	}
	m.Host = strings.ToLower(m.Host)
	for i, meth := range m.Methods {
		m.Methods[i] = strings.ToUpper(meth)
	}
	r.Identity = strings.ToLower(r.Identity)
	if r.Identity == "" && haveIdentity {
		r.Identity = "optional"
	}
	if rc := r.Cache; rc != nil {
		if rc.StripCookies == nil {
			rc.StripCookies = boolPtr(true)
		}
		setDuration(&rc.HitForPass, 5*time.Second)
	}
	if e := r.ESI; e != nil {
		setInt(&e.MaxDepth, 3)
		setDuration(&e.Timeout, 500*time.Millisecond)
		setInt(&e.MaxIncludes, 32)
		setInt(&e.Concurrency, 8)
		e.OnError = strings.ToLower(e.OnError)
		setString(&e.OnError, "drop")
	}
	if st := r.Stock; st != nil {
		setDuration(&st.RetryAfter, time.Second)
	}
	if q := r.Queue; q != nil {
		q.Mode = strings.ToLower(q.Mode)
		setString(&q.Mode, "sync")
		setInt(&q.ConcurrencyPerItem, 8)
		setDuration(&q.MaxWait, 2*time.Second)
		setInt(&q.MaxWaiting, 1024)
		setInt(&q.MaxLength, 100000)
		setInt(&q.Concurrency, 64)
		if q.Retries == nil {
			q.Retries = intPtr(5)
		}
		setDuration(&q.RetryBackoff, 500*time.Millisecond)
		setDuration(&q.ResultTTL, time.Hour)
		setDuration(&q.ClaimIdle, 30*time.Second)
		setDuration(&q.LongPollMax, 20*time.Second)
	}
	for _, rl := range r.RateLimit {
		if rl == nil {
			continue
		}
		rl.Per = strings.ToLower(rl.Per)
		if rl.Burst == 0 && rl.Rate.PerSecond() > 0 {
			rl.Burst = int(max(1, math.Min(math.Ceil(rl.Rate.PerSecond()), math.MaxInt32)))
		}
	}
}

// isInlinePEM reports whether a key setting holds PEM text rather than a
// file path.
func isInlinePEM(s string) bool { return strings.Contains(s, "-----BEGIN") }
