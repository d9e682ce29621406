#!/usr/bin/env bash
# scripts/bench-ab.sh A B: two edge builds side by side on the cache-hit
# scenario of make bench-compare, for measuring one change. Each build runs
# from the comparison's edge config (bench/compare/run/templates/edge.yaml)
# in front of the comparison's origin, pinned to the same CPU; wrk runs on
# the other CPU and the builds take turns, round after round and first in
# every other round, so that the machine's drift falls on both alike.
# Prints each round, then the medians: requests/s and the server's user
# and system CPU per request (from /proc/<pid>/stat), and B's requests/s
# as a ratio to A's.
#
# A and B are edge binaries (build them with
# CGO_ENABLED=0 go build -trimpath -o /tmp/edge-a ./cmd/edge, say).
#
# Environment (defaults in brackets):
#   AB_ROUNDS   [5]      rounds; each runs A, then B
#   AB_DURATION [8s]     wrk duration per run
#   AB_URLS     [10000]  distinct /u/{n} pages; 0 asks for /hot only
#   AB_CONNS    [64]     wrk connections (one wrk thread)
#   AB_CEILING           set to anything to run the bare fasthttp ceiling as a third column
#   AB_CPU_SERVER [0], AB_CPU_LOAD [1]  CPUs of the servers and of wrk and the origin
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 2 ] || [ ! -x "$1" ] || [ ! -x "$2" ]; then
  echo "usage: $0 EDGE_BINARY_A EDGE_BINARY_B (both executable)" >&2
  exit 2
fi
for cmd in wrk taskset curl python3; do
  command -v "$cmd" >/dev/null 2>&1 || { echo "bench-ab: $cmd is missing (apt-get install wrk util-linux curl python3)" >&2; exit 2; }
done

rounds=${AB_ROUNDS:-5} duration=${AB_DURATION:-8s} urls=${AB_URLS:-10000} conns=${AB_CONNS:-64}
cpu_server=${AB_CPU_SERVER:-0} cpu_load=${AB_CPU_LOAD:-1}
. scripts/build.sh
dir=$(mktemp -d)
clean_up_at_exit "$dir"

# Free ports, asked of the kernel: a port in use would leave a server
# from an earlier run answering for the build under test.
ports=($(python3 -c 'import socket
s=[socket.socket() for _ in range(6)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))'))
origin=127.0.0.1:${ports[0]}
pages=$((urls > 0 ? urls : 1)) # the origin and the ceiling serve /hot and /u/0../u/{pages-1}

build "$dir/origin" ./bench/compare/origin
build "$dir/ceiling" ./bench/compare/ceiling

declare -A pid addr
start() { # name cpu argv...
  local name=$1 cpu=$2
  shift 2
  taskset -c "$cpu" "$@" >"$dir/$name.log" 2>&1 &
  pids+=($!)
  pid[$name]=$!
}

config() { # listen admin > file
  sed -e "s/{{.Listen}}/$1/" -e "s/{{.Admin}}/$2/" -e "s/{{.Origin}}/$origin/" \
    bench/compare/run/templates/edge.yaml
}

start origin "$cpu_load" "$dir/origin" -listen "$origin" -urls "$pages"
config "127.0.0.1:${ports[1]}" "127.0.0.1:${ports[2]}" >"$dir/a.yaml"
config "127.0.0.1:${ports[3]}" "127.0.0.1:${ports[4]}" >"$dir/b.yaml"
start a "$cpu_server" "$1" -config "$dir/a.yaml"
start b "$cpu_server" "$2" -config "$dir/b.yaml"
names=(a b)
addr=([a]=127.0.0.1:${ports[1]} [b]=127.0.0.1:${ports[3]})
if [ -n "${AB_CEILING:-}" ]; then
  start ceiling "$cpu_server" "$dir/ceiling" -listen "127.0.0.1:${ports[5]}" -urls "$pages"
  names+=(ceiling)
  addr[ceiling]=127.0.0.1:${ports[5]}
fi

for n in "${names[@]}"; do
  for _ in $(seq 50); do
    curl -fso /dev/null "http://${addr[$n]}/hot" && continue 2
    sleep 0.1
  done
  echo "bench-ab: $n does not answer; its log:" >&2
  cat "$dir/$n.log" >&2
  exit 1
done

path=/u/
[ "$urls" -gt 0 ] || path=/hot
run() { # name duration -> "requests duration_us p50_us p99_us user_ticks sys_ticks"
  local n=$1
  read -r u0 s0 < <(awk '{print $14, $15}' "/proc/${pid[$n]}/stat")
  local out
  out=$(BENCH_URLS=$urls BENCH_PREFIX=/u/ taskset -c "$cpu_load" wrk -t1 -c"$conns" -d"$2" \
    -s bench/compare/run/templates/bench.lua "http://${addr[$n]}$path" | grep '^BENCH')
  read -r u1 s1 < <(awk '{print $14, $15}' "/proc/${pid[$n]}/stat")
  echo "$out" | sed -E 's/.*requests=([0-9]+) duration_us=([0-9]+).* p50_us=([0-9]+) p99_us=([0-9]+).*/\1 \2 \3 \4/' |
    tr '\n' ' '
  echo "$((u1 - u0)) $((s1 - s0))"
}

echo "== warming: two 3 s runs each (at this rate they ask for every page)"
for n in "${names[@]}"; do
  run "$n" 3s >/dev/null
  run "$n" 3s >/dev/null
done

tck=$(getconf CLK_TCK)
echo "== $rounds rounds of $duration, $conns connections, ${urls} URLs (0: /hot)"
for i in $(seq "$rounds"); do
  # Odd rounds run the servers in order, even rounds in reverse, so that
  # going first or second in a round weighs on each alike.
  order=("${names[@]}")
  if [ $((i % 2)) -eq 0 ]; then
    order=()
    for ((k = ${#names[@]} - 1; k >= 0; k--)); do order+=("${names[k]}"); done
  fi
  for n in "${order[@]}"; do
    read -r req dus p50 p99 ut st < <(run "$n" "$duration")
    awk -v n="$n" -v i="$i" -v req="$req" -v d="$dus" -v p50="$p50" -v p99="$p99" -v u="$ut" -v s="$st" -v t="$tck" \
      'BEGIN{printf "%-8s round %d: %8.0f req/s  user %.2f µs  sys %.2f µs per request  p50 %.2fms  p99 %.2fms\n",
        n, i, req/(d/1e6), u/t*1e6/req, s/t*1e6/req, p50/1000, p99/1000}' | tee -a "$dir/rounds"
  done
done

echo "== medians"
for n in "${names[@]}"; do
  grep "^$n " "$dir/rounds" | awk -v n="$n" '{r[NR]=$4; u[NR]=$7; s[NR]=$10}
    function med(a, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
    END{printf "%-8s %8.0f req/s  user %.2f µs  sys %.2f µs per request\n", n, med(r, NR), med(u, NR), med(s, NR)}' |
    tee -a "$dir/medians"
done
awk '$1 == "a" {a = $2} $1 == "b" {b = $2} END {printf "B / A (requests/s): %.3f\n", b / a}' "$dir/medians"
