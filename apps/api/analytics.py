"""The analytics API: download counts read from the rollups
(apps.analytics.queries) and raw events streamed as CSV or NDJSON
(apps.analytics.export), of the caller's organisation only.

Every endpoint takes a range of UTC days (`start` and `end`, both included;
the last 30 days by default) and `package` keys (repeatable), the same keys
the rules endpoints filter on. A key the organisation has no events for
simply counts nothing, so another organisation's keys reveal nothing. Every
endpoint also filters by `version`, `client`, `country` and `ci`: one filter
is read from the day summaries, two at once from the raw events, which
reach back only as far as the organisation keeps them (see
apps.analytics.queries). Reading needs the
READ permission only: members and read tokens may.

Query parameters are validated here against the choices apps.analytics
declares, so a bad value is a 400 naming its parameter before any query runs.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.analytics import export, queries
from apps.analytics.ingest import DIMENSIONS

from .serializers import example
from .views import OrganisationAccess

DEFAULT_DAYS = 30
BREAKDOWNS = [dimension for dimension in DIMENSIONS if dimension != "total"]
TOP_DIMENSIONS = ["package", *BREAKDOWNS]
MAX_TOP = 100
FILTERS = [field.name for field in dataclasses.fields(queries.Filters)]
# The referer's host is counted at ingestion only, not in filtered counts.
UNFILTERED_ONLY = set(BREAKDOWNS) - set(queries.EVENT_VALUES)


def today() -> date:
    return datetime.now(UTC).date()


class RangeQuery(serializers.Serializer):
    """The days, packages and filters every analytics endpoint reads; the
    filters reach the read function as one `filters` (queries.Filters)."""

    start = serializers.DateField(
        required=False,
        validators=[queries.within_bounds],
        help_text="first UTC day (YYYY-MM-DD); default: 29 days before `end`",
    )
    end = serializers.DateField(
        required=False,
        validators=[queries.within_bounds],
        help_text="last UTC day, included; default: today",
    )
    package = serializers.ListField(
        child=serializers.CharField(max_length=200),
        source="packages",
        required=False,
        default=None,
        help_text="only the package with this key; repeat for several (default: all)",
    )
    version = serializers.CharField(
        max_length=200, required=False, help_text="only events of this version"
    )
    client = serializers.CharField(
        max_length=50, required=False, help_text="only events of this client, e.g. docker, pip"
    )
    country = serializers.RegexField(
        r"^[A-Za-z]{2}$",
        required=False,
        help_text="only events from this country (ISO 3166 code, e.g. DE)",
    )
    ci = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true: only events from CI systems; false: only the others; default: both",
    )

    def validate_country(self, code: str) -> str:
        return code.upper()

    def validate(self, data: dict) -> dict:
        end = data.get("end") or today()
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise serializers.ValidationError({"start": [f"must not be after the end, {end}"]})
        filters = queries.Filters(**{name: data.get(name) for name in FILTERS})
        rest = {name: value for name, value in data.items() if name not in FILTERS}
        return {**rest, "start": start, "end": end, "filters": filters}


class CountQuery(RangeQuery):
    include_bots = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="count bots' downloads too; default: the organisation's setting",
    )


class MetricQuery(CountQuery):
    metric = serializers.ChoiceField(
        choices=queries.METRICS,
        default="downloads",
        help_text="count downloads, or every event (HEADs, index pages …)",
    )


class TimeSeriesQuery(MetricQuery):
    interval = serializers.ChoiceField(choices=queries.INTERVALS, default="day")
    breakdown = serializers.ChoiceField(
        choices=BREAKDOWNS,
        required=False,
        default=None,
        help_text="one count per value of this dimension (not with interval=hour)",
    )

    def validate(self, data: dict) -> dict:
        if data["interval"] == "hour" and data["breakdown"]:
            raise serializers.ValidationError(
                {"breakdown": ["hourly counts have no breakdown; ask per day, week or month"]}
            )
        data = super().validate(data)
        refuse_unfiltered_only(data, "breakdown")
        return data


class TopQuery(MetricQuery):
    dimension = serializers.ChoiceField(
        choices=TOP_DIMENSIONS, default="package", help_text="what to rank"
    )
    limit = serializers.IntegerField(min_value=1, max_value=MAX_TOP, default=10)

    def validate(self, data: dict) -> dict:
        data = super().validate(data)
        refuse_unfiltered_only(data, "dimension")
        return data


def refuse_unfiltered_only(data: dict, parameter: str) -> None:
    """Filtered counts, read from the raw events, cannot break down by what
    only ingestion computes."""
    if data["filters"] and data[parameter] in UNFILTERED_ONLY:
        message = f"{data[parameter]} is not counted per version, client, country or ci"
        raise serializers.ValidationError({parameter: [message]})


class ExportQuery(RangeQuery):
    include_bots = serializers.BooleanField(
        default=True, help_text="false: leave out the events of known bots"
    )


class UniqueSourcesQuery(RangeQuery):
    interval = serializers.ChoiceField(
        choices=[interval for interval in queries.INTERVALS if interval != "hour"],
        default="day",
        help_text="sources are counted per day; weeks and months sum the days",
    )


RANGE = {"start": "2026-11-01", "end": "2026-11-30"}


class RangeAnswer(serializers.Serializer):
    """The days counted, so a caller relying on the defaults knows them."""

    start = serializers.DateField()
    end = serializers.DateField()


class PeriodCount(serializers.Serializer):
    period = serializers.DateTimeField(
        help_text="start of the hour, day, week (Monday) or month, UTC"
    )
    value = serializers.CharField(
        required=False, help_text="the breakdown's value (empty: unknown); with a breakdown only"
    )
    count = serializers.IntegerField()


@extend_schema_serializer(
    examples=[
        example(
            "Daily downloads per version",
            {
                **RANGE,
                "results": [
                    {"period": "2026-11-01T00:00:00Z", "value": "1.0", "count": 12},
                    {"period": "2026-11-01T00:00:00Z", "value": "2.0", "count": 40},
                    {"period": "2026-11-02T00:00:00Z", "value": "2.0", "count": 51},
                ],
            },
        )
    ]
)
class TimeSeriesAnswer(RangeAnswer):
    results = PeriodCount(
        many=True, help_text="oldest first; periods that count nothing are left out"
    )


class ValueCount(serializers.Serializer):
    value = serializers.CharField(help_text="a package key, or a value of the dimension")
    count = serializers.IntegerField()


@extend_schema_serializer(
    examples=[
        example(
            "Top countries",
            {**RANGE, "results": [{"value": "DE", "count": 420}, {"value": "FR", "count": 97}]},
        )
    ]
)
class TopAnswer(RangeAnswer):
    results = ValueCount(many=True, help_text="highest count first")


@extend_schema_serializer(
    examples=[
        example(
            "Totals",
            {
                **RANGE,
                "events": 5120,
                "downloads": 4311,
                "bot_downloads": 87,
                "unique_sources": 902,
            },
        )
    ]
)
class TotalsAnswer(RangeAnswer):
    events = serializers.IntegerField(help_text="every request a rule claimed")
    downloads = serializers.IntegerField(help_text="counted downloads (bots as `include_bots`)")
    bot_downloads = serializers.IntegerField(help_text="downloads by known bots")
    unique_sources = serializers.IntegerField(help_text="daily unique sources, summed")


class DayCount(serializers.Serializer):
    period = serializers.DateField(help_text="the day, or the first day of the week or month")
    count = serializers.IntegerField()


@extend_schema_serializer(
    examples=[
        example(
            "Unique sources per week",
            {
                **RANGE,
                "results": [
                    {"period": "2026-10-26", "count": 31},
                    {"period": "2026-11-02", "count": 212},
                ],
            },
        )
    ]
)
class UniqueSourcesAnswer(RangeAnswer):
    results = DayCount(many=True, help_text="oldest first")


class AnalyticsView(OrganisationAccess, APIView):
    """Validates the query, reads with `read` (a function of apps.analytics,
    whose keyword arguments the query's fields are named after, so they pass
    straight through) and answers with `answer_class`."""

    query_class: type[RangeQuery]
    answer_class: type[RangeAnswer]
    read: Callable[..., object]

    def get(self, request):
        query = self.validated_query(request)
        counted = self.read(self.access.organisation.id, **query)
        return Response(self.answer_class(self.answer(query, counted)).data)

    def validated_query(self, request) -> dict:
        query = self.query_class(data=request.query_params)
        query.is_valid(raise_exception=True)
        return query.validated_data

    def answer(self, query: dict, counted) -> dict:
        return {"start": query["start"], "end": query["end"], "results": counted}


@extend_schema(parameters=[TimeSeriesQuery], responses={200: TimeSeriesAnswer})
class TimeSeriesView(AnalyticsView):
    """Downloads (or events) per hour, day, week or month, optionally one
    count per value of a dimension (version, client, country …)."""

    query_class = TimeSeriesQuery
    answer_class = TimeSeriesAnswer
    read = staticmethod(queries.time_series)


@extend_schema(parameters=[TopQuery], responses={200: TopAnswer})
class TopView(AnalyticsView):
    """The packages, or the values of a dimension, with the most downloads (or events)."""

    query_class = TopQuery
    answer_class = TopAnswer
    read = staticmethod(queries.top)


@extend_schema(parameters=[CountQuery], responses={200: TotalsAnswer})
class TotalsView(AnalyticsView):
    """Events, downloads, bot downloads and unique sources over the range."""

    query_class = CountQuery
    answer_class = TotalsAnswer
    read = staticmethod(queries.totals)

    def answer(self, query: dict, counted) -> dict:
        return {"start": query["start"], "end": query["end"], **counted}


@extend_schema(parameters=[UniqueSourcesQuery], responses={200: UniqueSourcesAnswer})
class UniqueSourcesView(AnalyticsView):
    """Distinct sources (IP + User-Agent, hashed with a daily salt) that
    downloaded, per day; per week or month the daily figures summed."""

    query_class = UniqueSourcesQuery
    answer_class = UniqueSourcesAnswer
    read = staticmethod(queries.unique_sources)


class IgnoreAccept(BaseContentNegotiation):
    """An export is CSV or NDJSON whatever the Accept header asks, and its
    errors are JSON like every other error: never a 406."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ExportView(AnalyticsView):
    """Raw events of the range, oldest first, streamed from a server-side
    cursor so memory stays constant however many there are."""

    query_class = ExportQuery
    content_negotiation_class = IgnoreAccept
    media_type: str
    extension: str

    def get(self, request):
        query = self.validated_query(request)
        organisation = self.access.organisation
        chunks = self.read(organisation.id, **query)
        response = StreamingHttpResponse(chunks, content_type=self.media_type)
        filename = f"analytics-{organisation.slug}-{query['start']}-{query['end']}.{self.extension}"
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response


def export_schema(extension: str, media_type: str, sample: str):
    """The streamed body documented as text of its media type, with an example."""
    return extend_schema(
        operation_id=f"analytics_export_{extension}",
        parameters=[ExportQuery],
        responses={
            (200, media_type): OpenApiResponse(
                OpenApiTypes.STR,
                description="one line per event; `Content-Disposition` names the file",
                examples=[OpenApiExample("Events", value=sample, media_type=media_type)],
            )
        },
    )


SAMPLE_EVENT = {
    "id": "0193a4c2-7c1e-7b3a-9d2e-5f0c1a2b3c4d",
    "timestamp": "2026-11-02T10:00:00+00:00",
    "domain": "get.acme.dev",
    "package": "cli",
    "rule_type": "file-v1",
    "method": "GET",
    "path": "/cli/1.0/cli.tgz",
    "status": 307,
    "target": "https://files.example/cli/1.0/cli.tgz",
    "download": True,
    "version": "1.0",
    "client": "curl",
    "client_version": "8.5.0",
    "os": "",
    "arch": "",
    "ci": "",
    "bot": False,
    "country": "DE",
    "asn_org": "Example Carrier GmbH",
    "source_id": "5f0c1a2b3c4d5e6f7a8b9c0d1e2f3a4b",
    "user_agent": "curl/8.5.0",
    "referer": "",
    "dnt": False,
    "gpc": False,
    "capture": {},
}
CSV_SAMPLE = f"{','.join(export.FIELDS)}\n{','.join(str(SAMPLE_EVENT[f]) for f in export.FIELDS)}\n"
NDJSON_SAMPLE = json.dumps(SAMPLE_EVENT) + "\n"


@extend_schema_view(get=export_schema("csv", "text/csv", CSV_SAMPLE))
class CsvExportView(ExportView):
    """Raw events as CSV: a header line, then one line per event."""

    read = staticmethod(export.export_csv)
    media_type = "text/csv; charset=utf-8"
    extension = "csv"


@extend_schema_view(get=export_schema("ndjson", "application/x-ndjson", NDJSON_SAMPLE))
class NdjsonExportView(ExportView):
    """Raw events as NDJSON: one JSON object per line."""

    read = staticmethod(export.export_ndjson)
    media_type = "application/x-ndjson"
    extension = "ndjson"
