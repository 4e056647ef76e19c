import json

from django.core.management.base import BaseCommand, CommandError

from apps.gateway.engine.http import Request
from apps.gateway.engine.outcome import Proxy, Redirect
from apps.gateway.routing import build_entry, compile_entry


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
        host = options["host"].lower()
        routes = compile_entry(host, build_entry(host), 0)
        if routes is None:
            raise CommandError(f"{host} is not a verified domain of any organisation")
        path, mark, query = options["target"].partition("?")
        request = Request(
            method=options["method"].upper(),
            host=host,
            raw_path=path,
            raw_query=query if mark else None,
            headers=tuple(self._header(h) for h in options["header"]),
        )
        outcome = routes.resolve(request)
        response = outcome.response
        report = {
            "rule": {"type": outcome.rule_type, "id": outcome.rule_ref or None},
            "status": "proxied" if isinstance(response, Proxy) else response.status,
        }
        if isinstance(response, Redirect):
            report["location"] = response.location
        elif isinstance(response, Proxy):
            report["upstream"] = response.upstream
        else:
            report["headers"] = dict(response.headers)
            report["body"] = response.body.decode("utf-8", errors="replace")
        report["captures"] = [
            {"kind": c.kind, "package": c.package, **c.fields} for c in outcome.captures
        ]
        self.stdout.write(json.dumps(report, indent=2, default=str))

    def _header(self, text: str) -> tuple[str, str]:
        name, sep, value = text.partition(":")
        if not sep:
            raise CommandError(f"header {text!r} must look like 'Name: value'")
        return name.strip().lower(), value.strip()
