"""Every change that moves where users' downloads go, every new write token
and every new owner e-mails the organisation's owners (through the outbox
and a real Celery worker): what changed, by whom, from where, and a link
that undoes it."""

import re
import time

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from apps.accounts.models import ApiToken, Membership
from apps.api.tests.conftest import api_client, issue_token
from apps.dashboard.tests.conftest import edit_form, make_user
from apps.packages import services
from scarf.testing import sign_in

pytestmark = pytest.mark.usefixtures("celery_worker")

NEW_URL = "https://mirror.example/cli/{version}/{file}"


def owner_mail(count: int = 1, timeout: float = 30):
    """The first `count` messages, once the worker has sent them."""
    deadline = time.monotonic() + timeout
    while len(mail.outbox) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return mail.outbox[:count]


@pytest.fixture
def rule(acme):
    return acme.packages.get(key="cli").rules.get()


@pytest.fixture
def ada(client, acme):
    """Acme's owner, signed in."""
    return sign_in(client, acme.memberships.get(role=Membership.OWNER).user)


def test_a_backend_switch_tells_the_owners_what_who_where_and_how_to_undo(signed_in, rule):
    before = rule.config["outgoing-url"]
    signed_in("admin").post(
        reverse("rule-edit", args=[rule.id]), edit_form(rule, outgoing_url=NEW_URL, confirm="1")
    )

    (message,) = owner_mail()

    assert message.to == ["ada@example.com"]
    assert "[Acme] Where downloads go" in message.subject
    assert f"outgoing-url: {before} → {NEW_URL}" in message.body
    assert re.search(r"By:\s+admin-\d+@example.com", message.body)
    assert re.search(r"From:\s+127\.0\.0\.0/24", message.body)
    link = re.search(r"To undo it: (\S+)", message.body).group(1)
    assert link.startswith(settings.SITE_URL + "/revisions/")


def test_the_link_in_the_email_rolls_the_switch_back(signed_in, rule, acme):
    before = rule.config["outgoing-url"]
    admin = signed_in("admin")
    admin.post(
        reverse("rule-edit", args=[rule.id]), edit_form(rule, outgoing_url=NEW_URL, confirm="1")
    )
    (message,) = owner_mail()
    path = re.search(r"To undo it: (\S+)", message.body).group(1).removeprefix(settings.SITE_URL)

    page = admin.get(path)
    admin.post(re.search(r'action="(/revisions/\d+/rollback/)"', page.content.decode()).group(1))

    rule.refresh_from_db()
    assert page.status_code == 200
    assert rule.config["outgoing-url"] == before


def test_a_switch_through_the_api_names_the_token(acme, rule):
    owner = acme.memberships.get().user
    api = api_client(issue_token(acme, owner))

    api.patch(f"/api/v1/rules/{rule.id}/", {"outgoing-url": NEW_URL}, format="json")

    _new_token, message = sorted(owner_mail(2), key=lambda m: "Where downloads go" in m.subject)
    assert re.search(r"By:\s+token write token \(gw_", message.body)


def test_a_new_rule_tells_the_owners_where_it_sends_downloads(signed_in, acme):
    cli = acme.packages.get(key="cli")
    services.claim_domain(acme, services.SYSTEM, "dl.acme.test")

    signed_in("admin").post(
        reverse("rule-new", args=[cli.id]) + "?type=file-v1",
        {
            "domain": "dl.acme.test",
            "incoming_path": "/other/{file}",
            "outgoing_url": "https://elsewhere.example/{file}",
            "package_name": cli.name,
        },
    )

    (message,) = owner_mail()
    assert "outgoing-url: (none) → https://elsewhere.example/{file}" in message.body


def test_a_new_write_token_tells_the_owners_and_a_read_token_does_not(signed_in, acme):
    admin = signed_in("admin")
    admin.post(reverse("tokens"), {"name": "ci-read", "scope": "read"})
    admin.post(reverse("tokens"), {"name": "deploy", "scope": "write"})

    messages = owner_mail(2, timeout=5)

    assert len(messages) == 1
    assert "New write token: new write token deploy" in messages[0].subject
    assert ApiToken.objects.filter(organisation=acme).count() == 2


def test_a_new_owner_tells_the_owners(ada, acme):
    grace = make_user("grace@example.com")
    membership = Membership.objects.create(user=grace, organisation=acme, role=Membership.ADMIN)

    ada.post(reverse("member-role", args=[membership.id]), {"role": "owner"})

    (message,) = owner_mail()
    assert sorted(message.to) == ["ada@example.com", "grace@example.com"]
    assert "grace@example.com is now an owner" in message.subject
    assert re.search(r"By:\s+ada@example.com", message.body)


def test_the_security_log_lists_sign_ins_and_changes(client, acme, rule):
    client.post(
        "/accounts/login/",
        {"username": "ada@example.com", "password": "correct horse battery"},
        HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.0.0 Safari/537.36",
        REMOTE_ADDR="198.51.100.23",
    )
    client.post(
        reverse("rule-edit", args=[rule.id]),
        edit_form(rule, outgoing_url=NEW_URL, confirm="1"),
        REMOTE_ADDR="198.51.100.23",
    )

    page = client.get(reverse("security-log")).content.decode()

    assert "Sign-in: signed in with password</td>" in page
    assert "198.51.100.0/24, Chrome on Linux" in page
    assert "198.51.100.23" not in page
    assert f"{NEW_URL}" in page
