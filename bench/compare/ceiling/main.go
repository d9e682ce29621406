// Command ceiling is the upper bound of the comparison run: a bare fasthttp
// server that answers each path with the bytes a client of a caching
// server must receive (assembled pages included), doing nothing else. No
// cache can serve a stored response faster than this on the same CPU.
//
// The cached pages (/hot, /u/{n}) go out with the same header lines as an
// edge cache hit of them, so that edge's ratio to the ceiling compares the
// same bytes on the wire and measures edge's own work, not a difference in
// response size. The runner checks that the header names still agree.
package main

import (
	"flag"
	"log"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"edge/bench/compare/pages"
)

// Ceiling maps every path of the comparison to its final bytes.
type Ceiling struct {
	hot   []byte
	fixed map[string][]byte
	u     [][]byte
	slow  []byte
	// hit is the header of a cached page, built once and copied into each
	// answer: the cheapest way to send a fixed header set with fasthttp.
	hit fasthttp.ResponseHeader
}

// NewCeiling builds the table: urls distinct /u/{n} pages.
func NewCeiling(urls int) *Ceiling {
	c := &Ceiling{hot: pages.Hot(), fixed: map[string][]byte{}, u: make([][]byte, urls), slow: pages.Slow()}
	for n := range c.u {
		c.u[n] = pages.U(n)
	}
	for _, k := range []pages.Kind{pages.Cached, pages.Uncached} {
		c.fixed["/esi/"+k.Name()] = pages.Assembled(k)
		c.fixed["/ssi/"+k.Name()] = pages.Assembled(k)
		for i := 1; i <= pages.Fragments; i++ {
			c.fixed[pages.FragmentPath(k, i)] = pages.Fragment(k, i)
		}
	}
	setHitHeader(&c.hit)
	return c
}

// Header lines of a cache hit, in the order edge sends them for /hot and
// /u/{n} in front of the comparison's origin (bench/compare/origin, whose
// Server header edge passes on). fasthttp adds Date and Content-Length
// itself when it writes the answer. Age and Cache-Status vary with time on
// edge; fixed values of the same length are enough here.
var hitLines = [][2]string{
	{"Cache-Control", "public, max-age=3600"},
	{"Vary", "Accept-Encoding"},
	{"Accept-Ranges", "bytes"},
	{"Age", "4"},
	{"X-Cache", "HIT"},
	{"Cache-Status", "edge; hit; ttl=3595"},
}

// Server and Content-Type of a cached page.
const (
	hitServer = "bench-origin"
	htmlType  = "text/html; charset=utf-8"
)

func setHitHeader(h *fasthttp.ResponseHeader) {
	h.SetServer(hitServer)
	h.SetContentType(htmlType)
	for _, l := range hitLines {
		h.Set(l[0], l[1])
	}
}

// lookup returns the bytes of path and whether it is a cached page (/hot,
// /u/{n}), answered with the header of a cache hit.
func (c *Ceiling) lookup(path string) (body []byte, page bool) {
	if path == "/hot" {
		return c.hot, true
	}
	if b, ok := c.fixed[path]; ok {
		return b, false
	}
	if rest, ok := strings.CutPrefix(path, "/u/"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 && n < len(c.u) {
			return c.u[n], true
		}
	}
	if strings.HasPrefix(path, "/slow/") {
		return c.slow, false
	}
	return nil, false
}

// Handle is the fasthttp handler.
func (c *Ceiling) Handle(ctx *fasthttp.RequestCtx) {
	body, page := c.lookup(string(ctx.Path()))
	switch {
	case body == nil:
		ctx.Error("not found\n", fasthttp.StatusNotFound)
		return
	case page:
		c.hit.CopyTo(&ctx.Response.Header)
	default:
		ctx.Response.Header.SetContentType(htmlType)
	}
	ctx.Response.SetBodyRaw(body)
}

// newServer is the ceiling's fasthttp server: fasthttp's defaults but for
// the write buffer. It sets no read, write or idle timeout, since fasthttp
// would re-arm a socket deadline for each on every request: the bound is
// a server doing nothing it can avoid.
func newServer(h fasthttp.RequestHandler) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:               h,
		NoDefaultServerHeader: true,
		// The same response buffer as edge's public listener, so that a
		// page leaves in one write(2) on both.
		WriteBufferSize: 16 << 10,
		Concurrency:     1 << 20,
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:19201", "address to serve on")
	urls := flag.Int("urls", pages.URLs, "number of distinct /u/{n} pages")
	flag.Parse()
	log.Fatal(newServer(NewCeiling(*urls).Handle).ListenAndServe(*listen))
}
