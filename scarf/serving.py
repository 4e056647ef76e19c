"""The production server: granian running scarf.wsgi, configured from the environment.

    python -m scarf.serving        # what the Dockerfile and docker-compose run

granian answers HTTP in Rust and calls the WSGI application from a pool of
threads per worker process. bench/gateway.py measured it several times
gunicorn's rate for the gateway, and ahead of granian running an ASGI
version of the gateway (README, "Performance"). PORT (8000), WEB_CONCURRENCY
(one worker per core) and GRANIAN_BLOCKING_THREADS (threads per worker, 8:
the best of 4 to 32 in the benchmark) tune it; gunicorn still works:
`gunicorn -c scarf/gunicorn.conf.py scarf.wsgi`.
"""

from __future__ import annotations

import os
import sys


def granian_arguments(host: str, port: int) -> list[str]:
    workers = os.environ.get("WEB_CONCURRENCY") or str(os.cpu_count() or 1)
    threads = os.environ.get("GRANIAN_BLOCKING_THREADS", "8")
    return [
        "--interface", "wsgi",
        "--host", host,
        "--port", str(port),
        "--workers", workers,
        "--blocking-threads", threads,
        "--respawn-failed-workers",
        "--http1-buffer-size", "65536",  # request head limit: larger heads are refused
        "--no-access-log",
        "scarf.wsgi:application",
    ]  # fmt: skip


def main() -> None:
    granian = os.path.join(os.path.dirname(sys.executable), "granian")
    arguments = granian_arguments("0.0.0.0", int(os.environ.get("PORT", "8000")))
    os.execve(granian, [granian, *arguments], server_environment(os.environ))


def server_environment(environ) -> dict[str, str]:
    """The process environment without `HTTP_*` variables: granian builds each
    request's WSGI environ on top of the process environment, where such a
    variable (HTTP_PROXY, say) would read as a header of every request."""
    return {key: value for key, value in environ.items() if not key.startswith("HTTP_")}


if __name__ == "__main__":
    main()
