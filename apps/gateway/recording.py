"""Download events: built from a gateway outcome, handed to one recording function.

The event fields are GATEWAY-DECISIONS §8. With Redis each event is appended
to the stream `events` (the analytics issue adds group commit, the spool and
ingestion); embedded mode writes rows straight to the database.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from .engine.http import Request
from .engine.outcome import Capture, Outcome, Redirect

EVENTS_STREAM = "events"


def uuid7() -> str:
    """A time-ordered UUID (version 7): sortable, unique without coordination."""
    millis = time.time_ns() // 1_000_000
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return str(uuid.UUID(int=value))


def build_events(
    request: Request, organisation: int, outcome: Outcome, status: int, target: str = ""
) -> list[dict[str, Any]]:
    """One event per capture of a claimed request; none for unclaimed ones."""
    if isinstance(outcome.response, Redirect):
        target = outcome.response.location
    now = datetime.now(UTC).isoformat()
    return [
        {
            "id": uuid7(),
            "timestamp": now,
            "domain": request.host,
            "organisation": organisation,
            "rule_id": int(outcome.rule_ref) if outcome.rule_ref.isdigit() else None,
            "rule_type": outcome.rule_type or "",
            "package": capture.package or "",
            "method": request.method,
            "path": request.raw_target,
            "status": status,
            "target": target,
            "capture": _capture_fields(capture),
            "user_agent": request.header("user-agent") or "",
            "referer": request.header("referer") or "",
            "client_ip": request.client_ip,
            "dnt": request.header("dnt") == "1",
            "gpc": request.header("sec-gpc") == "1",
        }
        for capture in outcome.captures
    ]


def _capture_fields(capture: Capture) -> dict[str, Any]:
    return {"kind": capture.kind, **capture.fields}


def record_download(events: list[dict[str, Any]], recorder=None) -> None:
    """Hand events to the configured recorder before the response is sent."""
    if events:
        (recorder or default_recorder()).record(events)


class DatabaseRecorder:
    def record(self, events: list[dict[str, Any]]) -> None:
        from apps.analytics.models import DownloadEvent

        rows = [
            DownloadEvent(
                organisation_id=event["organisation"],
                **{key: value for key, value in event.items() if key != "organisation"},
            )
            for event in events
        ]
        DownloadEvent.objects.bulk_create(rows, ignore_conflicts=True)


class RedisStreamRecorder:
    def __init__(self):
        from .routing import redis_client

        self.client = redis_client()

    def record(self, events: list[dict[str, Any]]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for event in events:
            pipe.xadd(EVENTS_STREAM, {"event": json.dumps(event, separators=(",", ":"))})
        pipe.execute()


_recorder = None


def default_recorder():
    global _recorder
    if _recorder is None:
        _recorder = DatabaseRecorder() if settings.EMBEDDED else RedisStreamRecorder()
    return _recorder
