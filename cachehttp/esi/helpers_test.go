package esi

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testFrag is one fragment served by testFetcher.
type testFrag struct {
	body   string
	status int // 0 means 200
	delay  time.Duration
	err    error
	tpl    *Template
}

// fetchCall records one Fetch.
type fetchCall struct {
	url   string
	depth int
}

// testFetcher serves fragments from a map, records calls, honours ctx
// during delays and counts handed-out versus released fragments.
type testFetcher struct {
	pages    map[string]testFrag
	fallback *testFrag // served for URLs not in pages; nil means 404

	mu       sync.Mutex
	calls    []fetchCall
	handed   atomic.Int64
	released atomic.Int64
	cur, max atomic.Int64
}

func newFetcher(pages map[string]testFrag) *testFetcher {
	return &testFetcher{pages: pages}
}

func (f *testFetcher) Fetch(ctx context.Context, url []byte, depth int) (Fragment, error) {
	n := f.cur.Add(1)
	defer f.cur.Add(-1)
	for {
		m := f.max.Load()
		if n <= m || f.max.CompareAndSwap(m, n) {
			break
		}
	}
	f.mu.Lock()
	f.calls = append(f.calls, fetchCall{url: string(url), depth: depth})
	f.mu.Unlock()
	p, ok := f.pages[string(url)]
	if !ok {
		if f.fallback == nil {
			return f.hand(Fragment{Status: 404, Body: []byte("not found")}), nil
		}
		p = *f.fallback
	}
	if p.delay > 0 {
		t := time.NewTimer(p.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return Fragment{}, ctx.Err()
		}
	}
	if p.err != nil {
		return Fragment{}, p.err
	}
	status := p.status
	if status == 0 {
		status = 200
	}
	return f.hand(Fragment{Status: status, Body: []byte(p.body), Template: p.tpl}), nil
}

func (f *testFetcher) hand(fr Fragment) Fragment {
	f.handed.Add(1)
	var once atomic.Bool
	fr.Release = func() {
		if !once.CompareAndSwap(false, true) {
			panic("fragment released twice")
		}
		f.released.Add(1)
	}
	return fr
}

// urls returns the fetched URLs, sorted by nothing but call order.
func (f *testFetcher) urls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.calls))
	for i, c := range f.calls {
		out[i] = c.url
	}
	return out
}

// checkReleased fails the test unless every fragment handed out was
// released exactly once.
func (f *testFetcher) checkReleased(t *testing.T) {
	t.Helper()
	if h, r := f.handed.Load(), f.released.Load(); h != r {
		t.Errorf("fragments handed out %d, released %d", h, r)
	}
}

// testVars is a Vars over plain strings.
type testVars struct {
	cookies   map[string]string
	query     map[string]string
	host      string
	qs        string
	ua        string
	lang      string
	referer   string
	cookieHdr string
}

func (v *testVars) Cookie(name []byte) []byte { return bytesOrNil(v.cookies[string(name)]) }
func (v *testVars) Host() []byte              { return bytesOrNil(v.host) }
func (v *testVars) Query(name []byte) []byte  { return bytesOrNil(v.query[string(name)]) }
func (v *testVars) QueryString() []byte       { return bytesOrNil(v.qs) }
func (v *testVars) UserAgent() []byte         { return bytesOrNil(v.ua) }
func (v *testVars) AcceptLanguage() []byte    { return bytesOrNil(v.lang) }
func (v *testVars) Referer() []byte           { return bytesOrNil(v.referer) }
func (v *testVars) Cookies() []byte           { return bytesOrNil(v.cookieHdr) }

func bytesOrNil(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

var testPage = URLInfo{Scheme: []byte("http"), Host: []byte("shop.example"), RequestURI: []byte("/item/42?x=1")}

// mustParse parses a page and fails on an error.
func mustParse(t testing.TB, body string) *Template {
	t.Helper()
	tpl, err := Parse([]byte(body))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return tpl
}

// testOptions are the defaults but for a deadline long enough that a
// loaded test machine pausing the process cannot turn fragments into
// timeouts; tests of the deadline set their own (under synctest).
var testOptions = Options{Timeout: time.Minute}

// assemble parses body and assembles it with f, vars and o (o.Timeout
// defaults to a minute, see testOptions).
func assemble(t testing.TB, body string, f Fetcher, vars Vars, o Options) (string, Stats, error) {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = testOptions.Timeout
	}
	tpl := mustParse(t, body)
	out, st, err := tpl.Assemble(context.Background(), nil, testPage, vars, f, o)
	return string(out), st, err
}

func warningsText(tpl *Template) string {
	var b strings.Builder
	for _, w := range tpl.Warnings() {
		b.WriteString(w.String())
		b.WriteByte('\n')
	}
	return b.String()
}

type atomicInt = atomic.Int64

func errorsIs(err, target error) bool { return errors.Is(err, target) }
