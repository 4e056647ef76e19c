"""Certificates the TLS edge holds (read from Caddy's storage) and a domain whose
DNS does not point at us, on the API and the domains page."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from apps.packages.certificates import current_certificate, read_certificate

LETS_ENCRYPT = "acme-v02.api.letsencrypt.org-directory"


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)


def issue(directory: Path, name: str, issuer_subject: str, days: int) -> bytes:
    """A leaf for `name` signed by a new CA, as PEM with the CA after it (as Caddy keeps it)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key, leaf, key = (directory / f for f in ("ca.pem", "ca.key", "leaf.pem", "leaf.key"))
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl(
        "req", "-x509", *curve, "-keyout", str(ca_key), "-out", str(ca), "-days", "30000",
        "-subj", issuer_subject,
    )  # fmt: skip
    openssl(
        "req", "-x509", *curve, "-keyout", str(key), "-out", str(leaf), "-days", str(days),
        "-subj", f"/CN={name}", "-CA", str(ca), "-CAkey", str(ca_key),
    )  # fmt: skip
    return leaf.read_bytes() + ca.read_bytes()


def store(storage: Path, issuer_dir: str, name: str, pem: bytes) -> None:
    path = storage / "certificates" / issuer_dir / name / f"{name}.crt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pem)


@pytest.mark.parametrize(
    ("subject", "issuer"),
    [("/CN=Test Issuing CA/O=Acme CA", "Test Issuing CA"), ("/O=Only An Organisation", None)],
)
def test_it_reads_the_issuer_and_validity_of_the_leaf(tmp_path, subject, issuer):
    pem = issue(tmp_path, "dl.acme.test", subject, days=90)

    certificate = read_certificate(pem)

    assert certificate.issuer == (issuer or "Only An Organisation")
    expected = datetime.now(UTC) + timedelta(days=90)
    assert abs(certificate.not_after - expected) < timedelta(minutes=5)
    assert certificate.not_before <= datetime.now(UTC)
    assert not certificate.expired


def test_it_reads_expiry_dates_after_2049(tmp_path):
    """Those are GeneralizedTime, not UTCTime."""
    certificate = read_certificate(issue(tmp_path, "dl.acme.test", "/CN=Long CA", days=20000))

    assert certificate.not_after.year >= 2050


def test_it_refuses_what_is_not_a_certificate():
    with pytest.raises(ValueError, match="PEM"):
        read_certificate(b"not a certificate")
    with pytest.raises(ValueError, match="DER"):
        read_certificate(b"-----BEGIN CERTIFICATE-----\nMAo=\n-----END CERTIFICATE-----\n")


def test_the_latest_certificate_of_any_issuer_is_the_current_one(tmp_path, settings):
    settings.CADDY_STORAGE = str(tmp_path / "storage")
    store(
        tmp_path / "storage",
        LETS_ENCRYPT,
        "dl.acme.test",
        issue(tmp_path / "a", "dl.acme.test", "/CN=Old", 10),
    )
    store(
        tmp_path / "storage",
        "zerossl",
        "dl.acme.test",
        issue(tmp_path / "b", "dl.acme.test", "/CN=New", 80),
    )

    assert current_certificate("dl.acme.test").issuer == "New"
    assert current_certificate("other.acme.test") is None


def test_without_storage_no_certificate_is_shown(settings):
    settings.CADDY_STORAGE = ""

    assert current_certificate("dl.acme.test") is None
