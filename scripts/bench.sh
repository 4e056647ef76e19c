#!/usr/bin/env bash
# The benchmarks (README, "Performance"): installs what they drive and compare
# with (wrk, nginx, caddy, pebble) when missing, then runs bench/gateway.py (its
# arguments) and bench/edge.py (the TLS edge). BENCH=gateway or BENCH=edge runs one.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
source scripts/services.sh

ensure_commands wrk:wrk nginx:nginx-light redis-server:redis-server \
  caddy:caddy pebble:pebble openssl:openssl unshare:util-linux
ensure_postgres
if [ "${BENCH:-all}" != edge ]; then "$VENV/bin/python" bench/gateway.py "$@"; fi
if [ "${BENCH:-all}" != gateway ]; then "$VENV/bin/python" bench/edge.py; fi
