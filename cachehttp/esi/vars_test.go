package esi

import (
	"testing"

	"github.com/valyala/fasthttp"
)

func TestParseVarRef(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in            string
		n             int
		known         bool
		key, def      string
		hasKey, hasDf bool
	}{
		{"$(HTTP_HOST)", 12, true, "", "", false, false},
		{"$(HTTP_HOST)tail", 12, true, "", "", false, false},
		{"$(HTTP_COOKIE{sid})", 19, true, "sid", "", true, false},
		{"$(HTTP_COOKIE{'sid'})", 21, true, "sid", "", true, false},
		{"$(HTTP_COOKIE{sid}|'x y')", 25, true, "sid", "x y", true, true},
		{"$(HTTP_COOKIE{sid}|none)", 24, true, "sid", "none", true, true},
		{"$(QUERY_STRING|'')", 18, true, "", "", false, true},
		{"$(FOO)", 6, false, "", "", false, false},
		{"$(HTTP_HOST", 0, false, "", "", false, false},
		{"$()", 0, false, "", "", false, false},
		{"$(http_host)", 0, false, "", "", false, false},
		{"$(HTTP_COOKIE{sid)", 0, false, "", "", false, false},
		{"$(HTTP_COOKIE{a)b})", 0, false, "", "", false, false},
		{"$(HTTP_COOKIE|'x)", 0, false, "", "", false, false},
		{"$(HTTP_HOST x)", 0, false, "", "", false, false},
	} {
		ref, n, known := parseVarRef([]byte(tc.in))
		if n != tc.n || known != tc.known {
			t.Errorf("%q: n %d known %v, want %d %v", tc.in, n, known, tc.n, tc.known)
			continue
		}
		if n == 0 {
			continue
		}
		if string(ref.key) != tc.key || ref.hasKey != tc.hasKey || string(ref.def) != tc.def || ref.hasDef != tc.hasDf {
			t.Errorf("%q: key %q/%v def %q/%v", tc.in, ref.key, ref.hasKey, ref.def, ref.hasDef)
		}
	}
}

func newRequest() *fasthttp.Request {
	req := &fasthttp.Request{}
	req.SetRequestURI("/item/42?q=a%20b&page=2&q=second")
	req.Header.SetHost("Shop.Example:8080")
	req.Header.Set("Cookie", "sid=abc123; grp=gold")
	req.Header.Set("User-Agent", "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)")
	req.Header.Set("Accept-Language", "en-US,en;q=0.8")
	req.Header.Set("Referer", "https://ref.example/x")
	return req
}

func TestRequestVars(t *testing.T) {
	t.Parallel()
	req := newRequest()
	v := RequestVars{Req: req}
	for _, tc := range []struct{ ref, want string }{
		{"$(HTTP_HOST)", "shop.example:8080"}, // fasthttp lowercases the host
		{"$(HTTP_COOKIE)", "sid=abc123; grp=gold"},
		{"$(HTTP_COOKIE{sid})", "abc123"},
		{"$(HTTP_COOKIE{none}|'d')", "d"},
		{"$(QUERY_STRING)", "q=a%20b&page=2&q=second"},
		{"$(QUERY_STRING{q})", "a b"},
		{"$(QUERY_STRING{page})", "2"},
		{"$(HTTP_USER_AGENT)", "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"},
		{"$(HTTP_USER_AGENT{browser})", "MSIE"},
		{"$(HTTP_USER_AGENT{os})", "WIN"},
		{"$(HTTP_USER_AGENT{version})", "6.0"},
		{"$(HTTP_USER_AGENT{nope})", ""},
		{"$(HTTP_ACCEPT_LANGUAGE)", "en-US,en;q=0.8"},
		{"$(HTTP_ACCEPT_LANGUAGE{en})", "true"},
		{"$(HTTP_ACCEPT_LANGUAGE{en-us})", "true"},
		{"$(HTTP_ACCEPT_LANGUAGE{de})", "false"},
		{"$(HTTP_REFERER)", "https://ref.example/x"},
	} {
		ref, n, _ := parseVarRef([]byte(tc.ref))
		if n == 0 {
			t.Fatalf("bad ref %q", tc.ref)
		}
		if got := string(ref.value(v)); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.ref, got, tc.want)
		}
	}
}

// Reads over a fasthttp request do not copy.
func TestRequestVarsNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	req := newRequest()
	v := RequestVars{Req: req}
	var vv Vars = v
	refs := []string{"$(HTTP_COOKIE{sid})", "$(QUERY_STRING{page})", "$(HTTP_HOST)", "$(HTTP_USER_AGENT{os})", "$(HTTP_ACCEPT_LANGUAGE{en})", "$(HTTP_REFERER)"}
	var parsed []*varRef
	for _, r := range refs {
		ref, _, _ := parseVarRef([]byte(r))
		parsed = append(parsed, ref)
		ref.value(vv) // first use parses cookies and query
	}
	if n := testing.AllocsPerRun(100, func() {
		for _, r := range parsed {
			r.value(vv)
		}
	}); n != 0 {
		t.Errorf("variable reads allocate %v times", n)
	}
}

func TestUserAgentPart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ ua, browser, os, version string }{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36", "MOZILLA", "WIN", "5.0"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Safari/605.1.15", "MOZILLA", "MAC", "5.0"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile", "MOZILLA", "MAC", "5.0"},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko Firefox/121.0", "MOZILLA", "UNIX", "5.0"},
		{"Mozilla/5.0 (Linux; Android 14) Chrome/120", "MOZILLA", "UNIX", "5.0"},
		{"Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko", "MSIE", "WIN", "11.0"},
		{"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)", "MSIE", "WIN", "7.0"},
		{"curl/8.4.0", "OTHER", "OTHER", "8.4.0"},
		{"Darwin-thing", "OTHER", "OTHER", ""},
		{"", "OTHER", "OTHER", ""},
	} {
		ua := []byte(tc.ua)
		got := [3]string{
			string(userAgentPart(ua, []byte("browser"))),
			string(userAgentPart(ua, []byte("os"))),
			string(userAgentPart(ua, []byte("version"))),
		}
		if want := [3]string{tc.browser, tc.os, tc.version}; got != want {
			t.Errorf("%q: %q, want %q", tc.ua, got, want)
		}
	}
}

func TestAcceptsLanguage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header, lang string
		want         bool
	}{
		{"en", "en", true},
		{"EN-gb", "en", true},
		{"en-US", "en-us", true},
		{"en", "en-us", false},
		{"english", "en", false},
		{"de, en;q=0.5", "en", true},
		{"de, en;q=0", "en", false},
		{"de, en;q=0.0", "en", false},
		{"de, en ; q=0.001", "en", true},
		{"*", "en", false},
		{"", "en", false},
		{"en", "", false},
		{",,;,en", "en", true},
	} {
		if got := acceptsLanguage([]byte(tc.header), []byte(tc.lang)); got != tc.want {
			t.Errorf("acceptsLanguage(%q, %q) = %v", tc.header, tc.lang, got)
		}
	}
}

// Variable values are HTML-escaped in esi:vars text and URL-escaped in src.
func TestVarsEscaping(t *testing.T) {
	t.Parallel()
	vars := &testVars{
		cookies: map[string]string{"c": `<script>alert("x")&'</script>`, "p": "a/../b?c=d&e#f"},
		qs:      "a=1&b=x y#frag",
	}
	f := anyFetcher()
	out, _, err := assemble(t, `<esi:vars><p title="$(HTTP_COOKIE{c})">$(HTTP_COOKIE{c})</p></esi:vars>`+
		`<esi:include src="/frag/$(HTTP_COOKIE{p})?v=$(HTTP_COOKIE{c})&$(QUERY_STRING)"/>`, f, vars, Options{})
	if err != nil {
		t.Fatal(err)
	}
	esc := "&lt;script&gt;alert(&#34;x&#34;)&amp;&#39;&lt;/script&gt;"
	if want := `<p title="` + esc + `">` + esc + `</p>F`; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	urls := f.urls()
	want := "/frag/a%2F..%2Fb%3Fc%3Dd%26e%23f?v=%3Cscript%3Ealert%28%22x%22%29%26%27%3C%2Fscript%3E&a=1&b=x%20y%23frag"
	if len(urls) != 1 || urls[0] != want {
		t.Errorf("fetched %q, want %q", urls, want)
	}
}
