#!/usr/bin/env bash
# Run lint and the whole test suite against a real PostgreSQL, Redis and Celery worker.
# Starts the services when they are installed but stopped; installs them when root with apt.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

export DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/scarf}
export REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}

pg_host=127.0.0.1
pg_port=5432

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

apt_install() {
  echo "installing $* (apt-get install)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "$@" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$@" >/dev/null; }
}

ensure_postgres() {
  if pg_isready -q -h "$pg_host" -p "$pg_port" 2>/dev/null; then return; fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    if can_apt; then
      apt_install postgresql
      # trust local TCP connections for the test user, as the tests expect
      hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n1)
      sed -i 's/^\(host\s\+all\s\+all\s\+127.0.0.1\/32\s\+\)\S\+/\1trust/' "$hba"
    else
      echo "PostgreSQL is not installed: install the 'postgresql' package (or point TEST_DATABASE_URL at a server)" >&2
      exit 1
    fi
  fi
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h "$pg_host" -p "$pg_port" && return; sleep 1; done
  echo "PostgreSQL did not become ready on $pg_host:$pg_port" >&2; exit 1
}

ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return; fi
  if ! command -v redis-server >/dev/null; then
    if can_apt; then
      apt_install redis-server
    else
      echo "Redis is not installed: install the 'redis-server' package (or point TEST_REDIS_URL at a server)" >&2
      exit 1
    fi
  fi
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir "$( [ -w /var/lib/redis ] && echo /var/lib/redis || echo /tmp )" \
    --logfile "$( [ -w /var/log/redis ] && echo /var/log/redis/ci.log || echo /tmp/redis-ci.log )"
  for _ in $(seq 1 30); do redis-cli ping >/dev/null 2>&1 && return; sleep 0.5; done
  echo "Redis did not become ready on 127.0.0.1:6379" >&2; exit 1
}

# Real clients and backends the client-compatibility tests drive, and the browser the
# dashboard's end-to-end tests drive (Debian package names).
ensure_tools() {
  local missing=()
  command -v curl >/dev/null || missing+=(curl)
  command -v wget >/dev/null || missing+=(wget)
  command -v skopeo >/dev/null || missing+=(skopeo)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v dpkg-scanpackages >/dev/null || missing+=(dpkg-dev)
  command -v apt-get >/dev/null || missing+=(apt)
  command -v npm >/dev/null || missing+=(npm)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ ${#missing[@]} = 0 ] && return
  if can_apt; then
    apt_install "${missing[@]}"
  else
    echo "the client tests need these packages: ${missing[*]} (install them, e.g. apt-get install ${missing[*]})" >&2
    exit 1
  fi
}

ensure_tools
if [ -z "${TEST_DATABASE_URL:-}" ]; then ensure_postgres; fi
if [ -z "${TEST_REDIS_URL:-}" ]; then ensure_redis; fi

echo "== lint"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .

echo "== dependency audit"
# Fails on a known vulnerability in a pinned release; only warns when the
# vulnerability service cannot be asked (scarf/audit.py).
"$VENV/bin/python" -m scarf.audit requirements.txt

echo "== django checks"
check_dir=$(mktemp -d)
DATABASE_URL= REDIS_URL= VAR_DIR="$check_dir" "$VENV/bin/python" manage.py check
DATABASE_URL= REDIS_URL= VAR_DIR="$check_dir" "$VENV/bin/python" manage.py makemigrations --check --dry-run >/dev/null
rm -rf "$check_dir"

echo "== tests"
status=0
"$VENV/bin/python" -m pytest -n "${TEST_WORKERS:-auto}" "$@" || status=$?
if [ "$status" = 5 ]; then echo "no tests collected"; status=0; fi
exit "$status"
