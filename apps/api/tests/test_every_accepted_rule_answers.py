"""Property: every rule the API accepts answers the request its package page
documents (the example its users are shown), and every rule it refuses is
refused with a field and a reason."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.gateway.engine.examples import example_request
from apps.gateway.engine.manifest import parse_rule
from apps.packages.models import Domain

HOST = "props.acme.test"
IDS = st.sampled_from(["cli", "app-1", "x" * 101, "", "emoji-\N{GRINNING FACE}", "a b"])
TEMPLATES = st.sampled_from(
    [
        "/cli/{version}/{file}",
        "/{name}-{version}.{ext}",
        "/dl{?version}",
        "{+path}",
        "{version}/{file}",
        "/exact/path",
        "/x/{files*}",
        "/bad{",
    ]
)
REGEXES = st.lists(
    st.sampled_from(
        ["/dl/", "(?P<ver>[0-9.]+)", "(?<file>[^/]+)", r"\d+", "[a-z]*", "^", "$", ".tar.gz", "("]
    ),
    min_size=1,
    max_size=5,
).map("".join)
OUTGOING = st.sampled_from(
    [
        "https://dl.example.test/{version}/{file}",
        "https://dl.example.test/{ver}",
        "https://dl.example.test/{+path}",
        "https://dl.example.test/static",
        "https://dl.example.test:99999/x",
        "ftp://dl.example.test/x",
        "https://{host}/x",
    ]
)
REGISTRIES = st.sampled_from(["ghcr.io", "ghcr.io:5000", "ghcr.io:99999", "http://127.0.0.1:5000"])
URLS = st.sampled_from(["https://registry.example.test/", "not a url", "https://r.test:0/"])


def rules():
    base = {"domain": st.just(HOST), "package-id": IDS}
    return st.one_of(
        st.fixed_dictionaries(
            {
                "type": st.just("file-v1"),
                **base,
                "incoming-path": TEMPLATES,
                "outgoing-url": OUTGOING,
            }
        ),
        st.fixed_dictionaries(
            {"type": st.just("file-v2"), **base, "incoming-path": REGEXES, "outgoing-url": OUTGOING}
        ),
        st.fixed_dictionaries(
            {
                "type": st.just("docker-v1"),
                **base,
                "repository-name": st.sampled_from(["acme/app", "Acme/UPPER case", "a//b", "x"]),
                "registry": REGISTRIES,
            }
        ),
        st.fixed_dictionaries(
            {
                "type": st.just("docker-v2"),
                "domain": st.just(HOST),
                "rule-id": IDS,
                "pattern": st.sampled_from(["acme/*", "acme/{lint,ker}-*", "a/", "*/*"]),
                "registry": REGISTRIES,
            }
        ),
        st.fixed_dictionaries(
            {
                "type": st.just("npm-v1"),
                **base,
                "package-name": st.sampled_from(["acme-greet", "@acme/*", "@acme/util", "Bad"]),
                "registry": URLS,
            }
        ),
        st.fixed_dictionaries(
            {
                "type": st.just("python-index-v1"),
                **base,
                "package-name": st.sampled_from(["acme-tool", "Foo.Bar_baz"]),
                "backend-simple-index-url": URLS,
            }
        ),
        st.fixed_dictionaries(
            {"type": st.just("telemetry-v1"), **base, "incoming-path": st.just("/events")}
        ),
        st.fixed_dictionaries(
            {"type": st.just("pixel-v1"), **base, "incoming-path": st.sampled_from(["/a.png", "/"])}
        ),
    )


@pytest.fixture
def props_domain(acme):
    return Domain.objects.create(organisation=acme, hostname=HOST, verified=True)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rule=rules())
def test_an_accepted_rule_answers_its_documented_request_or_is_refused_with_a_reason(
    api, props_domain, rule
):
    response = api.post("/api/v1/rules/", rule, format="json")

    if response.status_code != 201:
        assert response.status_code == 400, response.content
        errors = response.json()["errors"]
        assert errors
        for error in errors:
            assert error["field"], errors
            assert error["message"].strip(), errors
        return
    created = response.json()
    example = example_request(parse_rule({k: v for k, v in created.items() if k in rule}))
    assert example is not None, f"no documented request for {rule}"
    headers = {"User-Agent": example.user_agent} if example.user_agent else {}
    decision = api.post(
        "/api/v1/resolve/",
        {"host": HOST, "method": example.method, "path": example.target, "headers": headers},
        format="json",
    ).json()
    assert decision["rule"]["id"] == str(created["id"]), (rule, example, decision)
    assert api.delete(f"/api/v1/rules/{created['id']}/").status_code == 204
