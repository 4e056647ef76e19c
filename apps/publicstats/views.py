"""Public stats: a package's download count for anyone, once a maintainer
publishes it (Package.public_stats, off by default): an SVG badge for READMEs
and a read-only page. Both live on the dashboard's host, not on tenant
domains: every path of a tenant domain belongs to its rules (a catch-all
would shadow a badge path, or a badge path a file), and the gateway serves
from memory without reading the database or rendering templates.

A package that is unknown, or whose stats are not published, answers the
same 404, so the URLs do not tell whether a package exists.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import quote_etag
from django.views.decorators.http import require_safe

from apps.analytics import queries
from apps.dashboard.stats import periods
from apps.packages.models import Package

from .badges import Badge
from .figures import public_figure

DAYS = 30
MONTHS = 12


def _published(organisation: str, key: str) -> Package:
    package = (
        Package.objects.select_related("organisation")
        .filter(organisation__slug=organisation, key=key, public_stats=True)
        .first()
    )
    if package is None:
        raise Http404("No public stats here")
    return package


def _shown(count: int) -> str:
    return public_figure(count, settings.PUBLIC_STATS_MIN_COUNT)


def _last_days(package: Package, days: int) -> int:
    """The package's downloads over the last `days` days, today included."""
    today = datetime.now(UTC).date()
    start = today - timedelta(days=days - 1)
    counted = queries.top(
        package.organisation_id, "package", start, today, None, packages=[package.key]
    )
    return sum(row["count"] for row in counted)


@require_safe
def badge(request, organisation: str, package: str):
    """Downloads over the last 30 days as a badge; cached by browsers and
    CDNs for PUBLIC_STATS_MAX_AGE seconds, revalidated by its ETag."""
    found = _published(organisation, package)
    figure = _shown(_last_days(found, DAYS))
    svg = Badge(
        label="downloads",
        message=f"{figure}/month",
        title=f"{found.name}: {figure} downloads in the last {DAYS} days",
    ).svg()
    etag = quote_etag(hashlib.sha256(svg.encode()).hexdigest()[:32])
    response = get_conditional_response(request, etag=etag) or HttpResponse(
        svg, content_type="image/svg+xml; charset=utf-8"
    )
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=settings.PUBLIC_STATS_MAX_AGE)
    return response


@require_safe
def package_page(request, organisation: str, package: str):
    """The package's downloads in the last 30 days and per month over a year."""
    found = _published(organisation, package)
    today = datetime.now(UTC).date()
    first = _first_month(today, MONTHS)
    series = queries.time_series(found.organisation_id, first, today, "month", packages=[found.key])
    by_month = {row["period"].date(): row["count"] for row in series}
    months = [start.date() for start in periods(first, today, "month")]
    return render(
        request,
        "publicstats/package.html",
        {
            "package": found,
            "days": DAYS,
            "last_days": _shown(_last_days(found, DAYS)),
            "first_month": first,
            "last_year": _shown(sum(by_month.values())),
            "months": [(month, _shown(by_month.get(month, 0))) for month in months],
            "threshold": settings.PUBLIC_STATS_MIN_COUNT,
            "badge_url": reverse("public-badge", args=[found.organisation.slug, found.key]),
        },
    )


def _first_month(today: date, months: int) -> date:
    """The first day of the month `months - 1` months before today's."""
    index = today.year * 12 + today.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)
