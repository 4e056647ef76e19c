"""Fixtures shared by every app's tests (loaded from the root conftest)."""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis as redis_lib
from django.conf import settings

from scarf.edge_servers import (  # noqa: F401 - shared
    Caddy,
    Pebble,
    https_get,
    private_home,
    stop_process,
)
from scarf.ports import free_port

BASE_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def redis_db():
    """A real Redis, emptied before and after each test (one database per xdist worker)."""
    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def celery_worker_session(django_db_setup, django_db_blocker):
    """A real Celery worker thread consuming from the Redis broker."""
    from celery.contrib.testing.worker import start_worker

    from scarf.celery import app

    app.conf.task_always_eager = False
    with django_db_blocker.unblock(), start_worker(app, perform_ping_check=False, pool="solo"):
        yield app


@pytest.fixture
def celery_worker(celery_worker_session, transactional_db):
    return celery_worker_session


def wait_until_serving(
    url: str,
    process: subprocess.Popen,
    timeout: float = 30,
    statuses: tuple[int, ...] = (200,),
) -> None:
    """Until `process` answers `url` with one of `statuses`. Any other answer
    is not taken as ready: on a port handed out twice it may come from
    another server, while `process` fails to bind."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = None
        if status in statuses:
            return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer {statuses} within {timeout}s")


def eventually(probe, timeout: float = 60.0, what: str = ""):
    """probe()'s first truthy value, asked again until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.25)


class Server:
    """The product running as a subprocess (`manage.py serve`)."""

    def __init__(self, env: dict[str, str], tmp_path: Path, python: str = sys.executable):
        self.python = python
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            **env,
            "DJANGO_SETTINGS_MODULE": "scarf.settings",
            "PYTHONUNBUFFERED": "1",
        }
        self.log = open(tmp_path / f"server-{self.port}.log", "w+b")  # noqa: SIM115
        self.process = None

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.python, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def command(self) -> list[str]:
        return [
            self.python,
            "manage.py",
            "serve",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]

    def start(self) -> Server:
        self.process = subprocess.Popen(
            self.command(),
            cwd=BASE_DIR,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_until_serving(self.url + "/healthz", self.process)
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.log.close()

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


class ProductionServer(Server):
    """`python -m scarf.serving`, as the Dockerfile runs it (one worker unless told)."""

    def __init__(
        self, env: dict[str, str], tmp_path: Path, workers: int = 1, python: str = sys.executable
    ):
        super().__init__(env, tmp_path, python)
        self.env.update(PORT=str(self.port), WEB_CONCURRENCY=str(workers))

    def command(self) -> list[str]:
        return [self.python, "-m", "scarf.serving"]


class DashboardServer(Server):
    """The dashboard service, as docker-compose.yml runs it: gunicorn with
    scarf/gunicorn.conf.py (`workers` processes of `threads` threads)."""

    def __init__(
        self,
        env: dict[str, str],
        tmp_path: Path,
        workers: int = 1,
        threads: int = 4,
        python: str = sys.executable,
    ):
        super().__init__(env, tmp_path, python)
        self.env.update(
            PORT=str(self.port),
            BIND="127.0.0.1",
            WEB_CONCURRENCY=str(workers),
            GUNICORN_THREADS=str(threads),
            HOME=str(tmp_path),  # gunicorn's control socket goes there
        )

    def command(self) -> list[str]:
        return [self.python, "-m", "gunicorn", "-c", "scarf/gunicorn.conf.py", "scarf.wsgi"]


@pytest.fixture
def embedded_server(tmp_path):
    """The product in embedded mode (SQLite, no Redis), migrated and serving."""
    server = Server(
        {"DATABASE_URL": "", "REDIS_URL": "", "VAR_DIR": str(tmp_path / "var")}, tmp_path
    )
    migrated = server.manage("migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    yield server
    server.stop()


class TxtRecords:
    """The zone a test's DNS server answers from: name -> TXT strings, and
    name -> IPv4 addresses (A records)."""

    def __init__(self):
        self.txt: dict[str, list[str]] = {}
        self.a: dict[str, list[str]] = {}

    def resolve(self, request, handler):
        from dnslib import QTYPE, RCODE, RR, TXT, A

        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        if name not in self.txt and name not in self.a:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.TXT:
            for value in self.txt.get(name, []):
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(value), ttl=0))
        elif request.q.qtype == QTYPE.A:
            for value in self.a.get(name, []):
                reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(value), ttl=0))
        return reply


@pytest.fixture
def dns_server(settings):
    """A real DNS server on loopback (dnslib, UDP) that the product's resolver is
    pointed at; set `dns_server.txt[name] = [value]` (or `.a[name]`) to publish a record."""
    from dnslib.server import DNSLogger, DNSServer

    records = TxtRecords()
    server = DNSServer(
        records, address="127.0.0.1", port=0, logger=DNSLogger(logf=lambda _line: None)
    )
    server.start_thread()
    settings.DNS_RESOLVERS = [f"127.0.0.1:{server.server.server_address[1]}"]
    settings.DNS_TIMEOUT = 2.0
    yield records
    server.stop()
    server.server.server_close()


# ---- The deployed shape: the runtime lock alone, as production installs it ----

RUNTIME_LOCK = BASE_DIR / "requirements.txt"


def runtime_venv_path() -> Path:
    return Path(os.environ.get("RUNTIME_VENV") or BASE_DIR / ".venv-runtime")


@pytest.fixture(scope="session")
def runtime_python() -> Path:
    return build_runtime_venv()


def build_runtime_venv() -> Path:
    """The interpreter of a venv built from the runtime lock alone
    (`pip install --require-hashes -r requirements.txt`, nothing from the dev lock),
    rebuilt whenever the lock changes; parallel test workers build it once."""
    import fcntl
    import hashlib
    import shutil

    venv = runtime_venv_path()
    stamp = venv / "lock.sha256"
    wanted = hashlib.sha256(RUNTIME_LOCK.read_bytes()).hexdigest()
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{venv}.build-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists() or stamp.read_text() != wanted:
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run(
                [venv / "bin/python", "-m", "pip", "install", "--quiet", "--require-hashes"]
                + ["-r", str(RUNTIME_LOCK)],
                check=True,
                timeout=900,
            )
            stamp.write_text(wanted)
    return venv / "bin/python"


class Celery:
    """A Celery worker and beat from `python`'s venv, as docker-compose runs them."""

    def __init__(self, python: Path | str, env: dict[str, str], tmp_path: Path):
        self.python, self.env, self.tmp_path = Path(python), env, tmp_path
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, concurrency: int = 2) -> Celery:
        celery = str(self.python.parent / "celery")
        schedule = str(self.tmp_path / "celerybeat-schedule")
        for name, command in {
            "worker": [celery, "-A", "scarf", "worker", "--loglevel", "INFO"]
            + ["-c", str(concurrency)],
            "beat": [celery, "-A", "scarf", "beat", "--loglevel", "INFO", "-s", schedule],
        }.items():
            with open(self.tmp_path / f"{name}.log", "wb") as log:
                self.processes[name] = subprocess.Popen(
                    command, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT
                )
        return self

    def logs(self) -> str:
        return "\n".join(
            f"---- {name}\n" + (self.tmp_path / f"{name}.log").read_text(errors="replace")[-3000:]
            for name in self.processes
        )

    def stop(self) -> None:
        for process in self.processes.values():
            stop_process(process, timeout=15)


class RedisServer:
    """A Redis of a test's own, which the test may stop and start again (same port)."""

    def __init__(self, tmp_path: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tmp_path / f"redis-{self.port}"
        self.dir.mkdir()
        self.process = None

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
            + ["--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
        )
        client = redis_lib.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis_lib.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        stop_process(self.process)


@pytest.fixture
def fresh_postgres_url():
    """The URL of a new, empty database on the test PostgreSQL, dropped afterwards."""
    import uuid

    import psycopg

    server = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    name = f"scarf_deployed_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- The TLS edge: Caddy in front of our servers, pebble as its ACME CA ----------------------


@pytest.fixture(scope="session")
def server_python(runtime_python) -> str:
    """The Python interpreter the production-shape tests run our servers with:
    the venv of the runtime lock alone, as production installs it (SERVER_PYTHON
    overrides)."""
    return os.environ.get("SERVER_PYTHON") or str(runtime_python)


@pytest.fixture
def pebble(tmp_path):
    server = Pebble(tmp_path).start()
    yield server
    server.stop()


class Tunnel:
    """An HTTP CONNECT proxy on loopback that takes clients to one TLS port.

    Real clients reach https://get.acme.test/ through it as their HTTPS
    proxy, with no DNS or /etc/hosts entry: whatever host they ask for, the
    tunnel connects to `port` and then only copies bytes, so TLS (SNI,
    certificate checks) is between the client and the edge. It connects from
    `source` (127.0.0.2), so the edge sees the clients at an address of
    their own, not at its own 127.0.0.1.
    """

    source = "127.0.0.2"

    def __init__(self, port: int):
        self.port = port
        self.requested: list[str] = []
        tunnel = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                tunnel.serve(self.request)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, client) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            data = client.recv(4096)
            if not data:
                return
            head += data
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, target = line.split(" ")[:2]
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        self.requested.append(target)
        upstream = socket.create_connection(
            ("127.0.0.1", self.port), timeout=30, source_address=(self.source, 0)
        )
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        rest = head.split(b"\r\n\r\n", 1)[1]
        if rest:
            upstream.sendall(rest)

        def copy(source, destination):
            with contextlib.suppress(OSError):
                while data := source.recv(65536):
                    destination.sendall(data)
            with contextlib.suppress(OSError):
                destination.shutdown(socket.SHUT_WR)

        client.settimeout(30)
        other = threading.Thread(target=copy, args=(upstream, client), daemon=True)
        other.start()
        copy(client, upstream)
        other.join(timeout=30)
        upstream.close()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def sign_in(client, user, *, checked_seconds_ago: float = 0, method: str = "password"):
    """`client.force_login(user)`, with the password check (or another
    `method`: "socialaccount" for a forge) that signing in records (allauth's
    authentication records, which the dashboard's recent-authentication guard
    reads) `checked_seconds_ago` seconds back."""
    from allauth.account.internal.flows.login import (
        _AUTHENTICATION_METHODS_USER_SESSION_KEY,
        AUTHENTICATION_METHODS_SESSION_KEY,
    )

    client.force_login(user)
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": method, "at": time.time() - checked_seconds_ago, "email": user.email}
    ]
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session.save()
    return client
