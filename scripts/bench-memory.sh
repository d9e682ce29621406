#!/usr/bin/env bash
# make bench-memory: edge's memory with a full cache, measured on the
# process. An in-process origin, the edge binary as a child process with
# cache.size 64MiB, a million distinct URLs fetched through it once each;
# edge's RSS (VmRSS, VmHWM) and cached bytes sampled throughout. PASS when
# every request succeeded, the cached bytes never went over the size and
# the peak RSS stayed within the size plus the stated overhead (see
# `go doc ./bench/memory` for the bound and why). Takes a few minutes on
# two cores: every URL is a miss, and a miss costs edge the origin fetch
# and the gzip and brotli variants of the page.
#
# Environment (defaults in brackets):
#   MEM_URLS         [1000000]  distinct URLs, each fetched once
#   MEM_CONNS        [32]       keep-alive client connections
#   MEM_SIZE         [64MiB]    edge's cache.size
#   MEM_OVERHEAD     [0]        allowed peak RSS above the size; 0: the size + 64MiB
#   MEM_EDGE_CPU     [0]        CPU edge is pinned to (taskset); none: not pinned
#   MEM_LOAD_CPU     [1]        CPU of the clients and the origin
#   MEM_HEAP_PROFILE []         file to save edge's heap profile to, taken after the run
#   EDGE_BIN         [bin/edge] the edge binary (built when missing)
# GOGC and GOMEMLIMIT, when set, reach edge and are shown in the report.
set -euo pipefail
cd "$(dirname "$0")/.."

EDGE_BIN="${EDGE_BIN:-bin/edge}"
. scripts/build.sh
build "$EDGE_BIN" ./cmd/edge

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "== building bench/memory"
CGO_ENABLED=0 go build -trimpath -o "$tmp/memory" ./bench/memory

edge_cpu="${MEM_EDGE_CPU:-0}"
pin=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc --all)" -ge 2 ]; then
  [ "$edge_cpu" = none ] || pin=(taskset -c "${MEM_LOAD_CPU:-1}")
else
  # One CPU, or no taskset: everything shares the machine.
  edge_cpu=none
fi

"${pin[@]}" "$tmp/memory" \
  -edge "$EDGE_BIN" \
  -urls "${MEM_URLS:-1000000}" \
  -conns "${MEM_CONNS:-32}" \
  -size "${MEM_SIZE:-64MiB}" \
  -overhead "${MEM_OVERHEAD:-0}" \
  -edge-cpu "$edge_cpu" \
  -heap-profile "${MEM_HEAP_PROFILE:-}"
