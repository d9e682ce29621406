package main

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"edge/bench/compare/pages"
)

func TestHeaderNames(t *testing.T) {
	t.Parallel()
	h := http.Header{"Date": {"x"}, "X-Cache": {"HIT"}, "content-type": {"a"}, "Content-Type": {"b"}, "Age": {"1", "2"}}
	want := []string{"age", "content-type", "x-cache"}
	if got := headerNames(h); !slices.Equal(got, want) {
		t.Fatalf("headerNames = %q, want %q", got, want)
	}
}

func TestHeaderDiff(t *testing.T) {
	t.Parallel()
	hit := func(extra ...string) http.Header {
		h := http.Header{}
		for _, n := range []string{"Server", "Date", "Content-Type", "Content-Length", "Cache-Control", "Vary",
			"Accept-Ranges", "Age", "X-Cache", "Cache-Status"} {
			h.Set(n, "v")
		}
		for _, n := range extra {
			h[n] = []string{"v"} // as sent, not canonicalized
		}
		return h
	}
	without := func(h http.Header, names ...string) http.Header {
		for _, n := range names {
			h.Del(n)
		}
		return h
	}
	tests := []struct {
		name          string
		edge, ceiling http.Header
		want          string
	}{
		{"same", hit(), hit(), ""},
		{"Date ignored", hit(), without(hit(), "Date"), ""},
		{"case ignored", hit("x-edge-node"), hit("X-EDGE-NODE"), ""},
		{"only edge", hit("Via"), hit(), "only edge sends via"},
		{"only the ceiling", without(hit(), "Age", "Accept-Ranges"), hit(), "only the ceiling sends accept-ranges, age"},
		{"both", without(hit("Via"), "X-Cache"), hit(), "only edge sends via; only the ceiling sends x-cache"},
		{"empty", http.Header{}, http.Header{"Date": {"x"}}, ""},
	}
	for _, tt := range tests {
		if got := headerDiff(tt.edge, tt.ceiling); got != tt.want {
			t.Errorf("%s: headerDiff = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestVerifyReturnsCachedHeader: the header compared with the ceiling's is
// the second answer's, the one a cache serves from storage.
func TestVerifyReturnsCachedHeader(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("X-Cache", "MISS")
		} else {
			w.Header().Set("X-Cache", "HIT")
			w.Header().Set("Age", "0")
		}
		w.Write(pages.Hot())
	}))
	defer srv.Close()
	h, problem := verify(strings.TrimPrefix(srv.URL, "http://"), "/hot")
	if problem != "" || h.Get("X-Cache") != "HIT" || h.Get("Age") != "0" {
		t.Fatalf("verify = %v, %q; want the second answer's header", h, problem)
	}
}
