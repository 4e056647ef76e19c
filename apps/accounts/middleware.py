"""Puts the signed-in user's current organisation on the request."""

from __future__ import annotations

from .models import Membership

SESSION_KEY = "organisation_id"


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
