package dashboard

import (
	"math"
	"sort"
	"time"
)

// Stats is the JSON behind the dashboard (GET /stats): one sample of the
// node with per-second rates over the last sample interval and the recent
// history for sparklines. Totals count since the process started; rates are
// per second; durations are in seconds.
type Stats struct {
	// Seq increases by one per sample; equal Seq means equal numbers.
	Seq uint64 `json:"seq"`
	// Time is when the sample was taken.
	Time time.Time `json:"time"`
	// IntervalSeconds is the time between this sample and the previous
	// one: the span the rates are measured over (0 on the first sample).
	IntervalSeconds float64 `json:"interval_seconds"`
	// Build is the running binary's version (edge_build_info).
	Build     string        `json:"build,omitempty"`
	Requests  RequestStats  `json:"requests"`
	Funnel    []FunnelStage `json:"funnel"`
	Cache     CacheStats    `json:"cache"`
	Routes    []RouteStats  `json:"routes"`
	Sales     []SaleStats   `json:"sales"`
	Hot       HotStats      `json:"hot"`
	Upstreams []Upstream    `json:"upstreams"`
	Redis     RedisStats    `json:"redis"`
	Config    ConfigStats   `json:"config"`
	History   History       `json:"history"`
}

// RequestStats are the public listener's requests.
type RequestStats struct {
	Total    int64   `json:"total"`
	Rate     float64 `json:"rate"`
	InFlight int64   `json:"in_flight"`
	// ErrorRate is 5xx answers per second.
	ErrorRate float64 `json:"error_rate"`
	// ByClass are totals by status class (2xx, 4xx...).
	ByClass map[string]int64 `json:"by_class"`
	// P50 and P99 are latency quantiles over the last latencyWindow
	// samples, in seconds; null without requests.
	P50 *float64 `json:"p50_seconds"`
	P99 *float64 `json:"p99_seconds"`
}

// FunnelStage is one row of the funnel.
type FunnelStage struct {
	// Stage is a fixed id: requests, cache, refused, ratelimit, quiz,
	// stock, queue_full, queued, shop, accepted.
	Stage string `json:"stage"`
	// Label is the caption shown.
	Label string `json:"label"`
	// Kind is in, stop or pass (see KindIn...).
	Kind  string  `json:"kind"`
	Total int64   `json:"total"`
	Rate  float64 `json:"rate"`
	// Reasons break a stop row down by refusal reason (and the shop row by
	// upstream error kind), largest first.
	Reasons []Reason `json:"reasons,omitempty"`
}

// Reason is one refusal reason of a funnel row.
type Reason struct {
	Reason string  `json:"reason"`
	Total  int64   `json:"total"`
	Rate   float64 `json:"rate"`
}

// CacheStats is the whole-response cache.
type CacheStats struct {
	// ByResult are lookup totals by result (hit, miss, stale, pass,
	// coalesced, revalidated), fragment lookups included.
	ByResult map[string]int64 `json:"by_result"`
	// Rates are lookups per second by result.
	Rates map[string]float64 `json:"rates"`
	// HitRatio is answered / (answered + fetched) over the last interval
	// (answered: hit, stale, coalesced; fetched: miss, revalidated); null
	// without lookups. HitRatioTotal is the same since start.
	HitRatio      *float64 `json:"hit_ratio"`
	HitRatioTotal *float64 `json:"hit_ratio_total"`
	Entries       int64    `json:"entries"`
	Bytes         int64    `json:"bytes"`
	CapacityBytes int64    `json:"capacity_bytes"`
}

// RouteStats is one route's traffic.
type RouteStats struct {
	Name      string  `json:"name"`
	Total     int64   `json:"total"`
	Rate      float64 `json:"rate"`
	Errors4xx int64   `json:"errors_4xx"`
	Errors5xx int64   `json:"errors_5xx"`
	// Cached counts the route's requests the cache answered.
	Cached int64 `json:"cached"`
}

// SaleStats is one sale with its rates and remaining-units history.
type SaleStats struct {
	SaleStatus
	// SoldRate is units sold per second.
	SoldRate float64 `json:"sold_rate"`
	// History is the remaining units at each kept sample, oldest first;
	// null where the node had no counters.
	History []*int64 `json:"history"`
}

// HotStats are the hot keys.
type HotStats struct {
	// Available is false when the node has no hot key detection wired.
	Available bool     `json:"available"`
	Keys      []HotKey `json:"keys"`
	// Counts are edge_hot_keys by kind, when registered.
	Counts map[string]int64 `json:"counts,omitempty"`
}

// Upstream is one upstream pool with its servers and traffic.
type Upstream struct {
	Name    string         `json:"name"`
	Servers []ServerStatus `json:"servers"`
	// Healthy counts servers taking traffic (healthy and not ejected).
	Healthy int     `json:"healthy"`
	Total   int64   `json:"total"`
	Rate    float64 `json:"rate"`
	// Errors and ErrorRate count requests with a result other than ok.
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
}

// RedisStats is the shared-state store's health.
type RedisStats struct {
	Configured bool `json:"configured"`
	Up         bool `json:"up"`
}

// ConfigStats is the configuration in effect.
type ConfigStats struct {
	Version   uint64    `json:"version"`
	LoadedAt  time.Time `json:"loaded_at,omitzero"`
	LastError string    `json:"last_error,omitempty"`
	ReloadsOK int64     `json:"reloads_ok"`
	// ReloadsFailed counts reloads that left the running config in place.
	ReloadsFailed int64 `json:"reloads_failed"`
}

// History are per-second rates at each kept sample, oldest first, for the
// sparklines. Every slice has the same length.
type History struct {
	// IntervalSeconds is the nominal time between samples.
	IntervalSeconds float64   `json:"interval_seconds"`
	Requests        []float64 `json:"requests"`
	Cache           []float64 `json:"cache"`
	// Refused adds every refusing stage (not the cache).
	Refused  []float64 `json:"refused"`
	Shop     []float64 `json:"shop"`
	Accepted []float64 `json:"accepted"`
}

// latencyWindow is how many intervals the latency quantiles span.
const latencyWindow = 10

// build makes the Stats of the newest sample of ring (oldest first).
func build(ring []*sample, seq uint64, interval time.Duration) *Stats {
	cur := ring[len(ring)-1]
	var prev *sample
	if len(ring) > 1 {
		prev = ring[len(ring)-2]
	}
	dt := 0.0
	if prev != nil {
		dt = cur.at.Sub(prev.at).Seconds()
	}
	rate := func(now, before float64) float64 {
		if dt <= 0 { // also the first sample, which has no previous one
			return 0
		}
		return round(math.Max(0, now-before)/dt, 2)
	}
	p := prev
	if p == nil {
		p = &sample{} // zero totals: rates of the first sample are 0 anyway
	}
	st := &Stats{
		Seq:             seq,
		Time:            cur.at,
		IntervalSeconds: round(dt, 3),
		Build:           cur.build,
	}
	st.Requests = RequestStats{
		Total:     count(cur.requests),
		Rate:      rate(cur.requests, p.requests),
		InFlight:  count(cur.inFlight),
		ErrorRate: rate(cur.classes["5xx"], p.classes["5xx"]),
		ByClass:   map[string]int64{},
	}
	for c, v := range cur.classes {
		st.Requests.ByClass[c] = count(v)
	}
	var olderLatency []bucket
	if older := ring[max(0, len(ring)-1-latencyWindow)]; older != cur {
		olderLatency = older.latency
	}
	if v, ok := quantile(0.5, olderLatency, cur.latency); ok {
		st.Requests.P50 = ptr(round(v, 6))
	}
	if v, ok := quantile(0.99, olderLatency, cur.latency); ok {
		st.Requests.P99 = ptr(round(v, 6))
	}
	st.Funnel = funnelStats(cur, p, rate)
	st.Cache = cacheStats(cur, p, rate)
	st.Routes = routeStats(cur, p, rate)
	st.Sales = saleStats(ring, cur, p, rate)
	st.Hot = HotStats{Available: cur.hot != nil, Keys: cur.hot}
	if st.Hot.Keys == nil {
		st.Hot.Keys = []HotKey{}
	}
	if cur.hotCounts != nil {
		st.Hot.Counts = map[string]int64{}
		for k, v := range cur.hotCounts {
			st.Hot.Counts[k] = count(v)
		}
	}
	st.Upstreams = upstreamStats(cur, p, rate)
	st.Redis = RedisStats{Configured: cur.redisConfigured, Up: cur.redisUp}
	st.Config = ConfigStats{
		Version:       cur.cfgVersion,
		LoadedAt:      cur.cfgLoadedAt,
		LastError:     cur.cfgError,
		ReloadsOK:     count(cur.reloads["ok"]),
		ReloadsFailed: count(cur.reloads["failed"]),
	}
	st.History = history(ring, interval)
	return st
}

func funnelStats(cur, p *sample, rate func(a, b float64) float64) []FunnelStage {
	out := make([]FunnelStage, numStages)
	for i := range out {
		out[i] = FunnelStage{
			Stage: stageKeys[i],
			Label: stageLabels[i],
			Kind:  stageKinds[i],
			Total: count(cur.stages[i]),
			Rate:  rate(cur.stages[i], p.stages[i]),
		}
	}
	for k, v := range cur.reasons {
		if v <= 0 {
			continue
		}
		i := k.stage
		out[i].Reasons = append(out[i].Reasons, Reason{Reason: k.reason, Total: count(v), Rate: rate(v, p.reasons[k])})
	}
	for i := range out {
		rs := out[i].Reasons
		sort.Slice(rs, func(a, b int) bool {
			if rs[a].Total != rs[b].Total {
				return rs[a].Total > rs[b].Total
			}
			return rs[a].Reason < rs[b].Reason
		})
	}
	return out
}

func cacheStats(cur, p *sample, rate func(a, b float64) float64) CacheStats {
	cs := CacheStats{
		ByResult:      map[string]int64{},
		Rates:         map[string]float64{},
		Entries:       count(cur.cacheEntries),
		Bytes:         count(cur.cacheBytes),
		CapacityBytes: count(cur.cacheCapacity),
	}
	var served, fetched, servedRate, fetchedRate float64
	for res, v := range cur.cache {
		cs.ByResult[res] = count(v)
		r := rate(v, p.cache[res])
		cs.Rates[res] = r
		if cacheServed[res] {
			served, servedRate = served+v, servedRate+r
		} else if cacheFetched[res] {
			fetched, fetchedRate = fetched+v, fetchedRate+r
		}
	}
	if served+fetched > 0 {
		cs.HitRatioTotal = ptr(round(served/(served+fetched), 4))
	}
	if servedRate+fetchedRate > 0 {
		cs.HitRatio = ptr(round(servedRate/(servedRate+fetchedRate), 4))
	}
	return cs
}

func routeStats(cur, p *sample, rate func(a, b float64) float64) []RouteStats {
	out := make([]RouteStats, 0, len(cur.routes))
	for name, r := range cur.routes {
		pr := p.routes[name]
		if pr == nil {
			pr = &routeSample{}
		}
		out = append(out, RouteStats{
			Name:      name,
			Total:     count(r.requests),
			Rate:      rate(r.requests, pr.requests),
			Errors4xx: count(r.classes["4xx"]),
			Errors5xx: count(r.classes["5xx"]),
			Cached:    count(r.cacheServes),
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Total != out[j].Total {
			return out[i].Total > out[j].Total
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func saleStats(ring []*sample, cur, p *sample, rate func(a, b float64) float64) []SaleStats {
	out := make([]SaleStats, 0, len(cur.sales))
	for _, s := range cur.sales {
		ss := SaleStats{SaleStatus: s, History: make([]*int64, len(ring))}
		for _, ps := range p.sales {
			if ps.Name == s.Name && ps.Known && s.Known {
				ss.SoldRate = rate(float64(s.Sold), float64(ps.Sold))
			}
		}
		for i, smp := range ring {
			for _, hs := range smp.sales {
				if hs.Name == s.Name && hs.Known {
					ss.History[i] = ptr(hs.Remaining)
					break
				}
			}
		}
		out = append(out, ss)
	}
	return out
}

func upstreamStats(cur, p *sample, rate func(a, b float64) float64) []Upstream {
	names := map[string]bool{}
	for n := range cur.upstreams {
		names[n] = true
	}
	servers := map[string][]ServerStatus{}
	for _, u := range cur.upstreamStatus {
		names[u.Name] = true
		servers[u.Name] = u.Servers
	}
	out := make([]Upstream, 0, len(names))
	for n := range names {
		u := Upstream{Name: n, Servers: servers[n]}
		if u.Servers == nil {
			u.Servers = []ServerStatus{}
		}
		for _, s := range u.Servers {
			if s.Healthy && !s.Ejected {
				u.Healthy++
			}
		}
		if us := cur.upstreams[n]; us != nil {
			pu := p.upstreams[n]
			if pu == nil {
				pu = &upstreamSample{}
			}
			u.Total, u.Rate = count(us.total), rate(us.total, pu.total)
			errs, perrs := us.total-us.results["ok"], pu.total-pu.results["ok"]
			u.Errors, u.ErrorRate = count(errs), rate(errs, perrs)
		}
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// history derives the per-second rates between consecutive samples.
func history(ring []*sample, interval time.Duration) History {
	h := History{IntervalSeconds: interval.Seconds()}
	n := len(ring)
	h.Requests, h.Cache, h.Refused = make([]float64, n), make([]float64, n), make([]float64, n)
	h.Shop, h.Accepted = make([]float64, n), make([]float64, n)
	for i := 1; i < n; i++ {
		a, b := ring[i-1], ring[i]
		dt := b.at.Sub(a.at).Seconds()
		if dt <= 0 {
			continue
		}
		r := func(x, y float64) float64 { return round(math.Max(0, y-x)/dt, 2) }
		h.Requests[i] = r(a.stages[stageRequests], b.stages[stageRequests])
		h.Cache[i] = r(a.stages[stageCache], b.stages[stageCache])
		var ra, rb float64
		for st := stageRefused; st <= stageQueueFull; st++ {
			ra, rb = ra+a.stages[st], rb+b.stages[st]
		}
		h.Refused[i] = r(ra, rb)
		h.Shop[i] = r(a.stages[stageShop], b.stages[stageShop])
		h.Accepted[i] = r(a.stages[stageAccepted], b.stages[stageAccepted])
	}
	return h
}

// count turns a counter or gauge value into an integer for display.
func count(v float64) int64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return int64(math.Round(v))
}

func round(v float64, digits int) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func ptr[T any](v T) *T { return &v }
