"""Analytics of the organisation or of one package, and their raw export."""

from __future__ import annotations

from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render

from apps.accounts.roles import READ, role_required
from apps.analytics.export import export_csv, export_ndjson

from ..forms import AnalyticsFilterForm
from ..stats import report

EXPORTS = {
    "csv": (export_csv, "text/csv"),
    "ndjson": (export_ndjson, "application/x-ndjson"),
}


def _filters(request) -> AnalyticsFilterForm:
    form = AnalyticsFilterForm(request.organisation.packages.order_by("name"), request.GET)
    form.is_valid()
    return form


def _period(form: AnalyticsFilterForm) -> dict:
    data = form.cleaned_data
    return {
        "start": data["start"],
        "end": data["end"],
        "packages": [data["package"]] if data.get("package") else None,
    }


@role_required(READ)
def analytics(request):
    form = _filters(request)
    context = {"form": form}
    if not form.errors:
        period = _period(form)
        context["report"] = report(
            request.organisation.id,
            period["start"],
            period["end"],
            form.cleaned_data["interval"],
            period["packages"],
        )
        context["package"] = request.organisation.packages.filter(
            key=form.cleaned_data.get("package") or None
        ).first()
    return render(request, "dashboard/analytics.html", context)


@role_required(READ)
def export(request, fmt: str):
    """Raw events of the period, streamed as CSV or NDJSON."""
    form = _filters(request)
    if fmt not in EXPORTS or form.errors:
        raise Http404("No such export")
    generate, content_type = EXPORTS[fmt]
    period = _period(form)
    response = StreamingHttpResponse(
        generate(request.organisation.id, **period), content_type=content_type
    )
    filename = f"{request.organisation.slug}-{period['start']}-{period['end']}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
