"""Dashboard benchmark in the shape users deploy: bench/dashboard.py's pages,
asked for over HTTPS through the TLS edge.

Not a test. Loads the same data into the same database as bench/dashboard.py,
then starts the dashboard service as docker-compose runs it (gunicorn with
scarf/gunicorn.conf.py, two workers a core) from a venv built from the
runtime lock alone, and Caddy with deploy/Caddyfile in front of it on free,
non-default ports, with a certificate it gets from pebble. curl, trusting
pebble's root (no insecure flag), asks for each page `--rounds` times after
one warm request, over one kept-alive connection, signed in with a session
cookie; it prints p50 and p95 of curl's time per request:

    .venv/bin/python bench/dashboard_edge.py --packages 5000 --revisions 50000

DATABASE_URL as for bench/dashboard.py; REDIS_URL (default
redis://127.0.0.1:6379/14) is the dashboard service's cache and broker.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"
from bench import dashboard  # noqa: E402 - sets the environment Django starts with

HOST = "dashboard.bench.test"


def session_cookie(user, **data) -> str:
    """A signed-in session of `user` (holding `data` too), as the sign-in
    form would leave it."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store.update(data)
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def timed(url: str, rounds: int, curl: list[str]) -> tuple[list[float], int]:
    """curl's milliseconds for each of `rounds` requests after a warm one, and
    the size of the last answer."""
    requests = [option for _ in range(rounds + 1) for option in ("-o", "/dev/null", url)]
    answered = subprocess.run(
        ["curl", "-sS", *curl, "-w", "%{http_code} %{size_download} %{time_total}\\n", *requests],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")[:-1]
    statuses = {line.split()[0] for line in answered}
    assert statuses == {"200"}, (url, statuses)
    return [float(line.split()[2]) * 1000 for line in answered[1:]], int(answered[-1].split()[1])


@contextmanager
def dashboard_behind_the_edge():
    """The dashboard service from the runtime-lock venv behind Caddy and
    pebble, on free ports: yields its base URL, the curl options that reach
    it trusting pebble's root, and the server (scarf.testing.DashboardServer)."""
    from scarf.edge_servers import Caddy, Pebble
    from scarf.testing import DashboardServer, build_runtime_venv

    env = {
        "REDIS_URL": REDIS_URL,
        "DASHBOARD_HOSTS": HOST,
        "ALLOWED_HOSTS": HOST,
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "HTTPS": "true",
        "API_RATE_LIMIT": "100000/min",  # the benchmark's token asks for every round
    }
    with tempfile.TemporaryDirectory() as directory:
        tmp_path = Path(directory)
        server = DashboardServer(
            env, tmp_path, workers=2 * multiprocessing.cpu_count(), python=str(build_runtime_venv())
        )
        pebble = Pebble(tmp_path).start()
        upstream = f"127.0.0.1:{server.port}"
        caddy = Caddy(
            tmp_path, pebble, upstream, upstream, [HOST], f"http://{upstream}/internal/tls/allowed"
        )
        server.env["PUBLIC_HTTPS_PORT"] = str(caddy.https_port)
        try:
            server.start()
            caddy.start()
            resolve = f"{HOST}:{caddy.https_port}:127.0.0.1"
            yield (
                f"https://{HOST}:{caddy.https_port}",
                ["--cacert", str(pebble.root), "--resolve", resolve],
                server,
            )
        finally:
            caddy.stop()
            server.stop()
            pebble.stop()


def main() -> None:
    args = dashboard.arguments(__doc__)

    import django

    django.setup()

    user, organisation = dashboard.prepare(args.packages, args.revisions)
    curl_cookie = ["-b", session_cookie(user)]
    with dashboard_behind_the_edge() as (base, curl, _server):
        print(
            f"{args.packages} packages, {args.revisions} revisions, {args.rounds} warm "
            f"requests per view, {base} (runtime venv, Caddy)"
        )
        print(dashboard.HEADER)
        for name, path, query in dashboard.views(organisation):
            url = base + path + (f"?{urlencode(query)}" if query else "")
            times, size = timed(url, args.rounds, [*curl, *curl_cookie])
            print(dashboard.figures(name, times, size))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
