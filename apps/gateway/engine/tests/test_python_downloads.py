"""python-v1 file downloads: 307 to the backend URL, and what they record
(GATEWAY-REFERENCE §8.1, §8.5, §12 as amended by GATEWAY-DECISIONS §4)."""

from __future__ import annotations

import pytest

from apps.gateway.engine.http import Request
from apps.gateway.engine.outcome import Capture, Outcome, Redirect
from apps.gateway.engine.tests.test_python import DOMAIN, merge_all, python_rule

TARBALL = "https://files.example.org/numpy-1.0.tar.gz#sha256=abc"
WHEEL = "https://files.example.org/torch-2.0+cpu-cp311-none-any.whl"

REPOSITORY = merge_all(
    python_rule("numpy-tar", version="1.0", backend_url=TARBALL),
    python_rule(
        "torch-whl",
        package_name="torch",
        package_id="pkg-torch",
        version="2.0",
        file_name="torch-2.0+cpu-cp311-none-any.whl",
        backend_url=WHEEL,
    ),
    python_rule(
        "torch-typo",
        package_name="Torch",
        package_id="pkg-ignored",
        version="2.1",
        file_name="torch-2.1.tar.gz",
        backend_url='https://files.example.org/torch-2.1.tar.gz"',
    ),
)


def fetch(path: str, method: str = "GET", query: str | None = None) -> Outcome | None:
    return REPOSITORY.match(Request(method, DOMAIN, path, query))


@pytest.mark.parametrize(
    ("method", "path", "query", "location"),
    [
        ("GET", "/simple/numpy/numpy-1.0.tar.gz", None, TARBALL),
        ("HEAD", "/simple/numpy/numpy-1.0.tar.gz", None, TARBALL),
        ("GET", "/simple/numpy/numpy-1.0.tar.gz", "mirror=eu&x", TARBALL),
        ("GET", "/simple/numpy/numpy-1.0%2Etar.gz", None, TARBALL),
        ("GET", "/simple/torch/torch-2.0+cpu-cp311-none-any.whl", None, WHEEL),
        ("GET", "/simple/torch/torch-2.0%2Bcpu-cp311-none-any.whl", None, WHEEL),
        (
            "GET",
            "/simple/torch/torch-2.1.tar.gz",
            None,
            'https://files.example.org/torch-2.1.tar.gz"',
        ),
    ],
)
def test_a_file_download_redirects_to_the_backend_url_verbatim(method, path, query, location):
    assert fetch(path, method, query).response == Redirect(location, 307)


def test_the_page_link_of_a_file_leads_to_its_download():
    page = fetch("/simple/torch/").response.body

    assert b'href="/simple/torch/torch-2.0+cpu-cp311-none-any.whl"' in page


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/simple/numpy/numpy-1.0.tar.gz"),
        ("GET", "/simple/numpy/torch-2.1.tar.gz"),
        ("GET", "/simple/torch/numpy-1.0.tar.gz"),
        ("GET", "/simple/numpy/numpy-1.0.TAR.GZ"),
    ],
)
def test_a_file_is_served_only_by_get_or_head_under_its_own_project(method, path):
    assert fetch(path, method) is None


@pytest.mark.parametrize(
    ("path", "package", "version", "file_name", "backend_url", "ref"),
    [
        (
            "/simple/numpy/numpy-1.0.tar.gz",
            "pkg-numpy",
            "1.0",
            "numpy-1.0.tar.gz",
            TARBALL,
            "numpy-tar",
        ),
        (
            "/simple/torch/torch-2.0+cpu-cp311-none-any.whl",
            "pkg-torch",
            "2.0",
            "torch-2.0+cpu-cp311-none-any.whl",
            WHEEL,
            "torch-whl",
        ),
        (
            "/simple/torch/torch-2.1.tar.gz",
            "pkg-torch",
            "2.1",
            "torch-2.1.tar.gz",
            'https://files.example.org/torch-2.1.tar.gz"',
            "torch-typo",
        ),
    ],
)
def test_a_download_records_the_project_package_and_the_file_of_its_own_rule(
    path, package, version, file_name, backend_url, ref
):
    outcome = fetch(path)

    fields = {"version": version, "file_name": file_name, "backend_url": backend_url}
    assert outcome.captures == (Capture("python", package, fields),)
    assert (outcome.rule_type, outcome.rule_ref) == ("python-v1", ref)


def test_a_head_download_records_the_same_capture_as_a_get():
    path = "/simple/numpy/numpy-1.0.tar.gz"

    assert fetch(path, "HEAD").captures == fetch(path).captures


@pytest.mark.parametrize("accept", ["text/html", "application/vnd.pypi.simple.v1+json"])
def test_a_name_with_a_lone_surrogate_from_json_input_renders_without_raising(accept):
    rule = python_rule(package_name="a\ud800b", file_name="f\udfff.tar.gz")

    outcome = rule.match(Request("GET", DOMAIN, "/simple/", headers=(("accept", accept),)))

    assert outcome.status == 200
