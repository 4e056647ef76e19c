#!/usr/bin/env bash
# `make run-tls`: the product as `make run` serves it (embedded mode), behind the TLS edge
# (deploy/Caddyfile) with certificates from Caddy's own local CA instead of ACME.
# Dashboard: https://dashboard.localhost:8443/ ; organisations' default domains:
# https://<slug>.gateway.localhost:8443/ ; trust $VAR_DIR/tls/storage/pki/authorities/local/root.crt.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
source scripts/services.sh
ensure_commands caddy:caddy

VAR_DIR=${VAR_DIR:-var}
PORT=${PORT:-8000}
HTTP_PORT=${HTTP_PORT:-8080}
HTTPS_PORT=${HTTPS_PORT:-8443}
DASHBOARD_HOSTS=${DASHBOARD_HOSTS:-dashboard.localhost}
state="$(realpath -m "$VAR_DIR")/tls"
mkdir -p "$state/home"

export VAR_DIR DASHBOARD_HOSTS PUBLIC_HTTPS_PORT="$HTTPS_PORT"
export ALLOWED_HOSTS="$DASHBOARD_HOSTS" TRUSTED_PROXIES=127.0.0.1/32 HTTPS=true
export CADDY_STORAGE="$state/storage"

"$VENV/bin/python" manage.py migrate --noinput
"$VENV/bin/python" manage.py serve --bind 127.0.0.1 --port "$PORT" &
server=$!
caddy=
stop() {
  [ -n "$caddy" ] && kill "$caddy" 2>/dev/null
  kill "$server" 2>/dev/null
  wait
}
trap stop EXIT INT TERM
until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do  # the edge asks it at once
  kill -0 "$server" 2>/dev/null || exit 1
  sleep 0.2
done

env -i PATH="$PATH" HOME="$state/home" XDG_DATA_HOME="$state/home" XDG_CONFIG_HOME="$state/home" \
  CADDY_EXTRA_OPTIONS="$(pwd)/deploy/local-ca.caddy" ACME_EMAIL=local@localhost \
  CADDY_STORAGE="$CADDY_STORAGE" CADDY_ADMIN=off HTTP_PORT="$HTTP_PORT" HTTPS_PORT="$HTTPS_PORT" \
  DASHBOARD_HOSTS="$DASHBOARD_HOSTS" DASHBOARD_UPSTREAM="127.0.0.1:$PORT" \
  GATEWAY_UPSTREAM="127.0.0.1:$PORT" TLS_ASK_URL="http://127.0.0.1:$PORT/internal/tls/allowed" \
  caddy run --config deploy/Caddyfile --adapter caddyfile &
caddy=$!
echo "dashboard: https://${DASHBOARD_HOSTS%% *}:$HTTPS_PORT/ (CA root: $CADDY_STORAGE/pki/authorities/local/root.crt)"
wait "$caddy"
