"""What dashboards and the analytics API ask, read from pre-aggregated tables.

Dates are UTC calendar days, `start` and `end` both included. `packages`
narrows to some of the organisation's packages (None: all). Download counts
leave bots out unless the organisation counts them (AnalyticsSettings) or the
caller says otherwise with `include_bots`. Unique sources are per day (the
source hash's salt changes daily); over a range, a week or a month they are
the sum of the daily figures ("unique sources per day, summed").

`filters` narrows to events of a version, a client, a country, or CI or not
(see `Filters`).

Where counts come from (`counts` is the one reader; every function here is
a projection of it):
- a finished day that `summaries` summarised: its day summary, for all
  packages or one, without a filter or with one, per dimension (networks
  and client versions: each day's 20 largest, the rest as `OTHER`);
- any other day (today, a day not summarised yet), or a question summaries
  do not answer (two filters at once, several packages' unique sources, the
  hours of a filtered package): the rollups when unfiltered, else the raw
  events, which reach back only as far as the organisation keeps them
  (AnalyticsSettings.retention_days).
PostgreSQL's JIT is off for these reads: it only ever added compile time
to queries this size.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import CharField, Count, F, Max, Q, Sum, Value
from django.db.models.functions import Cast, Concat, ExtractHour, LPad, Trim, TruncDate

from . import summaries
from .ingest import DIMENSIONS
from .models import AnalyticsSettings, DownloadEvent, Rollup

INTERVALS = ("hour", "day", "week", "month")
# The days a range may start and end on: others are typos, and these keep the
# date arithmetic of a range and the period before it in range.
EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)


def within_bounds(day: date) -> None:
    """Validator of a range's start and end (API and dashboard)."""
    if not EARLIEST <= day <= LATEST:
        raise ValidationError(f"must be between {EARLIEST} and {LATEST}")


METRICS = ("downloads", "events")
OTHER = summaries.OTHER
# The breakdowns filtered counts have (the referer's host is computed at
# ingestion only, into the rollups).
EVENT_VALUES = {dimension for dimension in DIMENSIONS if dimension != "referer"}
# Dimensions counted per day (a series' points); others over the whole range.
DAILY = ("total", "hour")


@dataclass(frozen=True)
class Filters:
    """Count only the events with these properties (None: any): an exact
    version, client or country code; `ci` True for CI systems' events only,
    False for the others."""

    version: str | None = None
    client: str | None = None
    country: str | None = None
    ci: bool | None = None

    def __bool__(self) -> bool:
        return any(value is not None for value in astuple(self))

    def q(self) -> Q:
        """The raw events these filters keep."""
        exact = {"version": self.version, "client": self.client, "country": self.country}
        kept = Q(**{field: value for field, value in exact.items() if value is not None})
        if self.ci is not None:
            kept &= ~Q(ci="") if self.ci else Q(ci="")
        return kept

    def given(self) -> list[tuple[str, str]]:
        """The filters set, as summaries name them: [(filter, value)]."""
        return [
            (name, str(value).lower() if name == "ci" else value)
            for name, value in zip(
                ("version", "client", "country", "ci"), astuple(self), strict=True
            )
            if value is not None
        ]


ANY = Filters()


@dataclass
class Counts:
    events: int = 0
    downloads: int = 0
    bot_downloads: int = 0
    sources: int = 0

    def add(self, events: int, downloads: int, bot_downloads: int, sources: int) -> None:
        self.events += events
        self.downloads += downloads
        self.bot_downloads += bot_downloads
        self.sources += sources

    def count(self, metric: str, include_bots: bool) -> int:
        if metric == "events":
            return self.events
        return self.downloads + self.bot_downloads if include_bots else self.downloads


# dimension -> (value, bucket) -> counts: a daily dimension's bucket is its
# day, any other dimension's the first day of its part of the range (`counts`).
Counted = dict[str, dict[tuple[str, date], Counts]]


def counts(
    organisation_id: int,
    start: date,
    end: date,
    dimensions: Sequence[str],
    packages: Sequence[str] | None = None,
    filters: Filters = ANY,
    split: date | None = None,
    daily: Sequence[str] = DAILY,
) -> Counted:
    """What the events of the range count per value of each of `dimensions`
    (`total`, `hour` (value "00".."23"), `package`, or one of
    ingest.DIMENSIONS): per day for the `daily` ones, else per part of the
    range (from `start`, and from `split` when given: a page's previous and
    current periods in one read). Unique sources are on `total` only."""
    for dimension in dimensions:
        if dimension not in (*DIMENSIONS, "hour", "package"):
            raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}")
        if filters and dimension not in (*EVENT_VALUES, "hour", "package"):
            raise ValueError(f"filtered counts have no {dimension} breakdown")
    shape = {"parts": sorted({start, split or start}), "daily": list(daily)}
    counted: Counted = {}
    days = [start + timedelta(n) for n in range((end - start).days + 1)]
    stored = [d for d in dimensions if _summarised(d, packages, filters)]
    rest = [d for d in dimensions if d not in stored]
    read = _from_events if filters else _from_rollups
    with _no_jit():
        done = summaries.summarised_days(organisation_id, start, end) if stored else set()
        rows = _from_summaries(organisation_id, done, stored, packages, filters, shape)
        live = [day for day in days if day not in done]
        if stored and live:
            rows += read(organisation_id, live, stored, packages, filters)
        if rest:
            rows += read(organisation_id, days, rest, packages, filters)
    _add(counted, shape, rows)
    return counted


def time_series(
    organisation_id: int,
    start: date,
    end: date,
    interval: str = "day",
    breakdown: str | None = None,
    packages: Sequence[str] | None = None,
    metric: str = "downloads",
    include_bots: bool | None = None,
    filters: Filters = ANY,
) -> list[dict[str, Any]]:
    """Counts per period (and per value of `breakdown`, values counting
    nothing left out), oldest first:
    `[{"period": datetime, "value": str (with a breakdown), "count": int}]`.
    `interval="hour"` is available without a breakdown only."""
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}")
    if interval == "hour" and breakdown:
        raise ValueError("hourly counts have no breakdown")
    if breakdown is not None and breakdown not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}")
    include_bots = _include_bots(organisation_id, metric, include_bots)
    dimension = "hour" if interval == "hour" else breakdown or "total"
    counted = counts(organisation_id, start, end, [dimension], packages, filters, daily=[dimension])
    series: dict[tuple[datetime, str], int] = {}
    for (value, day), found in counted.get(dimension, {}).items():
        key = (period_start(day, value, interval), value if breakdown else "")
        series[key] = series.get(key, 0) + found.count(metric, include_bots)
    return [
        {"period": period, "count": count} | ({"value": value} if breakdown else {})
        for (period, value), count in sorted(series.items())
        if count or not breakdown
    ]


def top(
    organisation_id: int,
    dimension: str,
    start: date,
    end: date,
    limit: int | None = 10,
    packages: Sequence[str] | None = None,
    metric: str = "downloads",
    include_bots: bool | None = None,
    filters: Filters = ANY,
) -> list[dict[str, Any]]:
    """The `limit` values of `dimension` with the highest counts:
    `[{"value": str, "count": int}]`, highest first. `dimension="package"`
    ranks the packages themselves."""
    include_bots = _include_bots(organisation_id, metric, include_bots)
    counted = counts(organisation_id, start, end, [dimension], packages, filters)
    return ranked(counted.get(dimension, {}), metric, include_bots, limit)


def ranked(
    of_dimension: dict[tuple[str, date], Counts],
    metric: str,
    include_bots: bool,
    limit: int | None,
    since: date = date.min,
    before: date = date.max,
) -> list[dict[str, Any]]:
    """A dimension's values counted from `since` to before `before`, highest
    count first."""
    by_value: dict[str, int] = {}
    for (value, bucket), found in of_dimension.items():
        if since <= bucket < before:
            by_value[value] = by_value.get(value, 0) + found.count(metric, include_bots)
    rows = sorted(
        ((value, count) for value, count in by_value.items() if count > 0),
        key=lambda row: (-row[1], row[0]),
    )
    return [{"value": value, "count": count} for value, count in rows[:limit]]


def totals(
    organisation_id: int,
    start: date,
    end: date,
    packages: Sequence[str] | None = None,
    include_bots: bool | None = None,
    filters: Filters = ANY,
) -> dict[str, int]:
    """Events, downloads and bot downloads in the range, and the daily unique
    sources summed over it. `downloads` follows the bot toggle."""
    include_bots = _include_bots(organisation_id, "downloads", include_bots)
    counted = counts(organisation_id, start, end, ["total"], packages, filters)
    return summed(counted, include_bots, start, end)


def summed(counted: Counted, include_bots: bool, start: date, end: date) -> dict[str, int]:
    """The totals of the days from `start` to `end` in `counted`."""
    found = Counts()
    for (_, day), counts_of_day in counted.get("total", {}).items():
        if start <= day <= end:
            found.add(*astuple_counts(counts_of_day))
    return {
        "events": found.events,
        "downloads": found.count("downloads", include_bots),
        "bot_downloads": found.bot_downloads,
        "unique_sources": found.sources,
    }


def astuple_counts(found: Counts) -> tuple[int, int, int, int]:
    return found.events, found.downloads, found.bot_downloads, found.sources


def unique_sources(
    organisation_id: int,
    start: date,
    end: date,
    interval: str = "day",
    packages: Sequence[str] | None = None,
    filters: Filters = ANY,
) -> list[dict[str, Any]]:
    """Distinct sources that downloaded per day (one source downloading two
    packages counts once), summed per week or month:
    `[{"period": date, "count": int}]`."""
    if interval not in INTERVALS[1:]:
        raise ValueError("unique sources are counted per day, week or month")
    counted = counts(organisation_id, start, end, ["total"], packages, filters)
    return sources_per_period(counted, interval)


def sources_per_period(
    counted: Counted, interval: str, since: date = date.min
) -> list[dict[str, Any]]:
    by_period: dict[date, int] = {}
    for (_, day), found in sorted(counted.get("total", {}).items()):
        if day >= since and found.sources:
            period = period_start(day, "", interval).date()
            by_period[period] = by_period.get(period, 0) + found.sources
    return [{"period": period, "count": count} for period, count in by_period.items()]


def raw_events(
    organisation_id: int,
    start: date,
    end: date,
    packages: Sequence[str] | None = None,
    filters: Filters = ANY,
):
    """The organisation's raw events of the range that `filters` keep."""
    events = DownloadEvent.objects.filter(
        filters.q(),
        organisation_id=organisation_id,
        timestamp__gte=_midnight(start),
        timestamp__lt=_midnight(end + timedelta(days=1)),
    )
    return events if packages is None else events.filter(package__in=packages)


@contextmanager
def _no_jit():
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL jit = off")
        yield


def summaries_answer_filters() -> bool:
    """Whether one filter is read from day summaries (PostgreSQL; embedded
    mode's SQLite reads raw events)."""
    return connection.vendor == "postgresql"


def _summarised(dimension: str, packages: Sequence[str] | None, filters: Filters) -> bool:
    """Whether day summaries count `dimension` for these packages and filters."""
    if not summaries_answer_filters() or len(filters.given()) > 1:
        return False
    if packages is not None and len(packages) > 1 and dimension == "total":
        return False  # several packages' unique sources: distinct across them
    stored = "total" if dimension == "package" and packages else dimension
    return summaries.summarised(packages is not None, bool(filters), stored)


def _add(counted: Counted, shape: dict, rows) -> None:
    """Fold (dimension, value, day, events, downloads, bots, sources) rows in."""
    parts = shape["parts"]
    for dimension, value, day, *numbers in rows:
        if dimension not in shape["daily"]:
            day = parts[-1] if day >= parts[-1] else parts[0]
        of_dimension = counted.setdefault(dimension, {})
        found = of_dimension.get((value, day))
        if found is None:
            found = of_dimension[(value, day)] = Counts()
        found.add(*numbers)


SUMMARY_SQL = """
SELECT CASE WHEN %(per_package)s AND dimension = 'total' AND %(ranks_packages)s
            THEN 'package' ELSE dimension END,
       CASE WHEN %(per_package)s AND dimension = 'total' AND %(ranks_packages)s
            THEN package ELSE value END,
       CASE WHEN dimension = ANY(%(daily)s) THEN day
            WHEN day >= %(split)s THEN %(split)s ELSE %(start)s END,
       sum(events)::bigint, sum(downloads)::bigint, sum(bot_downloads)::bigint,
       sum(sources)::bigint
FROM analytics_daysummary
WHERE organisation_id = %(organisation)s AND package = ANY(%(packages)s)
  AND filter = %(filter)s AND filter_value = %(filter_value)s
  AND day = ANY(%(days)s) AND dimension = ANY(%(dimensions)s)
GROUP BY 1, 2, 3
"""


def _from_summaries(organisation_id, days, dimensions, packages, filters, shape) -> list:
    if not days or not dimensions:
        return []
    [(filter_name, filter_value)] = filters.given() or [("", "")]
    ranks_packages = "package" in dimensions and packages is not None
    stored = {("total" if d == "package" and packages else d) for d in dimensions}
    with connection.cursor() as cursor:
        cursor.execute(
            SUMMARY_SQL,
            {
                "organisation": organisation_id,
                "per_package": packages is not None,
                "ranks_packages": ranks_packages,
                "packages": list(packages) if packages is not None else [""],
                "filter": filter_name,
                "filter_value": filter_value,
                "days": sorted(days),
                "dimensions": sorted(stored),
                "daily": [("total" if d == "package" else d) for d in shape["daily"]],
                "start": shape["parts"][0],
                "split": shape["parts"][-1],
            },
        )
        rows = cursor.fetchall()
    if ranks_packages and "total" in dimensions:  # one package's total: both
        rows += [("total", "", *row[2:]) for row in rows if row[0] == "package"]
    return rows


def _from_rollups(organisation_id, days, dimensions, packages, filters) -> list:
    """Unfiltered counts of `days` from the rollups and the source days: one
    query for the daily dimensions (a package's count is its total), one for
    the hours, one for the unique sources."""
    rollups = Rollup.objects.filter(_runs(days, "bucket"), organisation_id=organisation_id)
    if packages is not None:
        rollups = rollups.filter(package__in=packages)
    sums = {"e": Sum("events"), "d": Sum("downloads"), "b": Sum("bot_downloads")}
    by_value = [d for d in dimensions if d not in ("hour", "total", "package")]
    daily = rollups.filter(period="day", dimension__in=by_value).values(
        "dimension", "value", "bucket"
    )
    rows = [
        (row["dimension"], row["value"], _day(row["bucket"]), row["e"], row["d"], row["b"], 0)
        for row in daily.annotate(**sums)
    ]
    if "total" in dimensions or "package" in dimensions:
        totals = rollups.filter(period="day", dimension="total").values("bucket", "package")
        for row in totals.annotate(**sums):
            numbers = (_day(row["bucket"]), row["e"], row["d"], row["b"], 0)
            if "total" in dimensions:
                rows.append(("total", "", *numbers))
            if "package" in dimensions:
                rows.append(("package", row["package"], *numbers))
    if "hour" in dimensions:
        hourly = rollups.filter(period="hour", dimension="total").values("bucket")
        for row in hourly.annotate(**sums):
            bucket = row["bucket"].astimezone(UTC)
            rows.append(("hour", f"{bucket:%H}", bucket.date(), row["e"], row["d"], row["b"], 0))
    if "total" in dimensions:
        rows += [
            ("total", "", day, 0, 0, 0, n)
            for day, n in _sources_of_days(organisation_id, days, packages)
        ]
    return rows


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _runs(days: list[date], field: str, moments: bool = True) -> Q:
    """`field` within one of `days` (see `_ranges`): a moment, or a date when
    not `moments`. One condition per run, not per day: a range of years is
    hundreds of thousands of days."""
    found = Q()
    for first, end in _ranges(days, moments):
        found |= Q(**{f"{field}__gte": first, f"{field}__lt": end})
    return found


def _ranges(days: list[date], moments: bool = True) -> list[tuple[Any, Any]]:
    """The sorted `days` as few [start, end) ranges of moments (or of dates)
    as they allow: an index then scans those days only, not what lies
    between them."""
    bound = _midnight if moments else (lambda day: day)
    return [(bound(first), bound(last + timedelta(days=1))) for first, last in _runs_of(days)]


def _runs_of(days: list[date]) -> list[tuple[date, date]]:
    """The sorted `days` as runs of consecutive days: [(first, last)]."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] == day - timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _sources_of_days(organisation_id, days, packages):

    from .models import SourceDay

    sources = SourceDay.objects.filter(
        _runs(days, "day", moments=False), organisation_id=organisation_id
    )
    if packages is not None:
        sources = sources.filter(package__in=packages)
    daily = sources.values("day").annotate(n=Count("source_id", distinct=True))
    return [(row["day"], row["n"]) for row in daily]


SOURCES_ROW = -1  # the GROUPING() of no row: marks _from_events' unique sources


def _from_events(organisation_id, days, dimensions, packages, filters):
    """Filtered counts of `days` from the raw events: one pass giving every
    dimension asked (a grouping set each), and the unique sources per day."""
    if connection.vendor != "postgresql":
        return _from_events_per_dimension(organisation_id, days, dimensions, packages, filters)
    expressions = {**summaries.DIMENSION_VALUES, "package": "e.package"}
    asked = [d for d in dimensions if d != "total"]
    columns = [f"v_{d}" for d in asked]
    sets = [f"(day, {column})" for column in columns] + (["(day)"] if "total" in dimensions else [])
    # GROUPING() sets a bit for each column a row is not grouped by, the
    # first column's the highest: a dimension's rows lack only its own bit.
    full = (1 << len(asked)) - 1
    dimension_of = {full ^ (1 << (len(asked) - 1 - n)): d for n, d in enumerate(asked)}
    dimension_of.update({full: "total", SOURCES_ROW: "total"})
    kept, params = _kept(filters, packages)
    ranges = _ranges(days)
    within = " OR ".join(
        f"(e.timestamp >= %(start{n})s AND e.timestamp < %(end{n})s)" for n in range(len(ranges))
    )
    sources = (
        f"SELECT {SOURCES_ROW}, '', day, 0, 0, 0, count(*) FROM (SELECT DISTINCT day, "  # noqa: S608
        f"e.source_id FROM kept e WHERE {summaries.SOURCE}) AS distinct_sources GROUP BY day"
    )
    values = "".join(f"{expressions[d]} AS v_{d}, " for d in asked)
    grouping = f"GROUPING({', '.join(columns)})" if columns else "0"
    value = "coalesce(" + ", ".join([*columns, "''"]) + ")"
    query = (
        f"WITH kept AS MATERIALIZED (SELECT {values}e.download, e.bot, e.source_id, "  # noqa: S608
        "(e.timestamp AT TIME ZONE 'UTC')::date AS day FROM analytics_downloadevent e "
        f"WHERE e.organisation_id = %(organisation)s AND ({within}){kept}) "
        f"SELECT {grouping}, {value}, day, {summaries.COUNTS}, 0 "
        f"FROM kept e GROUP BY GROUPING SETS ({', '.join(sets)})"
        + (f" UNION ALL {sources}" if "total" in dimensions else "")
    )
    for n, (start, end) in enumerate(ranges):
        params[f"start{n}"], params[f"end{n}"] = start, end
    with connection.cursor() as cursor:
        # Ingestion writes raw events in time order, so a day's rows fill
        # adjacent pages; the planner takes them for scattered over the month's
        # partition and scans all of it instead of the (organisation,
        # timestamp) index: 277 ms against 69 for today's rows at 10M events.
        # The memory keeps a day's kept rows and their sources off disk.
        cursor.execute("SET LOCAL enable_seqscan = off")  # in counts()' transaction
        cursor.execute("SET LOCAL work_mem = '32MB'")
        cursor.execute(query, {**params, "organisation": organisation_id})
        rows = cursor.fetchall()
        cursor.execute("SET LOCAL enable_seqscan TO DEFAULT")
        cursor.execute("SET LOCAL work_mem TO DEFAULT")
    return [(dimension_of[grouping], *row) for grouping, *row in rows]


# A dimension's value as a raw event has it, for the ORM (embedded mode).
ORM_VALUES = {
    "total": Value(""),
    "hour": LPad(Cast(ExtractHour("timestamp", tzinfo=UTC), CharField()), 2, Value("0")),
    "client_version": Trim(Concat("client", Value(" "), "client_version")),
}


def _from_events_per_dimension(organisation_id, days, dimensions, packages, filters) -> list:
    """`_from_events` for SQLite (no LATERAL): one query per dimension."""
    events = raw_events(organisation_id, days[0], days[-1], packages, filters).filter(
        _runs(days, "timestamp")
    )
    events = events.annotate(day=TruncDate("timestamp", tzinfo=UTC))
    counted = {
        "e": Count("id"),
        "d": Count("id", filter=Q(download=True, bot=False)),
        "b": Count("id", filter=Q(download=True, bot=True)),
    }
    rows = []
    for dimension in dimensions:
        values = events.annotate(value=ORM_VALUES.get(dimension, F(dimension)))
        for row in values.values("day", "value").annotate(**counted):
            rows.append((dimension, row["value"], row["day"], row["e"], row["d"], row["b"], 0))
    if "total" in dimensions:
        downloads = events.filter(download=True, bot=False).exclude(source_id="")
        for row in downloads.values("day").annotate(n=Count("source_id", distinct=True)):
            rows.append(("total", "", row["day"], 0, 0, 0, row["n"]))
    return rows


def _kept(filters: Filters, packages: Sequence[str] | None) -> tuple[str, dict]:
    """SQL conditions on raw events `e` keeping `filters` and `packages`."""
    conditions, params = [], {}
    for name, value in filters.given():
        if name == "ci":
            conditions.append("e.ci <> ''" if value == "true" else "e.ci = ''")
        else:
            conditions.append(f"e.{name} = %({name})s")
            params[name] = value
    if packages is not None:
        conditions.append("e.package = ANY(%(packages)s)")
        params["packages"] = list(packages)
    return "".join(f" AND {condition}" for condition in conditions), params


def _include_bots(organisation_id: int, metric: str, include_bots: bool | None) -> bool:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}")
    if include_bots is None:
        include_bots = AnalyticsSettings.for_organisation(organisation_id).count_bots
    return include_bots


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def period_start(day: date, value: str, interval: str) -> datetime:
    """The start of the hour (`value`: the hour of `day`), day, week or month."""
    if interval == "hour":
        return _midnight(day) + timedelta(hours=int(value))
    if interval == "week":
        day = day - timedelta(days=day.weekday())
    elif interval == "month":
        day = day.replace(day=1)
    return _midnight(day)


def package_activity(
    organisation_id: int,
    start: date,
    end: date,
    packages: Sequence[str] | None = None,
    include_bots: bool | None = None,
) -> dict[str, dict[str, Any]]:
    """Each package's (or each of `packages`') downloads in the range and the
    day of its last one there, in one query however many packages there are:
    `{package: {"downloads": int, "last": date | None}}` (packages without
    rows in the range left out)."""
    include_bots = _include_bots(organisation_id, "downloads", include_bots)
    downloaded = Q(downloads__gt=0) | Q(bot_downloads__gt=0) if include_bots else Q(downloads__gt=0)
    counted = (
        _daily_totals(organisation_id, start, end, packages)
        .values_list("package")
        .annotate(count=_downloads(include_bots), last=Max(_bucket_day(), filter=downloaded))
    )
    return {package: {"downloads": count or 0, "last": last} for package, count, last in counted}


def package_days(
    organisation_id: int, start: date, end: date, packages: Sequence[str]
) -> dict[str, dict[date, int]]:
    """Downloads per day of each of `packages` (days without any left out)."""
    include_bots = _include_bots(organisation_id, "downloads", None)
    rows = _daily_totals(organisation_id, start, end, packages).values_list(
        "package", _bucket_day()
    )
    by_package: dict[str, dict[date, int]] = {}
    for package, day, count in rows.annotate(count=_downloads(include_bots)):
        by_package.setdefault(package, {})[day] = count or 0
    return by_package


def _daily_totals(organisation_id: int, start: date, end: date, packages):
    """The rollups' daily totals per package: a short list a day."""
    rows = Rollup.objects.filter(
        organisation_id=organisation_id,
        period="day",
        dimension="total",
        bucket__gte=_midnight(start),
        bucket__lt=_midnight(end + timedelta(days=1)),
    )
    return rows if packages is None else rows.filter(package__in=packages)


def _bucket_day():
    """A daily bucket's day: read as a date, as it is a tenth of the cost of
    an aware datetime (thousands of rows for the packages list)."""
    return TruncDate("bucket", tzinfo=UTC)


def _downloads(include_bots: bool):
    return Sum(F("downloads") + F("bot_downloads")) if include_bots else Sum("downloads")
