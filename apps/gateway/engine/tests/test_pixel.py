"""pixel-v1 rules (GATEWAY-REFERENCE §3.4, §10.1; GATEWAY-DECISIONS §7, §9)."""

from __future__ import annotations

import struct
import zlib
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.gateway.engine.http import Request
from apps.gateway.engine.pixel import TRANSPARENT_PNG, PixelRule
from apps.gateway.engine.rules import FieldError

DOMAIN = "static.example.com"
MANIFEST = {"type": "pixel-v1", "domain": DOMAIN, "package-id": "pkg-1"}
HEADERS = (
    ("Cache-Control", "no-cache, no-store, must-revalidate"),
    ("Content-Length", str(len(TRANSPARENT_PNG))),
    ("Content-Type", "image/png"),
)


def get(target, method="GET"):
    path, sep, query = target.partition("?")
    return Request(method, DOMAIN, path, query if sep else None)


def rule(**fields):
    return PixelRule.from_manifest({**MANIFEST, **fields})


def png_chunks(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position = 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + body)
        yield kind, body
        position += 12 + length


# --- manifest (DECISIONS §9) ---


def test_the_incoming_path_defaults_to_a_png():
    assert rule().incoming_path == "/a.png"


@pytest.mark.parametrize("key", ["domain", "package-id"])
def test_a_rule_without_a_required_field_names_it(key):
    with pytest.raises(FieldError) as error:
        PixelRule.from_manifest({k: v for k, v in MANIFEST.items() if k != key})
    assert error.value.field == key


@pytest.mark.parametrize("path", ["", "/", 7])
def test_an_incoming_path_naming_no_segment_is_rejected(path):
    with pytest.raises(FieldError) as error:
        rule(**{"incoming-path": path})
    assert error.value.field == "incoming-path"


@pytest.mark.parametrize("fields", [{}, {"incoming-path": "/t/p.gif"}], ids=["default", "custom"])
def test_a_rule_exports_and_imports_back_unchanged(fields):
    original = rule(**fields)
    assert original.to_manifest() == {**MANIFEST, "incoming-path": original.incoming_path}
    assert PixelRule.from_manifest(original.to_manifest()) == original


# --- the response ---


def test_a_get_answers_the_png_with_no_cache_headers():
    outcome = rule().match(get("/a.png?x-pxid=abc"))
    assert outcome.status == 200
    assert outcome.response.headers == HEADERS
    assert outcome.response.body == TRANSPARENT_PNG


def test_a_head_answers_the_same_headers_and_an_empty_body():
    outcome = rule().match(get("/a.png", method="HEAD"))
    assert outcome.response.headers == HEADERS
    assert outcome.response.body == b""


def test_the_pixel_is_a_real_1x1_transparent_png():
    chunks = list(png_chunks(TRANSPARENT_PNG))
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour, _, _, _ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (width, height, depth, colour) == (1, 1, 8, 6)  # 8-bit RGBA
    filter_byte, *rgba = zlib.decompress(chunks[1][1])
    assert filter_byte == 0
    assert rgba[3] == 0  # fully transparent


# --- which requests it claims (§10.1) ---

CLAIMS = [
    # (incoming-path, method, path, claimed)
    ("/a.png", "GET", "/a.png", True),
    ("/a.png", "GET", "/a.png/extra/segments", True),
    ("/a.png", "GET", "/%61.png", True),  # segments are percent-decoded
    ("/a.png", "HEAD", "/a.png", True),
    ("/a.png", "POST", "/a.png", False),
    ("/a.png", "PUT", "/a.png", False),
    ("/a.png", "GET", "/b.png", False),
    ("/a.png", "GET", "/A.png", False),
    ("/a.png", "GET", "/x/a.png", False),
    ("/a.png", "GET", "/", False),
    ("/t/p.gif", "GET", "/t/p.gif", True),
    ("/t/p.gif", "GET", "/t/p.gif/x", True),
    ("/t/p.gif", "GET", "/t", False),
    ("/t/p.gif", "GET", "/a.png", False),
]


@pytest.mark.parametrize(
    ("incoming", "method", "path", "claimed"),
    CLAIMS,
    ids=[f"{i} {m} {p}" for i, m, p, _ in CLAIMS],
)
def test_it_claims_gets_of_paths_under_its_incoming_path(incoming, method, path, claimed):
    outcome = rule(**{"incoming-path": incoming}).match(get(path, method=method))
    assert (outcome is not None) is claimed


# --- the capture ---

PIXEL_IDS = [
    ("/a.png?x-pxid=abc", "abc"),
    ("/a.png?x-pxid=a%20b", "a b"),
    ("/a.png?x-pxid=a+b", "a b"),
    ("/a.png?other=1&x-pxid=abc", "abc"),
    ("/a.png?x-pxid=1&x-pxid=2", "1"),
    ("/a.png?x-pxid=", ""),
    ("/a.png?x-pxid", ""),
    ("/a.png?other=1", ""),
    ("/a.png?", ""),
    ("/a.png", ""),
]


@pytest.mark.parametrize(("target", "pixel_id"), PIXEL_IDS, ids=[t for t, _ in PIXEL_IDS])
def test_the_capture_records_the_decoded_pixel_id(target, pixel_id):
    [capture] = rule().match(get(target)).captures
    assert (capture.kind, capture.package, capture.fields) == (
        "pixel",
        "pkg-1",
        {"pixel_id": pixel_id},
    )


def test_the_outcome_names_the_rule_type_and_ref():
    outcome = PixelRule(DOMAIN, "pkg-1", ref="r-3").match(get("/a.png"))
    assert (outcome.rule_type, outcome.rule_ref) == ("pixel-v1", "r-3")


# --- merging (§3.4) ---


def test_identical_adjacent_pixel_rules_collapse_into_the_first():
    first = PixelRule(DOMAIN, "pkg-1", ref="r1")
    assert first.merge_with(PixelRule(DOMAIN, "pkg-1", ref="r2")) is first


@pytest.mark.parametrize(
    "other",
    [PixelRule(DOMAIN, "pkg-2"), PixelRule(DOMAIN, "pkg-1", "/b.png"), PixelRule("x", "pkg-1")],
    ids=["another package", "another path", "another domain"],
)
def test_different_pixel_rules_do_not_merge(other):
    assert PixelRule(DOMAIN, "pkg-1").merge_with(other) is None


# --- properties ---


@given(st.text(), st.one_of(st.none(), st.text()))
def test_no_header_value_ever_contains_cr_or_lf(path, query):
    outcome = rule().match(Request("GET", DOMAIN, "/a.png" + path, query))
    for _, value in outcome.response.headers if outcome else ():
        assert not set("\r\n") & set(value)


@given(st.text())
def test_the_pixel_id_is_whatever_was_sent(pixel_id):
    [capture] = rule().match(get("/a.png?x-pxid=" + quote(pixel_id, safe=""))).captures
    assert capture.fields["pixel_id"] == pixel_id
