"""What becomes a webhook event: backend health flips, finished migration
checks, and once a day yesterday's downloads."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from apps.analytics.tests.conftest import ingest, make_event
from apps.migration_checks.models import MigrationCheck
from apps.migration_checks.signals import migration_check_finished
from apps.packages.manifests import import_manifest
from apps.packages.models import Backend
from apps.packages.signals import backend_health_changed
from apps.webhooks.models import Delivery
from apps.webhooks.services import create_webhook
from apps.webhooks.tasks import send_daily_summaries

DOCKER_RULE = {
    "type": "docker-v1",
    "domain": "get.acme.test",
    "package-id": "app",
    "repository-name": "acme/app",
    "registry": "registry.acme.test",
}


def event_of(delivery: Delivery) -> dict:
    return json.loads(delivery.body)


def rule_of(acme):
    import_manifest(acme, {"rules": [DOCKER_RULE]}, verify_domains=True)
    return acme.packages.get().rules.get()


def test_a_backend_turning_unhealthy_is_sent_to_subscribers_only(acme, actor, webhook):
    create_webhook(acme, actor, webhook.url, ["downloads.daily_summary"])
    rule = rule_of(acme)
    backend = Backend.objects.create(rule=rule, config={"registry": "mirror.acme.test"})

    backend_health_changed.send(
        sender=Backend, rule=rule, backend=backend, healthy=False, error="HTTP 503", revision=None
    )

    [delivery] = Delivery.objects.all()
    assert delivery.webhook == webhook
    data = event_of(delivery)["data"]
    assert (data["healthy"], data["error"], data["primary"]) == (False, "HTTP 503", False)
    assert data["backend"]["id"] == backend.id
    assert data["target"] == "mirror.acme.test"
    assert data["package"] == "app"


def test_a_finished_migration_check_is_sent_with_its_outcome(acme, webhook):
    rule = rule_of(acme)
    check = MigrationCheck.objects.create(
        organisation=acme,
        rule=rule,
        old=rule.manifest_form(),
        new={**rule.manifest_form(), "registry": "ghcr.io"},
        pair="x" * 64,
        status=MigrationCheck.DIFFERENCES,
        report={"compared": 3, "counts": {"missing": 1, "different": 1, "extra": 0}},
    )

    migration_check_finished.send(sender=MigrationCheck, check=check)

    event = event_of(Delivery.objects.get())
    assert event["type"] == "migration_check.finished"
    assert event["data"]["check"] == check.id
    assert (event["data"]["old"], event["data"]["new"]) == ("registry.acme.test", "ghcr.io")
    assert event["data"]["counts"] == {"missing": 1, "different": 1, "extra": 0}
    assert event["data"]["clean"] is False


def test_yesterdays_downloads_are_summed_and_sent_once(acme, webhook):
    yesterday = datetime(2026, 3, 9, 15, 0, tzinfo=UTC).isoformat()
    ingest(
        [
            make_event(organisation=acme.id, timestamp=yesterday),
            make_event(organisation=acme.id, timestamp=yesterday),
            make_event(organisation=acme.id, timestamp=yesterday, package="app"),
        ]
    )
    now = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)

    assert send_daily_summaries(now) == 1
    assert send_daily_summaries(now) == 0

    summary = event_of(Delivery.objects.get())["data"]
    assert summary["date"] == date(2026, 3, 9).isoformat()
    assert summary["downloads"] == 3
    assert summary["top_packages"] == [
        {"package": "cli", "downloads": 2},
        {"package": "app", "downloads": 1},
    ]


def test_no_summary_is_sent_in_the_first_minutes_of_the_day(acme, webhook):
    assert send_daily_summaries(datetime(2026, 3, 10, 0, 5, tzinfo=UTC)) == 0
