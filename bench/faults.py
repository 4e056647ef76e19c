"""Fault injection (issue #9): faults under load, then every answered download counted once.

Under a steady load of real HTTP requests through the gateway, each fault is
injected in turn, the first four while the Celery worker holds a batch it has
read and not acknowledged yet (it is storing it):

- `redis-paused`: redis-server frozen (SIGSTOP) for a few seconds, then resumed;
- `redis-restarted`: redis-server shut down (SIGTERM), down a few seconds, then
  started again on the same port and data directory;
- `worker-killed`: the Celery worker SIGKILLed (main and pool processes), down
  a few seconds, then started again;
- `postgres-restarted`: PostgreSQL stopped (`pg_ctl stop -m fast`), down a few
  seconds, then started again;
- `gateway-worker-killed`: one gunicorn worker process SIGKILLed while it holds
  client connections (its master starts another).

After each, once ingestion has drained (spool empty, stream empty, nothing
pending), the raw events are matched to the requests by the unique marker in
each request's path: every request answered with a redirect must have exactly
one raw event, and the rollups must count exactly the raw events. No request
gets a 5xx; the only requests allowed to fail are those in flight on the
killed gateway worker, and they fail as a dropped connection. Such a request's
event may have been recorded all the same (it is made durable before the
answer is written): the table counts those apart ("failed, recorded"), and the
rollups include them.

Everything runs on servers of its own, on free ports, in a temporary
directory: a PostgreSQL cluster (initdb; as the `postgres` user when run as
root), a redis-server (append-only file on, as docker-compose.yml runs it),
the gateway in its production configuration (gunicorn with
scarf/gunicorn.conf.py, WEB_CONCURRENCY worker processes), a Celery worker and
Celery beat. Like docker-compose.yml's `restart: unless-stopped`, a process
that exits on its own is started again, and the table's notes say so. The
machine's PostgreSQL and Redis are never touched.

    .venv/bin/python bench/faults.py            # or: make faults
    .venv/bin/python bench/faults.py --short    # the test's shorter version

Exit status 1 when any event is lost or counted twice, a rollup disagrees,
a request gets a non-2xx/3xx answer or a failed connection (outside the
killed gateway worker's), or a fault did not take effect.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import http.client
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.processes import stop_process_group  # noqa: E402
from scarf.ports import free_port  # noqa: E402

DOMAIN = "get.faults.test"
ORGANISATION = "faults"
OWNER = "ops@faults.test"  # the organisation's owner (import_manifest --owner)
USER_AGENT = "curl/8.5.0"
STREAM, GROUP = "events", "analytics"  # apps.gateway.recording, apps.analytics.consumer
# Short, so that entries of a killed consumer are claimed within seconds
# (production: 60 s); claiming a live consumer's entries early is harmless.
CLAIM_IDLE_MS = 2000


@dataclass
class Options:
    warm: float = 3.0  # seconds of load before the fault
    outage: float = 5.0  # seconds the service stays down
    after: float = 3.0  # seconds of load after it is back
    rate: float = 300.0  # requests per second, all threads together
    threads: int = 6
    gateway_workers: int = 2
    # "gunicorn" (scarf/gunicorn.conf.py) or "scarf" (python -m scarf.serving)
    server: str = "scarf"
    drain_timeout: float = 180.0
    keep: bool = False  # keep the work directory (logs, data)
    log: Callable[[str], None] = field(
        default=lambda line: print(line, file=sys.stderr, flush=True)
    )

    @classmethod
    def short(cls, **changes) -> Options:
        """The test's version: a few seconds of load per fault."""
        return cls(warm=1.5, outage=3.0, after=1.5, rate=120.0, threads=4, **changes)


# --- Servers of our own ----------------------------------------------------------------------


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(interval)
    raise TimeoutError(f"{what} within {timeout:.0f}s")


def postgres_bindir() -> Path:
    """The newest installed PostgreSQL's binaries (Debian layout, else PATH)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name.split(".")[0]),
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL's initdb not found: install the 'postgresql' package")
    return Path(initdb).parent


class Postgres:
    """A private cluster: initdb into `directory`, started on a free port."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.bindir = postgres_bindir()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/scarf"
        self.as_user: dict = {}
        self.directory.mkdir(mode=0o700)
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("run as root, this needs a 'postgres' user") from None
            self.as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
            os.chown(self.directory, user.pw_uid, user.pw_gid)

    def _run(self, *args: str) -> None:
        done = subprocess.run(  # noqa: S603 - our own binaries and arguments
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=120,
            **self.as_user,
        )
        if done.returncode != 0:
            log = self.directory / "postgres.log"
            server_said = log.read_text()[-2000:] if log.exists() else "(no server log)"
            raise RuntimeError(
                f"{args[0]} {args[-1]} exited with {done.returncode}: "
                f"{done.stderr.strip()}\nserver log:\n{server_said}"
            )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"port = {self.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.directory}'\n"
                # Each outage here is a clean stop: durability across an OS
                # crash is not what is tested, and the migrations run faster.
                "fsync = off\n"
            )

    def start(self) -> None:
        log = str(self.directory / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def connect(self, dbname: str = "scarf") -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True
        )


class RedisServer:
    """A private redis-server with the append-only file on (docker-compose.yml's setting)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir()
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [
                shutil.which("redis-server") or "redis-server",
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--dir", str(self.directory), "--appendonly", "yes", "--save", ""),
                *("--logfile", str(self.directory / "redis.log")),
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = self.client()
        try:
            wait_for(client.ping, 30, "redis-server did not answer")
        finally:
            client.close()

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def pause(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def shutdown(self) -> None:
        """Stop the way an orchestrator does (SIGTERM: Redis writes its AOF and exits)."""
        self.resume()
        self.process.terminate()
        self.process.wait(timeout=30)


class Service:
    """A process of ours, started again whenever it exits on its own, as
    docker-compose.yml's `restart: unless-stopped` does (its exits are
    reported); `kill` keeps it down until `start`."""

    def __init__(self, name: str, spawn: Callable[[], subprocess.Popen], log_path: Path, log):
        self.name = name
        self.log_path = log_path
        self._spawn = spawn
        self._log = log
        self._lock = threading.Lock()
        self._held = True
        self.process: subprocess.Popen | None = None
        self.exits: list[str] = []

    def start(self) -> None:
        with self._lock:
            self.process = self._spawn()
            self._held = False

    def kill(self) -> None:
        """SIGKILL the process and its children (its own process group)."""
        with self._lock:
            self._held = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        with self._lock:
            self._held = True
            stop_process_group(self.process)

    def restart_if_exited(self) -> None:
        with self._lock:
            if self._held or self.process is None or self.process.poll() is None:
                return
            what = f"{self.name} exited with status {self.process.returncode}"
            reason = last_error(self.log_path)
            self.exits.append(f"{what}: {reason}" if reason else what)
            self._log(f"{self.exits[-1]}; starting it again")
            self.process = self._spawn()


def last_error(log_path: Path) -> str:
    """The last CRITICAL line of a log, shortened."""
    with contextlib.suppress(OSError):
        for line in reversed(log_path.read_text(errors="replace").splitlines()):
            if "CRITICAL" in line:
                return line.split("] ", 1)[-1][:160]
    return ""


class Product:
    """The gateway (gunicorn), a Celery worker and beat, on our PostgreSQL and Redis,
    each restarted when it exits on its own (a supervisor thread)."""

    def __init__(self, workdir: Path, postgres: Postgres, redis_server: RedisServer, options):
        self.workdir = workdir
        self.options = options
        self.port = free_port()
        self.var_dir = workdir / "var"
        self.spool_dir = self.var_dir / "spool"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "scarf.settings",
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": postgres.url,
            "REDIS_URL": redis_server.url,
            "EVENTS_REDIS_URL": redis_server.url,
            "VAR_DIR": str(self.var_dir),
            "SECRET_KEY": secrets.token_urlsafe(40),
            "ALLOWED_HOSTS": "localhost,127.0.0.1",
            "DASHBOARD_HOSTS": "localhost,127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(options.gateway_workers),
            "ANALYTICS_CLAIM_IDLE_MS": str(CLAIM_IDLE_MS),
            "LOG_LEVEL": "INFO",
        }
        self.worker_starts = 0
        self.gateway = self._service("gateway", self._gateway_command)
        self.worker = self._service("celery worker", self._worker_command)
        self.beat = self._service(
            "celery beat",
            lambda: (
                *("celery", "-A", "scarf", "beat", "--loglevel", "INFO"),
                *("--schedule", str(self.workdir / "celerybeat-schedule")),
            ),
        )
        self.services = [self.gateway, self.worker, self.beat]
        self._stopping = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)

    def _gateway_command(self) -> tuple[str, ...]:
        if self.options.server == "scarf":
            return ("scarf.serving",)  # binds 0.0.0.0:PORT
        return (
            *("gunicorn", "-c", "scarf/gunicorn.conf.py", "-b", f"127.0.0.1:{self.port}"),
            "scarf.wsgi:application",
        )

    def _worker_command(self) -> tuple[str, ...]:
        self.worker_starts += 1
        return (
            *("celery", "-A", "scarf", "worker", "--loglevel", "INFO", "--concurrency", "2"),
            *("-n", f"faults{self.worker_starts}@%h"),
        )

    def _service(self, name: str, command: Callable[[], tuple[str, ...]]) -> Service:
        log_path = self.workdir / f"{name.replace(' ', '-')}.log"

        def spawn() -> subprocess.Popen:
            with open(log_path, "ab") as log:
                return subprocess.Popen(  # noqa: S603
                    [sys.executable, "-m", *command()],
                    cwd=BASE_DIR,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: killed as one
                )

        return Service(name, spawn, log_path, self.options.log)

    def manage(self, *args: str) -> str:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    def start(self) -> None:
        for service in self.services:
            service.start()
        self._supervisor.start()

    def _supervise(self) -> None:
        while not self._stopping.wait(0.2):
            for service in self.services:
                service.restart_if_exited()

    def exits(self) -> list[str]:
        return [exit for service in self.services for exit in service.exits]

    def gateway_workers(self) -> list[int]:
        """The pids of the gunicorn master's worker processes."""
        return children_of(self.gateway.process.pid)

    def stop(self) -> None:
        self._stopping.set()
        for service in self.services:
            service.stop()


def children_of(parent: int) -> list[int]:
    children = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent:
                children.append(int(Path(stat).parent.name))
    return sorted(children)


# --- Load ------------------------------------------------------------------------------------


class Load:
    """Threads sending GET /<prefix>/<marker> at a steady rate, one connection
    per request (a failure is then the request's own, never a stale
    keep-alive connection's); results: marker -> status, or the error's name."""

    def __init__(self, port: int, prefix: str, threads: int, rate: float):
        self.port = port
        self.prefix = prefix
        self.threads = threads
        self.interval = threads / rate
        self.results: dict[str, int | str] = {}
        self.slowest = 0.0
        self.bursts = 0
        self._stop = threading.Event()
        self._workers = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)
        ]

    def start(self) -> Load:
        for worker in self._workers:
            worker.start()
        return self

    def stop(self) -> dict[str, int | str]:
        self._stop.set()
        for worker in self._workers:
            worker.join()
        return self.results

    def _run(self, index: int) -> None:
        next_at = time.monotonic() + self.interval * index / self.threads
        sequence = 0
        while not self._stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            next_at = max(next_at + self.interval, time.monotonic())
            marker = f"{index}-{sequence}"
            sequence += 1
            started = time.monotonic()
            self.results[marker] = self.request(marker)
            self.slowest = max(self.slowest, time.monotonic() - started)

    def burst(self, count: int) -> list[threading.Thread]:
        """`count` requests at once, besides the steady ones (join the threads)."""
        self.bursts += 1

        def one(marker: str) -> None:
            self.results[marker] = self.request(marker)

        threads = [
            threading.Thread(target=one, args=(f"burst{self.bursts}-{n}",), daemon=True)
            for n in range(count)
        ]
        for thread in threads:
            thread.start()
        return threads

    def request(self, marker: str) -> int | str:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(
                "GET",
                f"/{self.prefix}/{marker}",
                headers={"Host": DOMAIN, "User-Agent": USER_AGENT, "Connection": "close"},
            )
            response = connection.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException) as error:
            return type(error).__name__
        finally:
            connection.close()


# --- The run ---------------------------------------------------------------------------------


class Cluster:
    """Our PostgreSQL, Redis and product, started and migrated."""

    def __init__(self, workdir: Path, options: Options):
        self.workdir = workdir
        self.options = options
        self.postgres = Postgres(workdir / "postgres")
        self.redis = RedisServer(workdir / "redis")
        self.product = Product(workdir, self.postgres, self.redis, options)

    def start(self, packages: list[str]) -> None:
        log = self.options.log
        log(f"work directory {self.workdir}")
        self.postgres.init()
        self.postgres.start()
        with self.postgres.connect("postgres") as admin:
            admin.execute("CREATE DATABASE scarf")
        self.redis.start()
        log(f"postgresql on :{self.postgres.port}, redis on :{self.redis.port}; migrating")
        self.product.manage("migrate", "--noinput")
        manifest = self.workdir / "manifest.json"
        manifest.write_text(json.dumps(manifest_for(packages)))
        create_owner = f"from apps.accounts.models import User; User.objects.create_user({OWNER!r})"
        self.product.manage("shell", "-c", create_owner)
        self.product.manage(
            "import_manifest",
            *("--org", ORGANISATION, "--create-org", "--owner", OWNER),
            str(manifest),
        )
        self.product.start()
        log(f"gateway (gunicorn) on :{self.product.port}, celery worker and beat started")
        self.wait_healthy()
        # One download end to end: the gateway records, the worker ingests.
        status = Load(self.product.port, "warmup", 1, 1).request("first")
        if status != 307:
            raise RuntimeError(f"the gateway answered {status} to its first request")
        wait_for(lambda: self.raw_counts("warmup"), 120, "the first event was not ingested")

    def stop(self) -> None:
        self.product.stop()
        if self.redis.process is not None and self.redis.process.poll() is None:
            self.redis.shutdown()
        if self.postgres.running():
            with contextlib.suppress(subprocess.SubprocessError):
                self.postgres.stop("immediate")

    def wait_healthy(self) -> None:
        """Every service up: the gateway's workers answer, PostgreSQL and Redis too."""

        def ready() -> bool:
            workers = self.product.gateway_workers()
            connection = http.client.HTTPConnection("127.0.0.1", self.product.port, timeout=5)
            try:
                connection.request("GET", "/readyz", headers={"Host": "127.0.0.1"})
                status = connection.getresponse().status
            finally:
                connection.close()
            return status == 200 and len(workers) == self.options.gateway_workers

        wait_for(ready, 120, "the gateway was not ready", interval=0.2)

    # Where events are.

    def spooled(self) -> int:
        """Events in the gateway's spool files (waiting for Redis)."""
        count = 0
        for path in self.product.spool_dir.glob("*.spool"):
            with contextlib.suppress(FileNotFoundError):
                count += path.read_bytes().count(b"\n")
        return count

    def pending(self, client: redis.Redis) -> int:
        try:
            return client.xpending(STREAM, GROUP)["pending"]
        except redis.ResponseError:  # no group yet
            return 0

    def drained(self) -> bool:
        client = self.redis.client()
        try:
            spool_empty = not any(self.product.spool_dir.glob("*.spool"))
            return spool_empty and client.xlen(STREAM) == 0 and self.pending(client) == 0
        finally:
            client.close()

    def wait_drained(self) -> bool:
        """Until nothing waits in a spool or the stream, twice in a row."""
        deadline = time.monotonic() + self.options.drain_timeout
        in_a_row = 0
        while time.monotonic() < deadline:
            try:
                in_a_row = in_a_row + 1 if self.drained() else 0
            except redis.RedisError:
                in_a_row = 0
            if in_a_row >= 2:
                return True
            time.sleep(0.5)
        return False

    def raw_counts(self, package: str) -> dict[str, int]:
        """Raw events per request marker (the last path segment)."""
        with self.postgres.connect() as db:
            rows = db.execute(
                "SELECT path, count(*) FROM analytics_downloadevent WHERE package = %s "
                "GROUP BY path",
                [package],
            ).fetchall()
        return {path.rsplit("/", 1)[-1]: count for path, count in rows}

    def repeated_ids(self, package: str) -> int:
        """Raw rows beyond one per event id (the key is (id, timestamp))."""
        with self.postgres.connect() as db:
            return db.execute(
                "SELECT count(*) - count(DISTINCT id) FROM analytics_downloadevent "
                "WHERE package = %s",
                [package],
            ).fetchone()[0]

    def rollup_counts(self, package: str) -> tuple[int, int, int]:
        """Events and downloads of the daily totals, events of the hourly ones."""
        with self.postgres.connect() as db:
            day = db.execute(
                "SELECT coalesce(sum(events), 0), coalesce(sum(downloads), 0) "
                "FROM analytics_rollup WHERE period = 'day' AND dimension = 'total' "
                "AND package = %s",
                [package],
            ).fetchone()
            hour = db.execute(
                "SELECT coalesce(sum(events), 0) FROM analytics_rollup "
                "WHERE period = 'hour' AND dimension = 'total' AND package = %s",
                [package],
            ).fetchone()
        return int(day[0]), int(day[1]), int(hour[0])


def manifest_for(packages: list[str]) -> dict:
    """One file-v1 rule, and so one package (its own rollups), per fault."""
    return {
        "rules": [
            {
                "type": "file-v1",
                "domain": DOMAIN,
                "package-id": package,
                "incoming-path": f"/{package}/{{file}}",
                "outgoing-url": f"https://downloads.example.com/{package}/{{file}}",
            }
            for package in ["warmup", *packages]
        ]
    }


# --- The faults ------------------------------------------------------------------------------


@dataclass
class Injected:
    effective: bool  # the fault happened as intended
    note: str


def mid_batch(cluster: Cluster, timeout: float = 10) -> int:
    """Wait until the worker has read a batch it has not acknowledged yet
    (it is storing it); returns how many events it holds (0: none came)."""
    client = cluster.redis.client()
    try:
        deadline = time.monotonic() + timeout
        while (held := cluster.pending(client)) == 0 and time.monotonic() < deadline:
            time.sleep(0.002)
        return held
    finally:
        client.close()


def during(held: int) -> str:
    return f"with {held} events read, not acknowledged" if held else "between batches"


def redis_paused(cluster: Cluster, load: Load, options: Options) -> Injected:
    held = mid_batch(cluster)
    cluster.redis.pause()
    time.sleep(options.outage)
    spooled = cluster.spooled()
    cluster.redis.resume()
    note = f"SIGSTOP {during(held)}, {options.outage:g}s; {spooled} events spooled"
    return Injected(spooled > 0, note)


def redis_restarted(cluster: Cluster, load: Load, options: Options) -> Injected:
    held = mid_batch(cluster)
    cluster.redis.shutdown()
    time.sleep(options.outage)
    spooled = cluster.spooled()
    cluster.redis.start()
    note = f"shut down {during(held)}, {options.outage:g}s; {spooled} events spooled"
    return Injected(spooled > 0, note)


def worker_killed(cluster: Cluster, load: Load, options: Options, attempts=5) -> Injected:
    """SIGKILL the worker while a batch is read and not acknowledged; when the
    batch was finished before the signal landed, start it and try again."""
    for attempt in range(1, attempts + 1):
        held = mid_batch(cluster, timeout=30)
        cluster.product.worker.kill()
        client = cluster.redis.client()
        orphaned = cluster.pending(client)
        client.close()
        time.sleep(options.outage if orphaned else 0.5)
        cluster.product.worker.start()
        if orphaned:
            note = f"SIGKILL {during(orphaned)} (attempt {attempt}), down {options.outage:g}s"
            return Injected(True, note)
    return Injected(False, f"no kill landed mid-batch in {attempts} attempts (last: {held})")


def postgres_restarted(cluster: Cluster, load: Load, options: Options) -> Injected:
    held = mid_batch(cluster)
    cluster.postgres.stop("fast")
    time.sleep(options.outage)
    client = cluster.redis.client()
    backlog = client.xlen(STREAM)
    client.close()
    cluster.postgres.start()
    note = f"stopped {during(held)}, {options.outage:g}s; {backlog} events waited in the stream"
    return Injected(backlog > 0, note)


def gateway_worker_killed(cluster: Cluster, load: Load, options: Options) -> Injected:
    """SIGKILL a gateway worker process while it holds client connections (requests
    in flight: a burst of concurrent requests makes that likely, and the
    kill waits for it); the master starts another worker."""
    port = cluster.product.port
    before = cluster.product.gateway_workers()
    victim = before[0]
    in_flight = 0
    for _ in range(50):
        burst = load.burst(4 * options.threads)
        deadline = time.monotonic() + 0.2
        while (in_flight := len(client_connections(victim, port))) == 0:
            if time.monotonic() > deadline:
                break
        if in_flight:
            os.kill(victim, signal.SIGKILL)
        for thread in burst:
            thread.join()
        if in_flight:
            break
    else:
        os.kill(victim, signal.SIGKILL)
    time.sleep(options.outage)
    after = cluster.product.gateway_workers()
    replaced = victim not in after and len(after) == len(before)
    note = f"SIGKILL {options.server} worker {victim} holding {in_flight} client connection(s)"
    return Injected(replaced and in_flight > 0, f"{note}; master started {after}")


def client_connections(pid: int, port: int) -> list[int]:
    """Sockets of process `pid` accepted on `port` (requests it is serving)."""
    inodes = set()
    for fd in glob.glob(f"/proc/{pid}/fd/*"):
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] != "0A" and fields[9] in inodes:  # 0A: LISTEN
                    found.append(int(fields[9]))
    return found


@dataclass(frozen=True)
class Fault:
    key: str
    title: str
    inject: Callable[[Cluster, Load, Options], Injected]
    # Only a killed gateway worker may fail requests: those it was serving
    # lose their connection (never a 5xx).
    drops_connections: bool = False


FAULTS = [
    Fault("redis-paused", "(a) Redis paused", redis_paused),
    Fault("redis-restarted", "(a) Redis restarted", redis_restarted),
    Fault("worker-killed", "(b) Celery worker killed", worker_killed),
    Fault("postgres-restarted", "(c) PostgreSQL restarted", postgres_restarted),
    Fault("gateway-worker-killed", "(d) gateway worker killed", gateway_worker_killed, True),
]


@dataclass
class Row:
    fault: Fault
    injected: Injected
    sent: int
    answered: int  # 2xx/3xx
    http_errors: dict[int, int]  # other statuses -> count
    connection_errors: dict[str, int]
    expected: int  # events: one per redirect answered
    stored: int  # raw events of answered requests
    lost: int  # answered requests without an event
    # Events beyond one per request (or per event id), and events of no request sent.
    doubled: int
    failed_recorded: int  # failed requests whose event was recorded anyway
    raw_total: int
    rollup_events: int
    rollup_downloads: int
    rollup_hourly: int
    drained: bool
    slowest: float
    exits: list[str]  # processes that exited on their own and were started again

    @property
    def failures(self) -> int:
        return self.sent - self.answered

    @property
    def rollups_match(self) -> bool:
        return self.rollup_events == self.rollup_downloads == self.rollup_hourly == self.raw_total

    def problems(self) -> list[str]:
        found = []
        if not self.injected.effective:
            found.append(f"the fault did not take effect ({self.injected.note})")
        if not self.drained:
            found.append("ingestion did not drain")
        if self.answered == 0:
            found.append("no request was answered")
        if self.lost:
            found.append(f"{self.lost} events lost")
        if self.doubled:
            found.append(f"{self.doubled} events counted twice")
        if not self.rollups_match:
            found.append(
                f"rollups (day events {self.rollup_events}, day downloads "
                f"{self.rollup_downloads}, hourly {self.rollup_hourly}) != {self.raw_total} raw"
            )
        if self.http_errors:
            found.append(f"answered with {self.http_errors}")
        if self.connection_errors and not self.fault.drops_connections:
            found.append(f"connections failed: {self.connection_errors}")
        return found


def measure(
    cluster: Cluster,
    fault: Fault,
    results: dict,
    injected: Injected,
    drained: bool,
    slowest: float,
    exits: list[str],
) -> Row:
    rows = cluster.raw_counts(fault.key)
    answered = {m for m, status in results.items() if isinstance(status, int) and status < 400}
    http_errors: dict[int, int] = {}
    connection_errors: dict[str, int] = {}
    for status in results.values():
        if isinstance(status, str):
            connection_errors[status] = connection_errors.get(status, 0) + 1
        elif status >= 400:
            http_errors[status] = http_errors.get(status, 0) + 1
    redirects = sum(1 for m in answered if 300 <= results[m] < 400)
    day_events, day_downloads, hourly = cluster.rollup_counts(fault.key)
    return Row(
        fault=fault,
        injected=injected,
        sent=len(results),
        answered=len(answered),
        http_errors=http_errors,
        connection_errors=connection_errors,
        expected=redirects,
        stored=sum(rows.get(m, 0) for m in answered),
        lost=sum(1 for m in answered if rows.get(m, 0) == 0),
        doubled=max(sum(count - 1 for count in rows.values()), cluster.repeated_ids(fault.key))
        + sum(count for m, count in rows.items() if m not in results),
        failed_recorded=sum(1 for m in results if m not in answered and rows.get(m, 0)),
        raw_total=sum(rows.values()),
        rollup_events=day_events,
        rollup_downloads=day_downloads,
        rollup_hourly=hourly,
        drained=drained,
        slowest=slowest,
        exits=exits,
    )


def run_fault(cluster: Cluster, fault: Fault, options: Options) -> Row:
    log = options.log
    cluster.wait_healthy()
    exits_before = len(cluster.product.exits())
    log(f"{fault.title}: load at {options.rate:g} requests/s")
    load = Load(cluster.product.port, fault.key, options.threads, options.rate).start()
    try:
        time.sleep(options.warm)
        injected = fault.inject(cluster, load, options)
        log(f"{fault.title}: {injected.note}")
        time.sleep(options.after)
    finally:
        results = load.stop()
    log(f"{fault.title}: {len(results)} requests sent; waiting for ingestion to drain")
    drained = cluster.wait_drained()
    exits = cluster.product.exits()[exits_before:]
    return measure(cluster, fault, results, injected, drained, load.slowest, exits)


def run(options: Options | None = None, faults: list[Fault] | None = None) -> list[Row]:
    """Start everything, inject each fault in turn under load, measure; stop everything.
    The work directory is removed unless something failed or `options.keep`."""
    options = options or Options()
    faults = faults or FAULTS
    workdir = Path(tempfile.mkdtemp(prefix="scarf-faults-"))
    workdir.chmod(0o755)  # the postgres user reaches its directory inside
    cluster = Cluster(workdir, options)
    rows: list[Row] = []
    ok = False
    try:
        cluster.start([fault.key for fault in faults])
        for fault in faults:
            rows.append(run_fault(cluster, fault, options))
        ok = all(not row.problems() for row in rows)
    finally:
        cluster.stop()
        if ok and not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            options.log(f"logs and data kept in {workdir}")
    return rows


def table(rows: list[Row]) -> str:
    header = [
        "fault",
        "requests sent",
        "non-2xx/3xx",
        "events expected",
        "events stored",
        "failed, recorded",
        "lost",
        "double-counted",
        "rollup",
        "result",
    ]
    lines = [header]
    for row in rows:
        lines.append(
            [
                row.fault.title,
                str(row.sent),
                str(row.failures),
                str(row.expected),
                str(row.stored),
                str(row.failed_recorded),
                str(row.lost),
                str(row.doubled),
                str(row.rollup_events),
                "FAIL" if row.problems() else "ok",
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    text.insert(1, "  ".join("-" * width for width in widths))
    text.append("")
    for row in rows:
        details = [row.injected.note, f"slowest answer {row.slowest:.2f}s"]
        if row.failures:
            kinds = {**row.connection_errors, **{str(k): v for k, v in row.http_errors.items()}}
            details.append(
                f"failed: {', '.join(f'{v} {k}' for k, v in kinds.items())} "
                f"({row.failed_recorded} of them recorded all the same)"
            )
        details.extend(f"{exit}, started again" for exit in row.exits)
        details.extend(row.problems())
        text.append(f"{row.fault.title}: " + "; ".join(details))
    return "\n".join(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = Options()
    parser.add_argument("--short", action="store_true", help="the test's shorter version")
    parser.add_argument("--warm", type=float, help=f"seconds before a fault ({defaults.warm:g})")
    parser.add_argument("--outage", type=float, help=f"seconds down ({defaults.outage:g})")
    parser.add_argument("--after", type=float, help=f"seconds after ({defaults.after:g})")
    parser.add_argument("--rate", type=float, help=f"requests/s ({defaults.rate:g})")
    parser.add_argument("--threads", type=int, help=f"client threads ({defaults.threads})")
    parser.add_argument(
        "--only", action="append", choices=[fault.key for fault in FAULTS], help="repeatable"
    )
    parser.add_argument(
        "--server", choices=["gunicorn", "scarf"], help=f"gateway server ({defaults.server})"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    options = Options.short() if args.short else Options()
    for name in ("warm", "outage", "after", "rate", "threads", "server"):
        if getattr(args, name) is not None:
            setattr(options, name, getattr(args, name))
    options.keep = args.keep
    faults = [fault for fault in FAULTS if not args.only or fault.key in args.only]
    rows = run(options, faults)
    print(table(rows))
    return 1 if any(row.problems() for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
