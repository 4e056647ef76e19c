"""TLS edge benchmark: redirects over HTTPS through Caddy, against nginx, and the
time from a verified domain to its first HTTPS download.

Not a test: it prints figures and exits non-zero only on a wrong answer. One
run, on this machine, with a private Redis, a fresh database
`scarf_bench_edge` and pebble as the ACME CA:

1. the same redirect (a file-v1 rule on get.bench.test, 307 to the backend)
   answered by four set-ups, one after the other, each driven by
   `wrk -t2 -c64` for `--duration` seconds over keep-alive connections:
   - edge: Caddy (deploy/Caddyfile, on-demand certificate from pebble) in
     front of the gateway (`python -m scarf.serving`), as production runs;
   - nginx TLS -> gateway: nginx terminating TLS with the same certificate
     and proxying to the same gateway (keep-alive upstream): what nginx's
     TLS termination would cost instead of Caddy's;
   - nginx alone: nginx answering the same 307 itself over TLS;
   - gateway without an edge: plain HTTP.
   wrk resolves get.bench.test through a hosts file of its own (a private
   mount namespace, `unshare --mount`: needs root), so it sends the server
   name (SNI) a real client sends. CPU time of each process (from /proc) is
   reported per request: where the CPU goes.
2. `--issuances` times: a domain is verified (committed, published) and a
   client retries an HTTPS download until the edge, having asked the gateway,
   obtained a certificate from pebble and answered.

    make bench-edge                    # scripts/bench.sh --edge: installs wrk, nginx, caddy, pebble
    .venv/bin/python bench/edge.py --duration 10
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.gateway import running  # noqa: E402
from scarf.edge_servers import Caddy, Pebble  # noqa: E402
from scarf.ports import free_port  # noqa: E402

PYTHON = sys.executable
DATABASE_SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
DATABASE_NAME = "scarf_bench_edge"
DOMAIN = "get.bench.test"
PATH = "/cli/1.2.3/cli-linux-amd64.tar.gz"
LOCATION = "https://downloads.bench.example/v1.2.3/cli-linux-amd64.tar.gz"


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{DATABASE_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE_NAME} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE_NAME}")


def rule(domain: str) -> dict:
    return {
        "type": "file-v1",
        "domain": domain,
        "package-id": "cli",
        "incoming-path": "/cli/{version}/{file}",
        "outgoing-url": "https://downloads.bench.example/v{version}/{file}",
    }


def populate(issuances: int):
    """The benchmark's domain, verified, and `issuances` domains waiting for verification."""
    from apps.accounts.models import Organisation
    from apps.gateway.routing import publish_all
    from apps.packages.manifests import import_manifest
    from apps.packages.models import Domain

    organisation = Organisation.objects.create(name="Bench", slug="bench")
    names = [f"new-{index}.bench.test" for index in range(issuances)]
    import_manifest(organisation, {"rules": [rule(DOMAIN)] + [rule(name) for name in names]})
    Domain.objects.filter(hostname=DOMAIN).update(verified=True)
    publish_all()
    return names


# --- Measuring ------------------------------------------------------------------------------


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of these processes and their children so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    every = set(pids) | {child for parent in pids for child in children(parent)}
    for pid in every:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{pid}$", text, re.MULTILINE):
            found.append(int(status.parent.name))
    return found


def wrk(url: str, hosts: Path, connections: int, seconds: int) -> dict:
    """wrk with `hosts` as its /etc/hosts (a mount namespace of its own)."""
    command = f"wrk -t2 -c{connections} -d{seconds}s --latency {url}"
    output = subprocess.run(
        ["unshare", "--mount", "sh", "-c", f"mount --bind {hosts} /etc/hosts && exec {command}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    number = lambda pattern: float(re.search(pattern, output).group(1))  # noqa: E731
    latency = dict(re.findall(r"\s(50|99)%\s+([\d.]+\w+)", output))
    wrong = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": number(r"Requests/sec:\s+([\d.]+)"),
        "requests": int(number(r"(\d+) requests in")),
        "p50_ms": milliseconds(latency["50"]),
        "p99_ms": milliseconds(latency["99"]),
        "wrong": int(wrong.group(1)) if wrong else 0,
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
    }


def milliseconds(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def check_answer(port: int, root: Path | None) -> None:
    """One request as a client makes it: the exact redirect, or the benchmark stops."""
    if root is None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    else:
        connection = SniConnection(DOMAIN, port, root)
    connection.request("GET", PATH, headers={"Host": DOMAIN})
    response = connection.getresponse()
    response.read()
    connection.close()
    got = (response.status, response.getheader("Location"))
    if got != (307, LOCATION):
        raise SystemExit(f"wrong answer on port {port}: {got}")


class SniConnection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 for `host` (SNI, certificate check, Host)."""

    def __init__(self, host: str, port: int, root: Path, timeout: float = 10):
        context = ssl.create_default_context(cafile=str(root))
        super().__init__(host, port, timeout=timeout, context=context)

    def connect(self):
        raw = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def measure(name, url, hosts, args, processes: dict[str, list[int]]) -> dict:
    wrk(url, hosts, args.connections, 3)  # warm up: connections, workers, caches
    before = {label: cpu_seconds(pids) for label, pids in processes.items()}
    result = wrk(url, hosts, args.connections, args.duration)
    used = {label: cpu_seconds(pids) - before[label] for label, pids in processes.items()}
    result["cpu_us"] = {
        label: seconds * 1e6 / max(result["requests"], 1) for label, seconds in used.items()
    }
    print(f"  {name}: {result}", flush=True)
    return result


def nginx_config(work: Path, port: int, certificate: Path, key: Path, upstream: int | None) -> Path:
    """nginx on `port` with TLS: proxying to the gateway on `upstream`, or answering itself."""
    if upstream is None:
        handler = (
            r"location ~ ^/cli/([^/]+)/([^/]+)$ "
            r"{ return 307 https://downloads.bench.example/v$1/$2; }"
        )
        upstream_block = ""
    else:
        handler = (
            "location / { proxy_pass http://gateway; proxy_http_version 1.1; "
            'proxy_set_header Connection ""; proxy_set_header Host $host; '
            "proxy_set_header X-Forwarded-For $remote_addr; "
            "proxy_set_header X-Forwarded-Proto https; }"
        )
        upstream_block = f"upstream gateway {{ server 127.0.0.1:{upstream}; keepalive 64; }}"
    config = work / f"nginx-{port}.conf"
    config.write_text(f"""
worker_processes {os.cpu_count()};
pid {work}/nginx-{port}.pid;
error_log {work}/nginx-{port}-error.log;
daemon off;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {work};
    proxy_temp_path {work};
    fastcgi_temp_path {work};
    uwsgi_temp_path {work};
    scgi_temp_path {work};
    ssl_session_cache shared:SSL:10m;
    {upstream_block}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {DOMAIN};
        ssl_certificate {certificate};
        ssl_certificate_key {key};
        {handler}
    }}
}}
""")
    return config


def nginx_pids(work: Path, port: int) -> list[int]:
    return [int((work / f"nginx-{port}.pid").read_text())]


def time_to_first_download(edge_port: int, root: Path, names: list[str]) -> list[float]:
    """Seconds from a domain's verification (committed) to its first HTTPS answer."""
    from apps.packages.models import Domain

    times = []
    for name in names:
        domain = Domain.objects.get(hostname=name)
        domain.verified = True
        started = time.monotonic()
        domain.save(update_fields=["verified"])  # published on commit, as a verification is
        while True:
            try:
                check_port = SniConnection(name, edge_port, root, timeout=10)
                check_port.request("GET", PATH)
                response = check_port.getresponse()
                response.read()
                check_port.close()
                break
            except (ssl.SSLError, ConnectionError):
                if time.monotonic() - started > 30:
                    raise SystemExit(f"{name}: no HTTPS answer 30 s after verification") from None
                time.sleep(0.01)
        if (response.status, response.getheader("Location")) != (307, LOCATION):
            raise SystemExit(f"{name}: wrong first answer {response.status}")
        times.append(time.monotonic() - started)
    return times


# --- Report ---------------------------------------------------------------------------------


def report(rows: dict[str, dict], issuance: list[float], args) -> None:
    print()
    print(f"one redirect, {args.connections} connections, {args.duration} s each, wrk -t2")
    labels = sorted({label for row in rows.values() for label in row["cpu_us"]})
    print(
        f"{'set-up':<26}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'wrong':>7}{'errors':>8}   "
        + "  ".join(f"{label + ' us/req':>14}" for label in labels)
    )
    for name, row in rows.items():
        cpu = "  ".join(
            f"{row['cpu_us'][label]:>14.1f}" if label in row["cpu_us"] else f"{'-':>14}"
            for label in labels
        )
        print(
            f"{name:<26}{row['rps']:>9.0f}{row['p50_ms']:>8.2f}{row['p99_ms']:>8.2f}"
            f"{row['wrong']:>7}{row['socket_errors']:>8}   {cpu}"
        )
    edge, terminated = rows["edge (caddy -> gateway)"], rows["nginx TLS -> gateway"]
    alone, plain = rows["nginx alone (TLS)"], rows["gateway, no edge (HTTP)"]
    print(
        f"\nratios: edge / nginx TLS -> gateway {edge['rps'] / terminated['rps']:.2f}, "
        f"edge / nginx alone {edge['rps'] / alone['rps']:.2f}, "
        f"edge / gateway without edge {edge['rps'] / plain['rps']:.2f}"
    )
    print(
        f"verified -> first HTTPS download (certificate from pebble included), "
        f"{len(issuance)} domains: median {statistics.median(issuance) * 1000:.0f} ms, "
        f"min {min(issuance) * 1000:.0f} ms, max {max(issuance) * 1000:.0f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--issuances", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/edge.py runs wrk in a mount namespace of its own: run it as root")
        return 2

    work = Path(tempfile.mkdtemp(prefix="scarf-bench-edge-"))
    redis_port, gateway_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"{DATABASE_SERVER}/{DATABASE_NAME}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "DJANGO_SETTINGS_MODULE": "scarf.settings",
        "SECRET_KEY": "bench-" + os.urandom(16).hex(),
        "ALLOWED_HOSTS": "dashboard.bench.test",
        "DASHBOARD_HOSTS": "dashboard.bench.test",
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "VAR_DIR": str(work / "var"),
        "WEB_CONCURRENCY": str(os.cpu_count()),
        "PORT": str(gateway_port),
        "BIND": "127.0.0.1",
    }
    os.environ.update(env)
    hosts = work / "hosts"
    hosts.write_text(f"127.0.0.1 localhost {DOMAIN}\n")
    rows: dict[str, dict] = {}
    with ExitStack() as stack:
        redis = ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""]
        stack.enter_context(running(redis, redis_port, work / "redis.log"))
        print(f"preparing {DATABASE_NAME} ...", flush=True)
        recreate_database()
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True
        )
        import django

        django.setup()
        names = populate(args.issuances)
        gateway = stack.enter_context(
            running([PYTHON, "-m", "scarf.serving"], gateway_port, work / "gateway.log", env)
        )
        pebble = Pebble(work).start()
        stack.callback(pebble.stop)
        upstream = f"127.0.0.1:{gateway_port}"
        caddy = Caddy(
            work,
            pebble,
            gateway=upstream,
            dashboard=upstream,
            dashboard_hosts=["dashboard.bench.test"],
            ask_url=f"http://{upstream}/internal/tls/allowed",
        )
        caddy.start()
        stack.callback(caddy.stop)
        check_answer(caddy.https_port, pebble.root)  # the certificate is obtained here
        check_answer(gateway_port, None)
        (certificate,) = caddy.certificate_files(DOMAIN)
        key = certificate.with_suffix(".key")
        gateway_pids = [gateway.pid]

        print("edge (caddy -> gateway) ...", flush=True)
        rows["edge (caddy -> gateway)"] = measure(
            "edge",
            f"https://{DOMAIN}:{caddy.https_port}{PATH}",
            hosts,
            args,
            {"caddy": [caddy.process.pid], "gateway": gateway_pids},
        )
        for name, upstream_port in (
            ("nginx TLS -> gateway", gateway_port),
            ("nginx alone (TLS)", None),
        ):
            print(f"{name} ...", flush=True)
            port = free_port()
            config = nginx_config(work, port, certificate, key, upstream_port)
            nginx = shutil.which("nginx") or "/usr/sbin/nginx"
            with running([nginx, "-c", str(config), "-p", str(work)], port, work / "nginx.log"):
                check_answer(port, pebble.root)
                processes = {"nginx": nginx_pids(work, port)}
                if upstream_port is not None:
                    processes["gateway"] = gateway_pids
                rows[name] = measure(name, f"https://{DOMAIN}:{port}{PATH}", hosts, args, processes)
        print("gateway, no edge (HTTP) ...", flush=True)
        rows["gateway, no edge (HTTP)"] = measure(
            "gateway",
            f"http://{DOMAIN}:{gateway_port}{PATH}",
            hosts,
            args,
            {"gateway": gateway_pids},
        )
        print("verified -> first HTTPS download ...", flush=True)
        issuance = time_to_first_download(caddy.https_port, pebble.root, names)
    report(rows, issuance, args)
    return 1 if any(row["wrong"] for row in rows.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
