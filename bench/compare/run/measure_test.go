package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"edge/bench/compare/pages"
)

func TestParseWrk(t *testing.T) {
	t.Parallel()
	good := "Running 2s test @ http://127.0.0.1:1/hot\n" +
		"BENCH requests=20000 duration_us=2000000 bytes=81920000 connect=1 read=2 write=0 status=3 timeout=4 p50_us=1500 p99_us=9000 max_us=20000\n"
	tests := []struct {
		name    string
		out     string
		want    Sample
		wantErr string
	}{
		{"good", good, Sample{Requests: 20000, Wall: 2 * time.Second, P50: 1500 * time.Microsecond,
			P99: 9 * time.Millisecond, Max: 20 * time.Millisecond, Errors: 10}, ""},
		{"no line", "Requests/sec: 1000\n", Sample{}, "no \"BENCH\" line"},
		{"bad number", "BENCH requests=x\n", Sample{}, `field "requests=x"`},
		{"bad field", "BENCH requests\n", Sample{}, "malformed field"},
		{"missing field", "BENCH requests=1 duration_us=1\n", Sample{}, "no p50_us"},
	}
	for _, tt := range tests {
		got, err := parseWrk([]byte(tt.out))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
	x, _ := parseWrk([]byte(good))
	if x.RPS() != 10000 {
		t.Errorf("RPS = %v, want 10000", x.RPS())
	}
	x.CPU = time.Second
	if x.CPUShare() != 0.5 || x.CPUPerRequest() != 50*time.Microsecond {
		t.Errorf("CPUShare %v, CPUPerRequest %v", x.CPUShare(), x.CPUPerRequest())
	}
	if (Sample{}).RPS() != 0 || (Sample{}).CPUShare() != 0 || (Sample{}).CPUPerRequest() != 0 {
		t.Error("an empty sample must give zeros")
	}
}

func TestWrkDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		2 * time.Second: "2s", 1500 * time.Millisecond: "2s", 200 * time.Millisecond: "1s", 0: "1s",
	} {
		if got := wrkDuration(d); got != want {
			t.Errorf("wrkDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestVerify runs verify against servers that answer right and wrong.
func TestVerify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		path    string
		want    string
	}{
		{"right bytes", func(w http.ResponseWriter, r *http.Request) {
			w.Write(pages.Assembled(pages.Cached))
		}, "/esi/cached", ""},
		{"raw ESI", func(w http.ResponseWriter, r *http.Request) {
			w.Write(pages.ESI(pages.Cached))
		}, "/esi/cached", "ESI not assembled"},
		{"raw SSI", func(w http.ResponseWriter, r *http.Request) {
			w.Write(pages.SSI(pages.Uncached))
		}, "/ssi/uncached", "SSI not assembled"},
		{"other bytes", func(w http.ResponseWriter, r *http.Request) {
			w.Write(pages.Hot()[:100])
		}, "/hot", "100 bytes that differ"},
		{"error status", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no", http.StatusBadGateway)
		}, "/hot", "status 502"},
		{"stored cookie", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Set-Cookie", "origin_session=fresh")
			w.Write(pages.U(3))
		}, "/u/3", "Set-Cookie"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			h, got := verify(strings.TrimPrefix(srv.URL, "http://"), tt.path)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Fatalf("verify = %q, want %q", got, tt.want)
			}
			if (got == "") != (h != nil) {
				t.Fatalf("verify returned header %v with problem %q: want a header exactly when all is well", h, got)
			}
		})
	}
}

func TestWarmAndOriginTotal(t *testing.T) {
	t.Parallel()
	var seen = make(chan string, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_count" {
			w.Write([]byte(`{"hot":2,"total":7}`))
			return
		}
		seen <- r.URL.Path
		if r.URL.Path == "/u/3" {
			http.Error(w, "gone", http.StatusNotFound)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	if failed := warm(addr, "/u/", 10); failed != 1 {
		t.Fatalf("warm: %d failed, want 1", failed)
	}
	close(seen)
	got := map[string]bool{}
	for p := range seen {
		got[p] = true
	}
	if len(got) != 10 || !got["/u/0"] || !got["/u/9"] {
		t.Fatalf("warm asked for %v, want /u/0../u/9 once each", got)
	}
	n, err := originTotal(addr)
	if err != nil || n != 7 {
		t.Fatalf("originTotal = %d, %v; want 7", n, err)
	}
}

// TestWrkScriptRequests runs wrk with the generated script against a
// server that records what it is asked: one path, or random pages of the
// many-URL scenario, every request with the shopper's cookie.
func TestWrkScriptRequests(t *testing.T) {
	t.Parallel()
	var s Settings
	s.lookTools()
	if s.Wrk == "" {
		t.Skip("wrk not installed")
	}
	s.Taskset = "" // no pinning in a unit test
	script := filepath.Join(t.TempDir(), "bench.lua")
	b, err := render("bench.lua", ConfigData{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		path string
		urls int
	}{{"one path", "/hot", 0}, {"many URLs", "/u/", 50}} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			paths := map[string]int{}
			var noCookie atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Cookie") != "session=bench-shopper; cart=3" {
					noCookie.Add(1)
				}
				mu.Lock()
				paths[r.URL.Path]++
				mu.Unlock()
				w.Write([]byte("ok"))
			}))
			defer srv.Close()
			x, err := runWrk(s, script, srv.URL+tt.path, 4, time.Second, tt.urls, tt.path)
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			total := 0
			for p, n := range paths {
				total += n
				if tt.urls == 0 && p != tt.path {
					t.Errorf("asked for %s, want only %s", p, tt.path)
				}
				if tt.urls > 0 {
					n, err := strconv.Atoi(strings.TrimPrefix(p, tt.path))
					if !strings.HasPrefix(p, tt.path) || err != nil || n < 0 || n >= tt.urls {
						t.Errorf("asked for %s, want %s0..%s%d", p, tt.path, tt.path, tt.urls-1)
					}
				}
			}
			if x.Requests < 100 || int64(total) < x.Requests {
				t.Fatalf("wrk counted %d requests, the server saw %d", x.Requests, total)
			}
			if tt.urls > 0 && len(paths) < tt.urls*9/10 {
				t.Errorf("%d distinct pages of %d in %d requests: not spread at random", len(paths), tt.urls, total)
			}
			if n := noCookie.Load(); n > 0 {
				t.Errorf("%d of %d requests without the shopper's cookie", n, total)
			}
		})
	}
}
