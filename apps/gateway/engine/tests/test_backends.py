"""Several backends per rule: the primary while it is healthy, the first healthy
alternate when it is not, canary weights among healthy backends, and every
outcome saying which backend served."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

import pytest

from apps.gateway.engine.backends import (
    Alternate,
    BackendSet,
    alternate_rule,
    check_weights,
    with_backends,
)
from apps.gateway.engine.compile import compile_domain_rules
from apps.gateway.engine.http import Request
from apps.gateway.engine.manifest import parse_rule
from apps.gateway.engine.outcome import Document, Fetch, Proxy, Redirect
from apps.gateway.engine.rules import FieldError

DOMAIN = "get.acme.test"
DOCKER_UA = (("user-agent", "docker/27.0"),)
SKOPEO_UA = (("user-agent", "skopeo/1.13"),)

APP = {
    "type": "docker-v1",
    "domain": DOMAIN,
    "package-id": "app",
    "repository-name": "acme/app",
    "registry": "ghcr.io",
}
CLI = {
    "type": "file-v1",
    "domain": DOMAIN,
    "package-id": "cli",
    "incoming-path": "/cli/{version}/{file}",
    "outgoing-url": "https://github.com/acme/cli/releases/download/v{version}/{file}",
}
TOOL = {
    "type": "python-index-v1",
    "domain": DOMAIN,
    "package-id": "tool",
    "package-name": "acme-tool",
    "backend-simple-index-url": "https://pypi.example/simple/",
}
WHEEL = {
    "type": "python-v1",
    "domain": DOMAIN,
    "package-id": "tool",
    "package-name": "acme-tool",
    "file-name": "acme_tool-1.0-py3-none-any.whl",
    "version": "1.0",
    "backend-url": "https://files.example.com/acme_tool-1.0-py3-none-any.whl",
}
GREET = {
    "type": "npm-v1",
    "domain": DOMAIN,
    "package-id": "greet",
    "package-name": "acme-greet",
    "registry": "https://registry.example/",
}


def compiled(manifest, backends, primary_healthy=True, seed=1, others=()):
    rule = replace(parse_rule(manifest), ref="7")
    draw = random.Random(seed).random
    chosen = with_backends(rule, manifest, backends, primary_healthy, draw)
    rules = [chosen, *(parse_rule(other) for other in others)]
    return compile_domain_rules(DOMAIN, rules)


def get(routes, target, headers=DOCKER_UA):
    path, mark, query = target.partition("?")
    return routes.resolve(Request("GET", DOMAIN, path, query if mark else None, headers))


def alternate(id, healthy=True, weight=None, **config):
    return {
        "id": id,
        "config": {k.replace("_", "-"): v for k, v in config.items()},
        "weight": weight,
        "healthy": healthy,
    }


MANIFEST = "/v2/acme/app/manifests/1.0"


def test_the_primary_answers_while_it_is_healthy():
    routes = compiled(APP, [alternate(3, registry="registry-1.docker.io")])

    outcome = get(routes, MANIFEST)

    assert outcome.response == Redirect("https://ghcr.io/v2/acme/app/manifests/1.0")
    assert outcome.captures[0].fields["backend"] == 0
    assert outcome.captures[0].fields["backend_id"] is None


def test_an_unhealthy_primary_fails_over_to_the_first_healthy_alternate():
    routes = compiled(
        APP,
        [
            alternate(3, healthy=False, registry="down.example"),
            alternate(4, registry="registry-1.docker.io"),
            alternate(5, registry="quay.io"),
        ],
        primary_healthy=False,
    )

    outcome = get(routes, MANIFEST)

    assert outcome.response == Redirect("https://registry-1.docker.io/v2/acme/app/manifests/1.0")
    assert (outcome.captures[0].fields["backend"], outcome.captures[0].fields["backend_id"]) == (
        2,
        4,
    )
    assert outcome.rule_ref == "7"


def test_proxied_pulls_fail_over_too():
    routes = compiled(APP, [alternate(3, registry="http://127.0.0.1:5001")], primary_healthy=False)

    assert get(routes, MANIFEST, SKOPEO_UA).response == Proxy("http://127.0.0.1:5001")


def test_when_every_backend_is_unhealthy_the_primary_answers():
    routes = compiled(APP, [alternate(3, healthy=False, registry="quay.io")], primary_healthy=False)

    assert get(routes, MANIFEST).response == Redirect("https://ghcr.io/v2/acme/app/manifests/1.0")


def test_a_canary_of_weight_10_takes_10_percent_of_2000_requests():
    routes = compiled(APP, [alternate(3, weight=10, registry="quay.io")], seed=2026)

    served = Counter(get(routes, MANIFEST).captures[0].fields["backend"] for _ in range(2000))

    assert served[0] + served[1] == 2000
    assert 160 <= served[1] <= 240, served  # 10 % ± 2 %


def test_an_unhealthy_canary_takes_nothing():
    routes = compiled(APP, [alternate(3, healthy=False, weight=50, registry="quay.io")])

    served = Counter(get(routes, MANIFEST).captures[0].fields["backend"] for _ in range(200))

    assert served == {0: 200}


def test_a_canary_keeps_its_share_when_the_primary_fails_over():
    routes = compiled(
        APP,
        [alternate(3, registry="failover.example"), alternate(4, weight=30, registry="quay.io")],
        primary_healthy=False,
        seed=5,
    )

    served = Counter(get(routes, MANIFEST).captures[0].fields["backend"] for _ in range(1000))

    assert set(served) == {1, 2}
    assert 250 <= served[2] <= 350


def test_a_weighted_alternate_is_the_failover_when_nothing_else_is_healthy():
    routes = compiled(APP, [alternate(3, weight=10, registry="quay.io")], primary_healthy=False)

    served = Counter(get(routes, MANIFEST).captures[0].fields["backend"] for _ in range(100))

    assert served == {1: 100}


def test_file_rules_redirect_to_the_alternate_template():
    routes = compiled(
        CLI,
        [alternate(9, outgoing_url="https://mirror.example/cli/{version}/{file}")],
        primary_healthy=False,
    )

    outcome = get(routes, "/cli/1.2/cli.tgz", ())

    assert outcome.response == Redirect("https://mirror.example/cli/1.2/cli.tgz")
    assert outcome.captures[0].fields["absolute_url"] == "https://mirror.example/cli/1.2/cli.tgz"
    assert outcome.captures[0].fields["backend_id"] == 9


def test_a_rule_with_alternates_still_sorts_among_its_type():
    pinned = {**CLI, "package-id": "latest", "incoming-path": "/cli/latest/cli.tgz"}
    pinned["outgoing-url"] = "https://github.com/acme/cli/releases/latest/cli.tgz"
    routes = compiled(CLI, [alternate(9, outgoing_url="https://m.example/{file}")], others=[pinned])

    assert get(routes, "/cli/latest/cli.tgz", ()).captures[0].package == "latest"


def test_python_index_projects_fetch_from_the_chosen_index():
    routes = compiled(
        TOOL,
        [alternate(4, backend_simple_index_url="https://mirror.example/simple/")],
        primary_healthy=False,
        others=[{**WHEEL, "package-name": "other", "package-id": "other"}],
    )

    outcome = get(routes, "/simple/acme-tool/", ())

    assert isinstance(outcome.response, Fetch)
    assert outcome.response.url == "https://mirror.example/simple/acme-tool/"
    page = b'<a href="acme_tool-1.0.tar.gz">acme_tool-1.0.tar.gz</a>'
    document = Document(outcome.response.url, 200, "text/html", page)
    final = outcome.response.then(document)
    assert final.response.status == 200
    assert final.captures[0].fields["backend_id"] == 4


def test_the_repository_still_lists_every_project_when_one_has_alternates():
    routes = compiled(
        TOOL,
        [alternate(4, backend_simple_index_url="https://mirror.example/simple/")],
        others=[{**WHEEL, "package-name": "other", "package-id": "other"}],
    )

    root = get(routes, "/simple/", ()).response

    assert b"acme-tool" in root.body
    assert b"other" in root.body


def test_python_file_downloads_redirect_to_the_chosen_backend_url():
    routes = compiled(
        WHEEL,
        [alternate(6, backend_url="https://mirror.example/acme_tool-1.0-py3-none-any.whl")],
        primary_healthy=False,
    )

    outcome = get(routes, "/simple/acme-tool/acme_tool-1.0-py3-none-any.whl", ())

    assert outcome.response == Redirect("https://mirror.example/acme_tool-1.0-py3-none-any.whl")
    assert outcome.captures[0].fields["backend"] == 1


def test_npm_packuments_come_from_the_chosen_registry():
    routes = compiled(
        GREET, [alternate(2, registry="https://mirror.example/npm/")], primary_healthy=False
    )

    outcome = get(routes, "/acme-greet", ())

    assert outcome.response.url == "https://mirror.example/npm/acme-greet"
    final = outcome.response.then(None)
    assert final.response.status == 502
    assert final.captures[0].fields["backend_id"] == 2


def test_overrides_are_limited_to_the_types_backend_fields():
    with pytest.raises(FieldError) as error:
        alternate_rule(APP, {"repository-name": "x/y"})
    assert error.value.field == "config.repository-name"

    with pytest.raises(FieldError) as error:
        alternate_rule(APP, {"registry": "not a registry"})
    assert error.value.field == "config.registry"

    with pytest.raises(FieldError):
        alternate_rule(APP, {})


@pytest.mark.parametrize(
    ("weights", "valid"),
    [([None, 10], True), ([50, 50], True), ([60, 50], False), ([-1], False), ([101], False)],
)
def test_weights_are_percentages_adding_up_to_at_most_100(weights, valid):
    if valid:
        check_weights(weights)
    else:
        with pytest.raises(FieldError):
            check_weights(weights)


def test_choosing_is_deterministic_with_a_seeded_source():
    rule = parse_rule(APP)
    alternates = (Alternate(1, parse_rule({**APP, "registry": "quay.io"}), weight=25),)
    first = BackendSet(rule, alternates, draw=random.Random(3).random)
    second = BackendSet(rule, alternates, draw=random.Random(3).random)

    assert [first.choose() for _ in range(50)] == [second.choose() for _ in range(50)]
