#!/usr/bin/env bash
# The gateway benchmark (README, "Performance"): installs what it drives and
# compares with (wrk, nginx) when missing, then runs bench/gateway.py.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
source scripts/services.sh

ensure_commands wrk:wrk nginx:nginx-light redis-server:redis-server
ensure_postgres
"$VENV/bin/python" bench/gateway.py "$@"
