#!/usr/bin/env bash
# Checks what `make test` needs and says clearly what is missing. Installs nothing.
set -u
fail=0
say() { printf '%s\n' "$*" >&2; }

need_go="1.26"
if ! command -v go >/dev/null 2>&1; then
  say "missing: Go $need_go or newer (https://go.dev/dl/); 'go' is not on PATH"; fail=1
else
  have=$(go env GOVERSION | sed 's/^go//')
  if [ "$(printf '%s\n%s\n' "$need_go" "$have" | sort -V | head -1)" != "$need_go" ]; then
    say "missing: Go $need_go or newer; found $have"; fail=1
  fi
fi
for bin in redis-server redis-cli; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    say "missing: $bin (Debian/Ubuntu: apt-get install redis-server); tests start their own Redis servers and clusters"; fail=1
  fi
done
dsn="${EDGE_TEST_PG_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
hostport=$(printf '%s' "$dsn" | sed -E 's#^[a-z]+://([^@/]*@)?([^/?]+).*#\2#')
host=${hostport%:*}; port=${hostport##*:}; [ "$port" = "$hostport" ] && port=5432
if ! (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
  say "missing: PostgreSQL reachable at $host:$port (set EDGE_TEST_PG_DSN to point elsewhere; Debian: apt-get install postgresql)"; fail=1
fi
if [ "$fail" -ne 0 ]; then
  say "make test: prerequisites missing (see above); nothing was installed"
  exit 1
fi
