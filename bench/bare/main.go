// Command bare is a fasthttp server that answers every request with the
// same stored bytes, doing nothing else: a tool for experiments by hand.
// The load runs no longer use it; their ceiling is bench/compare/ceiling,
// which also sends the header lines of an edge cache hit.
//
// -timeouts chooses how it bounds slow clients: none (the ceiling), socket
// (fasthttp's own ReadTimeout/WriteTimeout/IdleTimeout, socket deadlines
// re-armed on every request) or sweep (edge's way, internal/conntimeout),
// so that a load run can show what each costs.
package main

import (
	"flag"
	"log"
	"net"
	"os"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/conntimeout"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:19100", "address to serve on")
	file := flag.String("file", "", "body to answer with")
	ctype := flag.String("content-type", "text/html; charset=utf-8", "Content-Type of the body")
	timeouts := flag.String("timeouts", "none", "none, socket or sweep (10s read, 10s write, 60s idle)")
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
	t := conntimeout.Timeouts{Read: 10 * time.Second, Write: 10 * time.Second, Idle: time.Minute}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	switch *timeouts {
	case "none":
	case "socket":
		s.ReadTimeout, s.WriteTimeout, s.IdleTimeout = t.Read, t.Write, t.Idle
	case "sweep":
		ln = conntimeout.Wrap(ln, t)
		s.ConnState = conntimeout.ConnState
	default:
		log.Fatalf("-timeouts %q: want none, socket or sweep", *timeouts)
	}
	log.Fatal(s.Serve(ln))
}
