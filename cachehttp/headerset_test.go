package cachehttp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/config"
)

// entryWith makes an entry of status with a header of the given lines
// (name, value pairs).
func entryWith(status int, lines ...string) *Entry {
	return entryAt("http://h/"+strconv.Itoa(int(keys.Add(1))), status, lines...)
}

var keys atomic.Int64

// entryAt is entryWith under key.
func entryAt(key string, status int, lines ...string) *Entry {
	var h fasthttp.ResponseHeader
	h.SetNoDefaultContentType(true)
	for i := 0; i+1 < len(lines); i += 2 {
		h.Add(lines[i], lines[i+1])
	}
	e := packEntry(&h, nil, key, []byte("body"), false)
	e.status = status
	return e
}

func TestHeaderSetsShared(t *testing.T) {
	t.Parallel()
	hs := newHeaderSets()
	page := []string{"Content-Type", "text/html", "Cache-Control", "max-age=60"}
	first, second, third := entryWith(200, page...), entryWith(200, page...), entryWith(200, page...)
	for _, e := range []*Entry{first, second, third} {
		hs.share(e)
	}
	if first.common != nil || second.common == nil || third.common != second.common {
		t.Fatalf("shared: first %p, second %p, third %p; want nil, then one set", first.common, second.common, third.common)
	}
	var got fasthttp.ResponseHeader
	second.common.CopyTo(&got)
	if got.StatusCode() != 200 || string(got.ContentType()) != "text/html" || string(got.Peek("Cache-Control")) != "max-age=60" {
		t.Fatalf("shared set reads back as %q", got.String())
	}
	// Another status, or other lines, are other sets.
	for _, e := range []*Entry{entryWith(404, page...), entryWith(200, "Content-Type", "text/html", "Cache-Control", "max-age=61")} {
		hs.share(e)
		if e.common != nil {
			t.Fatalf("entry %d %q shares a set seen once", e.status, e.fields)
		}
	}
}

// TestHeaderSetsOnePage: one page stored again and again (revalidated,
// refetched) interns nothing; a second page with the same lines does.
func TestHeaderSetsOnePage(t *testing.T) {
	t.Parallel()
	hs := newHeaderSets()
	page := []string{"Content-Type", "text/html", "Link", "</p/1>; rel=canonical"}
	for range 3 {
		e := entryAt("http://h/p/1", 200, page...)
		if hs.share(e); e.common != nil {
			t.Fatal("one page's set interned")
		}
	}
	e := entryAt("http://h/p/2", 200, page...)
	if hs.share(e); e.common == nil {
		t.Fatal("a second page's identical set not interned")
	}
}

// TestHeaderSetsBounded: once the sets fill their bound, no more are
// interned, and those interned stay (the entries hold them).
func TestHeaderSetsBounded(t *testing.T) {
	t.Parallel()
	hs := newHeaderSets()
	long := strings.Repeat("v", 1000)
	shared := 0
	var first *fasthttp.ResponseHeader
	for i := range 2000 {
		for range 2 {
			e := entryWith(200, "X-Set", fmt.Sprint(i), "X-Long", long)
			hs.share(e)
			if e.common != nil {
				shared++
				if i == 0 {
					first = e.common
				}
			}
		}
	}
	if hs.bytes > maxSharedBytes || shared == 0 || shared >= 2000 || len(hs.seen) > maxSeen {
		t.Fatalf("%d sets shared in %d bytes (bound %d), %d remembered as seen", shared, hs.bytes, maxSharedBytes, len(hs.seen))
	}
	e := entryWith(200, "X-Set", "0", "X-Long", long)
	if hs.share(e); e.common != first {
		t.Fatal("a set interned before the table filled is no longer shared")
	}
}

// TestHeaderSetsOwnLines: lines naming one representation or one moment
// are an entry's own, kept before the lines it shares.
func TestHeaderSetsOwnLines(t *testing.T) {
	t.Parallel()
	hs := newHeaderSets()
	var es []*Entry
	for i := range 3 {
		e := entryWith(200, "ETag", fmt.Sprintf(`"v%d"`, i), "Content-Type", "text/html",
			"Last-Modified", "Fri, 11 Dec 2026 10:00:00 GMT", "Cache-Control", "max-age=60")
		hs.share(e)
		es = append(es, e)
	}
	if es[1].common == nil || es[2].common != es[1].common {
		t.Fatal("pages differing in their own lines only share no set")
	}
	for i, e := range es {
		var h fasthttp.ResponseHeader
		h.SetNoDefaultContentType(true)
		e.writeSharedHeader(&h)
		if string(h.Peek("ETag")) != fmt.Sprintf(`"v%d"`, i) || len(h.Peek("Last-Modified")) == 0 ||
			string(h.ContentType()) != "text/html" || string(h.Peek("Cache-Control")) != "max-age=60" {
			t.Fatalf("entry %d reads back as %q", i, h.String())
		}
	}
	if string(es[2].etag) != `"v2"` {
		t.Fatalf("etag %q", es[2].etag)
	}
	// Own lines alone make no set.
	for range 3 {
		e := entryWith(200, "ETag", `"x"`)
		if hs.share(e); e.common != nil {
			t.Fatal("a set of no line shared")
		}
	}
}

// TestSharedHeaderHit: an entry answered from a shared header set sends the
// same lines as one answered line by line, Age, X-Cache and Cache-Status
// included, each once; and its hits allocate nothing (not parallel: it
// counts allocations, but under the race detector, whose sync.Pool drops
// items).
func TestSharedHeaderHit(t *testing.T) {
	e := newEnv(t, &config.RouteCache{}, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "public, max-age=600")
		ctx.Response.Header.Set("ETag", `"`+string(ctx.Path())+`"`)
		ctx.Response.Header.Set("X-Shop", "one")
		ctx.SetContentType("text/html")
		ctx.SetBodyString(pageBody)
	})
	lines := func(r *fasthttp.Response) []string {
		var out []string
		for k, v := range r.Header.All() {
			if k := string(k); k != "Date" {
				out = append(out, k+": "+string(v))
			}
		}
		slices.Sort(out)
		return out
	}
	var want []string
	for i := range 3 {
		etag := fmt.Sprintf(`"/p/%d"`, i)
		uri := fmt.Sprintf("/p/%d", i)
		e.get(t, uri) // stores it: the second and third share a set
		r := e.get(t, uri)
		if xcache(r) != "HIT" {
			t.Fatalf("%s: %s", uri, xcache(r))
		}
		if string(r.Header.Peek("ETag")) != etag {
			t.Fatalf("%s: ETag %q, want %q", uri, r.Header.Peek("ETag"), etag)
		}
		if r := e.get(t, uri, "If-None-Match", etag); r.StatusCode() != fasthttp.StatusNotModified {
			t.Fatalf("%s If-None-Match: %d", uri, r.StatusCode())
		}
		r.Header.Del("ETag")
		if i == 0 {
			want = lines(r)
			continue
		}
		if got := lines(r); !slices.Equal(got, want) {
			t.Fatalf("%s (shared set) sends\n%q\nwant\n%q", uri, got, want)
		}
	}
	// HEAD is answered from the shared set too.
	if r := e.do(t, fasthttp.MethodHead, "/p/2"); r.StatusCode() != 200 || xcache(r) != "HIT" {
		t.Fatalf("HEAD: %d %s", r.StatusCode(), xcache(r))
	}
	testHitAllocsAt(t, e.route, "/p/2")
	for _, key := range []string{"http://shop.example/p/2", "https://shop.example/p/2"} {
		o := e.route.c.store.get([]byte(key), time.Now().UnixNano())
		if o == nil || o.variants[0].common == nil || o.variants[0].hdr.Load() != nil {
			t.Fatalf("%s: not answered from a shared header set", key)
		}
	}
}
