"""Dashboard benchmark: the pages of an organisation with thousands of packages.

Not a test. Creates (once) an organisation with `--packages` packages, each
with 30 days of daily rollups as ingestion writes them and its history (its
creation, its rule's, then changes of its rule: --revisions in all),
then renders its pages through Django's test client, warm, and prints p50
and p95 per view: the packages list (first page by name, ordered by
downloads, a search, a later page), a package's page, and the audit log
(all of it and one package's). Uses its own database, never real data:

    .venv/bin/python bench/dashboard.py --packages 5000 --revisions 50000

DATABASE_URL (default postgres://postgres@127.0.0.1:5432/scarf_bench_dashboard).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/scarf_bench_dashboard")
os.environ["REDIS_URL"] = ""  # embedded cache: only the page's own queries are timed
os.environ.setdefault("VAR_DIR", str(BASE_DIR / "var" / "bench"))
os.environ.setdefault("SECRET_KEY", "bench-only-" + os.urandom(16).hex())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scarf.settings")

LIST = {
    "first page, by name": {},
    "ordered by downloads": {"sort": "downloads"},
    "ordered by last download": {"sort": "last"},
    "search (1 in 10 match)": {"q": "7"},
    "page 50": {"page": "50"},
}
ONE_PACKAGE = "pkg-2500"


def views(organisation) -> list[tuple[str, str, dict]]:
    """(name, path, query) of each page timed."""
    from django.urls import reverse

    package = organisation.packages.get(key=ONE_PACKAGE)
    return [
        *((f"list: {name}", reverse("home"), query) for name, query in LIST.items()),
        ("package page", reverse("package", args=[package.id]), {}),
        ("audit log", reverse("audit-log"), {}),
        ("audit log, page 100", reverse("audit-log"), {"page": "100"}),
        ("audit log, one package", reverse("audit-log"), {"package": ONE_PACKAGE}),
    ]


def prepare(packages: int, revisions: int):
    from django.db import connection

    from apps.accounts.models import Organisation, User
    from apps.analytics.models import Rollup
    from apps.packages.models import Package, Revision
    from bench.ingest import prepare_database

    prepare_database(empty=False)  # the rollups below stay from one run to the next
    user = User.objects.filter(email="bench@example.com").first() or User.objects.create_user(
        "bench@example.com", "a long bench password"
    )
    organisation = Organisation.objects.filter(name="Bench").first()
    if (
        organisation is None
        or organisation.packages.count() != packages
        or organisation.revisions.count() != revisions
    ):
        Organisation.objects.filter(name="Bench").delete()
        organisation = Organisation.create_for(user, "Bench")
        Package.objects.bulk_create(
            Package(organisation=organisation, key=f"pkg-{n}", name=f"Package {n}", kind="file")
            for n in range(packages)
        )
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        Rollup.objects.bulk_create(
            (
                Rollup(
                    organisation_id=organisation.id,
                    period="day",
                    dimension="total",
                    bucket=today - timedelta(days=day),
                    package=f"pkg-{n}",
                    value="",
                    events=(n * 7 + day) % 50,
                    downloads=(n * 7 + day) % 40,
                )
                for n in range(packages)
                for day in range(0, 30, 1 + n % 3)
            ),
            batch_size=10_000,
        )
        Revision.objects.bulk_create(history(organisation, revisions), batch_size=5_000)
        with connection.cursor() as cursor:  # as autovacuum would, before the pages are read
            cursor.execute("ANALYZE")
    return user, organisation


def history(organisation, count: int):
    """`count` revisions shaped as the services write them: each package's
    creation and its rule's, then rule changes spread over the packages."""
    from apps.packages.models import Revision

    packages = list(organisation.packages.values_list("id", "key"))

    def rule(key: str) -> dict:
        form = {"type": "file-v1", "domain": "get.bench.test", "package-id": key}
        return {"rule": {**form, "incoming-path": "/{v}", "outgoing-url": "https://a/{v}"}}

    for n in range(count):
        package_id, key = packages[n % len(packages)]
        if n < len(packages):
            yield Revision(
                organisation=organisation,
                actor="bench",
                action=Revision.CREATE,
                object_type="package",
                object_id=package_id,
                after={"id": package_id, "key": key, "name": key, "kind": "file"},
            )
        else:
            yield Revision(
                organisation=organisation,
                actor="bench",
                action=Revision.CREATE if n < 2 * len(packages) else Revision.UPDATE,
                object_type="rule",
                object_id=n % len(packages),
                before=None if n < 2 * len(packages) else rule(key),
                after=rule(key),
            )


def arguments(doc: str) -> argparse.Namespace:
    """The data's size and the rounds timed (this benchmark's and bench/dashboard_edge.py's)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=5000)
    parser.add_argument("--revisions", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=20)
    return parser.parse_args()


def main() -> None:
    args = arguments(__doc__)

    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
    user, organisation = prepare(args.packages, args.revisions)
    client = Client()
    client.force_login(user)
    print(
        f"{args.packages} packages, {args.revisions} revisions, {args.rounds} warm rounds per view"
    )
    print(HEADER)
    for name, path, query in views(organisation):
        response = client.get(path, query)  # warm
        assert response.status_code == 200, response.status_code
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            response = client.get(path, query)
            times.append((time.perf_counter() - started) * 1000)
        print(figures(name, times, len(response.content)))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


HEADER = f"{'view':<36} {'p50 ms':>8} {'p95 ms':>8} {'bytes':>8}"


def figures(name: str, times: list[float], size: int) -> str:
    """A view's line under HEADER: the median and 95th percentile of `times` (ms)."""
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[-1]
    return f"{name:<36} {p50:>8.1f} {p95:>8.1f} {size:>8}"


if __name__ == "__main__":
    main()
