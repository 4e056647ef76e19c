"""Serve dashboard, API and gateway from one process (the embedded default)."""

import os

from django.core.management.base import BaseCommand
from gunicorn.app.base import BaseApplication


class EmbeddedServer(BaseApplication):
    def __init__(self, options):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from django.conf import settings

        from scarf.embedded import start_embedded_beat
        from scarf.wsgi import application

        if settings.EMBEDDED:
            start_embedded_beat()
        return application


class Command(BaseCommand):
    help = "Serve the whole product on one port with gunicorn (threads, one process)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--bind", default=os.environ.get("BIND", "0.0.0.0"))  # noqa: S104
        parser.add_argument("--threads", type=int, default=16)

    def handle(self, *args, **options):
        self.stdout.write(f"serving on http://localhost:{options['port']}/")
        EmbeddedServer(
            {
                "bind": f"{options['bind']}:{options['port']}",
                "workers": 1,
                "worker_class": "gthread",
                "threads": options["threads"],
                "accesslog": "-",
                "timeout": 60,
            }
        ).run()
