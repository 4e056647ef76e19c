"""Dashboard benchmark: the packages list of an organisation with thousands of packages.

Not a test. Creates (once) an organisation with `--packages` packages, each
with 30 days of daily rollups as ingestion writes them, then renders its
home page (the packages list: first page by name, ordered by downloads, a
search, a later page) through Django's test client, warm, and prints p50 and
p95 per view. Uses its own database, never real data:

    .venv/bin/python bench/dashboard.py --packages 5000

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

VIEWS = {
    "first page, by name": {},
    "ordered by downloads": {"sort": "downloads"},
    "ordered by last download": {"sort": "last"},
    "search (1 in 10 match)": {"q": "7"},
    "page 50": {"page": "50"},
}


def prepare(packages: int):
    from apps.accounts.models import Organisation, User
    from apps.analytics.models import Rollup
    from apps.packages.models import Package
    from bench.ingest import prepare_database

    prepare_database(empty=False)  # the rollups below stay from one run to the next
    user = User.objects.filter(email="bench@example.com").first() or User.objects.create_user(
        "bench@example.com", "a long bench password"
    )
    organisation = Organisation.objects.filter(name="Bench").first()
    if organisation is None or organisation.packages.count() != packages:
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
    return user


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
    user = prepare(args.packages)
    client = Client()
    client.force_login(user)
    print(f"packages list of {args.packages} packages, {args.rounds} warm rounds per view")
    print(f"{'view':<28} {'p50 ms':>8} {'p95 ms':>8} {'bytes':>8}")
    for name, params in VIEWS.items():
        response = client.get("/", params)  # warm
        assert response.status_code == 200, response.status_code
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            response = client.get("/", params)
            times.append((time.perf_counter() - started) * 1000)
        p50 = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[-1]
        print(f"{name:<28} {p50:>8.1f} {p95:>8.1f} {len(response.content):>8}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
