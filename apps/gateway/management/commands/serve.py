"""Serve dashboard, API and gateway on one port: the embedded default (`make run`)."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Serve the whole product on one port with the gateway's server "
        "(apps/gateway/server.py): one worker process, its fast path and a pool of threads."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--bind", default=os.environ.get("BIND", "0.0.0.0"))  # noqa: S104
        parser.add_argument("--threads", type=int, default=16)
        parser.add_argument(
            "--no-access-log", action="store_true", help="no line per answer on stdout"
        )

    def handle(self, *args, **options):
        import scarf.wsgi  # noqa: F401 - Django's application is loaded once, before the fork
        from apps.gateway.server import ServeOptions, serve
        from scarf.embedded import start_embedded_beat

        self.stdout.write(f"serving on http://localhost:{options['port']}/")
        self.stdout.flush()
        # One worker: in embedded mode the cache (sign-in throttling, upstream
        # pages) lives in the process, the periodic tasks run in one of its
        # threads, and SQLite takes one writer at a time anyway.
        serve(
            host=options["bind"],
            port=options["port"],
            workers=1,
            threads=options["threads"],
            options=ServeOptions(
                access_log=not options["no_access_log"],
                worker_started=start_embedded_beat if settings.EMBEDDED else None,
            ),
        )
