"""What a tenant serves: domains, packages and the rules that route their downloads."""

from __future__ import annotations

import re
import secrets

from django.core.exceptions import ValidationError
from django.db import models

from apps.accounts.models import Organisation

HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$"
)


def validate_hostname(value: str) -> None:
    if not HOSTNAME_RE.match(value):
        raise ValidationError(
            "%(value)s is not a valid host name (lower-case letters, digits, hyphens and dots, "
            "at least two labels)",
            params={"value": value},
        )


def new_verification_token() -> str:
    return secrets.token_urlsafe(24)


class Domain(models.Model):
    """A host name an organisation serves packages on. Only verified domains get traffic."""

    organisation = models.ForeignKey(Organisation, models.CASCADE, related_name="domains")
    hostname = models.CharField(max_length=253, unique=True, validators=[validate_hostname])
    verified = models.BooleanField(default=False)
    verification_token = models.CharField(max_length=64, default=new_verification_token)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname


class Package(models.Model):
    """Something maintainers publish; its rules say where downloads go.

    `key` is the package's id in manifests (`package-id`, or `rule-id` for an
    image-pattern rule); it stays stable so analytics and exports line up.
    """

    DOCKER = "docker"
    PYTHON = "python"
    NPM = "npm"
    FILE = "file"
    TELEMETRY = "telemetry"
    PIXEL = "pixel"
    KINDS = [
        (DOCKER, "Docker image"),
        (PYTHON, "Python package"),
        (NPM, "npm package"),
        (FILE, "File"),
        (TELEMETRY, "Telemetry"),
        (PIXEL, "Pixel"),
    ]

    organisation = models.ForeignKey(Organisation, models.CASCADE, related_name="packages")
    key = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=KINDS)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "key"], name="package_key_per_org")
        ]

    def __str__(self) -> str:
        return self.name


class Rule(models.Model):
    """One gateway rule, stored in its manifest form.

    `config` holds the manifest fields other than `type`, `domain` and the
    package key, already validated and normalised by the engine; `position`
    is the rule's place among its domain's rules (manifest order).
    """

    TYPES = [
        ("docker-v1", "Docker image"),
        ("docker-v2", "Docker image pattern"),
        ("file-v1", "File (URL template)"),
        ("file-v2", "File (regular expression)"),
        ("python-v1", "Python file"),
        ("python-index-v1", "Python package from an index"),
        ("npm-v1", "npm package"),
        ("catch-all-v1", "Catch-all"),
        ("telemetry-v1", "Telemetry"),
        ("pixel-v1", "Pixel"),
    ]
    KIND_OF_TYPE = {
        "docker-v1": Package.DOCKER,
        "docker-v2": Package.DOCKER,
        "file-v1": Package.FILE,
        "file-v2": Package.FILE,
        "catch-all-v1": Package.FILE,
        "python-v1": Package.PYTHON,
        "python-index-v1": Package.PYTHON,
        "npm-v1": Package.NPM,
        "telemetry-v1": Package.TELEMETRY,
        "pixel-v1": Package.PIXEL,
    }

    package = models.ForeignKey(Package, models.CASCADE, related_name="rules")
    domain = models.ForeignKey(Domain, models.CASCADE, related_name="rules")
    type = models.CharField(max_length=30, choices=TYPES)
    config = models.JSONField(default=dict)
    position = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["domain__hostname", "position", "id"]

    def __str__(self) -> str:
        return f"{self.type} on {self.domain} for {self.package}"

    @staticmethod
    def package_key_field(rule_type: str) -> str:
        return "rule-id" if rule_type == "docker-v2" else "package-id"

    def manifest_form(self) -> dict:
        """The rule as a manifest object (type, domain, package key, fields)."""
        return {
            "type": self.type,
            "domain": self.domain.hostname,
            self.package_key_field(self.type): self.package.key,
            **self.config,
        }
