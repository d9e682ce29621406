package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"edge/internal/config"
)

// passing is the report of a run that met every target: 64 MiB cache,
// peak RSS 160 MiB (96 MiB above), bound 128 MiB.
func passing() *report {
	const size = 64 << 20
	end := metrics{
		mCacheBytes:                         size - 1000,
		mCacheEntries:                       22187,
		mCacheCapacity:                      size,
		mCPUSeconds:                         250,
		mHeapAlloc:                          100 << 20,
		cacheSeries(mCacheRequests, "miss"): 1e6,
	}
	return &report{
		URLs: 1_000_000, Conns: 32, Size: size, Bound: 128 << 20, Pinning: "not pinned",
		Load:    loadResult{Fetched: 1_000_000, Elapsed: 250 * time.Second},
		LoadCPU: 80 * time.Second,
		Origin:  originCounts{Served: 1_000_000},
		End: watch{
			Mem:     procMem{RSS: 150 << 20, Peak: 160 << 20, RSSAnon: 138 << 20, RSSFile: 12 << 20},
			MaxRSS:  158 << 20,
			First:   metrics{mCPUSeconds: 1},
			Metrics: end, MaxCachedBytes: size - 10, Scrapes: 250,
		},
		Live: metrics{mHeapAlloc: 78 << 20},
	}
}

func TestReportPasses(t *testing.T) {
	t.Parallel()
	r := passing()
	if p := r.problems(); len(p) > 0 {
		t.Fatalf("problems of a passing run: %q", p)
	}
	if got, want := r.overhead(), int64(96<<20); got != want {
		t.Errorf("overhead = %d, want %d (peak 160 MiB - 64 MiB)", got, want)
	}
	if got := r.edgeCPU(); got != 249*time.Second {
		t.Errorf("edge CPU = %v, want 249s", got)
	}
	var out strings.Builder
	r.write(&out)
	for _, want := range []string{
		"1000000 in 250.0s: 4000 req/s",
		"errors        0 ",
		"22187 cached at the end",
		"RSS           150.0 MiB at the end",
		"160.0 MiB peak (VmHWM)",
		"overhead      peak RSS - cache size = 96.0 MiB (2.50x the size in all); bound 128.0 MiB",
		"live heap     78.0 MiB after a forced collection: 1.22x the cached bytes",
		"CPU           edge 249s (100% of one CPU over the run), clients and origin 80s (32%)",
		"Why RSS exceeds the cache size",
		"\nPASS: ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestOverheadBound(t *testing.T) {
	t.Parallel()
	if b, why := overheadBound(64*config.MiB, 0); b != 128<<20 || why != "cache size + 64MiB" {
		t.Errorf("default bound for 64 MiB: %d (%s), want 128 MiB", b, why)
	}
	if b, why := overheadBound(256*config.MiB, 0); b != 320<<20 {
		t.Errorf("default bound for 256 MiB: %d (%s), want 320 MiB", b, why)
	}
	if b, why := overheadBound(64*config.MiB, 100*config.MiB); b != 100<<20 || why != "-overhead" {
		t.Errorf("bound with -overhead 100MiB: %d (%s)", b, why)
	}
}

// The peak is the kernel's high water mark, or the largest sample when
// that is lower (it never is on Linux, but a sample is a floor).
func TestPeakRSS(t *testing.T) {
	t.Parallel()
	r := passing()
	r.End.Mem.Peak = 0
	if got := r.peakRSS(); got != 158<<20 {
		t.Fatalf("peak = %d, want the largest sample", got)
	}
}

func TestReportMisses(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		spoil func(*report)
		want  string
	}{
		"failed requests": {func(r *report) { r.Load.Non200, r.Load.Fetched = 3, 1_000_000 }, "3 failed requests"},
		"leaked cookie":   {func(r *report) { r.Load.Cookies = 1 }, "1 failed requests"},
		"URLs missing":    {func(r *report) { r.Load.Fetched = 10 }, "only 10 of 1000000 URLs"},
		"cookie forwarded": {
			func(r *report) { r.Origin.WithCookie = 2 }, "2 origin requests carried the shopper's Cookie"},
		"over the size at the end": {
			func(r *report) { r.End.Metrics[mCacheBytes] = 64<<20 + 1 }, "cached bytes 64.0 MiB over the size"},
		"over the size during the run": {
			func(r *report) { r.End.MaxCachedBytes = 65 << 20 }, "reached 65.0 MiB during the run"},
		"overhead over the bound": {
			func(r *report) { r.End.Mem.Peak = 200 << 20 }, "peak RSS 200.0 MiB is 136.0 MiB above the cache size, over the bound of 128.0 MiB"},
		"wrong capacity": {
			func(r *report) { r.End.Metrics[mCacheCapacity] = 256 << 20 }, "capacity of 256.0 MiB, not the configured 64.0 MiB"},
		"nothing cached": {func(r *report) { r.End.Metrics[mCacheEntries] = 0 }, "nothing cached"},
		"no metrics":     {func(r *report) { r.End.Metrics = nil }, "no metrics scraped"},
		"no RSS":         {func(r *report) { r.End.Mem = procMem{} }, "RSS was never read"},
		"sampling error": {func(r *report) { r.Sampling = errors.New("boom") }, "sampling: boom"},
		"edge died":      {func(r *report) { r.Stop = errors.New("edge exited during the run") }, "edge exited during the run"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := passing()
			tc.spoil(r)
			p := strings.Join(r.problems(), "; ")
			if !strings.Contains(p, tc.want) {
				t.Fatalf("problems = %q, want %q among them", p, tc.want)
			}
			var out strings.Builder
			r.write(&out)
			if !strings.Contains(out.String(), "\nMISS: ") || strings.Contains(out.String(), "PASS") {
				t.Fatalf("report of a failed run:\n%s", out.String())
			}
		})
	}
}
