package upstream

import "testing"

func TestAppendCanonicalHost(t *testing.T) {
	t.Parallel()
	cases := []struct {
		host  string
		https bool
		want  string
	}{
		{"shop", false, "shop"},
		{"SHOP", false, "shop"},
		{"shop.", false, "shop"},
		{"shop:80", false, "shop"},
		{"shop:080", false, "shop"},
		{"shop:443", true, "shop"},
		{"shop:443", false, "shop:443"},
		{"shop:8080", false, "shop:8080"},
		{"Shop.Example.:8080", false, "shop.example:8080"},
		{"[::1]:80", false, "[::1]"},
		{"[::1]", false, "[::1]"},
		{"[::1]:8080", false, "[::1]:8080"},
		{"", false, ""},
	}
	for _, c := range cases {
		if got := string(appendCanonicalHost(nil, []byte(c.host), c.https)); got != c.want {
			t.Errorf("appendCanonicalHost(%q, https=%v) = %q, want %q", c.host, c.https, got, c.want)
		}
	}
}
