"""python-v1 index pages: paths, HTML and PEP 691 JSON bodies, negotiation, ETags
(GATEWAY-REFERENCE §8.1–§8.3, §8.5 as amended by GATEWAY-DECISIONS §4)."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.gateway.engine.http import Request
from apps.gateway.engine.outcome import Capture, Outcome, Redirect, Respond
from apps.gateway.engine.paths import decode_segments
from apps.gateway.engine.python import normalize_name
from apps.gateway.engine.tests.test_python import DOMAIN, merge_all, python_rule

JSON = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
PIP_ACCEPT = f"{JSON}, {HTML_V1}; q=0.1, text/html; q=0.01"

REPOSITORY = merge_all(
    python_rule(
        "numpy-tar",
        hash_value={"type": "sha256", "hash": "abc"},
        gpg_sig=False,
        requires_python=">=3.8",
    ),
    python_rule(
        "numpy-whl",
        file_name="numpy-1.0-py3-none-any.whl",
        backend_url="https://files.example.org/numpy-1.0-py3-none-any.whl",
        gpg_sig=True,
    ),
    python_rule(
        "foo",
        package_name="Foo.Bar_baz",
        package_id="pkg-foo",
        file_name="foo_bar_baz-2.0.tar.gz",
        backend_url="https://files.example.org/foo-2.0.tar.gz",
    ),
)

ROOT_HTML = (
    b"<!DOCTYPE html><html><body>\n"
    b'<a href="/simple/foo-bar-baz/">Foo.Bar_baz</a><br>\n'
    b'<a href="/simple/numpy/">numpy</a><br>\n'
    b"</body></html>"
)
NUMPY_HTML = (
    b"<!DOCTYPE html><html><body><h1>numpy</h1>\n"
    b'<a href="/simple/numpy/numpy-1.0-py3-none-any.whl" data-gpg-sig="true">'
    b"numpy-1.0-py3-none-any.whl</a><br>\n"
    b'<a href="/simple/numpy/numpy-1.0.tar.gz#sha256=abc" data-gpg-sig="false"'
    b' data-requires-python="&gt;=3.8">numpy-1.0.tar.gz</a><br>\n'
    b"</body></html>"
)
ROOT_JSON = {
    "meta": {"api-version": "1.0"},
    "projects": [{"name": "Foo.Bar_baz"}, {"name": "numpy"}],
}
NUMPY_JSON = {
    "meta": {"api-version": "1.0"},
    "name": "numpy",
    "files": [
        {
            "filename": "numpy-1.0-py3-none-any.whl",
            "url": "/simple/numpy/numpy-1.0-py3-none-any.whl",
            "hashes": {},
            "gpg-sig": True,
        },
        {
            "filename": "numpy-1.0.tar.gz",
            "url": "/simple/numpy/numpy-1.0.tar.gz",
            "hashes": {"sha256": "abc"},
            "requires-python": ">=3.8",
            "gpg-sig": False,
        },
    ],
}
NO_FIELDS = {"version": None, "file_name": None, "backend_url": None}


def fetch(path: str, method: str = "GET", **headers: str | tuple[str, ...]) -> Outcome | None:
    """Match a request; each header value may be a tuple of separate lines."""
    lines = tuple(
        (name.replace("_", "-"), line)
        for name, value in headers.items()
        for line in ((value,) if isinstance(value, str) else value)
    )
    return REPOSITORY.match(Request(method, DOMAIN, path, headers=lines))


def header(outcome: Outcome, name: str) -> str | None:
    return dict(outcome.response.headers).get(name)


@pytest.mark.parametrize(
    ("path", "query", "body"),
    [
        ("/simple/", None, ROOT_HTML),
        ("/simple/numpy/", None, NUMPY_HTML),
        ("/simple/num%70y/", None, NUMPY_HTML),
        ("/simple/numpy/", "page=2", NUMPY_HTML),
    ],
)
def test_it_serves_the_root_and_project_pages_as_html(path, query, body):
    outcome = REPOSITORY.match(Request("GET", DOMAIN, path, query))

    assert outcome.status == 200
    assert outcome.response.body == body
    assert header(outcome, "Content-Type") == "text/html"


def test_a_page_carries_etag_length_type_and_vary_but_no_cache_control():
    outcome = fetch("/simple/")

    assert [name for name, _ in outcome.response.headers] == [
        "Etag",
        "Content-Length",
        "Content-Type",
        "Vary",
    ]
    assert header(outcome, "Content-Length") == str(len(ROOT_HTML))
    assert header(outcome, "Vary") == "Accept"
    assert header(outcome, "Etag").startswith('"')


@pytest.mark.parametrize("path", ["/simple/", "/simple/numpy/"])
def test_head_on_a_page_answers_headers_only_with_the_full_length(path):
    page = fetch(path)
    head = fetch(path, "HEAD")

    assert head.status == 200
    assert head.response.body == b""
    assert head.response.headers == page.response.headers


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/simple", "/simple/"),
        ("/simple/Foo.Bar_baz/", "/simple/foo-bar-baz/"),
        ("/simple/FOO-BAR-BAZ/", "/simple/foo-bar-baz/"),
        ("/simple/NumPy/", "/simple/numpy/"),
        (
            "/simple/foo_bar.baz/foo_bar_baz-2.0.tar.gz",
            "/simple/foo-bar-baz/foo_bar_baz-2.0.tar.gz",
        ),
    ],
)
def test_a_non_normalised_url_redirects_permanently_to_the_normalised_one(path, location):
    outcome = fetch(path)

    assert outcome.response == Redirect(location, 301)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/simple/"),
        ("PUT", "/simple/numpy/"),
        ("DELETE", "/simple/numpy/numpy-1.0.tar.gz"),
        ("OPTIONS", "/simple"),
        ("GET", "/"),
        ("GET", "/simple/numpy"),
        ("GET", "/simple/unknown/"),
        ("GET", "/simple/numpy/unknown.tar.gz"),
        ("GET", "/simple/NumPy/unknown.tar.gz"),
        ("GET", "/simple/numpy/numpy-1.0.tar.gz/"),
        ("GET", "/simple/numpy/numpy-1.0.tar.gz/extra"),
        ("GET", "/simple//"),
        ("GET", "/other/numpy/"),
        ("GET", "/simple%2F"),
    ],
)
def test_it_declines_what_it_does_not_serve(method, path):
    assert fetch(path, method) is None


@pytest.mark.parametrize(
    ("path", "body"),
    [("/simple/", ROOT_JSON), ("/simple/numpy/", NUMPY_JSON)],
)
def test_it_serves_pep_691_json_when_asked(path, body):
    outcome = fetch(path, accept=JSON)

    assert header(outcome, "Content-Type") == JSON
    assert header(outcome, "Vary") == "Accept"
    assert json.loads(outcome.response.body) == body


def test_a_json_project_page_is_keyed_by_the_normalised_name():
    outcome = fetch("/simple/foo-bar-baz/", accept=JSON)

    assert json.loads(outcome.response.body)["name"] == "foo-bar-baz"


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        ((), "text/html"),
        ("text/html", "text/html"),
        (JSON, JSON),
        ("application/vnd.pypi.simple.latest+json", JSON),
        (HTML_V1, HTML_V1),
        ("application/vnd.pypi.simple.latest+html", HTML_V1),
        (PIP_ACCEPT, JSON),
        (f"{JSON};q=0.5, text/html", "text/html"),
        (f"{JSON};q=0, */*", "text/html"),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "text/html"),
        ("*/*", "text/html"),
        ("application/*", HTML_V1),
        (f"application/*;q=0.2, {HTML_V1};q=0.1", JSON),
        ("text/*;q=0.2, " + JSON + ";q=0.1", "text/html"),
        ("application/xml", "text/html"),
        (f"{JSON};q=0", "text/html"),
        (JSON.upper(), JSON),
        (("text/html;q=0.1", JSON), JSON),
        (f"{JSON};q=abc, text/html;q=0.5", "text/html"),
        (f"{JSON};q=2, text/html;q=0.5", "text/html"),
        ("garbage, ,;", "text/html"),
    ],
)
def test_the_accept_header_chooses_the_representation(accept, content_type):
    outcome = fetch("/simple/numpy/", accept=accept)

    assert header(outcome, "Content-Type") == content_type
    assert outcome.response.body.startswith(b"{" if content_type == JSON else b"<!DOCTYPE")


def test_html_and_json_pages_never_share_an_etag():
    html = fetch("/simple/numpy/")
    data = fetch("/simple/numpy/", accept=JSON)

    assert header(html, "Etag") != header(data, "Etag")


def etag_of(path: str, accept: str = "text/html") -> str:
    return header(fetch(path, accept=accept), "Etag").strip('"')


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [
        ('"{tag}"', 304),
        ('W/"{tag}"', 304),
        ("*", 304),
        ('"other", "{tag}"', 304),
        ('  "{tag}"  ', 304),
        ("{tag}", 304),
        (('"other"', '"{tag}"'), 304),
        ('"other"', 200),
        ('"{tag}', 200),
        ('W/"other"', 200),
        ("", 200),
    ],
)
@pytest.mark.parametrize("path", ["/simple/", "/simple/numpy/"])
@pytest.mark.parametrize("accept", ["text/html", JSON])
def test_if_none_match_answers_304_when_a_tag_matches(if_none_match, status, path, accept):
    tag = etag_of(path, accept)
    lines = (if_none_match,) if isinstance(if_none_match, str) else if_none_match

    outcome = fetch(path, accept=accept, if_none_match=tuple(v.format(tag=tag) for v in lines))

    assert outcome.status == status


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_304_has_the_lowercase_etag_header_and_no_body(method):
    tag = etag_of("/simple/numpy/")

    outcome = fetch("/simple/numpy/", method, if_none_match=f'"{tag}"')

    assert outcome.response == Respond(304, (("etag", f'"{tag}"'), ("Vary", "Accept")))


def test_the_json_tag_does_not_revalidate_the_html_page():
    json_tag = etag_of("/simple/numpy/", JSON)

    assert fetch("/simple/numpy/", if_none_match=f'"{json_tag}"').status == 200


@pytest.mark.parametrize(
    ("path", "headers", "package", "ref"),
    [
        ("/simple/", {}, None, ""),
        ("/simple", {}, None, ""),
        ("/simple/", {"accept": JSON}, None, ""),
        ("/simple/numpy/", {}, "pkg-numpy", "numpy-tar"),
        ("/simple/numpy/", {"if_none_match": "*"}, "pkg-numpy", "numpy-tar"),
        ("/simple/foo-bar-baz/", {"accept": JSON}, "pkg-foo", "foo"),
        ("/simple/Foo.Bar_baz/", {}, "pkg-foo", "foo"),
        ("/simple/Foo.Bar_baz/foo_bar_baz-2.0.tar.gz", {}, "pkg-foo", "foo"),
    ],
)
def test_pages_and_page_redirects_record_only_the_package(path, headers, package, ref):
    outcome = fetch(path, **headers)

    assert outcome.captures == (Capture("python", package, NO_FIELDS),)
    assert (outcome.rule_type, outcome.rule_ref) == ("python-v1", ref)


@pytest.mark.parametrize(
    ("fields", "attributes"),
    [
        ({}, ""),
        ({"gpg_sig": True}, ' data-gpg-sig="true"'),
        ({"gpg_sig": False}, ' data-gpg-sig="false"'),
        ({"requires_python": ">=3.8,<4"}, ' data-requires-python="&gt;=3.8,&lt;4"'),
        (
            {"gpg_sig": True, "requires_python": "!=3.0.*"},
            ' data-gpg-sig="true" data-requires-python="!=3.0.*"',
        ),
    ],
)
def test_file_links_carry_the_optional_attributes_in_reference_order(fields, attributes):
    body = python_rule(**fields).match(Request("GET", DOMAIN, "/simple/numpy/")).response.body

    link = f'<a href="/simple/numpy/numpy-1.0.tar.gz"{attributes}>numpy-1.0.tar.gz</a>'
    assert link.encode() in body


def test_names_are_escaped_and_percent_encoded_in_links():
    rule = python_rule(package_name="a<b>", file_name='x"&y z.tar.gz')

    body = rule.match(Request("GET", DOMAIN, "/simple/a%3Cb%3E/")).response.body

    assert b"<h1>a&lt;b&gt;</h1>" in body
    assert b'href="/simple/a%3Cb%3E/x%22&amp;y%20z.tar.gz">x&quot;&amp;y z.tar.gz</a>' in body


# Properties


class LinkCollector(HTMLParser):
    """The tags, the <a> attributes and the text of each element of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[dict[str, str | None]] = []
        self.texts: dict[str, str] = {}
        self.open: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.open = tag
        if tag == "a":
            self.links.append(dict(attrs))

    def handle_endtag(self, tag):
        self.open = None

    def handle_data(self, data):
        if self.open:
            self.texts[self.open] = self.texts.get(self.open, "") + data


def parse(body: bytes) -> LinkCollector:
    collector = LinkCollector()
    collector.feed(body.decode())
    collector.close()
    return collector


# Names full of markup and URL delimiters. Lone surrogates are left out: they
# cannot be encoded, so they are rendered replaced and do not round-trip.
MARKUP = st.text(
    alphabet=st.sampled_from("<>\"'&a-_. /%#?=;") | st.characters(exclude_categories=["Cs"]),
    min_size=1,
)


@given(package=MARKUP, file_name=MARKUP, requires=MARKUP, hash_=MARKUP)
def test_arbitrary_names_never_produce_markup_and_their_links_lead_back(
    package, file_name, requires, hash_
):
    rule = python_rule(
        package_name=package,
        file_name=file_name,
        requires_python=requires,
        hash_value={"type": "sha256", "hash": hash_},
    )
    root = parse(rule.match(Request("GET", DOMAIN, "/simple/")).response.body)
    (project_link,) = root.links
    project = parse(rule.match(Request("GET", DOMAIN, project_link["href"])).response.body)
    (file_link,) = project.links
    path, _, fragment = file_link["href"].partition("#")

    assert root.tags == ["html", "body", "a", "br"]
    assert root.texts["a"] == package
    assert project.tags == ["html", "body", "h1", "a", "br"]
    assert (project.texts["h1"], project.texts["a"]) == (package, file_name)
    assert file_link["data-requires-python"] == requires
    assert fragment == f"sha256={hash_}"
    assert decode_segments(path) == ["simple", normalize_name(package), file_name]
    assert rule.match(Request("GET", DOMAIN, path)).response == Redirect(rule.backend_url)


@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "get"]),
    path=st.text() | st.builds("/simple/{}".format, st.text()),
    accept=st.text(),
    if_none_match=st.text(),
)
def test_matching_never_raises_on_arbitrary_requests(method, path, accept, if_none_match):
    outcome = fetch(path, method, accept=accept, if_none_match=if_none_match)

    assert outcome is None or isinstance(outcome, Outcome)
