package main

import (
	"os/exec"
	"regexp"
	"slices"
	"strings"
)

// versions names the version of each tool in the run, for the record.
func versions(s Settings) string {
	var parts []string
	add := func(name, bin string, re *regexp.Regexp, args ...string) {
		if bin == "" {
			parts = append(parts, name+" missing")
			return
		}
		out, _ := exec.Command(bin, args...).CombinedOutput() // wrk -v exits 1
		if m := re.FindSubmatch(out); m != nil {
			parts = append(parts, name+" "+string(m[1]))
			return
		}
		parts = append(parts, name+" ?")
	}
	add("edge", s.Edge, regexp.MustCompile(`edge (\S+)`), "-version")
	if slices.Contains(s.Servers, "varnish") {
		add("varnish", s.Varnishd, regexp.MustCompile(`varnish-(\S+)`), "-V")
	}
	if slices.Contains(s.Servers, "nginx") {
		add("nginx", s.Nginx, regexp.MustCompile(`nginx/(\S+)`), "-v")
	}
	add("wrk", s.Wrk, regexp.MustCompile(`wrk (\S+)`), "-v")
	return strings.Join(parts, ", ")
}
