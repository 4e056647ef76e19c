"""The REST API: one small view set per object type, all scoped to the caller's
organisation (ids outside it answer 404), every change made through
apps.packages.services so it is validated, recorded and published exactly
as a dashboard or manifest change would be."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import roles
from apps.accounts.models import ApiToken, Invitation, Membership, Organisation
from apps.gateway.engine.backends import backend_fields
from apps.gateway.explain import resolve_request
from apps.packages import services
from apps.packages.manifests import export_manifest
from apps.packages.models import Backend, Domain, Package, Revision, Rule

from . import serializers as s
from .auth import PERSON, Access, access_of, refuse_without_required_second_factor

NO_BODY = OpenApiResponse(description="done; no body")
CHANGED_SINCE = OpenApiResponse(
    description="the object changed since this revision: roll those changes back first"
)
RULE_READ_ONLY = ("id", "created", "updated")
RULE_FILTERS = {"domain": "domain__hostname", "package": "package__key", "type": "type"}


def filters(**descriptions: str):
    """Document a list view's query filters."""
    return extend_schema(
        parameters=[OpenApiParameter(name, str, description=d) for name, d in descriptions.items()]
    )


def query_value(request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is not None and "\x00" in value:
        raise ValidationError({name: ["must not contain NUL characters"]})
    return value


def query_choice(request, name: str, choices: list[tuple[str, str]]) -> str | None:
    """A filter on a field with fixed choices; another value is a 400, not an empty list."""
    value = query_value(request, name)
    allowed = [choice for choice, _label in choices]
    if value and value not in allowed:
        raise ValidationError({name: [f"{value!r} is not one of {', '.join(allowed)}"]})
    return value


def query_id(request, name: str) -> int | None:
    """A filter naming an object by its id; anything but a number is a 400."""
    value = query_value(request, name)
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise ValidationError({name: ["must be a number"]})
    return int(value)


class OrganisationAccess:
    """Reading needs READ, anything else `write_permission` (apps.accounts.roles)."""

    write_permission = roles.MANAGE

    def permission_for(self, request) -> str:
        return roles.READ if request.method in SAFE_METHODS else self.write_permission

    @property
    def access(self) -> Access:
        return access_of(self.request)


class Scoped(OrganisationAccess, viewsets.GenericViewSet):
    """Objects of the caller's organisation only: other ids answer 404."""

    model: type
    organisation_field = "organisation"
    lookup_value_regex = r"[0-9]{1,18}"
    http_method_names = ["get", "head", "options", "post", "patch", "delete"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        scope = {self.organisation_field: self.access.organisation}
        return self.filter(self.model.objects.filter(**scope))

    def filter(self, queryset):
        return queryset

    def own(self, model, object_id: int, organisation_field: str, field: str):
        """The caller's organisation's `model` object with this id, named by
        the body's `field` (a 404 naming it otherwise)."""
        found = model.objects.filter(
            id=object_id, **{organisation_field: self.access.organisation}
        ).first()
        if found is None:
            name = model._meta.verbose_name
            raise NotFound({field: [f"no {name} {object_id} in this organisation"]})
        return found


class Readable(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    """List (paginated) and show the organisation's objects."""


class Editable(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin, Readable
):
    """Also create, change (PATCH) and delete them."""


class OrganisationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The organisations the caller can see: a token's own, a person's every
    membership. Renaming and deleting need the owner role there."""

    serializer_class = s.OrganisationSerializer
    permission_classes = [IsAuthenticated]
    lookup_value_regex = r"[0-9]{1,18}"
    http_method_names = ["get", "head", "options", "post", "patch", "delete"]

    def get_queryset(self):
        if isinstance(self.request.auth, Access):
            return Organisation.objects.filter(id=self.request.auth.organisation.id)
        return Organisation.objects.filter(memberships__user=self.request.user)

    def _require_owner(self, organisation: Organisation) -> None:
        if isinstance(self.request.auth, Access):
            role = self.request.auth.role
        else:
            refuse_without_required_second_factor(self.request, organisation)
            role = organisation.memberships.get(user=self.request.user).role
        if not roles.allows(role, roles.OWN):
            raise PermissionDenied("Only the organisation's owners may do this.")

    def create(self, request):
        if isinstance(request.auth, Access):
            raise PermissionDenied("A token belongs to one organisation; sign in to create one.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        organisation = Organisation.create_for(request.user, serializer.validated_data["name"])
        return Response(self.get_serializer(organisation).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer) -> None:
        self._require_owner(serializer.instance)
        serializer.save()

    def perform_destroy(self, organisation: Organisation) -> None:
        self._require_owner(organisation)
        organisation.delete()


class MemberViewSet(mixins.UpdateModelMixin, mixins.DestroyModelMixin, Readable):
    """People in the organisation and their roles; owners change them."""

    model = Membership
    serializer_class = s.MemberSerializer
    write_permission = roles.OWN

    def filter(self, queryset):
        return queryset.select_related("user").order_by("created", "id")

    @transaction.atomic
    def perform_update(self, serializer) -> None:
        membership = serializer.instance
        if serializer.validated_data.get("role", roles.OWNER) != roles.OWNER:
            self._keep_an_owner(membership, "role")
        serializer.save()

    @transaction.atomic
    def perform_destroy(self, membership: Membership) -> None:
        self._keep_an_owner(membership, None)
        membership.delete()

    def _keep_an_owner(self, membership: Membership, field: str | None) -> None:
        if membership.is_last_owner():
            raise ValidationError({field or "non_field_errors": ["the last owner must stay"]})


class InvitationViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin, Readable):
    """Invitations to join the organisation; the secret is shown once, on creation."""

    model = Invitation
    serializer_class = s.InvitationSerializer
    write_permission = roles.OWN

    def permission_for(self, request) -> str:
        return PERSON if self.action == "accept" else super().permission_for(request)

    def filter(self, queryset):
        return queryset.select_related("invited_by")

    @extend_schema(request=s.InvitationSerializer, responses={201: s.NewInvitationSerializer})
    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refusal = Invitation.refusal(self.access.organisation, serializer.validated_data["email"])
        if refusal:
            raise ValidationError({"email": [refusal]})
        invitation, secret = Invitation.issue(
            self.access.organisation,
            request.user,
            serializer.validated_data["email"],
            serializer.validated_data["role"],
        )
        invitation.token = secret
        invitation.accept_url = settings.SITE_URL + reverse("accept-invitation", args=[secret])
        return Response(s.NewInvitationSerializer(invitation).data, status=201)

    @extend_schema(request=s.AcceptInvitationSerializer, responses={200: s.OrganisationSerializer})
    @action(detail=False, methods=["post"])
    def accept(self, request):
        """Join the organisation that invited the signed-in person's e-mail address."""
        serializer = s.AcceptInvitationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation = Invitation.pending(serializer.validated_data["token"])
        if invitation is None or not invitation.is_for(request.user):
            raise NotFound("No pending invitation for you with this token.")
        invitation.accept(request.user)
        return Response(s.OrganisationSerializer(invitation.organisation).data)


class TokenViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin, Readable):
    """API tokens. Only people create them (a token cannot mint another);
    deleting one revokes it, keeping it listed."""

    model = ApiToken
    serializer_class = s.TokenSerializer

    def filter(self, queryset):
        return queryset.select_related("created_by")

    @extend_schema(request=s.TokenSerializer, responses={201: s.NewTokenSerializer})
    def create(self, request):
        if self.access.token is not None:
            raise PermissionDenied("Tokens cannot create tokens; sign in to create one.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, secret = ApiToken.issue(
            self.access.organisation, request.user, **serializer.validated_data
        )
        token.token = secret
        return Response(s.NewTokenSerializer(token).data, status=201)

    @extend_schema(responses={204: NO_BODY})
    def destroy(self, request, pk=None):
        self.get_object().revoke()
        return Response(status=204)


class DomainViewSet(Editable):
    """Domains the organisation serves on. A claimed domain serves traffic once
    the TXT record in `challenge` exists and a verification has seen it.
    PATCH changes `https_only` (a host name never changes: claim the new one)."""

    model = Domain
    serializer_class = s.DomainSerializer

    def perform_create(self, serializer) -> None:
        hostname = serializer.validated_data["hostname"]
        serializer.instance = services.claim_domain(
            self.access.organisation, self.access.actor, hostname
        )

    def perform_update(self, serializer) -> None:
        domain, data = serializer.instance, serializer.validated_data
        if data.get("hostname", domain.hostname) != domain.hostname:
            raise ValidationError({"hostname": "a domain's host name cannot change"})
        if "https_only" in data:
            domain = services.set_https_only(domain, self.access.actor, data["https_only"])
        serializer.instance = domain

    def perform_destroy(self, domain: Domain) -> None:
        services.delete_domain(domain, self.access.actor)

    @extend_schema(request=None, responses={200: s.DomainSerializer})
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        """Look the challenge record up now; `verified` says whether it was found."""
        domain = self.get_object()
        services.verify_domain(domain, self.access.actor)
        domain.refresh_from_db()
        return Response(self.get_serializer(domain).data)


@filters(kind="only packages of this kind (docker, python, npm, file, telemetry, pixel)")
class PackageViewSet(Editable):
    """Packages; deleting one deletes its rules (a rollback restores both)."""

    model = Package
    serializer_class = s.PackageSerializer

    def filter(self, queryset):
        kind = query_choice(self.request, "kind", Package.KINDS)
        return queryset.filter(kind=kind) if kind else queryset

    def perform_create(self, serializer) -> None:
        serializer.instance = services.create_package(
            self.access.organisation, self.access.actor, **serializer.validated_data
        )

    @extend_schema(request=s.PackageChangeSerializer, responses={200: s.PackageSerializer})
    def partial_update(self, request, pk=None):
        """Rename a package or publish its download count (its key and kind are fixed)."""
        package = self.get_object()
        change = s.PackageChangeSerializer(data=request.data)
        change.is_valid(raise_exception=True)
        package = services.update_package(package, self.access.actor, **change.validated_data)
        return Response(self.get_serializer(package).data)

    def perform_destroy(self, package: Package) -> None:
        services.delete_package(package, self.access.actor)


@filters(
    domain="only rules on this host name",
    package="only rules of the package with this key",
    type="only rules of this type",
)
class RuleViewSet(Editable):
    """Gateway rules in manifest form, validated by the gateway engine. A PATCH
    of a backend field (`outgoing-url`, `registry`, `backend-url` …) is served
    by every gateway within a second of the response."""

    model = Rule
    organisation_field = "domain__organisation"
    serializer_class = s.RuleSerializer

    def filter(self, queryset):
        queryset = queryset.select_related("domain__organisation", "package")
        query_choice(self.request, "type", Rule.TYPES)
        for name, lookup in RULE_FILTERS.items():
            if value := query_value(self.request, name):
                queryset = queryset.filter(**{lookup: value.lower() if name == "domain" else value})
        return queryset

    def _fields(self) -> tuple[dict, int | None]:
        """The manifest fields and the position from a rule body."""
        if not isinstance(self.request.data, dict):
            raise ValidationError(["the body must be a JSON object of manifest fields"])
        fields = {k: v for k, v in self.request.data.items() if k not in RULE_READ_ONLY}
        data = {"position": fields.pop("position")} if "position" in fields else {}
        position = s.RuleSerializer(data=data, partial=True)
        position.is_valid(raise_exception=True)
        return fields, position.validated_data.get("position")

    def create(self, request):
        fields, position = self._fields()
        rule = services.create_rule(self.access.organisation, self.access.actor, fields, position)
        return Response(self.get_serializer(rule).data, status=201)

    def partial_update(self, request, pk=None):
        """Change some fields; a null value removes an optional field (its default applies)."""
        rule = self.get_object()
        fields, position = self._fields()
        rule = services.update_rule(rule, self.access.actor, fields, position)
        return Response(self.get_serializer(rule).data)

    def perform_destroy(self, rule: Rule) -> None:
        services.delete_rule(rule, self.access.actor)

    @extend_schema(request=None, responses={200: s.RuleBackendsSerializer})
    @action(detail=True, methods=["get"])
    def backends(self, request, pk=None):
        """The rule's primary backend and its alternates, with their health."""
        rule = self.get_object()
        data = s.RuleBackendsSerializer.of(rule, backend_fields(rule.type))
        return Response(s.RuleBackendsSerializer(data).data)


@filters(rule="only backends of the rule with this id", package="only backends of this package")
class BackendViewSet(Editable):
    """Alternate backends of rules: failover in order when a backend is
    unhealthy, canary weights for a gradual shift. A change is served by every
    gateway within a second; health changes on its own, with the checks."""

    model = Backend
    organisation_field = "rule__domain__organisation"
    serializer_class = s.BackendSerializer

    def filter(self, queryset):
        queryset = queryset.select_related("rule")
        if (rule := query_id(self.request, "rule")) is not None:
            queryset = queryset.filter(rule_id=rule)
        if package := query_value(self.request, "package"):
            queryset = queryset.filter(rule__package__key=package)
        return queryset

    def perform_create(self, serializer) -> None:
        data = serializer.validated_data
        rule = self.own(Rule, data["rule_id"], "domain__organisation", "rule")
        serializer.instance = services.add_backend(
            rule, self.access.actor, data["config"], data.get("weight"), data.get("position")
        )

    def perform_update(self, serializer) -> None:
        changes = dict(serializer.validated_data)
        if "rule_id" in changes and changes.pop("rule_id") != serializer.instance.rule_id:
            raise ValidationError({"rule": ["a backend cannot move to another rule"]})
        serializer.instance = services.update_backend(
            serializer.instance, self.access.actor, **changes
        )

    def perform_destroy(self, backend: Backend) -> None:
        services.remove_backend(backend, self.access.actor)


@filters(
    object_type="only revisions of domains, packages, rules or manifests",
    object_id="only revisions of the object with this id",
    package="only revisions of the package with this key, its rules and their backends",
)
class RevisionViewSet(Readable):
    """The organisation's change history, newest first."""

    model = Revision
    serializer_class = s.RevisionSerializer

    def filter(self, queryset):
        if object_type := query_choice(self.request, "object_type", Revision.OBJECT_TYPES):
            queryset = queryset.filter(object_type=object_type)
        if (object_id := query_id(self.request, "object_id")) is not None:
            queryset = queryset.filter(object_id=object_id)
        if package := query_value(self.request, "package"):
            queryset = queryset.about_package(package)
        return queryset

    @extend_schema(request=None, responses={201: s.RevisionSerializer, 409: CHANGED_SINCE})
    @action(detail=True, methods=["post"])
    def rollback(self, request, pk=None):
        """Put the object back as it was before this revision (a new revision)."""
        revision = services.rollback(self.get_object(), self.access.actor)
        return Response(self.get_serializer(revision).data, status=201)


class ManifestView(OrganisationAccess, APIView):
    """The organisation's rules as one Scarf Gateway manifest."""

    @extend_schema(responses={200: s.ManifestSerializer})
    def get(self, request):
        return Response(export_manifest(self.access.organisation))

    @extend_schema(request=s.ManifestSerializer, responses={200: s.ImportSummarySerializer})
    def post(self, request):
        """Make the rules of every domain the manifest names exactly its rules;
        all or nothing. Rules already there keep their ids; `revision` is the
        one revision recording what changed (null: nothing did). Domains it
        creates are claimed, not verified."""
        summary, revision = services.import_manifest(
            self.access.organisation, self.access.actor, request.data
        )
        return Response(
            s.ImportSummarySerializer(
                {**summary.__dict__, "revision": revision and revision.id}
            ).data
        )


class ApiIndex(APIView):
    """`GET /api/v1/`: the API's resources, its schema and its docs, as links."""

    authentication_classes: list = []
    permission_classes: list = []
    schema = None
    resources: tuple[str, ...] = ()

    def get(self, request):
        def link(path: str) -> str:
            return request.build_absolute_uri(f"{request.path}{path}")

        return Response(
            {
                "resources": {name: link(f"{name}/") for name in self.resources},
                "schema": link("schema/"),
                "docs": link("docs/"),
            }
        )


class ResolveView(OrganisationAccess, APIView):
    """What the gateway would answer to a request on one of the organisation's domains."""

    def permission_for(self, request) -> str:
        return roles.READ

    @extend_schema(request=s.ResolveSerializer, responses={200: s.DecisionSerializer})
    def post(self, request):
        query = s.ResolveSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        host = data["host"].lower().rstrip(".")
        domain = Domain.objects.filter(organisation=self.access.organisation, hostname=host).first()
        if domain is None:
            raise NotFound({"host": [f"{host} is not a domain of this organisation"]})
        if not domain.verified:
            raise ValidationError({"host": ["is not verified yet; the gateway does not serve it"]})
        headers = list(data["headers"].items())
        return Response(resolve_request(domain.hostname, data["method"], data["path"], headers))
