#!/usr/bin/env bash
# make bench: the Go benchmarks, then a load run with wrk (when installed)
# of edge forwarding and edge cache hits against the shop directly and a
# bare fasthttp server returning the same bytes (the ceiling). Servers run on
# CPU 0, the load generator on CPU 1, so the figures are ratios from one run
# on one machine, not absolute claims.
set -eu
cd "$(dirname "$0")/.."
BENCHTIME="${BENCHTIME:-1s}"
DURATION="${DURATION:-5s}"
CONNS="${CONNS:-64}"

if [ -z "${SKIP_GO_BENCH:-}" ]; then
  echo "== Go benchmarks (benchtime $BENCHTIME; SKIP_GO_BENCH=1 skips them)"
  go test -run '^$' -bench . -benchmem -benchtime "$BENCHTIME" ./... | grep -E '^(Benchmark|ok|PASS|FAIL|---)' | grep -v '^ok .*no test files' || true
fi

if ! command -v wrk >/dev/null 2>&1; then
  echo
  echo "wrk not installed: skipping the load run (Debian: apt-get install wrk)"
  exit 0
fi
# pin runs a command on one CPU. It is always used in a subshell (a
# background job or a pipeline), so exec makes $! the command's own pid.
pin() { if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then exec taskset -c "$1" "${@:2}"; else exec "${@:2}"; fi; }

out=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$out"; }
trap cleanup EXIT
go build -o "$out/bare" ./bench/bare

pin 0 ./bin/shop -listen 127.0.0.1:19000 -stock 42=1000000 >"$out/shop.log" 2>&1 & pids+=($!)
pin 0 ./bin/edge -config bench/load.yaml >"$out/edge.log" 2>&1 & pids+=($!)
for i in $(seq 1 50); do curl -fsS -o /dev/null http://127.0.0.1:19090/readyz 2>/dev/null && break; sleep 0.1; done
path=/frag/price/42      # cached by edge (route "cached")
fwdpath=/frag/stock/42   # forwarded by edge (route "forward"), same kind of fragment
curl -fsS -o "$out/body" "http://127.0.0.1:19000$path"
pin 0 "$out/bare" -listen 127.0.0.1:19100 -file "$out/body" -content-type 'text/html; charset=utf-8' & pids+=($!)
sleep 0.3
curl -fsS -o /dev/null "http://127.0.0.1:19080$path"
if ! curl -fsS "http://127.0.0.1:19080$path" | cmp -s - "$out/body"; then
  echo "edge does not answer $path with the shop's bytes; see $out/edge.log" >&2
  exit 1
fi

rps() { pin 1 wrk -t1 -c"$CONNS" -d"$DURATION" --latency "$1" 2>/dev/null | awk '/Requests\/sec/ {print $2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {}' | head -1; }
echo
echo "== load run: wrk -t1 -c$CONNS -d$DURATION, servers on CPU 0, wrk on CPU 1"
bare=$(rps "http://127.0.0.1:19100$path")
shop=$(rps "http://127.0.0.1:19000$fwdpath")
fwd=$(rps "http://127.0.0.1:19080$fwdpath")
hit=$(rps "http://127.0.0.1:19080$path")
printf '%-34s %12s\n' "target" "requests/s"
printf '%-34s %12s\n' "bare fasthttp (ceiling), $path" "$bare" "shop directly, $fwdpath" "$shop" "edge forwarding, $fwdpath" "$fwd" "edge cache hit, $path" "$hit"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo
echo "edge forwarding / shop directly : $(ratio "$fwd" "$shop")   (edge and the shop share CPU 0 when forwarding)"
echo "edge cache hit / bare fasthttp  : $(ratio "$hit" "$bare")"
echo "edge cache hit / shop directly  : $(ratio "$hit" "$shop")"
