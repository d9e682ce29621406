// Command load fires a stampede: N clients, each on its own connection
// opened beforehand, send the same GET at the same instant; it prints one
// JSON line with the latencies (min, p50, p99, max, in microseconds) and
// the statuses. make bench-compare uses it for the 200-client stampede on
// one cold URL; wrk measures the sustained-load scenarios.
//
//	load -addr 127.0.0.1:8080 -path /slow/x -clients 200
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	var s Stampede
	flag.StringVar(&s.Addr, "addr", "127.0.0.1:8080", "server `host:port`")
	flag.StringVar(&s.Path, "path", "/", "request path")
	flag.IntVar(&s.Clients, "clients", 200, "simultaneous requests, one connection each")
	flag.DurationVar(&s.Timeout, "timeout", 10*time.Second, "bound of dialing and of each request")
	flag.IntVar(&s.ExpectSize, "expect-size", 0, "body length of a good answer (0 = any)")
	flag.Parse()
	r, err := s.Run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}
