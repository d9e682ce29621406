package cachehttp

import (
	"bufio"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 12, 0, 0, 0, 0, time.UTC)
	date := fasthttp.AppendHTTPDate(nil, now)
	in := func(d time.Duration) string { return string(fasthttp.AppendHTTPDate(nil, now.Add(d))) }
	noStrip := false
	base := config.RouteCache{}
	withTTL := config.RouteCache{TTL: dur(3 * time.Second)}
	forced := config.RouteCache{TTL: dur(3 * time.Second), ForceTTL: true}
	capped := config.RouteCache{MaxTTL: dur(time.Minute)}
	stale := config.RouteCache{TTL: dur(3 * time.Second), StaleWhileRevalidate: dur(10 * time.Second), StaleIfError: dur(time.Hour)}
	keepCookies := config.RouteCache{TTL: dur(3 * time.Second), StripCookies: &noStrip}

	type want struct {
		store      bool
		reason     string
		lifetime   time.Duration
		age        time.Duration
		swr, sie   time.Duration
		revalidate bool
	}
	cases := []struct {
		name   string
		cfg    config.RouteCache
		status int
		hdrs   []string
		auth   bool
		want   want
	}{
		{"s-maxage beats max-age", base, 200, []string{"Cache-Control", "max-age=10, s-maxage=60"}, false,
			want{store: true, lifetime: time.Minute}},
		{"max-age beats Expires", base, 200, []string{"Cache-Control", "max-age=10", "Expires", in(time.Hour), "Date", string(date)}, false,
			want{store: true, lifetime: 10 * time.Second}},
		{"Expires minus Date", base, 200, []string{"Expires", in(90 * time.Second), "Date", in(30 * time.Second)}, false,
			want{store: true, lifetime: time.Minute}},
		{"Expires without Date counts from now", base, 200, []string{"Expires", in(time.Minute)}, false,
			want{store: true, lifetime: time.Minute}},
		{"Expires malformed is stale", base, 200, []string{"Expires", "0", "ETag", `"v1"`}, false,
			want{store: true, lifetime: 0}},
		{"Expires past without validators", base, 200, []string{"Expires", in(-time.Minute)}, false,
			want{reason: "stale"}},
		{"Age counted", base, 200, []string{"Cache-Control", "max-age=60", "Age", "20"}, false,
			want{store: true, lifetime: time.Minute, age: 20 * time.Second}},
		{"no-store", withTTL, 200, []string{"Cache-Control", "no-store"}, false, want{reason: "no-store"}},
		{"no-store with must-understand", base, 200, []string{"Cache-Control", "no-store, must-understand, max-age=5"}, false,
			want{store: true, lifetime: 5 * time.Second}},
		{"private", withTTL, 200, []string{"Cache-Control", "private, max-age=60"}, false, want{reason: "private"}},
		{"qualified private", withTTL, 200, []string{"Cache-Control", `private="Set-Cookie", max-age=60`}, false, want{reason: "private"}},
		{"no-cache with validator: store, revalidate", base, 200, []string{"Cache-Control", "no-cache", "ETag", `"a"`}, false,
			want{store: true, lifetime: 0, revalidate: true}},
		{"no-cache without validator", withTTL, 200, []string{"Cache-Control", "no-cache"}, false, want{reason: "stale"}},
		{"must-revalidate: no stale", stale, 200, []string{"Cache-Control", "max-age=5, must-revalidate"}, false,
			want{store: true, lifetime: 5 * time.Second, revalidate: true}},
		{"proxy-revalidate: no stale", stale, 200, []string{"Cache-Control", "max-age=5, proxy-revalidate"}, false,
			want{store: true, lifetime: 5 * time.Second, revalidate: true}},
		{"route ttl when origin silent", withTTL, 200, nil, false, want{store: true, lifetime: 3 * time.Second}},
		{"route ttl with public only", withTTL, 200, []string{"Cache-Control", "public"}, false, want{store: true, lifetime: 3 * time.Second}},
		{"origin freshness beats route ttl", withTTL, 200, []string{"Cache-Control", "max-age=30"}, false,
			want{store: true, lifetime: 30 * time.Second}},
		{"force_ttl overrides max-age and no-cache", forced, 200, []string{"Cache-Control", "max-age=300, no-cache, must-revalidate"}, false,
			want{store: true, lifetime: 3 * time.Second}},
		{"force_ttl keeps no-store", forced, 200, []string{"Cache-Control", "no-store"}, false, want{reason: "no-store"}},
		{"no freshness, no ttl", base, 200, nil, false, want{reason: "no-freshness"}},
		{"max_ttl caps", capped, 200, []string{"Cache-Control", "max-age=3600"}, false, want{store: true, lifetime: time.Minute}},
		{"route stale windows", stale, 200, nil, false,
			want{store: true, lifetime: 3 * time.Second, swr: 10 * time.Second, sie: time.Hour}},
		{"origin stale windows beat route", stale, 200, []string{"Cache-Control", "max-age=1, stale-while-revalidate=2, stale-if-error=3"}, false,
			want{store: true, lifetime: time.Second, swr: 2 * time.Second, sie: 3 * time.Second}},
		{"malformed max-age is stale", base, 200, []string{"Cache-Control", "max-age=abc", "ETag", `"x"`}, false,
			want{store: true, lifetime: 0}},
		{"quoted max-age", base, 200, []string{"Cache-Control", `max-age="20"`}, false, want{store: true, lifetime: 20 * time.Second}},
		{"first of repeated directives", base, 200, []string{"Cache-Control", "max-age=20", "Cache-Control", "max-age=40"}, false,
			want{store: true, lifetime: 20 * time.Second}},
		{"unknown directives ignored", base, 200, []string{"Cache-Control", `foo, bar="x, max-age=1", max-age=7, immutable`}, false,
			want{store: true, lifetime: 7 * time.Second}},
		{"case-insensitive directives", base, 200, []string{"Cache-Control", "Max-Age=9, NO-TRANSFORM"}, false,
			want{store: true, lifetime: 9 * time.Second}},
		{"authorization needs public", withTTL, 200, []string{"Cache-Control", "max-age=60"}, true, want{reason: "authorization"}},
		{"authorization with public", base, 200, []string{"Cache-Control", "public, max-age=60"}, true, want{store: true, lifetime: time.Minute}},
		{"authorization with s-maxage", base, 200, []string{"Cache-Control", "s-maxage=60"}, true, want{store: true, lifetime: time.Minute}},
		{"authorization with must-revalidate", base, 200, []string{"Cache-Control", "max-age=60, must-revalidate"}, true,
			want{store: true, lifetime: time.Minute, revalidate: true}},
		{"set-cookie stored when stripping", withTTL, 200, []string{"Set-Cookie", "sid=1"}, false, want{store: true, lifetime: 3 * time.Second}},
		{"set-cookie not stored without stripping", keepCookies, 200, []string{"Set-Cookie", "sid=1"}, false, want{reason: "set-cookie"}},
		{"vary star", withTTL, 200, []string{"Vary", "Accept-Language, *"}, false, want{reason: "vary-star"}},
		{"404 takes route ttl", withTTL, 404, nil, false, want{store: true, lifetime: 3 * time.Second}},
		{"301 takes route ttl", withTTL, 301, nil, false, want{store: true, lifetime: 3 * time.Second}},
		{"302 needs explicit freshness", withTTL, 302, nil, false, want{reason: "no-freshness"}},
		{"302 with max-age", withTTL, 302, []string{"Cache-Control", "max-age=5"}, false, want{store: true, lifetime: 5 * time.Second}},
		{"force_ttl ignores 403", forced, 403, nil, false, want{reason: "no-freshness"}},
		{"206 never", withTTL, 206, []string{"Cache-Control", "max-age=60"}, false, want{reason: "status"}},
		{"304 never", withTTL, 304, []string{"Cache-Control", "max-age=60"}, false, want{reason: "status"}},
		{"503 never", withTTL, 503, []string{"Cache-Control", "max-age=60"}, false, want{reason: "status"}},
		{"501 takes route ttl", withTTL, 501, nil, false, want{store: true, lifetime: 3 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := parseHeader(t, tc.status, tc.hdrs...)
			p := newPolicy(&tc.cfg)
			got := decide(tc.status, h, tc.auth, &p, now)
			w := tc.want
			if got.store != w.store || got.reason != w.reason {
				t.Fatalf("store=%v reason=%q, want store=%v reason=%q", got.store, got.reason, w.store, w.reason)
			}
			if !w.store {
				return
			}
			if got.lifetime != w.lifetime || got.age != w.age || got.swr != w.swr || got.sie != w.sie || got.revalidate != w.revalidate {
				t.Fatalf("got lifetime=%v age=%v swr=%v sie=%v revalidate=%v, want %v %v %v %v %v",
					got.lifetime, got.age, got.swr, got.sie, got.revalidate, w.lifetime, w.age, w.swr, w.sie, w.revalidate)
			}
		})
	}
}

// parseHeader builds a response header the way one arrives from an origin
// (parsed, so Date is kept as sent).
func parseHeader(t *testing.T, status int, hdrs ...string) *fasthttp.ResponseHeader {
	t.Helper()
	raw := "HTTP/1.1 " + strconv.Itoa(status) + " X\r\n"
	for i := 0; i+1 < len(hdrs); i += 2 {
		raw += hdrs[i] + ": " + hdrs[i+1] + "\r\n"
	}
	raw += "Content-Length: 0\r\n\r\n"
	h := new(fasthttp.ResponseHeader)
	if err := h.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return h
}

func TestParseDeltaSeconds(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"0": 0, "60": 60, "": 0, "-1": 0, "1x": 0, "99999999999999": 1 << 31} {
		if got := parseDeltaSeconds([]byte(in)); got != want {
			t.Errorf("parseDeltaSeconds(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestEntryDeadlines(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	e := &Entry{etag: []byte(`"v"`)}
	e.setTimes(freshness{lifetime: 10 * time.Second, age: 4 * time.Second, swr: 5 * time.Second, sie: time.Minute}, now)
	at := func(d time.Duration) int64 { return now.Add(d).UnixNano() }
	if !e.isFresh(at(5*time.Second)) || e.isFresh(at(6*time.Second)) {
		t.Fatal("fresh for lifetime minus age")
	}
	if !e.canServeStale(at(10*time.Second)) || e.canServeStale(at(11*time.Second)) {
		t.Fatal("stale-while-revalidate window")
	}
	if !e.canServeOnError(at(65*time.Second)) || e.canServeOnError(at(67*time.Second)) {
		t.Fatal("stale-if-error window")
	}
	if e.expired(at(time.Minute)) || !e.expired(at(validatorKeep+7*time.Second)) {
		t.Fatal("kept for revalidation, then expired")
	}
	if got := e.ageAt(at(3 * time.Second)); got != 7 {
		t.Fatalf("Age %d, want 7", got)
	}
	if got := e.ttlAt(at(8 * time.Second)); got != -2 {
		t.Fatalf("ttl %d, want -2", got)
	}
}
