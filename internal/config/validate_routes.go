package config

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

func (v *validator) upstreams(c *Config) {
	names := make([]string, 0, len(c.Upstreams))
	for name := range c.Upstreams {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := joinKey("upstreams", name)
		u := c.Upstreams[name]
		if u == nil {
			v.add(p, "want a mapping with servers, got nothing")
			continue
		}
		if !validLabel(name) {
			v.add(p, "want a name of letters, digits, '_', '.' or '-', got %q", name)
		}
		v.upstream(p, u)
	}
}

func (v *validator) upstream(p string, u *Upstream) {
	if len(u.Servers) == 0 {
		v.add(p+".servers", "want at least one host:port")
	}
	seen := map[string]bool{}
	for i, s := range u.Servers {
		sp := fmt.Sprintf("%s.servers[%d]", p, i)
		if v.hostPort(sp, s, false) && seen[s] {
			v.add(sp, "duplicate server %q", s)
		}
		seen[s] = true
	}
	v.positive(p+".max_conns", u.MaxConns)
	if r := *u.Retries; r < 0 || r > 10 {
		v.add(p+".retries", "want 0 to 10, got %d", r)
	}
	if mf := *u.Passive.MaxFails; mf < 0 {
		v.add(p+".passive.max_fails", "want a number ≥ 0 (0 turns passive ejection off), got %d", mf)
	}
	if u.Host != "" && !validHostPort(u.Host) {
		v.add(p+".host", "want a host name, optionally with :port, got %q", u.Host)
	}
	if h := u.HealthCheck; h != nil {
		hp := p + ".health_check"
		if !strings.HasPrefix(h.Path, "/") {
			v.add(hp+".path", "want a path starting with /, got %q", h.Path)
		}
		if h.Timeout > h.Interval {
			v.add(hp+".timeout", "must not exceed interval (%s), got %s", h.Interval, h.Timeout)
		}
		v.positive(hp+".fails", h.Fails)
		v.positive(hp+".passes", h.Passes)
	}
}

// validHostPort reports whether s is "host" or "host:port".
func validHostPort(s string) bool {
	if h, _, err := net.SplitHostPort(s); err == nil {
		return validHost(h, false)
	}
	return validHost(s, false)
}

func (v *validator) routes(c *Config) {
	if len(c.Routes) == 0 {
		v.add("routes", "want at least one route")
	}
	names := map[string]int{}
	for i, r := range c.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		if r == nil {
			v.add(p, "want a route (a mapping with name, match, upstream), got nothing")
			continue
		}
		switch {
		case r.Name == "":
			v.add(p+".name", "required: a name for metrics and logs")
		case !validLabel(r.Name):
			v.add(p+".name", "want letters, digits, '_', '.' or '-' (at most 64), got %q", r.Name)
		default:
			if at, dup := names[r.Name]; dup {
				v.add(p+".name", "duplicate route name %q (also routes[%d])", r.Name, at)
			} else {
				names[r.Name] = i
			}
		}
		v.match(p+".match", &r.Match)
		switch _, ok := c.Upstreams[r.Upstream]; {
		case r.Upstream == "":
			v.add(p+".upstream", "required: the name of an upstream")
		case !ok && !v.bad["upstreams"]:
			v.add(p+".upstream", "unknown upstream %q%s", r.Upstream, suggestName(r.Upstream, c.Upstreams))
		}
		if r.Private && r.Cache != nil {
			v.add(p+".cache", "a private route is never stored: remove cache or private")
		}
		if r.Cache != nil {
			v.routeCache(p+".cache", r.Cache, c.Cache.Size)
		}
		if r.ESI != nil {
			v.esi(p+".esi", r.ESI)
		}
		switch r.Identity {
		case "", "optional", "required":
			if r.Identity != "" && c.Identity == nil {
				v.add(p+".identity", "%q needs a top-level identity (header or cookie)", r.Identity)
			}
		default:
			v.add(p+".identity", "want optional or required, got %q", r.Identity)
		}
		if r.Item != nil {
			v.item(p+".item", r.Item)
		}
		for j, rl := range r.RateLimit {
			v.rateLimit(fmt.Sprintf("%s.ratelimit[%d]", p, j), rl, r, c)
		}
		if r.Stock != nil {
			v.stock(p, r)
		}
		if r.Queue != nil {
			v.queue(p, r)
		}
		v.shadowed(c.Routes, i)
	}
}

func (v *validator) match(p string, m *Match) {
	if m.Path != "" && m.PathExact != "" {
		v.add(p, "want path (a prefix) or path_exact, not both")
	}
	if m.Path != "" && !strings.HasPrefix(m.Path, "/") {
		v.add(p+".path", "want a path starting with /, got %q", m.Path)
	}
	if m.PathExact != "" && !strings.HasPrefix(m.PathExact, "/") {
		v.add(p+".path_exact", "want a path starting with /, got %q", m.PathExact)
	}
	if m.Host != "" && !validHost(m.Host, true) {
		v.add(p+".host", "want a host name like shop.example.com or *.example.com (no port), got %q", m.Host)
	}
	seen := map[string]bool{}
	for i, meth := range m.Methods {
		mp := fmt.Sprintf("%s.methods[%d]", p, i)
		switch {
		case !isToken(meth):
			v.add(mp, "want an HTTP method like GET or POST, got %q", meth)
		case seen[meth]:
			v.add(mp, "duplicate method %q", meth)
		}
		seen[meth] = true
	}
}

func (v *validator) routeCache(p string, rc *RouteCache, cacheSize Size) {
	if rc.ForceTTL && rc.TTL == 0 {
		v.add(p+".force_ttl", "needs a ttl > 0")
	}
	if rc.MaxTTL > 0 && rc.MaxTTL < rc.TTL {
		v.add(p+".max_ttl", "must be at least ttl (%s), got %s", rc.TTL, rc.MaxTTL)
	}
	if rc.MaxEntrySize > cacheSize {
		v.add(p+".max_entry_size", "must not exceed cache.size (%s), got %s", cacheSize, rc.MaxEntrySize)
	}
}

func (v *validator) esi(p string, e *ESI) {
	if e.MaxDepth < 1 || e.MaxDepth > 10 {
		v.add(p+".max_depth", "want 1 to 10, got %d", e.MaxDepth)
	}
	v.positive(p+".max_includes", e.MaxIncludes)
	v.positive(p+".concurrency", e.Concurrency)
	if e.OnError != "drop" && e.OnError != "fail" {
		v.add(p+".on_error", "want drop or fail, got %q", e.OnError)
	}
	for i, h := range e.AllowedHosts {
		if !validHost(strings.ToLower(h), true) {
			v.add(fmt.Sprintf("%s.allowed_hosts[%d]", p, i), "want a host name like cdn.example.com or *.example.com, got %q", h)
		}
	}
	for i, h := range e.ForwardHeaders {
		if !isToken(h) {
			v.add(fmt.Sprintf("%s.forward_headers[%d]", p, i), "want a header name, got %q", h)
		}
	}
}

func (v *validator) item(p string, it *Item) {
	n := 0
	for _, set := range []bool{it.Query != "", it.Form != "", it.Header != "", it.PathSegment != 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		v.add(p, "want exactly one of query, form, header or path_segment, got %d", n)
	}
	if it.Header != "" && !isToken(it.Header) {
		v.add(p+".header", "want a header name, got %q", it.Header)
	}
	if it.PathSegment < 0 {
		v.add(p+".path_segment", "want a 1-based segment index (/order/42 → 2), got %d", it.PathSegment)
	}
}

func (v *validator) rateLimit(p string, rl *RateLimit, r *Route, c *Config) {
	if rl == nil {
		v.add(p, "want a limit like {per: ip, rate: 20/s}, got nothing")
		return
	}
	switch rl.Per {
	case "ip", "route":
	case "user":
		if c.Identity == nil {
			v.add(p+".per", "user needs a top-level identity (header or cookie)")
		}
	case "item":
		if r.Item == nil {
			v.add(p+".per", "item needs the route's item (where the item id is)")
		}
	default:
		v.add(p+".per", "want ip, user, item or route, got %q", rl.Per)
	}
	if rl.Rate.IsZero() {
		v.add(p+".rate", "required: N/s, N/m or N/h")
	}
	if rl.Burst < 0 {
		v.add(p+".burst", "want a number ≥ 0 (0 means the rate per second), got %d", rl.Burst)
	}
}

func (v *validator) stock(p string, r *Route) {
	if r.Item == nil {
		v.add(p+".stock", "needs the route's item (where the item id is)")
	}
	switch pu := r.Stock.PerUser; {
	case pu < 0:
		v.add(p+".stock.per_user", "want a number ≥ 0 (0 = no cap), got %d", pu)
	case pu > 0 && r.Identity != "required":
		// Without a required id a shopper could skip the cap by sending none.
		v.add(p+".stock.per_user", "needs identity: required on the route, got identity %q", r.Identity)
	}
}

func (v *validator) queue(p string, r *Route) {
	q := r.Queue
	if r.Item == nil {
		v.add(p+".queue", "needs the route's item (where the item id is)")
	}
	if q.Mode != "sync" && q.Mode != "async" {
		v.add(p+".queue.mode", "want sync or async, got %q", q.Mode)
	}
	v.positive(p+".queue.concurrency_per_item", q.ConcurrencyPerItem)
	v.positive(p+".queue.max_waiting", q.MaxWaiting)
	if q.Mode == "async" {
		v.asyncQueue(p+".queue", q)
	}
}

// asyncQueue checks the settings of an async queue.
func (v *validator) asyncQueue(p string, q *Queue) {
	v.positive(p+".max_length", q.MaxLength)
	v.positive(p+".concurrency", q.Concurrency)
	if q.Retries != nil && (*q.Retries < 0 || *q.Retries > 100) {
		v.add(p+".retries", "want 0 to 100, got %d", *q.Retries)
	}
	if q.ClaimIdle < Duration(time.Second) {
		v.add(p+".claim_idle", "want at least 1s (longer than a shop answer takes), got %s", q.ClaimIdle)
	}
	if q.LongPollMax > Duration(5*time.Minute) {
		v.add(p+".long_poll_max", "want at most 5m, got %s", q.LongPollMax)
	}
}

// shadowed records a problem when route i can never match because an
// earlier route takes every request it would.
func (v *validator) shadowed(routes []*Route, i int) {
	r := routes[i]
	for j := range i {
		if e := routes[j]; e != nil && covers(&e.Match, &r.Match) {
			v.add(fmt.Sprintf("routes[%d].match", i), "route %q is never reached: route %q (line %d) matches all its requests first; move it before",
				r.Name, e.Name, v.line(fmt.Sprintf("routes[%d]", j)))
			return
		}
	}
}

// covers reports whether every request matched by b is matched by a. It
// only answers true when that holds whether prefixes match per character or
// per path segment.
func covers(a, b *Match) bool {
	if a.Host != "" && !strings.EqualFold(a.Host, b.Host) {
		return false
	}
	if len(a.Methods) > 0 {
		if len(b.Methods) == 0 {
			return false
		}
		for _, m := range b.Methods {
			if !slices.Contains(a.Methods, m) {
				return false
			}
		}
	}
	if a.PathExact != "" {
		return b.PathExact == a.PathExact
	}
	bp := b.Path
	if b.PathExact != "" {
		bp = b.PathExact
	}
	if !strings.HasPrefix(bp, a.Path) {
		return false
	}
	return bp == a.Path || strings.HasSuffix(a.Path, "/") || bp[len(a.Path)] == '/'
}

func (v *validator) sales(c *Config) {
	items, names := map[string]int{}, map[string]int{}
	for i, s := range c.Sales {
		p := fmt.Sprintf("sales[%d]", i)
		if s == nil {
			v.add(p, "want a sale like {item: \"42\", stock: 200}, got nothing")
			continue
		}
		switch {
		case s.Item == "":
			v.add(p+".item", "required: the item id as requests carry it")
		case !ValidItemID(s.Item):
			v.add(p+".item", "want 1 to %d characters among A-Z a-z 0-9 _ . : -, got %q", MaxItemIDLen, s.Item)
		default:
			if at, dup := items[s.Item]; dup {
				v.add(p+".item", "duplicate item %q (also sales[%d])", s.Item, at)
			} else {
				items[s.Item] = i
			}
		}
		if s.Name != "" {
			if !validLabel(s.Name) {
				v.add(p+".name", "want letters, digits, '_', '.' or '-' (at most 64), got %q; set name when the item id has other characters", s.Name)
			} else if at, dup := names[s.Name]; dup {
				v.add(p+".name", "duplicate sale name %q (also sales[%d])", s.Name, at)
			} else {
				names[s.Name] = i
			}
		}
		if s.Stock < 0 {
			v.add(p+".stock", "want a number ≥ 0, got %d", s.Stock)
		}
		if !s.Starts.IsZero() && !s.Ends.IsZero() && !s.Ends.After(s.Starts) {
			v.add(p+".ends", "must be after starts (%s), got %s", s.Starts.Format(timeLayout), s.Ends.Format(timeLayout))
		}
	}
	if len(c.Sales) > 0 && !slices.ContainsFunc(c.Routes, func(r *Route) bool { return r != nil && r.Item != nil }) {
		v.add("sales", "no route says where a request's item id is (item:), so no sale can be enforced")
	}
}

const timeLayout = "2006-01-02T15:04:05Z07:00"

// suggestName returns ` (did you mean "x"?)` for a close upstream name.
func suggestName(name string, ups map[string]*Upstream) string {
	names := make(map[string]int, len(ups))
	for n := range ups {
		names[n] = 0
	}
	return suggest(name, names)
}

// MaxItemIDLen bounds an item id in bytes; the item stage refuses longer ids
// in requests with 400, so a sale's item must fit too.
const MaxItemIDLen = 64

// ValidItemID reports whether id is a well-formed item id: 1 to MaxItemIDLen
// characters among A-Z a-z 0-9 _ . : - (safe in Redis keys, URLs and logs).
func ValidItemID(id string) bool {
	if len(id) == 0 || len(id) > MaxItemIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}
