package esi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// cachedFetcher answers from a map of ready fragments, as the gateway's
// cache does on a hit.
type cachedFetcher map[string]Fragment

func (c cachedFetcher) Fetch(_ context.Context, url []byte, _ int) (Fragment, error) {
	if f, ok := c[string(url)]; ok {
		return f, nil
	}
	return Fragment{Status: 404}, nil
}

var benchPage = `<!doctype html><html><head><title>Item 42</title></head><body>` +
	strings.Repeat(`<div class="row"><p>Static product copy that does not change.</p></div>`, 20) +
	`<header><esi:include src="/frag/header"/></header>` +
	`<esi:vars><p>Hello $(HTTP_COOKIE{name}|'guest')</p></esi:vars>` +
	`<main><esi:include src="/frag/stock?item=42"/></main>` +
	strings.Repeat(`<div class="row"><p>More static product copy.</p></div>`, 20) +
	`<footer><esi:include src="/frag/footer"/></footer></body></html>`

func benchFetcher() cachedFetcher {
	return cachedFetcher{
		"/frag/header":        {Status: 200, Body: []byte(strings.Repeat("<nav>menu</nav>", 10))},
		"/frag/stock?item=42": {Status: 200, Body: []byte(`<span class="stock">17 left</span>`)},
		"/frag/footer":        {Status: 200, Body: []byte(strings.Repeat("<p>footer</p>", 10))},
	}
}

func benchAssemble(b *testing.B, page string, o Options) {
	tpl := mustParse(b, page)
	f := benchFetcher()
	req := &fasthttp.Request{}
	req.SetRequestURI("/item/42")
	req.Header.Set("Cookie", "name=ann")
	vars := RequestVars{Req: req}
	pageURL := URLInfo{Host: []byte("shop.example"), RequestURI: []byte("/item/42")}
	ctx := context.Background()
	dst := make([]byte, 0, 16<<10)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out, st, err := tpl.Assemble(ctx, dst[:0], pageURL, vars, f, o)
		if err != nil || st.OK != tpl.Includes() || len(out) == 0 {
			b.Fatalf("%v %+v", err, st)
		}
	}
}

// BenchmarkAssemble3 assembles a page with three cached fragments.
func BenchmarkAssemble3(b *testing.B) { benchAssemble(b, benchPage, Options{Timeout: time.Minute}) }

// BenchmarkAssemble3Sequential is the same page with Concurrency 1 (no
// goroutines).
func BenchmarkAssemble3Sequential(b *testing.B) {
	benchAssemble(b, benchPage, Options{Concurrency: 1, Timeout: time.Minute})
}

// BenchmarkAssemble1 assembles a page with a single fragment (inline fetch).
func BenchmarkAssemble1(b *testing.B) {
	benchAssemble(b, `<html><body>`+strings.Repeat("<p>copy</p>", 50)+`<esi:include src="/frag/stock?item=42"/></body></html>`, Options{Timeout: time.Minute})
}

func BenchmarkParse(b *testing.B) {
	body := []byte(benchPage)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHasESI(b *testing.B) {
	body := []byte(strings.Repeat(`<div class="row"><p>Static copy.</p></div>`, 500))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if HasESI(body) {
			b.Fatal("no ESI expected")
		}
	}
}

// A page with a single cached fragment costs a bounded, small number of
// allocations (the page deadline's context), and a page whose includes are
// all in untaken branches none at all.
func TestAssembleAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	f := benchFetcher()
	ctx := context.Background()
	dst := make([]byte, 0, 4096)
	for _, tc := range []struct {
		page string
		max  float64
	}{
		{`<p>a</p><esi:include src="/frag/header"/><p>b</p>`, 4},
		{`<esi:choose><esi:when test="1==2"><esi:include src="/frag/header"/></esi:when></esi:choose><esi:remove>x</esi:remove>`, 0},
	} {
		tpl := mustParse(t, tc.page)
		n := testing.AllocsPerRun(200, func() {
			if _, _, err := tpl.Assemble(ctx, dst[:0], testPage, nil, f, testOptions); err != nil {
				t.Fatal(err)
			}
		})
		if n > tc.max {
			t.Errorf("%q: %v allocations, want at most %v", tc.page, n, tc.max)
		}
	}
}
