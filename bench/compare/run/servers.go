package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"edge/bench/internal/proc"
)

// Server is one column of the comparison: a server under test (or the
// ceiling) in front of the origin.
type Server struct {
	// Name is ceiling, edge, varnish or nginx.
	Name string
	// Addr is where it listens (host:port).
	Addr string
	// Proc is the running process; nil when skipped.
	Proc *Proc
	// Skip says why the server is not in the run ("" when it is).
	Skip string
}

// startupTimeout bounds the wait for a server to listen (Varnish compiles
// its VCL with the C compiler first).
const startupTimeout = 20 * time.Second

// startOrigin starts the origin on the load CPU.
func startOrigin(s Settings, dir string) (*Proc, string, error) {
	addr, err := proc.FreeAddr()
	if err != nil {
		return nil, "", err
	}
	p, err := startProc("origin", s.Taskset, s.CPULoad, filepath.Join(dir, "origin.log"), s.Origin,
		"-listen", addr, "-urls", strconv.Itoa(s.URLs),
		"-frag-delay", s.FragDelay.String(), "-slow-delay", s.SlowDelay.String())
	if err != nil {
		return nil, "", err
	}
	if err := p.waitListening(addr, startupTimeout); err != nil {
		p.Stop(time.Second)
		return nil, "", err
	}
	return p, addr, nil
}

// startServer starts the server name in front of origin, pinned to the
// server CPU; a server that cannot run comes back with Skip set.
func startServer(s Settings, name, dir, origin string) *Server {
	srv := &Server{Name: name}
	sdir := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Join(sdir, "logs"), 0o755); err != nil {
		srv.Skip = err.Error()
		return srv
	}
	addr, err := proc.FreeAddr()
	if err != nil {
		srv.Skip = err.Error()
		return srv
	}
	srv.Addr = addr
	argv, err := serverArgv(s, name, sdir, addr, origin)
	if err != nil {
		srv.Skip = err.Error()
		return srv
	}
	p, err := startProc(name, s.Taskset, s.CPUServer, filepath.Join(sdir, "output.log"), argv...)
	if err != nil {
		srv.Skip = err.Error()
		return srv
	}
	if err := p.waitListening(addr, startupTimeout); err != nil {
		p.Stop(2 * time.Second)
		srv.Skip = err.Error()
		return srv
	}
	srv.Proc = p
	return srv
}

// serverArgv writes the server's config and returns its command line.
func serverArgv(s Settings, name, dir, addr, origin string) ([]string, error) {
	switch name {
	case "ceiling":
		return []string{s.Ceiling, "-listen", addr, "-urls", strconv.Itoa(s.URLs)}, nil
	case "edge":
		admin, err := proc.FreeAddr()
		if err != nil {
			return nil, err
		}
		d, err := newConfigData(addr, admin, origin, dir)
		if err != nil {
			return nil, err
		}
		conf, err := writeConfig("edge.yaml", dir, "edge.yaml", d)
		if err != nil {
			return nil, err
		}
		return []string{s.Edge, "-config", conf}, nil
	case "varnish":
		if s.Varnishd == "" {
			return nil, fmt.Errorf("varnishd not installed (Debian: apt-get install varnish)")
		}
		d, err := newConfigData(addr, "", origin, dir)
		if err != nil {
			return nil, err
		}
		vcl, err := writeConfig("varnish.vcl", dir, "bench.vcl", d)
		if err != nil {
			return nil, err
		}
		// -F: foreground; -j none: no privilege jail (own files in dir);
		// -T none: no management port; -n: own working directory.
		return []string{s.Varnishd, "-F", "-j", "none", "-T", "none", "-a", addr, "-f", vcl,
			"-s", "malloc,256m", "-n", filepath.Join(dir, "work")}, nil
	case "nginx":
		if s.Nginx == "" {
			return nil, fmt.Errorf("nginx not installed (Debian: apt-get install nginx)")
		}
		d, err := newConfigData(addr, "", origin, dir)
		if err != nil {
			return nil, err
		}
		conf, err := writeConfig("nginx.conf", dir, "nginx.conf", d)
		if err != nil {
			return nil, err
		}
		// nginx -t first: a config error reads better than a missing port.
		if out, err := exec.Command(s.Nginx, "-t", "-c", conf, "-p", dir+"/").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("nginx -t: %w:\n%s", err, out)
		}
		return []string{s.Nginx, "-c", conf, "-p", dir + "/", "-g", "daemon off;"}, nil
	}
	return nil, fmt.Errorf("unknown server %q", name)
}
