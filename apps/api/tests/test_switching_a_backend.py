"""The promise: one PATCH switches a backend on a running gateway within a
second, and no request fails while it happens."""

import threading
import time

import pytest

from apps.gateway.tests.test_live_changes import location
from apps.packages.models import Rule

from .conftest import api_client, issue_token

pytestmark = pytest.mark.slow

OLD = "https://raw.example.com/acme/install.sh"
NEW = "https://mirror.example.net/acme/install.sh"


def hammer(server, results: list, stop: threading.Event) -> None:
    """Ask for the download again and again, noting when each request began."""
    while not stop.is_set():
        began = time.monotonic()
        try:
            answer = location(server, "get.acme.test", "/install.sh")
        except OSError as error:
            answer = ("failed", repr(error))
        results.append((began, answer))


def test_one_patch_switches_a_serving_gateway_within_a_second_and_fails_no_request(
    gateway_server, acme, ada
):
    rule = Rule.objects.get(domain__organisation=acme, package__key="install-script")
    client = api_client(issue_token(acme, ada))
    gateway_server.start()
    results, stop = [], threading.Event()
    threads = [
        threading.Thread(target=hammer, args=(gateway_server, results, stop)) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)

    response = client.patch(f"/api/v1/rules/{rule.id}/", {"outgoing-url": NEW}, format="json")
    switched = time.monotonic()
    time.sleep(1.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=15)

    assert response.status_code == 200
    assert response.json()["outgoing-url"] == NEW
    answers = {answer for _, answer in results}
    assert answers <= {(307, OLD), (307, NEW)}, answers - {(307, OLD), (307, NEW)}
    assert (307, OLD) in {answer for began, answer in results if began < switched}
    late = [answer for began, answer in results if began >= switched + 1.0]
    assert late
    assert set(late) == {(307, NEW)}
