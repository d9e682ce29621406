package esi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAssembleIncludes(t *testing.T) {
	t.Parallel()
	pages := map[string]testFrag{
		"/ok":        {body: "OK"},
		"/other":     {body: "OTHER"},
		"/e500":      {body: "oops", status: 500},
		"/e404":      {status: 404},
		"/err":       {err: errors.New("connection refused")},
		"/item/frag": {body: "REL"},
		"/empty":     {body: ""},
		"/s204":      {status: 204},
	}
	for _, tc := range []struct {
		name, body, want string
		stats            Stats
		fetched          []string
	}{
		{"ok", `a<esi:include src="/ok"/>b`, "aOKb", Stats{Fragments: 1, OK: 1}, []string{"/ok"}},
		{"relative", `<esi:include src="frag"/>`, "REL", Stats{Fragments: 1, OK: 1}, []string{"/item/frag"}},
		{"empty body", `[<esi:include src="/empty"/>]`, "[]", Stats{Fragments: 1, OK: 1}, []string{"/empty"}},
		{"204 is success", `[<esi:include src="/s204"/>]`, "[]", Stats{Fragments: 1, OK: 1}, []string{"/s204"}},
		{"500 dropped", `a<esi:include src="/e500"/>b`, "ab", Stats{Fragments: 1, Errors: 1, Dropped: 1}, []string{"/e500"}},
		{"error dropped", `a<esi:include src="/err"/>b`, "ab", Stats{Fragments: 1, Errors: 1, Dropped: 1}, []string{"/err"}},
		{"alt", `<esi:include src="/e404" alt="/other"/>`, "OTHER", Stats{Fragments: 1, Alt: 1}, []string{"/e404", "/other"}},
		{"alt fails too", `a<esi:include src="/e404" alt="/e500"/>b`, "ab", Stats{Fragments: 1, Errors: 1, Dropped: 1}, []string{"/e404", "/e500"}},
		{"alt unused", `<esi:include src="/ok" alt="/other"/>`, "OK", Stats{Fragments: 1, OK: 1}, []string{"/ok"}},
		{"refused src uses alt", `<esi:include src="http://169.254.169.254/" alt="/other"/>`, "OTHER", Stats{Fragments: 1, Alt: 1}, []string{"/other"}},
		{"onerror continue", `a<esi:include src="/e500" onerror="continue"/>b`, "ab", Stats{Fragments: 1, Errors: 1, Dropped: 1}, []string{"/e500"}},
		{"own host absolute", `<esi:include src="http://shop.example/ok"/>`, "OK", Stats{Fragments: 1, OK: 1}, []string{"/ok"}},
		{"untaken branch not fetched", `<esi:choose><esi:when test="1==2"><esi:include src="/other"/></esi:when><esi:otherwise><esi:include src="/ok"/></esi:otherwise></esi:choose>`,
			"OK", Stats{Fragments: 1, OK: 1}, []string{"/ok"}},
		{"order kept", `<esi:include src="/other"/>-<esi:include src="/ok"/>-<esi:include src="/other"/>`, "OTHER-OK-OTHER", Stats{Fragments: 3, OK: 3}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFetcher(pages)
			got, st, err := assemble(t, tc.body, f, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if st != tc.stats {
				t.Errorf("stats %+v, want %+v", st, tc.stats)
			}
			if tc.fetched != nil && !slices.Equal(f.urls(), tc.fetched) {
				t.Errorf("fetched %q, want %q", f.urls(), tc.fetched)
			}
			f.checkReleased(t)
		})
	}
}

func TestAssembleTry(t *testing.T) {
	t.Parallel()
	pages := map[string]testFrag{"/ok": {body: "OK"}, "/bad": {status: 503}, "/fallback": {body: "FB"}}
	for _, tc := range []struct {
		name, body, want string
		opt              Options
		stats            Stats
	}{
		{"attempt ok", `<esi:try><esi:attempt>A<esi:include src="/ok"/></esi:attempt><esi:except>E<esi:include src="/fallback"/></esi:except></esi:try>`,
			"AOK", Options{}, Stats{Fragments: 1, OK: 1}},
		{"attempt fails", `x<esi:try><esi:attempt>A<esi:include src="/ok"/><esi:include src="/bad"/>Z</esi:attempt><esi:except>E<esi:include src="/fallback"/></esi:except></esi:try>y`,
			"xEFBy", Options{}, Stats{Fragments: 3, OK: 2, Errors: 1}},
		{"attempt fails under fail mode", `<esi:try><esi:attempt><esi:include src="/bad"/></esi:attempt><esi:except>E</esi:except></esi:try>`,
			"E", Options{OnError: OnErrorFail}, Stats{Fragments: 1, Errors: 1}},
		{"continue inside attempt", `<esi:try><esi:attempt>A<esi:include src="/bad" onerror="continue"/></esi:attempt><esi:except>E</esi:except></esi:try>`,
			"A", Options{}, Stats{Fragments: 1, Errors: 1, Dropped: 1}},
		{"alt inside attempt", `<esi:try><esi:attempt><esi:include src="/bad" alt="/ok"/></esi:attempt><esi:except>E</esi:except></esi:try>`,
			"OK", Options{}, Stats{Fragments: 1, Alt: 1}},
		{"except fails too", `a<esi:try><esi:attempt><esi:include src="/bad"/></esi:attempt><esi:except>E<esi:include src="/bad"/>F</esi:except></esi:try>b`,
			"aEFb", Options{}, Stats{Fragments: 2, Errors: 2, Dropped: 1}},
		{"nested try", `<esi:try><esi:attempt>1<esi:try><esi:attempt><esi:include src="/bad"/></esi:attempt><esi:except>inner</esi:except></esi:try>2</esi:attempt><esi:except>outer</esi:except></esi:try>`,
			"1inner2", Options{}, Stats{Fragments: 1, Errors: 1}},
		{"inner except fails", `<esi:try><esi:attempt>1<esi:try><esi:attempt><esi:include src="/bad"/></esi:attempt><esi:except><esi:include src="/bad"/></esi:except></esi:try>2</esi:attempt><esi:except>outer</esi:except></esi:try>`,
			"outer", Options{}, Stats{Fragments: 2, Errors: 2}},
		{"no except", `a<esi:try><esi:attempt>A<esi:include src="/bad"/></esi:attempt></esi:try>b`,
			"ab", Options{}, Stats{Fragments: 1, Errors: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFetcher(pages)
			got, st, err := assemble(t, tc.body, f, nil, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || st != tc.stats {
				t.Errorf("got %q %+v, want %q %+v", got, st, tc.want, tc.stats)
			}
			f.checkReleased(t)
		})
	}
}

func TestAssembleFailMode(t *testing.T) {
	t.Parallel()
	pages := map[string]testFrag{"/ok": {body: "OK"}, "/bad": {status: 502}, "/err": {err: errors.New("boom")}}
	for _, tc := range []struct {
		name, body string
		want       []error
	}{
		{"status", `<esi:include src="/ok"/><esi:include src="/bad?secret=1"/>`, []error{ErrIncludeFailed, ErrFragmentStatus}},
		{"fetch error", `<esi:include src="/err"/>`, []error{ErrIncludeFailed}},
		{"refused", `<esi:include src="http://127.0.0.1:9090/"/>`, []error{ErrIncludeFailed, ErrHostNotAllowed}},
		{"except fails", `<esi:try><esi:attempt><esi:include src="/bad"/></esi:attempt><esi:except><esi:include src="/err"/></esi:except></esi:try>`, []error{ErrIncludeFailed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFetcher(pages)
			tpl := mustParse(t, tc.body)
			out, _, err := tpl.Assemble(t.Context(), []byte("PRE"), testPage, nil, f, Options{Timeout: time.Minute, OnError: OnErrorFail})
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("err %v, want %v", err, w)
				}
			}
			if string(out) != "PRE" {
				t.Errorf("dst changed on failure: %q", out)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error leaks the query: %v", err)
			}
			f.checkReleased(t)
		})
	}
	// onerror="continue" wins over fail mode.
	f := newFetcher(pages)
	got, _, err := assemble(t, `a<esi:include src="/bad" onerror="continue"/>b`, f, nil, Options{OnError: OnErrorFail})
	if err != nil || got != "ab" {
		t.Errorf("continue under fail mode: %q, %v", got, err)
	}
}

// AllowedHosts guards against SSRF: refused URLs are never fetched.
func TestAssembleAllowedHosts(t *testing.T) {
	t.Parallel()
	f := anyFetcher()
	body := `<esi:include src="http://169.254.169.254/latest/meta-data/"/>` +
		`<esi:include src="http://127.0.0.1:9090/metrics"/>` +
		`<esi:include src="//127.0.0.1:9090/x"/>` +
		`<esi:include src="http://cdn.example/ok"/>` +
		`<esi:include src="http://$(HTTP_COOKIE{h})/x"/>`
	vars := &testVars{cookies: map[string]string{"h": "169.254.169.254"}}
	got, st, err := assemble(t, body, f, vars, Options{AllowedHosts: []string{"cdn.example", "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got != "F" || st.Errors != 4 || st.OK != 1 {
		t.Errorf("got %q %+v", got, st)
	}
	if u := f.urls(); !slices.Equal(u, []string{"http://cdn.example/ok"}) {
		t.Errorf("fetched %q", u)
	}
}

// A page that includes itself stops at MaxDepth and still answers.
func TestAssembleDepthLimit(t *testing.T) {
	t.Parallel()
	for _, depth := range []int{1, 3, 5} {
		tpl := mustParse(t, `[<esi:include src="/self"/>]`)
		f := newFetcher(map[string]testFrag{"/self": {body: "raw", tpl: tpl}})
		out, st, err := tpl.Assemble(t.Context(), nil, testPage, nil, f, Options{Timeout: time.Minute, MaxDepth: depth})
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Repeat("[", depth+1) + strings.Repeat("]", depth+1)
		if string(out) != want {
			t.Errorf("depth %d: got %q, want %q", depth, out, want)
		}
		if st.OK != depth || st.Errors != 1 || st.Dropped != 1 {
			t.Errorf("depth %d: stats %+v", depth, st)
		}
		f.mu.Lock()
		for i, c := range f.calls {
			if c.depth != i+1 {
				t.Errorf("call %d at depth %d", i, c.depth)
			}
		}
		f.mu.Unlock()
		f.checkReleased(t)
		_, _, err = tpl.Assemble(t.Context(), nil, testPage, nil, f, Options{Timeout: time.Minute, MaxDepth: depth, OnError: OnErrorFail})
		if !errors.Is(err, ErrDepthExceeded) {
			t.Errorf("fail mode: %v", err)
		}
	}
}

func TestAssembleNested(t *testing.T) {
	t.Parallel()
	inner := mustParse(t, `<i><esi:include src="../leaf"/><esi:vars>$(HTTP_COOKIE{u})</esi:vars></i>`)
	bad := mustParse(t, `<b><esi:include src="/missing"/></b>`)
	f := newFetcher(map[string]testFrag{
		"/frags/box/x": {body: "unused", tpl: inner},
		"/frags/leaf":  {body: "LEAF"},
		"/bad":         {tpl: bad},
	})
	vars := &testVars{cookies: map[string]string{"u": "<u>"}}
	got, st, err := assemble(t, `<esi:include src="/frags/box/x"/>|<esi:include src="/bad"/>`, f, vars, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "<i>LEAF&lt;u&gt;</i>|<b></b>"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if st != (Stats{Fragments: 4, OK: 3, Errors: 1, Dropped: 1}) {
		t.Errorf("stats %+v", st)
	}
	f.checkReleased(t)

	// Under fail mode a failure inside a fragment fails the fragment's
	// include, which an enclosing try can handle.
	f = newFetcher(f.pages)
	got, _, err = assemble(t, `<esi:try><esi:attempt><esi:include src="/bad"/></esi:attempt><esi:except>E</esi:except></esi:try>`, f, vars, Options{OnError: OnErrorFail})
	if err != nil || got != "E" {
		t.Errorf("nested failure in try: %q, %v", got, err)
	}
	got, _, err = assemble(t, `a<esi:include src="/bad" onerror="continue"/>b`, f, vars, Options{OnError: OnErrorFail})
	if err != nil || got != "ab" {
		t.Errorf("nested failure with continue: %q, %v", got, err)
	}
	_, _, err = assemble(t, `a<esi:include src="/bad"/>b`, f, vars, Options{OnError: OnErrorFail})
	if !errors.Is(err, ErrIncludeFailed) || !strings.Contains(err.Error(), "/missing") {
		t.Errorf("nested failure: %v", err)
	}
	f.checkReleased(t)
}

func TestAssembleIncludeLimit(t *testing.T) {
	t.Parallel()
	f := anyFetcher()
	body := strings.Repeat(`<esi:include src="/x"/>`, 5)
	got, st, err := assemble(t, body, f, nil, Options{MaxIncludes: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got != "FFF" || len(f.urls()) != 3 || st.Errors != 2 || st.OK != 3 {
		t.Errorf("got %q, %d fetches, %+v", got, len(f.urls()), st)
	}
	tpl := mustParse(t, body)
	_, _, err = tpl.Assemble(t.Context(), nil, testPage, nil, f, Options{Timeout: time.Minute, MaxIncludes: 3, OnError: OnErrorFail})
	if !errors.Is(err, ErrTooManyIncludes) {
		t.Errorf("fail mode: %v", err)
	}
	// The default limit is 32.
	f = anyFetcher()
	got, _, _ = assemble(t, strings.Repeat(`<esi:include src="/x"/>`, 40), f, nil, Options{})
	if len(got) != DefaultMaxIncludes || len(f.urls()) != DefaultMaxIncludes {
		t.Errorf("default limit: %d bytes, %d fetches", len(got), len(f.urls()))
	}
}

type panicFetcher struct{}

func (panicFetcher) Fetch(context.Context, []byte, int) (Fragment, error) { panic("bad fetcher") }

func TestAssembleOddInputs(t *testing.T) {
	t.Parallel()
	var nilTpl *Template
	if out, _, err := nilTpl.Assemble(t.Context(), []byte("x"), testPage, nil, nil, testOptions); string(out) != "x" || err != nil {
		t.Errorf("nil template: %q %v", out, err)
	}
	// No fetcher: includes fail.
	got, st, err := assemble(t, `a<esi:include src="/x"/>b`, nil, nil, Options{})
	if got != "ab" || st.Errors != 1 || err != nil {
		t.Errorf("nil fetcher: %q %+v %v", got, st, err)
	}
	// A panicking fetcher fails the include, inline or in a goroutine.
	for _, body := range []string{`a<esi:include src="/x"/>b`, `a<esi:include src="/x"/><esi:include src="/y"/>b`} {
		got, _, err = assemble(t, body, panicFetcher{}, nil, Options{})
		if got != "ab" || err != nil {
			t.Errorf("panicking fetcher: %q %v", got, err)
		}
		_, _, err = assemble(t, body, panicFetcher{}, nil, Options{OnError: OnErrorFail})
		if !errors.Is(err, ErrFetchPanic) {
			t.Errorf("panicking fetcher, fail mode: %v", err)
		}
	}
	// A nil context is tolerated.
	tpl := mustParse(t, `<esi:include src="/x"/>`)
	//lint:ignore SA1012 nil context on purpose
	out, _, err := tpl.Assemble(nil, nil, testPage, nil, anyFetcher(), testOptions) //nolint:staticcheck
	if string(out) != "F" || err != nil {
		t.Errorf("nil ctx: %q %v", out, err)
	}
}

// The same template assembled concurrently by many requests.
func TestAssembleConcurrentUse(t *testing.T) {
	t.Parallel()
	tpl := mustParse(t, `<esi:vars>$(HTTP_COOKIE{n})</esi:vars>:<esi:include src="/a"/><esi:include src="/b?n=$(HTTP_COOKIE{n})"/>`)
	f := newFetcher(map[string]testFrag{"/a": {body: "A"}})
	f.fallback = &testFrag{body: "B"}
	done := make(chan error)
	for i := range 16 {
		go func() {
			for k := range 50 {
				n := fmt.Sprint(i*100 + k)
				vars := &testVars{cookies: map[string]string{"n": n}}
				out, _, err := tpl.Assemble(context.Background(), nil, testPage, vars, f, testOptions)
				if err == nil && string(out) != n+":AB" {
					err = fmt.Errorf("got %q", out)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 16 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	f.checkReleased(t)
}

func TestOptions(t *testing.T) {
	t.Parallel()
	o := Options{}.normalized()
	if o.MaxDepth != 3 || o.MaxIncludes != 32 || o.Concurrency != 8 || o.Timeout != DefaultTimeout || o.OnError != OnErrorDrop {
		t.Errorf("defaults %+v", o)
	}
	o = Options{MaxDepth: 99, MaxIncludes: 1 << 20, Concurrency: -1, OnError: "explode"}.normalized()
	if o.MaxDepth != maxDepthCap || o.MaxIncludes != maxIncludesCap || o.Concurrency != 8 || o.OnError != OnErrorDrop {
		t.Errorf("caps %+v", o)
	}
	if OptionsFromConfig(nil).normalized().MaxDepth != 3 {
		t.Error("nil config")
	}
}
