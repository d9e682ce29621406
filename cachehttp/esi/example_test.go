package esi_test

import (
	"context"
	"fmt"

	"edge/cachehttp/esi"
)

// fragments is a Fetcher serving fixed fragments, as a cache hit would.
type fragments map[string]string

func (m fragments) Fetch(_ context.Context, url []byte, _ int) (esi.Fragment, error) {
	body, ok := m[string(url)]
	if !ok {
		return esi.Fragment{Status: 404}, nil
	}
	return esi.Fragment{Status: 200, Body: []byte(body)}, nil
}

func Example() {
	page := []byte(`<h1>Item 42</h1>` +
		`<esi:include src="stock/42"/>` +
		`<esi:include src="/promo" alt="/promo-default" onerror="continue"/>` +
		`<esi:remove><a href="/stock/42">stock</a></esi:remove>`)
	if !esi.HasESI(page) {
		return // serve the stored bytes as they are
	}
	tpl, err := esi.Parse(page) // once, when the page is stored
	if err != nil {
		return
	}
	f := fragments{"/item/stock/42": "<p>17 left</p>", "/promo-default": "<p>Sale!</p>"}
	info := esi.URLInfo{Host: []byte("shop.example"), RequestURI: []byte("/item/42")}
	out, stats, err := tpl.Assemble(context.Background(), nil, info, nil, f, esi.Options{})
	fmt.Println(string(out), err)
	fmt.Printf("%+v\n", stats)
	// Output:
	// <h1>Item 42</h1><p>17 left</p><p>Sale!</p> <nil>
	// {Fragments:2 OK:1 Alt:1 Dropped:0 Timeout:0 Errors:0}
}
