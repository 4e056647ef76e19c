"""Migration checks in the API: start one, read its report, and switch (or
shift a canary share) once it is clean. Reading needs the member role,
starting and switching the admin role, as rule changes do."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from apps.gateway.engine.backends import MAX_WEIGHT
from apps.migration_checks.backends import BackendDescription
from apps.migration_checks.checks import start_check
from apps.migration_checks.inventory import FILE_COMPARISONS
from apps.migration_checks.models import MigrationCheck
from apps.packages import services
from apps.packages.models import Backend, Revision, Rule

from .serializers import WHEN, RevisionSerializer, example
from .views import Readable, filters, query_id, query_value


def scope_list(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=1000),
        required=False,
        max_length=1000,
        help_text=help_text,
    )


OLD_FORM = {
    "type": "docker-v1",
    "domain": "get.acme.dev",
    "package-id": "app",
    "repository-name": "acme/app",
    "registry": "registry-1.docker.io",
}
CHECK = {
    "id": 31,
    "rule": 12,
    "backend": None,
    "status": "differences",
    "old": OLD_FORM,
    "new": {**OLD_FORM, "registry": "ghcr.io"},
    "old_backend": "registry-1.docker.io",
    "new_backend": "ghcr.io",
    "scope": {
        "repositories": [],
        "tags": [],
        "packages": [],
        "paths": [],
        "file_comparison": "size",
    },
    "report": {
        "old": {"backend": "registry-1.docker.io", "items": 3},
        "new": {"backend": "ghcr.io", "items": 3},
        "compared": 3,
        "counts": {"missing": 1, "different": 1, "extra": 1},
        "missing": [{"item": "acme/app:1.1", "old": "sha256:4f1c…"}],
        "different": [{"item": "acme/app:1.0", "old": "sha256:9a0e…", "new": "sha256:77b2…"}],
        "extra": [{"item": "acme/app:3.0", "new": "sha256:c3d4…"}],
    },
    "error": "",
    "summary": "3 compared: 1 missing and 1 different on the new backend, 1 only there",
    "actor": "ada@example.com",
    "created": WHEN,
    "started": WHEN,
    "finished": WHEN,
}


@extend_schema_serializer(
    examples=[
        example("Compare with another registry", {"rule": 12, "new": {"registry": "ghcr.io"}}),
        example("Compare with an alternate backend", {"rule": 12, "backend": 4}),
        example(
            "Compare files",
            {
                "rule": 11,
                "new": {"outgoing-url": "https://mirror.acme.dev/cli/{version}/{file}"},
                "paths": ["/cli/1.2.0/cli-linux-amd64.tar.gz"],
                "file_comparison": "sha256",
            },
        ),
    ]
)
class StartCheckSerializer(serializers.Serializer):
    rule = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    new = serializers.DictField(
        required=False, help_text="the new backend: overrides of the rule type's backend fields"
    )
    backend = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="or an alternate backend's id"
    )
    old = serializers.DictField(
        required=False, help_text="the old backend's overrides (default: the rule's own)"
    )
    repositories = scope_list("docker-v2: the repositories to compare (default: the catalog's)")
    tags = scope_list("docker: only these tags (default: every tag)")
    packages = scope_list("npm scope rules: the packages to compare")
    paths = scope_list("file rules: paths on your domain of the files to compare")
    file_comparison = serializers.ChoiceField(choices=FILE_COMPARISONS, default="size")


@extend_schema_serializer(examples=[example("Migration check", CHECK, response_only=True)])
class MigrationCheckSerializer(serializers.ModelSerializer):
    old_backend = serializers.SerializerMethodField()
    new_backend = serializers.SerializerMethodField()
    summary = serializers.CharField(read_only=True)

    class Meta:
        model = MigrationCheck
        fields = [
            "id",
            "rule",
            "backend",
            "status",
            "old",
            "new",
            "old_backend",
            "new_backend",
            "scope",
            "report",
            "error",
            "summary",
            "actor",
            "created",
            "started",
            "finished",
        ]
        read_only_fields = fields

    def get_old_backend(self, check: MigrationCheck) -> str:
        return BackendDescription(check.old).label()

    def get_new_backend(self, check: MigrationCheck) -> str:
        return BackendDescription(check.new).label()


@extend_schema_serializer(
    examples=[
        example("Switch", {}, request_only=True),
        example("Canary share", {"weight": 10}, request_only=True),
    ]
)
class SwitchSerializer(serializers.Serializer):
    weight = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_WEIGHT,
        help_text="give the check's alternate backend this share (percent) instead of switching",
    )


@filters(rule="only checks of the rule with this id", status="only checks with this status")
class MigrationCheckViewSet(mixins.CreateModelMixin, Readable):
    """Comparisons of what two backends of a rule serve: OCI manifest digests
    per tag, Python file hashes, npm integrity per version, file sizes."""

    model = MigrationCheck
    serializer_class = MigrationCheckSerializer

    def filter(self, queryset):
        if (rule := query_id(self.request, "rule")) is not None:
            queryset = queryset.filter(rule_id=rule)
        if status := query_value(self.request, "status"):
            queryset = queryset.filter(status=status)
        return queryset

    @extend_schema(request=StartCheckSerializer, responses={201: MigrationCheckSerializer})
    def create(self, request):
        """Start a check; it runs in the background (`status` pending, then
        running, then clean, differences or failed)."""
        body = StartCheckSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        rule = self.own(Rule, data["rule"], "domain__organisation", "rule")
        backend = None
        if "backend" in data:
            backend = self.own(Backend, data["backend"], "rule__domain__organisation", "backend")
        scope = {
            key: data[key] for key in ("repositories", "tags", "packages", "paths") if key in data
        }
        check = start_check(
            rule,
            self.access.actor,
            new=data.get("new"),
            backend=backend,
            old=data.get("old"),
            scope={**scope, "file_comparison": data["file_comparison"]},
        )
        return Response(self.get_serializer(check).data, status=201)

    @extend_schema(request=SwitchSerializer, responses={201: RevisionSerializer})
    @action(detail=True, methods=["post"])
    def switch(self, request, pk=None):
        """Move the rule to the check's new backend (or, with `weight`, give
        the check's alternate backend that canary share). Refused unless the
        latest check of exactly this move is clean and recent; the revision it
        answers with rolls it back."""
        check = self.get_object()
        body = SwitchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if check.rule is None:
            raise NotFound("The check's rule no longer exists.")
        if "weight" in body.validated_data:
            if check.backend is None:
                raise ValidationError(
                    {"weight": ["the check did not compare an alternate backend"]}
                )
            backend = services.shift_traffic(
                check.backend, self.access.actor, body.validated_data["weight"]
            )
            object_type, object_id = "backend", backend.id
        else:
            new = BackendDescription(check.new)
            services.switch_backend(check.rule, self.access.actor, new.fields)
            object_type, object_id = "rule", check.rule.id
        revision = Revision.objects.filter(
            organisation=self.access.organisation, object_type=object_type, object_id=object_id
        ).first()
        return Response(RevisionSerializer(revision).data, status=201)
