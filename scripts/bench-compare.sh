#!/usr/bin/env bash
# make bench-compare: edge side by side with Varnish, nginx and a bare
# fasthttp server (the ceiling), all in front of the same Go origin, on the
# same scenarios. See bench/README.md for what is measured and how to read it.
#
# Varnish, nginx and wrk are Debian packages; when one the run needs is
# missing (varnish and nginx only when BENCH_SERVERS names them, wrk
# always) and this runs as root with apt-get, it is installed (its daemon is
# kept from starting: every server here runs from its own config, ports and
# pid files in a temporary directory). A server that cannot be installed is
# left out of the table and said so; numbers are never made up.
#
# Environment (defaults in brackets):
#   BENCH_DURATION [6s]   measured time per scenario and server, split into rounds
#   BENCH_ROUNDS   [3]    rounds per scenario (servers take turns; the median is shown)
#   BENCH_WARMUP   [1s]   load before each measured run, not counted
#   BENCH_CONNS    [64]   wrk connections (one wrk thread)
#   BENCH_STAMPEDE_ROUNDS [3]  cold URLs per server in the stampede
#   BENCH_SERVERS  [ceiling,edge,varnish,nginx]
#   BENCH_ONLY     []     comma-separated scenarios: hot,urls,esi-cached,esi-uncached,stampede
#   BENCH_CPU_SERVER [0]  CPU of the servers under test
#   BENCH_CPU_LOAD   [1]  CPU of wrk, the stampede client and the origin
#   BENCH_NO_INSTALL      set to anything to never install packages
#   BENCH_KEEP            set to anything to keep the generated configs and logs
#   EDGE_BIN       [bin/edge]  the edge binary (built when missing)
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A why=(
  [varnishd]="varnish: the Varnish column (VCL with cookies unset, ESI on)"
  [nginx]="nginx: the nginx column (proxy_cache with lock, SSI standing in for ESI)"
  [wrk]="wrk: the load generator of every sustained-load scenario"
)
declare -A pkg=([varnishd]=varnish [nginx]=nginx [wrk]=wrk)
# The programs this run needs: wrk, and the servers BENCH_SERVERS asks for
# (the runner rejects names it does not know).
servers=",${BENCH_SERVERS:-ceiling,edge,varnish,nginx},"
servers=${servers// /}
needed=(wrk)
case "$servers" in *,varnish,*) needed+=(varnishd) ;; esac
case "$servers" in *,nginx,*) needed+=(nginx) ;; esac
missing=()
for cmd in "${needed[@]}"; do
  # Debian puts varnishd and nginx in /usr/sbin, which a non-root PATH may lack.
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$cmd")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "== missing: ${missing[*]}"
  for cmd in "${missing[@]}"; do echo "   ${why[$cmd]}"; done
  pkgs=(); for cmd in "${missing[@]}"; do pkgs+=("${pkg[$cmd]}"); done
  if [ -n "${BENCH_NO_INSTALL:-}" ]; then
    echo "   BENCH_NO_INSTALL is set: not installing; their columns are skipped"
  elif [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "   cannot install here (needs root and apt-get); install them with:"
    echo "     sudo apt-get install -y ${pkgs[*]}"
    echo "   their columns are skipped"
  else
    echo "   installing with: apt-get install -y --no-install-recommends ${pkgs[*]}"
    # Keep the packages' daemons from starting (policy-rc.d is how Debian
    # asks invoke-rc.d not to start services); ours run from their own configs.
    policy=/usr/sbin/policy-rc.d
    made_policy=
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "${pkgs[@]}" >/tmp/bench-compare-apt.log 2>&1; then
      echo "   first attempt failed; refreshing the package lists (apt-get update) and retrying"
      apt-get update >>/tmp/bench-compare-apt.log 2>&1 || true
      apt-get install -y --no-install-recommends "${pkgs[@]}" >>/tmp/bench-compare-apt.log 2>&1 ||
        echo "   installation failed (log: /tmp/bench-compare-apt.log); the missing columns are skipped"
    fi
    [ -n "$made_policy" ] && rm -f "$policy"
    # Should a daemon have started anyway, stop the one the package started
    # (by the pid in its own pid file), so that it does not take our CPU.
    for pidfile in /run/nginx.pid /run/varnishd.pid /run/varnish.pid; do
      if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "   the package started a daemon (pid $(cat "$pidfile"), $pidfile): stopping it"
        kill "$(cat "$pidfile")" 2>/dev/null || true
      fi
    done
  fi
fi
export PATH="$PATH:/usr/sbin:/sbin"
if ! command -v wrk >/dev/null 2>&1; then
  echo "wrk is not available: the sustained-load scenarios cannot run (Debian: apt-get install wrk)" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
EDGE_BIN="${EDGE_BIN:-bin/edge}"
. scripts/build.sh
build "$EDGE_BIN" ./cmd/edge
echo "== building the origin, the ceiling, the stampede client and the runner"
for p in origin ceiling load run; do
  CGO_ENABLED=0 go build -trimpath -o "$tmp/$p" "./bench/compare/$p"
done

pin=()
if command -v taskset >/dev/null 2>&1; then pin=(taskset -c "${BENCH_CPU_LOAD:-1}"); fi
"${pin[@]}" "$tmp/run" -edge "$EDGE_BIN" -origin "$tmp/origin" -ceiling "$tmp/ceiling" -load "$tmp/load"
