"""Remembered decisions (routing.Routes.decide): the same answers as the rules
give, each request still recorded with its own id, time and client."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from apps.gateway.engine.http import Request
from apps.gateway.recording import stamp_events
from apps.gateway.routing import PER_CLIENT_HEADERS, compile_entry

from .test_serving_end_to_end import CASES

HOSTS = sorted({case[2].split(":")[0].lower() for case in CASES})


def entry_for(manifest: dict, host: str, **extra) -> dict:
    rules = [rule for rule in manifest["rules"] if rule["domain"] == host]
    return {
        "organisation": 7,
        "rules": [{"ref": str(n), "rule": r, **extra} for n, r in enumerate(rules)],
    }


def request(method, target, host, headers=(), client_ip="192.0.2.1") -> Request:
    path, mark, query = target.partition("?")
    return Request(
        method=method,
        host=host.split(":")[0].lower(),
        raw_path=path,
        raw_query=query if mark else None,
        headers=tuple((name.lower(), value) for name, value in dict(headers).items()),
        client_ip=client_ip,
    )


@pytest.fixture
def routes(every_rule_type):
    return {host: compile_entry(host, entry_for(every_rule_type, host), 1) for host in HOSTS}


@pytest.mark.parametrize(("method", "target", "host", "headers", "status", "location"), CASES)
def test_a_remembered_answer_is_the_rules_answer(
    routes, method, target, host, headers, status, location
):
    domain = routes[host.split(":")[0].lower()]
    first = domain.decide(request(method, target, host, headers))
    again = domain.decide(request(method, target, host, headers))

    assert again is first  # remembered
    assert (again.outcome.response.status, again.outcome.response.location) == (status, location)
    assert again.outcome == domain.resolve(request(method, target, host, headers))


@pytest.mark.parametrize(("method", "target", "host", "headers", "status", "location"), CASES)
def test_per_client_headers_change_no_rule_answer(
    routes, method, target, host, headers, status, location
):
    """What the key leaves out must be what no rule reads."""
    domain = routes[host.split(":")[0].lower()]
    noisy = {**headers, **{name: f"203.0.113.{n}" for n, name in enumerate(PER_CLIENT_HEADERS)}}

    plain = domain.resolve(request(method, target, host, headers))
    proxied = domain.resolve(request(method, target, host, noisy))

    assert proxied == plain


def test_clients_behind_a_proxy_share_a_remembered_answer(routes):
    domain = routes["get.acme.test"]
    first = request("GET", "/install.sh", "get.acme.test", {"X-Forwarded-For": "203.0.113.1"})
    second = request("GET", "/install.sh", "get.acme.test", {"X-Forwarded-For": "203.0.113.2"})

    assert domain.decide(second) is domain.decide(first)


def test_each_request_gets_its_own_event(routes):
    domain = routes["get.acme.test"]
    events = [
        stamp_events(
            domain.decide(request("GET", "/install.sh", "get.acme.test", client_ip=ip)).events,
            request("GET", "/install.sh", "get.acme.test", {"User-Agent": ua}, client_ip=ip),
        )[0]
        for ip, ua in (("192.0.2.1", "curl/8.5"), ("192.0.2.2", "Wget/1.21"))
    ]

    assert events[0]["id"] != events[1]["id"]
    assert [e["client_ip"] for e in events] == ["192.0.2.1", "192.0.2.2"]
    assert [e["user_agent"] for e in events] == ["curl/8.5", "Wget/1.21"]
    assert {e["target"] for e in events} == {"https://raw.example.com/acme/install.sh"}


def test_an_event_carries_the_first_line_of_each_client_header_and_the_time(routes):
    domain = routes["get.acme.test"]
    headers = (
        ("user-agent", "curl/8.5"),
        ("referer", "https://docs.acme.test/"),
        ("dnt", "1"),
        ("user-agent", "second line"),
        ("sec-gpc", "1"),
        ("referer", "https://later.test/"),
    )
    asked = Request(method="GET", host="get.acme.test", raw_path="/install.sh", headers=headers)
    before = datetime.now(UTC) - timedelta(milliseconds=1)  # rounding apart
    (event,) = stamp_events(domain.decide(asked).events, asked)
    after = datetime.now(UTC) + timedelta(milliseconds=1)

    assert (event["user_agent"], event["referer"]) == ("curl/8.5", "https://docs.acme.test/")
    assert (event["dnt"], event["gpc"]) == (True, True)
    assert before <= datetime.fromisoformat(event["timestamp"]) <= after
    assert event["timestamp"].endswith("+00:00")


def test_a_request_with_a_body_is_not_remembered(routes):
    domain = routes["get.acme.test"]
    with_body = request("GET", "/install.sh", "get.acme.test", {"Content-Length": "2"})

    assert domain.decide(with_body) is not domain.decide(with_body)


def test_canary_domains_draw_for_every_request(every_rule_type):
    alternate = {
        "id": 1,
        "config": {"outgoing-url": "https://mirror.example/install.sh"},
        "weight": 50,
        "healthy": True,
    }
    entry = entry_for(every_rule_type, "get.acme.test", backends=[alternate], primary_healthy=True)
    domain = compile_entry("get.acme.test", entry, 1, draw=random.Random(3).random)

    locations = {
        domain.decide(request("GET", "/install.sh", "get.acme.test")).outcome.response.location
        for _ in range(50)
    }

    assert not domain.remember
    assert len(locations) == 2
