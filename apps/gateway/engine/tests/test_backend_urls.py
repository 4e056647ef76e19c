"""Backend URLs in rules must be absolute http(s) URLs whose host is the one written
(GATEWAY-DECISIONS §2): checked when the rule is parsed, naming the field."""

import pytest

from apps.gateway.engine.manifest import parse_rule
from apps.gateway.engine.rules import FieldError

DOMAIN = "get.acme.test"

RULES = {
    "backend-url": {
        "type": "python-v1",
        "domain": DOMAIN,
        "package-id": "p",
        "package-name": "tool",
        "file-name": "tool-1.0.tar.gz",
        "version": "1.0",
    },
    "backend-simple-index-url": {
        "type": "python-index-v1",
        "domain": DOMAIN,
        "package-id": "p",
        "package-name": "tool",
    },
    "registry": {"type": "npm-v1", "domain": DOMAIN, "package-id": "p", "package-name": "x"},
}

NOT_HTTP = [
    "file:///etc/passwd",
    "javascript:alert(1)",
    "ftp://files.example.com/x",
    "//files.example.com/x",
    "/relative/path",
    "https://user:secret@files.example.com/x",
    "https://files.example.com/a b",
    "https://files.example.com/{x}",
    "https:///no-host",
    "https://files.example.com:0/x",
]


@pytest.mark.parametrize("field", RULES)
@pytest.mark.parametrize("url", NOT_HTTP)
def test_a_backend_url_that_is_not_absolute_http_is_refused_naming_the_field(field, url):
    with pytest.raises(FieldError) as caught:
        parse_rule({**RULES[field], field: url})

    assert caught.value.field == field


@pytest.mark.parametrize("field", ["backend-simple-index-url", "registry"])
@pytest.mark.parametrize(
    "url", ["https://index.example.com/simple/?x=1", "https://r.example.com/#a"]
)
def test_a_base_url_may_not_carry_a_query_or_fragment(field, url):
    with pytest.raises(FieldError, match="base URL"):
        parse_rule({**RULES[field], field: url})


@pytest.mark.parametrize(
    "url",
    [
        "https://files.example.com/tool-1.0.tar.gz#sha256=abc",
        "http://127.0.0.1:8080/packages/tool-1.0.tar.gz",
        "https://[2001:db8::1]/tool-1.0.tar.gz?token=x",
    ],
)
def test_a_file_url_may_carry_a_port_a_query_and_a_fragment(url):
    assert parse_rule({**RULES["backend-url"], "backend-url": url}).backend_url == url
