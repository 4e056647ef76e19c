"""Who may do what: the one place the API and the dashboard ask.

Three levels of permission, each role holding a prefix of them:
`READ` (see everything of the organisation), `MANAGE` (change packages,
rules, domains and tokens; roll back revisions) and `OWN` (members,
invitations, renaming and deleting the organisation).

An API token acts with a role too: a `write` token as an admin, a `read`
token as a member, never above the role its creator holds now.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

READ = "read"
MANAGE = "manage"
OWN = "own"

OWNER = "owner"
ADMIN = "admin"
MEMBER = "member"

_GRANTS = {
    OWNER: {READ, MANAGE, OWN},
    ADMIN: {READ, MANAGE},
    MEMBER: {READ},
}
_RANK = {MEMBER: 0, ADMIN: 1, OWNER: 2}


def allows(role: str | None, permission: str) -> bool:
    return permission in _GRANTS.get(role or "", set())


def weakest(*roles: str) -> str:
    return min(roles, key=_RANK.__getitem__)


def role_required(permission: str):
    """Dashboard views: sign in, and hold a role in the current organisation that
    grants `permission` (403 otherwise), as the API's HasRole asks."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            membership = getattr(request, "membership", None)
            if membership is None or not allows(membership.role, permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
