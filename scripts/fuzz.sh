#!/usr/bin/env bash
# Runs every native fuzz target for a short time (default 5s each).
# A longer run: FUZZTIME=10m make fuzz-short, or one target:
#   go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 10m ./cachehttp/esi
set -eu
t="${1:-5s}"
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz $pkg $f ($t)"
    go test -run "^$" -fuzz "^$f\$" -fuzztime "$t" -fuzzminimizetime 2s "$pkg" >/tmp/edge-fuzz.$$ 2>&1 || { cat /tmp/edge-fuzz.$$; rm -f /tmp/edge-fuzz.$$; exit 1; }
  done
done
rm -f /tmp/edge-fuzz.$$
