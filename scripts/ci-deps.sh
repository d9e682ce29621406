#!/usr/bin/env bash
# Installs what CI needs beyond scripts/prereqs.sh when it is missing:
# headless Chromium for the dashboard's browser test
# (internal/dashboard/browser_test.go). Debian/Ubuntu only; elsewhere it says
# what to install. Does nothing when everything is present.
set -euo pipefail
say() { printf 'ci-deps: %s\n' "$*" >&2; }

chromium_bin="${EDGE_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$chromium_bin" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "missing: $chromium_bin (headless Chromium for the dashboard browser test); install Chromium or set EDGE_CHROMIUM"
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    say "missing: $chromium_bin; run as root or install sudo (apt-get install chromium)"
    exit 1
  fi
  sudo="sudo"
fi
say "installing chromium (headless browser for the dashboard test)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
if [ ! -x "$chromium_bin" ]; then
  say "chromium was installed but $chromium_bin is not there; set EDGE_CHROMIUM to its path"
  exit 1
fi
say "chromium installed: $("$chromium_bin" --version 2>/dev/null || echo "$chromium_bin")"
