package httplist

import (
	"testing"
)

func TestNext(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		list               string
		item, params, rest string
		hasParams, hasRest bool
	}{
		{"", "", "", "", false, false},
		{"gzip", "gzip", "", "", false, false},
		{" gzip , br ", "gzip", "", " br ", false, true},
		{"br;q=0.9, gzip", "br", "q=0.9", " gzip", true, true},
		{"en ; q=0.5;x=1", "en", " q=0.5;x=1", "", true, false},
		{",,en", "", "", ",en", false, true},
		{";,en", "", "", "en", true, true},
	} {
		item, params, rest := Next([]byte(tc.list))
		if string(item) != tc.item || string(params) != tc.params || string(rest) != tc.rest ||
			(params != nil) != tc.hasParams || (rest != nil) != tc.hasRest {
			t.Errorf("Next(%q) = %q, %q, %q; want %q, %q, %q",
				tc.list, item, params, rest, tc.item, tc.params, tc.rest)
		}
	}
}

func TestZeroQ(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		params string
		want   bool
	}{
		{"", false},
		{"q=0", true},
		{"Q=0", true},
		{" q=0.0 ", true},
		{"q=0.000", true},
		{"q= 0", true},
		{"q=0.001", false},
		{"q=1", false},
		{"q=", false},
		{"q", false},
		{"level=1", false},
		{"level=1;q=0", true},
		{"q=1;q=0", false},
		{"x=0", false},
	} {
		if got := ZeroQ([]byte(tc.params)); got != tc.want {
			t.Errorf("ZeroQ(%q) = %v, want %v", tc.params, got, tc.want)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	list := []byte("gzip;q=1.0, br;q=0, deflate")
	allocs := testing.AllocsPerRun(100, func() {
		for rest := list; len(rest) > 0; {
			var params []byte
			_, params, rest = Next(rest)
			_ = ZeroQ(params)
		}
	})
	if allocs != 0 {
		t.Errorf("allocs = %v, want 0", allocs)
	}
}
