#!/usr/bin/env bash
# docker-compose.yml end to end, as a self-hoster runs it: every service in its
# container, the edge obtaining certificates on demand from a local ACME server
# (Debian's pebble, on this machine, validating nothing), then a real client over
# HTTPS. Checks: a verified domain's download is redirected and counted, the
# certificate is visible to the dashboard, an unknown name gets no certificate,
# the dashboard is HTTPS-only with HSTS, and the org's default domain is served.
#
#   scripts/compose-check.sh            # builds the image first
#   BUILD=0 scripts/compose-check.sh    # uses an image scarf-gateway built already
#
# Needs docker with compose (COMPOSE="docker-compose" for the old one), pebble,
# openssl, curl and python3. Not part of `make test`: CI machines run no container
# engine (README, "Production shape").
set -euo pipefail
cd "$(dirname "$0")/.."

compose_cmd=${COMPOSE:-docker compose}
# The host's address on docker-compose.yml's network, where containers reach pebble.
host_address=172.30.57.1
domain=get.acme.test
dashboard=dash.compose.test
work=$(mktemp -d)
project=scarfcheck$$

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'; }
acme_port=$(free_port) management_port=$(free_port) http_port=$(free_port) https_port=$(free_port)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=pebble \
  -keyout "$work/listener.key" -out "$work/listener.pem" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:$host_address" 2>/dev/null
cat >"$work/pebble.json" <<EOF
{"pebble": {"listenAddress": "0.0.0.0:$acme_port", "managementListenAddress": "127.0.0.1:$management_port",
 "certificate": "$work/listener.pem", "privateKey": "$work/listener.key",
 "httpPort": $(free_port), "tlsPort": $(free_port), "ocspResponderURL": "",
 "externalAccountBindingRequired": false}}
EOF
cat >"$work/.env" <<EOF
SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')
DASHBOARD_HOSTS=$dashboard
GATEWAY_BASE_DOMAIN=gw.compose.test
ACME_EMAIL=ops@compose.test
ACME_CA=https://$host_address:$acme_port/dir
ACME_CA_ROOT=/pebble/listener.pem
HTTP_PORT=$http_port
HTTPS_PORT=$https_port
EOF
cat >"$work/pebble-root.yml" <<EOF
services:
  caddy:
    volumes:
      - $work/listener.pem:/pebble/listener.pem:ro
EOF
compose() {
  $compose_cmd -p "$project" --env-file "$work/.env" --project-directory . \
    -f docker-compose.yml -f "$work/pebble-root.yml" "$@"
}
cleanup() {
  compose down -v --remove-orphans >/dev/null 2>&1 || true
  [ -n "${pebble_pid:-}" ] && kill "$pebble_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$work" && HOME="$work" PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
  exec pebble -config pebble.json >pebble.log 2>&1) &
pebble_pid=$!

# Retries `$@` once a second for up to $1 seconds.
eventually() {
  local seconds=$1
  shift
  for _ in $(seq "$seconds"); do "$@" && return 0 || sleep 1; done
  "$@"
}
fail() { echo "compose check FAILED: $*" >&2; compose ps >&2; exit 1; }

eventually 20 curl -sf -o "$work/root.pem" --cacert "$work/listener.pem" \
  "https://127.0.0.1:$management_port/roots/0" || fail "pebble did not start"
if [ "${BUILD:-1}" = 1 ]; then compose build; fi
compose up -d --no-build
in_web() { compose exec -T web "$@"; }
eventually 120 in_web python -c 'import urllib.request, os
urllib.request.urlopen(urllib.request.Request("http://localhost:8000/readyz",
    headers={"Host": os.environ["DASHBOARD_HOSTS"]}), timeout=3)' >/dev/null 2>&1 ||
  fail "web never became ready"

echo "== a maintainer, an organisation and a verified domain with one rule"
in_web python manage.py shell -c \
  "from apps.accounts.models import User; User.objects.create_user('ops@compose.test', 'correct horse battery 42')"
echo '{"rules": [{"type": "file-v1", "domain": "'$domain'", "package-id": "cli",
  "incoming-path": "/cli/{version}/{file}",
  "outgoing-url": "https://github.com/acme/cli/releases/download/v{version}/{file}"}]}' |
  in_web python manage.py import_manifest --org acme --create-org --owner ops@compose.test -

https() { # host path [curl options]: prints the status and the Location
  local host=$1 path=$2
  shift 2
  curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' --cacert "$work/root.pem" \
    --resolve "$host:$https_port:127.0.0.1" "$@" "https://$host:$https_port$path"
}
expected="307 https://github.com/acme/cli/releases/download/v1.2.3/acme-cli.tar.gz"
download() { [ "$(https $domain /cli/1.2.3/acme-cli.tar.gz -A compose-check/1)" = "$expected" ]; }

echo "== a download over HTTPS (the certificate is obtained on this first handshake)"
eventually 30 download || fail "no redirect over HTTPS: $(https $domain /cli/1.2.3/acme-cli.tar.gz)"

echo "== counted by the worker"
counted() {
  in_web python manage.py shell -c "from apps.analytics.models import DownloadEvent
raise SystemExit(0 if DownloadEvent.objects.filter(user_agent='compose-check/1').exists() else 1)" \
    >/dev/null 2>&1
}
eventually 30 counted || fail "the download was not recorded"

echo "== the certificate, as the dashboard sees it"
in_web python manage.py shell -c "from apps.packages.certificates import current_certificate
certificate = current_certificate('$domain')
print(certificate)
raise SystemExit(0 if certificate and 'Pebble' in certificate.issuer else 1)" 2>/dev/null ||
  fail "the dashboard cannot read the certificate"

echo "== an unknown name gets no certificate"
if https unknown.compose.test / >/dev/null 2>&1; then fail "unknown.compose.test got a certificate"; fi

echo "== the organisation's default domain is served"
[ "$(https acme.gw.compose.test /nothing-here)" = "404 " ] || fail "acme.gw.compose.test"

echo "== the dashboard: HTTPS with HSTS, plain HTTP redirected"
curl -sS -D - -o /dev/null --cacert "$work/root.pem" --resolve "$dashboard:$https_port:127.0.0.1" \
  "https://$dashboard:$https_port/accounts/login/" | grep -qi '^strict-transport-security' ||
  fail "no HSTS on the dashboard"
[ "$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' --resolve "$dashboard:$http_port:127.0.0.1" \
  "http://$dashboard:$http_port/accounts/login/")" = \
  "308 https://$dashboard:$https_port/accounts/login/" ] || fail "plain HTTP is not redirected"

echo "== every long-running service is up"
for service in gateway web worker beat caddy postgres redis; do
  [ "$(docker inspect -f '{{.State.Running}}' "$(compose ps -q "$service")")" = true ] ||
    fail "$service is not running"
done
echo "compose check: passed"
