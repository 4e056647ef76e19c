#!/usr/bin/env bash
# The gateway benchmark (README, "Performance"): installs what it drives and
# compares with (wrk, nginx) when missing, then runs bench/gateway.py and a
# short robustness run (bench/robustness.py).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
source scripts/services.sh

ensure_commands wrk:wrk nginx:nginx-light redis-server:redis-server
ensure_postgres
"$VENV/bin/python" bench/gateway.py "$@"
# Hostile and careless clients against our server alone (README, "Robustness");
# bench/robustness.py without arguments compares gunicorn and nginx too.
"$VENV/bin/python" bench/robustness.py --servers scarf --duration 30
