// Command ceiling is the upper bound of the comparison run: a bare fasthttp
// server that answers each path with the bytes a client of a caching
// server must receive (assembled pages included), doing nothing else. No
// cache can serve a stored response faster than this on the same CPU.
package main

import (
	"flag"
	"log"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"edge/bench/compare/pages"
)

// Ceiling maps every path of the comparison to its final bytes.
type Ceiling struct {
	fixed map[string][]byte
	u     [][]byte
	slow  []byte
}

// NewCeiling builds the table: urls distinct /u/{n} pages.
func NewCeiling(urls int) *Ceiling {
	c := &Ceiling{fixed: map[string][]byte{"/hot": pages.Hot()}, u: make([][]byte, urls), slow: pages.Slow()}
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
	return c
}

// Body returns the bytes of path, or nil when the path is unknown.
func (c *Ceiling) Body(path string) []byte {
	if b, ok := c.fixed[path]; ok {
		return b
	}
	if rest, ok := strings.CutPrefix(path, "/u/"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 && n < len(c.u) {
			return c.u[n]
		}
	}
	if strings.HasPrefix(path, "/slow/") {
		return c.slow
	}
	return nil
}

// Handle is the fasthttp handler.
func (c *Ceiling) Handle(ctx *fasthttp.RequestCtx) {
	body := c.Body(string(ctx.Path()))
	if body == nil {
		ctx.Error("not found\n", fasthttp.StatusNotFound)
		return
	}
	ctx.Response.Header.SetContentType("text/html; charset=utf-8")
	ctx.Response.SetBodyRaw(body)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:19201", "address to serve on")
	urls := flag.Int("urls", pages.URLs, "number of distinct /u/{n} pages")
	flag.Parse()
	c := NewCeiling(*urls)
	s := &fasthttp.Server{
		Handler:               c.Handle,
		NoDefaultServerHeader: true,
		// The same response buffer as edge's public listener, so the
		// ceiling stays a ceiling.
		WriteBufferSize: 16 << 10,
		IdleTimeout:     2 * time.Minute,
		Concurrency:     1 << 20,
	}
	log.Fatal(s.ListenAndServe(*listen))
}
