"""Download events, their rollups, and each organisation's analytics policy.

Raw events are what the gateway recorded, enriched and without the client IP
(GATEWAY-DECISIONS §8; the IP is dropped during ingestion). Rollups are what
dashboards and the API read: small, pre-aggregated counters that ingestion
folds in the same transaction as the raw rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class DownloadEvent(models.Model):
    """One request a rule claimed, enriched at ingestion.

    `id` is a UUIDv7-style sortable id assigned by the gateway, so a
    re-delivered event is stored once. On PostgreSQL the table is partitioned
    by month of `timestamp` (migration 0005; the real primary key is
    (id, timestamp)).
    """

    id = models.CharField(primary_key=True, max_length=36)
    timestamp = models.DateTimeField()
    organisation_id = models.BigIntegerField()
    domain = models.CharField(max_length=253)
    rule_id = models.BigIntegerField(null=True)
    rule_type = models.CharField(max_length=30)
    package = models.CharField(max_length=200, blank=True)
    method = models.CharField(max_length=16)
    path = models.TextField()
    status = models.PositiveSmallIntegerField()
    target = models.TextField(blank=True)
    capture = models.JSONField(default=dict)
    user_agent = models.TextField(blank=True)
    referer = models.TextField(blank=True)
    dnt = models.BooleanField(default=False)
    gpc = models.BooleanField(default=False)
    # Enrichment (apps/analytics/enrichment.py).
    download = models.BooleanField(default=False, help_text="counts as a download or pull")
    version = models.CharField(max_length=200, blank=True)
    client = models.CharField(max_length=50, blank=True)
    client_version = models.CharField(max_length=50, blank=True)
    os = models.CharField(max_length=50, blank=True)
    arch = models.CharField(max_length=20, blank=True)
    ci = models.CharField(max_length=50, blank=True, help_text="CI system; empty: not CI")
    bot = models.BooleanField(default=False)
    country = models.CharField(max_length=2, blank=True)
    asn_org = models.CharField(max_length=200, blank=True)
    source_id = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-timestamp"]
        indexes = [
            models.Index(fields=["organisation_id", "timestamp"], name="analytics_event_org_time")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.domain}{self.path} -> {self.status}"


class Rollup(models.Model):
    """Counters for one organisation, package, time bucket and dimension value.

    `dimension` is one of `ingest.DIMENSIONS` (`total` has the empty value); `period`
    is `day` for every dimension and also `hour` for `total`; `bucket` is the
    period's start (UTC). `downloads` excludes bots,
    `bot_downloads` holds them, so the per-organisation bot toggle is a read-time
    choice. Every query filters on organisation, period, dimension and a bucket
    range, which is the unique constraint's prefix; reads of a few packages
    have an index led by the package.
    """

    organisation_id = models.BigIntegerField()
    period = models.CharField(max_length=4)
    dimension = models.CharField(max_length=16)
    bucket = models.DateTimeField()
    package = models.CharField(max_length=200)
    value = models.CharField(max_length=255)
    events = models.BigIntegerField(default=0)
    downloads = models.BigIntegerField(default=0)
    bot_downloads = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation_id", "period", "dimension", "bucket", "package", "value"],
                name="analytics_rollup_key",
            )
        ]
        indexes = [
            # One package's or a page of packages' counts (migration 0010).
            models.Index(
                fields=["organisation_id", "package", "period", "dimension", "bucket"],
                name="analytics_rollup_by_package",
            )
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.bucket:%Y-%m-%d %H:00} {self.dimension}={self.value}"


class SourceDay(models.Model):
    """A source (keyed hash of IP + User-Agent, daily salt) that downloaded a
    package on a day: counting rows gives unique sources per day. The salt
    changes daily, so sources cannot be followed from one day to the next.
    The key is the primary key (no surrogate id): ingestion inserts about
    one row per event, and each index kept costs it (migration 0009)."""

    pk = models.CompositePrimaryKey("organisation_id", "day", "package", "source_id")
    organisation_id = models.BigIntegerField()
    day = models.DateField()
    package = models.CharField(max_length=200)
    source_id = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"{self.day} {self.package} {self.source_id}"


class AnalyticsSettings(models.Model):
    """An organisation's analytics policy; an organisation without a row
    gets the defaults (see `for_organisation`)."""

    organisation = models.OneToOneField(
        "accounts.Organisation",
        models.CASCADE,
        primary_key=True,
        related_name="analytics_settings",
    )
    retention_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="days raw events are kept; empty: ANALYTICS_RETENTION_DAYS"
    )
    count_bots = models.BooleanField(
        default=False, help_text="include known bots and link previewers in download counts"
    )
    collect_country = models.BooleanField(
        default=True,
        help_text="record the country each download comes from (looked up from the IP)",
    )
    collect_asn = models.BooleanField(
        default=True,
        help_text="record the network (AS organisation) each download comes from (from the IP)",
    )
    collect_referer = models.BooleanField(
        default=True, help_text="record the page that linked to the download (Referer header)"
    )

    class Meta:
        verbose_name_plural = "analytics settings"

    def __str__(self) -> str:
        return f"analytics settings of organisation {self.organisation_id}"

    @classmethod
    def for_organisation(cls, organisation_id: int) -> AnalyticsSettings:
        found = cls.objects.filter(organisation_id=organisation_id).first()
        return found or cls(organisation_id=organisation_id)

    @property
    def effective_retention_days(self) -> int:
        return self.retention_days or settings.ANALYTICS_RETENTION_DAYS


class DaySummary(models.Model):
    """What one organisation's events of one finished UTC day count, grouped
    the ways pages and the API ask (apps/analytics/summaries.py fills it).

    A row counts the events of `package` (empty: all packages) that have
    `filter_value` for `filter` (empty: no filter; `ci` is "true" or "false"),
    per `value` of `dimension` (`total` has the empty value, `hour` the UTC
    hour "00".."23", `package` the package key). `sources` is set on `total`
    rows only: the distinct sources that downloaded (bots left out) that day.
    Networks and client versions keep each group's largest values only, the
    rest summed under `summaries.OTHER`.
    """

    pk = models.CompositePrimaryKey(
        "organisation_id", "package", "filter", "filter_value", "day", "dimension", "value"
    )
    organisation_id = models.BigIntegerField()
    package = models.CharField(max_length=200)
    filter = models.CharField(max_length=16)
    filter_value = models.CharField(max_length=200)
    day = models.DateField()
    dimension = models.CharField(max_length=16)
    value = models.CharField(max_length=255)
    events = models.BigIntegerField()
    downloads = models.BigIntegerField()
    bot_downloads = models.BigIntegerField()
    sources = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.day} {self.filter}={self.filter_value} {self.dimension}={self.value}"


class SummarisedDay(models.Model):
    """The organisation's `day` is in DaySummary, up to date with its raw
    events (ingestion deletes the marker when a late event arrives)."""

    organisation_id = models.BigIntegerField()
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation_id", "day"], name="analytics_summarisedday_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.day}"
