"""npm-v1 rules: claimed paths, packuments rewritten to our domain, tarball
redirects, captures and the manifest form (GATEWAY-DECISIONS §5, §9, §10)."""

from __future__ import annotations

import contextlib
import json
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.gateway.engine.compile import compile_domain_rules
from apps.gateway.engine.http import Request
from apps.gateway.engine.manifest import ManifestError, Problem, parse_manifest
from apps.gateway.engine.npm import (
    ABBREVIATED,
    ABBREVIATED_ACCEPT,
    FULL_ACCEPT,
    NpmRule,
    tarball_file_name,
    wants_abbreviated,
)
from apps.gateway.engine.outcome import Capture, Document, Fetch, Outcome, Redirect, Respond
from apps.gateway.engine.rules import FieldError

DOMAIN = "get.acme.test"
REGISTRY = "https://npm.example.org"
NPM_ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
INTEGRITY = "sha512-" + "A" * 86 + "=="
SHASUM = "0123456789abcdef0123456789abcdef01234567"

MANIFEST = {
    "type": "npm-v1",
    "domain": DOMAIN,
    "package-id": "pkg-greet",
    "package-name": "acme-greet",
    "registry": REGISTRY,
}


def npm_rule(**fields):
    return NpmRule.from_manifest({**MANIFEST, **fields})


def scoped_rule(name="@acme/util", **fields):
    return npm_rule(**{"package-id": "pkg-util", "package-name": name, **fields})


def get(path, method="GET", accept=None, scheme="http"):
    headers = (("user-agent", "npm/11.0.0 node/v20"),)
    if accept is not None:
        headers += (("accept", accept),)
    return Request(method, DOMAIN, path, None, headers, scheme=scheme)


def version(name, number, tarball):
    return {
        "name": name,
        "version": number,
        "dist": {"tarball": tarball, "shasum": SHASUM, "integrity": INTEGRITY},
    }


def packument(name, tarballs, **extra):
    """A packument whose versions have the given tarball URLs (version -> URL)."""
    return {
        "name": name,
        "dist-tags": {"latest": list(tarballs)[-1]},
        "versions": {number: version(name, number, url) for number, url in tarballs.items()},
        **extra,
    }


GREET = packument(
    "acme-greet",
    {
        "1.0.0": f"{REGISTRY}/acme-greet/-/acme-greet-1.0.0.tgz",
        "1.1.0": f"{REGISTRY}/acme-greet/-/acme-greet-1.1.0.tgz",
    },
    description="Says hello — in ünïcode",
    readme="# acme-greet",
)
GREET_ABBREVIATED = {
    "name": "acme-greet",
    "modified": "2024-01-01T00:00:00.000Z",
    "dist-tags": {"latest": "1.0.0"},
    "versions": {
        "1.0.0": version("acme-greet", "1.0.0", f"{REGISTRY}/acme-greet/-/acme-greet-1.0.0.tgz")
    },
}
UTIL = packument("@acme/util", {"2.0.0": f"{REGISTRY}/@acme/util/-/util-2.0.0.tgz"})


def document(body, status=200, content_type="application/json", url=f"{REGISTRY}/acme-greet"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Document(url=url, status=status, content_type=content_type, body=raw)


def answer(rule, request, doc):
    """What the edge does: match, then hand the fetched document to `then`."""
    outcome = rule.match(request)
    assert isinstance(outcome.response, Fetch)
    return outcome.response.then(doc)


def with_tarballs(original, tarballs):
    """`original` with each version's dist.tarball replaced (version -> URL)."""
    copy = json.loads(json.dumps(original))
    for number, url in tarballs.items():
        copy["versions"][number]["dist"]["tarball"] = url
    return copy


def only_capture(outcome):
    (capture,) = outcome.captures
    return capture


# --- which requests a rule claims, and what it fetches (DECISIONS §5, §10) ---

GREET_RULE = npm_rule()
UTIL_RULE = scoped_rule()
SCOPE_RULE = scoped_rule("@acme/*")
FULL, ABBR = FULL_ACCEPT, ABBREVIATED_ACCEPT

FETCHES = [
    # (rule, method, path, client's Accept, packument path fetched, Accept sent upstream)
    (GREET_RULE, "GET", "/acme-greet", "application/json", "/acme-greet", FULL),
    (GREET_RULE, "GET", "/acme-greet", None, "/acme-greet", FULL),
    (GREET_RULE, "GET", "/acme-greet", NPM_ACCEPT, "/acme-greet", ABBR),
    (GREET_RULE, "HEAD", "/acme-greet", NPM_ACCEPT, "/acme-greet", ABBR),
    (GREET_RULE, "GET", "/acme-greet/-/acme-greet-1.0.0.tgz", None, "/acme-greet", ABBR),
    (UTIL_RULE, "GET", "/@acme%2futil", NPM_ACCEPT, "/@acme%2futil", ABBR),
    (UTIL_RULE, "GET", "/@acme%2Futil", None, "/@acme%2futil", FULL),
    (UTIL_RULE, "GET", "/@acme/util", None, "/@acme%2futil", FULL),
    (UTIL_RULE, "GET", "/@acme/util/-/util-2.0.0.tgz", None, "/@acme%2futil", ABBR),
    (UTIL_RULE, "GET", "/@acme%2futil/-/util-2.0.0.tgz", None, "/@acme%2futil", ABBR),
    (SCOPE_RULE, "GET", "/@acme%2fanything", None, "/@acme%2fanything", FULL),
    (SCOPE_RULE, "GET", "/@acme/other/-/other-1.0.0.tgz", None, "/@acme%2fother", ABBR),
]


@pytest.mark.parametrize(("rule", "method", "path", "accept", "fetched", "sent"), FETCHES)
def test_claimed_requests_fetch_the_packument_from_the_backend(
    rule, method, path, accept, fetched, sent
):
    outcome = rule.match(get(path, method, accept))

    assert isinstance(outcome.response, Fetch)
    assert outcome.response.url == REGISTRY + fetched
    assert outcome.response.headers == (("Accept", sent),)
    assert (outcome.rule_type, outcome.rule_ref) == ("npm-v1", rule.ref)


@pytest.mark.parametrize(
    ("registry", "url"),
    [
        ("https://repo.example.org/npm/", "https://repo.example.org/npm/acme-greet"),
        ("http://127.0.0.1:4873", "http://127.0.0.1:4873/acme-greet"),
        ("http://[::1]:4873/", "http://[::1]:4873/acme-greet"),
    ],
)
def test_the_packument_url_is_the_registry_base_url_and_the_name(registry, url):
    assert npm_rule(registry=registry).match(get("/acme-greet")).response.url == url


DECLINED = [
    (GREET_RULE, "POST", "/acme-greet"),
    (GREET_RULE, "PUT", "/acme-greet"),
    (GREET_RULE, "DELETE", "/acme-greet/-/acme-greet-1.0.0.tgz"),
    (GREET_RULE, "GET", "/"),
    (GREET_RULE, "GET", "/acme-greeter"),
    (GREET_RULE, "GET", "/Acme-Greet"),
    (GREET_RULE, "GET", "/acme-greet/"),
    (GREET_RULE, "GET", "/acme-greet/1.0.0"),
    (GREET_RULE, "GET", "/acme-greet/-/"),
    (GREET_RULE, "GET", "/acme-greet/-/a/b.tgz"),
    (GREET_RULE, "GET", "/-/v1/search"),
    (GREET_RULE, "GET", "/-/package/acme-greet/dist-tags"),
    (UTIL_RULE, "GET", "/@acme"),
    (UTIL_RULE, "GET", "/@acme/"),
    (UTIL_RULE, "GET", "/@acme/util/extra"),
    (UTIL_RULE, "GET", "/@acme%2futil%2fextra"),
    (UTIL_RULE, "GET", "/util"),
    (SCOPE_RULE, "GET", "/@other/util"),
    (SCOPE_RULE, "GET", "/@acmex/util"),
    (SCOPE_RULE, "GET", "/@acme/.hidden"),
]


@pytest.mark.parametrize(("rule", "method", "path"), DECLINED)
def test_other_methods_and_paths_are_declined(rule, method, path):
    assert rule.match(get(path, method)) is None


def test_without_a_registry_the_default_registry_is_used():
    rule = NpmRule(DOMAIN, "pkg-greet", "acme-greet", default_registry="http://10.0.0.5:4873/")

    assert rule.match(get("/acme-greet")).response.url == "http://10.0.0.5:4873/acme-greet"


def test_a_rule_given_its_own_registry_ignores_the_default():
    rule = NpmRule(DOMAIN, "p", "acme-greet", REGISTRY, default_registry="http://10.0.0.5")

    assert rule.match(get("/acme-greet")).response.url == f"{REGISTRY}/acme-greet"


def test_without_any_registry_the_request_is_answered_502():
    rule = NpmRule(DOMAIN, "pkg-greet", "acme-greet")

    outcome = rule.match(get("/acme-greet"))

    assert outcome.response.status == 502
    assert only_capture(outcome).package == "pkg-greet"


ACCEPTS = [
    ((), False),
    ((("accept", "application/json"),), False),
    ((("accept", NPM_ACCEPT),), True),
    ((("accept", ABBREVIATED),), True),
    ((("accept", "Application/VND.npm.install-v1+JSON"),), True),
    ((("accept", f"{ABBREVIATED};q=0"),), False),
    ((("accept", f"{ABBREVIATED}; q=0.000, application/json"),), False),
    ((("accept", f"{ABBREVIATED}; q=0.1"),), True),
    ((("accept", "application/json"), ("accept", ABBREVIATED)), True),
    ((("accept", "application/vnd.npm.install-v1+jsonx"),), False),
]


@pytest.mark.parametrize(("headers", "abbreviated"), ACCEPTS)
def test_abbreviated_metadata_is_asked_for_only_when_the_client_accepts_it(headers, abbreviated):
    assert wants_abbreviated(Request("GET", DOMAIN, "/acme-greet", headers=headers)) is abbreviated


# --- packuments (DECISIONS §5) ---


def test_a_packument_comes_back_with_tarballs_on_our_domain_and_nothing_else_changed():
    outcome = answer(npm_rule(), get("/acme-greet", accept="application/json"), document(GREET))

    assert outcome.response.status == 200
    assert outcome.response.headers == (("Content-Type", "application/json"),)
    assert json.loads(outcome.response.body) == with_tarballs(
        GREET,
        {
            "1.0.0": f"http://{DOMAIN}/acme-greet/-/acme-greet-1.0.0.tgz",
            "1.1.0": f"http://{DOMAIN}/acme-greet/-/acme-greet-1.1.0.tgz",
        },
    )


def test_an_abbreviated_packument_keeps_its_content_type():
    doc = document(GREET_ABBREVIATED, content_type=f"{ABBREVIATED}; charset=utf-8")

    outcome = answer(npm_rule(), get("/acme-greet", accept=NPM_ACCEPT), doc)

    assert outcome.response.headers == (("Content-Type", f"{ABBREVIATED}; charset=utf-8"),)
    assert json.loads(outcome.response.body) == with_tarballs(
        GREET_ABBREVIATED, {"1.0.0": f"http://{DOMAIN}/acme-greet/-/acme-greet-1.0.0.tgz"}
    )


def test_a_packument_sent_with_a_non_json_content_type_is_labelled_json():
    outcome = answer(npm_rule(), get("/acme-greet"), document(GREET, content_type="text/plain"))

    assert outcome.response.headers == (("Content-Type", "application/json"),)


@pytest.mark.parametrize("path", ["/@acme%2futil", "/@acme%2Futil", "/@acme/util"])
def test_a_scoped_packument_points_its_tarballs_at_the_scoped_path(path):
    doc = document(UTIL, url=f"{REGISTRY}/@acme%2futil")

    outcome = answer(scoped_rule(), get(path, scheme="https"), doc)

    body = json.loads(outcome.response.body)
    dist = body["versions"]["2.0.0"]["dist"]
    assert dist == {
        "tarball": f"https://{DOMAIN}/@acme/util/-/util-2.0.0.tgz",
        "shasum": SHASUM,
        "integrity": INTEGRITY,
    }


def test_the_tarball_path_comes_from_the_requested_name_not_the_packument():
    hostile = {**GREET, "name": "x@evil.example/"}

    outcome = answer(npm_rule(), get("/acme-greet"), document(hostile))

    tarball = json.loads(outcome.response.body)["versions"]["1.0.0"]["dist"]["tarball"]
    assert tarball == f"http://{DOMAIN}/acme-greet/-/acme-greet-1.0.0.tgz"


def test_a_stale_packument_is_served_like_a_fresh_one():
    fresh_doc = document(GREET)
    stale_doc = Document(fresh_doc.url, 200, fresh_doc.content_type, fresh_doc.body, stale=True)

    fresh = answer(npm_rule(), get("/acme-greet"), fresh_doc)
    stale = answer(npm_rule(), get("/acme-greet"), stale_doc)

    assert stale == fresh


def test_a_packument_request_is_captured_without_counting_a_download():
    outcome = answer(npm_rule(), get("/acme-greet"), document(GREET))

    assert outcome.captures == (
        Capture(
            kind="npm",
            package="pkg-greet",
            fields={
                "name": "acme-greet",
                "version": None,
                "file_name": None,
                "backend_url": f"{REGISTRY}/acme-greet",
                "download": False,
            },
        ),
    )
    assert (outcome.rule_type, outcome.rule_ref) == ("npm-v1", "")


def test_a_scope_rule_captures_the_requested_package_name():
    doc = document(UTIL, url=f"{REGISTRY}/@acme%2futil")

    outcome = answer(scoped_rule("@acme/*"), get("/@acme%2futil"), doc)

    capture = only_capture(outcome)
    assert (capture.package, capture.fields["name"]) == ("pkg-util", "@acme/util")


UPSTREAM_FAILURES = [
    # (document, status)
    (None, 502),
    (document({"error": "Not found"}, status=404), 404),
    (document(b"gone", status=410, content_type="text/plain"), 404),
    (document(b"denied", status=403, content_type="text/plain"), 502),
    (document(b"<html>oops</html>", content_type="text/html"), 502),
    (document(b"[1, 2]"), 502),
    (document(b"\xff\xfe{"), 502),
    (document(b"[" * 100_000), 502),
]


@pytest.mark.parametrize(("doc", "status"), UPSTREAM_FAILURES)
@pytest.mark.parametrize("path", ["/acme-greet", "/acme-greet/-/acme-greet-1.0.0.tgz"])
def test_an_upstream_failure_or_missing_package_is_answered_with_a_json_error(path, doc, status):
    outcome = answer(npm_rule(), get(path), doc)

    assert outcome.response.status == status
    assert outcome.response.headers == (("Content-Type", "application/json"),)
    if status == 404:
        assert outcome.response.body == b'{"error":"Not found"}'
    assert only_capture(outcome).fields["download"] is False


# --- tarballs (DECISIONS §5) ---


def test_a_tarball_download_redirects_to_the_backend_tarball_and_counts_a_download():
    outcome = answer(npm_rule(), get("/acme-greet/-/acme-greet-1.1.0.tgz"), document(GREET))

    assert outcome == Outcome(
        Redirect(f"{REGISTRY}/acme-greet/-/acme-greet-1.1.0.tgz"),
        (
            Capture(
                kind="npm",
                package="pkg-greet",
                fields={
                    "name": "acme-greet",
                    "version": "1.1.0",
                    "file_name": "acme-greet-1.1.0.tgz",
                    "backend_url": f"{REGISTRY}/acme-greet/-/acme-greet-1.1.0.tgz",
                    "download": True,
                },
            ),
        ),
        rule_type="npm-v1",
        rule_ref="",
    )


def test_a_tarball_head_redirects_without_counting_a_download():
    outcome = answer(npm_rule(), get("/acme-greet/-/acme-greet-1.0.0.tgz", "HEAD"), document(GREET))

    assert outcome.response == Redirect(f"{REGISTRY}/acme-greet/-/acme-greet-1.0.0.tgz")
    assert only_capture(outcome).fields["download"] is False


@pytest.mark.parametrize("path", ["/@acme/util/-/util-2.0.0.tgz", "/@acme%2futil/-/util-2.0.0.tgz"])
def test_a_scoped_tarball_redirects_to_the_backend_tarball(path):
    doc = document(UTIL, url=f"{REGISTRY}/@acme%2futil")

    outcome = answer(scoped_rule(), get(path), doc)

    assert outcome.response == Redirect(f"{REGISTRY}/@acme/util/-/util-2.0.0.tgz")
    assert only_capture(outcome).fields["version"] == "2.0.0"


TARBALL_LOCATIONS = [
    # (tarball URL in the packument, Location we redirect to)
    (
        "https://cdn.example.net/t/acme-greet-1.0.0.tgz?sig=a%2Fb",
        "https://cdn.example.net/t/acme-greet-1.0.0.tgz?sig=a%2Fb",
    ),
    ("/files/acme-greet-1.0.0.tgz", f"{REGISTRY}/files/acme-greet-1.0.0.tgz"),
    ("acme-greet-1.0.0.tgz", f"{REGISTRY}/acme-greet-1.0.0.tgz"),
    (
        "//mirror.example.net/acme-greet-1.0.0.tgz",
        "https://mirror.example.net/acme-greet-1.0.0.tgz",
    ),
    (
        "http://files.example.org/acme%2Dgreet-1.0.0.tgz",
        "http://files.example.org/acme%2Dgreet-1.0.0.tgz",
    ),
]


@pytest.mark.parametrize(("tarball", "location"), TARBALL_LOCATIONS)
def test_tarball_urls_are_resolved_against_the_packument_url(tarball, location):
    doc = document(with_tarballs(GREET, {"1.0.0": tarball}))

    outcome = answer(npm_rule(), get("/acme-greet/-/acme-greet-1.0.0.tgz"), doc)

    assert outcome.response == Redirect(location)


UNUSABLE_TARBALLS = [
    "ftp://files.example.org/acme-greet-1.0.0.tgz",
    "javascript:alert(1)//acme-greet-1.0.0.tgz",
    "https://files.example.org/acme greet/acme-greet-1.0.0.tgz",
    "https://files.example.org/\r\nSet-Cookie: x/acme-greet-1.0.0.tgz",
    "https:\\\\evil.example\\x/acme-greet-1.0.0.tgz",
    "https://[bad/acme-greet-1.0.0.tgz",
]


@pytest.mark.parametrize("tarball", UNUSABLE_TARBALLS)
def test_a_tarball_url_we_cannot_send_a_client_to_is_not_found(tarball):
    doc = document(with_tarballs(GREET, {"1.0.0": tarball}))

    outcome = answer(npm_rule(), get("/acme-greet/-/acme-greet-1.0.0.tgz"), doc)

    assert outcome.response.status == 404


def test_a_tarball_of_a_version_the_packument_does_not_list_is_not_found():
    outcome = answer(npm_rule(), get("/acme-greet/-/acme-greet-9.9.9.tgz"), document(GREET))

    assert outcome.response == Respond(
        404, (("Content-Type", "application/json"),), b'{"error":"Not found"}'
    )
    assert only_capture(outcome).fields == {
        "name": "acme-greet",
        "version": None,
        "file_name": "acme-greet-9.9.9.tgz",
        "backend_url": None,
        "download": False,
    }


def test_versions_without_a_usable_dist_are_skipped():
    broken = {
        "name": "acme-greet",
        "versions": {
            "0.1.0": "not an object",
            "0.2.0": {"dist": "not an object"},
            "0.3.0": {"dist": {"tarball": 42}},
            "1.0.0": version("acme-greet", "1.0.0", f"{REGISTRY}/acme-greet-1.0.0.tgz"),
        },
    }

    listing = answer(npm_rule(), get("/acme-greet"), document(broken))
    download = answer(npm_rule(), get("/acme-greet/-/acme-greet-1.0.0.tgz"), document(broken))

    assert json.loads(listing.response.body)["versions"]["0.3.0"] == {"dist": {"tarball": 42}}
    assert download.response == Redirect(f"{REGISTRY}/acme-greet-1.0.0.tgz")


def test_a_packument_without_versions_is_served_as_it_is():
    empty = {"name": "acme-greet", "time": {"unpublished": {}}}

    outcome = answer(npm_rule(), get("/acme-greet"), document(empty))

    assert json.loads(outcome.response.body) == empty


# --- manifest form (DECISIONS §9) ---


@pytest.mark.parametrize(
    "manifest",
    [
        MANIFEST,
        {**MANIFEST, "package-name": "@acme/util"},
        {**MANIFEST, "package-name": "@acme/*"},
        {k: v for k, v in MANIFEST.items() if k != "registry"},
    ],
)
def test_the_manifest_form_round_trips(manifest):
    assert NpmRule.from_manifest(manifest).to_manifest() == manifest


def test_the_manifest_form_lists_the_fields_in_order_and_never_the_default_registry():
    rule = NpmRule(DOMAIN, "pkg-greet", "acme-greet", default_registry=REGISTRY)

    assert list(rule.to_manifest().items()) == [
        ("type", "npm-v1"),
        ("domain", DOMAIN),
        ("package-id", "pkg-greet"),
        ("package-name", "acme-greet"),
    ]


def test_unknown_keys_are_ignored_on_import():
    assert npm_rule(owner="someone", extra=1).to_manifest() == MANIFEST


BAD_FIELDS = [
    # (field, value)
    ("domain", None),
    ("package-id", None),
    ("package-id", 7),
    ("package-name", None),
    ("package-name", ""),
    ("package-name", "acme greet"),
    ("package-name", ".hidden"),
    ("package-name", "_private"),
    ("package-name", "@acme"),
    ("package-name", "@acme/"),
    ("package-name", "@acme/util/extra"),
    ("package-name", "acme/util"),
    ("package-name", "*"),
    ("package-name", "@*/*"),
    ("package-name", "@acme/ut*"),
    ("package-name", "a" * 215),
    ("registry", 4873),
    ("registry", ""),
    ("registry", "npm.example.org"),
    ("registry", "ftp://npm.example.org"),
    ("registry", "https://"),
    ("registry", "https:///path"),
    ("registry", "https://{host}/"),
    ("registry", "https://npm.example.org{/path}"),
    ("registry", "https://user:secret@npm.example.org"),
    ("registry", "https://npm.example.org/?token=1"),
    ("registry", "https://npm.example.org/#top"),
    ("registry", "https://npm.example.org:99999"),
    ("registry", "https://npm.example.org/a b"),
    ("registry", "https://[::1"),
]


@pytest.mark.parametrize(("key", "value"), BAD_FIELDS)
def test_an_invalid_field_is_rejected_naming_it(key, value):
    data = {k: v for k, v in MANIFEST.items() if k != key}
    if value is not None:
        data[key] = value

    with pytest.raises(FieldError) as error:
        NpmRule.from_manifest(data)

    assert error.value.field == key


def test_a_manifest_error_names_the_rule_and_the_field():
    document_ = {"rules": [MANIFEST, {**MANIFEST, "registry": "npm.example.org"}]}

    with pytest.raises(ManifestError) as error:
        parse_manifest(document_)

    assert error.value.problems == [Problem(1, "registry", error.value.problems[0].reason)]


@pytest.mark.parametrize(
    "registry", ["http://127.0.0.1:4873", "https://npm.example.org/", "http://[::1]:8080/npm/"]
)
def test_absolute_http_registries_are_accepted(registry):
    assert npm_rule(registry=registry).registry == registry


def test_an_exact_name_wins_over_its_scope_whatever_the_manifest_order():
    scope = scoped_rule("@acme/*", **{"package-id": "pkg-scope"})
    exact = scoped_rule("@acme/util")

    routes = compile_domain_rules(DOMAIN, [scope, exact])
    outcome = routes.resolve(get("/@acme%2futil")).response.then(document(UTIL))

    assert only_capture(outcome).package == "pkg-util"


# --- properties: nothing in a packument moves a URL off its host ---

HOSTILE_URLS = st.one_of(
    st.text(),
    st.builds(
        "{}{}/{}".format,
        st.sampled_from(["https://", "http://", "//", "ftp://", "javascript:", "", "https:\\\\"]),
        st.sampled_from(["files.example.org", "evil.example", "[::1]", "a@b.example", "x:1"]),
        st.text(),
    ),
)
# The packument's own name is hostile too: it must never reach a URL.
PACKUMENTS = st.dictionaries(st.text(max_size=8), HOSTILE_URLS, min_size=1, max_size=5).map(
    lambda tarballs: packument("x@evil.example/", tarballs)
)


def resolved_tarballs(packument_, file_name):
    """The upstream tarball URLs (resolved) of the versions whose file is `file_name`."""
    urls = set()
    for info in packument_["versions"].values():
        if tarball_file_name(info["dist"]["tarball"]) == file_name:
            with contextlib.suppress(ValueError):  # not a URL at all
                urls.add(urljoin(f"{REGISTRY}/acme-greet", info["dist"]["tarball"]))
    return urls


@given(PACKUMENTS, st.sampled_from(["http", "https"]))
def test_no_packument_can_rewrite_a_tarball_off_our_host(packument_, scheme):
    outcome = answer(npm_rule(), get("/acme-greet", scheme=scheme), document(packument_))

    for info in json.loads(outcome.response.body)["versions"].values():
        parts = urlsplit(info["dist"]["tarball"])
        assert (parts.scheme, parts.netloc) == (scheme, DOMAIN)
        assert parts.path.startswith("/acme-greet/-/")
        assert not parts.query
        assert not parts.fragment


@given(PACKUMENTS)
def test_no_packument_can_redirect_a_tarball_anywhere_but_its_upstream_url(packument_):
    listing = answer(npm_rule(), get("/acme-greet"), document(packument_))

    for info in json.loads(listing.response.body)["versions"].values():
        path = urlsplit(info["dist"]["tarball"]).path
        claimed = npm_rule().match(get(path))
        if claimed is None:  # the upstream URL names no file: `/acme-greet/-/` is not ours
            assert path == "/acme-greet/-/"
            continue
        outcome = claimed.response.then(document(packument_))
        if isinstance(outcome.response, Redirect):
            location = outcome.response.location
            file_name = outcome.captures[0].fields["file_name"]
            assert location in resolved_tarballs(packument_, file_name)
            assert urlsplit(location).scheme in ("http", "https")
            assert all("!" <= char <= "~" for char in location)
        else:
            assert outcome.response.status == 404


@given(PACKUMENTS, st.text())
def test_no_requested_file_name_redirects_to_an_unlisted_url(packument_, file_name):
    request = Request("GET", DOMAIN, "/acme-greet/-/" + file_name.replace("/", "%2F"))
    claimed = npm_rule().match(request)
    if claimed is None:
        return
    outcome = claimed.response.then(document(packument_))
    if isinstance(outcome.response, Redirect):
        requested = outcome.captures[0].fields["file_name"]
        assert outcome.response.location in resolved_tarballs(packument_, requested)
