"""Ingestion benchmark: events/s from the Redis stream into PostgreSQL, rollups included.

Not a test. Fills the stream with realistic gateway events (a mix of package
clients, platforms, CI systems, bots, IPs, packages and versions), then runs
the same consumer the Celery task runs, in `--consumers` processes of the
consumer group (default: one per core, as one Celery worker process per core
would), until the stream is drained, and prints the rate. Uses its own
database and Redis database (created and migrated on first use) so it never
touches real data:

    .venv/bin/python bench/ingest.py --events 200000

Client addresses (`--addresses`): `realistic` (the default) draws them from
a fixed list of 1,400 /24 networks (484 AS organisations and 80 countries
with scripts/geo.sh's data), skewed as issue #17's synthetic data is (the
position in the list is 1,400 × random()³, so a few networks, as a few
clouds and CI providers do, take most events: the 10 largest AS
organisations 37 %, the 100 largest 69 %), plus 5 % from anywhere;
`uniform` spreads every address over the whole IPv4 space, the worst case
for the rollups (with networks on, 49,511 rollup rows for 200,000 events
against 26,833 realistic and 10,673 without networks).

DATABASE_URL (default postgres://postgres@127.0.0.1:5432/scarf_bench) and
REDIS_URL (default redis://127.0.0.1:6379/15) choose the servers; geo lookups
are those of the settings (ANALYTICS_COUNTRY_MMDB, ANALYTICS_ASN_RANGES or
ANALYTICS_ASN_MMDB; by default what scripts/geo.sh installed in VAR_DIR/geo).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/scarf_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("VAR_DIR", str(BASE_DIR / "var" / "bench"))
os.environ.setdefault("SECRET_KEY", "bench-only-" + os.urandom(16).hex())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scarf.settings")

USER_AGENTS = [
    'pip/24.0 {"ci":true,"cpu":"x86_64","installer":{"name":"pip","version":"24.0"},'
    '"python":"3.12.1","system":{"name":"Linux","release":"6.5.0"}}',
    'pip/23.3.1 {"cpu":"arm64","installer":{"name":"pip","version":"23.3.1"},'
    '"python":"3.11.7","system":{"name":"Darwin","release":"23.2.0"}}',
    'uv/0.4.18 {"installer":{"name":"uv","version":"0.4.18"},"cpu":"x86_64",'
    '"system":{"name":"Linux","release":"6.8.0"},"ci":null}',
    "npm/10.2.4 node/v20.11.0 linux x64 workspaces/false ci/github-actions",
    "npm/9.8.1 node/v18.19.0 darwin arm64 workspaces/false",
    "pnpm/8.15.0 npm/? node/v20.11.0 linux x64",
    "yarn/1.22.19 npm/? node/v18.19.0 win32 x64",
    "docker/27.0.3 go/go1.21.11 git-commit/662f78c kernel/6.5.0 os/linux arch/amd64",
    "containerd/v1.7.13",
    "kubelet/v1.29.0 (linux/arm64) kubernetes/3f7a50f",
    "curl/8.5.0",
    "Wget/1.21.3",
    "Debian APT-HTTP/1.3 (2.6.1)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Googlebot/2.1 (+http://www.google.com/bot.html)",
    "Artifactory/7.77.5 77705900",
]
PACKAGES = [f"package-{n}" for n in range(20)]


def any_network(rng: random.Random) -> str:
    """A /24 network anywhere in IPv4 (its first three bytes)."""
    return f"{rng.randrange(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}"


def uniform_address(rng: random.Random) -> str:
    return f"{any_network(rng)}.7"


_networks = random.Random(0)
NETWORKS = [any_network(_networks) for _ in range(1_400)]
ANYWHERE = 0.05


def realistic_address(rng: random.Random) -> str:
    if rng.random() < ANYWHERE:
        return uniform_address(rng)
    network = NETWORKS[int(len(NETWORKS) * rng.random() ** 3)]
    return f"{network}.{rng.randrange(1, 255)}"


ADDRESSES = {"realistic": realistic_address, "uniform": uniform_address}


def make_event(rng: random.Random, now: datetime, address=realistic_address) -> dict:
    """One event as apps/gateway/recording.py builds it."""
    from apps.gateway.recording import uuid7

    kind = rng.choice(["docker", "python", "npm", "file"])
    # Popularity is skewed: a few packages and recent versions take most pulls.
    version = f"1.{int(rng.paretovariate(1.2)) % 40}.{int(rng.paretovariate(2)) % 5}"
    capture = {
        "docker": {"kind": "docker", "image": ["acme", "app"], "reference": version, "pull": True},
        "python": {"kind": "python", "version": version, "file_name": f"acme-{version}.tar.gz"},
        "npm": {"kind": "npm", "name": "acme", "version": version, "download": True},
        "file": {"kind": "file", "variables": {"version": version, "file": "cli.tgz"}},
    }[kind]
    return {
        "id": uuid7(),
        "timestamp": (now - timedelta(seconds=rng.randrange(3600))).isoformat(),
        "domain": f"get.org{rng.randrange(3)}.test",
        "organisation": 1 + rng.randrange(3),
        "rule_id": rng.randrange(100),
        "rule_type": {"docker": "docker-v1", "python": "python-v1", "npm": "npm-v1"}.get(
            kind, "file-v1"
        ),
        "package": PACKAGES[int(rng.paretovariate(1.0)) % len(PACKAGES)],
        "method": rng.choice(["GET"] * 9 + ["HEAD"]),
        "path": f"/{kind}/{version}",
        "status": 307,
        "target": f"https://backend.example/{kind}/{version}",
        "capture": capture,
        "user_agent": rng.choice(USER_AGENTS),
        "referer": rng.choice(["", "", "https://docs.acme.example/install"]),
        "client_ip": address(rng),
        "dnt": rng.random() < 0.05,
        "gpc": False,
    }


def prepare_database(empty: bool = True) -> None:
    """Create (once) and migrate the benchmark's database; `empty` its analytics tables."""
    import psycopg
    from django.core.management import call_command
    from django.db import connection

    settings_dict = connection.settings_dict
    with psycopg.connect(
        host=settings_dict["HOST"],
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [settings_dict["NAME"]]
        ).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{settings_dict["NAME"]}"')
    call_command("migrate", verbosity=0)
    if not empty:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE analytics_downloadevent, analytics_rollup, analytics_sourceday, "
            "analytics_daysummary, analytics_summarisedday"
        )


def fill_stream(client, count: int, seed: int, address=realistic_address) -> None:
    """Written as a busy gateway writes them: batches of 1,000 events
    (recording.RedisStreamSink, events.EVENTS_PER_ENTRY events per stream entry)."""
    from apps.analytics.events import EVENTS_STREAM
    from apps.gateway.recording import RedisStreamSink

    client.delete(EVENTS_STREAM)
    sink = RedisStreamSink(client)
    rng, now = random.Random(seed), datetime.now(UTC)
    for start in range(0, count, 1_000):
        sink([make_event(rng, now, address) for _ in range(min(1_000, count - start))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument(
        "--consumers",
        type=int,
        default=os.cpu_count() or 1,
        help="consumer processes in the group, as Celery workers would run (default: one per core)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--addresses",
        choices=ADDRESSES,
        default="realistic",
        help="client addresses: from a skewed set of networks, or anywhere in IPv4 (worst case)",
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from apps.analytics.consumer import StreamConsumer
    from apps.analytics.models import DownloadEvent, Rollup, SourceDay
    from apps.gateway.recording import events_redis

    prepare_database()
    client = events_redis()
    print(f"filling the stream with {args.events} events ...", flush=True)
    fill_stream(client, args.events, args.seed, ADDRESSES[args.addresses])
    StreamConsumer(client, "bench").ensure_group()
    batch_size = args.batch_size or settings.ANALYTICS_BATCH_SIZE

    # One process per consumer, each with its own connections (none shared across fork).
    connection.close()
    context = multiprocessing.get_context("fork")
    ready, results = context.Barrier(args.consumers + 1), context.Queue()
    workers = [
        context.Process(target=consume, args=(f"bench-{n}", batch_size, ready, results))
        for n in range(args.consumers)
    ]
    for worker in workers:
        worker.start()
    ready.wait()
    started = time.perf_counter()
    reports = [results.get() for _ in workers]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    stored = sum(report[0] for report in reports)
    python_cpu = sum(report[1] for report in reports)
    database_cpu = sum(report[2] for report in reports)

    counted = sum(
        Rollup.objects.filter(period="day", dimension="total").values_list("events", flat=True)
    )
    assert stored == DownloadEvent.objects.count() == counted == args.events, (stored, counted)
    print(
        f"ingested {stored} events in {elapsed:.2f}s: {stored / elapsed:,.0f} events/s "
        f"({args.consumers} consumer process(es), {batch_size} stream entries per batch, "
        f"{args.addresses} addresses, rollup rows {Rollup.objects.count()}, "
        f"source days {SourceDay.objects.count()}; {geo()})\n"
        f"CPU: consumers {python_cpu:.2f}s, PostgreSQL backends {database_cpu:.2f}s "
        f"({stored / (python_cpu + database_cpu):,.0f} events per CPU-second)"
    )


def consume(name: str, batch_size: int, ready, results) -> None:
    """One consumer of the group, until the stream is drained; reports
    (events stored, its CPU seconds, its PostgreSQL backend's CPU seconds)."""
    from apps.analytics.consumer import StreamConsumer
    from apps.analytics.enrichment import asn_org, country
    from apps.gateway.recording import events_redis

    consumer = StreamConsumer(events_redis(), name, batch_size=batch_size)
    backend = database_backend_pid()
    # The geo data a lookup opens (the network ranges take a second or two to
    # read) is open before the clock starts, as a running worker has it.
    country("192.0.2.1"), asn_org("192.0.2.1")
    ready.wait()
    cpu_before = process_seconds(os.getpid()), process_seconds(backend)
    stored = consumer.run(seconds=3600)
    results.put(
        (
            stored,
            process_seconds(os.getpid()) - cpu_before[0],
            process_seconds(backend) - cpu_before[1],
        )
    )


def geo() -> str:
    """Which geo lookups ingestion makes."""
    from apps.analytics.enrichment import geo_databases

    states = geo_databases()
    return f"countries {states['country']}, networks {states['asn']}"


def database_backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def process_seconds(pid: int) -> float:
    """User + system CPU time of a local process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
