"""The organisation's security log: its members' sign-ins and second
factors, and the changes its owners are e-mailed about."""

from __future__ import annotations

from django.db.models import Q
from django.shortcuts import render

from apps.accounts.roles import OWN, role_required
from apps.security.models import SecurityEvent

EVENTS_SHOWN = 200


@role_required(OWN)
def security_log(request):
    organisation = request.organisation
    members = organisation.memberships.values("user_id")
    events = SecurityEvent.objects.filter(
        Q(organisation=organisation) | Q(organisation=None, user_id__in=members)
    )
    return render(request, "dashboard/security_log.html", {"events": events[:EVENTS_SHOWN]})
