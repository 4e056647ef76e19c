"""Robustness run (issue #16): a canary client keeps downloading, checking
/healthz and loading the sign-in page while hostile and careless clients
attack the same server; then the same run against the other servers.

Not a test: it prints, for each server, the canary's requests, failures and
worst latency, whether any smuggled request was answered, and the resident
memory of each of its processes before the attacks, at their peak and after.
It exits non-zero when, against our server, the canary fails, a smuggled
request is answered, or a process grows by more than `--max-growth` MB.

The attacks, all at once for `--duration` seconds, each reconnecting when the
server closes its connections:

- idle flood: `--idle` connections that send nothing;
- slowloris: `--slowloris` connections sending a request head one header line
  every 5 s, never ending it;
- slow POSTs: `--slow-posts` sign-in POSTs announcing 1 MB and sending 10
  bytes every 3 s;
- slow readers: `--slow-readers` connections pipelining 20 requests for a
  200 KB static file and reading 2 KB a second;
- never-reading pipeliners: `--pipeliners` connections sending requests (half
  of them downloads, half for a path no rule claims) as fast as the server
  takes them and reading nothing;
- resets: `--resets` a second of connections that send a request and reset
  (RST) at once, some of them halfway through a body;
- smuggling: requests whose framing two parsers may read differently
  (Content-Length with chunked, two Content-Lengths, obfuscated
  Transfer-Encoding, two Host fields, a bare LF), each hiding a download of a
  marked path: an answer naming the mark is a smuggled request answered.

Servers (`--servers`, all by default): `scarf` (python -m scarf.serving),
`gunicorn` (scarf/gunicorn.conf.py), `nginx+scarf` and `nginx+gunicorn`
(nginx 1.22 with its default timeouts proxying to them). Each gets
WEB_CONCURRENCY = the CPU count. Everything runs on servers of its own: a
private Redis, a fresh database `scarf_bench_robustness` on
BENCH_DATABASE_SERVER (the machine's PostgreSQL by default).

    .venv/bin/python bench/robustness.py                      # about 6 minutes
    .venv/bin/python bench/robustness.py --servers scarf --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import multiprocessing
import os
import random
import resource
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.gateway import (  # noqa: E402
    DATABASE_SERVER,
    gateway_command,
    populate,
    recreate_database,
    running,
    write_nginx_config,
)
from bench.table import hostname  # noqa: E402
from scarf.ports import free_port  # noqa: E402

PYTHON = sys.executable
DATABASE_NAME = "scarf_bench_robustness"
SERVERS = ("scarf", "gunicorn", "nginx+scarf", "nginx+gunicorn")

GATEWAY = hostname(0)
DASHBOARD = "localhost"
DOWNLOAD = "/downloads/1.2.3/tool-1.2.3-linux-amd64.tar.gz"
DOWNLOAD_LOCATION = "https://releases.o0.example/tool/v1.2.3/tool-1.2.3-linux-amd64.tar.gz"
STATIC = "/static/vendor/chart.umd.min.js"
SMUGGLED = "/downloads/smuggled/tool-smuggled-x.tar.gz"  # its Location names the mark
CANARY = (  # (host, path, status, what the answer must hold)
    (GATEWAY, DOWNLOAD, 307, DOWNLOAD_LOCATION),
    (DASHBOARD, "/healthz", 200, "ok"),
    (DASHBOARD, "/accounts/login/", 200, "Log in"),
)


# --- the canary ---------------------------------------------------------------------------


@dataclass
class CanaryResult:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    worst: dict[str, float] = field(default_factory=dict)  # path -> seconds


def canary(port: int, stop: threading.Event, result: CanaryResult, pause: float = 0.2) -> None:
    """One request at a time, each on a new connection as a CI job's client
    makes it, in turn: a download, /healthz, the sign-in page."""
    turn = 0
    while not stop.is_set():
        host, path, status, expected = CANARY[turn % len(CANARY)]
        turn += 1
        started = time.monotonic()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            connection.request("GET", path, headers={"Host": host, "User-Agent": "canary/1.0"})
            response = connection.getresponse()
            body = response.read().decode("latin-1")
            connection.close()
            answer = f"{response.getheader('Location', '')} {body}"
            if response.status != status or expected not in answer:
                result.failures.append(f"{path}: {response.status}")
        except (OSError, http.client.HTTPException) as error:
            result.failures.append(f"{path}: {type(error).__name__}")
        latency = time.monotonic() - started
        result.latencies.append(latency)
        result.worst[path] = max(result.worst.get(path, 0.0), latency)
        stop.wait(pause)


# --- the attackers (a process of their own, one event loop) -------------------------------


def head(method: str, path: str, host: str, *fields: str) -> bytes:
    return "\r\n".join([f"{method} {path} HTTP/1.1", f"Host: {host}", *fields, "", ""]).encode()


def smuggling_payloads() -> list[bytes]:
    """Requests a strict parser refuses or reads whole, each hiding a download
    of SMUGGLED that a parser reading the framing another way would answer."""
    hidden = head("GET", SMUGGLED, GATEWAY)
    after_chunks = b"0\r\n\r\n" + hidden
    chunk = b"%x\r\n%b\r\n0\r\n\r\n" % (len(hidden), hidden)

    def post(*fields: str) -> bytes:
        return head("POST", DOWNLOAD, GATEWAY, *fields)

    return [
        # Content-Length and chunked: one reading chunked sees the hidden request next.
        post(f"Content-Length: {len(after_chunks)}", "Transfer-Encoding: chunked") + after_chunks,
        # chunked and Content-Length: one reading Content-Length sees it next.
        post("Transfer-Encoding: chunked", f"Content-Length: {chunk.index(b'GET')}") + chunk,
        # Two Content-Lengths: one taking the first sees it next.
        post("Content-Length: 0", f"Content-Length: {len(hidden)}") + hidden,
        # Transfer-Encoding obfuscated: one still reading it as chunked sees it next.
        post(f"Content-Length: {len(after_chunks)}", "Transfer-Encoding : chunked") + after_chunks,
        post(f"Content-Length: {len(after_chunks)}", "Transfer-Encoding: xchunked") + after_chunks,
        post(f"Content-Length: {len(after_chunks)}", "Transfer-Encoding: chunked, identity")
        + after_chunks,
        # Two Host fields: routed by the second, it is a download of the mark.
        head("GET", SMUGGLED, DASHBOARD, f"Host: {GATEWAY}"),
        # A bare LF in a field: one not ending the line there sees no Content-Length.
        head("GET", DOWNLOAD, GATEWAY, f"X-A: a\nContent-Length: {len(hidden)}") + hidden,
    ]


SMUGGLING = smuggling_payloads()
SMUGGLED_MARK = b"/vsmuggled/"  # in the Location of an answer to the hidden request


async def still_open(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Wait `seconds`, reading what the server says; False once it has closed."""
    try:
        return await asyncio.wait_for(reader.read(65536), seconds) != b""
    except TimeoutError:
        return True


@dataclass
class Attack:
    port: int
    stop_at: float
    counts: dict = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def running(self) -> bool:
        return time.monotonic() < self.stop_at

    async def connect(self, receive_buffer: int | None = None):
        sock = socket.socket()
        if receive_buffer:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.port))
        except OSError:
            sock.close()
            self.count("connect failed")
            await asyncio.sleep(0.5)
            return None
        self.count("connections")
        return await asyncio.open_connection(sock=sock)

    async def forever(self, once, *args) -> None:
        """Run `once` again and again (a new connection each time) until the end."""
        while self.running():
            try:
                await asyncio.wait_for(once(*args), max(0.1, self.stop_at - time.monotonic()))
            except (OSError, asyncio.IncompleteReadError):
                self.count("closed by the server")
                await asyncio.sleep(0.2)
            except TimeoutError:
                return

    async def idle(self) -> None:
        opened = await self.connect()
        if opened:
            reader, writer = opened
            await reader.read()  # until the server closes it
            writer.close()
            self.count("closed by the server")

    async def slowloris(self) -> None:
        opened = await self.connect()
        if opened:
            reader, writer = opened
            writer.write(f"GET {DOWNLOAD} HTTP/1.1\r\nHost: {GATEWAY}\r\n".encode())
            while await still_open(reader, 5):
                writer.write(b"X-Loris-%d: still here\r\n" % random.randrange(10**6))
            writer.close()
            self.count("closed by the server")

    async def slow_post(self) -> None:
        opened = await self.connect()
        if opened:
            reader, writer = opened
            writer.write(
                head(
                    "POST",
                    "/accounts/login/",
                    DASHBOARD,
                    "Content-Type: application/x-www-form-urlencoded",
                    "Content-Length: 1000000",
                )
            )
            writer.write(b"username=x")
            while await still_open(reader, 3):
                writer.write(b"xxxxxxxxxx")
            writer.close()
            self.count("closed by the server")

    async def slow_reader(self) -> None:
        opened = await self.connect(receive_buffer=4096)
        if opened:
            reader, writer = opened
            writer.write(head("GET", STATIC, DASHBOARD) * 20)
            while chunk := await reader.read(2048):
                self.count("slow reader bytes", len(chunk))
                await asyncio.sleep(1)
            writer.close()
            self.count("closed by the server")

    async def pipeliner(self, path: str) -> None:
        opened = await self.connect(receive_buffer=4096)
        if opened:
            reader, writer = opened
            requests = head("GET", path, GATEWAY, "User-Agent: pipeliner/1") * 500
            while not writer.transport.is_closing():
                writer.write(requests)
                await writer.drain()  # as fast as the server takes them
                self.count("pipelined requests written", 500)
            writer.close()
            self.count("closed by the server")

    async def reset(self) -> None:
        opened = await self.connect()
        if opened:
            reader, writer = opened
            if random.random() < 0.5:
                writer.write(head("GET", DOWNLOAD, GATEWAY))
            else:
                writer.write(
                    head("POST", "/accounts/login/", DASHBOARD, "Content-Length: 1000") + b"user"
                )
            await writer.drain()
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()  # RST
            self.count("resets")

    async def resets(self, per_second: int) -> None:
        while self.running():
            await asyncio.gather(*(self.reset() for _ in range(per_second // 5 or 1)))
            await asyncio.sleep(0.2)

    async def smuggle(self, payload: bytes) -> None:
        opened = await self.connect()
        if opened:
            reader, writer = opened
            writer.write(payload)
            await writer.drain()
            answer = b""
            with contextlib.suppress(TimeoutError, OSError):
                while chunk := await asyncio.wait_for(reader.read(65536), 2):
                    answer += chunk
            writer.close()
            self.count("smuggling attempts")
            if SMUGGLED_MARK in answer:
                self.count("SMUGGLED ANSWERS")

    async def smuggling(self) -> None:
        turn = 0
        while self.running():
            await self.smuggle(SMUGGLING[turn % len(SMUGGLING)])
            turn += 1
            await asyncio.sleep(0.25)


async def attack(port: int, seconds: float, sizes: dict) -> dict:
    attack = Attack(port, time.monotonic() + seconds)
    jobs = [attack.forever(attack.idle) for _ in range(sizes["idle"])]
    jobs += [attack.forever(attack.slowloris) for _ in range(sizes["slowloris"])]
    jobs += [attack.forever(attack.slow_post) for _ in range(sizes["slow_posts"])]
    jobs += [attack.forever(attack.slow_reader) for _ in range(sizes["slow_readers"])]
    for turn in range(sizes["pipeliners"]):  # downloads (recorded), and 404s (answered at once)
        jobs.append(attack.forever(attack.pipeliner, DOWNLOAD if turn % 2 else "/nothing-here"))
    jobs += [attack.resets(sizes["resets"]), attack.smuggling()]
    await asyncio.gather(*jobs, return_exceptions=True)
    return attack.counts


def attack_process(port: int, seconds: float, sizes: dict, results) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    results.put(asyncio.run(attack(port, seconds, sizes)))


# --- servers and their memory -------------------------------------------------------------


def processes_of(group: int) -> dict[int, str]:
    """The processes of a process group: pid -> name."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = stat.read_text()
            name = text[text.index("(") + 1 : text.rindex(")")]
            fields = text[text.rindex(")") + 2 :].split()
            if int(fields[2]) == group:
                found[int(stat.parent.name)] = name
    return found


def resident_mb(pid: int) -> float:
    with contextlib.suppress(OSError, IndexError, ValueError):
        status = Path(f"/proc/{pid}/status").read_text()
        return int(status.split("VmRSS:", 1)[1].split()[0]) / 1024
    return 0.0


def memory(groups: list[int]) -> dict[tuple[int, str], float]:
    return {
        (pid, name): resident_mb(pid)
        for group in groups
        for pid, name in processes_of(group).items()
    }


def nginx_config(directory: Path, port: int, backend: int) -> Path:
    """nginx as it is usually put in front: its default timeouts and buffering."""
    return write_nginx_config(
        directory,
        f"""
    upstream backend {{ server 127.0.0.1:{backend}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{port} default_server;
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}""",
    )


@contextmanager
def serving(name: str, env: dict, work: Path):
    """The server `name` on a free port: (port, its process groups)."""
    backend = name.split("+")[-1]
    port = free_port()
    env = {**env, "PORT": str(port), "BIND": "127.0.0.1"}
    with running(gateway_command(backend, port), port, work / f"{name}.log", env) as process:
        if not name.startswith("nginx+"):
            yield port, [process.pid]
            return
        front = free_port()
        config = nginx_config(work, front, port)
        nginx = [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(config), "-p", str(work)]
        with running(nginx, front, work / "nginx.log") as proxy:
            yield front, [proxy.pid, process.pid]


def wait_until_answering(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz", headers={"Host": DASHBOARD})
            if connection.getresponse().status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"port {port} does not answer /healthz")


# --- one run ------------------------------------------------------------------------------


def run(name: str, env: dict, work: Path, args) -> dict:
    sizes = {
        "idle": args.idle,
        "slowloris": args.slowloris,
        "slow_posts": args.slow_posts,
        "slow_readers": args.slow_readers,
        "pipeliners": args.pipeliners,
        "resets": args.resets,
    }
    with serving(name, env, work) as (port, groups):
        wait_until_answering(port)
        warm, stop = CanaryResult(), threading.Event()
        warming = threading.Thread(target=canary, args=(port, stop, warm, 0.05))
        warming.start()
        time.sleep(3)  # every worker has loaded the rules and rendered each page
        stop.set()
        warming.join()
        before = memory(groups)

        results = multiprocessing.get_context("spawn").Queue()
        attackers = multiprocessing.get_context("spawn").Process(
            target=attack_process, args=(port, args.duration, sizes, results)
        )
        result, stop = CanaryResult(), threading.Event()
        watcher = threading.Thread(target=canary, args=(port, stop, result))
        attackers.start()
        time.sleep(1)
        watcher.start()
        peak = dict(before)
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < args.duration:
            now = memory(groups)
            for key, mb in now.items():
                peak[key] = max(peak.get(key, 0.0), mb)
            if round(elapsed) % 10 == 0 and elapsed > 1:
                sizes_now = " ".join(f"{mb:.0f}" for _, mb in sorted(now.items()))
                print(f"  {elapsed:3.0f} s: memory MB {sizes_now}", flush=True)
            time.sleep(1)
        counts = results.get(timeout=60)
        attackers.join(timeout=30)
        stop.set()
        watcher.join()
        time.sleep(2)
        after = memory(groups)
    return {
        "canary": result,
        "counts": counts,
        "before": before,
        "peak": peak,
        "after": after,
    }


def report(name: str, outcome: dict) -> None:
    result: CanaryResult = outcome["canary"]
    latencies = sorted(result.latencies) or [0.0]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"\n== {name}")
    print(
        f"canary: {len(result.latencies)} requests, {len(result.failures)} failed, "
        f"worst {max(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"median {statistics.median(latencies) * 1000:.0f} ms"
    )
    print(
        "  worst by request: "
        + ", ".join(f"{path} {seconds * 1000:.0f} ms" for path, seconds in result.worst.items())
    )
    if result.failures:
        shown = ", ".join(sorted(set(result.failures))[:6])
        print(f"  failures: {shown}")
    counts = outcome["counts"]
    print("attackers: " + ", ".join(f"{key} {value}" for key, value in sorted(counts.items())))
    print("memory MB (before -> peak -> after):")
    for key in sorted(outcome["before"]):
        pid, process = key
        print(
            f"  {process:<16} {pid:>7}  {outcome['before'][key]:7.1f} -> "
            f"{outcome['peak'].get(key, 0.0):7.1f} -> {outcome['after'].get(key, 0.0):7.1f}"
        )


def summary(outcomes: dict) -> None:
    print("\nserver            canary  failed  worst ms  p99 ms  smuggled  largest growth MB")
    for name, outcome in outcomes.items():
        result = outcome["canary"]
        latencies = sorted(result.latencies) or [0.0]
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(
            f"{name:<18}{len(result.latencies):>6}{len(result.failures):>8}"
            f"{max(latencies) * 1000:>10.0f}{p99 * 1000:>8.0f}"
            f"{outcome['counts'].get('SMUGGLED ANSWERS', 0):>10}{growth(outcome):>19.1f}"
        )


def growth(outcome: dict) -> float:
    """The most any process of the server grew by (MB) from before the attacks to their peak."""
    before = outcome["before"]
    return max((outcome["peak"].get(key, 0.0) - mb for key, mb in before.items()), default=0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated")
    parser.add_argument("--duration", type=float, default=60, help="seconds of attack per server")
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--slowloris", type=int, default=200)
    parser.add_argument("--slow-posts", type=int, default=50)
    parser.add_argument("--slow-readers", type=int, default=20)
    parser.add_argument("--pipeliners", type=int, default=20)
    parser.add_argument("--resets", type=int, default=20, help="a second")
    parser.add_argument(
        "--max-growth", type=float, default=64, help="MB a worker of ours may grow by"
    )
    args = parser.parse_args()
    names = [name for name in args.servers.split(",") if name]
    unknown = set(names) - set(SERVERS)
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")

    work = Path(tempfile.mkdtemp(prefix="scarf-robustness-"))
    redis_port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"{DATABASE_SERVER}/{DATABASE_NAME}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "DJANGO_SETTINGS_MODULE": "scarf.settings",
        "DEBUG": "false",
        "SECRET_KEY": "robustness-" + os.urandom(16).hex(),
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
        "DASHBOARD_HOSTS": DASHBOARD,
        "VAR_DIR": str(work / "var"),
        "WEB_CONCURRENCY": str(os.cpu_count()),
    }
    os.environ.update(env)
    outcomes = {}
    with ExitStack() as stack:
        redis_server = ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1"]
        redis_server += ["--save", "", "--appendonly", "no"]
        stack.enter_context(running(redis_server, redis_port, work / "redis.log"))
        print(f"preparing {DATABASE_NAME} ...", flush=True)
        prepare(env)
        for name in names:
            print(f"{name}: {args.duration:.0f} s of attacks ...", flush=True)
            outcomes[name] = run(name, env, work, args)
            report(name, outcomes[name])
    summary(outcomes)
    shutil.rmtree(work, ignore_errors=True)
    ours = outcomes.get("scarf")
    if ours is None:
        return 0
    failed = ours["canary"].failures or ours["counts"].get("SMUGGLED ANSWERS")
    return 1 if failed or growth(ours) > args.max_growth else 0


def prepare(env: dict) -> None:
    """A fresh database holding one domain of bench/table.py, verified and published."""
    recreate_database(DATABASE_NAME)
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True
    )
    import django

    django.setup()
    populate(1)


if __name__ == "__main__":
    sys.exit(main())
