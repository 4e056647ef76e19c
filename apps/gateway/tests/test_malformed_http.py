"""Malformed HTTP on a raw socket to the real servers (the production one,
scarf's own via `python -m scarf.serving`, and gunicorn with scarf/gunicorn.conf.py),
with the WSGI dispatcher, the gateway and Django behind them: each request
of the corpus is answered with a 4xx or the connection is closed, never a
5xx nor a header a client could inject, and the server keeps serving."""

from __future__ import annotations

import http.client
import re
import socket
from urllib.parse import urlsplit

import pytest

from .test_request_fuzzing import RULE_HOSTS

pytestmark = pytest.mark.slow

LONG = b"a" * 20_000


def request(line: bytes, *headers: bytes, body: bytes = b"") -> bytes:
    return b"\r\n".join([line, *headers, b"", b""]) + body


HOST = b"Host: get.acme.test"
CLOSE = b"Connection: close"

# (name, raw bytes). Everything here must get a 4xx or a closed connection.
REFUSED = [
    ("no Host in HTTP/1.1", request(b"GET /install.sh HTTP/1.1", CLOSE)),
    ("empty Host", request(b"GET /install.sh HTTP/1.1", b"Host: ", CLOSE)),
    ("unknown Host", request(b"GET /install.sh HTTP/1.1", b"Host: evil.test", CLOSE)),
    ("Host with user info", request(b"GET /install.sh HTTP/1.1", b"Host: evil.test@get", CLOSE)),
    ("Host with spaces", request(b"GET /install.sh HTTP/1.1", b"Host: get acme test", CLOSE)),
    ("Host with NUL", request(b"GET /install.sh HTTP/1.1", b"Host: get.acme.test\x00.evil", CLOSE)),
    ("Host not UTF-8", request(b"GET /install.sh HTTP/1.1", b"Host: \xff\xfe.test", CLOSE)),
    ("two Hosts", request(b"GET /x HTTP/1.1", b"Host: evil.test", HOST, CLOSE)),
    # Past gunicorn's 8 KiB per header and our server's 64 KiB request head.
    ("huge header", request(b"GET /install.sh HTTP/1.1", HOST, b"X-Big: " + LONG * 25, CLOSE)),
    (
        "too many headers",
        request(b"GET /install.sh HTTP/1.1", HOST, *[b"X-%d: 1" % i for i in range(200)], CLOSE),
    ),
    ("huge target", request(b"GET /" + LONG + b" HTTP/1.1", HOST, CLOSE)),
    ("target not UTF-8", request(b"GET /\xff\xfe\xfd HTTP/1.1", HOST, CLOSE)),
    ("NUL in target", request(b"GET /install\x00.sh HTTP/1.1", HOST, CLOSE)),
    ("NUL in header", request(b"GET /install.sh HTTP/1.1", HOST, b"X-A: a\x00b", CLOSE)),
    ("bare CR in header", request(b"GET /install.sh HTTP/1.1", HOST, b"X-A: a\rSet-Cookie: b")),
    ("CRLF escaped in target", request(b"GET /x%0d%0aSet-Cookie:%20a=b HTTP/1.1", HOST, CLOSE)),
    ("target not starting with /", request(b"GET install.sh HTTP/1.1", HOST, CLOSE)),
    ("asterisk target", request(b"GET * HTTP/1.1", HOST, CLOSE)),
    ("dot segments", request(b"GET /../../../etc/passwd HTTP/1.1", HOST, CLOSE)),
    ("escaped dot segments", request(b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1", HOST, CLOSE)),
    (
        "static files traversal",
        request(b"GET /static/../../scarf/settings.py HTTP/1.1", b"Host: localhost", CLOSE),
    ),
    (
        "escaped static files traversal",
        request(b"GET /static/%2e%2e/%2e%2e/scarf/settings.py HTTP/1.1", b"Host: localhost", CLOSE),
    ),
    ("method with NUL", request(b"G\x00T /install.sh HTTP/1.1", HOST, CLOSE)),
    ("HTTP/0.9 request line", b"GET /install.sh\r\n\r\n"),
    ("unknown HTTP version", request(b"GET /install.sh HTTP/9.9", HOST, CLOSE)),
    ("garbage version", request(b"GET /install.sh HTTQ/1.1", HOST, CLOSE)),
    ("extra words in request line", request(b"GET /install.sh HTTP/1.1 please", HOST, CLOSE)),
    ("header without colon", request(b"GET /install.sh HTTP/1.1", HOST, b"NoColonHere", CLOSE)),
    ("space in header name", request(b"GET /install.sh HTTP/1.1", HOST, b"X Y: z", CLOSE)),
    ("folded header", request(b"GET /install.sh HTTP/1.1", HOST, b"X-A: a", b" b", CLOSE)),
    ("negative Content-Length", request(b"POST /events HTTP/1.1", HOST, b"Content-Length: -1")),
    ("garbage Content-Length", request(b"POST /events HTTP/1.1", HOST, b"Content-Length: ab")),
    (
        "two Content-Lengths",
        request(
            b"POST /events HTTP/1.1", HOST, b"Content-Length: 2", b"Content-Length: 3", body=b"{}"
        ),
    ),
    (
        "Content-Length and chunked (smuggling)",
        request(
            b"POST /events HTTP/1.1",
            HOST,
            b"Content-Length: 4",
            b"Transfer-Encoding: chunked",
            body=b"0\r\n\r\nGET /install.sh HTTP/1.1\r\nHost: get.acme.test\r\n\r\n",
        ),
    ),
    (
        "bad chunk size",
        request(b"POST /events HTTP/1.1", HOST, b"Transfer-Encoding: chunked", body=b"zz\r\n{}"),
    ),
    (
        "short body, then the client goes away",
        request(b"POST /events HTTP/1.1", HOST, b"Content-Length: 100", body=b'{"a": 1}'),
    ),
    ("TLS on the HTTP port", bytes.fromhex("160301020001") + b"\x03\x03" + b"\x00" * 64),
    ("binary garbage", bytes(range(256))),
]

# RFC 9112 §6.1: a transfer coding the server does not know is answered 501
# Not Implemented: the one 5xx that is the right answer to a client's mistake.
NOT_IMPLEMENTED = request(b"POST /events HTTP/1.1", HOST, b"Transfer-Encoding: gzip, x")

# Odd but valid: answered (any status below 500), redirects staying on rule hosts.
ANSWERED = [
    ("absolute-form target", request(b"GET http://get.acme.test/install.sh HTTP/1.1", HOST, CLOSE)),
    (
        "absolute-form target naming another host",
        request(b"GET http://evil.test/install.sh HTTP/1.1", HOST, CLOSE),
    ),
    ("unknown method", request(b"BREW /install.sh HTTP/1.1", HOST, CLOSE)),
    # gunicorn refuses these (400, 414); llhttp (our server) refuses them as well.
    ("lower-case method", request(b"get /install.sh HTTP/1.1", HOST, CLOSE)),
    ("huge method", request(b"A" * 5000 + b" /install.sh HTTP/1.1", HOST, CLOSE)),
    ("HTTP/1.0 without Host", b"GET /install.sh HTTP/1.0\r\n\r\n"),
    ("catch-all with dot segments", request(b"GET /a/../../b HTTP/1.1", b"Host: www.acme.test")),
    (
        "body not UTF-8",
        request(b"POST /events HTTP/1.1", HOST, b"Content-Length: 4", body=b"\xff" * 4),
    ),
]


# Cases where the client sends no complete request (or not all of its body) and
# then closes its side: the server sees the end of the stream.
HALF_CLOSED = {"short body, then the client goes away", "TLS on the HTTP port", "binary garbage"}


def exchange(port: int, raw: bytes, half_close: bool = False) -> bytes:
    """Send `raw` and read the answer: until one whole response has arrived,
    the server closes, or 5 s pass."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            sock.sendall(raw)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            while not complete(received) and (chunk := sock.recv(65536)):
                received += chunk
        except OSError:
            pass  # a time-out, or the server closed first (on garbage, mid-send)
    return received


def complete(received: bytes) -> bool:
    head, separator, body = received.partition(b"\r\n\r\n")
    if not separator:
        return False
    length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    if length:
        return len(body) >= int(length.group(1))
    if re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
        return body.endswith(b"0\r\n\r\n")
    return False  # delimited by the close


def parse_response(raw: bytes) -> tuple[int | None, list[tuple[str, str]], bytes]:
    """Status (None: closed without a response), headers and body of the first response."""
    if not raw:
        return None, [], b""
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.split(b"\r\n")
    status = int(status_line.split()[1])
    headers = []
    for line in header_lines:
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return status, headers, body


def answer_to_good_request(port: int) -> tuple[int, str | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/install.sh", headers={"Host": "get.acme.test"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, response.getheader("Location")


@pytest.fixture
def server(start_either_server, imported):
    return start_either_server()


def test_malformed_requests_get_a_4xx_or_a_closed_connection_and_the_server_keeps_serving(server):
    answers = {}
    for name, raw in REFUSED:
        answers[name] = parse_response(exchange(server.port, raw, name in HALF_CLOSED))
        assert answer_to_good_request(server.port)[0] == 307, f"not serving after {name!r}"

    statuses = {name: status for name, (status, _, _) in answers.items()}
    not_4xx = {name: s for name, s in statuses.items() if s is not None and not 400 <= s < 500}
    assert not_4xx == {}, server.output()[-4000:]
    for name, (_, headers, body) in answers.items():
        cookies = [value for header, value in headers if header.lower() == "set-cookie"]
        assert not [cookie for cookie in cookies if not cookie.startswith("csrftoken=")], name
        assert b"SECRET_KEY" not in body, name
    assert statuses["no Host in HTTP/1.1"] == 400
    assert statuses["huge target"] in (400, 414, None)
    assert "Traceback" not in server.output()


def test_a_request_with_both_content_length_and_chunked_gets_one_answer_at_most(server):
    """RFC 9112 §6.1: the server must close the connection after such a request,
    so nothing hidden in its body is answered as a second request."""
    smuggling = dict(REFUSED)["Content-Length and chunked (smuggling)"]
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(smuggling)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass

    assert len(re.findall(rb"(?m)^HTTP/1\.[01] \d{3}", received)) <= 1, received


def test_an_unknown_transfer_coding_is_not_implemented_and_the_server_keeps_serving(server):
    status, _, _ = parse_response(exchange(server.port, NOT_IMPLEMENTED))

    assert status in (400, 501, None)
    assert answer_to_good_request(server.port)[0] == 307


def test_odd_but_valid_requests_get_an_answer_that_stays_on_rule_hosts(server):
    answers = {name: parse_response(exchange(server.port, raw)) for name, raw in ANSWERED}

    for name, (status, headers, _) in answers.items():
        assert status is not None, name
        assert status < 500, (name, status, server.output()[-4000:])
        for header, value in headers:
            if header.lower() == "location":
                assert urlsplit(value).hostname in RULE_HOSTS, (name, value)
    assert answers["absolute-form target"][0] == 307
    assert answer_to_good_request(server.port) == (307, "https://raw.example.com/acme/install.sh")
    assert "Traceback" not in server.output()
