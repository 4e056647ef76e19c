"""The production server (apps/gateway/server.py), configured from the environment.

    python -m scarf.serving        # what the Dockerfile and docker-compose run

PORT (8000), WEB_CONCURRENCY (worker processes: one per core) and
SERVER_THREADS (threads per worker for the dashboard, the API and the
gateway's slower answers: 8) tune it; the SERVER_* settings bound what one
client may make a worker hold (README, "The server's limits"). gunicorn still works:
`gunicorn -c scarf/gunicorn.conf.py scarf.wsgi`.
"""

from __future__ import annotations

import os


def main() -> None:
    import scarf.wsgi  # noqa: F401 - Django is set up once, before the workers fork
    from apps.gateway.server import serve

    serve(
        host=os.environ.get("BIND", "0.0.0.0"),  # noqa: S104 - a server in a container
        port=int(os.environ.get("PORT", "8000")),
        workers=int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1),
        threads=int(os.environ.get("SERVER_THREADS", "8")),
    )


if __name__ == "__main__":
    main()
