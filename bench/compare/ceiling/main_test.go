package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"edge/bench/compare/pages"
)

func TestCeilingBodies(t *testing.T) {
	t.Parallel()
	c := NewCeiling(10)
	tests := []struct {
		path string
		want []byte
	}{
		{"/hot", pages.Hot()},
		{"/u/0", pages.U(0)},
		{"/u/9", pages.U(9)},
		{"/u/10", nil},
		{"/u/-1", nil},
		{"/esi/cached", pages.Assembled(pages.Cached)},
		{"/ssi/cached", pages.Assembled(pages.Cached)},
		{"/esi/uncached", pages.Assembled(pages.Uncached)},
		{"/frag/u2", pages.Fragment(pages.Uncached, 2)},
		{"/slow/anything", pages.Slow()},
		{"/unknown", nil},
	}
	for _, tt := range tests {
		if got, _ := c.lookup(tt.path); !bytes.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("lookup(%q): %d bytes, want %d", tt.path, len(got), len(tt.want))
		}
	}
}

// answer is one response read off the wire: its header lines in order and
// its body.
type answer struct {
	status string
	lines  []string
	body   []byte
}

// roundTrip sends GET path on conn and reads the answer as sent.
func roundTrip(t *testing.T, conn net.Conn, r *bufio.Reader, path string) answer {
	t.Helper()
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: ceiling\r\nCookie: session=x\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
	var a answer
	length := -1
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if a.status == "" {
			a.status = line
			continue
		}
		a.lines = append(a.lines, line)
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			length, _ = strconv.Atoi(v)
		}
	}
	if length < 0 {
		t.Fatalf("GET %s: no Content-Length in %q", path, a.lines)
	}
	a.body = make([]byte, length)
	if _, err := io.ReadFull(r, a.body); err != nil {
		t.Fatalf("GET %s: body: %v", path, err)
	}
	return a
}

// TestCeilingAnswers runs the ceiling's server and reads its answers byte
// for byte: cached pages carry the header lines of an edge cache hit, in
// edge's order, on every request of a connection; other pages carry only
// their Content-Type.
func TestCeilingAnswers(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(NewCeiling(10).Handle)
	go s.Serve(ln)
	defer s.Shutdown()
	if s.ReadTimeout != 0 || s.WriteTimeout != 0 || s.IdleTimeout != 0 {
		t.Fatalf("timeouts %v %v %v: the ceiling sets none", s.ReadTimeout, s.WriteTimeout, s.IdleTimeout)
	}

	conn, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)

	hit := func(size int) []string {
		return []string{
			"Server: bench-origin",
			"Date: *",
			"Content-Type: text/html; charset=utf-8",
			"Content-Length: " + strconv.Itoa(size),
			"Cache-Control: public, max-age=3600",
			"Vary: Accept-Encoding",
			"Accept-Ranges: bytes",
			"Age: 4",
			"X-Cache: HIT",
			"Cache-Status: edge; hit; ttl=3595",
		}
	}
	plain := func(size int) []string {
		return []string{"Date: *", "Content-Type: text/html; charset=utf-8", "Content-Length: " + strconv.Itoa(size)}
	}
	tests := []struct {
		path  string
		body  []byte
		lines []string
	}{
		{"/hot", pages.Hot(), hit(pages.Size)},
		{"/esi/cached", pages.Assembled(pages.Cached), plain(pages.Size)},
		{"/u/7", pages.U(7), hit(pages.Size)},
		{"/hot", pages.Hot(), hit(pages.Size)},
		{"/frag/c1", pages.Fragment(pages.Cached, 1), plain(pages.FragmentSize)},
	}
	for _, tt := range tests {
		a := roundTrip(t, conn, r, tt.path)
		if a.status != "HTTP/1.1 200 OK" {
			t.Fatalf("GET %s: %q", tt.path, a.status)
		}
		if !bytes.Equal(a.body, tt.body) {
			t.Errorf("GET %s: %d bytes that differ from the page", tt.path, len(a.body))
		}
		if !sameLines(a.lines, tt.lines) {
			t.Errorf("GET %s: header lines\n  %s\nwant\n  %s", tt.path,
				strings.Join(a.lines, "\n  "), strings.Join(tt.lines, "\n  "))
		}
	}
}

// sameLines compares header lines in order; "Name: *" matches any value.
func sameLines(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i, w := range want {
		if name, ok := strings.CutSuffix(w, " *"); ok {
			if !strings.HasPrefix(got[i], name) {
				return false
			}
		} else if got[i] != w {
			return false
		}
	}
	return true
}
