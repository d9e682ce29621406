package cachehttp

import (
	"bytes"
	"errors"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestAppendKey(t *testing.T) {
	t.Parallel()
	ignore := NewParamFilter([]string{"utm_*", "fbclid", "gclid"})
	cases := []struct {
		name, scheme, host, uri string
		want                    string // "" means an error
	}{
		{"plain", "http", "shop.example", "/item/42", "http://shop.example/item/42"},
		{"root", "https", "shop.example", "/", "https://shop.example/"},
		{"empty uri", "http", "shop.example", "", "http://shop.example/"},
		{"host case and default port", "HTTP", "Shop.Example:80", "/a", "http://shop.example/a"},
		{"https default port", "https", "shop.example:443", "/a", "https://shop.example/a"},
		{"other port kept", "https", "shop.example:8443", "/a", "https://shop.example:8443/a"},
		{"port leading zeros", "http", "shop.example:0080", "/a", "http://shop.example/a"},
		{"trailing dot host", "http", "shop.example.", "/a", "http://shop.example/a"},
		{"ipv6 host", "http", "[::1]:8080", "/a", "http://[::1]:8080/a"},
		{"ipv6 default port", "http", "[2001:DB8::1]:80", "/a", "http://[2001:db8::1]/a"},
		{"empty host", "http", "", "/a", "http:///a"},
		{"double slash", "http", "h", "//a///b//", "http://h/a/b/"},
		{"dot segments", "http", "h", "/a/./b/../c", "http://h/a/c"},
		{"trailing dot segment", "http", "h", "/a/b/.", "http://h/a/b/"},
		{"trailing dotdot", "http", "h", "/a/b/..", "http://h/a/"},
		{"encoded dots", "http", "h", "/a/%2e%2E/b", "http://h/b"},
		{"unreserved decoded", "http", "h", "/%7Euser/%41%62c-%5f", "http://h/~user/Abc-_"},
		{"reserved hex upper", "http", "h", "/a%3ab%2c", "http://h/a%3Ab%2C"},
		{"raw specials encoded", "http", "h", "/a b\"<>\\^`{|}", "http://h/a%20b%22%3C%3E%5C%5E%60%7B%7C%7D"},
		{"utf8 encoded", "http", "h", "/caf\xc3\xa9", "http://h/caf%C3%A9"},
		{"utf8 same as encoded", "http", "h", "/caf%c3%a9", "http://h/caf%C3%A9"},
		{"percent literal", "http", "h", "/100%25", "http://h/100%25"},
		{"sub-delims raw", "http", "h", "/a;b=c,d!$'()*+:@", "http://h/a;b=c,d!$'()*+:@"},
		{"query sorted", "http", "h", "/s?b=2&a=1&c=3", "http://h/s?a=1&b=2&c=3"},
		{"query stable for repeats", "http", "h", "/s?b=2&a=x&b=1&a=y", "http://h/s?a=x&a=y&b=2&b=1"},
		{"query ignored params", "http", "h", "/s?utm_source=x&id=1&fbclid=y&utm_medium=z", "http://h/s?id=1"},
		{"query all ignored", "http", "h", "/s?utm_source=x", "http://h/s"},
		{"query empty", "http", "h", "/s?", "http://h/s"},
		{"query empty params", "http", "h", "/s?&&a=1&&", "http://h/s?a=1"},
		{"query encoded ignored name", "http", "h", "/s?utm%5Fsource=x&a=1", "http://h/s?a=1"},
		{"query encoding normalised", "http", "h", "/s?q=%7e%2f%20x", "http://h/s?q=~%2F%20x"},
		{"query slash and question raw", "http", "h", "/s?next=/a?b", "http://h/s?next=/a?b"},
		{"query plus kept", "http", "h", "/s?q=a+b", "http://h/s?q=a+b"},
		{"query equals in value", "http", "h", "/s?q=a=b&a=1", "http://h/s?a=1&q=a=b"},
		{"fragment dropped", "http", "h", "/a?x=1#frag", "http://h/a?x=1"},
		{"absolute form", "http", "h", "http://other.example/a?x=1", "http://h/a?x=1"},
		{"absolute form no path", "http", "h", "http://other.example", "http://h/"},
		{"absolute form query only", "http", "h", "http://other.example?x=1", "http://h/?x=1"},
		{"above root", "http", "h", "/../a", ""},
		{"above root later", "http", "h", "/a/../../b", ""},
		{"encoded above root", "http", "h", "/%2e%2e/a", ""},
		{"encoded slash", "http", "h", "/a%2fb", ""},
		{"encoded NUL", "http", "h", "/a%00", ""},
		{"bad percent", "http", "h", "/a%zz", ""},
		{"short percent", "http", "h", "/a%4", ""},
		{"bad percent in query", "http", "h", "/a?q=%g1", ""},
		{"control char", "http", "h", "/a\x01b", ""},
		{"control char in query", "http", "h", "/a?q=\x7f", ""},
		{"asterisk", "http", "h", "*", ""},
		{"bad host char", "http", "h/evil", "/a", ""},
		{"host with at", "http", "user@h", "/a", ""},
		{"bad port", "http", "h:80x", "/a", ""},
		{"port too big", "http", "h:65536", "/a", ""},
		{"empty port", "http", "h:", "/a", "http://h/a"},
		{"bad scheme", "ht tp", "h", "/a", ""},
		{"unclosed ipv6", "http", "[::1", "/a", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dst := []byte("prefix|")
			got, err := AppendKey(dst, []byte(tc.scheme), []byte(tc.host), []byte(tc.uri), ignore)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("AppendKey(%q) = %q, want error", tc.uri, got)
				}
				if !errors.Is(err, ErrInvalidURI) {
					t.Fatalf("error %v does not match ErrInvalidURI", err)
				}
				if string(got) != "prefix|" {
					t.Fatalf("dst changed on error: %q", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("AppendKey(%q): %v", tc.uri, err)
			}
			if string(got) != "prefix|"+tc.want {
				t.Fatalf("AppendKey(%q) = %q, want %q", tc.uri, got[len("prefix|"):], tc.want)
			}
			assertIdempotent(t, got[len("prefix|"):], ignore)
		})
	}
}

// assertIdempotent normalises a key's own parts again.
func assertIdempotent(t *testing.T, key []byte, ignore *ParamFilter) {
	t.Helper()
	i := bytes.Index(key, []byte("://"))
	rest := key[i+3:]
	j := bytes.IndexByte(rest, '/')
	again, err := AppendKey(nil, key[:i], rest[:j], rest[j:], ignore)
	if err != nil {
		t.Fatalf("normalising key %q again: %v", key, err)
	}
	if !bytes.Equal(again, key) {
		t.Fatalf("not idempotent: %q -> %q", key, again)
	}
}

func TestAppendKeyManyParams(t *testing.T) {
	t.Parallel()
	// More parameters than the stack array: still sorted, stably.
	var uri []byte
	uri = append(uri, "/s?"...)
	for i := 99; i >= 0; i-- {
		if i < 99 {
			uri = append(uri, '&')
		}
		uri = append(uri, 'p')
		uri = fasthttp.AppendUint(uri, i%50)
		uri = append(uri, '=')
		uri = fasthttp.AppendUint(uri, i)
	}
	key, err := AppendKey(nil, []byte("http"), []byte("h"), uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertIdempotent(t, key, nil)
	if !bytes.HasPrefix(key, []byte("http://h/s?p0=50&p0=0&p1=51&p1=1&p10=60&p10=10&")) {
		t.Fatalf("unexpected order: %.80s", key)
	}
}

func TestAppendKeyNoAlloc(t *testing.T) {
	dst := make([]byte, 0, 512)
	scheme, host := []byte("https"), []byte("Shop.Example:443")
	uri := []byte("/item//42/./x/../?utm_source=a&b=%7e2&a=1")
	ignore := NewParamFilter([]string{"utm_*"})
	allocs := testing.AllocsPerRun(200, func() {
		var err error
		dst, err = AppendKey(dst[:0], scheme, host, uri, ignore)
		if err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("AppendKey allocates %.1f times per call, want 0", allocs)
	}
	if string(dst) != "https://shop.example/item/42/?a=1&b=~2" {
		t.Fatalf("key %q", dst)
	}
}

func TestParamFilter(t *testing.T) {
	t.Parallel()
	f := NewParamFilter([]string{"utm_*", "fbclid", "*_ref", "a*b*c", ""})
	cases := map[string]bool{
		"utm_source": true, "utm_": true, "utm": false, "fbclid": true, "fbclid2": false,
		"shop_ref": true, "_ref": true, "ref": false, "abc": true, "aXbYc": true, "aXbY": false,
		"id": false, "": false,
	}
	for name, want := range cases {
		if got := f.Drop([]byte(name)); got != want {
			t.Errorf("Drop(%q) = %v, want %v", name, got, want)
		}
	}
	if NewParamFilter(nil) != nil || NewParamFilter([]string{""}) != nil {
		t.Error("an empty filter should be nil")
	}
	var none *ParamFilter
	if none.Drop([]byte("utm_source")) {
		t.Error("nil filter dropped a parameter")
	}
}

func FuzzKey(f *testing.F) {
	for _, s := range []string{
		"/", "/a/b/../c?x=1&a=2", "//a//b/./", "/%2e%2e/x", "/a%2Fb", "/caf%c3%a9?q=%7e",
		"http://h/a?b#c", "/s?utm_source=1&b=2&b=1", "/a%00", "/ü?ä=ö", "/a?q=a=b&&c",
	} {
		f.Add("http", "Shop.Example:80", s)
	}
	f.Add("https", "[::1]:443", "/x")
	ignore := NewParamFilter([]string{"utm_*", "fbclid"})
	f.Fuzz(func(t *testing.T, scheme, host, uri string) {
		key, err := AppendKey(nil, []byte(scheme), []byte(host), []byte(uri), ignore)
		if err != nil {
			if !errors.Is(err, ErrInvalidURI) {
				t.Fatalf("error %v does not match ErrInvalidURI", err)
			}
			return
		}
		for _, c := range key {
			if c < 0x21 || c >= 0x7f {
				t.Fatalf("key %q holds byte %#x", key, c)
			}
		}
		assertIdempotent(t, key, ignore)
	})
}
