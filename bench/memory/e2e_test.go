package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"edge/internal/config"
	"edge/internal/testutil"
)

// TestRunEndToEnd is the whole benchmark, small: a real edge process built
// from this tree, 10 000 URLs through a 2 MiB cache (so that it fills and
// evicts, as 64 MiB does under a million). The RSS bound is left to the
// real run; this machine's noise and the race detector make small figures
// meaningless.
func TestRunEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin, err := testutil.BuildEdge(dir)
	if err != nil {
		t.Fatal(err)
	}
	const size, urls = 2 * config.MiB, 10_000
	var progress testutil.SyncBuffer
	prof := filepath.Join(dir, "heap.pprof")
	r, err := run(options{
		edgeBin: bin, urls: urls, conns: 8, size: size, overhead: config.GiB,
		edgeCPU: "none", sample: 20 * time.Millisecond, progress: 500 * time.Millisecond, heapProf: prof,
	}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	r.write(&out)
	t.Log(progress.String() + out.String())

	if p := r.problems(); len(p) > 0 {
		t.Errorf("problems: %q", p)
	}
	if r.Load.Fetched != urls || r.Load.errors() != 0 || r.Origin.Served != urls || r.Origin.WithCookie != 0 {
		t.Errorf("load %+v, origin %+v: want %d pages fetched and served, no errors, no cookie forwarded", r.Load, r.Origin, urls)
	}
	m := r.End.Metrics
	if b := int64(m.get(mCacheBytes)); b > int64(size) || r.End.MaxCachedBytes > int64(size) || b < int64(size)*3/4 {
		t.Errorf("cached bytes %d at the end, %d at most: want a full cache within %d", b, r.End.MaxCachedBytes, size)
	}
	if m.get(mCacheEvictions) == 0 || m.get(mCacheEntries) == 0 ||
		m.get(mCacheEntries)+m.get(mCacheEvictions) != urls {
		t.Errorf("entries %v + evictions %v, want %d with both > 0", m.get(mCacheEntries), m.get(mCacheEvictions), urls)
	}
	if m.get(cacheSeries(mCacheRequests, "miss")) != urls || m.get(cacheSeries(mCacheFetches, "stored")) != urls {
		t.Errorf("misses %v, stored %v; want %d each", m.get(cacheSeries(mCacheRequests, "miss")), m.get(cacheSeries(mCacheFetches, "stored")), urls)
	}
	if r.End.Mem.RSS <= 0 || r.peakRSS() < r.End.Mem.RSS || r.End.Scrapes < 2 {
		t.Errorf("samples: %+v, %d scrapes", r.End.Mem, r.End.Scrapes)
	}
	if r.Live == nil || r.Live.get(mHeapAlloc) <= 0 {
		t.Errorf("no live heap measured: %v", r.LiveErr)
	}
	if st, err := os.Stat(prof); err != nil || st.Size() == 0 {
		t.Errorf("heap profile not saved: %v", err)
	}
	if !strings.Contains(out.String(), "\nPASS: ") {
		t.Errorf("report without PASS:\n%s", out.String())
	}
}
