"""A domain's rules sorted by type and specificity, merged, first match wins
(GATEWAY-REFERENCE §3.3-§3.5, GATEWAY-DECISIONS §1)."""

from dataclasses import replace

import pytest

from apps.gateway.engine.compile import compile_domain_rules
from apps.gateway.engine.http import Request
from apps.gateway.engine.manifest import parse_rule
from apps.gateway.engine.outcome import Redirect, Respond

DOMAIN = "get.acme.test"
DOCKER_UA = (("user-agent", "docker/27.0"),)


def rule(rule_type, ref="", **fields):
    key = "rule-id" if rule_type == "docker-v2" else "package-id"
    data = {"type": rule_type, "domain": DOMAIN, key: fields.pop("package", ref or "p"), **fields}
    return replace(parse_rule({k.replace("_", "-"): v for k, v in data.items()}), ref=ref)


def file_v1(path, url, ref):
    return rule("file-v1", ref, incoming_path=path, outgoing_url=url)


def resolve(rules, method, target, headers=()):
    path, mark, query = target.partition("?")
    request = Request(method, DOMAIN, path, query if mark else None, headers)
    return compile_domain_rules(DOMAIN, rules).resolve(request)


def test_file_v1_rules_are_tried_most_literal_first_whatever_their_order():
    rules = [
        file_v1("/{+path}", "https://x.example/all/{+path}", "catch"),
        file_v1("/docs/{page}", "https://x.example/page/{page}", "page"),
        file_v1("/docs/latest", "https://x.example/latest", "latest"),
    ]

    assert resolve(rules, "GET", "/docs/latest").rule_ref == "latest"
    assert resolve(rules, "GET", "/docs/intro").rule_ref == "page"
    assert resolve(rules, "GET", "/other/thing").rule_ref == "catch"


def test_file_v2_rules_are_tried_in_alphabetical_order_of_their_regex():
    rules = [
        rule(
            "file-v2",
            "downloads",
            incoming_path="/downloads/(?<f>.*)",
            outgoing_url="https://d.example/{f}",
        ),
        rule(
            "file-v2", "anything", incoming_path="/(?<x>.*)", outgoing_url="https://a.example/{x}"
        ),
    ]

    assert resolve(rules, "GET", "/downloads/a.tgz").rule_ref == "anything"


def test_a_catch_all_file_template_shadows_python_telemetry_and_catch_all():
    rules = [
        rule("catch-all-v1", "site", redirect_target_domain="acme.example"),
        rule("telemetry-v1", "tel", incoming_path="/events"),
        rule(
            "python-v1",
            "py",
            package_name="tool",
            file_name="tool-1.0.tar.gz",
            version="1.0",
            backend_url="https://files.example/tool-1.0.tar.gz",
        ),
        file_v1("/{+path}", "https://mirror.example/{+path}", "files"),
    ]

    for method, target in [("GET", "/simple/"), ("POST", "/events"), ("GET", "/x")]:
        outcome = resolve(rules, method, target)
        assert outcome.rule_ref == "files", target
        assert outcome.response.location.startswith("https://mirror.example/")


def test_docker_rules_beat_file_rules_under_v2():
    rules = [
        file_v1("/{+path}", "https://mirror.example/{+path}", "files"),
        rule("docker-v1", "image", repository_name="acme/app", registry="ghcr.io"),
    ]

    outcome = resolve(rules, "GET", "/v2/acme/app/manifests/1", DOCKER_UA)

    assert outcome.rule_ref == "image"
    assert outcome.response == Redirect("https://ghcr.io/v2/acme/app/manifests/1")


def test_an_exact_image_rule_beats_an_image_pattern():
    rules = [
        rule("docker-v2", "pattern", pattern="acme/*", registry="quay.io"),
        rule("docker-v1", "exact", repository_name="acme/app", registry="ghcr.io"),
    ]

    assert resolve(rules, "GET", "/v2/acme/app/manifests/1", DOCKER_UA).rule_ref == "exact"
    assert resolve(rules, "GET", "/v2/acme/other/manifests/1", DOCKER_UA).rule_ref == "pattern"


def test_the_first_docker_rule_answers_the_ping():
    rules = [
        rule("docker-v2", "pattern", pattern="acme/*", registry="quay.io"),
        rule("docker-v1", "exact", repository_name="acme/app", registry="ghcr.io"),
    ]

    outcome = resolve(rules, "GET", "/v2/", DOCKER_UA)

    assert outcome.response == Redirect("https://ghcr.io/v2/")


def test_adjacent_docker_v1_rules_with_one_registry_merge_and_keep_their_packages():
    rules = [
        rule("docker-v1", "a", package="pkg-a", repository_name="acme/a", registry="ghcr.io"),
        rule("docker-v1", "b", package="pkg-b", repository_name="acme/b", registry="ghcr.io"),
    ]

    compiled = compile_domain_rules(DOMAIN, rules)
    outcome = resolve(rules, "GET", "/v2/acme/b/manifests/1", DOCKER_UA)

    assert len(compiled.rules) == 1
    assert outcome.rule_ref == "b"
    assert outcome.captures[0].package == "pkg-b"


def test_python_rules_on_a_domain_merge_into_one_index():
    rules = [
        rule(
            "python-v1",
            "one",
            package="tool",
            package_name="tool",
            file_name="tool-1.0.tar.gz",
            version="1.0",
            backend_url="https://files.example/tool-1.0.tar.gz",
        ),
        rule(
            "python-v1",
            "two",
            package="lib",
            package_name="lib",
            file_name="lib-2.0.tar.gz",
            version="2.0",
            backend_url="https://files.example/lib-2.0.tar.gz",
        ),
    ]

    root = resolve(rules, "GET", "/simple/")

    assert len(compile_domain_rules(DOMAIN, rules).rules) == 1
    assert b'href="/simple/lib/"' in root.response.body
    assert b'href="/simple/tool/"' in root.response.body


@pytest.mark.parametrize(
    ("target", "status", "headers", "body"),
    [
        ("/nothing", 404, (), b""),
        ("/v2/_catalog", 404, (), b""),
        ("/v2/_catalog/x", 404, (), b""),
        ("/v2", 404, (("Content-Type", "application/json"),), b"NAME_UNKNOWN"),
        ("/v2/", 404, (("Content-Type", "application/json"),), b"NAME_UNKNOWN"),
        ("/v2/x/y", 404, (("Content-Type", "application/json"),), b"NAME_UNKNOWN"),
    ],
)
def test_unmatched_requests_get_the_reference_404s(target, status, headers, body):
    outcome = resolve([], "GET", target)

    assert isinstance(outcome.response, Respond)
    assert outcome.response.status == status
    assert outcome.response.headers == headers
    assert body in outcome.response.body
    assert outcome.captures == ()


def test_the_v2_not_found_body_is_exactly_the_reference_json():
    outcome = resolve([], "GET", "/v2/x/manifests/1")

    assert outcome.response.body == (
        b'{"errors":[{"code":"NAME_UNKNOWN","detail":{},'
        b'"message":"repository name not known to registry"}]}'
    )


def test_a_rule_that_answers_404_itself_stops_the_search():
    rules = [
        rule("docker-v1", "image", repository_name="acme/app", registry="ghcr.io"),
        rule("catch-all-v1", "site", redirect_target_domain="acme.example"),
    ]

    outcome = resolve(rules, "GET", "/v2/_catalog")

    assert outcome.response.status == 404
    assert outcome.rule_ref == "image"
