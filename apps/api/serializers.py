"""Request and response shapes of the API, each with the example the schema shows.

Rules are the exception to "a serializer validates": their bodies are the
manifest form, which the gateway engine validates (apps.packages.services),
so the API and an imported manifest accept exactly the same rules.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from apps.accounts.models import ApiToken, Invitation, Membership, Organisation
from apps.gateway.engine.backends import MAX_WEIGHT
from apps.packages.certificates import edge_view
from apps.packages.models import Backend, Domain, Package, PrimaryHealth, Revision, Rule

MAX_POSITION = 2**31 - 1
WHEN = "2026-01-05T10:00:00Z"


def example(name: str, value: dict, **kwargs) -> OpenApiExample:
    return OpenApiExample(name, value=value, **kwargs)


@extend_schema_serializer(
    examples=[
        example(
            "Organisation",
            {
                "id": 1,
                "name": "Acme",
                "slug": "acme",
                "default_domain": "acme.gateway.localhost",
                "created": WHEN,
            },
        )
    ]
)
class OrganisationSerializer(serializers.ModelSerializer):
    default_domain = serializers.SerializerMethodField()

    class Meta:
        model = Organisation
        fields = ["id", "name", "slug", "default_domain", "created"]
        read_only_fields = ["slug", "created"]

    def get_default_domain(self, organisation: Organisation) -> str:
        return Domain.default_hostname(organisation)


@extend_schema_serializer(
    examples=[
        example(
            "Member",
            {"id": 3, "email": "ada@example.com", "role": "admin", "created": WHEN},
        )
    ]
)
class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "role", "created"]
        read_only_fields = ["created"]


INVITATION = {
    "id": 4,
    "email": "grace@example.com",
    "role": "member",
    "invited_by": "ada@example.com",
    "created": WHEN,
    "accepted": None,
}


@extend_schema_serializer(examples=[example("Invitation", INVITATION)])
class InvitationSerializer(serializers.ModelSerializer):
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True, default=None)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "invited_by", "created", "accepted"]
        read_only_fields = ["created", "accepted"]


@extend_schema_serializer(
    examples=[
        example(
            "New invitation",
            {
                **INVITATION,
                "token": "Zq4…",
                "accept_url": "http://localhost:8000/accounts/invitations/Zq4…/",
            },
            response_only=True,
        )
    ]
)
class NewInvitationSerializer(InvitationSerializer):
    token = serializers.CharField(read_only=True, help_text="shown only in this response")
    accept_url = serializers.CharField(read_only=True)

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "token", "accept_url"]


@extend_schema_serializer(
    examples=[example("Accept", {"token": "Zq4…"}, request_only=True)],
)
class AcceptInvitationSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200, write_only=True)


TOKEN = {
    "id": 7,
    "name": "CI deploys",
    "prefix": "gw_Hk2xQ9aB",
    "scope": "write",
    "created_by": "ada@example.com",
    "created": WHEN,
    "expires": "2027-01-01T00:00:00Z",
    "last_used": None,
    "revoked": None,
}


@extend_schema_serializer(examples=[example("Token", TOKEN)])
class TokenSerializer(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "scope",
            "created_by",
            "created",
            "expires",
            "last_used",
            "revoked",
        ]
        read_only_fields = ["prefix", "created", "last_used", "revoked"]

    def validate_expires(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("must be in the future")
        return value


@extend_schema_serializer(
    examples=[
        example(
            "New token",
            {**TOKEN, "token": "gw_Hk2xQ9aB…"},
            response_only=True,
        )
    ]
)
class NewTokenSerializer(TokenSerializer):
    token = serializers.CharField(read_only=True, help_text="the secret; shown only here")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]


class ChallengeSerializer(serializers.Serializer):
    type = serializers.CharField()
    name = serializers.CharField()
    value = serializers.CharField()


DOMAIN = {
    "id": 2,
    "hostname": "get.acme.dev",
    "verified": False,
    "default": False,
    "challenge": {
        "type": "TXT",
        "name": "_gateway-challenge.get.acme.dev",
        "value": "vX0j…",
    },
    "created": WHEN,
    "verified_at": None,
    "checked": None,
    "https_only": False,
    "certificate": {
        "issued": True,
        "issuer": "R11",
        "not_before": WHEN,
        "not_after": "2026-04-05T10:00:00Z",
        "expired": False,
    },
    "dns": None,
}


class CertificateSerializer(serializers.Serializer):
    issued = serializers.BooleanField(help_text="the TLS edge holds a certificate for the domain")
    issuer = serializers.CharField(allow_null=True, help_text="the issuing CA's name")
    not_before = serializers.DateTimeField(allow_null=True)
    not_after = serializers.DateTimeField(allow_null=True, help_text="when it expires")
    expired = serializers.BooleanField()


class DnsSerializer(serializers.Serializer):
    addresses = serializers.ListField(
        child=serializers.CharField(), help_text="the domain's A and AAAA records"
    )
    points_here = serializers.BooleanField(
        allow_null=True, help_text="whether they include the edge's (null: cannot tell)"
    )
    problem = serializers.CharField(help_text="why clients cannot reach us yet; empty if none")


@extend_schema_serializer(
    examples=[
        example("Claim", {"hostname": "get.acme.dev"}, request_only=True),
        example("Domain", DOMAIN, response_only=True),
    ]
)
class DomainSerializer(serializers.ModelSerializer):
    default = serializers.BooleanField(source="is_default", read_only=True)
    challenge = serializers.SerializerMethodField(
        help_text="the DNS record that verifies the domain"
    )
    certificate = serializers.SerializerMethodField(
        help_text="the certificate the TLS edge holds for the domain (obtained on the first "
        "HTTPS request once the domain is verified); null where the edge's storage is not "
        "configured (CADDY_STORAGE)"
    )
    dns = serializers.SerializerMethodField(
        help_text="where the domain's name points, for a verified domain without a "
        "certificate when the edge's addresses are configured (EDGE_ADDRESSES); null otherwise"
    )

    class Meta:
        model = Domain
        fields = [
            "id",
            "hostname",
            "verified",
            "default",
            "challenge",
            "created",
            "verified_at",
            "checked",
            "https_only",
            "certificate",
            "dns",
        ]
        read_only_fields = ["verified", "created", "verified_at", "checked"]
        extra_kwargs = {"hostname": {"validators": []}}  # claim_domain says why not

    @extend_schema_field(ChallengeSerializer)
    def get_challenge(self, domain: Domain) -> dict:
        return {"type": "TXT", "name": domain.challenge_name, "value": domain.verification_token}

    def to_representation(self, domain: Domain) -> dict:
        self.edge = edge_view(domain)  # one look at the edge for both of its fields
        return super().to_representation(domain)

    @extend_schema_field(CertificateSerializer(allow_null=True))
    def get_certificate(self, domain: Domain) -> dict | None:
        if not self.edge.known:
            return None
        certificate = self.edge.certificate
        return CertificateSerializer(
            {
                "issued": certificate is not None,
                "issuer": certificate and certificate.issuer,
                "not_before": certificate and certificate.not_before,
                "not_after": certificate and certificate.not_after,
                "expired": certificate is not None and certificate.expired,
            }
        ).data

    @extend_schema_field(DnsSerializer(allow_null=True))
    def get_dns(self, domain: Domain) -> dict | None:
        view = self.edge.dns
        if view is None:
            return None
        return {
            "addresses": list(view.addresses),
            "points_here": view.points_here,
            "problem": view.problem,
        }


PACKAGE = {
    "id": 5,
    "key": "cli",
    "name": "acme-cli",
    "kind": "file",
    "public_stats": False,
    "created": WHEN,
}


@extend_schema_serializer(
    examples=[
        example(
            "New package", {"key": "cli", "name": "acme-cli", "kind": "file"}, request_only=True
        ),
        example("Package", PACKAGE, response_only=True),
    ]
)
class PackageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Package
        fields = ["id", "key", "name", "kind", "public_stats", "created"]
        read_only_fields = ["public_stats", "created"]


@extend_schema_serializer(
    examples=[
        example("Rename", {"name": "Acme CLI"}, request_only=True),
        example("Publish its download count", {"public_stats": True}, request_only=True),
    ]
)
class PackageChangeSerializer(serializers.Serializer):
    """What a PATCH may change: the name, and whether anyone may see the
    download count (a badge and a public page; small counts shown as "< k")."""

    name = serializers.CharField(max_length=200, required=False)
    public_stats = serializers.BooleanField(required=False)

    def validate(self, data):
        unchangeable = [field for field in self.initial_data if field not in self.fields]
        if unchangeable:
            # The id is in every URL its users download from: a new id is a new package.
            reason = "cannot be changed (a PATCH changes name and public_stats)"
            raise serializers.ValidationError(dict.fromkeys(unchangeable, reason))
        if not data:
            raise serializers.ValidationError("give name, public_stats or both")
        return data


RULE = {
    "id": 11,
    "position": 0,
    "type": "file-v1",
    "domain": "get.acme.dev",
    "package-id": "cli",
    "package-name": "acme-cli",
    "incoming-path": "/cli/{version}/{file}",
    "outgoing-url": "https://github.com/acme/cli/releases/download/v{version}/{file}",
    "created": WHEN,
    "updated": WHEN,
}


@extend_schema_serializer(
    examples=[
        example(
            "New rule",
            {k: v for k, v in RULE.items() if k not in ("id", "created", "updated")},
            request_only=True,
        ),
        example(
            "Switch the backend",
            {"outgoing-url": "https://mirror.acme.dev/cli/{version}/{file}"},
            request_only=True,
        ),
        example("Rule", RULE, response_only=True),
    ]
)
class RuleSerializer(serializers.Serializer):
    """A rule in manifest form (GATEWAY-DECISIONS §9): `type`, `domain`, the
    package key (`package-id`, or `rule-id` for docker-v2) and the type's own
    fields, plus `id` and `position` (its place among the domain's rules)."""

    id = serializers.IntegerField(read_only=True)
    position = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_POSITION, help_text="order on its domain"
    )
    type = serializers.ChoiceField(choices=[t for t, _ in Rule.TYPES], required=False)
    domain = serializers.CharField(required=False, help_text="one of the organisation's domains")
    created = serializers.DateTimeField(read_only=True)
    updated = serializers.DateTimeField(read_only=True)

    def get_fields(self):
        fields = super().get_fields()
        for key in ("package-id", "rule-id"):
            fields[key] = serializers.CharField(required=False, help_text="the package's key")
        return fields

    def to_representation(self, rule: Rule) -> dict:
        return {
            "id": rule.id,
            "position": rule.position,
            **rule.manifest_form(),
            "created": serializers.DateTimeField().to_representation(rule.created),
            "updated": serializers.DateTimeField().to_representation(rule.updated),
        }


HEALTH = {
    "healthy": True,
    "consecutive_failures": 0,
    "consecutive_successes": 12,
    "last_probe": WHEN,
    "last_change": None,
    "last_error": "",
}
BACKEND = {
    "id": 3,
    "rule": 12,
    "position": 0,
    "config": {"registry": "registry-1.docker.io"},
    "weight": None,
    **HEALTH,
    "created": WHEN,
    "updated": WHEN,
}
HEALTH_FIELDS = list(HEALTH)


@extend_schema_serializer(
    examples=[
        example(
            "Failover backend",
            {"rule": 12, "config": {"registry": "registry-1.docker.io"}},
            request_only=True,
        ),
        example(
            "Canary backend",
            {"rule": 12, "config": {"registry": "quay.io"}, "weight": 10},
            request_only=True,
        ),
        example("Shift the canary", {"weight": 25}, request_only=True),
        example("Backend", BACKEND, response_only=True),
    ]
)
class BackendSerializer(serializers.ModelSerializer):
    """An alternate backend of a rule: `config` overrides the rule type's backend
    fields (docker and npm `registry`, file `outgoing-url`, catch-all
    `redirect-target-domain`, python `backend-url` / `backend-simple-index-url`);
    `weight` is its canary percentage (null: failover only). Health is read-only,
    kept by the health checks."""

    rule = serializers.IntegerField(
        source="rule_id", help_text="the rule's id; fixed once the backend exists"
    )
    position = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_POSITION,
        help_text="order among the rule's alternates (0: first after the primary)",
    )
    config = serializers.JSONField(help_text="overrides of the rule type's backend fields")
    weight = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_WEIGHT,
        help_text="canary percentage while healthy; null: failover only",
    )

    class Meta:
        model = Backend
        fields = ["id", "rule", "position", "config", "weight", *HEALTH_FIELDS]
        fields += ["created", "updated"]
        read_only_fields = [*HEALTH_FIELDS, "created", "updated"]


class PrimaryBackendSerializer(serializers.Serializer):
    """The rule's own backend fields and their health (healthy until checked)."""

    config = serializers.DictField(help_text="the rule's backend fields, as the rule has them")
    healthy = serializers.BooleanField()
    consecutive_failures = serializers.IntegerField()
    consecutive_successes = serializers.IntegerField()
    last_probe = serializers.DateTimeField(allow_null=True)
    last_change = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)


@extend_schema_serializer(
    examples=[
        example(
            "Backends",
            {
                "primary": {"config": {"registry": "ghcr.io"}, **HEALTH},
                "backends": [BACKEND],
            },
            response_only=True,
        )
    ]
)
class RuleBackendsSerializer(serializers.Serializer):
    """Every backend of a rule, in the order a failover tries them."""

    primary = PrimaryBackendSerializer()
    backends = BackendSerializer(many=True)

    @staticmethod
    def of(rule: Rule, backend_fields: tuple[str, ...]) -> dict:
        health = PrimaryHealth.objects.filter(rule=rule).first() or PrimaryHealth(rule=rule)
        config = {k: v for k, v in rule.config.items() if k in backend_fields}
        primary = {"config": config, **{name: getattr(health, name) for name in HEALTH_FIELDS}}
        return {"primary": primary, "backends": list(rule.backends.all())}


@extend_schema_serializer(
    examples=[
        example(
            "Revision",
            {
                "id": 21,
                "created": WHEN,
                "actor": "ada@example.com",
                "action": "update",
                "object_type": "rule",
                "object_id": 11,
                "before": {"id": 11, "position": 0, "rule": {"type": "file-v1", "...": "..."}},
                "after": {"id": 11, "position": 0, "rule": {"type": "file-v1", "...": "..."}},
                "reverts": None,
            },
        )
    ]
)
class RevisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Revision
        fields = [
            "id",
            "created",
            "actor",
            "action",
            "object_type",
            "object_id",
            "before",
            "after",
            "reverts",
        ]


MANIFEST = {
    "rules": [{k: v for k, v in RULE.items() if k not in ("id", "position", "created", "updated")}]
}


@extend_schema_serializer(examples=[example("Manifest", MANIFEST)])
class ManifestSerializer(serializers.Serializer):
    rules = serializers.ListField(child=serializers.DictField(), help_text="rules in manifest form")


@extend_schema_serializer(
    examples=[
        example(
            "Imported",
            {
                "domains": ["get.acme.dev"],
                "packages": 1,
                "rules": 1,
                "created": 1,
                "changed": 0,
                "deleted": 0,
                "revision": 22,
            },
        )
    ]
)
class ImportSummarySerializer(serializers.Serializer):
    domains = serializers.ListField(child=serializers.CharField())
    packages = serializers.IntegerField(help_text="packages the manifest names")
    rules = serializers.IntegerField(help_text="rules in the manifest")
    created = serializers.IntegerField(help_text="rules created")
    changed = serializers.IntegerField(help_text="rules changed in place (same id)")
    deleted = serializers.IntegerField(help_text="rules deleted")
    revision = serializers.IntegerField(
        allow_null=True, help_text="the revision recording the import; null: nothing changed"
    )


@extend_schema_serializer(
    examples=[
        example(
            "A download",
            {
                "host": "get.acme.dev",
                "method": "GET",
                "path": "/cli/1.2.0/cli-linux.tar.gz",
                "headers": {"User-Agent": "curl/8.5"},
            },
        )
    ]
)
class ResolveSerializer(serializers.Serializer):
    host = serializers.CharField(max_length=253)
    method = serializers.RegexField(r"^[A-Za-z]{1,20}$", default="GET")
    path = serializers.RegexField(
        r"^/",
        max_length=4096,
        help_text="path and query",
        error_messages={"invalid": "must start with /, e.g. /cli/1.2.0/cli.tgz"},
    )
    headers = serializers.DictField(
        child=serializers.CharField(max_length=8192, allow_blank=True, trim_whitespace=False),
        required=False,
        default=dict,
    )


@extend_schema_serializer(
    examples=[
        example(
            "Redirected",
            {
                "rule": {"type": "file-v1", "id": "11"},
                "status": 307,
                "location": "https://github.com/acme/cli/releases/download/v1.2.0/cli-linux.tar.gz",
                "captures": [{"kind": "file", "package": "cli", "variables": {"version": "1.2.0"}}],
            },
        )
    ]
)
class DecisionSerializer(serializers.Serializer):
    rule = serializers.JSONField(help_text="the rule that decided: type and id (null: none)")
    status = serializers.JSONField(help_text='the HTTP status, or "proxied" or "fetched"')
    location = serializers.CharField(required=False)
    upstream = serializers.CharField(required=False)
    headers = serializers.DictField(child=serializers.CharField(), required=False)
    body = serializers.CharField(required=False)
    captures = serializers.ListField(child=serializers.DictField())
