// Command origin is the backend of the comparison run (make bench-compare).
// One process serves every scenario, to every server under test:
//
//	/hot              a 4 KiB page, Cache-Control: public, max-age=3600
//	/u/{n}            n = 0..urls-1, distinct 4 KiB pages, same headers
//	/esi/cached       a page with three <esi:include> of /frag/c1..c3
//	/esi/uncached     a page with three <esi:include> of /frag/u1..u3
//	/ssi/cached       the same pages with SSI includes, for nginx
//	/ssi/uncached
//	/frag/c{1,2,3}    fragments, cacheable for an hour
//	/frag/u{1,2,3}    fragments that take -frag-delay, Cache-Control: no-store
//	/slow/{id}        a page that takes -slow-delay (the stampede's cold URL)
//	/_count           JSON: requests served per path family, and their total
//	/healthz          ok
//
// Pages carry a Set-Cookie header (-set-cookie=false to drop it), as a
// shop's pages do; a correctly configured cache neither stores nor
// forwards it.
package main

import (
	"flag"
	"log"
	"time"

	"github.com/valyala/fasthttp"

	"edge/bench/compare/pages"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:19200", "address to serve on")
	urls := flag.Int("urls", pages.URLs, "number of distinct /u/{n} pages")
	fragDelay := flag.Duration("frag-delay", 5*time.Millisecond, "latency of an uncached fragment")
	slowDelay := flag.Duration("slow-delay", 200*time.Millisecond, "latency of a /slow/ page")
	setCookie := flag.Bool("set-cookie", true, "send Set-Cookie with every page")
	flag.Parse()

	o := NewOrigin(*urls, *fragDelay, *slowDelay)
	o.SetCookie = *setCookie
	s := &fasthttp.Server{
		Handler:               o.Handle,
		Name:                  "bench-origin",
		NoDefaultServerHeader: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		Concurrency:           1 << 20,
	}
	log.Fatal(s.ListenAndServe(*listen))
}
