"""The webhooks page: create one (the secret shown once), send a test event."""

from __future__ import annotations

from django.urls import reverse

from apps.accounts.models import Membership
from apps.webhooks.models import Delivery, Webhook

EVENTS = ["migration_check.finished", "backend.health_changed"]


def test_an_admin_creates_a_webhook_and_sees_its_secret_once(signed_in):
    client = signed_in(Membership.ADMIN)

    created = client.post(
        reverse("webhooks"), {"url": "https://93.184.215.14/hook", "events": EVENTS}
    ).content.decode()
    again = client.get(reverse("webhooks")).content.decode()

    webhook = Webhook.objects.get()
    assert webhook.secret in created
    assert webhook.secret not in again
    assert webhook.secret_hint in again


def test_a_private_url_is_refused_on_the_form(signed_in):
    client = signed_in(Membership.ADMIN)

    page = client.post(reverse("webhooks"), {"url": "http://10.0.0.7/hook", "events": EVENTS})

    assert "non-public address" in page.content.decode()
    assert Webhook.objects.count() == 0


def test_a_test_event_is_queued_from_the_page(signed_in, acme):
    client = signed_in(Membership.OWNER)
    webhook = Webhook.objects.create(
        organisation=acme, url="https://93.184.215.14/hook", events=EVENTS
    )

    client.post(reverse("webhook-test", args=[webhook.id]))

    assert Delivery.objects.get().event_type == "webhook.test"
    assert "webhook.test" in client.get(reverse("webhooks")).content.decode()


def test_members_have_no_webhooks_page(signed_in):
    client = signed_in(Membership.MEMBER)

    assert client.get(reverse("webhooks")).status_code == 403
    assert "Webhooks</a>" not in client.get(reverse("home")).content.decode()


def test_another_organisations_webhook_is_not_found(signed_in, globex):
    client = signed_in(Membership.OWNER)
    theirs = Webhook.objects.create(
        organisation=globex, url="https://93.184.215.14/globex", events=EVENTS
    )

    for name in ("webhook-test", "webhook-rotate", "webhook-delete"):
        assert client.post(reverse(name, args=[theirs.id])).status_code == 404
    assert "globex" not in client.get(reverse("webhooks")).content.decode()
    assert Webhook.objects.get(id=theirs.id).secret == theirs.secret
    assert Delivery.objects.count() == 0
