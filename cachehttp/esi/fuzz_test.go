package esi

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// fuzzFetcher answers every URL with a fixed body; URLs containing "n"
// get the fuzzed template itself, so nesting and the depth limit run too.
type fuzzFetcher struct{ tpl *Template }

func (f fuzzFetcher) Fetch(_ context.Context, url []byte, _ int) (Fragment, error) {
	switch {
	case bytes.Contains(url, []byte("n")):
		return Fragment{Status: 200, Body: []byte("N"), Template: f.tpl}, nil
	case bytes.Contains(url, []byte("e")):
		return Fragment{Status: 500}, nil
	}
	return Fragment{Status: 200, Body: []byte("<frag>")}, nil
}

var fuzzVars = &testVars{
	cookies: map[string]string{"a": "<x>", "n": "3"},
	query:   map[string]string{"q": "v w"},
	host:    "shop.example", qs: "q=v%20w", ua: "Mozilla/5.0 (X11; Linux)", lang: "en-US", referer: "/r",
	cookieHdr: "a=<x>; n=3",
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "plain <b>html</b>",
		`a<esi:include src="/x"/>b`,
		`<esi:try><esi:attempt><esi:include src="/e"/></esi:attempt><esi:except>E</esi:except></esi:try>`,
		`<esi:choose><esi:when test="$(HTTP_COOKIE{n}) > 2">A</esi:when><esi:otherwise>B</esi:otherwise></esi:choose>`,
		`<esi:vars>$(HTTP_COOKIE{a}|'d') $(QUERY_STRING{q})</esi:vars>`,
		`<!--esi <esi:include src="n"/> -->`,
		`<esi:remove>x</esi:remove><esi:comment text="c"/>`,
		`<esi:vars><esi:try><esi:attempt>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tpl, err := Parse(body)
		if err != nil || tpl == nil {
			t.Fatalf("Parse: %v", err)
		}
		if len(tpl.Warnings()) > maxWarnings {
			t.Fatalf("%d warnings", len(tpl.Warnings()))
		}
		for _, o := range []Options{{Timeout: time.Second}, {Timeout: time.Second, Concurrency: 1, OnError: OnErrorFail}} {
			out, st, err := tpl.Assemble(context.Background(), nil, testPage, fuzzVars, fuzzFetcher{tpl}, o)
			if err == nil && st.Fragments != st.OK+st.Alt+st.Timeout+st.Errors {
				t.Fatalf("stats do not add up: %+v", st)
			}
			if !HasESI(body) && (err != nil || !bytes.Equal(out, body)) {
				t.Fatalf("body without ESI changed: %q -> %q, %v", body, out, err)
			}
		}
	})
}

func FuzzExpr(f *testing.F) {
	for _, s := range []string{
		`1==1`, `$(HTTP_COOKIE{n}) >= 3 & !($(HTTP_HOST)=='x')`, `'a\'b' < 'c' | false`,
		`$(HTTP_ACCEPT_LANGUAGE{en})`, `((1))`, `-1.5 != +2`, `$(QUERY_STRING{q}|'d') == 'v w'`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		x, err := parseExpr([]byte(s))
		if err != nil {
			return
		}
		if len(x.nodes) > maxExprNodes {
			t.Fatalf("%d nodes", len(x.nodes))
		}
		if x.eval(fuzzVars) != x.eval(fuzzVars) {
			t.Fatal("evaluation not deterministic")
		}
		x.eval(noVars{})
	})
}
