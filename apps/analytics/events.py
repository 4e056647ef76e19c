"""The download event: the one contract between the gateway, which writes
events (apps/gateway/recording.py), and analytics, which reads and stores
them (consumer.py, ingest.py).

An event is what GATEWAY-DECISIONS §8 lists, as a JSON object. On the Redis
stream `events`, an entry holds up to EVENTS_PER_ENTRY events as one JSON
array under the field `events`, so a busy gateway costs Redis one entry per
batch rather than one per download.
"""

from __future__ import annotations

import json
import logging
from typing import Any, TypedDict

import orjson
import redis

log = logging.getLogger(__name__)

EVENTS_STREAM = "events"
EVENTS_PER_ENTRY = 200

Messages = list[tuple[bytes, dict[bytes, bytes] | None]]


class Capture(TypedDict, total=False):
    kind: str  # "docker", "python", "npm", "file", "telemetry", "pixel"
    # and what the rule captured: image, reference, version, file name, variables...


class Event(TypedDict):
    """A download event as the gateway writes it (stored as models.DownloadEvent)."""

    id: str  # UUIDv7: unique and sortable by time
    timestamp: str  # ISO 8601, UTC, microseconds
    domain: str
    organisation: int
    rule_id: int | None
    rule_type: str
    package: str
    method: str
    path: str  # the request target as sent
    status: int
    target: str  # redirect or proxy target
    capture: Capture
    user_agent: str
    referer: str
    client_ip: str  # kept only until enrichment
    dnt: bool
    gpc: bool


def stream_commands(events: list[Event]) -> list[tuple]:
    """The XADD commands that append `events` to the stream."""
    return [
        (
            "XADD",
            EVENTS_STREAM,
            "*",
            "events",
            dump_events(events[start : start + EVENTS_PER_ENTRY]),
        )
        for start in range(0, len(events), EVENTS_PER_ENTRY)
    ]


def dump_events(events: list[Event]) -> bytes:
    """orjson, or the standard library for text orjson refuses (a lone
    surrogate from a percent-decoded path, written escaped)."""
    try:
        return orjson.dumps(events)
    except TypeError:
        return json.dumps(events, separators=(",", ":")).encode()


def parse(messages: Messages) -> list[Event]:
    """The events of a batch of stream entries (an entry holds a JSON array
    of events; entries written before that held one event under `event`).
    Entries deleted meanwhile or unreadable are logged and skipped (they are
    acknowledged with the batch)."""
    events = []
    for message_id, fields in messages:
        try:
            if b"events" in fields:
                events.extend(load_json(fields[b"events"]))
            else:
                events.append(load_json(fields[b"event"]))
        except (TypeError, KeyError, ValueError):
            log.error("dropping unreadable stream entry %s", message_id)
    return events


def load_json(text: bytes) -> Any:
    """orjson (several times faster); the standard library for what orjson
    refuses but `json.dumps` writes, such as an escaped lone surrogate."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # a ValueError
        return json.loads(text)


def read_stream_events(client: redis.Redis) -> list[Event]:
    """Every event in the stream, ingested or not, oldest first (reads the
    whole stream: for the benchmarks and tests, not for a hot path)."""
    events, start = [], "-"
    while entries := client.xrange(EVENTS_STREAM, start, "+", count=1000):
        events += parse(entries)
        start = "(" + entries[-1][0].decode()
    return events
