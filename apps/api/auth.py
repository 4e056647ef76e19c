"""Who is calling, for which organisation, with which role, and how often.

Every API request resolves to an `Access`: the organisation it acts on (the
token's, or the signed-in user's current one), the role it acts with, and
the actor its changes are recorded under. Permissions come from
apps.accounts.roles, the same rules the dashboard uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from rest_framework import authentication, exceptions, permissions, throttling

from apps.accounts import roles
from apps.accounts.authentication import lacks_required_second_factor
from apps.accounts.models import ApiToken, Organisation, User
from apps.packages.services import Actor

# A view's `permission` for requests that need a signed-in person, not a token
# and not any particular organisation (accepting an invitation, creating an
# organisation).
PERSON = "person"


@dataclass(frozen=True)
class Access:
    organisation: Organisation
    role: str
    user: User
    token: ApiToken | None = None

    def may(self, permission: str) -> bool:
        return roles.allows(self.role, permission)

    @property
    def actor(self) -> Actor:
        return Actor(user=self.user, token=self.token)


def access_of(request) -> Access | None:
    """The request's Access; None when it has no organisation to act on."""
    if isinstance(request.auth, Access):
        return request.auth
    membership = getattr(request, "membership", None)
    if not request.user.is_authenticated or membership is None:
        return None
    return Access(membership.organisation, membership.role, request.user)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`; a revoked or expired token, or one whose
    creator has left the organisation, is refused with 401."""

    keyword = "bearer"

    def authenticate(self, request):
        scheme, _, secret = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != self.keyword:
            return None
        token = ApiToken.find(secret.strip()) if secret.strip() else None
        if token is None or not token.usable:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired token.")
        role = token.role
        if role is None:
            raise exceptions.AuthenticationFailed("The token's creator has left the organisation.")
        token.touch()
        return token.created_by, Access(token.organisation, role, token.created_by, token)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class HasRole(permissions.BasePermission):
    """Grants what the view's `permission_for(request)` names to callers whose
    role allows it (PERSON: any signed-in person, without a token). A token
    needs no second factor; a session may need one."""

    def has_permission(self, request, view) -> bool:
        needed = view.permission_for(request)
        if needed == PERSON:
            return request.user.is_authenticated and not isinstance(request.auth, Access)
        access = access_of(request)
        if access is None:
            return False
        if access.token is None:
            refuse_without_required_second_factor(request, access.organisation)
        return access.may(needed)


def refuse_without_required_second_factor(request, organisation: Organisation) -> None:
    """A session (not a token) acting on an organisation that requires two-factor
    authentication must have passed a second factor, as in the dashboard."""
    if lacks_required_second_factor(request, organisation):
        raise exceptions.PermissionDenied(
            f"{organisation.name} requires two-factor authentication: sign in with "
            "your second factor (or set one up) in the dashboard, or use an API token."
        )


class PerTokenThrottle(throttling.SimpleRateThrottle):
    """API_RATE_LIMIT requests per token (per user for sessions, per address
    otherwise), counted in Django's cache, which is Redis in production."""

    scope = "api"

    def get_rate(self) -> str:
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, Access) and request.auth.token is not None:
            ident = f"token:{request.auth.token.id}"
        elif request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"address:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{ident}"
