package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"edge/bench/internal/proc"
	"edge/internal/config"
)

// adminToken is the admin bearer token of the edge under test.
const adminToken = "bench-memory"

// edgeConfig is the configuration of the edge under test: one cached route
// for the product pages in front of the origin, cookies stripped (the
// default, written out because the benchmark shows it), the cache bounded
// by size, logging at warn so that a million requests write no log lines.
func edgeConfig(listen, admin, originAddr string, size config.Size) string {
	return fmt.Sprintf(`# edge for bench/memory. Generated.
listen: %s
admin: {listen: %s, token: %s}
log: {level: warn}
upstreams:
  origin: {servers: [%s], timeout: 5s}
cache: {size: %s}
routes:
  - name: pages
    match: {path: %s, methods: [GET, HEAD]}
    upstream: origin
    cache: {strip_cookies: true}
`, listen, admin, adminToken, originAddr, size, pagePrefix)
}

// edgeProc is the edge process under test.
type edgeProc struct {
	*proc.Proc
	pub, admin string // listener addresses
}

// startEdge writes edge's config into dir and starts bin on it, pinned to
// the CPUs cpus with taskset when cpus is not empty. Its output goes to
// dir/edge.log.
func startEdge(bin, dir, cpus, originAddr string, size config.Size) (*edgeProc, error) {
	pub, err := proc.FreeAddr()
	if err != nil {
		return nil, err
	}
	admin, err := proc.FreeAddr()
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "edge.yaml")
	if err := os.WriteFile(cfgPath, []byte(edgeConfig(pub, admin, originAddr, size)), 0o600); err != nil {
		return nil, fmt.Errorf("edge config: %w", err)
	}
	argv := []string{bin, "-config", cfgPath}
	if cpus != "" {
		// pinCPUs found taskset; it execs edge, so the pid stays edge's.
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	p, err := proc.Start("edge", filepath.Join(dir, "edge.log"), false, argv...)
	if err != nil {
		return nil, err
	}
	return &edgeProc{Proc: p, pub: pub, admin: admin}, nil
}

// waitReady waits until edge's /readyz answers 200.
func (p *edgeProc) waitReady(timeout time.Duration) error {
	url := "http://" + p.admin + "/readyz"
	for deadline := time.Now().Add(timeout); ; {
		if p.Exited() {
			return fmt.Errorf("edge exited (%v) before it was ready; its output:\n%s", p.Err(), p.LogTail(20))
		}
		code, _, err := fasthttp.GetTimeout(nil, url, time.Second)
		if err == nil && code == fasthttp.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("edge not ready on %s after %v (last: %d %v); its output:\n%s", url, timeout, code, err, p.LogTail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM (edge drains and exits), then SIGKILL after grace.
// It returns an error when edge had already died or did not exit cleanly.
func (p *edgeProc) stop(grace time.Duration) error {
	if p.Exited() {
		return fmt.Errorf("edge exited during the run (%v); its output:\n%s", p.Err(), p.LogTail(20))
	}
	p.Signal(syscall.SIGTERM)
	select {
	case <-p.Done():
		if err := p.Err(); err != nil {
			return fmt.Errorf("edge stopped with %v; its output:\n%s", err, p.LogTail(20))
		}
		return nil
	case <-time.After(grace):
		p.Signal(syscall.SIGKILL)
		<-p.Done()
		return fmt.Errorf("edge did not stop within %v of SIGTERM; killed", grace)
	}
}

// pinCPUs decides where edge runs: on the CPU list asked for, or
// anywhere when pinning is off ("" or "none") or taskset is missing. It
// returns the list for startEdge and the choice in words for the report.
// The machine's CPU count is not checked: this process may itself be
// pinned, and taskset refuses a CPU that does not exist.
func pinCPUs(want string) (cpus, why string) {
	if want == "" || want == "none" {
		return "", "not pinned"
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return "", "not pinned (taskset not found)"
	}
	return want, "pinned to CPU " + want + " with taskset"
}
