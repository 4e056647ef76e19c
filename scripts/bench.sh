#!/usr/bin/env bash
# The benchmarks (README, "Performance"): installs what they drive and compare
# with (wrk, nginx, caddy, pebble) when missing, then runs bench/gateway.py (its
# arguments), bench/edge.py (the TLS edge) and a short robustness run
# (bench/robustness.py). BENCH=gateway, BENCH=edge or BENCH=robustness runs one.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
source scripts/services.sh

ensure_commands wrk:wrk nginx:nginx-light redis-server:redis-server \
  caddy:caddy pebble:pebble openssl:openssl unshare:util-linux
ensure_postgres
if [ "${BENCH:-all}" = all ] || [ "$BENCH" = gateway ]; then "$VENV/bin/python" bench/gateway.py "$@"; fi
if [ "${BENCH:-all}" = all ] || [ "$BENCH" = edge ]; then "$VENV/bin/python" bench/edge.py; fi
# Hostile and careless clients against our server alone (README, "Robustness");
# bench/robustness.py without arguments compares gunicorn and nginx too.
if [ "${BENCH:-all}" = all ] || [ "$BENCH" = robustness ]; then
  "$VENV/bin/python" bench/robustness.py --servers scarf --duration 30
fi
