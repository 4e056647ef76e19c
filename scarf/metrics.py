"""Prometheus metrics for operators (`GET /metrics` on a dashboard host).

Read from where each signal lives, at scrape time: the gateway workers'
response counters and routing versions (published to Redis every second,
apps/gateway/metrics.py and routing.py), the event stream and its consumer
group, this machine's spool, and the count of ingested events. Served to
a bearer of METRICS_TOKEN, or without one only to loopback clients.
"""

from __future__ import annotations

import hmac
import time

import redis
from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden

from apps.analytics.consumer import GROUP, INGESTED_KEY
from apps.analytics.events import EVENTS_STREAM
from apps.gateway.metrics import gateway_totals
from apps.gateway.recording import events_redis, spool
from apps.gateway.routing import CHANGES_STREAM, applied_versions, current_version, redis_client

LOOPBACK = ("127.0.0.1", "::1")


def allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if not token:  # a proxy on this machine would look local: proxied requests need the token
        forwarded = "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META
        return request.META.get("REMOTE_ADDR") in LOOPBACK and not forwarded
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return hmac.compare_digest(given.encode(), token.encode())


def metrics(request):
    if not allowed(request):
        return HttpResponseForbidden("metrics need METRICS_TOKEN\n", content_type="text/plain")
    lines = [*spool_lines()]
    if settings.EMBEDDED:
        from scarf.wsgi import gateway_application

        lines += response_lines(gateway_application.counters.totals())
    else:
        client = redis_client()
        try:
            lines += response_lines(gateway_totals(client))
            lines += routing_lines(client)
            lines += stream_lines(events_redis())
        except redis.RedisError:
            lines += ["# redis unreachable", "scarf_redis_up 0"]
        else:
            lines.append("scarf_redis_up 1")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")


def response_lines(totals: dict[tuple[int, str], int]) -> list[str]:
    lines = [
        "# HELP scarf_gateway_responses_total Gateway responses by status and rule type.",
        "# TYPE scarf_gateway_responses_total counter",
    ]
    for (status, rule_type), count in sorted(totals.items()):
        labels = f'status="{status}",rule_type="{rule_type or "none"}"'
        lines.append(f"scarf_gateway_responses_total{{{labels}}} {count}")
    return lines


def routing_lines(client: redis.Redis) -> list[str]:
    version = current_version(client)
    last = client.xrevrange(CHANGES_STREAM, count=1)
    changed = int(last[0][0].decode().split("-")[0]) / 1000 if last else time.time()
    lines = [
        "# HELP scarf_routing_version Latest published routing version.",
        "# TYPE scarf_routing_version gauge",
        f"scarf_routing_version {version}",
        "# HELP scarf_routing_age_seconds Seconds since the latest routing change.",
        "# TYPE scarf_routing_age_seconds gauge",
        f"scarf_routing_age_seconds {max(0.0, time.time() - changed):.3f}",
        "# HELP scarf_routing_worker_behind Versions a gateway worker has yet to apply.",
        "# TYPE scarf_routing_worker_behind gauge",
    ]
    for worker, applied in sorted(applied_versions(client).items()):
        lines.append(
            f'scarf_routing_worker_behind{{worker="{worker}"}} {max(0, version - applied)}'
        )
    return lines


def stream_lines(client: redis.Redis) -> list[str]:
    group = (
        next(
            (g for g in client.xinfo_groups(EVENTS_STREAM) if g["name"] in (GROUP, GROUP.encode())),
            {},
        )
        if client.exists(EVENTS_STREAM)
        else {}
    )
    return [
        "# HELP scarf_events_stream_entries Entries in the event stream (each holds 1-200 events).",
        "# TYPE scarf_events_stream_entries gauge",
        f"scarf_events_stream_entries {client.xlen(EVENTS_STREAM)}",
        "# HELP scarf_events_consumer_lag Stream entries not yet read by the ingestion group.",
        "# TYPE scarf_events_consumer_lag gauge",
        f"scarf_events_consumer_lag {group.get('lag') or 0}",
        "# HELP scarf_events_consumer_pending Entries read but not yet acknowledged.",
        "# TYPE scarf_events_consumer_pending gauge",
        f"scarf_events_consumer_pending {group.get('pending', 0)}",
        "# HELP scarf_events_ingested_total Events stored by ingestion.",
        "# TYPE scarf_events_ingested_total counter",
        f"scarf_events_ingested_total {int(client.get(INGESTED_KEY) or 0)}",
    ]


def spool_lines() -> list[str]:
    return [
        "# HELP scarf_spool_bytes Events spooled on this machine while Redis was unreachable.",
        "# TYPE scarf_spool_bytes gauge",
        f"scarf_spool_bytes {spool().size()}",
    ]
