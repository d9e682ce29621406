package esi

import "testing"

func TestEntityDecoding(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a&amp;b", "a&b"},
		{"&lt;&gt;&quot;&apos;", `<>"'`},
		{"&#38;&#x26;&#X26;", "&&&"},
		{"&#233;&#x1F600;", "é😀"},
		{"&#0;&#xD800;&#x110000;", "\uFFFD\uFFFD\uFFFD"},
		{"&#99999999999999;", "\uFFFD"},
		{"&nbsp;&unknown;", "&nbsp;&unknown;"},
		{"&amp", "&amp"},
		{"& amp;", "& amp;"},
		{"&#;&#x;&#xZ;", "&#;&#x;&#xZ;"},
		{"&&amp;", "&&"},
		{"a&verylongentityname;", "a&verylongentityname;"},
	} {
		if got := string(appendEntityDecoded(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("decode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Entities in attribute values are decoded before use.
func TestEntitiesInAttributes(t *testing.T) {
	t.Parallel()
	f := anyFetcher()
	out, _, err := assemble(t, `<esi:include src="/x?a=1&amp;b=&#50;&amp;c=&lt;&#x3e;"/>`+
		`<esi:choose><esi:when test="&apos;a&apos; == &#39;a&#39;">Y</esi:when></esi:choose>`, f, nil, Options{})
	if err != nil || out != "FY" {
		t.Fatalf("got %q, %v", out, err)
	}
	if u := f.urls(); len(u) != 1 || u[0] != "/x?a=1&b=2&c=%3C%3E" {
		t.Errorf("fetched %q", u)
	}
}

func TestHTMLEscape(t *testing.T) {
	t.Parallel()
	if got := string(appendHTMLEscaped([]byte("p:"), []byte(`a<b>"c'&d`))); got != `p:a&lt;b&gt;&#34;c&#39;&amp;d` {
		t.Errorf("got %q", got)
	}
}

func TestURLEscapes(t *testing.T) {
	t.Parallel()
	in := []byte("a b/?&=#%é~-._")
	if got := string(appendComponentEscaped(nil, in)); got != "a%20b%2F%3F%26%3D%23%25%C3%A9~-._" {
		t.Errorf("component: %q", got)
	}
	if got := string(appendQueryEscaped(nil, in)); got != "a%20b/?&=%23%%C3%A9~-._" {
		t.Errorf("query: %q", got)
	}
	if got := string(appendURLSanitized(nil, []byte("a b\"<>\x00#"))); got != "a%20b%22%3C%3E%00%23" {
		t.Errorf("sanitized: %q", got)
	}
}
