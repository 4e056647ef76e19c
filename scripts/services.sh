# Shared by scripts/test.sh and scripts/bench.sh (sourced, not run): start the
# local PostgreSQL and Redis when they are installed but stopped, install them
# (and other Debian packages) with apt when root.

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

# ensure_commands COMMAND:PACKAGE ...: install the packages of missing commands.
ensure_commands() {
  local missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} = 0 ] && return
  if can_apt; then
    apt_install "${missing[@]}"
  else
    echo "these packages are needed: ${missing[*]} (install them, e.g. apt-get install ${missing[*]})" >&2
    exit 1
  fi
}
