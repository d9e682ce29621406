package main

import (
	"bufio"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Stampede describes one burst: Clients connections opened beforehand,
// then every client sends the same GET at the same instant.
type Stampede struct {
	// Addr is the server's host:port.
	Addr string
	// Path is the request path (with query), the same for every client.
	Path string
	// Clients is the number of simultaneous requests. Default 200.
	Clients int
	// Timeout bounds dialing and each request. Default 10s.
	Timeout time.Duration
	// ExpectSize, when positive, is the body length a successful response
	// must have; other lengths count as errors.
	ExpectSize int
}

// Result is what a stampede measured. Latencies are in microseconds, from
// the moment a client wrote its request to the end of its response.
type Result struct {
	Clients int         `json:"clients"`
	OK      int         `json:"ok"`
	Errors  int         `json:"errors"`
	Status  map[int]int `json:"status"`
	MinUS   int64       `json:"min_us"`
	P50US   int64       `json:"p50_us"`
	P99US   int64       `json:"p99_us"`
	MaxUS   int64       `json:"max_us"`
	// WallUS is from the release of the clients to the last response.
	WallUS int64 `json:"wall_us"`
	// FirstError describes one failure, if any, to tell why.
	FirstError string `json:"first_error,omitempty"`
}

type outcome struct {
	latency time.Duration
	status  int
	err     error
}

// Run opens the connections, releases every client at once and waits for
// all answers.
func (s Stampede) Run() (Result, error) {
	if s.Clients <= 0 {
		s.Clients = 200
	}
	if s.Timeout <= 0 {
		s.Timeout = 10 * time.Second
	}
	conns := make([]net.Conn, 0, s.Clients)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	d := net.Dialer{Timeout: s.Timeout}
	for range s.Clients {
		c, err := d.Dial("tcp", s.Addr)
		if err != nil {
			return Result{}, fmt.Errorf("dial %s: %w", s.Addr, err)
		}
		conns = append(conns, c)
	}

	release := make(chan struct{})
	out := make([]outcome, s.Clients)
	var ready, done sync.WaitGroup
	ready.Add(s.Clients)
	done.Add(s.Clients)
	for i, c := range conns {
		go func() {
			defer done.Done()
			req := []byte(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: bench-load\r\nCookie: session=shopper-%d\r\n\r\n", s.Path, s.Addr, i))
			br := bufio.NewReaderSize(c, 16<<10)
			ready.Done()
			<-release
			out[i] = s.one(c, br, req)
		}()
	}
	ready.Wait()
	start := time.Now()
	close(release)
	done.Wait()
	wall := time.Since(start)
	return summarize(out, wall, s.Clients), nil
}

// one sends req on c and reads the answer.
func (s Stampede) one(c net.Conn, br *bufio.Reader, req []byte) outcome {
	start := time.Now()
	if err := c.SetDeadline(start.Add(s.Timeout)); err != nil {
		return outcome{err: fmt.Errorf("set deadline: %w", err)}
	}
	if _, err := c.Write(req); err != nil {
		return outcome{err: fmt.Errorf("write: %w", err)}
	}
	var resp fasthttp.Response
	if err := resp.Read(br); err != nil {
		return outcome{err: fmt.Errorf("read: %w", err)}
	}
	o := outcome{latency: time.Since(start), status: resp.StatusCode()}
	if s.ExpectSize > 0 && len(resp.Body()) != s.ExpectSize {
		o.err = fmt.Errorf("body of %d bytes, want %d", len(resp.Body()), s.ExpectSize)
	}
	return o
}

// summarize turns the outcomes into a Result.
func summarize(out []outcome, wall time.Duration, clients int) Result {
	r := Result{Clients: clients, Status: map[int]int{}, WallUS: wall.Microseconds()}
	var lat []time.Duration
	for _, o := range out {
		if o.status != 0 {
			r.Status[o.status]++
		}
		switch {
		case o.err != nil:
			r.Errors++
			if r.FirstError == "" {
				r.FirstError = o.err.Error()
			}
		case o.status < 200 || o.status > 299:
			r.Errors++
			if r.FirstError == "" {
				r.FirstError = fmt.Sprintf("status %d", o.status)
			}
		default:
			r.OK++
			lat = append(lat, o.latency)
		}
	}
	if len(lat) == 0 {
		return r
	}
	slices.Sort(lat)
	r.MinUS = lat[0].Microseconds()
	r.P50US = Percentile(lat, 50).Microseconds()
	r.P99US = Percentile(lat, 99).Microseconds()
	r.MaxUS = lat[len(lat)-1].Microseconds()
	return r
}

// Percentile returns the nearest-rank q-th percentile (0 < q ≤ 100) of
// sorted, which must not be empty.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	rank := int(q/100*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}
