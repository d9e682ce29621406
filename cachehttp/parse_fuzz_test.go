package cachehttp

import (
	"testing"
)

// FuzzHeaderParsers feeds origin and client header values to the cache's
// small parsers: none may panic, and a range must stay inside the body.
func FuzzHeaderParsers(f *testing.F) {
	for _, s := range []string{
		"max-age=60, s-maxage=30", `private="Set-Cookie", no-cache="a, b"`, `max-age="5`, "=,=,",
		"bytes=0-1", "bytes=-5", "bytes=9-", "bytes=1-0", "gzip;q=0, br", "*;q=0.000", "W/\"x\", \"y\"",
	} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, s string, size int) {
		b := []byte(s)
		cc := parseCacheControl([][]byte{b})
		if cc.maxAge < -1 || cc.sMaxAge < -1 || cc.swr < -1 || cc.sie < -1 {
			t.Fatalf("negative delta-seconds from %q: %+v", s, cc)
		}
		acceptEncoding(b)
		etagListMatch(b, []byte(`"x"`), true)
		if size < 0 || size > 1<<20 {
			return
		}
		start, end, res := parseRange(b, size)
		if res == rangeOK && (start < 0 || end >= size || start > end) {
			t.Fatalf("range %q of %d bytes gave [%d, %d]", s, size, start, end)
		}
	})
}
