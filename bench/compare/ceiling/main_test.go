package main

import (
	"bytes"
	"testing"

	"edge/bench/compare/pages"
)

func TestCeilingBodies(t *testing.T) {
	t.Parallel()
	c := NewCeiling(10)
	tests := []struct {
		path string
		want []byte
	}{
		{"/hot", pages.Hot()},
		{"/u/0", pages.U(0)},
		{"/u/9", pages.U(9)},
		{"/u/10", nil},
		{"/u/-1", nil},
		{"/esi/cached", pages.Assembled(pages.Cached)},
		{"/ssi/cached", pages.Assembled(pages.Cached)},
		{"/esi/uncached", pages.Assembled(pages.Uncached)},
		{"/frag/u2", pages.Fragment(pages.Uncached, 2)},
		{"/slow/anything", pages.Slow()},
		{"/unknown", nil},
	}
	for _, tt := range tests {
		if got := c.Body(tt.path); !bytes.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("Body(%q): %d bytes, want %d", tt.path, len(got), len(tt.want))
		}
	}
}
