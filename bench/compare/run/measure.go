package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Sample is one measured round of one server on one scenario.
type Sample struct {
	// Requests completed and the wall time they took.
	Requests int64
	Wall     time.Duration
	// Latency percentiles and maximum.
	P50, P99, Max time.Duration
	// Errors: connection errors, timeouts and non-2xx/3xx answers.
	Errors int64
	// Origin is the number of requests the origin served meanwhile.
	Origin int64
	// CPU is the server's CPU time (user + system, all its processes)
	// meanwhile.
	CPU time.Duration
	// LoadCPU is the load generator's CPU time.
	LoadCPU time.Duration
	// Noise is the share of the benchmark's two CPUs taken by other
	// processes meanwhile (see noise).
	Noise float64
}

// RPS is requests per second.
func (x Sample) RPS() float64 {
	if x.Wall <= 0 {
		return 0
	}
	return float64(x.Requests) / x.Wall.Seconds()
}

// CPUShare is the server's CPU time over the wall time: 1 = one core.
func (x Sample) CPUShare() float64 {
	if x.Wall <= 0 {
		return 0
	}
	return x.CPU.Seconds() / x.Wall.Seconds()
}

// LoadShare is the load generator's CPU time over the wall time: near 1,
// the load generator, not the server, set the pace.
func (x Sample) LoadShare() float64 {
	if x.Wall <= 0 {
		return 0
	}
	return x.LoadCPU.Seconds() / x.Wall.Seconds()
}

// CPUPerRequest is the server's CPU time per request.
func (x Sample) CPUPerRequest() time.Duration {
	if x.Requests == 0 {
		return 0
	}
	return x.CPU / time.Duration(x.Requests)
}

// wrkLine is the prefix of the line bench.lua prints.
const wrkLine = "BENCH "

// parseWrk reads the line bench.lua's done() prints.
func parseWrk(out []byte) (Sample, error) {
	for _, line := range strings.Split(string(out), "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), wrkLine)
		if !ok {
			continue
		}
		v := map[string]int64{}
		for _, f := range strings.Fields(rest) {
			k, val, ok := strings.Cut(f, "=")
			if !ok {
				return Sample{}, fmt.Errorf("wrk output: malformed field %q", f)
			}
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return Sample{}, fmt.Errorf("wrk output: field %q: %w", f, err)
			}
			v[k] = n
		}
		for _, k := range []string{"requests", "duration_us", "p50_us", "p99_us", "max_us"} {
			if _, ok := v[k]; !ok {
				return Sample{}, fmt.Errorf("wrk output: no %s in %q", k, line)
			}
		}
		us := func(k string) time.Duration { return time.Duration(v[k]) * time.Microsecond }
		return Sample{
			Requests: v["requests"], Wall: us("duration_us"),
			P50: us("p50_us"), P99: us("p99_us"), Max: us("max_us"),
			Errors: v["connect"] + v["read"] + v["write"] + v["status"] + v["timeout"],
		}, nil
	}
	return Sample{}, fmt.Errorf("wrk output has no %q line:\n%s", strings.TrimSpace(wrkLine), out)
}

// runWrk runs wrk on the load CPU against url for d with conns connections
// (urls > 0: random pages prefix+n).
func runWrk(s Settings, script, url string, conns int, d time.Duration, urls int, prefix string) (Sample, error) {
	argv := []string{s.Wrk, "-t1", "-c" + strconv.Itoa(conns), "-d" + wrkDuration(d), "--timeout", "5s", "-s", script, url}
	if s.Taskset != "" {
		argv = append([]string{s.Taskset, "-c", strconv.Itoa(s.CPULoad)}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(cmd.Environ(), "BENCH_URLS="+strconv.Itoa(urls), "BENCH_PREFIX="+prefix)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return Sample{}, fmt.Errorf("wrk: %w:\n%s", err, out)
	}
	x, err := parseWrk(out)
	x.LoadCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return x, err
}

// wrkDuration writes d for wrk, which reads whole seconds or milliseconds
// ("1500ms" is not valid wrk syntax before 4.2; seconds are).
func wrkDuration(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second/2)/time.Second))) + "s"
}

// stampedeResult is the JSON line of the load command.
type stampedeResult struct {
	Clients    int         `json:"clients"`
	OK         int         `json:"ok"`
	Errors     int         `json:"errors"`
	Status     map[int]int `json:"status"`
	MinUS      int64       `json:"min_us"`
	P50US      int64       `json:"p50_us"`
	P99US      int64       `json:"p99_us"`
	MaxUS      int64       `json:"max_us"`
	WallUS     int64       `json:"wall_us"`
	FirstError string      `json:"first_error"`
}

// runStampede fires the burst at addr+path from the load CPU.
func runStampede(s Settings, addr, path string, expectSize int) (Sample, string, error) {
	argv := []string{s.Load, "-addr", addr, "-path", path, "-clients", strconv.Itoa(s.StampedeClients),
		"-expect-size", strconv.Itoa(expectSize)}
	if s.Taskset != "" {
		argv = append([]string{s.Taskset, "-c", strconv.Itoa(s.CPULoad)}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return Sample{}, "", fmt.Errorf("load: %w: %s", err, ee.Stderr)
		}
		return Sample{}, "", fmt.Errorf("load: %w", err)
	}
	var r stampedeResult
	if err := json.Unmarshal(out, &r); err != nil {
		return Sample{}, "", fmt.Errorf("load output %q: %w", out, err)
	}
	us := func(n int64) time.Duration { return time.Duration(n) * time.Microsecond }
	return Sample{
		Requests: int64(r.OK), Wall: us(r.WallUS), P50: us(r.P50US), P99: us(r.P99US), Max: us(r.MaxUS),
		Errors:  int64(r.Errors),
		LoadCPU: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(),
	}, r.FirstError, nil
}

// client is the runner's own HTTP client (checks, warm-up, origin counts).
// It asks for identity encoding, as wrk does.
var client = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16},
}

// get fetches url with a shopper's cookie and returns status, headers and
// body.
func get(url string) (int, http.Header, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("GET %s: %w", url, err)
	}
	req.Header.Set("Cookie", "session=bench-shopper; cart=3")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("GET %s: body: %w", url, err)
	}
	return resp.StatusCode, resp.Header, body, nil
}

// originTotal returns the origin's request count so far.
func originTotal(origin string) (int64, error) {
	status, _, body, err := get("http://" + origin + "/_count")
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("origin /_count: status %d", status)
	}
	var c map[string]int64
	if err := json.Unmarshal(body, &c); err != nil {
		return 0, fmt.Errorf("origin /_count: %w", err)
	}
	return c["total"], nil
}

// verify fetches path from the server twice (the second answer comes from
// its cache) and says what is wrong with the answers, "" when nothing is.
// It returns the header of the second answer, the one the measured rounds
// get.
func verify(addr, path string) (http.Header, string) {
	want := expected(path)
	var h http.Header
	for i := range 2 {
		status, hdr, body, err := get("http://" + addr + path)
		if err != nil {
			return nil, err.Error()
		}
		h = hdr
		if status != http.StatusOK {
			return nil, fmt.Sprintf("GET %s: status %d", path, status)
		}
		if !bytes.Equal(body, want) {
			switch {
			case bytes.Contains(body, []byte("<esi:include")):
				return nil, "ESI not assembled: the page still holds <esi:include> tags"
			case bytes.Contains(body, []byte("<!--# include")):
				return nil, "SSI not assembled: the page still holds <!--# include --> tags"
			}
			return nil, fmt.Sprintf("GET %s: %d bytes that differ from the %d expected", path, len(body), len(want))
		}
		if i == 1 && h.Get("Set-Cookie") != "" {
			return nil, fmt.Sprintf("GET %s: a cached answer carries the origin's Set-Cookie", path)
		}
	}
	return h, ""
}

// warm asks the server for prefix+n, n in [0, urls), once each, so that the
// measured rounds find every page stored. It returns how many failed.
func warm(addr, prefix string, urls int) int64 {
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := next.Add(1) - 1; n < int64(urls); n = next.Add(1) - 1 {
				status, _, _, err := get("http://" + addr + prefix + strconv.FormatInt(n, 10))
				if err != nil || status != http.StatusOK {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return failed.Load()
}
