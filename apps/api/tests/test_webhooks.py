"""Webhooks through the API: the secret shown once, test events, the
delivery log, and admins only."""

from __future__ import annotations

import pytest

from apps.webhooks.models import Webhook
from apps.webhooks.tasks import deliver
from apps.webhooks.tests.conftest import Receiver

from .conftest import api_client, issue_token

EVENTS = ["backend.health_changed", "downloads.daily_summary"]


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    started = Receiver()
    yield started
    started.stop()


def test_the_secret_is_shown_on_creation_only(api, receiver):
    created = api.post("/api/v1/webhooks/", {"url": receiver.url, "events": EVENTS}, format="json")
    shown = api.get(f"/api/v1/webhooks/{created.json()['id']}/").json()

    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret == Webhook.objects.get().secret
    assert "secret" not in shown
    assert shown["secret_hint"] == secret[:10] + "…"
    assert shown["events"] == sorted(EVENTS)


def test_a_test_event_is_delivered_and_logged(api, receiver):
    webhook = api.post("/api/v1/webhooks/", {"url": receiver.url, "events": EVENTS}, format="json")
    webhook_id = webhook.json()["id"]

    queued = api.post(f"/api/v1/webhooks/{webhook_id}/test/")
    deliver(queued.json()["id"], 1)
    log = api.get("/api/v1/webhook-deliveries/", {"webhook": webhook_id}).json()["results"]

    assert queued.status_code == 201
    assert queued.json()["event_type"] == "webhook.test"
    assert [(d["id"], d["status"], d["attempts"]) for d in log] == [
        (queued.json()["id"], "succeeded", 1)
    ]
    assert len(receiver.requests) == 1


def test_rotating_the_secret_replaces_it(api, receiver):
    webhook = api.post("/api/v1/webhooks/", {"url": receiver.url, "events": EVENTS}, format="json")

    rotated = api.post(f"/api/v1/webhooks/{webhook.json()['id']}/rotate-secret/")

    assert rotated.json()["secret"] != webhook.json()["secret"]
    assert Webhook.objects.get().secret == rotated.json()["secret"]


def test_a_private_address_is_refused_naming_the_url(api):
    response = api.post(
        "/api/v1/webhooks/", {"url": "http://127.0.0.1:6379/", "events": EVENTS}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "url"


def test_members_see_no_webhooks(acme, ada):
    reader = api_client(issue_token(acme, ada, scope="read"))

    assert reader.get("/api/v1/webhooks/").status_code == 403
    assert reader.get("/api/v1/webhook-deliveries/").status_code == 403
