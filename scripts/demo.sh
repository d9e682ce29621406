#!/usr/bin/env bash
# make demo: the example shop on 127.0.0.1:9000 and edge in front of it on
# 127.0.0.1:8080 (admin on 127.0.0.1:9090), everything in memory.
# Ctrl-C stops both.
set -eu
cd "$(dirname "$0")/.."
for port in 8080 9000 9090; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is already in use; stop what runs there (or an earlier demo) first" >&2
    exit 1
  fi
done
mkdir -p bin/demo
./bin/shop -listen 127.0.0.1:9000 -stock 42=200,43=50 >bin/demo/shop.log 2>&1 &
shop=$!
./bin/edge -config configs/demo.yaml >bin/demo/edge.log 2>&1 &
edge=$!
stop() { kill "$edge" "$shop" 2>/dev/null || true; wait 2>/dev/null || true; echo; echo "demo stopped"; }
trap stop INT TERM EXIT
for i in $(seq 1 50); do
  if curl -fsS -o /dev/null http://127.0.0.1:9090/readyz 2>/dev/null; then break; fi
  if ! kill -0 "$edge" 2>/dev/null; then echo "edge exited; see bin/demo/edge.log:" >&2; cat bin/demo/edge.log >&2; exit 1; fi
  sleep 0.1
done
cat <<MSG

edge is running in front of the example shop (in-memory mode).

  Product page (cached, ESI-assembled):  http://127.0.0.1:8080/item/42
  Place an order:     curl -X POST -H 'X-User-Id: alice' -b session=alice 'http://127.0.0.1:8080/order?item=42'
  Cache status:       curl -sI http://127.0.0.1:8080/item/42 | grep -i -E 'x-cache|age'
  Live dashboard:     http://127.0.0.1:9090/dashboard
  Metrics:            http://127.0.0.1:9090/metrics
  Health / ready:     http://127.0.0.1:9090/healthz  http://127.0.0.1:9090/readyz
  Effective config:   http://127.0.0.1:9090/config
  Purge:              curl -X POST -H 'Authorization: Bearer demo-token' 'http://127.0.0.1:9090/purge?prefix=http://127.0.0.1:8080/item/'
  The shop directly:  http://127.0.0.1:9000/item/42   (its counters: http://127.0.0.1:9000/stats)

Logs: bin/demo/edge.log, bin/demo/shop.log. Reload the config: kill -HUP $edge
Press Ctrl-C to stop both.
MSG
wait "$edge"
