"""The routing table: each domain's compiled rules, published on every change.

Flow 1 of ARCHITECTURE.md. A committed change to a domain's rules *publishes*
the domain; every serving process keeps an in-process map host -> compiled
rules (no I/O on a hit) and a watcher thread that applies announced changes.

- With Redis, an entry is a JSON document under `routing:domain:<host>` and a
  change is announced on the stream `routing:changes` (a stream, unlike
  pub/sub, loses nothing while a watcher reconnects). `routing:published`
  says the entries are complete; when Redis has lost them (a restart without
  persistence) entries are built from the database and the watcher
  republishes everything. Redis unreachable: cached entries keep serving, a
  miss is built from the database.
- Embedded mode has no Redis: entries are built from the database and changes
  are announced in the RoutingChange table, which the watcher polls.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import timedelta

import redis
from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from apps.packages.models import Domain, Rule

from .engine.backends import Draw, with_backends
from .engine.compile import DomainRoutes, compile_domain_rules
from .engine.http import Request
from .engine.manifest import parse_rule
from .engine.npm import NpmRule
from .engine.outcome import Fetch, Outcome, Proxy, Redirect
from .engine.python_index import PythonIndexRule
from .engine.rules import FieldError
from .engine.rules import Rule as EngineRule
from .metrics import worker_name
from .models import RoutingChange
from .recording import event_templates

log = logging.getLogger(__name__)

DOMAIN_KEY = "routing:domain:"
CHANGES_STREAM = "routing:changes"
VERSION_KEY = "routing:version"
PUBLISHED_KEY = "routing:published"
APPLIED_KEY = "routing:applied:"
APPLIED_TTL = 3600
REPUBLISH_LOCK = "routing:republish-lock"
EVERY_DOMAIN = "*"
CHANGES_MAXLEN = 100_000
MAX_CACHED_HOSTS = 1_000_000
MAX_DECISIONS = 4096  # remembered answers per domain and process
# Headers that differ per client or per hop and that no rule reads (the host,
# scheme and client address a proxy forwards are already in the request), left
# out of the key of a remembered decision so that clients behind a load
# balancer share it. test_remembered_decisions.py holds the rules to that.
PER_CLIENT_HEADERS = frozenset(
    {
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-forwarded-port",
        "x-real-ip",
        "forwarded",
        "via",
        "connection",
        "keep-alive",
        "x-request-id",
        "traceparent",
        "tracestate",
        "cf-connecting-ip",
        "cf-ray",
        "true-client-ip",
    }
)
CHANGE_RETENTION = timedelta(hours=1)  # embedded mode: watchers poll every 0.2 s


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2)


@dataclass(frozen=True)
class Decision:
    """An answer and the shared part of its events (recording.event_templates);
    no templates for answers decided later (a proxy, a fetched document)."""

    outcome: Outcome
    events: tuple[dict, ...] = ()


@dataclass(frozen=True)
class Routes:
    """A domain's compiled rules and the organisation that owns the domain.

    Downloads repeat: a release's files are fetched by every CI job that
    needs them. So a decision that depends only on the request (a redirect
    or a response, for a GET or HEAD without a body) is remembered per
    distinct request — method, target, scheme and every header — and the
    next identical request costs a dictionary lookup instead of a rule
    match. The memory goes with this compiled entry, so a routing change
    starts afresh; domains whose rules draw a random backend (canary
    weights) never remember.
    """

    organisation: int
    routes: DomainRoutes
    remember: bool = True
    https_only: bool = False  # plain HTTP gets a 308 to HTTPS, not the rules' answer
    _decisions: dict = field(default_factory=dict, compare=False, repr=False)

    def resolve(self, request: Request) -> Outcome:
        return self.routes.resolve(request)

    def decide(self, request: Request) -> Decision:
        key = self._key(request)
        decision = self._decisions.get(key) if key is not None else None
        if decision is not None:
            return decision
        if self.https_only and request.scheme != "https":
            decision = Decision(Outcome(Redirect(https_url(request), 308)))  # not an event
        else:
            outcome = self.routes.resolve(request)
            if isinstance(outcome.response, Fetch | Proxy):
                return Decision(outcome)
            status = outcome.response.status
            templates = event_templates(request, self.organisation, outcome, status)
            decision = Decision(outcome, templates)
        if key is not None:
            if len(self._decisions) >= MAX_DECISIONS:
                self._decisions.clear()
            self._decisions[key] = decision
        return decision

    def _key(self, request: Request) -> tuple | None:
        if not self.remember or request.method not in ("GET", "HEAD"):
            return None
        if request.header("content-length") not in (None, "0"):
            return None  # a body can change the answer (file rules read events from it)
        headers = tuple(item for item in request.headers if item[0] not in PER_CLIENT_HEADERS)
        return (request.method, request.raw_path, request.raw_query, request.scheme, headers)


def https_url(request: Request) -> str:
    """The request's URL on HTTPS, at the edge's public port (PUBLIC_HTTPS_PORT)."""
    return f"https://{public_authority(request.host)}{request.raw_target}"


def public_authority(host: str) -> str:
    """`host` as clients reach it on the TLS edge: with PUBLIC_HTTPS_PORT unless 443."""
    port = settings.PUBLIC_HTTPS_PORT
    return host if port == 443 else f"{host}:{port}"


def build_entry(hostname: str) -> dict | None:
    """The routing entry of `hostname` from the database; None when it is not
    a verified domain (the gateway then answers its 404s)."""
    domain = Domain.objects.filter(hostname=hostname, verified=True).first()
    if domain is None:
        return None
    rules = (
        Rule.objects.filter(domain=domain)
        .select_related("domain", "package", "primary_health")
        .prefetch_related("backends")
    )
    return {
        "organisation": domain.organisation_id,
        "https_only": domain.https_only,
        "rules": [_rule_item(rule) for rule in rules],
    }


def _rule_item(rule: Rule) -> dict:
    """A rule of the entry; one with alternates also carries them and the
    health of every backend (a health flip republishes the entry)."""
    item = {"ref": str(rule.id), "rule": rule.manifest_form()}
    backends = list(rule.backends.all())
    if backends:
        primary = getattr(rule, "primary_health", None)
        item["primary_healthy"] = primary is None or primary.healthy
        item["backends"] = [
            {"id": b.id, "config": b.config, "weight": b.weight, "healthy": b.healthy}
            for b in backends
        ]
    return item


def compile_entry(
    hostname: str, entry: dict | None, version: int, draw: Draw | None = None
) -> Routes | None:
    """Compile a routing entry; `draw` is the random source of canary choices
    (tests inject a seeded one)."""
    if entry is None:
        return None
    rules = [_compile_rule(item, draw) for item in entry["rules"]]
    weighted = any(
        backend.get("weight") for item in entry["rules"] for backend in item.get("backends", ())
    )
    return Routes(
        entry["organisation"],
        compile_domain_rules(hostname, rules, version),
        remember=not weighted,
        https_only=entry.get("https_only", False),
    )


def _compile_rule(item: dict, draw: Draw | None) -> EngineRule:
    rule = with_deployment_defaults(replace(parse_rule(item["rule"]), ref=item["ref"]))
    if not item.get("backends"):
        return rule
    try:
        return with_backends(
            rule,
            item["rule"],
            item["backends"],
            primary_healthy=item.get("primary_healthy", True),
            draw=draw,
            prepare=with_deployment_defaults,
        )
    except (FieldError, KeyError, TypeError, ValueError):
        log.exception("ignoring the alternates of rule %s: they no longer apply", item["ref"])
        return rule


def with_deployment_defaults(rule: EngineRule) -> EngineRule:
    """Fill what a rule leaves to the deployment (its default backends)."""
    if isinstance(rule, NpmRule):
        return replace(rule, default_registry=settings.NPM_DEFAULT_REGISTRY_URL)
    if isinstance(rule, PythonIndexRule):
        return replace(rule, default_index_url=settings.PYTHON_DEFAULT_INDEX_URL)
    return rule


# --- Publishing ----------------------------------------------------------------------------

_pending = threading.local()


def schedule_publish(hostname: str) -> None:
    """Publish `hostname` once the current transaction commits, once per
    transaction however many of its rows changed (at once outside one)."""
    if _pending_flush_registered():
        _pending.hosts.add(hostname)
        return
    hosts = {hostname}

    def flush():
        _pending.hosts = _pending.flush = None
        publish(sorted(hosts))

    _pending.hosts, _pending.flush = hosts, flush
    transaction.on_commit(flush)


def _pending_flush_registered() -> bool:
    """Whether this transaction still holds our flush (a rollback drops it)."""
    flush = getattr(_pending, "flush", None)
    callbacks = transaction.get_connection().run_on_commit
    return flush is not None and any(entry[1] is flush for entry in callbacks)


def publish(hostnames: list[str]) -> None:
    if settings.EMBEDDED:
        RoutingChange.objects.bulk_create(RoutingChange(hostname=h) for h in hostnames)
        RoutingChange.objects.filter(created__lt=timezone.now() - CHANGE_RETENTION).delete()
        return
    try:
        _publish_to_redis(redis_client(), hostnames)
    except redis.RedisError:
        log.exception("could not publish routing for %s; run publish_routing", hostnames)


def _publish_to_redis(client: redis.Redis, hostnames: list[str]) -> None:
    for hostname in hostnames:
        entry = build_entry(hostname)
        version = client.incr(VERSION_KEY)
        pipe = client.pipeline(transaction=True)
        if entry is None:
            pipe.delete(DOMAIN_KEY + hostname)
        else:
            pipe.set(DOMAIN_KEY + hostname, json.dumps({**entry, "version": version}))
        pipe.xadd(
            CHANGES_STREAM,
            {"host": hostname, "version": version},
            maxlen=CHANGES_MAXLEN,
            approximate=True,
        )
        pipe.execute()


def publish_all() -> int:
    """Write every verified domain's entry to Redis and mark the set complete."""
    client = redis_client()
    served = list(Domain.objects.filter(verified=True).values_list("hostname", flat=True))
    stale = {key.decode()[len(DOMAIN_KEY) :] for key in client.scan_iter(match=DOMAIN_KEY + "*")}
    _publish_to_redis(client, sorted(set(served) | stale))
    client.set(PUBLISHED_KEY, "1")
    version = client.incr(VERSION_KEY)
    client.xadd(CHANGES_STREAM, {"host": EVERY_DOMAIN, "version": version})
    return len(served)


# --- Where entries come from ---------------------------------------------------------------


class DatabaseSource:
    """Embedded mode: entries from the database, changes from RoutingChange."""

    poll_interval = 0.2

    def current_version(self) -> int:
        return self.start_cursor()

    def start_cursor(self) -> int:
        last = RoutingChange.objects.order_by("-id").values_list("id", flat=True).first()
        return last or 0

    def load(self, hostname: str) -> tuple[int, Routes | None]:
        version = self.start_cursor()
        return version, compile_entry(hostname, build_entry(hostname), version)

    def report_applied(self, version: int) -> None:
        pass  # one process: nothing to compare with

    def wait_for_changes(self, cursor: int) -> tuple[int, list[tuple[str, int]]]:
        time.sleep(self.poll_interval)
        changes = list(
            RoutingChange.objects.filter(id__gt=cursor).order_by("id").values_list("hostname", "id")
        )
        return (changes[-1][1] if changes else cursor), changes


class RedisSource:
    """Entries from Redis, the database when Redis cannot answer for them."""

    block_ms = 1000

    def __init__(self):
        self.client = redis_client()
        self.watch_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=self.block_ms / 1000 + 5, socket_connect_timeout=2
        )

    def start_cursor(self) -> str:
        last = self.watch_client.xrevrange(CHANGES_STREAM, count=1)
        return last[0][0].decode() if last else "0-0"

    def current_version(self) -> int:
        return current_version(self.client)

    def load(self, hostname: str) -> tuple[int, Routes | None]:
        try:
            published, raw = self.client.mget(PUBLISHED_KEY, DOMAIN_KEY + hostname)
        except redis.RedisError:
            log.warning("redis unavailable, building %s from the database", hostname)
            published, raw = None, None
        if published is None:
            return 0, compile_entry(hostname, build_entry(hostname), 0)
        if raw is None:
            return 0, None
        entry = json.loads(raw)
        return entry["version"], compile_entry(hostname, entry, entry["version"])

    def wait_for_changes(self, cursor: str) -> tuple[str, list[tuple[str, int]]]:
        first = self.watch_client.xrange(CHANGES_STREAM, count=1)
        if first and _stream_id(first[0][0].decode()) > _stream_id(cursor) and cursor != "0-0":
            # Entries after our cursor were trimmed away: we cannot tell what changed.
            return first[0][0].decode(), [(EVERY_DOMAIN, 0)]
        reply = self.watch_client.xread({CHANGES_STREAM: cursor}, block=self.block_ms, count=1000)
        changes = []
        for _stream, entries in reply:
            for entry_id, fields in entries:
                cursor = entry_id.decode()
                changes.append((fields[b"host"].decode(), int(fields[b"version"])))
        return cursor, changes

    def report_applied(self, version: int) -> None:
        """Say which routing version this worker serves (operators and the
        benchmark read it to see a change reach every worker)."""
        self.client.set(APPLIED_KEY + worker_name(), version, ex=APPLIED_TTL)

    def ensure_published(self) -> None:
        """Republish everything when Redis lost the entries (one process does it)."""
        if self.client.exists(PUBLISHED_KEY):
            return
        if self.client.set(REPUBLISH_LOCK, "1", nx=True, ex=60):
            log.info("routing entries missing from redis; republishing %d domains", publish_all())


def current_version(client: redis.Redis) -> int:
    return int(client.get(VERSION_KEY) or 0)


def applied_versions(client: redis.Redis) -> dict[str, int]:
    """worker -> the last routing version it applied."""
    keys = list(client.scan_iter(match=APPLIED_KEY + "*"))
    values = client.mget(keys) if keys else []
    return {
        key.decode()[len(APPLIED_KEY) :]: int(value)
        for key, value in zip(keys, values, strict=True)
        if value is not None
    }


def _stream_id(value: str) -> tuple[int, int]:
    millis, _, sequence = value.partition("-")
    return int(millis), int(sequence or 0)


# --- The in-process table ------------------------------------------------------------------


class RoutingTable:
    """host -> compiled routes, refreshed by a watcher thread.

    Each cached value carries the version it was built from; a value only
    replaces one at least as new, so a slow load can never overwrite the
    newer entry a change just installed.
    """

    def __init__(self, source):
        self.source = source
        self._entries: dict[str, tuple[int, Routes | None]] = {}
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._stopping = threading.Event()

    def cached(self, hostname: str) -> tuple[int, Routes | None] | None:
        """(version, routes) when `hostname` is loaded (None for a domain known
        not to exist), else None: never asks the source."""
        return self._entries.get(hostname)

    def get(self, hostname: str) -> Routes | None:
        cached = self._entries.get(hostname)
        if cached is not None:
            return cached[1]
        try:
            version, routes = self.source.load(hostname)
        finally:
            close_old_connections()  # a miss may have asked the database (a hit never does)
        self._store(hostname, version, routes)
        cached = self._entries.get(hostname)
        return routes if cached is None else cached[1]

    def _store(self, hostname: str, version: int, routes: Routes | None) -> None:
        with self._lock:
            if routes is None and len(self._entries) >= MAX_CACHED_HOSTS:
                return  # random Host headers must not grow the table without bound
            current = self._entries.get(hostname)
            if current is None or version >= current[0]:
                self._entries[hostname] = (version, routes)

    def apply_change(self, hostname: str, version: int) -> None:
        if hostname == EVERY_DOMAIN:
            with self._lock:
                self._entries.clear()
            return
        loaded_version, routes = self.source.load(hostname)
        self._store(hostname, max(version, loaded_version), routes)

    def start_watching(self) -> None:
        if self._watcher is None:
            self._watcher = threading.Thread(
                target=self._watch, name="routing-watcher", daemon=True
            )
            self._watcher.start()

    def stop_watching(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=10)

    def _watch(self) -> None:
        cursor = None
        while not self._stopping.is_set():
            try:
                if cursor is None:
                    cursor = self.source.start_cursor()
                    self.source.report_applied(self.source.current_version())
                if isinstance(self.source, RedisSource):
                    self.source.ensure_published()
                cursor, changes = self.source.wait_for_changes(cursor)
                for hostname, version in changes:
                    self.apply_change(hostname, version)
                if changes:
                    self.source.report_applied(max(version for _host, version in changes))
            except Exception:
                log.exception("routing watcher failed; retrying")
                with self._lock:  # whatever we missed, the next loads will see
                    self._entries = {h: v for h, v in self._entries.items() if v[1] is not None}
                self._stopping.wait(1)
            finally:
                close_old_connections()


def make_source():
    return DatabaseSource() if settings.EMBEDDED else RedisSource()
