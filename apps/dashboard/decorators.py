"""Cross-cutting rules for dashboard views: who may see and who may change."""

from __future__ import annotations

from functools import wraps

from allauth.core.exceptions import ReauthenticationRequired
from django.core.exceptions import PermissionDenied

from apps.accounts.authentication import recently_authenticated
from apps.accounts.roles import READ, allows, role_required

SAFE_METHODS = {"GET", "HEAD"}


def sees_and_changes(permission: str):
    """Every member of the organisation sees the page; only a role granting
    `permission` may send it anything that changes something (403 otherwise)."""

    def decorator(view):
        @role_required(READ)
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method not in SAFE_METHODS and not _allows(request, permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def recent_authentication_required(view):
    """For changes that redirect users (a backend, a rule's target, a domain, a
    write token, roles): a POST from a session whose last password or second
    factor check is older than REAUTH_MINUTES goes to allauth's page asking
    again, which replays the POST once it succeeds. Reading the page, and
    htmx's field checks (which save nothing), are not held up."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        changes = request.method not in SAFE_METHODS and not is_htmx(request)
        if changes and not recently_authenticated(request):
            raise ReauthenticationRequired
        return view(request, *args, **kwargs)

    return wrapped


def _allows(request, permission: str) -> bool:
    return allows(request.membership.role, permission)


def is_htmx(request) -> bool:
    """An htmx request, which wants a fragment instead of a whole page."""
    return request.headers.get("HX-Request") == "true"
