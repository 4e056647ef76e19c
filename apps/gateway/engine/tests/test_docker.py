"""docker-v1 and docker-v2 rules (GATEWAY-REFERENCE §2.2, §3.4, §7.1–§7.4, §12;
GATEWAY-DECISIONS §2, §3, §9)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.gateway.engine.docker import DockerImageRule, DockerPatternRule
from apps.gateway.engine.http import Request
from apps.gateway.engine.imagepattern import parse_image_pattern
from apps.gateway.engine.outcome import Proxy, Redirect, Respond
from apps.gateway.engine.rules import FieldError

DOMAIN = "docker.example.com"
DOCKER_UA = "docker/24.0.7 go/go1.20.10 os/linux arch/amd64"


def request(target, method="GET", user_agent=DOCKER_UA, authorization=None):
    path, sep, query = target.partition("?")
    headers = []
    if user_agent is not None:
        headers.append(("user-agent", user_agent))
    if authorization is not None:
        headers.append(("authorization", authorization))
    return Request(method, DOMAIN, path, query if sep else None, tuple(headers))


def image_rule(image="library/hello", registry="ghcr.io", package_id="pkg-1", **kwargs):
    return DockerImageRule(DOMAIN, registry, package_id, image, **kwargs)


def pattern_rule(pattern="library/*", registry="ghcr.io", rule_id="auto-1", **kwargs):
    return DockerPatternRule(DOMAIN, registry, rule_id, parse_image_pattern(pattern), **kwargs)


def only_capture(outcome):
    assert len(outcome.captures) == 1
    return outcome.captures[0]


def merge_all(rules):
    """Fold adjacent rules with merge_with, as the compile step does."""
    merged = [rules[0]]
    for rule in rules[1:]:
        combined = merged[-1].merge_with(rule)
        if combined is None:
            merged.append(rule)
        else:
            merged[-1] = combined
    return merged


# --- manifest (§2.2, DECISIONS §3, §9) ---

V1 = {
    "type": "docker-v1",
    "domain": DOMAIN,
    "package-id": "pkg-1",
    "repository-name": "library/hello",
    "registry": "ghcr.io",
}
V2 = {
    "type": "docker-v2",
    "domain": DOMAIN,
    "rule-id": "auto-1",
    "pattern": "library/*",
    "registry": "ghcr.io",
}


def test_it_reads_a_docker_v1_rule():
    rule = DockerImageRule.from_manifest({**V1, "always-proxy": True})
    assert rule == image_rule(always_proxy=True)


def test_it_reads_a_docker_v2_rule():
    rule = DockerPatternRule.from_manifest(V2)
    assert (rule.rule_id, rule.pattern.text, rule.registry, rule.always_proxy) == (
        "auto-1",
        "library/*",
        "ghcr.io",
        False,
    )


def test_it_ignores_unused_and_unknown_keys():
    rule = DockerImageRule.from_manifest({**V1, "owner": "o", "package-name": "n", "x": 1})
    assert rule == image_rule()


@pytest.mark.parametrize("key", ["domain", "package-id", "repository-name", "registry"])
def test_a_docker_v1_rule_without_a_required_field_names_it(key):
    data = {k: v for k, v in V1.items() if k != key}
    with pytest.raises(FieldError) as error:
        DockerImageRule.from_manifest(data)
    assert error.value.field == key


@pytest.mark.parametrize("key", ["domain", "rule-id", "pattern", "registry"])
def test_a_docker_v2_rule_without_a_required_field_names_it(key):
    data = {k: v for k, v in V2.items() if k != key}
    with pytest.raises(FieldError) as error:
        DockerPatternRule.from_manifest(data)
    assert error.value.field == key


@pytest.mark.parametrize("pattern", ["", "a/", "a//b", "{a", "\\x", "{}"])
def test_a_bad_pattern_is_reported_on_the_pattern_field(pattern):
    with pytest.raises(FieldError) as error:
        DockerPatternRule.from_manifest({**V2, "pattern": pattern})
    assert error.value.field == "pattern"


def test_the_pattern_prefix_quirk_is_accepted():
    rule = DockerPatternRule.from_manifest({**V2, "pattern": "library/*}"})
    assert rule.pattern.matches(["library", "x"])


def test_a_non_boolean_always_proxy_is_reported():
    with pytest.raises(FieldError) as error:
        DockerImageRule.from_manifest({**V1, "always-proxy": "yes"})
    assert error.value.field == "always-proxy"


GOOD_REGISTRIES = [
    "ghcr.io",
    "registry-1.docker.io",
    "localhost:5000",
    "10.0.0.7:5000",
    "[::1]:5000",
    "my_registry:5000",
    "http://localhost:5000",
    "http://registry.internal",
]


@pytest.mark.parametrize("registry", GOOD_REGISTRIES)
def test_a_registry_may_be_a_host_a_host_and_port_or_a_plain_http_url(registry):
    assert DockerImageRule.from_manifest({**V1, "registry": registry}).registry == registry


BAD_REGISTRIES = [
    "",
    "https://ghcr.io",
    "ghcr.io/",
    "ghcr.io/path",
    "ftp://ghcr.io",
    "http://",
    "ghcr.io:port",
    "user@ghcr.io",
    "ghcr.io\r\nX-Injected: 1",
    "ghcr io",
]


BOTH_TYPES = pytest.mark.parametrize(
    ("cls", "data"),
    [(DockerImageRule, V1), (DockerPatternRule, V2)],
    ids=["docker-v1", "docker-v2"],
)


@BOTH_TYPES
@pytest.mark.parametrize("registry", BAD_REGISTRIES, ids=[repr(r) for r in BAD_REGISTRIES])
def test_any_other_registry_is_rejected_naming_the_field(cls, data, registry):
    with pytest.raises(FieldError) as error:
        cls.from_manifest({**data, "registry": registry})
    assert error.value.field == "registry"


@BOTH_TYPES
def test_docker_hub_s_old_host_is_rewritten(cls, data):
    rule = cls.from_manifest({**data, "registry": "registry.hub.docker.com"})
    assert rule.registry == "registry-1.docker.io"


def test_the_hub_rewrite_reaches_captures_redirects_and_proxies():
    rule = DockerImageRule.from_manifest({**V1, "registry": "registry.hub.docker.com"})
    redirected = rule.match(request("/v2/library/hello/manifests/latest"))
    proxied = rule.match(request("/v2/library/hello/manifests/latest", user_agent=None))
    assert redirected.response.location.startswith("https://registry-1.docker.io/")
    assert proxied.response == Proxy("registry-1.docker.io")
    assert only_capture(redirected).fields["backend_registry"] == "registry-1.docker.io"


@pytest.mark.parametrize(
    "data",
    [V1, {**V1, "always-proxy": True}, V2, {**V2, "always-proxy": True, "pattern": "a/*}"}],
    ids=["docker-v1", "docker-v1 always-proxy", "docker-v2", "docker-v2 quirky pattern"],
)
def test_a_rule_exports_to_the_manifest_it_was_read_from(data):
    cls = DockerImageRule if data["type"] == "docker-v1" else DockerPatternRule
    rule = cls.from_manifest(data)
    assert rule.to_manifest() == data
    assert cls.from_manifest(rule.to_manifest()) == rule


# --- which requests a rule claims (§7.1) ---


def test_the_catalog_is_answered_with_an_empty_404():
    outcome = image_rule().match(request("/v2/_catalog?n=10"))
    assert outcome.response == Respond(404)
    assert only_capture(outcome).fields == {
        "image": [],
        "reference": "",
        "backend_registry": "ghcr.io",
        "auto_create": None,
        "pull": False,
    }
    assert only_capture(outcome).package is None


def test_the_ping_is_redirected_for_redirect_capable_clients():
    outcome = image_rule().match(request("/v2/"))
    assert outcome.response == Redirect("https://ghcr.io/v2/")
    assert only_capture(outcome).fields["image"] == []
    assert only_capture(outcome).package is None


def test_the_ping_is_proxied_for_other_clients():
    assert image_rule().match(request("/v2/", user_agent="skopeo/1.14")).response == Proxy(
        "ghcr.io"
    )


@pytest.mark.parametrize("target", ["/v2/", "/v2/_catalog"])
def test_ping_and_catalog_are_answered_whatever_the_rule_s_image(target):
    assert image_rule(image="nothing/like/this").match(request(target)) is not None
    assert pattern_rule(pattern="zzz").match(request(target)) is not None


SPLITS = [
    # (path, image, reference)
    ("/v2/library/hello/manifests/latest", ["library", "hello"], "latest"),
    ("/v2/library/hello/manifests/sha256:abc", ["library", "hello"], "sha256:abc"),
    ("/v2/library/hello/blobs/sha256:abc", ["library", "hello"], "sha256:abc"),
    ("/v2/library/hello/tags/list", ["library", "hello"], "list"),
    ("/v2/library/hello/blobs/uploads/", ["library", "hello"], "uploads"),
    ("/v2/library/hello/manifests/", ["library", "hello"], ""),
    ("/v2/library/hello/manifests/latest/extra", ["library", "hello"], "latest"),
    ("/v2/library/hell%6F/manifests/v%31", ["library", "hello"], "v1"),
]


@pytest.mark.parametrize(("path", "image", "reference"), SPLITS, ids=[s[0] for s in SPLITS])
def test_a_registry_path_is_split_into_image_and_reference(path, image, reference):
    outcome = image_rule().match(request(path))
    assert only_capture(outcome).fields["image"] == image
    assert only_capture(outcome).fields["reference"] == reference


def test_the_split_happens_at_the_first_keyword():
    outcome = image_rule(image="org").match(request("/v2/org/tags/manifests/x"))
    assert only_capture(outcome).fields["image"] == ["org"]
    assert only_capture(outcome).fields["reference"] == "manifests"


DECLINED = [
    "/v2",
    "/v2/_catalog/x",
    "/v2/library/hello/",
    "/v2/library/hello/manifests",
    "/v2/library/hello/referrers/sha256:abc",
    "/v2/token",
    "/v2/library/other/manifests/latest",
    "/v2/hello/manifests/latest",
    "/v1/library/hello/manifests/latest",
    "/library/hello/manifests/latest",
    "/",
]


@pytest.mark.parametrize("path", DECLINED)
def test_a_rule_declines_what_it_does_not_claim(path):
    assert image_rule().match(request(path)) is None
    assert pattern_rule().match(request(path.replace("library/", "other/"))) is None


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "DELETE"])
def test_every_method_is_claimed_like_get(method):
    outcome = image_rule().match(request("/v2/library/hello/manifests/latest", method=method))
    assert outcome.response == Redirect("https://ghcr.io/v2/library/hello/manifests/latest")


# --- image matching (§7.2) ---

V1_MATCHING = [
    ("/v2/library/hello/manifests/1", True),
    ("/v2/hello/manifests/1", False),  # no implicit library/
    ("/v2/Library/hello/manifests/1", False),  # case-sensitive
    ("/v2/library/hello/x/manifests/1", False),
    ("/v2/library/manifests/1", False),
]


@pytest.mark.parametrize(("path", "claimed"), V1_MATCHING, ids=[p for p, _ in V1_MATCHING])
def test_docker_v1_matches_its_image_exactly(path, claimed):
    assert (image_rule().match(request(path)) is not None) is claimed


def test_docker_v1_records_its_package():
    capture = only_capture(image_rule().match(request("/v2/library/hello/manifests/1")))
    assert (capture.kind, capture.package, capture.fields["auto_create"]) == (
        "docker",
        "pkg-1",
        None,
    )


V2_MATCHING = [
    ("library/*", "/v2/library/x/manifests/1", True),
    ("library/*", "/v2/library/manifests/1", False),
    ("library/*", "/v2/library/x/y/manifests/1", False),
    ("library/*", "/v2/LIBRARY/x/manifests/1", False),
    ("*/{api,web}-*", "/v2/acme/web-2/blobs/sha256:1", True),
    ("*/{api,web}-*", "/v2/acme/db-2/blobs/sha256:1", False),
]


@pytest.mark.parametrize(
    ("pattern", "path", "claimed"), V2_MATCHING, ids=[f"{p} {t}" for p, t, _ in V2_MATCHING]
)
def test_docker_v2_matches_images_by_pattern(pattern, path, claimed):
    assert (pattern_rule(pattern=pattern).match(request(path)) is not None) is claimed


def test_docker_v2_records_its_rule_id_for_auto_creation():
    capture = only_capture(pattern_rule().match(request("/v2/library/x/manifests/1")))
    assert (capture.package, capture.fields["auto_create"]) == (None, "auto-1")


@pytest.mark.parametrize(
    ("rule", "rule_type"),
    [(image_rule(ref="r-7"), "docker-v1"), (pattern_rule(ref="r-7"), "docker-v2")],
    ids=["docker-v1", "docker-v2"],
)
def test_an_outcome_names_the_rule_type_and_ref(rule, rule_type):
    outcome = rule.match(request("/v2/library/hello/manifests/1"))
    assert (outcome.rule_type, outcome.rule_ref) == (rule_type, "r-7")


# --- pull or not (DECISIONS §3) ---

PULLS = [
    ("GET", "/v2/library/hello/manifests/latest", True),
    ("HEAD", "/v2/library/hello/manifests/latest", False),
    ("GET", "/v2/library/hello/blobs/sha256:abc", False),
    ("GET", "/v2/library/hello/tags/list", False),
    ("GET", "/v2/", False),
    ("GET", "/v2/_catalog", False),
]


@pytest.mark.parametrize(("method", "path", "pull"), PULLS, ids=[f"{m} {p}" for m, p, _ in PULLS])
def test_only_a_manifest_get_counts_as_a_pull(method, path, pull):
    outcome = image_rule().match(request(path, method=method))
    assert only_capture(outcome).fields["pull"] is pull


# --- redirect or proxy (§7.3) ---

DECISIONS = [
    # (id, always_proxy, authorization, user_agent, redirected)
    ("always-proxy beats a docker client", True, None, DOCKER_UA, False),
    ("Basic auth beats a docker client", False, "Basic dXNlcjpwYXNz", DOCKER_UA, False),
    ("lower-case basic is not Basic", False, "basic dXNlcjpwYXNz", DOCKER_UA, True),
    ("Bearer auth does not force a proxy", False, "Bearer tok", DOCKER_UA, True),
    ("docker/ prefix", False, None, "docker/20.10.7 go/go1.13", True),
    ("Docker-Client anywhere", False, None, "Mozilla/5 Docker-Client/19.03.1 (linux)", True),
    ("containerd 1.4.9", False, None, "containerd/1.4.9+unknown", True),
    ("containerd 1.5.5", False, None, "containerd/1.5.5", True),
    ("containerd 1.6", False, None, "containerd/1.6.21", True),
    ("Watchtower exactly", False, None, "Watchtower (Docker)", True),
    ("Watchtower with more", False, None, "Watchtower (Docker) 1.7", False),
    ("Docker/ upper-case", False, None, "Docker/24.0", False),
    ("containerd 1.7", False, None, "containerd/1.7.2", False),
    ("podman", False, None, "libpod/4.9 podman/4.9", False),
    ("skopeo", False, None, "skopeo/1.14.0", False),
    ("cri-o", False, None, "cri-o/1.28.1", False),
    ("kubelet", False, None, "kubelet/v1.28.2", False),
    ("no user agent", False, None, None, False),
]


@pytest.mark.parametrize(
    ("always_proxy", "authorization", "user_agent", "redirected"),
    [d[1:] for d in DECISIONS],
    ids=[d[0] for d in DECISIONS],
)
def test_redirect_or_proxy_follows_the_reference_order(
    always_proxy, authorization, user_agent, redirected
):
    rule = image_rule(always_proxy=always_proxy)
    response = rule.match(
        request("/v2/library/hello/manifests/1", user_agent=user_agent, authorization=authorization)
    ).response
    assert isinstance(response, Redirect if redirected else Proxy)


@pytest.mark.parametrize("registry", ["ghcr.io", "localhost:5000", "http://localhost:5000"])
def test_a_proxy_goes_to_the_registry_as_configured(registry):
    outcome = image_rule(registry=registry).match(
        request("/v2/library/hello/blobs/x", user_agent="")
    )
    assert outcome.response == Proxy(registry, protocol="docker")


# --- redirect construction (§7.4, DECISIONS §2, §3) ---

LOCATIONS = [
    # (registry, target, location)
    ("ghcr.io", "/v2/library/hello/manifests/1", "https://ghcr.io/v2/library/hello/manifests/1"),
    (
        "ghcr.io",
        "/v2/library/hello/tags/list?n=10",
        "https://ghcr.io/v2/library/hello/tags/list?n=10",
    ),
    (
        "ghcr.io",
        "/v2/library/hello/tags/list?n=10&last=a%2Bb",
        "https://ghcr.io/v2/library/hello/tags/list?n=10&last=a%2Bb",
    ),
    (
        "ghcr.io",
        "/v2/library/hell%6F/blobs/sha256:1",
        "https://ghcr.io/v2/library/hell%6F/blobs/sha256:1",
    ),
    (
        "localhost:5000",
        "/v2/library/hello/manifests/1",
        "https://localhost:5000/v2/library/hello/manifests/1",
    ),
    (
        "http://localhost:5000",
        "/v2/library/hello/manifests/1?x=1",
        "http://localhost:5000/v2/library/hello/manifests/1?x=1",
    ),
]


@pytest.mark.parametrize(
    ("registry", "target", "location"), LOCATIONS, ids=[case[1] for case in LOCATIONS]
)
def test_a_redirect_goes_to_the_registry_with_the_raw_path_and_query(registry, target, location):
    outcome = image_rule(registry=registry).match(request(target))
    assert outcome.response == Redirect(location, status=307)


def test_characters_unsafe_in_a_header_are_percent_encoded_in_the_location():
    target = Request(
        "GET", DOMAIN, "/v2/library/hello/manifests/a\r\nX: 1", "q=\n", (("user-agent", DOCKER_UA),)
    )
    location = image_rule().match(target).response.location
    assert location == "https://ghcr.io/v2/library/hello/manifests/a%0D%0AX:%201?q=%0A"


def test_a_path_without_its_leading_slash_cannot_change_the_redirect_host():
    target = Request(
        "GET", DOMAIN, "v2/library/hello/manifests/1", None, (("user-agent", DOCKER_UA),)
    )
    assert image_rule().match(target).response.location == (
        "https://ghcr.io/v2/library/hello/manifests/1"
    )


# --- merging (§3.4) ---


def test_adjacent_docker_v1_rules_with_one_registry_merge_and_keep_their_packages():
    first = image_rule(image="a/one", package_id="p1", ref="r1")
    second = image_rule(image="a/two", package_id="p2", ref="r2")
    [merged] = merge_all([first, second])
    for path, package, ref in [
        ("/v2/a/one/manifests/1", "p1", "r1"),
        ("/v2/a/two/manifests/1", "p2", "r2"),
    ]:
        outcome = merged.match(request(path))
        assert (only_capture(outcome).package, outcome.rule_ref) == (package, ref)
        assert outcome.rule_type == "docker-v1"


def test_a_run_of_three_rules_merges_into_one():
    rules = [image_rule(image=f"a/{n}", package_id=f"p{n}", ref=f"r{n}") for n in range(3)]
    [merged] = merge_all(rules)
    outcome = merged.match(request("/v2/a/2/manifests/1"))
    assert (only_capture(outcome).package, outcome.rule_ref) == ("p2", "r2")


def test_the_later_package_wins_for_the_same_image():
    first = image_rule(package_id="p1", ref="r1")
    second = image_rule(package_id="p2", ref="r2")
    outcome = first.merge_with(second).match(request("/v2/library/hello/manifests/1"))
    assert (only_capture(outcome).package, outcome.rule_ref) == ("p2", "r2")


def test_identical_adjacent_rules_collapse_into_one_image():
    merged = image_rule().merge_with(image_rule())
    assert list(merged.images) == [("library", "hello")]


@pytest.mark.parametrize(
    ("first", "second", "proxied"), [(True, False, True), (False, True, False)]
)
def test_the_merged_rule_keeps_the_first_rule_s_always_proxy(first, second, proxied):
    rules = [
        image_rule(image="a/one", always_proxy=first),
        image_rule(image="a/two", always_proxy=second),
    ]
    [merged] = merge_all(rules)
    for path in ("/v2/a/one/manifests/1", "/v2/a/two/manifests/1"):
        assert isinstance(merged.match(request(path)).response, Proxy) is proxied


def test_the_merged_rule_answers_the_ping_as_its_first_rule():
    merged = image_rule(ref="r1").merge_with(image_rule(image="a/b", ref="r2"))
    outcome = merged.match(request("/v2/"))
    assert outcome.rule_ref == "r1"
    assert only_capture(outcome).package is None


NOT_MERGED = [
    ("different registries", image_rule(), image_rule(image="a/b", registry="quay.io")),
    ("different domains", image_rule(), DockerImageRule("other.example", "ghcr.io", "p", "a/b")),
    ("docker-v1 then docker-v2", image_rule(), pattern_rule()),
    ("docker-v2 then docker-v2", pattern_rule(), pattern_rule()),
]


@pytest.mark.parametrize(
    ("first", "second"), [n[1:] for n in NOT_MERGED], ids=[n[0] for n in NOT_MERGED]
)
def test_rules_that_do_not_qualify_are_not_merged(first, second):
    assert first.merge_with(second) is None


def test_a_rule_with_another_registry_breaks_the_run():
    rules = [
        image_rule(image="a/one"),
        image_rule(image="a/two", registry="quay.io"),
        image_rule(image="a/three"),
    ]
    assert len(merge_all(rules)) == 3


# --- properties ---

REGISTRIES = ["ghcr.io", "localhost:5000", "http://127.0.0.1:5000", "[::1]:8443"]


def expected_netloc(registry):
    return urlsplit(registry if "://" in registry else "https://" + registry).netloc


@given(
    st.sampled_from(REGISTRIES),
    st.text().filter(lambda s: "/" not in s and "?" not in s),
    st.text(),
    st.one_of(st.none(), st.text()),
)
def test_a_redirect_always_goes_to_the_registry_host(registry, image, reference, query):
    rule = pattern_rule(pattern="*", registry=registry)
    target = Request(
        "GET", DOMAIN, f"/v2/{image}/manifests/{reference}", query, (("user-agent", DOCKER_UA),)
    )
    outcome = rule.match(target)
    if outcome is None:
        return
    location = outcome.response.location
    assert urlsplit(location).netloc == expected_netloc(registry)
    assert not set("\r\n") & set(location)


@given(
    st.one_of(
        st.text(), st.from_regex(r"/v2/[^/]*/[^/]*/(manifests|blobs|tags)/.*", fullmatch=True)
    ),
    st.one_of(st.none(), st.text()),
    st.sampled_from(["GET", "HEAD"]),
)
def test_no_header_value_ever_contains_cr_or_lf(raw_path, query, method):
    target = Request(method, DOMAIN, raw_path, query, (("user-agent", DOCKER_UA),))
    for rule in (pattern_rule(pattern="*/*"), image_rule()):
        outcome = rule.match(target)
        if outcome is None:
            continue
        response = outcome.response
        values = [response.location] if isinstance(response, Redirect) else []
        if isinstance(response, Respond):
            values = [value for _, value in response.headers]
        assert not any("\r" in value or "\n" in value for value in values)
