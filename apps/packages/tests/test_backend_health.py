"""Health checks: N failed checks make a backend unhealthy, M good ones healthy
again; a flip is a revision and a signal, and republishes the routing entry,
while checks that change nothing publish nothing. The backends are real HTTP
servers on loopback."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.accounts.models import Organisation, User
from apps.gateway import probes
from apps.gateway.routing import VERSION_KEY
from apps.packages import services
from apps.packages.health import observe
from apps.packages.models import Backend, PrimaryHealth, Revision, Rule
from apps.packages.signals import backend_health_changed
from apps.packages.tasks import check_backend_health

pytestmark = pytest.mark.django_db


class ControlledBackend(BaseHTTPRequestHandler):
    status = 200

    def do_HEAD(self):  # noqa: N802 - http.server's naming
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD  # noqa: N815

    def log_message(self, *args):
        pass


@pytest.fixture
def backend_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ControlledBackend)
    server.status = 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def rule(backend_server, settings):
    settings.BACKEND_UNHEALTHY_AFTER = 3
    settings.BACKEND_HEALTHY_AFTER = 2
    settings.BACKEND_PROBE_TIMEOUT = 1.0
    user = User.objects.create_user("ada@example.com", "correct horse battery")
    acme = Organisation.create_for(user, "Acme")
    host = f"http://127.0.0.1:{backend_server.server_port}"
    form = {
        "type": "file-v1",
        "domain": acme.domains.get().hostname,
        "package-id": "cli",
        "incoming-path": "/cli/{file}",
        "outgoing-url": host + "/cli/{file}",
    }
    created = services.create_rule(acme, services.SYSTEM, form)
    services.add_backend(created, services.SYSTEM, {"outgoing-url": host + "/mirror/{file}"})
    return created


@pytest.fixture
def flips():
    seen = []

    def receiver(sender, **kwargs):
        seen.append((kwargs["backend"], kwargs["healthy"], kwargs["error"]))

    backend_health_changed.connect(receiver)
    yield seen
    backend_health_changed.disconnect(receiver)


def test_a_backend_turns_unhealthy_after_three_failed_checks(
    rule, backend_server, django_capture_on_commit_callbacks, flips
):
    backend_server.status = 503

    with django_capture_on_commit_callbacks(execute=True):
        changes = [check_backend_health() for _ in range(3)]

    assert changes == [0, 0, 2]  # the primary and the alternate, at the third check
    health = PrimaryHealth.objects.get(rule=rule)
    assert (health.healthy, health.consecutive_failures) == (False, 3)
    assert "answered 503" in health.last_error
    assert not Backend.objects.get(rule=rule).healthy
    assert sorted(healthy for _, healthy, _ in flips) == [False, False]


def test_it_turns_healthy_again_after_two_good_checks(
    rule, backend_server, django_capture_on_commit_callbacks, flips
):
    backend_server.status = 503
    for _ in range(3):
        check_backend_health()
    backend_server.status = 200

    with django_capture_on_commit_callbacks(execute=True):
        changes = [check_backend_health() for _ in range(2)]

    assert changes == [0, 2]
    health = PrimaryHealth.objects.get(rule=rule)
    assert (health.healthy, health.last_error, health.consecutive_successes) == (True, "", 2)
    assert sorted(healthy for _, healthy, _ in flips) == [True, True]


def test_a_flip_is_a_revision_by_the_system_that_cannot_be_rolled_back(rule, backend_server):
    backend_server.status = 503
    for _ in range(3):
        check_backend_health()

    revisions = Revision.objects.filter(action=Revision.HEALTH)
    assert sorted(r.object_type for r in revisions) == ["backend", "rule"]
    revision = revisions.get(object_type="backend")
    assert (revision.actor, revision.before["healthy"], revision.after["healthy"]) == (
        "system",
        True,
        False,
    )
    with pytest.raises(services.Rejected):
        services.rollback(revision, services.SYSTEM)


def test_checks_that_change_nothing_publish_nothing(
    rule, backend_server, redis_db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        check_backend_health()  # the primary's health row is created: published once
    version = redis_db.get(VERSION_KEY)

    with django_capture_on_commit_callbacks(execute=True):
        check_backend_health()
        check_backend_health()

    assert redis_db.get(VERSION_KEY) == version
    assert PrimaryHealth.objects.get(rule=rule).consecutive_successes == 3


def test_an_unreachable_backend_is_a_failed_check(rule, settings):
    Backend.objects.filter(rule=rule).update(config={"outgoing-url": "http://127.0.0.1:9/{file}"})

    check_backend_health()

    backend = Backend.objects.get(rule=rule)
    assert backend.consecutive_failures == 1
    assert "127.0.0.1:9" in backend.last_error
    assert PrimaryHealth.objects.get(rule=rule).consecutive_failures == 0


def test_the_beat_runs_the_checks(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["check-backend-health"]

    assert entry["task"] == "apps.packages.tasks.check_backend_health"
    assert entry["schedule"] == settings.BACKEND_HEALTH_INTERVAL


def test_a_rule_deleted_during_a_round_of_checks_is_left_out(rule):
    """Its primary's health had nothing to attach to: the round failed with
    an IntegrityError, losing every check after it (seen after an import)."""
    deleted = Rule.objects.get(id=rule.id)
    Rule.objects.filter(id=rule.id).delete()

    assert observe(deleted, None, probes.failed("gone")) is False
    assert not PrimaryHealth.objects.filter(rule_id=rule.id).exists()
