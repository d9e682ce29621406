package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// routeName is the cached route of the generated config; its counters
// carry it as a label.
const routeName = "pages"

// report is the outcome of one run.
type report struct {
	URLs     int64  // distinct URLs asked for
	Conns    int    // client connections
	Size     int64  // cache.size
	Bound    int64  // allowed peak RSS above Size
	BoundWhy string // where Bound comes from: "-overhead" or the default's formula
	Pinning  string // where edge ran
	Env      string // GOGC / GOMEMLIMIT edge inherited, "" when neither
	Load     loadResult
	LoadCPU  time.Duration // this process's CPU time during the load
	Origin   originCounts
	End      watch   // the last sample, taken when the clients were done
	Live     metrics // scraped after a forced collection, nil when it failed
	LiveErr  error   // why Live is nil (not a failure of the run)
	Sampling error   // the first error reading /proc or /metrics
	Stop     error   // edge exited early or uncleanly
}

// originCounts are the origin's counters at the end.
type originCounts struct {
	Served, WithCookie, NotFound int64
}

// peakRSS is the most edge ever had resident: the kernel's high water mark,
// or the largest sample should the mark be missing.
func (r *report) peakRSS() int64 { return max(r.End.Mem.Peak, r.End.MaxRSS) }

// overhead is the peak RSS above the cache's size.
func (r *report) overhead() int64 { return r.peakRSS() - r.Size }

// edgeCPU is the CPU time edge used between the first and the last scrape.
func (r *report) edgeCPU() time.Duration {
	if r.End.First == nil || r.End.Metrics == nil {
		return 0
	}
	d := r.End.Metrics.get(mCPUSeconds) - r.End.First.get(mCPUSeconds)
	return time.Duration(d * float64(time.Second))
}

// cacheSeries names a counter of the route: edge_cache_requests_total
// and edge_cache_origin_fetches_total carry {result, route}.
func cacheSeries(name, result string) string {
	return name + `{result="` + result + `",route="` + routeName + `"}`
}

// problems lists every reason the run failed, empty when it passed.
func (r *report) problems() []string {
	var p []string
	m := r.End.Metrics
	if n := r.Load.errors(); n > 0 {
		p = append(p, fmt.Sprintf("%d failed requests", n))
	}
	if r.Load.Fetched+r.Load.Transport < r.URLs {
		p = append(p, fmt.Sprintf("only %d of %d URLs asked for", r.Load.Fetched+r.Load.Transport, r.URLs))
	}
	if r.Origin.WithCookie > 0 {
		p = append(p, fmt.Sprintf("%d origin requests carried the shopper's Cookie", r.Origin.WithCookie))
	}
	if r.Sampling != nil {
		p = append(p, "sampling: "+r.Sampling.Error())
	}
	if r.Stop != nil {
		p = append(p, r.Stop.Error())
	}
	if m == nil {
		return append(p, "no metrics scraped from edge")
	}
	if c := int64(m.get(mCacheCapacity)); c != r.Size {
		p = append(p, fmt.Sprintf("edge reports a capacity of %s, not the configured %s", mib(c), mib(r.Size)))
	}
	if b := int64(m.get(mCacheBytes)); b > r.Size {
		p = append(p, fmt.Sprintf("cached bytes %s over the size %s", mib(b), mib(r.Size)))
	}
	if r.End.MaxCachedBytes > r.Size {
		p = append(p, fmt.Sprintf("cached bytes reached %s during the run, over the size %s", mib(r.End.MaxCachedBytes), mib(r.Size)))
	}
	if int64(m.get(mCacheEntries)) == 0 {
		p = append(p, "nothing cached")
	}
	if r.End.Mem.RSS == 0 {
		p = append(p, "edge's RSS was never read")
	} else if o := r.overhead(); o > r.Bound {
		p = append(p, fmt.Sprintf("peak RSS %s is %s above the cache size, over the bound of %s", mib(r.peakRSS()), mib(o), mib(r.Bound)))
	}
	return p
}

// write prints the report: the figures, where edge's memory goes by its
// Go runtime, and one PASS or MISS line.
func (r *report) write(w io.Writer) {
	m := r.End.Metrics
	pr := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-13s %s\n", label, fmt.Sprintf(format, args...))
	}
	fmt.Fprintln(w)
	pr("edge", "%s; %s", r.Pinning, orDefault(r.Env, "GOGC and GOMEMLIMIT unset"))
	pr("URLs", "%d distinct, each fetched once over %d keep-alive connections", r.URLs, r.Conns)
	pr("fetched", "%d in %.1fs: %.0f req/s", r.Load.Fetched, r.Load.Elapsed.Seconds(), r.Load.rate())
	pr("errors", "%d (non-200 %d, no answer %d, wrong body %d, Set-Cookie passed on %d)",
		r.Load.errors(), r.Load.Non200, r.Load.Transport, r.Load.WrongBody, r.Load.Cookies)
	for _, f := range r.Load.Failures {
		pr("", "%s", f)
	}
	if r.Load.Elapsed > 0 {
		pr("CPU", "edge %.0fs (%.0f%% of one CPU over the run), clients and origin %.0fs (%.0f%%)",
			r.edgeCPU().Seconds(), 100*r.edgeCPU().Seconds()/r.Load.Elapsed.Seconds(),
			r.LoadCPU.Seconds(), 100*r.LoadCPU.Seconds()/r.Load.Elapsed.Seconds())
	}
	pr("origin", "%d pages served, %d requests with a Cookie, %d for unknown paths", r.Origin.Served, r.Origin.WithCookie, r.Origin.NotFound)
	if m != nil {
		pr("edge cache", "misses %.0f, stored %.0f, hits %.0f, coalesced %.0f",
			m.get(cacheSeries(mCacheRequests, "miss")), m.get(cacheSeries(mCacheFetches, "stored")),
			m.get(cacheSeries(mCacheRequests, "hit")), m.get(cacheSeries(mCacheRequests, "coalesced")))
		pr("entries", "%.0f cached at the end, %.0f evicted", m.get(mCacheEntries), m.get(mCacheEvictions))
		pr("cached bytes", "%s at the end, %s at most (size %s; the largest of %d scrapes)",
			mib(int64(m.get(mCacheBytes))), mib(r.End.MaxCachedBytes), mib(r.Size), r.End.Scrapes)
	}
	pr("RSS", "%s at the end (anonymous %s, file %s), %s peak (VmHWM)",
		mib(r.End.Mem.RSS), mib(r.End.Mem.RSSAnon), mib(r.End.Mem.RSSFile), mib(r.peakRSS()))
	pr("overhead", "peak RSS - cache size = %s (%.2fx the size in all); bound %s (%s)",
		mib(r.overhead()), float64(r.peakRSS())/float64(r.Size), mib(r.Bound), orDefault(r.BoundWhy, "-overhead"))
	switch cached := m.get(mCacheBytes); {
	case r.Live != nil && cached > 0:
		live := r.Live.get(mHeapAlloc)
		pr("live heap", "%s after a forced collection: %.2fx the cached bytes (what the entries weigh on the heap)",
			mib(int64(live)), live/cached)
	case r.LiveErr != nil:
		pr("live heap", "not measured: %v", r.LiveErr)
	}
	if m != nil {
		r.writeRuntime(w, m)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, boundNote)
	if p := r.problems(); len(p) > 0 {
		fmt.Fprintf(w, "MISS: %s\n", strings.Join(p, "; "))
		return
	}
	fmt.Fprintf(w, "PASS: cached bytes %s <= %s, peak RSS %s <= %s + %s, 0 errors\n",
		mib(r.End.MaxCachedBytes), mib(r.Size), mib(r.peakRSS()), mib(r.Size), mib(r.Bound))
}

// writeRuntime prints edge's Go runtime figures at the end: what RSS is
// made of.
func (r *report) writeRuntime(w io.Writer, m metrics) {
	g := func(name string) int64 { return int64(m.get(name)) }
	idle, released := g("go_memstats_heap_idle_bytes"), g("go_memstats_heap_released_bytes")
	meta := g("go_memstats_mspan_sys_bytes") + g("go_memstats_mcache_sys_bytes") + g("go_memstats_gc_sys_bytes") +
		g("go_memstats_buck_hash_sys_bytes") + g("go_memstats_other_sys_bytes")
	limit := "none"
	if l := m.get("go_gc_gomemlimit_bytes"); l > 0 && l < math.MaxInt64/2 {
		limit = mib(int64(l))
	}
	fmt.Fprintf(w, "edge's Go runtime at the end (its /metrics; GOGC %.0f, memory limit %s, %.0f goroutines):\n",
		m.get("go_gc_gogc_percent"), limit, m.get("go_goroutines"))
	row := func(label string, v int64, why string) {
		fmt.Fprintf(w, "  %-18s %10s  %s\n", label, mib(v), why)
	}
	row("heap allocated", g(mHeapAlloc), "objects not yet freed: live, and garbage since the last collection")
	row("heap in use", g(mHeapInuse), "spans holding objects (allocated + free slots in them)")
	row("next GC at", g("go_memstats_next_gc_bytes"), "heap size that starts the next collection (live heap x (1 + GOGC/100), or less under a memory limit)")
	row("heap idle, kept", idle-released, "free spans not yet given back to the kernel (resident)")
	row("heap given back", released, "free spans returned to the kernel (not resident)")
	row("stacks", g("go_memstats_stack_inuse_bytes"), "goroutine stacks")
	row("runtime metadata", meta, "spans, GC bitmaps, caches (mapped; mostly resident)")
	row("Go total", g("go_memstats_sys_bytes"), "everything the runtime has mapped")
}

// boundNote explains the overhead bound in the output; the package doc
// has the measurements behind it.
const boundNote = `Why RSS exceeds the cache size: the entries weigh on the heap about what the cache charges for them,
edge's own live heap (pooled compressors, buffers, metrics) adds about 15 MiB on one CPU, Go's collector
(GOGC=100) lets the heap grow to twice its live size before collecting, and the runtime's metadata and
the binary add about 23 MiB. The default bound is therefore the cache size (the collector's headroom)
+ 64 MiB, for edge on one CPU. Details: go doc ./bench/memory.`

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
