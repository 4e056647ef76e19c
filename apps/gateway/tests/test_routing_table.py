"""The routing table against a real Redis and PostgreSQL."""

import json
import time

import pytest
import redis

from apps.gateway.engine.http import Request
from apps.gateway.routing import (
    DOMAIN_KEY,
    PUBLISHED_KEY,
    RedisSource,
    RoutingTable,
    publish_all,
)
from apps.packages.models import Domain, Rule

pytestmark = pytest.mark.django_db(transaction=True)

INSTALL = Request("GET", "get.acme.test", "/install.sh")


def location(table, request=INSTALL):
    routes = table.get(request.host)
    return None if routes is None else routes.resolve(request).response.location


def move_install_script(url: str) -> None:
    rule = Rule.objects.get(type="file-v1", config__contains={"incoming-path": "/install.sh"})
    rule.config = {**rule.config, "outgoing-url": url}
    rule.save()


def dead_redis() -> redis.Redis:
    return redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)


@pytest.fixture
def table(imported):
    publish_all()
    table = RoutingTable(RedisSource())
    yield table
    table.stop_watching()


def test_committed_changes_are_published_to_redis(imported, redis_db):
    move_install_script("https://mirror.example.net/install.sh")

    entry = json.loads(redis_db.get(DOMAIN_KEY + "get.acme.test"))
    rules = [item["rule"] for item in entry["rules"]]
    assert {"type": "file-v1", "outgoing-url": "https://mirror.example.net/install.sh"}.items() <= (
        next(r for r in rules if r.get("incoming-path") == "/install.sh").items()
    )
    assert entry["organisation"] == imported.id


def test_a_watching_table_applies_a_change_without_a_restart(table):
    table.start_watching()
    assert location(table) == "https://raw.example.com/acme/install.sh"

    move_install_script("https://mirror.example.net/install.sh")
    deadline = time.monotonic() + 5
    while location(table) != "https://mirror.example.net/install.sh":
        assert time.monotonic() < deadline, "the change never arrived"
        time.sleep(0.02)


def test_a_deleted_domain_stops_being_served(table):
    table.start_watching()
    assert location(table) is not None

    Domain.objects.filter(hostname="get.acme.test").delete()
    deadline = time.monotonic() + 5
    while table.get("get.acme.test") is not None:
        assert time.monotonic() < deadline, "the deletion never arrived"
        time.sleep(0.02)


def test_it_keeps_serving_the_last_good_entry_when_redis_is_down(table):
    assert location(table) == "https://raw.example.com/acme/install.sh"

    table.source.client = dead_redis()

    assert location(table) == "https://raw.example.com/acme/install.sh"


def test_cold_with_redis_down_it_builds_from_the_database(table):
    table.source.client = dead_redis()

    assert location(table) == "https://raw.example.com/acme/install.sh"


def test_when_redis_lost_its_entries_it_builds_from_the_database_and_republishes(table, redis_db):
    redis_db.flushdb()

    assert location(table) == "https://raw.example.com/acme/install.sh"
    table.source.ensure_published()
    assert redis_db.exists(PUBLISHED_KEY)
    assert redis_db.exists(DOMAIN_KEY + "get.acme.test")


def test_an_unknown_host_has_no_routes(table):
    assert table.get("nobody.example.org") is None


def test_an_older_load_never_replaces_a_newer_entry(table):
    assert location(table) == "https://raw.example.com/acme/install.sh"
    move_install_script("https://mirror.example.net/install.sh")
    table.apply_change("get.acme.test", 10**9)  # the newest version we know of

    table._store("get.acme.test", 1, None)  # a slow, stale load finishing late

    assert location(table) == "https://mirror.example.net/install.sh"


def test_a_transaction_publishes_each_domain_once_after_commit(imported, redis_db):
    from django.db import transaction

    before = redis_db.xlen("routing:changes")
    with transaction.atomic():
        for rule in Rule.objects.filter(domain__hostname="get.acme.test"):
            rule.save()
        assert redis_db.xlen("routing:changes") == before  # nothing before the commit

    assert redis_db.xlen("routing:changes") == before + 1


def test_a_rolled_back_transaction_publishes_nothing_and_later_changes_still_publish(
    imported, redis_db
):
    from django.db import transaction

    before = redis_db.xlen("routing:changes")

    def change_then_fail():
        with transaction.atomic():
            Rule.objects.filter(domain__hostname="get.acme.test").first().save()
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert redis_db.xlen("routing:changes") == before

    move_install_script("https://mirror.example.net/install.sh")

    assert redis_db.xlen("routing:changes") == before + 1
