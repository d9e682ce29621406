// Package testredis starts real redis-server processes for tests: a single
// node or a Redis Cluster of masters, each on a free loopback port, stopped
// when the test ends. When redis-server is not installed the test fails with
// a clear message if CI is set, and is skipped otherwise.
package testredis

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is one redis-server process.
type Server struct {
	Addr string
	Port int
	dir  string
	args []string
	cmd  *exec.Cmd
	t    testing.TB
}

// need finds a binary or ends the test the way the project's rules ask.
func need(t testing.TB, bin string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found in PATH: install it (Debian: apt-get install redis-server) to run this test", bin)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs a single redis-server and stops it at the end of the test.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	return start(t, extra...)
}

func start(t testing.TB, extra ...string) *Server {
	need(t, "redis-server")
	port := FreePort(t)
	dir := t.TempDir()
	s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), Port: port, dir: dir, t: t}
	s.args = append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--protected-mode", "no", "--loglevel", "warning",
	}, extra...)
	s.run()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) run() {
	s.t.Helper()
	s.cmd = exec.Command("redis-server", s.args...)
	s.cmd.Stdout, s.cmd.Stderr = nil, nil
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	if err := waitPing(s.Addr, 5*time.Second); err != nil {
		s.Stop()
		s.t.Fatalf("redis-server on %s: %v", s.Addr, err)
	}
}

// Stop kills the server (SIGKILL: a crash, as far as clients can tell).
// Calling it twice is harmless.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts a stopped server again on the same port, empty.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.run()
}

// Cluster is a Redis Cluster of masters without replicas.
type Cluster struct {
	Nodes []*Server
}

// Addrs returns the masters' addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr
	}
	return out
}

// StartCluster starts n masters joined as one cluster (n >= 3) and waits
// until the cluster reports ok.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	cli := need(t, "redis-cli")
	c := &Cluster{}
	for i := 0; i < n; i++ {
		c.Nodes = append(c.Nodes, start(t, "--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"))
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	// Every node must see the whole cluster as ok (and know every slot),
	// or a client may be sent to a node that still answers CLUSTERDOWN.
	deadline := time.Now().Add(15 * time.Second)
	for _, n := range c.Nodes {
		for {
			out, _ := exec.Command(cli, "-p", strconv.Itoa(n.Port), "cluster", "info").Output()
			s := string(out)
			if strings.Contains(s, "cluster_state:ok") && strings.Contains(s, "cluster_slots_ok:16384") &&
				strings.Contains(s, "cluster_known_nodes:"+strconv.Itoa(len(c.Nodes))) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster node %s not ok after 15s:\n%s", n.Addr, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c
}

// waitPing waits until a PING on addr answers +PONG.
func waitPing(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
			_, _ = c.Write([]byte("PING\r\n"))
			buf := make([]byte, 16)
			n, _ := c.Read(buf)
			c.Close()
			if strings.HasPrefix(string(buf[:n]), "+PONG") {
				return nil
			}
			last = fmt.Errorf("unexpected answer %q", buf[:n])
		} else {
			last = err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return last
}
