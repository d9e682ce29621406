package gateway

import "testing"

func TestFramingOK(t *testing.T) {
	t.Parallel()
	cases := []struct {
		raw  string
		want bool
	}{
		{"", true},
		{"\r\n", true},
		{"Host: a\r\nContent-Length: 3\r\n\r\n", true},
		{"Host: a\r\nTransfer-Encoding: chunked\r\n\r\n", true},
		{"Host: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", false},
		{"Host: a\r\ntransfer-encoding: chunked\r\nCONTENT-LENGTH: 3\r\n\r\n", false},
		{"Host: a\r\nX-A: a\r\n b\r\n\r\n", false},
		{"Host: a\r\nX-A: a\r\n\tb\r\n\r\n", false},
		{"Host: a\nX-A: a\r\n\r\n", false},
		{"Host: a\r\nX-A: a\r\n\n", false},
		// Names that merely start like the framing fields, or carry a
		// space before the colon, are other fields.
		{"Content-Length-X: 3\r\nTransfer-Encoding: chunked\r\n\r\n", true},
		{"Content-Length: 3\r\nTransfer-Encodings: chunked\r\n\r\n", true},
		{"Content-Length : 3\r\nTransfer-Encoding: chunked\r\n\r\n", true},
		{"C\r\nT\r\nContent-Length: 3\r\nTransfer-Encoding:chunked\r\n\r\n", false},
	}
	for _, c := range cases {
		if got := framingOK([]byte(c.raw)); got != c.want {
			t.Errorf("framingOK(%q) = %v, want %v", c.raw, got, c.want)
		}
	}
}
