package filter

import (
	"bytes"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"

	"edge/internal/config"

	"github.com/valyala/fasthttp"
)

// itemRequest builds a POST request with the given URI, headers and body.
func itemRequest(uri, contentType, body string, headers ...string) *fasthttp.RequestCtx {
	ctx := new(fasthttp.RequestCtx)
	ctx.Request.Header.SetMethod(fasthttp.MethodPost)
	ctx.Request.SetRequestURI(uri)
	if contentType != "" {
		ctx.Request.Header.SetContentType(contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		ctx.Request.Header.Set(headers[i], headers[i+1])
	}
	ctx.Request.SetBodyString(body)
	return ctx
}

func multipartBody(t *testing.T, field, value string) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.WriteField(field, value); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), b.String()
}

func TestItemSources(t *testing.T) {
	t.Parallel()
	mpType, mpBody := multipartBody(t, "item", "sku-9")
	long := strings.Repeat("a", MaxItemIDLen)
	tests := []struct {
		name string
		cfg  config.Item
		ctx  *fasthttp.RequestCtx
		want string // "" means refused with item_invalid
	}{
		{"query", config.Item{Query: "item"}, itemRequest("/order?x=1&item=42", "", ""), "42"},
		{"query all chars", config.Item{Query: "item"}, itemRequest("/order?item=Ab_9.z:x-1", "", ""), "Ab_9.z:x-1"},
		{"query max length", config.Item{Query: "item"}, itemRequest("/order?item="+long, "", ""), long},
		{"query missing", config.Item{Query: "item"}, itemRequest("/order?other=42", "", ""), ""},
		{"query empty", config.Item{Query: "item"}, itemRequest("/order?item=", "", ""), ""},
		{"query too long", config.Item{Query: "item"}, itemRequest("/order?item="+long+"b", "", ""), ""},
		{"query space", config.Item{Query: "item"}, itemRequest("/order?item=4+2", "", ""), ""},
		{"query slash", config.Item{Query: "item"}, itemRequest("/order?item=a%2Fb", "", ""), ""},
		{"query NUL", config.Item{Query: "item"}, itemRequest("/order?item=4%002", "", ""), ""},
		{"query unicode", config.Item{Query: "item"}, itemRequest("/order?item=%C3%A9", "", ""), ""},
		{"query braces", config.Item{Query: "item"}, itemRequest("/order?item=%7Bx%7D", "", ""), ""},
		{"form", config.Item{Form: "item"}, itemRequest("/order", "application/x-www-form-urlencoded", "a=1&item=77"), "77"},
		{"form ignores query", config.Item{Form: "item"}, itemRequest("/order?item=1", "application/x-www-form-urlencoded", "a=1"), ""},
		{"form multipart", config.Item{Form: "item"}, itemRequest("/order", mpType, mpBody), "sku-9"},
		{"form wrong type", config.Item{Form: "item"}, itemRequest("/order", "text/plain", "item=77"), ""},
		{"header", config.Item{Header: "X-Item"}, itemRequest("/order", "", "", "X-Item", "sku:1"), "sku:1"},
		{"header missing", config.Item{Header: "X-Item"}, itemRequest("/order", "", ""), ""},
		{"header bad", config.Item{Header: "X-Item"}, itemRequest("/order", "", "", "X-Item", "a,b"), ""},
		{"segment 2", config.Item{PathSegment: 2}, itemRequest("/order/42", "", ""), "42"},
		{"segment 2 of 3", config.Item{PathSegment: 2}, itemRequest("/order/42/buy?x=1", "", ""), "42"},
		{"segment 3", config.Item{PathSegment: 3}, itemRequest("/api/order/x.1", "", ""), "x.1"},
		{"segment beyond", config.Item{PathSegment: 3}, itemRequest("/order/42", "", ""), ""},
		{"segment empty", config.Item{PathSegment: 2}, itemRequest("/order/", "", ""), ""},
		{"segment encoded", config.Item{PathSegment: 2}, itemRequest("/order/a%20b", "", ""), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			it := NewItem(&tc.cfg)
			st := &State{Item: []byte("stale")}
			v := it.Handle(tc.ctx, st)
			if tc.want != "" {
				if v != Continue || string(st.Item) != tc.want {
					t.Fatalf("verdict %v item %q, want Continue %q", v, st.Item, tc.want)
				}
				return
			}
			if v != Rejected {
				t.Fatalf("verdict %v item %q, want Rejected", v, st.Item)
			}
			if c := tc.ctx.Response.StatusCode(); c != fasthttp.StatusBadRequest {
				t.Fatalf("status %d, want 400", c)
			}
			if b := string(tc.ctx.Response.Body()); b != `{"error":"item_invalid"}` {
				t.Fatalf("body %s", b)
			}
			if len(st.Item) != 0 || st.Stage != "item" || st.Reason != "item_invalid" {
				t.Fatalf("state after refusal: item %q stage %q reason %q", st.Item, st.Stage, st.Reason)
			}
		})
	}
}

func TestNewItemNil(t *testing.T) {
	t.Parallel()
	if NewItem(nil) != nil {
		t.Fatal("NewItem(nil) should be nil")
	}
}

func TestPathSegment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path string
		n    int
		want string
	}{
		{"/a/b/c", 1, "a"}, {"/a/b/c", 2, "b"}, {"/a/b/c", 3, "c"}, {"/a/b/c", 4, ""},
		{"/a//c", 2, ""}, {"/a//c", 3, "c"}, {"/", 1, ""}, {"", 1, ""}, {"a/b", 1, ""}, {"/a", 0, ""},
	}
	for _, tc := range tests {
		if got := string(pathSegment([]byte(tc.path), tc.n)); got != tc.want {
			t.Errorf("pathSegment(%q, %d) = %q, want %q", tc.path, tc.n, got, tc.want)
		}
	}
}

func TestItemZeroAlloc(t *testing.T) {
	sources := []struct {
		name string
		cfg  config.Item
		uri  string
		hdr  []string
	}{
		{"query", config.Item{Query: "item"}, "/order?item=sku-42", nil},
		{"header", config.Item{Header: "X-Item"}, "/order", []string{"X-Item", "sku-42"}},
		{"segment", config.Item{PathSegment: 2}, "/order/sku-42", nil},
	}
	for _, src := range sources {
		it := NewItem(&src.cfg)
		ctx := itemRequest(src.uri, "", "", src.hdr...)
		st := AcquireState()
		allocs := testing.AllocsPerRun(200, func() {
			ctx.Request.SetRequestURI(src.uri)
			if it.Handle(ctx, st) != Continue {
				t.Fatal("refused")
			}
		})
		ReleaseState(st)
		if allocs != 0 {
			t.Errorf("%s: %v allocations per request, want 0", src.name, allocs)
		}
	}
}

func BenchmarkItemQuery(b *testing.B) {
	it := NewItem(&config.Item{Query: "item"})
	ctx := itemRequest("/order?a=1&item=sku-42", "", "")
	st := AcquireState()
	defer ReleaseState(st)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Request.SetRequestURI("/order?a=1&item=sku-42")
		it.Handle(ctx, st)
	}
}

func FuzzItem(f *testing.F) {
	f.Add("42", "/order/42", "42")
	f.Add("", "/", "")
	f.Add(strings.Repeat("x", 65), "/order/%2F", "a\x00b")
	f.Add("a b", "//", "é")
	f.Fuzz(func(t *testing.T, query, path, header string) {
		for _, cfg := range []config.Item{{Query: "item"}, {Header: "X-Item"}, {PathSegment: 2}} {
			ctx := new(fasthttp.RequestCtx)
			ctx.Request.Header.SetMethod(fasthttp.MethodPost)
			ctx.Request.URI().SetPath(path)
			ctx.Request.URI().SetQueryString("item=" + url.QueryEscape(query))
			ctx.Request.Header.Set("X-Item", header)
			st := &State{}
			switch NewItem(&cfg).Handle(ctx, st) {
			case Continue:
				if !ValidItemID(st.Item) {
					t.Fatalf("accepted malformed item %q", st.Item)
				}
				if cfg.Query != "" && string(st.Item) != query {
					t.Fatalf("query item %q, sent %q", st.Item, query)
				}
			case Rejected:
				if ctx.Response.StatusCode() != fasthttp.StatusBadRequest || len(st.Item) != 0 {
					t.Fatalf("refusal: status %d item %q", ctx.Response.StatusCode(), st.Item)
				}
				if cfg.Query != "" && ValidItemID([]byte(query)) {
					t.Fatalf("refused valid query item %q", query)
				}
			default:
				t.Fatal("unexpected verdict")
			}
		}
	})
}
