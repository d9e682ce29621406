package cachehttp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"edge/internal/config"
)

// Benchmarks run a real fasthttp.Server on an in-memory listener; each
// parallel client keeps one connection and pipelines pipelineDepth
// requests per write, so the server, not the client, is what is measured.
//
//	go test -run '^$' -bench 'Hit|BareServer' -benchmem ./cachehttp/
//	go test -run '^$' -bench Memory -benchtime 1000000x ./cachehttp/
const pipelineDepth = 32

// browserAE is what a browser sends; hits are served the brotli variant.
const browserAE = "gzip, deflate, br, zstd"

// benchServer serves handler and drives it with pipelined requests for the
// given URIs (round robin).
func benchServer(b *testing.B, handler fasthttp.RequestHandler, uris []string) {
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: handler, NoDefaultServerHeader: true}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown() }()
	reqs := make([][]byte, len(uris))
	for i, u := range uris {
		reqs[i] = []byte("GET " + u + " HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: bench\r\nAccept: text/html\r\nAccept-Encoding: " + browserAE + "\r\nAccept-Language: de-DE,de;q=0.9\r\n\r\n")
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		conn, err := ln.Dial()
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		br := bufio.NewReaderSize(conn, 64<<10)
		buf := make([]byte, 0, 64<<10)
		next := 0
		for more := true; more; {
			buf = buf[:0]
			n := 0
			for n < pipelineDepth {
				if !pb.Next() {
					more = false
					break
				}
				buf = append(buf, reqs[next%len(reqs)]...)
				next++
				n++
			}
			if n == 0 {
				break
			}
			if _, err := conn.Write(buf); err != nil {
				b.Error(err)
				return
			}
			for range n {
				if err := skipResponse(br); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
}

// skipResponse reads one 200 response with a Content-Length, cheaply: the
// client's parsing should not weigh in the server's figures.
func skipResponse(br *bufio.Reader) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return fmt.Errorf("status line %q", line)
	}
	length := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			length, err = strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				return err
			}
		}
	}
	if length < 0 {
		return errors.New("no Content-Length")
	}
	_, err = br.Discard(length)
	return err
}

// benchCache is a primed cache route for the given URIs: stored and hit
// until protected by their hit count. With one URI, it is also named hot,
// as the hot-key detector does for a URL a sale hammers.
func benchCache(b *testing.B, uris []string) *Route {
	origin := startOrigin(b, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "public, max-age=3600")
		ctx.Response.Header.Set("ETag", `"42-v1"`)
		ctx.Response.Header.Set("Last-Modified", "Fri, 11 Dec 2026 10:00:00 GMT")
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.SetBodyString(pageBody)
	})
	c := New(config.Cache{Size: 256 << 20}, NewMetrics(nil))
	r := NewRoute(c, "bench", &config.RouteCache{}, origin)
	// Warm: stored, then hit until promoted (see promoteHits).
	for _, u := range uris {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(u)
		ctx.Request.Header.SetHost("shop.example")
		for range promoteHits + 1 {
			ctx.Response.Reset()
			r.Serve(&ctx, true)
		}
		if ctx.Response.StatusCode() != 200 || xcache(&ctx.Response) != "HIT" {
			b.Fatalf("prime %s: %d %q", u, ctx.Response.StatusCode(), xcache(&ctx.Response))
		}
		if len(uris) == 1 && !c.PromoteURL([]byte("shop.example"), []byte(u)) {
			b.Fatalf("promote %s failed", u)
		}
	}
	return r
}

func hitHandler(r *Route) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) { r.Serve(ctx, true) }
}

// BenchmarkHit: one hot URL.
func BenchmarkHit(b *testing.B) {
	uris := []string{"/item/42?utm_source=mail&color=red"}
	benchServer(b, hitHandler(benchCache(b, uris)), uris)
}

// BenchmarkHit10k: 10 000 URLs, round robin.
func BenchmarkHit10k(b *testing.B) {
	uris := make([]string, 10_000)
	for i := range uris {
		uris[i] = "/item/" + strconv.Itoa(i) + "?color=red"
	}
	benchServer(b, hitHandler(benchCache(b, uris)), uris)
}

// BenchmarkBareServer is the ceiling: a handler writing the bytes a hit
// writes (the same header lines and the brotli body) with SetBodyRaw.
func BenchmarkBareServer(b *testing.B) {
	uris := []string{"/item/42?utm_source=mail&color=red"}
	r := benchCache(b, uris)
	key, _ := AppendKey(nil, strHTTPS, []byte("shop.example"), []byte(uris[0]), nil)
	o := r.c.store.get(key, time.Now().UnixNano())
	if o == nil || o.variants[0].br == nil {
		b.Fatal("no stored brotli variant to copy")
	}
	body := o.variants[0].br
	type kv struct{ k, v []byte }
	var hdrs []kv
	var stored fasthttp.ResponseHeader
	o.variants[0].writeHeader(&stored)
	for k, v := range stored.All() {
		hdrs = append(hdrs, kv{append([]byte(nil), k...), append([]byte(nil), v...)})
	}
	hdrs = append(hdrs, kv{[]byte("Content-Encoding"), []byte("br")}, kv{[]byte("Age"), []byte("1")},
		kv{[]byte("X-Cache"), []byte("HIT")}, kv{[]byte("Cache-Status"), []byte("edge; hit; ttl=3599")})
	benchServer(b, func(ctx *fasthttp.RequestCtx) {
		for _, h := range hdrs {
			ctx.Response.Header.SetCanonical(h.k, h.v)
		}
		ctx.Response.SetBodyRaw(body)
	}, uris)
}

// BenchmarkMemory stores b.N distinct URLs (run with -benchtime 1000000x)
// in a 64 MiB cache and reports the heap in use per byte the store is
// charged. It fails if the store goes over its size.
func BenchmarkMemory(b *testing.B) {
	const size = 64 << 20
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	c := New(config.Cache{Size: size}, NewMetrics(nil))
	r := NewRoute(c, "mem", &config.RouteCache{TTL: dur(time.Hour)}, nil)
	resp := new(fasthttp.Response)
	resp.Header.Set("Cache-Control", "public, max-age=3600")
	resp.Header.Set("ETag", `"v1"`)
	resp.Header.Set("Last-Modified", "Fri, 11 Dec 2026 10:00:00 GMT")
	resp.Header.SetContentType("application/octet-stream")
	resp.SetBody(make([]byte, 400))
	var client fasthttp.RequestHeader
	now := time.Now()
	f := decide(200, &resp.Header, false, &r.pol, now)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		key := fmt.Sprintf("https://shop.example/item/%d?color=red", i)
		e, spec, err := r.newEntry(key, &client, resp, f, now)
		if err != nil {
			b.Fatal(err)
		}
		c.store.addVariant(spec, e, now.UnixNano())
	}
	b.StopTimer()
	st := c.Stats()
	if st.Bytes > size {
		b.Fatalf("store holds %d bytes, over its %d", st.Bytes, size)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	inuse := float64(after.HeapInuse) - float64(before.HeapInuse)
	live := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	b.ReportMetric(live/(1<<20), "MiB-live")
	b.ReportMetric(float64(st.Bytes)/(1<<20), "MiB-charged")
	b.ReportMetric(inuse/(1<<20), "MiB-heap")
	b.ReportMetric(inuse/float64(st.Bytes), "heap/charged")
	b.ReportMetric(float64(st.Entries), "entries")
	runtime.KeepAlive(c)
}

// BenchmarkServeHit is the handler alone on a hit (no connection): what
// the cache adds to a request.
func BenchmarkServeHit(b *testing.B) {
	uris := []string{"/item/42?utm_source=mail&color=red"}
	r := benchCache(b, uris)
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(uris[0])
	ctx.Request.Header.SetHost("shop.example")
	ctx.Request.Header.Set("Accept-Encoding", browserAE)
	ctx.Request.Header.Set("Accept-Language", "de-DE,de;q=0.9")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ctx.Response.Reset()
		r.Serve(&ctx, true)
	}
	if xcache(&ctx.Response) != "HIT" {
		b.Fatal(xcache(&ctx.Response))
	}
}

// BenchmarkServeHitScattered is the handler alone on hits spread over
// 50 000 URLs in random order, more than the CPU's caches hold: what a hit
// costs when its entry comes from memory, as under a catalogue's traffic.
var scatteredURLs = 50_000

func BenchmarkServeHitScattered(b *testing.B) {
	uris := make([]string, scatteredURLs)
	for i := range uris {
		uris[i] = "/item/" + strconv.Itoa(i) + "?color=red"
	}
	r := benchCache(b, uris)
	order := rand.New(rand.NewPCG(1, 2)).Perm(len(uris))
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetHost("shop.example")
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ctx.Request.SetRequestURI(uris[order[i%len(order)]])
		ctx.Response.Reset()
		r.Serve(&ctx, true)
	}
	if xcache(&ctx.Response) != "HIT" {
		b.Fatal(xcache(&ctx.Response))
	}
}
