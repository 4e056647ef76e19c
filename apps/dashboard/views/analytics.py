"""Analytics of the organisation or of one package, narrowed by version,
client, country and CI, and their raw export."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

from django.db.models import Q
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render

from apps.accounts.roles import READ, role_required
from apps.analytics.enrichment import geo_databases
from apps.analytics.export import export_csv, export_ndjson
from apps.analytics.models import AnalyticsSettings
from apps.analytics.queries import Filters, summaries_answer_filters, totals

from ..forms import AnalyticsFilterForm
from ..stats import report

EXPORTS = {
    "csv": (export_csv, "text/csv"),
    "ndjson": (export_ndjson, "application/x-ndjson"),
}
# How many packages the package search box suggests.
PACKAGE_SUGGESTIONS = 20
# Breakdowns whose values are also filters: each value links to the page narrowed to it.
FILTERING = {"version", "client", "country"}
# Raw events a second counts when two filters at once are read from them
# (measured: bench/analytics_scale.py, README "Analytics at scale").
RAW_EVENTS_PER_SECOND = 1_000_000


def _filters(request, policy: AnalyticsSettings) -> AnalyticsFilterForm:
    packages = request.organisation.packages.order_by("name")
    form = AnalyticsFilterForm(packages, policy.count_bots, request.GET)
    form.is_valid()
    return form


def _selection(form: AnalyticsFilterForm) -> dict:
    """What the form selects, as the query and export functions take it."""
    data = form.cleaned_data
    return {
        "start": data["start"],
        "end": data["end"],
        "packages": [data["package"]] if data.get("package") else None,
        "filters": form.filters(),
        "include_bots": data["include_bots"],
    }


def _link_values(query, breakdowns: list[dict]) -> None:
    """Give each known value of a filtering breakdown the query narrowed to it."""
    for breakdown in breakdowns:
        if breakdown["dimension"] not in FILTERING:
            continue
        for row in breakdown["rows"]:
            if row["value"]:
                narrowed = query.copy()
                narrowed[breakdown["dimension"]] = row["value"]
                row["query"] = narrowed.urlencode()


# The period presets above the form: label, days back from today (1: today only), interval.
PRESETS = [
    ("Today", 1, "hour"),
    ("7 days", 7, "day"),
    ("30 days", 30, "day"),
    ("90 days", 90, "week"),
    ("12 months", 365, "month"),
]


def _presets(query, today: date) -> list[dict]:
    """Each preset's link (the page's other choices kept) and whether it is the one shown."""
    presets = []
    for label, days, interval in PRESETS:
        chosen = query.copy()
        chosen["start"] = (today - timedelta(days=days - 1)).isoformat()
        chosen["end"] = today.isoformat()
        chosen["interval"] = interval
        chosen.pop("page", None)
        current = all(query.get(key) == chosen[key] for key in ("start", "end", "interval"))
        presets.append({"label": label, "query": chosen.urlencode(), "current": current})
    return presets


def _estimate(organisation_id: int, selected: dict) -> dict:
    """How long counting the raw events of the selection will take."""
    events = totals(organisation_id, selected["start"], selected["end"], selected["packages"])[
        "events"
    ]
    return {"events": events, "seconds": max(1, round(events / RAW_EVENTS_PER_SECOND))}


def _with(query, **values) -> str:
    changed = query.copy()
    for name, value in values.items():
        changed[name] = value
    return changed.urlencode()


def _without_filters(query):
    unfiltered = query.copy()
    for field in dataclasses.fields(Filters):
        unfiltered.pop(field.name, None)
    return unfiltered


@role_required(READ)
def analytics(request):
    policy = AnalyticsSettings.for_organisation(request.organisation.id)
    form = _filters(request, policy)
    context = {
        "form": form,
        "retention_days": policy.effective_retention_days,
        "suggested_packages": request.organisation.packages.order_by("name")[:PACKAGE_SUGGESTIONS],
        "geo": geo_databases(),
        "policy": policy,
        "presets": _presets(request.GET, datetime.now(UTC).date()),
    }
    if not form.errors:
        selected = _selection(form)
        interval = form.cleaned_data["interval"]
        context["filtered"] = len(selected["filters"].given())
        context["summarised"] = summaries_answer_filters()
        if context["filtered"] > 1 and not request.GET.get("count"):
            context["estimate"] = _estimate(request.organisation.id, selected)
            context["count_query"] = _with(request.GET, count="1")
            return render(request, "dashboard/analytics.html", context)
        context["report"] = report(request.organisation.id, interval, **selected)
        _link_values(request.GET, context["report"]["breakdowns"])
        for row in context["report"]["top_packages"] or []:
            narrowed = request.GET.copy()
            narrowed["package"] = row["package"]
            row["query"] = narrowed.urlencode()
        context["unfiltered_query"] = _without_filters(request.GET).urlencode()
        context["package"] = request.organisation.packages.filter(
            key=form.cleaned_data.get("package") or None
        ).first()
    return render(request, "dashboard/analytics.html", context)


@role_required(READ)
def package_suggestions(request):
    """The package search box's suggestions: `<option>`s of the packages whose
    id or name contains what was typed (the first 20 by name)."""
    typed = request.GET.get("package", "").strip()[:200]
    packages = request.organisation.packages.order_by("name")
    if typed:
        packages = packages.filter(Q(key__icontains=typed) | Q(name__icontains=typed))
    return render(
        request,
        "dashboard/_package_suggestions.html",
        {"packages": packages.only("key", "name")[:PACKAGE_SUGGESTIONS]},
    )


@role_required(READ)
def export(request, fmt: str):
    """Raw events of the period that the filters keep, streamed as CSV or NDJSON."""
    if fmt not in EXPORTS:
        raise Http404("No such export")
    form = _filters(request, AnalyticsSettings.for_organisation(request.organisation.id))
    if form.errors:
        problems = "".join(
            f"{field}: {error}\n" for field, errors in form.errors.items() for error in errors
        )
        return HttpResponseBadRequest(problems, content_type="text/plain")
    generate, content_type = EXPORTS[fmt]
    selected = _selection(form)
    response = StreamingHttpResponse(
        generate(request.organisation.id, **selected), content_type=content_type
    )
    filename = f"{request.organisation.slug}-{selected['start']}-{selected['end']}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
