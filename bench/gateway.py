"""Gateway benchmark: the gateway against nginx and a plain Django view.

Not a test: it prints figures and never fails on a slow machine (it exits
non-zero only when an answer is wrong or an event is missing). One run, on
this machine:

1. a private Redis and a fresh database `scarf_bench_gateway` holding a
   routing table of `--domains` domains (four rule types each, templates
   with variables; bench/table.py);
2. each server in turn, on its own port — the gateway in its production
   serving configuration, nginx serving the same redirects from a generated
   config, a plain Django view doing the same lookup with Django's default
   middleware under gunicorn: every distinct request is sent once and its
   status and Location checked, then wrk drives it at full speed
   (bench/wrk.lua checks every response);
3. the gateway again at half of its peak rate, for latency;
4. events recorded by the gateway (in the Redis stream) against the
   responses it sent (its own counters), which must be equal;
5. scale: lookup cost with 10 and 100,000 domains, memory of a process
   holding 100,000 compiled domains, and the time a rule change takes to
   reach every gateway worker.

    make bench            # scripts/bench.sh: installs wrk and nginx, then this
    .venv/bin/python bench/gateway.py --domains 1000 --duration 10
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.processes import stop_process_group  # noqa: E402
from bench.table import HOT_DOMAINS, bench_requests, manifest, nginx_server_block  # noqa: E402
from scarf.ports import free_port  # noqa: E402

PYTHON = sys.executable
DATABASE_SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
DATABASE_NAME = "scarf_bench_gateway"


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s")


@contextmanager
def running(args: list[str], port: int, log: Path, env: dict | None = None):
    """A server subprocess (its own process group), stopped on exit."""
    with open(log, "wb") as output:
        process = subprocess.Popen(
            args, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        wait_for_port(port, process)
        yield process
    finally:
        stop_process_group(process)


def recreate_database(name: str = DATABASE_NAME) -> None:
    import psycopg

    with psycopg.connect(f"{DATABASE_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {name}")


def populate(domains: int) -> None:
    """Import the table's manifest, verify its domains and publish them (to
    Redis; embedded mode reads them from the database)."""
    from django.conf import settings

    from apps.accounts.models import Organisation
    from apps.gateway.routing import publish_all
    from apps.packages.manifests import import_manifest
    from apps.packages.models import Domain

    organisation = Organisation.objects.create(name="Bench", slug="bench")
    import_manifest(organisation, manifest(domains))
    Domain.objects.filter(organisation=organisation).update(verified=True)
    if not settings.EMBEDDED:
        publish_all()


# --- Checking and loading -----------------------------------------------------------------


def check_every_request(port: int, requests) -> int:
    """Send each distinct request once; the number of wrong answers (the first few printed)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    wrong = 0
    for item in requests:
        connection.request(
            "GET", item.path, headers={"Host": item.host, "User-Agent": item.user_agent}
        )
        response = connection.getresponse()
        response.read()
        location = response.getheader("Location", "")
        if (response.status, location) != (item.status, item.location):
            wrong += 1
            if wrong <= 3:
                print(
                    f"  WRONG {item.host}{item.path}: {response.status} {location!r}, "
                    f"expected {item.status} {item.location!r}"
                )
    connection.close()
    return wrong


def warm_up(port: int, requests_file: Path, connections: int) -> dict:
    """A few seconds of load first (threads started, every entry loaded), so
    the measured run sees the steady state, for every server alike."""
    return wrk(port, requests_file, connections, 3)


def wrk(port: int, requests_file: Path, connections: int, seconds: int, delay_ms: int = 0) -> dict:
    env = {**os.environ, "BENCH_REQUESTS": str(requests_file), "BENCH_DELAY_MS": str(delay_ms)}
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(BASE_DIR / "bench/wrk.lua"),
            f"http://127.0.0.1:{port}/",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    number = lambda pattern: float(re.search(pattern, output).group(1))  # noqa: E731
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": number(r"Requests/sec:\s+([\d.]+)"),
        "responses": int(number(r"(\d+) requests in")),
        "good": int(number(r"CHECKED good=(\d+)")),
        "bad": int(number(r"bad=(\d+)")),
        "p50_ms": number(r"LATENCY p50=(\d+)") / 1000,
        "p99_ms": number(r"p99=(\d+)") / 1000,
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
    }


def fixed_rate(port: int, requests_file: Path, rate: float, seconds: int) -> dict:
    """wrk at about `rate` requests/s: each connection waits 2 ms between a
    response and its next request; a short first run calibrates how many
    connections give that rate."""
    connections = max(2, round(rate * 0.002))
    trial = wrk(port, requests_file, connections, 3, delay_ms=2)
    connections = max(2, round(connections * rate / max(trial["rps"], 1)))
    result = wrk(port, requests_file, connections, seconds, delay_ms=2)
    return {**result, "target_rps": rate, "connections": connections}


# --- The three servers --------------------------------------------------------------------


def gateway_command(server: str, port: int) -> list[str]:
    if server == "scarf":
        return [PYTHON, "-m", "scarf.serving"]
    return [
        str(Path(PYTHON).parent / "gunicorn"),
        "-c",
        "scarf/gunicorn.conf.py",
        "--bind",
        f"127.0.0.1:{port}",
        "scarf.wsgi",
    ]


def nginx_config(directory: Path, port: int, domains: int) -> Path:
    blocks = "".join(nginx_server_block(index, port) for index in range(domains))
    return write_nginx_config(
        directory,
        f"""
    server_names_hash_max_size {max(1024, 4 * domains)};
    server_names_hash_bucket_size 128;
    server {{ listen 127.0.0.1:{port} default_server; return 404; }}
    {blocks}""",
    )


def write_nginx_config(directory: Path, http: str) -> Path:
    """nginx.conf in `directory` (its pid, logs and temporary files there too),
    one worker per CPU, no access log, `http` inside the http block."""
    config = directory / "nginx.conf"
    config.write_text(f"""
worker_processes {os.cpu_count()};
pid {directory}/nginx.pid;
error_log {directory}/nginx-error.log;
daemon off;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {directory};
    proxy_temp_path {directory};
    fastcgi_temp_path {directory};
    uwsgi_temp_path {directory};
    scgi_temp_path {directory};{http}
}}
""")
    return config


def stream_events(client) -> int:
    from apps.analytics.events import read_stream_events

    return len(read_stream_events(client))


def gateway_responses(client) -> int:
    from apps.gateway.metrics import gateway_totals

    return sum(count for (status, _rule), count in gateway_totals(client).items() if status < 400)


def measure_gateway(args, env, work: Path, requests, requests_file, redis_client) -> dict:
    port = free_port()
    env = {**env, "PORT": str(port), "BIND": "127.0.0.1"}
    with running(gateway_command(args.server, port), port, work / "gateway.log", env):
        wrong = check_every_request(port, requests)
        warm_up(port, requests_file, args.connections)
        time.sleep(1.5)  # counters are flushed every second
        events_before, responses_before = (
            stream_events(redis_client),
            gateway_responses(redis_client),
        )
        peak = wrk(port, requests_file, args.connections, args.duration)
        print(f"  peak {peak}", flush=True)
        half = fixed_rate(port, requests_file, peak["rps"] / 2, args.duration)
        time.sleep(2.5)
        events = stream_events(redis_client) - events_before
        responses = gateway_responses(redis_client) - responses_before
        propagation = measure_propagation(port, redis_client)
    return {
        **peak,
        "wrong": wrong,
        "half": half,
        "events": events,
        "gateway_responses": responses,
        "propagation_s": propagation,
    }


def measure_embedded(args, env, work: Path, requests, requests_file) -> dict:
    """The embedded default as `make run` serves it: `manage.py serve` (our
    server, one worker, its access log) on a SQLite database of its own
    holding the same table, no Redis; every download stored in SQLite."""
    port = free_port()
    var = work / "embedded"
    env = {**env, "DATABASE_URL": "", "REDIS_URL": "", "VAR_DIR": str(var), "PORT": str(port)}
    env["BIND"] = "127.0.0.1"
    fill = f"from bench.gateway import populate; populate({args.domains})"
    for command in (["migrate", "--noinput", "-v0"], ["shell", "-c", fill]):
        subprocess.run([PYTHON, "manage.py", *command], cwd=BASE_DIR, env=env, check=True)
    with running([PYTHON, "manage.py", "serve"], port, work / "embedded.log", env):
        wrong = check_every_request(port, requests)
        warmed = warm_up(port, requests_file, args.connections)
        peak = wrk(port, requests_file, args.connections, args.duration)
    answered = len(requests) + warmed["good"] + peak["good"]
    return {**peak, "wrong": wrong, "answered": answered, "events": sqlite_events(var)}


def sqlite_events(var: Path) -> int:
    import sqlite3

    with contextlib.closing(sqlite3.connect(var / "db.sqlite3")) as database:
        return database.execute("SELECT count(*) FROM analytics_downloadevent").fetchone()[0]


def measure_nginx(args, work: Path, requests, requests_file) -> dict:
    port = free_port()
    config = nginx_config(work, port, args.domains)
    with running(
        [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(config), "-p", str(work)],
        port,
        work / "nginx.log",
    ):
        wrong = check_every_request(port, requests)
        warm_up(port, requests_file, args.connections)
        return {**wrk(port, requests_file, args.connections, args.duration), "wrong": wrong}


def measure_django(args, env, work: Path, requests, requests_file) -> dict:
    port = free_port()
    command = [
        str(Path(PYTHON).parent / "gunicorn"),
        "-c",
        "scarf/gunicorn.conf.py",
        "--bind",
        f"127.0.0.1:{port}",
        "django.core.wsgi:get_wsgi_application()",
    ]
    env = {**env, "DJANGO_SETTINGS_MODULE": "bench.django_view"}
    with running(command, port, work / "django.log", env):
        wrong = check_every_request(port, requests)
        warm_up(port, requests_file, args.connections)
        return {**wrk(port, requests_file, args.connections, args.duration), "wrong": wrong}


# --- Scale --------------------------------------------------------------------------------


def measure_propagation(port: int, redis_client) -> float:
    """Seconds from a committed rule change until every gateway worker applied it."""
    from apps.gateway.routing import applied_versions, current_version
    from apps.packages.models import Rule
    from apps.packages.services import SYSTEM, update_rule

    rule = Rule.objects.filter(type="file-v2").order_by("id").first()
    original = rule.manifest_form()
    config = {**original, "outgoing-url": "https://moved.o0.example/{channel}/install.sh"}
    workers = set(applied_versions(redis_client))
    started = time.monotonic()
    update_rule(rule, SYSTEM, config)
    version = current_version(redis_client)
    while time.monotonic() - started < 30:
        applied = applied_versions(redis_client)
        if all(applied.get(worker, 0) >= version for worker in workers):
            break
        time.sleep(0.005)
    elapsed = time.monotonic() - started
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/install/beta.sh", headers={"Host": rule.domain.hostname})
    location = connection.getresponse().getheader("Location")
    assert location == "https://moved.o0.example/beta/install.sh", location
    update_rule(Rule.objects.get(id=rule.id), SYSTEM, original)
    return elapsed


def measure_scale(domains_small: int, domains_large: int) -> dict:
    """Lookup + resolve cost and memory with few and many domains (bench/lookup.py)."""
    output = subprocess.run(
        [PYTHON, str(BASE_DIR / "bench/lookup.py"), str(domains_small), str(domains_large)],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    ).stdout
    results = {}
    for line in output.splitlines():
        figures = dict(re.findall(r"(\w+)=([\d.]+)", line))
        if "domains" in figures:
            results[int(figures.pop("domains"))] = {k: float(v) for k, v in figures.items()}
    return results


# --- Report -------------------------------------------------------------------------------


def report(gateway: dict, embedded: dict, nginx: dict, django: dict, scale: dict, args) -> bool:
    rows = [
        ("gateway (" + args.server + ")", gateway),
        ("embedded (make run)", embedded),
        ("nginx", nginx),
        ("plain Django view", django),
    ]
    print()
    print(
        f"{args.domains} domains, {args.connections} connections, {args.duration} s each, wrk -t2"
    )
    print(
        f"{'server':<22}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'checked':>10}{'wrong':>7}{'errors':>8}"
    )
    for name, row in rows:
        print(
            f"{name:<22}{row['rps']:>10.0f}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
            f"{row['good']:>10}{row['bad'] + row['wrong']:>7}{row['socket_errors']:>8}"
        )
    half = gateway["half"]
    print(
        f"\ngateway at half its peak ({half['target_rps']:.0f} req/s offered, "
        f"{half['rps']:.0f} served): p50 {half['p50_ms']:.2f} ms, p99 {half['p99_ms']:.2f} ms"
    )
    print(
        f"ratios: gateway/nginx {gateway['rps'] / nginx['rps']:.2f}, "
        f"gateway/django {gateway['rps'] / django['rps']:.1f}, "
        f"embedded/django {embedded['rps'] / django['rps']:.1f}"
    )
    print(
        f"events recorded {gateway['events']} vs gateway responses {gateway['gateway_responses']} "
        f"(wrk received {gateway['responses'] + half['responses']} during load); "
        f"embedded: {embedded['events']} in SQLite for {embedded['answered']} answers received"
    )
    small, large = sorted(scale)

    def change(key: str) -> str:
        return f"{100 * (scale[large][key] / scale[small][key] - 1):+.1f} %"

    print(
        f"lookup, same requests (of {HOT_DOMAINS} domains) with {small} and {large} domains "
        f"configured: remembered decision {scale[small]['lookup_us']:.2f} us, "
        f"{scale[large]['lookup_us']:.2f} us ({change('lookup_us')}); matching the rules afresh "
        f"{scale[small]['resolve_us']:.2f} us, {scale[large]['resolve_us']:.2f} us "
        f"({change('resolve_us')})"
    )
    print(
        f"lookup, requests cycling over every domain: remembered decision "
        f"{scale[small]['sweep_lookup_us']:.2f} us, {scale[large]['sweep_lookup_us']:.2f} us "
        f"({change('sweep_lookup_us')}); afresh {scale[small]['sweep_resolve_us']:.2f} us, "
        f"{scale[large]['sweep_resolve_us']:.2f} us ({change('sweep_resolve_us')})"
    )
    print(
        f"memory of {large} compiled domains in one process: {scale[large]['table_mb']:.0f} MB "
        f"({scale[large]['table_mb'] * 1024 / large:.1f} KB a domain)"
    )
    print(
        "rule change applied by every gateway worker after "
        f"{gateway['propagation_s'] * 1000:.0f} ms"
    )
    wrong = sum(row["bad"] + row["wrong"] for _, row in rows) + half["bad"]
    # Embedded: a request wrk cut off at its end may be stored with its answer unread.
    recorded = embedded["events"] >= embedded["answered"]
    return wrong == 0 and gateway["events"] == gateway["gateway_responses"] and recorded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--server", choices=("scarf", "gunicorn"), default="scarf")
    parser.add_argument("--scale-domains", type=int, default=100_000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="scarf-bench-"))
    redis_port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"{DATABASE_SERVER}/{DATABASE_NAME}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "DJANGO_SETTINGS_MODULE": "scarf.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + os.urandom(16).hex(),
        "ALLOWED_HOSTS": "*",
        "VAR_DIR": str(work / "var"),
        "WEB_CONCURRENCY": str(os.cpu_count()),
    }
    os.environ.update(env)
    with ExitStack() as stack:
        stack.enter_context(
            running(
                [
                    "redis-server",
                    "--port",
                    str(redis_port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                redis_port,
                work / "redis.log",
            )
        )
        print(f"preparing {args.domains} domains in {DATABASE_NAME} ...", flush=True)
        recreate_database()
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True
        )
        import django

        django.setup()
        from apps.gateway.routing import redis_client

        populate(args.domains)
        requests = bench_requests(args.domains)
        requests_file = work / "requests.tsv"
        requests_file.write_text("".join(f"{r.host}\t{r.path}\t{r.user_agent}\n" for r in requests))
        client = redis_client()

        print("gateway ...", flush=True)
        gateway = measure_gateway(args, env, work, requests, requests_file, client)
        print("embedded ...", flush=True)
        embedded = measure_embedded(args, env, work, requests, requests_file)
        print("nginx ...", flush=True)
        nginx = measure_nginx(args, work, requests, requests_file)
        print("plain Django view ...", flush=True)
        django_view = measure_django(args, env, work, requests, requests_file)
        print("scale ...", flush=True)
        scale = measure_scale(10, args.scale_domains)
    ok = report(gateway, embedded, nginx, django_view, scale, args)
    shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
