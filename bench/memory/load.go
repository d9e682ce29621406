package main

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// shopHost is the Host the clients ask for; it is part of edge's cache key.
const shopHost = "shop.example"

// loadResult is what the clients got back.
type loadResult struct {
	Fetched   int64 // requests answered (whatever the answer)
	Non200    int64 // answers other than 200
	Transport int64 // requests without an answer (connection error, timeout)
	WrongBody int64 // 200 answers whose body is not the page asked for
	Cookies   int64 // answers carrying a Set-Cookie (edge must strip it)
	Elapsed   time.Duration
	Failures  []string // the first few failures, for the report
}

// errors is the count of failed requests of every kind.
func (r loadResult) errors() int64 { return r.Non200 + r.Transport + r.WrongBody + r.Cookies }

// rate is the requests answered per second.
func (r loadResult) rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Fetched) / r.Elapsed.Seconds()
}

// maxFailures bounds the failures kept for the report.
const maxFailures = 5

// loader fetches /p/0 … /p/{urls-1} through edge, each URL once, with
// conns keep-alive connections each driven by its own goroutine.
type loader struct {
	hc    *fasthttp.HostClient
	urls  int64
	conns int

	next, done                            atomic.Int64
	non200, transport, wrongBody, cookies atomic.Int64
	mu                                    sync.Mutex
	failures                              []string
}

func newLoader(addr string, urls int64, conns int) *loader {
	return &loader{
		urls:  urls,
		conns: conns,
		hc: &fasthttp.HostClient{
			Addr:                     addr,
			MaxConns:                 conns,
			ReadTimeout:              10 * time.Second,
			WriteTimeout:             10 * time.Second,
			MaxIdleConnDuration:      time.Minute,
			NoDefaultUserAgentHeader: true,
			DisablePathNormalizing:   true,
		},
	}
}

// fetched is the number of requests answered so far.
func (l *loader) fetched() int64 { return l.done.Load() }

// run fetches every URL with the loader's concurrent clients and returns
// the counts once all are done.
func (l *loader) run() loadResult {
	start := time.Now()
	var wg sync.WaitGroup
	for w := range l.conns {
		wg.Go(func() { l.client(w) })
	}
	wg.Wait()
	l.hc.CloseIdleConnections()
	l.mu.Lock()
	defer l.mu.Unlock()
	return loadResult{
		Fetched:   l.done.Load(),
		Non200:    l.non200.Load(),
		Transport: l.transport.Load(),
		WrongBody: l.wrongBody.Load(),
		Cookies:   l.cookies.Load(),
		Elapsed:   time.Since(start),
		Failures:  append([]string(nil), l.failures...),
	}
}

// client takes the next URL until none is left. Every request carries a
// shopper's cookie, as a browser's would; every answer must be exactly the
// page asked for, without the origin's Set-Cookie.
func (l *loader) client(w int) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetHost(shopHost)
	req.Header.Set(fasthttp.HeaderAccept, "text/html")
	req.Header.Set(fasthttp.HeaderCookie, "session=shopper-"+strconv.Itoa(w))
	uri := make([]byte, 0, 32)
	want := make([]byte, 0, 2048)
	for {
		n := l.next.Add(1) - 1
		if n >= l.urls {
			return
		}
		uri = strconv.AppendInt(append(uri[:0], pagePrefix...), n, 10)
		req.SetRequestURIBytes(uri)
		err := l.hc.Do(req, resp)
		if err != nil {
			l.transport.Add(1)
			l.fail("GET %s: %v", uri, err)
			continue
		}
		l.done.Add(1)
		switch want = appendPage(want[:0], int(n)); {
		case resp.StatusCode() != fasthttp.StatusOK:
			l.non200.Add(1)
			l.fail("GET %s: status %d %.80q", uri, resp.StatusCode(), resp.Body())
		case len(resp.Header.Peek(fasthttp.HeaderSetCookie)) > 0:
			l.cookies.Add(1)
			l.fail("GET %s: Set-Cookie %q reached the client", uri, resp.Header.Peek(fasthttp.HeaderSetCookie))
		case !bytes.Equal(resp.Body(), want):
			l.wrongBody.Add(1)
			l.fail("GET %s: body of %d bytes is not page %d (%d bytes)", uri, len(resp.Body()), n, len(want))
		}
	}
}

func (l *loader) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.failures) < maxFailures {
		l.failures = append(l.failures, fmt.Sprintf(format, args...))
	}
}
