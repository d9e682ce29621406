package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"edge/internal/config"
)

func testData(t *testing.T) ConfigData {
	t.Helper()
	d, err := newConfigData("127.0.0.1:18080", "127.0.0.1:18081", "127.0.0.1:18090", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestNewConfigDataSplitsOrigin(t *testing.T) {
	t.Parallel()
	d := testData(t)
	if d.OriginHost != "127.0.0.1" || d.OriginPort != "18090" {
		t.Fatalf("origin parts %q %q", d.OriginHost, d.OriginPort)
	}
	if _, err := newConfigData("a", "b", "no-port", "/tmp"); err == nil {
		t.Fatal("want an error for an origin without a port")
	}
}

// TestEdgeConfigLoads runs the generated file through edge's own loader:
// strict decoding and validation, as edge -check does.
func TestEdgeConfigLoads(t *testing.T) {
	t.Parallel()
	d := testData(t)
	path, err := writeConfig("edge.yaml", d.Dir, "edge.yaml", d)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("generated edge config does not load:\n%v", err)
	}
	if cfg.Listen != d.Listen || cfg.Admin.Listen != d.Admin {
		t.Fatalf("listen %q admin %q", cfg.Listen, cfg.Admin.Listen)
	}
	want := map[string]struct{ cache, esi bool }{
		"fragments-uncached": {false, false},
		"fragments":          {true, false},
		"esi-pages":          {true, true},
		"pages":              {true, false},
	}
	if len(cfg.Routes) != len(want) {
		t.Fatalf("%d routes, want %d", len(cfg.Routes), len(want))
	}
	for _, r := range cfg.Routes {
		w, ok := want[r.Name]
		if !ok {
			t.Errorf("unexpected route %q", r.Name)
			continue
		}
		if (r.Cache != nil) != w.cache || (r.ESI != nil) != w.esi {
			t.Errorf("route %s: cache %v esi %v, want %v %v", r.Name, r.Cache != nil, r.ESI != nil, w.cache, w.esi)
		}
	}
}

// TestNginxConfig asks nginx itself, when installed, to check the
// generated file.
func TestNginxConfig(t *testing.T) {
	t.Parallel()
	var s Settings
	s.lookTools()
	if s.Nginx == "" {
		t.Skip("nginx not installed")
	}
	d := testData(t)
	if err := os.MkdirAll(filepath.Join(d.Dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf, err := writeConfig("nginx.conf", d.Dir, "nginx.conf", d)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(s.Nginx, "-t", "-c", conf, "-p", d.Dir+"/").CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	for _, want := range []string{"proxy_cache_lock on", "ssi on", "keepalive 256", `proxy_set_header Cookie ""`} {
		if b, _ := os.ReadFile(conf); !strings.Contains(string(b), want) {
			t.Errorf("nginx.conf lacks %q", want)
		}
	}
}

// TestVarnishConfig compiles the generated VCL with varnishd -C, when
// Varnish is installed.
func TestVarnishConfig(t *testing.T) {
	t.Parallel()
	var s Settings
	s.lookTools()
	if s.Varnishd == "" {
		t.Skip("varnishd not installed")
	}
	d := testData(t)
	vcl, err := writeConfig("varnish.vcl", d.Dir, "bench.vcl", d)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(s.Varnishd, "-C", "-j", "none", "-f", vcl, "-n", filepath.Join(d.Dir, "work")).CombinedOutput()
	if err != nil {
		t.Fatalf("varnishd -C: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(vcl)
	for _, want := range []string{"unset req.http.Cookie", "unset beresp.http.Set-Cookie", "set beresp.do_esi = true", `.port = "18090"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("VCL lacks %q", want)
		}
	}
}

func TestWrkScript(t *testing.T) {
	t.Parallel()
	b, err := render("bench.lua", ConfigData{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"function done(", "BENCH requests=", "wrk.headers[\"Cookie\"]"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("bench.lua lacks %q", want)
		}
	}
}
