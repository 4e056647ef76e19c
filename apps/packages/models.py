"""What a tenant serves: domains, packages and the rules that route their downloads."""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from apps.accounts.models import ApiToken, Organisation, User
from apps.gateway.engine.backends import backend_fields
from apps.gateway.engine.manifest import RULE_TYPES
from apps.gateway.engine.rules import Rule as EngineRule

HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$"
)


def is_hostname(value: str) -> bool:
    """A DNS name we may serve and get a certificate for: valid labels, at
    least two, and not an IP address (no top-level domain is all digits)."""
    return bool(HOSTNAME_RE.match(value)) and not value.rsplit(".", 1)[-1].isdigit()


def validate_hostname(value: str) -> None:
    if not is_hostname(value):
        raise ValidationError(
            "%(value)s is not a valid host name (lower-case letters, digits, hyphens and dots, "
            "at least two labels, not an IP address)",
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
    verified_at = models.DateTimeField(null=True, blank=True)
    checked = models.DateTimeField(null=True, blank=True)
    https_only = models.BooleanField(
        default=False, help_text="plain HTTP requests are redirected (308) to HTTPS"
    )

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname

    @staticmethod
    def default_hostname(organisation: Organisation) -> str:
        return f"{organisation.slug}.{settings.GATEWAY_BASE_DOMAIN}"

    @property
    def is_default(self) -> bool:
        """The organisation's own name under the service's base domain."""
        return self.hostname == self.default_hostname(self.organisation)

    @property
    def challenge_name(self) -> str:
        """Where the TXT record proving control of the host must be."""
        return f"_{settings.DOMAIN_CHALLENGE_SERVICE}-challenge.{self.hostname}"


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
    public_stats = models.BooleanField(
        default=False,
        help_text="anyone may see its download count (a badge and a public page, apps.publicstats)",
    )

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
        return RULE_TYPES.get(rule_type, EngineRule).key_field

    def manifest_form(self) -> dict:
        """The rule as a manifest object (type, domain, package key, fields)."""
        return {
            "type": self.type,
            "domain": self.domain.hostname,
            self.package_key_field(self.type): self.package.key,
            **self.config,
        }


class RevisionQuerySet(models.QuerySet):
    def about_package(self, key: str) -> RevisionQuerySet:
        """Revisions of the package with this key, of its rules (deleted ones
        too) and of its rules' backends, health changes included. An import
        is about a manifest, not about any one package."""
        return self.filter(package=key)


class Revision(models.Model):
    """One recorded change to a domain, package or rule set: who, when, the
    state before and after (None where the object did not exist). Any
    revision can be rolled back, which is itself a new revision."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    IMPORT = "import"
    VERIFY = "verify"
    ROLLBACK = "rollback"
    HEALTH = "health"
    ACTIONS = [(a, a) for a in (CREATE, UPDATE, DELETE, IMPORT, VERIFY, ROLLBACK, HEALTH)]
    OBJECT_TYPES = [(t, t) for t in ("domain", "package", "rule", "manifest", "backend")]

    organisation = models.ForeignKey(Organisation, models.CASCADE, related_name="revisions")
    created = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    token = models.ForeignKey(ApiToken, models.SET_NULL, null=True, blank=True, related_name="+")
    actor = models.CharField(max_length=300, help_text="who, as it read when the change was made")
    action = models.CharField(max_length=10, choices=ACTIONS)
    object_type = models.CharField(max_length=10, choices=OBJECT_TYPES)
    object_id = models.BigIntegerField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reverts = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="rollbacks"
    )
    package = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="the key of the package it is about (empty for a domain or an import)",
    )

    objects = RevisionQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["organisation", "object_type", "object_id"]),
            # The audit log, newest first, all of it or one package's (0008).
            models.Index(fields=["organisation", "created", "id"], name="revision_newest"),
            models.Index(
                fields=["organisation", "package", "created", "id"], name="revision_package_newest"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.subject} by {self.actor}"

    @property
    def subject(self) -> str:
        """What the revision is about, named as a person knows it: the rule's
        package and domain, the package's key, the domain's host name."""
        snapshot = self.after or self.before or {}
        match self.object_type:
            case "rule":
                form = snapshot.get("rule", {})
                key = form.get(Rule.package_key_field(form.get("type", "")))
                return f"rule {self.object_id} of {key} on {form.get('domain')}"
            case "package":
                return f"package {snapshot.get('key')}"
            case "domain":
                return f"domain {snapshot.get('hostname')}"
            case "manifest":
                return f"manifest for {', '.join(snapshot.get('domains', ())) or 'no domains'}"
            case "backend":
                return f"backend {self.object_id} of rule {snapshot.get('rule')}"
        return f"{self.object_type} {self.object_id or ''}".strip()

    def target_changes(self) -> list[str]:
        """How it moves where downloads go, one line per backend changed: a
        rule's own backend fields, an alternate's, a new rule's, an import.
        Empty when it moves nothing (health, verification, a deletion)."""
        if self.action in (self.HEALTH, self.VERIFY) or self.after is None:
            return []
        match self.object_type:
            case "rule":
                return _changed(_targets(self.before), _targets(self.after))
            case "backend":
                before = (self.before or {}).get("config")
                return _changed({"alternate": before}, {"alternate": self.after.get("config")})
            case "manifest":
                return ["rules imported from a manifest"]
        return []


def _targets(snapshot: dict | None) -> dict:
    """A rule snapshot's backends: its own backend fields and its alternates."""
    if not snapshot:
        return {}
    form = snapshot.get("rule", {})
    targets = {field: form.get(field) for field in backend_fields(form.get("type", ""))}
    for n, backend in enumerate(snapshot.get("backends", ()), start=1):
        targets[f"alternate {n}"] = backend.get("config")
    return targets


def _changed(before: dict, after: dict) -> list[str]:
    return [
        f"{name}: {before.get(name) or '(none)'} → {after.get(name) or '(none)'}"
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]


class HealthState(models.Model):
    """What the health checks (apps.packages.health) know about one backend.

    `healthy` is what the gateway acts on: a backend turns unhealthy after
    BACKEND_UNHEALTHY_AFTER consecutive failed checks and healthy again after
    BACKEND_HEALTHY_AFTER consecutive good ones. `last_probe` is the last
    check, `last_change` the last flip of `healthy`, `last_error` why the
    last failed check failed ("" once a check succeeds).
    """

    healthy = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    consecutive_successes = models.PositiveIntegerField(default=0)
    last_probe = models.DateTimeField(null=True, blank=True)
    last_change = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    HEALTH_FIELDS = (
        "healthy",
        "consecutive_failures",
        "consecutive_successes",
        "last_probe",
        "last_change",
        "last_error",
    )

    class Meta:
        abstract = True


class Backend(HealthState):
    """An alternate backend of a rule, tried after the rule's own (its primary).

    - `rule`: the rule it serves for (`rule.backends`, ordered by position).
    - `position`: its place among the rule's alternates (0 is tried first,
      right after the primary).
    - `config`: overrides of the rule type's backend fields only, in manifest
      form (e.g. `{"registry": "ghcr.io"}` for docker, `{"outgoing-url": ...}`
      for files); the rule with them applied is validated by the engine
      (apps.gateway.engine.backends). An empty override is not allowed.
    - `weight`: canary percentage (0-100) of the requests it takes while it
      and the primary are healthy; null means failover only.
    - health (HealthState): `healthy`, consecutive failures/successes,
      `last_probe`, `last_change`, `last_error`, kept by the health task;
      not part of revisions (a rollback does not bring back old health).

    Changed only through apps.packages.services (add_backend, update_backend,
    remove_backend, reorder_backends, set_backend_weight), which records
    revisions; saving one republishes its rule's domain.
    """

    rule = models.ForeignKey(Rule, models.CASCADE, related_name="backends")
    position = models.PositiveIntegerField(default=0)
    config = models.JSONField(default=dict)
    weight = models.PositiveSmallIntegerField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["rule", "position", "id"]

    def __str__(self) -> str:
        return f"backend {self.position} of {self.rule}"


class PrimaryHealth(HealthState):
    """The health of a rule's own (primary) backend, kept once the rule has
    alternates: the gateway fails over from it, and back to it, on this."""

    rule = models.OneToOneField(Rule, models.CASCADE, related_name="primary_health")

    def __str__(self) -> str:
        return f"primary backend of {self.rule}"
