package app

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// shopperLoad drives a flash sale the way a crowd does: every shopper
// presses "buy" several times (whether or not an earlier press succeeded),
// the presses of one round come in random order from a bounded number of
// connections, spread over the edge nodes round robin; then shoppers whose
// last answer said "try again" (503) and who have not bought retry until
// Done reports the sale complete.
type shopperLoad struct {
	// Item is the item ordered.
	Item string
	// Nodes are the public addresses of the edge nodes.
	Nodes []string
	// Shoppers, Attempts (total presses of the main phase: Attempts/Shoppers
	// rounds) and Workers (concurrent connections).
	Shoppers, Attempts, Workers int
	// Deadline bounds the whole load.
	Deadline time.Duration
	// Done ends the retry phase once it reports true (nil: retry until no
	// shopper has a 503 answer left).
	Done func() bool
	// OnBought is called after each 2xx with the number seen so far.
	OnBought func(n int64)
	// Stop, once closed, ends the load early (the test is over).
	Stop <-chan struct{}
}

// loadReport is what the shoppers saw.
type loadReport struct {
	Sent    int64
	Answers map[string]int // "201", "410 sold_out", "503 retry", ...
	Buyers  map[string]int // shopper → 2xx answers
	Elapsed time.Duration
	// Unexpected holds samples of answers outside the documented set.
	Unexpected []string
	Retries    int // rounds of the retry phase
}

// OK counts the 201 answers: orders the shop accepted.
func (r *loadReport) OK() int {
	n := 0
	for _, c := range r.Buyers {
		n += c
	}
	return n
}

// ShopFailed counts the answers telling that the shop failed the order
// (503 retry: the unit was given back).
func (r *loadReport) ShopFailed() int { return r.Answers["503 retry"] }

func (r *loadReport) String() string {
	keys := make([]string, 0, len(r.Answers))
	for k := range r.Answers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " [%s]=%d", k, r.Answers[k])
	}
	return fmt.Sprintf("%d requests in %v (%.0f/s), %d retry rounds:%s",
		r.Sent, r.Elapsed.Round(time.Millisecond), float64(r.Sent)/r.Elapsed.Seconds(), r.Retries, b.String())
}

// saleAnswers lists the answers a shopper may see in a sale; anything else is
// a failure of the test.
var saleAnswers = map[string]bool{
	"201": true, "409 limit_reached": true, "410 sold_out": true,
	"503 retry": true, "503 unavailable": true, "503 queue_full": true,
}

// run drives the load and returns what the shoppers saw. Problems of the
// load itself (deadline) are reported on t.
func (l shopperLoad) run(t *testing.T) *loadReport {
	t.Helper()
	client := &fasthttp.Client{
		MaxConnsPerHost:          l.Workers,
		MaxConnWaitTimeout:       10 * time.Second,
		ReadTimeout:              15 * time.Second,
		WriteTimeout:             15 * time.Second,
		NoDefaultUserAgentHeader: true,
	}
	defer client.CloseIdleConnections()
	rep := &loadReport{Answers: map[string]int{}, Buyers: map[string]int{}}
	var (
		mu     sync.Mutex
		rr     atomic.Uint64
		bought atomic.Int64
		round  sync.WaitGroup
	)
	last := make([]atomic.Int32, l.Shoppers) // last status seen per shopper
	has := make([]atomic.Bool, l.Shoppers)   // bought at least once
	jobs := make(chan int)
	var roundAll503 atomic.Bool
	name := func(s int) string { return fmt.Sprintf("shopper-%05d", s) }

	worker := func() {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		for s := range jobs {
			if l.stopped() {
				round.Done()
				continue
			}
			node := l.Nodes[rr.Add(1)%uint64(len(l.Nodes))]
			req.Reset()
			resp.Reset()
			req.Header.SetMethod("POST")
			req.SetRequestURI("http://" + node + "/order?item=" + l.Item)
			req.Header.Set("X-User-Id", name(s))
			key := ""
			if err := client.DoTimeout(req, resp, 15*time.Second); err != nil {
				key = "transport " + err.Error()
			} else {
				code := resp.StatusCode()
				last[s].Store(int32(code))
				key = fmt.Sprint(code)
				if code >= 300 {
					key += " " + reasonOf(resp.Body())
				}
				if code != 503 {
					roundAll503.Store(false)
				}
			}
			mu.Lock()
			rep.Sent++
			rep.Answers[key]++
			if key == "201" {
				rep.Buyers[name(s)]++
			}
			if !saleAnswers[key] && len(rep.Unexpected) < 10 {
				rep.Unexpected = append(rep.Unexpected, key+": "+string(resp.Body()))
			}
			mu.Unlock()
			if key == "201" {
				has[s].Store(true)
				if l.OnBought != nil {
					l.OnBought(bought.Add(1))
				}
			}
			round.Done()
		}
	}
	for range l.Workers {
		go worker()
	}
	defer close(jobs)
	send := func(shoppers []int) {
		roundAll503.Store(true)
		round.Add(len(shoppers))
		for _, s := range shoppers {
			jobs <- s
		}
		round.Wait()
	}

	start := time.Now()
	deadline := start.Add(l.Deadline)
	for range l.Attempts / l.Shoppers {
		send(rand.Perm(l.Shoppers))
	}
	for time.Now().Before(deadline) && !l.stopped() {
		if l.Done != nil && l.Done() {
			break
		}
		var again []int
		for s := range l.Shoppers {
			if !has[s].Load() && last[s].Load() == 503 {
				again = append(again, s)
			}
		}
		if len(again) == 0 {
			break
		}
		rep.Retries++
		send(again)
		if roundAll503.Load() {
			// Everyone was told to come back later: honour Retry-After,
			// scaled down to keep the test short.
			time.Sleep(20 * time.Millisecond)
		}
	}
	rep.Elapsed = time.Since(start)
	if time.Now().After(deadline) && !l.stopped() {
		t.Errorf("the sale did not complete within %v: %v", l.Deadline, rep)
	}
	return rep
}

// stopped reports whether Stop was closed.
func (l shopperLoad) stopped() bool {
	select {
	case <-l.Stop:
		return true
	default:
		return false
	}
}
