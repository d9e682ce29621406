// Command soak drives a running edge node with mixed traffic for a long
// time and reports whether it stayed healthy: product pages, fragments,
// orders, purges and SIGHUP reloads, with the node's RSS, heap and
// goroutines at the start and at the end. It exits 1 when any request
// failed (a transport error, a 5xx other than a queue_full refusal, or a
// page that was not 200) or when goroutines kept growing.
//
// scripts/soak.sh starts the example shop and an edge binary and runs it;
// see there for the setup.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	var (
		pub      = flag.String("pub", "127.0.0.1:18080", "edge public address")
		adm      = flag.String("admin", "127.0.0.1:19090", "edge admin address")
		token    = flag.String("token", "soak-token", "admin bearer token")
		pid      = flag.Int("pid", 0, "edge process id (for RSS and SIGHUP); 0 skips both")
		duration = flag.Duration("duration", 10*time.Minute, "how long to run")
		workers  = flag.Int("workers", 8, "concurrent clients")
		rate     = flag.Int("rate", 400, "requests per second, all clients together")
		reload   = flag.Duration("reload-every", 10*time.Second, "SIGHUP period (0: never)")
		purge    = flag.Duration("purge-every", 5*time.Second, "purge period (0: never)")
	)
	flag.Parse()
	s := &soak{pub: *pub, adm: *adm, token: *token, pid: *pid}
	before := s.sample()
	fmt.Printf("start: %s\n", before)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	perWorker := time.Second * time.Duration(*workers) / time.Duration(max(*rate, 1))
	for w := range *workers {
		wg.Add(1)
		go func() { defer wg.Done(); s.client(w, perWorker, stop) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); s.periodic(*reload, *purge, stop) }()
	progress := time.NewTicker(time.Minute)
	deadline := time.After(*duration)
loop:
	for {
		select {
		case <-progress.C:
			fmt.Printf("  %s requests=%d errors=%d\n", s.sample(), s.requests.Load(), s.errors.Load())
		case <-deadline:
			break loop
		}
	}
	close(stop)
	wg.Wait()
	time.Sleep(3 * time.Second) // let idle connections and retired tables go
	after := s.sample()
	fmt.Printf("end:   %s\n", after)
	fmt.Printf("requests=%d errors=%d reloads=%d purges=%d\n", s.requests.Load(), s.errors.Load(), s.reloads.Load(), s.purges.Load())
	for status, n := range s.statuses() {
		fmt.Printf("  status %d: %d\n", status, n)
	}
	failed := s.errors.Load() > 0
	if after.goroutines > 2*before.goroutines+100 {
		fmt.Printf("goroutines grew from %d to %d\n", before.goroutines, after.goroutines)
		failed = true
	}
	if failed {
		fmt.Println("FAIL")
		os.Exit(1)
	}
	fmt.Println("PASS")
}

type soak struct {
	pub, adm, token string
	pid             int

	requests, errors, reloads, purges atomic.Int64
	mu                                sync.Mutex
	byStatus                          map[int]int64
}

// client sends one request every period until stop: 55% product pages, 25%
// fragments, 20% orders, each shopper a fresh id so per-user limits and the
// stock gate see many people.
func (s *soak) client(w int, period time.Duration, stop <-chan struct{}) {
	c := &fasthttp.Client{ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, MaxConnsPerHost: 16}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	t := time.NewTicker(period)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		req.Reset()
		user := "u" + strconv.Itoa(w) + "-" + strconv.Itoa(n)
		req.Header.SetCookie("session", user)
		page := false
		switch r := rand.IntN(100); {
		case r < 55:
			req.SetRequestURI("http://" + s.pub + "/item/" + []string{"42", "43"}[r%2])
			page = true
		case r < 70:
			req.SetRequestURI("http://" + s.pub + "/frag/price/42")
		case r < 80:
			req.SetRequestURI("http://" + s.pub + "/_edge/stock/42")
		default:
			req.Header.SetMethod(fasthttp.MethodPost)
			req.SetRequestURI("http://" + s.pub + "/order?item=42")
		}
		err := c.DoTimeout(req, resp, 5*time.Second)
		s.requests.Add(1)
		if err != nil {
			s.fail(fmt.Errorf("%s: %w", req.URI(), err))
			continue
		}
		code := resp.StatusCode()
		s.count(code)
		switch {
		case page && code != fasthttp.StatusOK:
			s.fail(fmt.Errorf("%s: page status %d", req.URI(), code))
		case code == fasthttp.StatusServiceUnavailable && bytes.Contains(resp.Body(), []byte("queue_full")):
		case code >= 500:
			s.fail(fmt.Errorf("%s: status %d %.80s", req.URI(), code, resp.Body()))
		}
	}
}

// periodic purges the item pages and reloads the node until stop.
func (s *soak) periodic(reload, purge time.Duration, stop <-chan struct{}) {
	tick := func(d time.Duration) <-chan time.Time {
		if d <= 0 {
			return nil
		}
		return time.NewTicker(d).C
	}
	rl, pg := tick(reload), tick(purge)
	for {
		select {
		case <-stop:
			return
		case <-rl:
			if s.pid > 0 {
				if err := syscall.Kill(s.pid, syscall.SIGHUP); err != nil {
					s.fail(fmt.Errorf("SIGHUP: %w", err))
				}
				s.reloads.Add(1)
			}
		case <-pg:
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.Header.SetMethod(fasthttp.MethodPost)
			req.SetRequestURI("http://" + s.adm + "/purge?prefix=http://" + s.pub + "/item/")
			req.Header.Set("Authorization", "Bearer "+s.token)
			if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil || resp.StatusCode() != 200 {
				s.fail(fmt.Errorf("purge: %v %d %.80s", err, resp.StatusCode(), resp.Body()))
			}
			s.purges.Add(1)
			fasthttp.ReleaseRequest(req)
			fasthttp.ReleaseResponse(resp)
		}
	}
}

func (s *soak) fail(err error) {
	if s.errors.Add(1) <= 10 {
		fmt.Fprintln(os.Stderr, "error:", err)
	}
}

func (s *soak) count(code int) {
	s.mu.Lock()
	if s.byStatus == nil {
		s.byStatus = map[int]int64{}
	}
	s.byStatus[code]++
	s.mu.Unlock()
}

func (s *soak) statuses() map[int]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int]int64, len(s.byStatus))
	for k, v := range s.byStatus {
		out[k] = v
	}
	return out
}

// sample is the node's footprint at one moment.
type sample struct {
	rssKiB, heapBytes, goroutines int64
}

func (p sample) String() string {
	return fmt.Sprintf("rss=%.1fMiB heap_inuse=%.1fMiB goroutines=%d",
		float64(p.rssKiB)/1024, float64(p.heapBytes)/(1<<20), p.goroutines)
}

// sample reads RSS from /proc and heap and goroutines from the node's
// Prometheus metrics.
func (s *soak) sample() sample {
	var p sample
	if s.pid > 0 {
		if f, err := os.Open("/proc/" + strconv.Itoa(s.pid) + "/status"); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
					p.rssKiB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				}
			}
			f.Close()
		}
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + s.adm + "/metrics")
	req.Header.Set("Authorization", "Bearer "+s.token)
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		s.fail(fmt.Errorf("metrics: %w", err))
		return p
	}
	for _, line := range strings.Split(string(resp.Body()), "\n") {
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch name {
		case "go_memstats_heap_inuse_bytes":
			p.heapBytes = int64(f)
		case "go_goroutines":
			p.goroutines = int64(f)
		}
	}
	return p
}
