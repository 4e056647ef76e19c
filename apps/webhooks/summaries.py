"""The daily download summary an organisation's webhooks are sent (read
from the analytics rollups, as the dashboard reads them)."""

from __future__ import annotations

from datetime import date
from typing import Any

from apps.accounts.models import Organisation
from apps.analytics import queries

TOP_PACKAGES = 10


def daily_summary(organisation: Organisation, day: date) -> dict[str, Any]:
    totals = queries.totals(organisation.id, day, day)
    top = queries.top(organisation.id, "package", day, day, limit=TOP_PACKAGES)
    return {
        "date": day.isoformat(),
        "downloads": totals["downloads"],
        "events": totals["events"],
        "bot_downloads": totals["bot_downloads"],
        "unique_sources": totals["unique_sources"],
        "top_packages": [{"package": row["value"], "downloads": row["count"]} for row in top],
    }
