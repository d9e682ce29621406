package cachehttp

import (
	"bytes"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"
)

// policy is a route's cache configuration with its defaults applied.
type policy struct {
	// ttl is the lifetime when the origin gives none (or always, with force).
	ttl time.Duration
	// force makes ttl override the origin's freshness and revalidation
	// directives (max-age, s-maxage, Expires, no-cache, must-revalidate,
	// proxy-revalidate). no-store and private are still honoured: they
	// protect shoppers' data, not the origin's load.
	force bool
	// maxTTL caps any lifetime; 0 = no cap.
	maxTTL time.Duration
	// swr and sie are used when the origin's Cache-Control names none.
	swr, sie time.Duration
	// stripCookies: Cookie never reaches the origin and Set-Cookie is never
	// stored. Without it, responses with Set-Cookie are not stored.
	stripCookies bool
	// maxEntry overrides cache.max_entry_size when positive.
	maxEntry int64
	// hitForPass is how long an uncacheable key skips the queue.
	hitForPass time.Duration
}

// Defaults of a route's cache settings.
const (
	// DefaultHitForPass is how long a key whose response could not be stored
	// goes straight to the origin. The config field is hit_for_pass.
	DefaultHitForPass = 5 * time.Second
	// validatorKeep is how long past its stale windows an entry with a
	// validator (ETag or Last-Modified) is kept for a cheap conditional
	// revalidation. The LRU may evict it sooner.
	validatorKeep = 10 * time.Minute
)

func newPolicy(cfg *config.RouteCache) policy {
	p := policy{stripCookies: true, hitForPass: DefaultHitForPass}
	if cfg == nil {
		return p
	}
	p.ttl = cfg.TTL.D()
	p.force = cfg.ForceTTL && p.ttl > 0
	p.maxTTL = cfg.MaxTTL.D()
	p.swr = cfg.StaleWhileRevalidate.D()
	p.sie = cfg.StaleIfError.D()
	if cfg.StripCookies != nil {
		p.stripCookies = *cfg.StripCookies
	}
	p.maxEntry = int64(cfg.MaxEntrySize)
	if cfg.HitForPass > 0 {
		p.hitForPass = cfg.HitForPass.D()
	}
	return p
}

// cacheControl is a parsed Cache-Control header (all its lines).
type cacheControl struct {
	noStore, noCache, private, public bool
	mustRevalidate, proxyRevalidate   bool
	noTransform, mustUnderstand       bool
	// Seconds; -1 when absent. A malformed value reads as 0 (stale), as
	// RFC 9111 §1.2.2 and §4.2.1 ask.
	maxAge, sMaxAge, swr, sie int64
}

// parseCacheControl reads every Cache-Control line. Unknown directives are
// ignored; of repeated ones the first counts. Qualified no-cache and private
// ("private=Set-Cookie") are taken as unqualified, as RFC 9111 allows.
func parseCacheControl(lines [][]byte) cacheControl {
	cc := cacheControl{maxAge: -1, sMaxAge: -1, swr: -1, sie: -1}
	for _, line := range lines {
		for len(line) > 0 {
			var name, value []byte
			name, value, line = nextDirective(line)
			switch {
			case eqFold(name, "no-store"):
				cc.noStore = true
			case eqFold(name, "no-cache"):
				cc.noCache = true
			case eqFold(name, "private"):
				cc.private = true
			case eqFold(name, "public"):
				cc.public = true
			case eqFold(name, "must-revalidate"):
				cc.mustRevalidate = true
			case eqFold(name, "proxy-revalidate"):
				cc.proxyRevalidate = true
			case eqFold(name, "no-transform"):
				cc.noTransform = true
			case eqFold(name, "must-understand"):
				cc.mustUnderstand = true
			case eqFold(name, "max-age"):
				setSeconds(&cc.maxAge, value)
			case eqFold(name, "s-maxage"):
				setSeconds(&cc.sMaxAge, value)
			case eqFold(name, "stale-while-revalidate"):
				setSeconds(&cc.swr, value)
			case eqFold(name, "stale-if-error"):
				setSeconds(&cc.sie, value)
			}
		}
	}
	return cc
}

// nextDirective splits the first directive off a Cache-Control list,
// honouring quoted strings.
func nextDirective(s []byte) (name, value, rest []byte) {
	i := 0
	for i < len(s) && s[i] != ',' && s[i] != '=' {
		i++
	}
	name = bytes.TrimSpace(s[:i])
	if i < len(s) && s[i] == '=' {
		i++
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i < len(s) && s[i] == '"' {
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			value = s[i+1 : min(j, len(s))]
			i = j + 1
			for i < len(s) && s[i] != ',' {
				i++
			}
		} else {
			j := i
			for j < len(s) && s[j] != ',' {
				j++
			}
			value = bytes.TrimSpace(s[i:j])
			i = j
		}
	}
	if i < len(s) {
		i++ // the comma
	}
	if i > len(s) {
		i = len(s)
	}
	return name, value, s[i:]
}

// setSeconds stores a delta-seconds value unless one is already set.
func setSeconds(dst *int64, v []byte) {
	if *dst >= 0 {
		return
	}
	*dst = parseDeltaSeconds(v)
}

// parseDeltaSeconds reads delta-seconds; overflow saturates at 2^31 and a
// malformed value reads as 0.
func parseDeltaSeconds(v []byte) int64 {
	if len(v) == 0 {
		return 0
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int64(c-'0')
		if n > 1<<31 {
			n = 1 << 31
		}
	}
	return n
}

func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if toLower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// understoodStatus reports whether a status may be stored at all: 206 and
// 304 never are (the cache fetches whole bodies and answers ranges and
// conditionals itself), nor 1xx, nor server errors other than 501 — a 503
// must not replace the good copy a flash sale lives on.
func understoodStatus(s int) bool {
	switch {
	case s < 200 || s > 599, s == 206, s == 304:
		return false
	case s >= 500:
		return s == 501
	}
	return true
}

// heuristicStatus reports whether a status is cacheable by default (RFC
// 9110 §15.1): only those may take the route's ttl. Others need the
// origin's explicit freshness.
func heuristicStatus(s int) bool {
	switch s {
	case 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// freshness is the verdict on one origin response.
type freshness struct {
	// store says whether the response may be stored; reason says why not.
	store  bool
	reason string
	// lifetime is the freshness lifetime; age is the age the response
	// already had on arrival (origin Age header), which counts against an
	// origin-given lifetime. The entry is fresh for lifetime - age.
	lifetime, age time.Duration
	// swr and sie are the stale-while-revalidate and stale-if-error windows.
	swr, sie time.Duration
	// revalidate forbids serving the entry stale (must-revalidate,
	// proxy-revalidate, no-cache).
	revalidate bool
	// noTransform forbids producing compressed variants.
	noTransform bool
}

// decide applies RFC 9111 as a shared cache, and the route's policy, to a
// response. authorized says whether the request sent to the origin carried
// Authorization. now is the time the response arrived.
func decide(status int, h *fasthttp.ResponseHeader, authorized bool, p *policy, now time.Time) freshness {
	cc := parseCacheControl(h.PeekAll(fasthttp.HeaderCacheControl))
	f := freshness{noTransform: cc.noTransform}
	no := func(reason string) freshness { f.reason = reason; return f }

	if !understoodStatus(status) {
		return no("status")
	}
	// must-understand: a cache that understands the status ignores no-store
	// (RFC 9111 §5.2.2.3).
	if cc.noStore && !cc.mustUnderstand {
		return no("no-store")
	}
	if cc.private {
		return no("private")
	}
	if authorized && !cc.public && cc.sMaxAge < 0 && !cc.mustRevalidate {
		return no("authorization")
	}
	if !p.stripCookies && hasSetCookie(h) {
		return no("set-cookie")
	}
	if parseVary(h, p.stripCookies).star {
		return no("vary-star")
	}

	explicit := time.Duration(-1)
	switch {
	case cc.sMaxAge >= 0:
		explicit = time.Duration(cc.sMaxAge) * time.Second
	case cc.maxAge >= 0:
		explicit = time.Duration(cc.maxAge) * time.Second
	default:
		if exp := h.Peek(fasthttp.HeaderExpires); len(exp) > 0 {
			explicit = 0 // malformed or past: stale
			if t, err := fasthttp.ParseHTTPDate(exp); err == nil {
				date := now
				if d, err := fasthttp.ParseHTTPDate(h.Peek(fasthttp.HeaderDate)); err == nil {
					date = d
				}
				explicit = max(t.Sub(date), 0)
			}
		}
	}

	f.revalidate = cc.mustRevalidate || cc.proxyRevalidate || cc.noCache
	switch {
	case p.force && heuristicStatus(status):
		f.lifetime = p.ttl
		f.revalidate = false
	case cc.noCache:
		f.lifetime = 0
	case explicit >= 0:
		f.lifetime = explicit
		f.age = originAge(h)
	case p.ttl > 0 && heuristicStatus(status):
		f.lifetime = p.ttl
	default:
		return no("no-freshness")
	}
	if p.maxTTL > 0 && f.lifetime > p.maxTTL {
		f.lifetime = p.maxTTL
	}

	if !f.revalidate {
		f.swr, f.sie = p.swr, p.sie
		if cc.swr >= 0 {
			f.swr = time.Duration(cc.swr) * time.Second
		}
		if cc.sie >= 0 {
			f.sie = time.Duration(cc.sie) * time.Second
		}
	}
	validators := len(h.Peek(fasthttp.HeaderETag)) > 0 || len(h.Peek(fasthttp.HeaderLastModified)) > 0
	if f.lifetime-f.age <= 0 && f.swr <= 0 && f.sie <= 0 && !validators {
		// Stale on arrival and nothing to revalidate with: storing it would
		// only cost a miss and a copy.
		return no("stale")
	}
	f.store = true
	return f
}

// originAge reads the Age header (delta-seconds; malformed reads as 0).
func originAge(h *fasthttp.ResponseHeader) time.Duration {
	return time.Duration(parseDeltaSeconds(h.Peek(fasthttp.HeaderAge))) * time.Second
}

func hasSetCookie(h *fasthttp.ResponseHeader) bool {
	for range h.Cookies() {
		return true
	}
	return false
}
