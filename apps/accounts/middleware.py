"""Puts the signed-in user's current organisation on the request, and keeps
sessions without a second factor out of organisations that require one."""

from __future__ import annotations

from django.shortcuts import render

from .authentication import has_second_factor, lacks_required_second_factor
from .models import Membership

SESSION_KEY = "organisation_id"
# Signing in and out, second factors, sessions, switching organisation.
ACCOUNT_PAGES = "/accounts/"
# The API applies the policy itself (apps.api.auth): it answers in JSON, and
# a call with a token is let through even when a session cookie comes with it.
API = "/api/"


def current_organisation(get_response):
    """Set `request.membership` (and `request.organisation`) from the session.

    Falls back to the user's first membership when the session names none or
    one the user no longer belongs to.
    """

    def middleware(request):
        request.membership = None
        request.organisation = None
        if request.user.is_authenticated:
            memberships = Membership.objects.filter(user=request.user).select_related(
                "organisation"
            )
            wanted = request.session.get(SESSION_KEY)
            membership = memberships.filter(organisation_id=wanted).first() if wanted else None
            membership = membership or memberships.order_by("created", "id").first()
            if membership:
                request.membership = membership
                request.organisation = membership.organisation
        return get_response(request)

    return middleware


def two_factor_policy(get_response):
    """An organisation that requires two-factor authentication is closed to a
    session that did not pass a second factor: its pages answer 403 with what
    to do (set one up, or confirm with it). Account pages stay open, so the
    member can do just that or switch organisation. The API is left to
    apps.api.auth, where tokens keep working."""

    def middleware(request):
        organisation = getattr(request, "organisation", None)
        if (
            organisation is not None
            and not request.path.startswith((ACCOUNT_PAGES, API))
            and lacks_required_second_factor(request, organisation)
        ):
            context = {"organisation": organisation, "has_one": has_second_factor(request.user)}
            return render(request, "accounts/two_factor_required.html", context, status=403)
        return get_response(request)

    return middleware
