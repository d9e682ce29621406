package pages

import (
	"bytes"
	"regexp"
	"testing"
)

func TestSizes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body []byte
		want int
	}{
		{"hot", Hot(), Size},
		{"u0", U(0), Size},
		{"u9999", U(9999), Size},
		{"slow", Slow(), Size},
		{"assembled cached", Assembled(Cached), Size},
		{"assembled uncached", Assembled(Uncached), Size},
		{"fragment c1", Fragment(Cached, 1), FragmentSize},
		{"fragment u3", Fragment(Uncached, 3), FragmentSize},
	}
	for _, tt := range tests {
		if len(tt.body) != tt.want {
			t.Errorf("%s: %d bytes, want %d", tt.name, len(tt.body), tt.want)
		}
	}
}

func TestDistinctPages(t *testing.T) {
	t.Parallel()
	if bytes.Equal(U(1), U(2)) || bytes.Equal(U(1), Hot()) {
		t.Fatal("pages of different paths must differ")
	}
	if bytes.Equal(Assembled(Cached), Assembled(Uncached)) {
		t.Fatal("assembled pages of the two kinds must differ")
	}
}

// TestTemplatesAssemble replaces every include of both markups by its
// fragment, as Varnish, nginx and edge do, and expects Assembled.
func TestTemplatesAssemble(t *testing.T) {
	t.Parallel()
	esi := regexp.MustCompile(`<esi:include src="(/frag/[cu][0-9])"/>`)
	ssi := regexp.MustCompile(`<!--# include virtual="(/frag/[cu][0-9])" -->`)
	for _, k := range []Kind{Cached, Uncached} {
		for _, tc := range []struct {
			markup string
			page   []byte
			re     *regexp.Regexp
		}{{"esi", ESI(k), esi}, {"ssi", SSI(k), ssi}} {
			if n := len(tc.re.FindAll(tc.page, -1)); n != Fragments {
				t.Fatalf("%s %s: %d includes, want %d", tc.markup, k.Name(), n, Fragments)
			}
			got := tc.re.ReplaceAllFunc(tc.page, func(tag []byte) []byte {
				path := tc.re.FindSubmatch(tag)[1]
				return Fragment(Kind(path[len("/frag/")]), int(path[len(path)-1]-'0'))
			})
			if !bytes.Equal(got, Assembled(k)) {
				t.Errorf("%s %s: assembled template differs from Assembled", tc.markup, k.Name())
			}
		}
	}
}

func TestFragmentPath(t *testing.T) {
	t.Parallel()
	if got := FragmentPath(Uncached, 2); got != "/frag/u2" {
		t.Fatalf("FragmentPath = %q", got)
	}
}
