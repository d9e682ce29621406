package main

import (
	"strings"
	"testing"
)

// TestMissingServersAreSkipped: a server whose program is not installed
// comes back skipped with the package to install, never with figures.
func TestMissingServersAreSkipped(t *testing.T) {
	t.Parallel()
	s := Settings{} // no varnishd, no nginx
	for name, want := range map[string]string{
		"varnish": "apt-get install varnish",
		"nginx":   "apt-get install nginx",
		"haproxy": "unknown server",
	} {
		srv := startServer(s, name, t.TempDir(), "127.0.0.1:1")
		if srv.Proc != nil || !strings.Contains(srv.Skip, want) {
			t.Errorf("%s: skip %q, want one naming %q", name, srv.Skip, want)
		}
	}
}

// TestServerArgv checks the command lines the servers are started with.
func TestServerArgv(t *testing.T) {
	t.Parallel()
	s := Settings{Edge: "/bin/edge", Ceiling: "/bin/ceiling", Varnishd: "/usr/sbin/varnishd", URLs: 10}
	tests := []struct {
		name string
		want []string
	}{
		{"ceiling", []string{"/bin/ceiling", "-listen", "127.0.0.1:2", "-urls", "10"}},
		{"edge", []string{"/bin/edge", "-config"}},
		{"varnish", []string{"/usr/sbin/varnishd", "-F", "-j", "none", "-T", "none", "-a", "127.0.0.1:2", "-f"}},
	}
	for _, tt := range tests {
		argv, err := serverArgv(s, tt.name, t.TempDir(), "127.0.0.1:2", "127.0.0.1:1")
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(argv) < len(tt.want) || strings.Join(argv[:len(tt.want)], " ") != strings.Join(tt.want, " ") {
			t.Errorf("%s: argv %q, want it to start with %q", tt.name, argv, tt.want)
		}
	}
}
