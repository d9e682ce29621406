package cachehttp

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"edge/internal/config"
	"edge/internal/testredis"
)

// taggedOrigin answers every path with tags derived from it.
func taggedOrigin(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("Cache-Control", "max-age=600")
	ctx.Response.Header.Set("Vary", "Accept-Language")
	switch string(ctx.Path()) {
	case "/item/1":
		ctx.Response.Header.Set("Surrogate-Key", "item-1  all")
	case "/item/2":
		ctx.Response.Header.Set("Cache-Tag", "item-2, all")
	}
	ctx.SetBodyString("page " + string(ctx.Path()))
}

func TestPurge(t *testing.T) {
	t.Parallel()
	prime := func(t *testing.T, e *env) {
		t.Helper()
		for _, u := range []string{"/item/1", "/item/2", "/item/3?x=1", "/other"} {
			for _, lang := range []string{"de", "fr"} {
				_ = e.get(t, u, "Accept-Language", lang)
			}
		}
	}
	cases := []struct {
		name    string
		req     PurgeRequest
		want    int
		missing []string // URLs that must miss afterwards
		kept    []string // URLs that must still hit
	}{
		{"absolute url", PurgeRequest{URL: "http://SHOP.example:80/item//1"}, 2, []string{"/item/1"}, []string{"/item/2", "/other"}},
		{"url with sorted query", PurgeRequest{URL: "http://shop.example/item/3?x=1&utm_source=z"}, 2, []string{"/item/3?x=1"}, []string{"/item/1"}},
		{"path on every host", PurgeRequest{URL: "/item/2"}, 2, []string{"/item/2"}, []string{"/item/1"}},
		{"other scheme untouched", PurgeRequest{URL: "https://shop.example/item/1"}, 0, nil, []string{"/item/1"}},
		{"prefix", PurgeRequest{Prefix: "http://shop.example/item/"}, 6, []string{"/item/1", "/item/2", "/item/3?x=1"}, []string{"/other"}},
		{"path prefix", PurgeRequest{Prefix: "/item/"}, 6, []string{"/item/1", "/item/3?x=1"}, []string{"/other"}},
		{"everything", PurgeRequest{Prefix: "/"}, 8, []string{"/item/1", "/other"}, nil},
		{"surrogate key", PurgeRequest{Tag: "item-1"}, 2, []string{"/item/1"}, []string{"/item/2"}},
		{"cache tag", PurgeRequest{Tag: "item-2"}, 2, []string{"/item/2"}, []string{"/item/1"}},
		{"shared tag", PurgeRequest{Tag: "all"}, 4, []string{"/item/1", "/item/2"}, []string{"/item/3?x=1"}},
		{"unknown tag", PurgeRequest{Tag: "nope"}, 0, nil, []string{"/item/1"}},
		{"empty request", PurgeRequest{}, 0, nil, []string{"/item/1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvWith(t, config.Cache{Size: 1 << 20, IgnoreParams: []string{"utm_*"}}, &config.RouteCache{}, taggedOrigin)
			prime(t, e)
			if got := e.cache.Purge(tc.req); got != tc.want {
				t.Fatalf("Purge(%+v) = %d, want %d", tc.req, got, tc.want)
			}
			for _, u := range tc.missing {
				if r := e.get(t, u, "Accept-Language", "de"); xcache(r) != "MISS" {
					t.Errorf("%s after purge: %q", u, xcache(r))
				}
			}
			for _, u := range tc.kept {
				if r := e.get(t, u, "Accept-Language", "fr"); xcache(r) != "HIT" {
					t.Errorf("%s kept: %q", u, xcache(r))
				}
			}
			checkAccounting(t, e.cache.store)
		})
	}
}

func TestSoftPurge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &config.RouteCache{TTL: dur(time.Hour), StaleWhileRevalidate: dur(time.Minute)}, cacheable("", "v"))
	_ = e.get(t, "/p")
	if n := e.cache.Purge(PurgeRequest{URL: "/p", Soft: true}); n != 1 {
		t.Fatalf("soft purge count %d", n)
	}
	if r := e.get(t, "/p"); xcache(r) != "STALE" {
		t.Fatalf("after soft purge: %q, want STALE", xcache(r))
	}
	e.cache.bg.Wait()
	if r := e.get(t, "/p"); xcache(r) != "HIT" {
		t.Fatalf("after refresh: %q", xcache(r))
	}
	if got := e.origin.hits.Load(); got != 2 {
		t.Fatalf("origin asked %d times, want 2", got)
	}
}

func TestPurgeBus(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t)
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{srv.Addr}})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := slog.New(slog.DiscardHandler)

	a := newEnv(t, &config.RouteCache{TTL: dur(time.Hour)}, taggedOrigin)
	b := newEnv(t, &config.RouteCache{TTL: dur(time.Hour)}, taggedOrigin)
	applied := map[*Cache]chan struct{}{a.cache: make(chan struct{}, 8), b.cache: make(chan struct{}, 8)}
	for c, ch := range applied {
		c.onRemote = func() { ch <- struct{}{} }
		c.StartBus(ctx, rdb, "edge:test:purge", log)
	}
	for _, e := range []*env{a, b} {
		_ = e.get(t, "/item/1")
		_ = e.get(t, "/item/2")
	}
	steps := []struct {
		from, to *env
		req      PurgeRequest
		uri      string
	}{
		{a, b, PurgeRequest{URL: "http://shop.example/item/1"}, "/item/1"},
		{b, a, PurgeRequest{Tag: "item-2"}, "/item/2"},
	}
	for _, s := range steps {
		if n := s.from.cache.Purge(s.req); n != 1 {
			t.Fatalf("local purge %+v: %d", s.req, n)
		}
		select {
		case <-applied[s.to.cache]:
		case <-time.After(time.Second):
			t.Fatalf("purge %+v not applied on the other node within a second", s.req)
		}
		if r := s.to.get(t, s.uri); xcache(r) != "MISS" {
			t.Fatalf("%s on the other node: %q", s.uri, xcache(r))
		}
	}
	// A node ignores its own purges.
	select {
	case <-applied[a.cache]:
	default:
	}
	a.cache.Purge(PurgeRequest{Prefix: "/nothing/"})
	select {
	case <-applied[b.cache]:
	case <-time.After(time.Second):
		t.Fatal("b did not receive")
	}
	select {
	case <-applied[a.cache]:
		t.Fatal("a applied its own purge from the bus")
	default:
	}
}
