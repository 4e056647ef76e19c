import json

from django.core.management.base import BaseCommand, CommandError

from apps.gateway.explain import resolve_request


class Command(BaseCommand):
    help = "Show what the gateway would answer to a request, without sending traffic."

    def add_arguments(self, parser):
        parser.add_argument("method", help="GET, HEAD, POST ...")
        parser.add_argument("target", help="path and query, e.g. /v2/app/manifests/1.0")
        parser.add_argument("--host", required=True, help="the domain the request is for")
        parser.add_argument(
            "-H", "--header", action="append", default=[], help="'Name: value', repeatable"
        )

    def handle(self, *args, **options):
        headers = [self._header(h) for h in options["header"]]
        report = resolve_request(options["host"], options["method"], options["target"], headers)
        if report is None:
            raise CommandError(
                f"{options['host'].lower()} is not a verified domain of any organisation"
            )
        self.stdout.write(json.dumps(report, indent=2, default=str))

    def _header(self, text: str) -> tuple[str, str]:
        name, sep, value = text.partition(":")
        if not sep:
            raise CommandError(f"header {text!r} must look like 'Name: value'")
        return name, value
