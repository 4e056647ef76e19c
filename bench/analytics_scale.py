"""Analytics at scale: every analytics page and API answer, timed warm over
N events per organisation.

Not a test. Loads (once per database) two organisations of `--events` raw
events each over the last 90 days, generated in SQL with the distribution
of a popular project (20 packages, ~30 versions, 8 client families, 40
countries, 500 networks, 5 % CI, 2 % bots, 8 % HEAD requests), ends its
days now (today is a partial day, read live), derives the rollups and
source days with ingestion's own code and summarises the finished days
(`apps.analytics.rebuild`: the test suite checks it against real
ingestion), vacuums and analyses as autovacuum would, then times each view
through Django's test client and prints p50/p95 per view and the load
average, then the CSV export's first row and its memory over `--export-mib`:

    .venv/bin/python bench/analytics_scale.py --events 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scarf_bench_analytics_10m \\
        .venv/bin/python bench/analytics_scale.py --events 10000000

DATABASE_URL (default postgres://postgres@127.0.0.1:5432/scarf_bench_analytics)
names the database: loaded once, reused by later runs (`--reload` loads again).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/scarf_bench_analytics")
os.environ["REDIS_URL"] = ""  # embedded cache: only the views' own queries are timed
os.environ.setdefault("VAR_DIR", str(BASE_DIR / "var" / "bench"))
os.environ.setdefault("SECRET_KEY", "bench-only-" + os.urandom(16).hex())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scarf.settings")

DAYS = 90
PACKAGES = 20
ORGANISATIONS = ("Scale A", "Scale B")
CHUNK = 200_000
WORKERS = 4  # processes deriving the rollups and summaries
COUNTRIES = [
    *("US", "DE", "GB", "FR", "IN", "CN", "JP", "BR", "CA", "NL", "KR", "RU", "AU", "SE"),
    *("ES", "IT", "PL", "CH", "SG", "FI", "NO", "DK", "BE", "AT", "IE", "IL", "TW", "CZ"),
    *("UA", "ID", "VN", "TR", "MX", "AR", "ZA", "NZ", "PT", "HK", "RO", "HU"),
]
# Each event's draws, then the columns they give (all in SQL: fast, and
# the skew comes from powers of random(): a few values take most events).
DRAWS = f"""
SELECT i, %(first)s::timestamptz + (i::bigint * %(step)s::bigint) * interval '1 microsecond' AS ts,
    floor({PACKAGES} * random() ^ 2)::int AS pkg,
    '1.' || floor(30 * random() ^ 2.5)::int || '.0' AS version,
    (ARRAY['pip','docker','npm','uv','containerd','pnpm','yarn','curl'])
        [1 + floor(8 * random() ^ 1.5)::int] AS client,
    (20 + floor(5 * random() ^ 2)::int) || '.' || floor(3 * random())::int AS client_version,
    (ARRAY['linux','linux','linux','darwin','windows'])[1 + floor(5 * random())::int] AS os,
    CASE WHEN random() < 0.75 THEN 'x86_64' ELSE 'arm64' END AS arch,
    CASE WHEN random() < 0.05 THEN (ARRAY['github-actions','gitlab-ci','circleci','jenkins',
        'buildkite'])[1 + floor(5 * random() ^ 2)::int] ELSE '' END AS ci,
    random() < 0.02 AS bot,
    (ARRAY[{", ".join(f"'{code}'" for code in COUNTRIES)}])
        [1 + floor(40 * random() ^ 2.5)::int] AS country,
    'Network ' || floor(500 * random() ^ 3)::int || ' Ltd' AS asn_org,
    floor(%(sources)s * random() ^ 2)::int AS src,
    random() < 0.08 AS head,
    random() < 0.3 AS ref
FROM generate_series(%(low)s, %(high)s) AS i
"""  # noqa: S608 - constants
GENERATE_SQL = f"""
INSERT INTO analytics_downloadevent (id, timestamp, organisation_id, domain, rule_id, rule_type,
    package, method, path, status, target, capture, user_agent, referer, dnt, gpc, download,
    version, client, client_version, os, arch, ci, bot, country, asn_org, source_id)
SELECT lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '-7'
        || lpad(to_hex(%(organisation)s), 3, '0') || '-' || lpad(to_hex(i), 18, '0'),
    ts, %(organisation)s, 'get.org' || %(organisation)s || '.test', 1 + pkg, 'python-v1',
    'package-' || pkg, CASE WHEN head THEN 'HEAD' ELSE 'GET' END,
    '/simple/package-' || pkg || '/package_' || pkg || '-' || version || '.tar.gz', 307,
    'https://files.backend.example/packages/source/p/package-' || pkg || '/package_' || pkg
        || '-' || version || '.tar.gz',
    jsonb_build_object('kind', 'python', 'version', version,
        'file_name', 'package_' || pkg || '-' || version || '.tar.gz'),
    client || '/' || client_version || ' (' || os || '; ' || arch
        || ') CPython/3.12.1 OpenSSL/3.0.13 setuptools/69.0.3 rustc/1.75.0',
    CASE WHEN ref THEN 'https://docs.acme.example/install' ELSE '' END,
    false, false, NOT head, version, client, client_version, os, arch, ci, bot, country,
    asn_org, substr(md5(%(organisation)s || ':' || (ts AT TIME ZONE 'UTC')::date || ':' || src),
        1, 32)
FROM ({DRAWS}) AS draws
"""  # noqa: S608 - constants


def prepare(events: int, reload: bool, derived: bool = True):
    """The two organisations (generated once) and a member of both, with
    every derived table complete (resumed where a previous run stopped)."""
    from django.db import connection

    from apps.accounts.models import Organisation, User
    from apps.packages.models import Package
    from bench.ingest import prepare_database

    prepare_database(empty=False)
    loaded = None if reload else _loaded(events)
    if loaded is None:
        prepare_database()  # analytics tables emptied
        User.objects.filter(email="bench@example.com").delete()
        Organisation.objects.filter(name__in=ORGANISATIONS).delete()
        user = User.objects.create_user("bench@example.com", "a long bench password")
        organisations = [Organisation.create_for(user, name) for name in ORGANISATIONS]
        for organisation in organisations:
            Package.objects.bulk_create(
                Package(organisation=organisation, key=f"package-{n}", name=f"Package {n}")
                for n in range(PACKAGES)
            )
            organisation.packages.update(kind="python")
        ids, now = [organisation.id for organisation in organisations], datetime.now(UTC)
        _parallel(generate, [(organisation_id, events, now) for organisation_id in ids])
        _record_loaded(events, ids, now)
        loaded = ids, now
    ids, now = loaded
    if derived:
        _parallel(derive, [(ids, now, worker, WORKERS) for worker in range(WORKERS)])
    with connection.cursor() as cursor:
        # As autovacuum would on a server (some test machines run without it):
        # statistics for the planner, and visibility maps for index-only reads.
        cursor.execute("VACUUM (ANALYZE)")
    return User.objects.get(email="bench@example.com"), ids


def _parallel(function, arguments: list[tuple]) -> None:
    """One process per arguments (each its own database connection)."""
    from django.db import connection

    connection.close()
    with multiprocessing.get_context("fork").Pool(len(arguments)) as pool:
        pool.starmap(function, arguments)


def generate(organisation_id: int, events: int, now: datetime) -> None:
    """The organisation's raw events, evenly over the DAYS days before `now`."""
    from django.db import connection, transaction

    from apps.analytics import partitions

    first = now - timedelta(days=DAYS)
    step = DAYS * 86_400_000_000 // events
    with transaction.atomic():  # the partition lock is held to the commit
        partitions.ensure_months(
            partitions.month_start((first + timedelta(days=n)).date()) for n in range(DAYS + 1)
        )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        for low in range(0, events, CHUNK):
            cursor.execute(
                GENERATE_SQL,
                {
                    "organisation": organisation_id,
                    "first": first,
                    "step": step,
                    "sources": max(events // DAYS // 3, 1),
                    "low": low,
                    "high": min(low + CHUNK, events) - 1,
                },
            )
    print(
        f"organisation {organisation_id}: {events} raw events in "
        f"{time.perf_counter() - started:.0f}s",
        flush=True,
    )


def derive(ids: list[int], now: datetime, worker: int, workers: int) -> None:
    """Rollups, source days and summaries from the raw events, for the
    organisation days not summarised yet (and today, read live), newest
    first; this worker's share of them."""
    from apps.analytics.models import SummarisedDay
    from apps.analytics.rebuild import rebuild

    started = time.perf_counter()
    done = set(SummarisedDay.objects.values_list("organisation_id", "day"))
    first, today = (now - timedelta(days=DAYS)).date(), datetime.now(UTC).date()
    days = [today - timedelta(n) for n in range((today - first).days + 1)]
    due = [(organisation_id, day) for day in days for organisation_id in ids]
    mine = [pair for pair in due if pair not in done][worker::workers]
    for organisation_id, day in mine:
        rebuild(organisation_id, day, day, today)
    print(
        f"worker {worker}: rollups, source days and summaries of {len(mine)} organisation days "
        f"in {time.perf_counter() - started:.0f}s",
        flush=True,
    )


def _loaded(events: int) -> tuple[list[int], datetime] | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(LOADED_TABLE)
        cursor.execute("SELECT events, ids, at FROM bench_loaded")
        row = cursor.fetchone()
    if row and row[0] == events:
        return [int(n) for n in row[1].split(",")], row[2]
    return None


LOADED_TABLE = "CREATE TABLE IF NOT EXISTS bench_loaded (events bigint, ids text, at timestamptz)"


def _record_loaded(events: int, ids: list[int], now: datetime) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(LOADED_TABLE)
        cursor.execute("DELETE FROM bench_loaded")
        cursor.execute(
            "INSERT INTO bench_loaded VALUES (%s, %s, %s)", [events, ",".join(map(str, ids)), now]
        )


def storage() -> list[tuple[str, int, int]]:
    """(table, rows, bytes with indexes) of the analytics tables."""
    from django.db import connection

    tables = [
        "analytics_downloadevent",
        "analytics_rollup",
        "analytics_sourceday",
        "analytics_daysummary",
    ]
    found = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0), "
                "coalesce(sum(c.reltuples), 0)::bigint FROM pg_class c "
                "WHERE c.relkind <> 'p' AND (c.oid = %s::regclass OR c.oid IN "
                "(SELECT inhrelid FROM pg_inherits WHERE inhparent = %s::regclass))",
                [table, table],
            )
            size, rows = cursor.fetchone()
            found.append((table, rows, size))
    return found


def views(organisation_id: int, package_id: int, today) -> dict[str, tuple[str, dict]]:
    """Each timed view: (URL, query)."""
    last_30 = {"start": (today - timedelta(days=29)).isoformat(), "end": today.isoformat()}
    last_90 = {"start": (today - timedelta(days=89)).isoformat(), "end": today.isoformat()}
    page = "/analytics/"
    series, totals, top = (
        "/api/v1/analytics/time-series/",
        "/api/v1/analytics/totals/",
        "/api/v1/analytics/top/",
    )
    return {
        "org page, 30 days, no filter": (page, last_30),
        "org page, 30 days, version filter": (page, {**last_30, "version": "1.3.0"}),
        "org page, 30 days, country filter": (page, {**last_30, "country": "FR"}),
        "org page, 30 days, CI filter": (page, {**last_30, "ci": "true"}),
        "org page, 90 days by week, client filter": (
            page,
            {**last_90, "interval": "week", "client": "npm"},
        ),
        "org page, today by hour, version filter": (
            page,
            {
                "start": today.isoformat(),
                "end": today.isoformat(),
                "interval": "hour",
                "version": "1.0.0",
            },
        ),
        "package page (analytics), 30 days": (page, {**last_30, "package": "package-3"}),
        "package page (analytics), version filter": (
            page,
            {**last_30, "package": "package-3", "version": "1.1.0"},
        ),
        "package detail page": (f"/packages/{package_id}/", {}),
        "packages list": ("/", {}),
        "API series, version breakdown": (series, {**last_30, "breakdown": "version"}),
        "API series, filtered by version": (series, {**last_30, "version": "1.2.0"}),
        "API series, hourly, 7 days, country": (
            series,
            {
                "start": (today - timedelta(days=6)).isoformat(),
                "end": today.isoformat(),
                "interval": "hour",
                "country": "DE",
            },
        ),
        "API top networks, country filter": (
            top,
            {**last_30, "dimension": "asn_org", "country": "US"},
        ),
        "API totals, 90 days": (totals, last_90),
        "API totals, 90 days, CI filter": (totals, {**last_90, "ci": "false"}),
        "org page, two filters: the estimate": (
            page,
            {**last_30, "version": "1.0.0", "country": "DE"},
        ),
        "org page, two filters: counted": (
            page,
            {**last_30, "version": "1.0.0", "country": "DE", "count": "1"},
        ),
    }


def timed(client, url: str, query: dict, rounds: int) -> list[float]:
    response = client.get(url, query)  # warm
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(url, query)
        times.append((time.perf_counter() - started) * 1000)
    return times


EXPORT = "/analytics/export.csv"


@contextmanager
def exported(client, query: dict):
    """The CSV export's chunks, asked for through Django's test client."""
    response = client.get(EXPORT, query)
    try:
        yield iter(response.streaming_content)
    finally:
        response.close()


def first_row(open_export) -> float:
    """Seconds until the export's first row (the header aside)."""
    started = time.perf_counter()
    with open_export() as chunks:
        received = b""
        while b"\n" not in received.partition(b"\n")[2]:
            received += next(chunks)
    return time.perf_counter() - started


def streamed(open_export, megabytes: int, resident) -> tuple[float, float, int]:
    """Streams `megabytes` of the export: (MiB/s, the largest growth of the
    resident memory `resident()` reads, in MiB, rows read)."""
    before, largest, received, rows = resident(), 0.0, 0, 0
    started = time.perf_counter()
    with open_export() as chunks:
        for number, chunk in enumerate(chunks):
            received += len(chunk)
            rows += chunk.count(b"\n")
            if number % 1000 == 0:
                largest = max(largest, resident() - before)
            if received >= megabytes * 2**20:
                break
        elapsed = time.perf_counter() - started
        largest = max(largest, resident() - before)
    return received / 2**20 / elapsed, largest, rows


def measure_export(open_export, megabytes: int, resident, whose: str) -> None:
    """Prints the export's first row (median of 5) and, when `megabytes`,
    its rate and memory over that much of it."""
    export = statistics.median(first_row(open_export) for _ in range(5))
    print(f"{'CSV export, 30 days, first row (s)':<44} {export:>8.3f} {'':>8}  {load_average()}")
    if megabytes:
        rate, growth, rows = streamed(open_export, megabytes, resident)
        print(
            f"CSV export, 30 days: {megabytes} MiB ({rows:,} rows) streamed at {rate:.1f} "
            f"MiB/s, the resident memory of {whose} grew by at most {growth:.1f} MiB"
        )


HEADER = f"{'view':<44} {'p50 ms':>8} {'p95 ms':>8}  load average"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def figures(name: str, times: list[float]) -> str:
    """A view's line under HEADER: the median and 95th percentile of `times` (ms)."""
    p50, p95 = statistics.median(times), statistics.quantiles(times, n=20)[-1]
    return f"{name:<44} {p50:>8.1f} {p95:>8.1f}  {load_average()}"


def through_the_edge(user, organisation, secret: str, chosen: dict, rounds: int, export: tuple):
    """Each view asked for with curl over HTTPS, as a user's browser or API
    client would, then the export (`export`: its query and MiB to stream):
    the dashboard service (gunicorn from the runtime-lock venv) behind Caddy
    with a certificate from pebble (bench/dashboard_edge.py)."""
    from apps.accounts.middleware import SESSION_KEY
    from bench.dashboard_edge import dashboard_behind_the_edge, session_cookie
    from bench.dashboard_edge import timed as curl_timed

    signed_in = ["-b", session_cookie(user, **{SESSION_KEY: organisation.id})]
    token = ["-H", f"Authorization: Bearer {secret}"]
    with dashboard_behind_the_edge() as (base, curl, server):
        print(f"through {base}: gunicorn from the runtime-lock venv behind Caddy, curl's times")
        print(HEADER)
        for name, (url, query) in chosen.items():
            address = base + url + (f"?{urlencode(query)}" if query else "")
            times, _ = curl_timed(address, rounds, [*curl, *signed_in, *token])
            print(figures(name, times), flush=True)
        query, megabytes = export

        @contextmanager
        def exported_by_curl():
            downloading = subprocess.Popen(
                ["curl", "-sS", *curl, *signed_in, f"{base}{EXPORT}?{urlencode(query)}"],
                stdout=subprocess.PIPE,
            )
            try:
                yield iter(lambda: downloading.stdout.read1(65536), b"")
            finally:
                downloading.kill()
                downloading.wait()

        resident = partial(tree_resident_mib, server.process.pid)
        measure_export(exported_by_curl, megabytes, resident, "gunicorn and its workers")


def resident_mib(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def tree_resident_mib(pid: int) -> float:
    """Resident memory of a process and its children (gunicorn's workers), MiB."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sum(resident_mib(process) for process in [pid, *children])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="per organisation")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--only", help="time only the views whose name contains this")
    parser.add_argument(
        "--export-mib", type=int, default=200, help="CSV streamed to measure its memory"
    )
    parser.add_argument(
        "--as-loaded", action="store_true", help="time without deriving what is missing"
    )
    parser.add_argument(
        "--edge", action="store_true", help="time with curl through the TLS edge (deployed shape)"
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from apps.accounts.middleware import SESSION_KEY
    from apps.accounts.models import ApiToken, Organisation
    from apps.packages.models import Package

    settings.ALLOWED_HOSTS = ["*"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    user, ids = prepare(args.events, args.reload, derived=not args.as_loaded)
    organisation = Organisation.objects.get(id=ids[0])
    secret = ApiToken.issue(organisation, user, name="bench", scope="read")[1]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = organisation.id
    session.save()
    package = Package.objects.get(organisation=organisation, key="package-3")
    today = datetime.now(UTC).date()
    print(f"{args.events:,} events per organisation, 2 organisations, {args.rounds} warm rounds")
    for table, rows, size in storage():
        print(f"  {table:<26} {rows:>12,} rows {size / 2**20:>9,.0f} MiB")
    chosen = {
        name: view
        for name, view in views(organisation.id, package.id, today).items()
        if not args.only or args.only in name
    }
    last_30 = {"start": (today - timedelta(days=29)).isoformat(), "end": today.isoformat()}
    if args.edge:
        through_the_edge(
            user, organisation, secret, chosen, args.rounds, (last_30, args.export_mib)
        )
        return
    print(HEADER)
    for name, (url, query) in chosen.items():
        print(figures(name, timed(client, url, query, args.rounds)), flush=True)
    measure_export(
        partial(exported, client, last_30), args.export_mib, resident_mib, "this process"
    )


if __name__ == "__main__":
    main()
