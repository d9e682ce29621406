package esi

import "testing"

// RFC 3986 §5.4 examples, base http://a/b/c/d;p?q. References to the
// page's own host come out as absolute paths.
func TestResolveRFC3986(t *testing.T) {
	t.Parallel()
	r := &resolver{page: pageBase(URLInfo{Host: []byte("a"), RequestURI: []byte("/b/c/d;p?q")}), allowed: []string{"g"}}
	b := r.page
	for _, tc := range []struct{ ref, want string }{
		// normal examples
		{"g", "/b/c/g"}, {"./g", "/b/c/g"}, {"g/", "/b/c/g/"}, {"/g", "/g"},
		{"//g", "http://g/"}, {"?y", "/b/c/d;p?y"}, {"g?y", "/b/c/g?y"},
		{"g#s", "/b/c/g"}, {"g?y#s", "/b/c/g?y"}, {";x", "/b/c/;x"}, {"g;x", "/b/c/g;x"},
		{"g;x?y#s", "/b/c/g;x?y"}, {".", "/b/c/"}, {"./", "/b/c/"}, {"..", "/b/"},
		{"../", "/b/"}, {"../g", "/b/g"}, {"../..", "/"}, {"../../", "/"}, {"../../g", "/g"},
		// abnormal examples
		{"../../../g", "/g"}, {"../../../../g", "/g"}, {"/./g", "/g"}, {"/../g", "/g"},
		{"g.", "/b/c/g."}, {".g", "/b/c/.g"}, {"g..", "/b/c/g.."}, {"..g", "/b/c/..g"},
		{"./../g", "/b/g"}, {"./g/.", "/b/c/g/"}, {"g/./h", "/b/c/g/h"}, {"g/../h", "/b/c/h"},
		{"g;x=1/./y", "/b/c/g;x=1/y"}, {"g;x=1/../y", "/b/c/y"}, {"g?y/./x", "/b/c/g?y/./x"},
		{"g?y/../x", "/b/c/g?y/../x"}, {"g#s/./x", "/b/c/g"}, {"g#s/../x", "/b/c/g"},
		// the page's own host, in any spelling, is fetched as a path
		{"http://a/b/../x?y", "/x?y"}, {"HTTP://A/x", "/x"}, {"http://a:80/x", "/x"},
		{"https://a/x", "/x"}, {"//a/x", "/x"}, {"http://a", "/"},
		// encoded dots and bytes not allowed in a request line
		{"%2e%2e/g", "/b/g"}, {"/%2E%2e/%2e%2E/etc/passwd", "/etc/passwd"}, {"a b?c d", "/b/c/a%20b?c%20d"},
		{"  /x  ", "/x"},
	} {
		got, ok := r.resolve(nil, []byte(tc.ref), &b)
		if !ok || string(got) != tc.want {
			t.Errorf("resolve(%q) = %q, %v; want %q", tc.ref, got, ok, tc.want)
		}
	}
}

func TestResolveRefused(t *testing.T) {
	t.Parallel()
	r := &resolver{page: pageBase(URLInfo{Host: []byte("shop.example"), RequestURI: []byte("/p")}),
		allowed: []string{"cdn.example", "127.0.0.1", "api.example:8443", "*.img.example"}}
	b := r.page
	for _, ref := range []string{
		"", "#frag", "http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9090/metrics",
		"//169.254.169.254/", "http://localhost/", "javascript:alert(1)", "file:///etc/passwd",
		"gopher://cdn.example/", "http:g", "http://user@cdn.example/", "http://cdn.example@evil/",
		"http:///x", "http://:80/", "http://cdn.example:0/", "http://cdn.example:99999/",
		"http://cdn.example:8a/", "http://[::1]/", "http://[::1/", "http://cdn.example.evil/",
		"http://api.example/", "https://api.example/", "http://img.example/", "http://evilimg.example/",
		"http://cdn%2eexample/", "http://cdn.example\\@evil/", "http://2130706433/", "http://shop.example:9090/",
	} {
		if got, ok := r.resolve(nil, []byte(ref), &b); ok {
			t.Errorf("resolve(%q) = %q, want refused", ref, got)
		}
	}
	for _, tc := range []struct{ ref, want string }{
		{"http://CDN.example/a/../b", "http://cdn.example/b"},
		{"https://cdn.example/x", "https://cdn.example/x"},
		{"http://cdn.example:80/x", "http://cdn.example:80/x"},
		{"http://127.0.0.1/x", "http://127.0.0.1/x"},
		{"https://api.example:8443/x", "https://api.example:8443/x"},
		{"http://a.img.example/x.png", "http://a.img.example/x.png"},
		{"//cdn.example/x", "http://cdn.example/x"},
	} {
		got, ok := r.resolve(nil, []byte(tc.ref), &b)
		if !ok || string(got) != tc.want {
			t.Errorf("resolve(%q) = %q, %v; want %q", tc.ref, got, ok, tc.want)
		}
	}
}

// Relative references inside a fragment resolve against the fragment.
func TestResolveAgainstFragment(t *testing.T) {
	t.Parallel()
	page := pageBase(URLInfo{Host: []byte("shop.example"), RequestURI: []byte("/p/q")})
	r := &resolver{page: page, allowed: []string{"cdn.example"}}
	for _, tc := range []struct{ frag, ref, want string }{
		{"/a/frag/x?k=1", "y", "/a/frag/y"},
		{"/a/frag/x?k=1", "../z", "/a/z"},
		{"/a/frag/x?k=1", "?j=2", "/a/frag/x?j=2"},
		{"http://cdn.example/f/x", "y", "http://cdn.example/f/y"},
		{"http://cdn.example/f/x", "/root", "http://cdn.example/root"},
		{"http://cdn.example/f/x", "http://shop.example/own", "/own"},
	} {
		fb := baseOf([]byte(tc.frag), &page)
		got, ok := r.resolve(nil, []byte(tc.ref), &fb)
		if !ok || string(got) != tc.want {
			t.Errorf("%s + %s = %q, %v; want %q", tc.frag, tc.ref, got, ok, tc.want)
		}
	}
}

func TestHostAllowed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		allowed []string
		url     string
		want    bool
	}{
		{nil, "http://cdn.example/", false},
		{[]string{"cdn.example"}, "http://cdn.example/", true},
		{[]string{"cdn.example"}, "https://cdn.example/", true},
		{[]string{"cdn.example"}, "http://cdn.example:443/", false},
		{[]string{"cdn.example"}, "https://cdn.example:443/", true},
		{[]string{"cdn.example:8080"}, "http://cdn.example:8080/", true},
		{[]string{"cdn.example:8080"}, "http://cdn.example/", false},
		{[]string{"[::1]:8080"}, "http://[::1]:8080/", true},
		{[]string{"[::1]"}, "http://[::1]/", true},
		{[]string{"*.example"}, "http://a.b.example/", true},
		{[]string{"*.example"}, "http://example/", false},
		{[]string{"*.example"}, "http://aexample/", false},
	} {
		r := &resolver{page: pageBase(URLInfo{Host: []byte("shop.test")}), allowed: tc.allowed}
		b := r.page
		if _, ok := r.resolve(nil, []byte(tc.url), &b); ok != tc.want {
			t.Errorf("%v %s: %v, want %v", tc.allowed, tc.url, ok, tc.want)
		}
	}
}
