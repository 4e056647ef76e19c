"""Regenerate rollups, source days and day summaries from the raw events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.analytics.models import Rollup
from apps.analytics.rebuild import rebuild


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument(
            "--organisation", type=int, help="organisation id (default: all that have rollups)"
        )
        parser.add_argument("--start", type=date.fromisoformat, help="first UTC day, YYYY-MM-DD")
        parser.add_argument("--end", type=date.fromisoformat, help="last UTC day (default: today)")

    def handle(self, *args, organisation=None, start=None, end=None, **options):
        today = datetime.now(UTC).date()
        end = end or today
        start = start or end - timedelta(days=settings.ANALYTICS_RETENTION_DAYS)
        organisations = (
            [organisation]
            if organisation
            else Rollup.objects.order_by().values_list("organisation_id", flat=True).distinct()
        )
        for organisation_id in organisations:
            days = rebuild(organisation_id, start, end, today)
            self.stdout.write(f"organisation {organisation_id}: {len(days)} day(s) rebuilt")
