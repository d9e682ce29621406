#!/usr/bin/env bash
# make soak: the example shop and an edge binary (state in memory) under
# mixed traffic for SOAK_DURATION (default 10m): product pages, fragments,
# orders, purges every 5s and a SIGHUP reload every 10s. Prints the node's
# RSS, heap and goroutines at the start and at the end and fails on any
# request error or goroutine growth. Ports: SOAK_PORT_BASE (default 18000):
# +80 public, +90 admin, +100 shop.
set -eu
cd "$(dirname "$0")/.."
DURATION=${SOAK_DURATION:-10m}
BASE=${SOAK_PORT_BASE:-18000}
PUB=127.0.0.1:$((BASE + 80))
ADM=127.0.0.1:$((BASE + 90))
SHOP=127.0.0.1:$((BASE + 100))
for addr in "$PUB" "$ADM" "$SHOP"; do
  if (exec 3<>"/dev/tcp/${addr%:*}/${addr#*:}") 2>/dev/null; then
    echo "$addr is already in use" >&2
    exit 1
  fi
done
mkdir -p bin/soak
[ -x bin/edge ] && [ -x bin/shop ] || { echo "run make build first" >&2; exit 1; }
go build -o bin/soak/soak ./scripts/soak

# The demo config on the soak ports, with a large stock so orders keep
# reaching the shop for the whole run.
sed -e "s/127.0.0.1:8080/$PUB/; s/127.0.0.1:9090/$ADM/; s/127.0.0.1:9000/$SHOP/" \
    -e "s/token: demo-token/token: soak-token/" \
    -e 's/{item: "42", stock: 200}/{item: "42", stock: 1000000}/' \
    configs/demo.yaml >bin/soak/edge.yaml

./bin/shop -listen "$SHOP" -stock 42=1000000,43=50 >bin/soak/shop.log 2>&1 &
shop=$!
./bin/edge -config bin/soak/edge.yaml >bin/soak/edge.log 2>&1 &
edge=$!
stop() { kill "$edge" "$shop" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop INT TERM EXIT
for _ in $(seq 1 100); do
  if curl -fsS -o /dev/null "http://$ADM/readyz" 2>/dev/null; then break; fi
  if ! kill -0 "$edge" 2>/dev/null; then echo "edge exited; see bin/soak/edge.log" >&2; exit 1; fi
  sleep 0.1
done
echo "soak: $DURATION of mixed traffic against edge (pid $edge); logs in bin/soak/"
./bin/soak/soak -pub "$PUB" -admin "$ADM" -token soak-token -pid "$edge" -duration "$DURATION" \
  ${SOAK_FLAGS:-}
