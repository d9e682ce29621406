package cachehttp

import (
	"bytes"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestAcceptEncoding(t *testing.T) {
	t.Parallel()
	cases := []struct {
		ae     string
		br, gz bool
	}{
		{"", false, false},
		{"gzip", false, true},
		{"GZIP", false, true},
		{"x-gzip", false, true},
		{"br", true, false},
		{"gzip, deflate, br, zstd", true, true},
		{"gzip;q=1.0, br;q=0.9", true, true},
		{"br;q=0, gzip", false, true},
		{"br; q=0.0, gzip ;q=0.000", false, false},
		{"br;q=0.001", true, false},
		{"*", true, true},
		{"*;q=0", false, false},
		{"*, gzip;q=0", true, false},
		{"identity", false, false},
		{"deflate", false, false},
		{" gzip , br ", true, true},
		{"gzip;level=1", false, true},
	}
	for _, tc := range cases {
		br, gz := acceptEncoding([]byte(tc.ae))
		if br != tc.br || gz != tc.gz {
			t.Errorf("acceptEncoding(%q) = br %v gzip %v, want %v %v", tc.ae, br, gz, tc.br, tc.gz)
		}
	}
}

func TestParseVary(t *testing.T) {
	t.Parallel()
	cases := []struct {
		lines []string
		strip bool
		names []string
		star  bool
	}{
		{nil, true, nil, false},
		{[]string{"Accept-Encoding"}, true, nil, false},
		{[]string{"accept-language, Accept-Encoding"}, true, []string{"Accept-Language"}, false},
		{[]string{"X-Device", "accept-language,x-device"}, true, []string{"Accept-Language", "X-Device"}, false},
		{[]string{"Cookie, X-Device"}, true, []string{"X-Device"}, false},
		{[]string{"Cookie, X-Device"}, false, []string{"Cookie", "X-Device"}, false},
		{[]string{"Accept-Language, *"}, true, []string{"Accept-Language"}, true},
	}
	for _, tc := range cases {
		var h fasthttp.ResponseHeader
		for _, l := range tc.lines {
			h.Add("Vary", l)
		}
		v := parseVary(&h, tc.strip)
		var got []string
		for _, n := range v.names {
			got = append(got, string(n))
		}
		if len(got) != len(tc.names) || v.star != tc.star {
			t.Errorf("parseVary(%q) = %q star %v, want %q %v", tc.lines, got, v.star, tc.names, tc.star)
			continue
		}
		for i := range got {
			if got[i] != tc.names[i] {
				t.Errorf("parseVary(%q) = %q, want %q", tc.lines, got, tc.names)
			}
		}
	}
}

func TestSecondaryKey(t *testing.T) {
	t.Parallel()
	names := [][]byte{[]byte("Accept-Language"), []byte("X-Device")}
	key := func(hdrs ...string) []byte {
		var h fasthttp.RequestHeader
		for i := 0; i+1 < len(hdrs); i += 2 {
			h.Set(hdrs[i], hdrs[i+1])
		}
		return appendSecondaryKey(nil, names, &h)
	}
	a := key("accept-language", " de ", "X-Device", "mobile")
	if !bytes.Equal(a, key("Accept-Language", "de", "x-device", "mobile")) {
		t.Fatal("same values, different keys")
	}
	if bytes.Equal(key("Accept-Language", "de"), key("X-Device", "de")) {
		t.Fatal("a value moved to another header gave the same key")
	}
	if !bytes.Equal(key(), key("Accept-Language", "")) {
		t.Fatal("absent and empty should match")
	}
}
