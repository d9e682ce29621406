package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

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
	pub, admin string // listener addresses
	pinned     string // the CPU list it is pinned to, "" when not
	logPath    string

	cmd  *exec.Cmd
	done chan struct{}
	err  error // of Wait, once done is closed
}

// startEdge writes edge's config into dir and starts bin on it, pinned to
// the CPUs cpus with taskset when cpus is not empty. Its output goes to
// dir/edge.log.
func startEdge(bin, dir, cpus, originAddr string, size config.Size) (*edgeProc, error) {
	pub, err := freeAddr()
	if err != nil {
		return nil, err
	}
	admin, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "edge.yaml")
	if err := os.WriteFile(cfgPath, []byte(edgeConfig(pub, admin, originAddr, size)), 0o600); err != nil {
		return nil, fmt.Errorf("edge config: %w", err)
	}
	argv := []string{bin, "-config", cfgPath}
	if cpus != "" {
		ts, err := exec.LookPath("taskset")
		if err != nil {
			return nil, fmt.Errorf("pinning edge to CPU %s: %w", cpus, err)
		}
		// taskset execs edge, so the pid stays edge's.
		argv = append([]string{ts, "-c", cpus}, argv...)
	}
	p := &edgeProc{pub: pub, admin: admin, pinned: cpus, logPath: filepath.Join(dir, "edge.log"), done: make(chan struct{})}
	logf, err := os.Create(p.logPath)
	if err != nil {
		return nil, fmt.Errorf("edge log: %w", err)
	}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	// SIGTERM to edge should the benchmark die without stopping it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	go func() {
		p.err = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// pid is edge's process id.
func (p *edgeProc) pid() int { return p.cmd.Process.Pid }

// exited reports whether edge has ended.
func (p *edgeProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitReady waits until edge's /readyz answers 200.
func (p *edgeProc) waitReady(timeout time.Duration) error {
	url := "http://" + p.admin + "/readyz"
	for deadline := time.Now().Add(timeout); ; {
		if p.exited() {
			return fmt.Errorf("edge exited (%v) before it was ready; its output:\n%s", p.err, p.logTail(20))
		}
		code, _, err := fasthttp.GetTimeout(nil, url, time.Second)
		if err == nil && code == fasthttp.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("edge not ready on %s after %v (last: %d %v); its output:\n%s", url, timeout, code, err, p.logTail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM (edge drains and exits), then SIGKILL after grace.
// It returns an error when edge had already died or did not exit cleanly.
func (p *edgeProc) stop(grace time.Duration) error {
	if p.exited() {
		return fmt.Errorf("edge exited during the run (%v); its output:\n%s", p.err, p.logTail(20))
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("edge stopped with %v; its output:\n%s", p.err, p.logTail(20))
		}
		return nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("edge did not stop within %v of SIGTERM; killed", grace)
	}
}

// logTail returns the last n lines edge wrote.
func (p *edgeProc) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(no output: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
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
