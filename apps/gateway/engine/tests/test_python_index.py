"""python-index-v1: a project served from an upstream simple index, and python-v1
rules that name one (GATEWAY-DECISIONS §4, §9, §10).

`match` answers with a Fetch of the upstream project page; these tests then call
its `then` with hand-written upstream Documents, as the edge would.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.gateway.engine.http import Request
from apps.gateway.engine.outcome import Capture, Document, Fetch, Outcome, Redirect, Respond
from apps.gateway.engine.python import UPSTREAM_ACCEPT, PythonRepository, file_version
from apps.gateway.engine.python_index import PythonIndexRule
from apps.gateway.engine.rules import ORDER_PYTHON, FieldError
from apps.gateway.engine.tests.test_python import DOMAIN, OtherRule, merge_all, python_rule
from apps.gateway.engine.tests.test_python_pages import JSON, PIP_ACCEPT, parse

INDEX = "https://index.example.org/simple/"
PAGE_URL = INDEX + "acme-hello/"
WHEEL = "acme_hello-1.0-py3-none-any.whl"
SDIST = "acme-hello-1.0.tar.gz"
SHA = "ab" * 32

MINIMAL = {
    "type": "python-index-v1",
    "domain": DOMAIN,
    "package-id": "pkg-hello",
    "package-name": "acme-hello",
}
FULL = {**MINIMAL, "backend-simple-index-url": INDEX}

RULE = replace(PythonIndexRule.from_manifest(FULL), ref="hello")

NO_FIELDS = {"version": None, "file_name": None, "backend_url": None}
PAGE_CAPTURE = Capture("python", "pkg-hello", NO_FIELDS)


def index_rule(ref: str = "hello", **fields: Any) -> PythonIndexRule:
    data = {**FULL, **{key.replace("_", "-"): value for key, value in fields.items()}}
    return replace(PythonIndexRule.from_manifest(data), ref=ref)


def request(path: str, method: str = "GET", **headers: str) -> Request:
    lines = tuple((name.replace("_", "-"), value) for name, value in headers.items())
    return Request(method, DOMAIN, path, headers=lines)


def html_document(*anchors: str, url: str = PAGE_URL, stale: bool = False) -> Document:
    body = "<!DOCTYPE html><html><body><h1>Links</h1>\n" + "\n".join(anchors) + "</body></html>"
    return Document(url, 200, "text/html; charset=utf-8", body.encode(), stale)


def json_document(*files: dict[str, Any], url: str = PAGE_URL) -> Document:
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": "acme-hello", "files": files})
    return Document(url, 200, JSON, body.encode())


# The upstream page as pypiserver writes it: links relative to the page.
UPSTREAM_HTML = html_document(
    f'<a href="../../packages/{SDIST}#sha256={SHA}">{SDIST}</a><br>',
    f'<a href="../../packages/{WHEEL}#sha256={SHA}" data-requires-python="&gt;=3.8">'
    f"{WHEEL}</a><br>",
)


def answer(rule: Any, path: str, document: Document | None, **headers: str) -> Outcome:
    """Match, check the decision is a Fetch of the project page, and call `then`."""
    outcome = rule.match(request(path, **headers))
    assert isinstance(outcome.response, Fetch)
    return outcome.response.then(document)


def header(outcome: Outcome, name: str) -> str | None:
    return dict(outcome.response.headers).get(name)


# Manifest form


def test_it_reads_every_field_of_an_index_rule():
    rule = PythonIndexRule.from_manifest({**FULL, "owner": "someone"})

    assert rule == PythonIndexRule(
        DOMAIN, package_id="pkg-hello", package_name="acme-hello", backend_simple_index_url=INDEX
    )
    assert (rule.type, rule.order, rule.sort_key()) == ("python-index-v1", ORDER_PYTHON, ())


@pytest.mark.parametrize("data", [MINIMAL, FULL], ids=["minimal", "full"])
def test_it_writes_the_manifest_back_in_field_order_and_round_trips(data):
    rule = PythonIndexRule.from_manifest(data)

    manifest = rule.to_manifest()

    assert manifest == data
    assert list(manifest) == list(data)
    assert PythonIndexRule.from_manifest(manifest) == rule


def test_the_deployment_default_index_is_neither_in_the_manifest_nor_the_identity():
    rule = replace(PythonIndexRule.from_manifest(MINIMAL), default_index_url=INDEX)

    assert rule.to_manifest() == MINIMAL
    assert rule == PythonIndexRule.from_manifest(MINIMAL)


@pytest.mark.parametrize("field", ["domain", "package-id", "package-name"])
def test_it_rejects_a_rule_missing_a_required_field_naming_it(field):
    data = {key: value for key, value in FULL.items() if key != field}

    with pytest.raises(FieldError) as raised:
        PythonIndexRule.from_manifest(data)

    assert raised.value.field == field


@pytest.mark.parametrize(
    "index", ["ftp://index.example.org/simple/", "/simple/", "index.example.org/simple", "", 3]
)
def test_it_rejects_an_index_that_is_not_an_absolute_http_url(index):
    with pytest.raises(FieldError) as raised:
        PythonIndexRule.from_manifest({**MINIMAL, "backend-simple-index-url": index})

    assert raised.value.field == "backend-simple-index-url"


# Which index is fetched


@pytest.mark.parametrize(
    ("fields", "default", "path", "url"),
    [
        ({}, "", "/simple/acme-hello/", PAGE_URL),
        (
            {"backend_simple_index_url": "http://127.0.0.1:8080/simple"},
            "",
            "/simple/acme-hello/",
            "http://127.0.0.1:8080/simple/acme-hello/",
        ),
        ({}, "https://default.example/simple/", "/simple/acme-hello/", PAGE_URL),
        (
            {"backend_simple_index_url": None},
            "https://default.example/simple",
            "/simple/acme-hello/",
            "https://default.example/simple/acme-hello/",
        ),
        (
            {"package_name": "Acme.Hello_World"},
            "",
            "/simple/acme-hello-world/",
            INDEX + "acme-hello-world/",
        ),
    ],
    ids=["manifest", "slash-added", "manifest-wins", "default", "normalised"],
)
def test_the_project_page_fetched_is_the_index_plus_the_normalised_name(fields, default, path, url):
    rule = replace(index_rule(**fields), default_index_url=default)

    outcome = rule.match(request(path))

    assert outcome.response == Fetch(url, outcome.response.then, UPSTREAM_ACCEPT)
    assert (outcome.rule_type, outcome.rule_ref) == ("python-index-v1", "hello")


def test_pip_is_asked_for_json_first_and_html_accepted():
    (name, value), *_ = UPSTREAM_ACCEPT

    assert name == "Accept"
    assert value.startswith(JSON)
    assert "text/html" in value


@pytest.mark.parametrize("path", ["/simple/acme-hello/", f"/simple/acme-hello/{WHEEL}"])
def test_a_page_or_a_file_of_an_index_project_fetches_the_same_page(path):
    outcome = RULE.match(request(path))

    assert outcome.response.url == PAGE_URL


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/simple/Acme_Hello/", "/simple/acme-hello/"),
        (f"/simple/ACME.hello/{WHEEL}", f"/simple/acme-hello/{WHEEL}"),
        ("/simple", "/simple/"),
    ],
)
def test_a_non_normalised_url_redirects_without_fetching(path, location):
    assert RULE.match(request(path)).response == Redirect(location, 301)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/simple/acme-hello/"),
        ("GET", "/simple/other/"),
        ("GET", "/simple/acme-hello"),
        ("GET", f"/simple/acme-hello/{WHEEL}/extra"),
        ("GET", "/acme-hello/"),
    ],
)
def test_it_declines_what_it_does_not_serve(method, path):
    assert RULE.match(request(path, method)) is None


def test_the_root_page_lists_the_project_without_fetching():
    outcome = RULE.match(request("/simple/"))

    assert outcome.status == 200
    assert b'<a href="/simple/acme-hello/">acme-hello</a>' in outcome.response.body
    assert outcome.rule_type == "python-index-v1"


def test_without_any_index_the_project_is_listed_with_no_files():
    rule = index_rule(backend_simple_index_url=None)

    assert rule.match(request("/simple/acme-hello/")).response.body.count(b"<a ") == 0
    assert rule.match(request(f"/simple/acme-hello/{WHEEL}")) is None


# The project page, re-listed under our domain

LISTED_HTML = (
    b"<!DOCTYPE html><html><body><h1>acme-hello</h1>\n"
    b'<a href="/simple/acme-hello/acme-hello-1.0.tar.gz#sha256=' + SHA.encode() + b'">'
    b"acme-hello-1.0.tar.gz</a><br>\n"
    b'<a href="/simple/acme-hello/acme_hello-1.0-py3-none-any.whl#sha256=' + SHA.encode() + b'"'
    b' data-requires-python="&gt;=3.8">acme_hello-1.0-py3-none-any.whl</a><br>\n'
    b"</body></html>"
)


def test_an_upstream_html_page_is_listed_under_our_domain():
    outcome = answer(RULE, "/simple/acme-hello/", UPSTREAM_HTML)

    assert outcome.status == 200
    assert outcome.response.body == LISTED_HTML
    assert header(outcome, "Content-Type") == "text/html"
    assert outcome.captures == (PAGE_CAPTURE,)
    assert (outcome.rule_type, outcome.rule_ref) == ("python-index-v1", "hello")


def test_pip_gets_the_json_form_with_every_hash_and_attribute():
    document = json_document(
        {
            "filename": WHEEL,
            "url": f"../../files/{WHEEL}",
            "hashes": {"sha256": SHA, "blake2b_256": "cd"},
            "requires-python": ">=3.8",
            "core-metadata": {"sha256": "ef"},
            "yanked": "broken build",
            "size": 1234,
        },
        {"filename": SDIST, "url": f"https://files.example.net/{SDIST}", "hashes": {}},
    )

    outcome = answer(RULE, "/simple/acme-hello/", document, accept=PIP_ACCEPT)

    assert header(outcome, "Content-Type") == JSON
    assert json.loads(outcome.response.body) == {
        "meta": {"api-version": "1.0"},
        "name": "acme-hello",
        "files": [
            {"filename": SDIST, "url": f"/simple/acme-hello/{SDIST}", "hashes": {}},
            {
                "filename": WHEEL,
                "url": f"/simple/acme-hello/{WHEEL}",
                "hashes": {"sha256": SHA, "blake2b_256": "cd"},
                "requires-python": ">=3.8",
                "dist-info-metadata": {"sha256": "ef"},
                "core-metadata": {"sha256": "ef"},
                "yanked": "broken build",
            },
        ],
    }


@pytest.mark.parametrize(
    ("attributes", "rendered"),
    [
        ("data-yanked", ' data-yanked=""'),
        ('data-yanked="bad &amp; old"', ' data-yanked="bad &amp; old"'),
        ('data-gpg-sig="true"', ' data-gpg-sig="true"'),
        (
            'data-core-metadata="sha256=ef"',
            ' data-dist-info-metadata="sha256=ef" data-core-metadata="sha256=ef"',
        ),
        (
            'data-dist-info-metadata="true"',
            ' data-dist-info-metadata="true" data-core-metadata="true"',
        ),
        ('data-core-metadata="false"', ""),
        ('data-unknown="1"', ""),
    ],
)
def test_upstream_html_attributes_are_kept_and_re_escaped(attributes, rendered):
    document = html_document(f'<a href="/f/{WHEEL}" {attributes}>{WHEEL}</a>')

    body = answer(RULE, "/simple/acme-hello/", document).response.body

    assert f'<a href="/simple/acme-hello/{WHEEL}"{rendered}>'.encode() in body


@pytest.mark.parametrize(
    ("upstream", "yanked", "metadata"),
    [
        ({"yanked": True, "dist-info-metadata": True}, True, True),
        ({"yanked": False, "core-metadata": False}, None, None),
        ({"yanked": "", "core-metadata": {"sha256": "ef"}}, None, {"sha256": "ef"}),
    ],
)
def test_json_yanking_and_metadata_are_kept(upstream, yanked, metadata):
    document = json_document({"filename": WHEEL, "url": f"/f/{WHEEL}", **upstream})

    outcome = answer(RULE, "/simple/acme-hello/", document, accept=JSON)

    (entry,) = json.loads(outcome.response.body)["files"]
    assert entry.get("yanked") == yanked
    assert entry.get("core-metadata") == metadata


def test_a_base_tag_changes_what_relative_links_resolve_against():
    document = html_document(
        '<base href="https://mirror.example.net/pkgs/">', f'<a href="{WHEEL}">{WHEEL}</a>'
    )

    outcome = answer(RULE, f"/simple/acme-hello/{WHEEL}", document)

    assert outcome.response == Redirect(f"https://mirror.example.net/pkgs/{WHEEL}")


@pytest.mark.parametrize(
    "href",
    ["javascript:alert(1)", "mailto:a@b.example", "data:text/plain,x", "/only/a/dir/", "#top"],
)
def test_links_that_are_not_http_files_are_left_out(href):
    document = html_document(f'<a href="{href}">x</a>', "<a>no href</a>")

    outcome = answer(RULE, "/simple/acme-hello/", document)

    assert outcome.response.body.count(b"<a ") == 0


def test_a_stale_page_is_served_like_a_fresh_one():
    fresh = answer(RULE, "/simple/acme-hello/", UPSTREAM_HTML)
    stale = answer(RULE, "/simple/acme-hello/", replace(UPSTREAM_HTML, stale=True))

    assert stale.response == fresh.response


def test_the_etag_revalidates_an_index_page():
    tag = header(answer(RULE, "/simple/acme-hello/", UPSTREAM_HTML), "Etag")

    outcome = answer(RULE, "/simple/acme-hello/", UPSTREAM_HTML, if_none_match=tag)

    assert outcome.response == Respond(304, (("etag", tag), ("Vary", "Accept")))


def test_the_etag_changes_when_an_upstream_file_moves_even_if_the_page_does_not():
    moved = html_document(
        f'<a href="https://elsewhere.example/{SDIST}#sha256={SHA}">{SDIST}</a><br>',
        f'<a href="https://elsewhere.example/{WHEEL}#sha256={SHA}" '
        f'data-requires-python="&gt;=3.8">{WHEEL}</a><br>',
    )
    before = answer(RULE, "/simple/acme-hello/", UPSTREAM_HTML)
    after = answer(RULE, "/simple/acme-hello/", moved)

    assert before.response.body == after.response.body
    assert header(before, "Etag") != header(after, "Etag")


@pytest.mark.parametrize(
    ("document", "status"),
    [
        (None, 502),
        (Document(PAGE_URL, 404, "text/html", b"Not Found"), 404),
        (Document(PAGE_URL, 410, "text/html", b"Gone"), 404),
        (Document(PAGE_URL, 403, "text/html", b"Forbidden"), 502),
        (Document(PAGE_URL, 200, JSON, b"{not json"), 502),
        (Document(PAGE_URL, 200, JSON, b'{"files": "none"}'), 502),
    ],
    ids=["unreachable-uncached", "404", "410", "403", "bad-json", "no-files"],
)
@pytest.mark.parametrize("path", ["/simple/acme-hello/", f"/simple/acme-hello/{WHEEL}"])
def test_upstream_failures_answer_404_or_502_and_are_recorded(document, status, path):
    outcome = answer(RULE, path, document)

    assert outcome.status == status
    assert outcome.captures == (PAGE_CAPTURE,)
    assert outcome.rule_type == "python-index-v1"


# Downloads


@pytest.mark.parametrize(
    ("file_name", "location", "version"),
    [
        (WHEEL, f"https://index.example.org/packages/{WHEEL}", "1.0"),
        (SDIST, f"https://index.example.org/packages/{SDIST}", "1.0"),
    ],
)
def test_a_download_redirects_to_the_resolved_upstream_url_and_is_captured(
    file_name, location, version
):
    outcome = answer(RULE, f"/simple/acme-hello/{file_name}", UPSTREAM_HTML)

    assert outcome.response == Redirect(location, 307)
    assert outcome.captures == (
        Capture(
            "python",
            "pkg-hello",
            {"version": version, "file_name": file_name, "backend_url": location},
        ),
    )
    assert (outcome.rule_type, outcome.rule_ref) == ("python-index-v1", "hello")


def test_head_on_a_file_answers_like_get():
    outcome = RULE.match(request(f"/simple/acme-hello/{WHEEL}", "HEAD"))

    assert outcome.response.then(UPSTREAM_HTML).response.status == 307


def test_a_file_upstream_does_not_list_is_404():
    outcome = answer(RULE, "/simple/acme-hello/acme_hello-9.9.tar.gz", UPSTREAM_HTML)

    assert outcome.response == Respond(404)


@pytest.mark.parametrize(
    ("metadata", "status", "location"),
    [
        ('data-core-metadata="sha256=ef"', 307, f"https://files.example.net/x/{WHEEL}.metadata"),
        ('data-dist-info-metadata="true"', 307, f"https://files.example.net/x/{WHEEL}.metadata"),
        ("", 404, None),
    ],
)
def test_pep_658_metadata_redirects_only_when_upstream_offers_it(metadata, status, location):
    document = html_document(
        f'<a href="https://files.example.net/x/{WHEEL}#sha256={SHA}" {metadata}>{WHEEL}</a>'
    )

    outcome = answer(RULE, f"/simple/acme-hello/{WHEEL}.metadata", document)

    assert outcome.status == status
    assert getattr(outcome.response, "location", None) == location
    assert outcome.captures == (PAGE_CAPTURE,)


@pytest.mark.parametrize(
    ("project", "file_name", "version"),
    [
        ("acme-hello", "acme_hello-1.0-py3-none-any.whl", "1.0"),
        ("acme-hello", "acme_hello-2.0rc1-1-cp311-cp311-linux_x86_64.whl", "2.0rc1"),
        ("acme-hello", "acme-hello-1.0.tar.gz", "1.0"),
        ("acme-hello", "Acme_Hello-1.0.post1.zip", "1.0.post1"),
        ("acme-hello", "acme.hello-3.tar.bz2", "3"),
        ("acme-hello", "acme_hello-1.0-py3.11.egg", "1.0"),
        ("acme-hello", "other-name-4.2.tgz", "4.2"),
        ("acme-hello", "acme_hello.exe", None),
        ("acme-hello", "notes.tar.gz", None),
    ],
)
def test_the_version_is_read_from_the_file_name(project, file_name, version):
    assert file_version(project, file_name) == version


# Index projects next to python-v1 rules


def test_python_v1_and_index_rules_merge_into_one_repository_either_way():
    local = python_rule("local")

    assert isinstance(RULE.merge_with(local), PythonRepository)
    assert isinstance(local.merge_with(RULE), PythonRepository)
    assert RULE.merge_with(OtherRule(DOMAIN)) is None


def test_the_root_page_lists_local_and_index_projects_together():
    repository = merge_all(python_rule("numpy"), RULE)

    body = repository.match(request("/simple/")).response.body

    assert b'<a href="/simple/acme-hello/">acme-hello</a>' in body
    assert b'<a href="/simple/numpy/">numpy</a>' in body


def test_a_local_project_next_to_an_index_project_is_served_without_fetching():
    repository = merge_all(python_rule("numpy"), RULE)

    assert repository.match(request("/simple/numpy/")).status == 200
    assert repository.match(request("/simple/numpy/numpy-1.0.tar.gz")).status == 307


MIXED = merge_all(
    python_rule(
        "local-wheel",
        package_name="acme-hello",
        package_id="pkg-local",
        file_name=WHEEL,
        backend_url=f"https://files.acme.example/{WHEEL}",
        backend_simple_index_url=INDEX,
    ),
)


def test_a_python_v1_rule_naming_an_index_lists_its_files_then_the_others_upstream():
    outcome = answer(MIXED, "/simple/acme-hello/", UPSTREAM_HTML)

    body = outcome.response.body
    assert body.count(b"<a ") == 2
    assert f'<a href="/simple/acme-hello/{WHEEL}">'.encode() in body
    assert f'<a href="/simple/acme-hello/{SDIST}#sha256={SHA}">'.encode() in body
    assert (outcome.rule_type, outcome.rule_ref) == ("python-v1", "local-wheel")


def test_a_python_v1_rule_naming_an_index_serves_its_own_file_without_fetching():
    outcome = MIXED.match(request(f"/simple/acme-hello/{WHEEL}"))

    assert outcome.response == Redirect(f"https://files.acme.example/{WHEEL}")


def test_a_python_v1_rule_naming_an_index_redirects_other_files_upstream():
    outcome = answer(MIXED, f"/simple/acme-hello/{SDIST}", UPSTREAM_HTML)

    assert outcome.response == Redirect(f"https://index.example.org/packages/{SDIST}")
    assert outcome.captures[0].package == "pkg-local"


@pytest.mark.parametrize("document", [None, Document(PAGE_URL, 404, "text/html", b"")])
def test_when_upstream_cannot_answer_the_own_files_are_still_listed(document):
    outcome = answer(MIXED, "/simple/acme-hello/", document)

    assert outcome.status == 200
    assert outcome.response.body.count(b"<a ") == 1


@pytest.mark.parametrize("index", ["not a url", "", "file:///opt/simple/"])
def test_a_python_v1_index_that_is_not_http_is_ignored_as_the_reference_does(index):
    rule = python_rule(backend_simple_index_url=index)

    assert rule.match(request("/simple/numpy/")).status == 200
    assert rule.match(request("/simple/numpy/other.tar.gz")) is None


# Properties

# Upstream text full of markup, quotes, URL delimiters and whitespace.
HOSTILE = st.text(
    alphabet=st.sampled_from("<>\"'&/\\@:#?=% \t\r\n.") | st.characters(exclude_categories=["Cs"]),
)
FILE_HOSTS = st.sampled_from(["files.example.net", "127.0.0.1:8080", "[::1]"])


def escape_attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;")


def upstream_page(href: str, text: str, requires: str, yanked: str) -> Document:
    return html_document(
        f'<a href="{escape_attribute(href)}" data-requires-python="{escape_attribute(requires)}"'
        f' data-yanked="{escape_attribute(yanked)}">{text}</a>'
    )


def downloads(document: Document) -> list[Outcome]:
    """Follow every file link of our re-listed page and answer it from `document`."""
    page = parse(answer(RULE, "/simple/acme-hello/", document).response.body)
    assert page.tags[:3] == ["html", "body", "h1"]
    assert set(page.tags[3:]) <= {"a", "br"}
    paths = [link["href"].partition("#")[0] for link in page.links]
    assert all(path.startswith("/simple/acme-hello/") for path in paths)
    return [answer(RULE, path, document) for path in paths]


def assert_safe_location(location: str, host: str) -> None:
    assert urlsplit(location).scheme in ("http", "https")
    assert urlsplit(location).netloc == host
    assert all(0x20 < ord(character) < 0x7F for character in location)


@given(path=HOSTILE, text=HOSTILE, requires=HOSTILE, yanked=HOSTILE)
def test_relative_upstream_links_never_inject_markup_nor_leave_the_page_host(
    path, text, requires, yanked
):
    document = upstream_page("./" + path, text, requires, yanked)

    for outcome in downloads(document):
        assert outcome.status == 307
        assert_safe_location(outcome.response.location, "index.example.org")


@given(host=FILE_HOSTS, path=HOSTILE, text=HOSTILE, requires=HOSTILE)
def test_absolute_upstream_links_redirect_only_to_the_host_they_name(host, path, text, requires):
    document = upstream_page(f"https://{host}/{path}", text, requires, "")

    for outcome in downloads(document):
        assert outcome.status == 307
        assert_safe_location(outcome.response.location, host)


@given(body=st.binary(), content_type=st.sampled_from(["text/html", JSON, ""]))
def test_any_upstream_body_gives_a_page_or_a_502_never_an_error(body, content_type):
    outcome = answer(RULE, "/simple/acme-hello/", Document(PAGE_URL, 200, content_type, body))

    assert outcome.status in (200, 502)
