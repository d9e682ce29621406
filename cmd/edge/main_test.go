package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/testutil"
)

// edgeBin is the edge binary built once for the process-level tests.
var edgeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "edge-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if edgeBin, err = testutil.BuildEdge(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestCheckNamesEveryProblem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "broken.yaml")
	writeFile(t, bad, `listen: 127.0.0.1:8080
admin: {listen: 127.0.0.1:9090, token: t}
listn: oops
upstreams:
  shop:
    servers: [127.0.0.1:9000]
    timeout: 3 seconds
routes:
  - name: item
    match: {path: /item/}
    upstream: shpo
`)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-check", "-config", bad}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr.String())
	}
	lines := map[string]bool{}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(bad) + `:(\d+): `)
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			lines[m[1]] = true
		}
	}
	for _, want := range []string{"3", "7", "11"} {
		if !lines[want] {
			t.Errorf("no problem reported on line %s; stderr:\n%s", want, stderr.String())
		}
	}
	if len(lines) != 3 {
		t.Errorf("want 3 distinct lines, got %v; stderr:\n%s", lines, stderr.String())
	}

	good := filepath.Join(dir, "good.yaml")
	writeFile(t, good, minimalConfig(testutil.FreeAddr(t), testutil.FreeAddr(t), "127.0.0.1:9000", "/"))
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"-check", "-config", good}, &stdout, &stderr); code != 0 {
		t.Fatalf("good file: exit %d; stderr:\n%s", code, stderr.String())
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-version"}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "edge ") {
		t.Fatalf("exit %d, out %q", code, stdout.String())
	}
}

// TestReloadKeepsRunningConfigOnBadFile: SIGHUP with a good file changes the
// routes; SIGHUP with a broken file is logged and the old routes stay.
func TestReloadKeepsRunningConfigOnBadFile(t *testing.T) {
	t.Parallel()
	origin := startOrigin(t, 0)
	pub, adm := testutil.FreeAddr(t), testutil.FreeAddr(t)
	cfg := filepath.Join(t.TempDir(), "edge.yaml")
	writeFile(t, cfg, minimalConfig(pub, adm, origin, "/a/"))
	p := startEdge(t, cfg, adm)

	if code := get(t, "http://"+pub+"/a/x"); code != 200 {
		t.Fatalf("/a/x before reload: %d", code)
	}
	if code := get(t, "http://"+pub+"/b/x"); code != 404 {
		t.Fatalf("/b/x before reload: %d, want 404", code)
	}
	writeFile(t, cfg, minimalConfig(pub, adm, origin, "/b/"))
	p.signal(t, syscall.SIGHUP)
	testutil.WaitFor(t, 10*time.Second, "/b/x served after the reload", func() bool { return get(t, "http://"+pub+"/b/x") == 200 })

	writeFile(t, cfg, "listen: [this is not\n  valid: yaml")
	p.signal(t, syscall.SIGHUP)
	testutil.WaitFor(t, 10*time.Second, "the failed reload logged", func() bool { return strings.Contains(p.log(), "reload failed") })
	if code := get(t, "http://"+pub+"/b/x"); code != 200 {
		t.Fatalf("/b/x after a bad reload: %d, want the old config serving", code)
	}
	if !metricAtLeast(t, adm, `edge_config_reloads_total{result="failed"}`, 1) {
		t.Fatal("failed reload not counted")
	}
}

// TestTermDrainsInFlight: SIGTERM while requests are in flight at a slow
// origin; every one of them completes with 200 and edge exits 0.
func TestTermDrainsInFlight(t *testing.T) {
	t.Parallel()
	origin := startOrigin(t, 300*time.Millisecond)
	pub, adm := testutil.FreeAddr(t), testutil.FreeAddr(t)
	cfg := filepath.Join(t.TempDir(), "edge.yaml")
	writeFile(t, cfg, minimalConfig(pub, adm, origin, "/"))
	p := startEdge(t, cfg, adm)

	const n = 40
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := &fasthttp.Client{ReadTimeout: 5 * time.Second}
			code, _, err := c.Get(nil, fmt.Sprintf("http://%s/slow/%d", pub, i))
			if err != nil {
				code = -1
			}
			codes <- code
		}(i)
	}
	time.Sleep(100 * time.Millisecond) // let the requests reach the origin
	p.signal(t, syscall.SIGTERM)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("in-flight request got %d during drain", c)
		}
	}
	if err := p.wait(10 * time.Second); err != nil {
		t.Fatalf("edge did not exit 0 after SIGTERM: %v\n%s", err, p.log())
	}
}

// TestReloadUnderLoadLosesNothing: SIGHUP again and again while clients
// keep requesting; every request gets its answer, through the old table or
// the new one, and none fails.
func TestReloadUnderLoadLosesNothing(t *testing.T) {
	t.Parallel()
	origin := startOrigin(t, 2*time.Millisecond)
	pub, adm := testutil.FreeAddr(t), testutil.FreeAddr(t)
	cfg := filepath.Join(t.TempDir(), "edge.yaml")
	writeFile(t, cfg, minimalConfig(pub, adm, origin, "/"))
	p := startEdge(t, cfg, adm)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	failures, total := map[string]int{}, 0
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &fasthttp.Client{ReadTimeout: 5 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, _, err := c.Get(nil, "http://"+pub+"/x")
				mu.Lock()
				total++
				if err != nil {
					failures[err.Error()]++
				} else if code != 200 {
					failures[fmt.Sprint("status ", code)]++
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < 6; i++ {
		time.Sleep(150 * time.Millisecond)
		// Alternate between two valid configs whose upstream pools differ,
		// so each reload builds new pools and retires the old ones.
		cfgText := minimalConfig(pub, adm, origin, "/")
		if i%2 == 0 {
			cfgText = strings.Replace(cfgText, "timeout: 3s", "timeout: 4s", 1)
		}
		writeFile(t, cfg, cfgText)
		p.signal(t, syscall.SIGHUP)
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if !metricAtLeast(t, adm, `edge_config_reloads_total{result="ok"}`, 7) {
		t.Fatalf("reloads did not all take effect:\n%s", p.log())
	}
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed across reloads: %v", sum(failures), total, failures)
	}
	t.Logf("%d requests across 6 reloads, none failed", total)
}

func sum(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}

func minimalConfig(pub, adm, origin, prefix string) string {
	return fmt.Sprintf(`listen: %s
admin: {listen: %s, token: test-token}
server: {grace_period: 5s}
upstreams:
  shop: {servers: [%s], timeout: 3s}
routes:
  - name: r
    match: {path: %s}
    upstream: shop
`, pub, adm, origin, prefix)
}

type proc struct {
	cmd  *exec.Cmd
	out  *testutil.SyncBuffer
	done chan error
}

func startEdge(t *testing.T, cfg, adm string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(edgeBin, "-config", cfg), out: &testutil.SyncBuffer{}, done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("edge log:\n%s", p.log())
		}
	})
	testutil.WaitFor(t, 10*time.Second, "edge ready", func() bool { return get(t, "http://"+adm+"/readyz") == 200 })
	return p
}

func (p *proc) signal(t *testing.T, s os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(s); err != nil {
		t.Fatal(err)
	}
}

func (p *proc) log() string { return p.out.String() }

func (p *proc) wait(d time.Duration) error {
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(d):
		return fmt.Errorf("still running after %v", d)
	}
}

// startOrigin serves 200 "origin" on a loopback port after delay.
func startOrigin(t *testing.T, delay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/healthz" {
			return
		}
		time.Sleep(delay)
		ctx.SetBodyString("origin")
	}}
	go s.Serve(ln)
	t.Cleanup(func() { _ = s.Shutdown() })
	return ln.Addr().String()
}

func get(t *testing.T, url string) int {
	t.Helper()
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return -1
	}
	resp.Body.Close()
	return resp.StatusCode
}

func metricAtLeast(t *testing.T, adm, series string, min float64) bool {
	t.Helper()
	_, body, err := fasthttp.Get(nil, "http://"+adm+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, series+" ") {
			var v float64
			fmt.Sscan(strings.TrimPrefix(l, series+" "), &v)
			return v >= min
		}
	}
	return false
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
