#!/usr/bin/env bash
# make bench: edge's performance targets, as ratios measured on this machine
# (the figures are ratios from one run on one machine, not absolute claims).
#
#   1. the Go benchmarks (hot paths report allocations);
#   2. forwarding: edge passing requests through to the example shop, against
#      the shop asked directly (wrk, rounds taking turns, median shown);
#   3. the cache targets, by scripts/bench-compare.sh restricted to edge and
#      the bare fasthttp ceiling on the hot URL, 10 000 URLs and the
#      200-client stampede: cache-hit throughput ≥ 0.9× and ≥ 0.85× the
#      ceiling, one origin request per cold URL, waiters within 15 ms of the
#      origin (see bench/README.md);
#   4. the memory target, by scripts/bench-memory.sh;
# then the PASS/MISS lines of every target again, together.
#
# Servers run on CPU $BENCH_CPU_SERVER (0), the load generator on
# $BENCH_CPU_LOAD (1).
#
# Environment (defaults in brackets):
#   SKIP_GO_BENCH    set to anything to skip the Go benchmarks
#   BENCHTIME [1s]   -benchtime of the Go benchmarks
#   SKIP_FORWARD     set to anything to skip the forwarding run
#   DURATION  [3s]   one forwarding round per server
#   ROUNDS    [3]    forwarding rounds
#   CONNS     [64]   wrk connections of the forwarding run
#   SKIP_CACHE       set to anything to skip the cache targets
#   BENCH_*          passed to scripts/bench-compare.sh; make bench sets
#                    BENCH_SERVERS [ceiling,edge], BENCH_ONLY
#                    [hot,urls,stampede], BENCH_DURATION [15s],
#                    BENCH_ROUNDS [5] and BENCH_STAMPEDE_ROUNDS [5]
#   EDGE_BIN [bin/edge], SHOP_BIN [bin/shop]  binaries (built when missing)
set -uo pipefail
cd "$(dirname "$0")/.."
BENCHTIME="${BENCHTIME:-1s}"
DURATION="${DURATION:-3s}"
ROUNDS="${ROUNDS:-3}"
CONNS="${CONNS:-64}"
CPU_SERVER="${BENCH_CPU_SERVER:-0}"
CPU_LOAD="${BENCH_CPU_LOAD:-1}"
EDGE_BIN="${EDGE_BIN:-bin/edge}"
SHOP_BIN="${SHOP_BIN:-bin/shop}"
export EDGE_BIN

. scripts/build.sh
out=$(mktemp -d)
clean_up_at_exit "$out"
failed=()

# ---- 1. Go benchmarks
if [ -z "${SKIP_GO_BENCH:-}" ]; then
  echo "== Go benchmarks (benchtime $BENCHTIME; SKIP_GO_BENCH=1 skips them)"
  go test -run '^$' -bench . -benchmem -benchtime "$BENCHTIME" ./... 2>&1 |
    grep -E '^(Benchmark|ok|PASS|FAIL|---)' | grep -v '^ok .*no test files'
  [ "${PIPESTATUS[0]}" -eq 0 ] || failed+=("Go benchmarks")
fi

# ---- 2. forwarding
# pin runs a command on one CPU. It is always used in a subshell (a
# background job or a pipeline), so exec makes $! the command's own pid.
pin() { if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then exec taskset -c "$1" "${@:2}"; else exec "${@:2}"; fi; }

# free_ports N: sets ports to N distinct TCP ports of 127.0.0.1 nothing
# listens on, so that the forwarding run does not collide with another
# server on this machine.
free_ports() {
  ports=()
  local p tries=0
  while [ "${#ports[@]}" -lt "$1" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 200 ]; then echo "no free port found" >&2; return 1; fi
    p=$((20000 + RANDOM % 30000))
    [[ " ${ports[*]} " == *" $p "* ]] && continue
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
    ports+=("$p")
  done
}

# wait_http URL: wait up to 5 s for URL to answer.
wait_http() {
  for _ in $(seq 1 50); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# rps URL: one wrk round on the load CPU; prints requests/s.
rps() {
  (pin "$CPU_LOAD" wrk -t1 -c"$CONNS" -d"$DURATION" "$1") 2>/dev/null | awk '/^Requests\/sec:/ {print $2}'
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

forward() {
  if ! command -v wrk >/dev/null 2>&1; then
    echo "wrk not installed: skipping the forwarding run (Debian: apt-get install wrk)"
    return 0
  fi
  build "$EDGE_BIN" ./cmd/edge && build "$SHOP_BIN" ./examples/shop || return 1
  free_ports 3 || return 1
  local shop="127.0.0.1:${ports[0]}" edge="127.0.0.1:${ports[1]}" admin="127.0.0.1:${ports[2]}"
  (pin "$CPU_SERVER" "$SHOP_BIN" -listen "$shop" -stock 42=1000000 -log-level warn) >"$out/shop.log" 2>&1 &
  pids+=($!)
  (
    export BENCH_FWD_LISTEN="$edge" BENCH_FWD_ADMIN="$admin" BENCH_FWD_SHOP="$shop"
    pin "$CPU_SERVER" "$EDGE_BIN" -config bench/load.yaml
  ) >"$out/edge.log" 2>&1 &
  pids+=($!)
  local path=/frag/stock/42 # a small fragment edge forwards (no cache on the route)
  if ! wait_http "http://$shop$path" || ! wait_http "http://$admin/readyz"; then
    echo "the shop or edge did not start:" >&2
    tail -n 5 "$out/shop.log" "$out/edge.log" >&2
    return 1
  fi
  curl -fsS -o "$out/direct" "http://$shop$path" && curl -fsS -o "$out/forwarded" "http://$edge$path" || return 1
  if ! cmp -s "$out/direct" "$out/forwarded"; then
    echo "edge does not answer $path with the shop's bytes; see $out/edge.log" >&2
    return 1
  fi
  echo "== forwarding: wrk -t1 -c$CONNS, $ROUNDS rounds of $DURATION each (turns alternate), GET $path"
  echo "   the shop and edge on CPU $CPU_SERVER (when edge forwards, the two share it), wrk on CPU $CPU_LOAD"
  local direct=() forwarded=() a b
  for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then
      a=$(rps "http://$shop$path"); b=$(rps "http://$edge$path")
    else
      b=$(rps "http://$edge$path"); a=$(rps "http://$shop$path")
    fi
    printf '   round %d/%d: shop directly %8.0f req/s   edge forwarding %8.0f req/s\n' "$round" "$ROUNDS" "${a:-0}" "${b:-0}"
    direct+=("${a:-0}"); forwarded+=("${b:-0}")
  done
  local d f
  d=$(echo "${direct[*]}" | median); f=$(echo "${forwarded[*]}" | median)
  printf '   median: shop directly %.0f req/s, edge forwarding %.0f req/s\n' "$d" "$f"
  echo "INFO  forwarding: edge / shop directly (requests/s): $(ratio "$f" "$d")× (edge and the shop share one CPU when forwarding)" |
    tee "$out/forward.txt"
}

if [ -z "${SKIP_FORWARD:-}" ]; then
  echo
  forward || failed+=("forwarding run")
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
fi

# ---- 3. cache targets
if [ -z "${SKIP_CACHE:-}" ]; then
  echo
  echo "== cache targets: scripts/bench-compare.sh, edge and the ceiling"
  BENCH_SERVERS="${BENCH_SERVERS:-ceiling,edge}" \
    BENCH_ONLY="${BENCH_ONLY:-hot,urls,stampede}" \
    BENCH_DURATION="${BENCH_DURATION:-15s}" \
    BENCH_ROUNDS="${BENCH_ROUNDS:-5}" \
    BENCH_STAMPEDE_ROUNDS="${BENCH_STAMPEDE_ROUNDS:-5}" \
    bash scripts/bench-compare.sh 2>&1 | tee "$out/cache.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || failed+=("cache targets (scripts/bench-compare.sh)")
fi

# ---- 4. memory target
echo
echo "== memory target: scripts/bench-memory.sh"
bash scripts/bench-memory.sh 2>&1 | tee "$out/memory.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || failed+=("memory target (scripts/bench-memory.sh)")

echo
echo "== summary"
# Verdict lines: "PASS  target: figures" from the comparison runner,
# "PASS: figures" from the memory run (named here).
{
  cat "$out/forward.txt" "$out/cache.txt" 2>/dev/null | grep -E '^(PASS|MISS|SKIP|INFO) '
  grep -E '^(PASS|MISS):' "$out/memory.txt" 2>/dev/null | sed -E 's/^(PASS|MISS): /\1  memory: /'
} | grep . || echo "   nothing measured"
if [ "${#failed[@]}" -gt 0 ]; then
  printf 'failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
