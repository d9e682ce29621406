// Command bare is the ceiling of the load runs: a fasthttp server that
// answers every request with the same stored bytes, doing nothing else.
package main

import (
	"flag"
	"log"
	"os"

	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:19100", "address to serve on")
	file := flag.String("file", "", "body to answer with")
	ctype := flag.String("content-type", "text/html; charset=utf-8", "Content-Type of the body")
	flag.Parse()
	body, err := os.ReadFile(*file)
	if err != nil {
		log.Fatal(err)
	}
	s := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.Response.Header.SetContentType(*ctype)
			ctx.Response.SetBodyRaw(body)
		},
		NoDefaultServerHeader: true,
		// The same response buffer as edge's public listener, so the
		// ceiling stays a ceiling.
		WriteBufferSize: 16 << 10,
	}
	log.Fatal(s.ListenAndServe(*listen))
}
