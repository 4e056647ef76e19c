"""Fuzzing how the gateway reads a WSGI environ (request_from_environ) and what
it does with bodies: whatever a client or a misconfigured proxy sends, the
edge either refuses it with a 4xx or hands the engine a request it can trust
(a target starting with "/", no control characters, a host, a body reader
that never returns more than asked)."""

from __future__ import annotations

import io
import os
import string
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from apps.gateway.app import MAX_TARGET_LENGTH, BadRequest, parse_networks, request_from_environ

from .test_request_fuzzing import RULE_HOSTS, app  # noqa: F401 - the fixture too

# CI's budget; FUZZ_EXAMPLES=20000 searches longer on a workstation.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))

TRUSTED = parse_networks(["10.0.0.0/8"])
LATIN_1 = st.characters(codec="latin-1")
texts = st.text(alphabet=LATIN_1, max_size=40)
targets = st.one_of(
    st.text(alphabet=LATIN_1, max_size=60),
    st.text(alphabet=LATIN_1, max_size=60).map(lambda text: "/" + text),
    st.sampled_from(
        [
            "http://get.acme.test/cli/1/x",
            "https://evil.test/../../etc/passwd",
            "//evil.test/x",
            "*",
            "/%2e%2e/%2e%2e/etc/passwd",
            "/a?b\r\nSet-Cookie: x=1",
            "/" + "a" * (MAX_TARGET_LENGTH + 1),
        ]
    ),
)
hosts = st.one_of(
    st.none(),
    st.sampled_from(["get.acme.test", "GET.ACME.TEST:8080", "[::1]:80", "", " ", ":80", "[::1"]),
    texts,
)
content_lengths = st.one_of(
    st.none(),
    st.sampled_from(["", "0", "-1", "5", "abc", "99999999999999999999", " 3", "1e3", "0x10"]),
    st.integers(-10, 10**6).map(str),
)


def environ_for(target, host, peer, forwarded_host, forwarded_for, proto, length, body, method):
    environ = {
        "REQUEST_METHOD": method,
        "RAW_URI": target,
        "PATH_INFO": target.split("?")[0],
        "QUERY_STRING": target.partition("?")[2],
        "REMOTE_ADDR": peer,
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
    }
    extra = {
        "HTTP_HOST": host,
        "HTTP_X_FORWARDED_HOST": forwarded_host,
        "HTTP_X_FORWARDED_FOR": forwarded_for,
        "HTTP_X_FORWARDED_PROTO": proto,
        "CONTENT_LENGTH": length,
    }
    environ.update({key: value for key, value in extra.items() if value is not None})
    return environ


def parse(environ):
    """(request, None), or (None, status) when the edge refuses it."""
    try:
        return request_from_environ(environ, TRUSTED), None
    except BadRequest as refused:
        return None, refused.status


def no_control_characters(text: str) -> bool:
    return not any(ord(char) < 0x20 or ord(char) == 0x7F for char in text)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    target=targets,
    host=hosts,
    peer=st.sampled_from(["203.0.113.9", "10.1.2.3", "", "not-an-ip", "::1"]),
    forwarded_host=st.none() | texts,
    forwarded_for=st.none() | texts,
    proto=st.none() | st.sampled_from(["https", "http", "HTTPS, http", "gopher", ""]),
    length=content_lengths,
    body=st.binary(max_size=64),
    method=st.sampled_from(["GET", "get", "HEAD", "POST", "BREW", ""]),
    limit=st.integers(0, 128),
)
@example(
    target="/x",
    host="get.acme.test",
    peer="10.0.0.1",
    forwarded_host="get.acme.test:443, evil.test",
    forwarded_for="198.51.100.7, 10.0.0.1",
    proto="https",
    length="-5",
    body=b"abc",
    method="POST",
    limit=2,
)
def test_a_parsed_request_is_one_the_engine_can_trust(
    target, host, peer, forwarded_host, forwarded_for, proto, length, body, method, limit
):
    environ = environ_for(
        target, host, peer, forwarded_host, forwarded_for, proto, length, body, method
    )
    request, refused = parse(environ)
    if request is None:
        assert refused in (400, 414)
        return

    assert request.raw_path.startswith("/")
    assert len(request.raw_target) <= MAX_TARGET_LENGTH
    assert no_control_characters(request.raw_target)
    assert request.host
    assert request.host == request.host.lower()
    assert request.host.startswith("[") or ":" not in request.host  # no port
    assert request.scheme in ("http", "https")
    assert request.method == request.method.upper()
    read = request.read_body(limit)
    assert isinstance(read, bytes)
    assert len(read) <= limit
    assert read == body[: len(read)]


@pytest.mark.django_db
@settings(
    max_examples=EXAMPLES // 2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    path=st.sampled_from(["/events", "/cli/1.0/cli.tgz", "/pixel.gif", "/install.sh"]),
    length=content_lengths,
    body=st.binary(max_size=2048),
    content_type=st.sampled_from(["application/json", "text/plain", "", "application/x-ndjson"]),
    method=st.sampled_from(["POST", "PUT", "GET"]),
)
@example(
    path="/events",
    length="99999999999999999999",
    body=b'{"a": 1}' * 200,
    content_type="application/json",
    method="POST",
)
def test_any_body_with_any_content_length_gets_an_answer_not_a_500(
    app,  # noqa: F811 - the fixture of test_request_fuzzing
    path,
    length,
    body,
    content_type,
    method,
):
    environ_headers = {"Content-Type": content_type} if content_type else {}
    status, headers, _ = call_with_length(app, path, method, environ_headers, body, length)

    assert status < 500
    for name, value in headers:
        assert no_control_characters(value), name
        if name == "Location":
            assert urlsplit(value).hostname in RULE_HOSTS


def call_with_length(gateway, path, method, headers, body, length):
    """`call`, with CONTENT_LENGTH as given (absent, garbage, or not the body's size)."""
    environ = environ_for(
        path, "get.acme.test", "203.0.113.9", None, None, None, length, body, method
    )
    for name, value in headers.items():
        environ["CONTENT_TYPE" if name == "Content-Type" else name] = value
    seen = {}

    def start_response(status, response_headers):
        seen["status"] = int(status.split()[0])
        seen["headers"] = response_headers

    answer = b"".join(gateway(environ, start_response))
    return seen["status"], seen["headers"], answer


def test_printable_targets_are_accepted_unchanged():
    for char in string.printable.strip():
        target = f"/a{char}b"
        if char == "?":
            continue
        request = request_from_environ(
            environ_for(target, "h.test", "", None, None, None, None, b"", "GET"), ()
        )
        assert request.raw_path == target


@pytest.mark.parametrize(
    ("host", "forwarded_host", "peer", "origin"),
    [
        ("get.acme.test:8000", None, "198.51.100.7", "http://get.acme.test:8000"),
        ("Get.Acme.Test", None, "198.51.100.7", "http://get.acme.test"),
        ("[::1]:8080", None, "198.51.100.7", "http://[::1]:8080"),
        ("get.acme.test:8000@evil.test", None, "198.51.100.7", "http://get.acme.test"),
        ("get.acme.test:99999", None, "198.51.100.7", "http://get.acme.test"),
        # A forwarded host is believed from a trusted proxy only, port included.
        ("internal:8000", "get.acme.test:8443", "10.0.0.5", "http://get.acme.test:8443"),
        ("get.acme.test:8000", "evil.test:1", "198.51.100.7", "http://get.acme.test:8000"),
    ],
)
def test_urls_pointing_back_use_the_host_and_port_the_client_used(
    host, forwarded_host, peer, origin
):
    environ = environ_for("/x", host, peer, forwarded_host, None, None, None, b"", "GET")

    assert request_from_environ(environ, TRUSTED).origin == origin
