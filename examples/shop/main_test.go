package main

import (
	"net"
	"strings"
	"testing"
)

func TestRunRejectsBadFlags(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-stock", "42"}, "-stock"},
		{[]string{"-log-level", "loud"}, "-log-level"},
		{[]string{"-fail-rate", "2"}, "fail rate"},
		{[]string{"-no-such-flag"}, "not defined"},
		{[]string{"-log-level", "error", "-listen", busy.Addr().String()}, "listen"},
	} {
		err := run(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v, want an error about %q", tc.args, err, tc.want)
		}
	}
}
