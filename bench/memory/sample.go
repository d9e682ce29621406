package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// procMem is the memory of a process as the kernel counts it, in bytes,
// from /proc/<pid>/status.
type procMem struct {
	RSS     int64 // VmRSS: resident now
	Peak    int64 // VmHWM: the most ever resident (high water mark)
	RSSAnon int64 // RssAnon: the resident anonymous part (the heap, stacks)
	RSSFile int64 // RssFile: the resident file-backed part (the binary's text and data)
}

// errNoVmRSS is returned for a status file without a VmRSS line (a kernel
// thread, or a zombie whose memory is gone).
var errNoVmRSS = errors.New("no VmRSS in /proc status")

// parseStatus reads the memory lines of a /proc/<pid>/status file. The
// kernel writes them as "VmRSS:\t  123456 kB" (kB meaning KiB).
func parseStatus(r io.Reader) (procMem, error) {
	var m procMem
	seen := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "VmRSS":
			dst, seen = &m.RSS, true
		case "VmHWM":
			dst = &m.Peak
		case "RssAnon":
			dst = &m.RSSAnon
		case "RssFile":
			dst = &m.RSSFile
		default:
			continue
		}
		num, unit, _ := strings.Cut(strings.TrimSpace(rest), " ")
		kib, err := strconv.ParseInt(num, 10, 64)
		if err != nil || unit != "kB" {
			return procMem{}, fmt.Errorf("/proc status: malformed %s line %q", name, sc.Text())
		}
		*dst = kib << 10
	}
	if err := sc.Err(); err != nil {
		return procMem{}, fmt.Errorf("/proc status: %w", err)
	}
	if !seen {
		return procMem{}, errNoVmRSS
	}
	return m, nil
}

// readProcMem reads the memory of process pid.
func readProcMem(pid int) (procMem, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return procMem{}, err
	}
	defer f.Close()
	return parseStatus(f)
}

// metrics is one scrape of a Prometheus text exposition: each series as
// written ("name" or `name{label="value",...}`, labels in the order the
// exporter wrote them; client_golang sorts them by name) to its value.
type metrics map[string]float64

// get returns the value of one series, 0 when absent.
func (m metrics) get(series string) float64 { return m[series] }

// parseMetrics reads the Prometheus text format (version 0.0.4): comment
// and blank lines are skipped, every other line is a series, a value and
// an optional timestamp. Label values may hold spaces, braces and escaped
// quotes, so the label set is scanned, not split.
func parseMetrics(r io.Reader) (metrics, error) {
	m := metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		series, rest, err := splitSeries(text)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", line, err)
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 || len(fields) > 2 {
			return nil, fmt.Errorf("metrics line %d: want a value and an optional timestamp after %s, got %q", line, series, rest)
		}
		v, err := parseValue(fields[0])
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", line, err)
		}
		m[series] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return m, nil
}

// splitSeries splits a sample line after its series: the name and, when
// present, the brace-enclosed label set.
func splitSeries(text string) (series, rest string, err error) {
	end := strings.IndexAny(text, "{ \t")
	if end < 0 {
		return "", "", fmt.Errorf("no value in %q", text)
	}
	if end == 0 {
		return "", "", fmt.Errorf("no metric name in %q", text)
	}
	if text[end] != '{' {
		return text[:end], text[end:], nil
	}
	inQuotes := false
	for i := end + 1; i < len(text); i++ {
		switch c := text[i]; {
		case inQuotes && c == '\\':
			i++ // the escaped character: \\, \" or \n
		case c == '"':
			inQuotes = !inQuotes
		case !inQuotes && c == '}':
			return text[:i+1], text[i+1:], nil
		}
	}
	return "", "", fmt.Errorf("unterminated label set in %q", text)
}

// parseValue parses a sample value: a Go float, or +Inf, -Inf and NaN as
// the format spells them.
func parseValue(s string) (float64, error) {
	switch s {
	case "+Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	case "NaN":
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q: %w", s, err)
	}
	return v, nil
}

// scraper reads edge's /metrics on the admin listener.
type scraper struct {
	url, token string
}

// scrape fetches and parses one exposition.
func (s scraper) scrape() (metrics, error) {
	var m metrics
	err := s.get(s.url, 10*time.Second, func(body []byte) (err error) {
		m, err = parseMetrics(bytes.NewReader(body))
		return err
	})
	return m, err
}

// liveHeap makes edge collect its garbage (the heap profile with gc=1
// runs runtime.GC first), saving the profile to saveTo when it is not
// empty, and scrapes the metrics after it: the heap then holds only live
// objects, which tells what the cache's entries weigh. The profile is
// behind the admin token.
func (s scraper) liveHeap(profileURL, saveTo string) (metrics, error) {
	err := s.get(profileURL+"?gc=1", 30*time.Second, func(body []byte) error {
		if saveTo == "" {
			return nil
		}
		if err := os.WriteFile(saveTo, body, 0o644); err != nil {
			return fmt.Errorf("heap profile: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.scrape()
}

// get fetches url with the admin token and hands a 200's body to use.
func (s scraper) get(url string, timeout time.Duration, use func(body []byte) error) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.Set(fasthttp.HeaderAuthorization, "Bearer "+s.token)
	if err := fasthttp.DoTimeout(req, resp, timeout); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode())
	}
	return use(resp.Body())
}

// Series the benchmark reads from edge's /metrics (cachehttp/metrics.go and
// the Go runtime collector).
const (
	mCacheBytes     = "edge_cache_bytes"
	mCacheEntries   = "edge_cache_entries"
	mCacheCapacity  = "edge_cache_capacity_bytes"
	mCacheEvictions = "edge_cache_evictions_total"
	mCacheRequests  = "edge_cache_requests_total"
	mCacheFetches   = "edge_cache_origin_fetches_total"
	mCPUSeconds     = "process_cpu_seconds_total"
	mHeapAlloc      = "go_memstats_heap_alloc_bytes"
	mHeapInuse      = "go_memstats_heap_inuse_bytes"
)

// watch is what the sampler has seen of edge so far.
type watch struct {
	Mem            procMem // the latest /proc sample
	MaxRSS         int64   // the largest VmRSS sampled
	First          metrics // the first scrape, before the clients started
	Metrics        metrics // the latest scrape
	MaxCachedBytes int64   // the largest edge_cache_bytes scraped
	Scrapes        int
	Err            error // the first sampling error
}

// sampler reads edge's memory from /proc every period and scrapes its
// metrics every scrapeEvery-th period, until stopped. Scraping costs edge
// a little CPU (it renders the exposition), so it is done less often.
type sampler struct {
	pid         int
	scr         scraper
	period      time.Duration
	scrapeEvery int

	mu   sync.Mutex
	w    watch
	stop chan struct{}
	done chan struct{}
}

func newSampler(pid int, scr scraper, period time.Duration, scrapeEvery int) *sampler {
	return &sampler{pid: pid, scr: scr, period: period, scrapeEvery: max(scrapeEvery, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// start samples once at once, then every period in the background.
func (s *sampler) start() {
	s.sample(true)
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.period)
		defer t.Stop()
		for i := 1; ; i++ {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample(i%s.scrapeEvery == 0)
			}
		}
	}()
}

// finish stops the background sampling and takes a last sample of both.
func (s *sampler) finish() watch {
	close(s.stop)
	<-s.done
	s.sample(true)
	return s.latest()
}

// latest returns a copy of what has been seen so far.
func (s *sampler) latest() watch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w
}

func (s *sampler) sample(scrape bool) {
	mem, memErr := readProcMem(s.pid)
	var m metrics
	var scrapeErr error
	if scrape {
		m, scrapeErr = s.scr.scrape()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := errors.Join(memErr, scrapeErr); err != nil && s.w.Err == nil {
		s.w.Err = err
	}
	if memErr == nil {
		s.w.Mem = mem
		s.w.MaxRSS = max(s.w.MaxRSS, mem.RSS)
	}
	if m != nil {
		if s.w.First == nil {
			s.w.First = m
		}
		s.w.Metrics = m
		s.w.Scrapes++
		s.w.MaxCachedBytes = max(s.w.MaxCachedBytes, int64(m.get(mCacheBytes)))
	}
}
