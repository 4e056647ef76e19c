"""The organisation: members and invitations, API tokens, analytics
settings and the audit log (every revision, each one rollback-able)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.models import ApiToken, Invitation
from apps.accounts.roles import MANAGE, OWN, READ, role_required
from apps.analytics.models import AnalyticsSettings

from ..decorators import sees_and_changes
from ..forms import AnalyticsSettingsForm, InvitationForm, TokenForm


@sees_and_changes(OWN)
def members(request):
    organisation = request.organisation
    form = InvitationForm(request.POST or None)
    link = None
    if request.method == "POST" and form.is_valid():
        _invitation, secret = Invitation.issue(
            organisation, request.user, form.cleaned_data["email"], form.cleaned_data["role"]
        )
        link = request.build_absolute_uri(reverse("accept-invitation", args=[secret]))
        form = InvitationForm()
    return render(
        request,
        "dashboard/members.html",
        {
            "memberships": organisation.memberships.select_related("user").order_by("created"),
            "invitations": organisation.invitations.filter(accepted=None),
            "form": form,
            "link": link,
        },
    )


@sees_and_changes(MANAGE)
def tokens(request):
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        _token, secret = ApiToken.issue(request.organisation, request.user, **form.cleaned_data)
        form = TokenForm()
    return render(
        request,
        "dashboard/tokens.html",
        {
            "tokens": request.organisation.api_tokens.filter(revoked=None),
            "form": form,
            "secret": secret,
        },
    )


@require_POST
@role_required(MANAGE)
def revoke_token(request, token_id: int):
    token = get_object_or_404(ApiToken, id=token_id, organisation=request.organisation)
    token.revoke()
    messages.success(request, f"Revoked {token}; it no longer works.")
    return redirect("tokens")


@sees_and_changes(MANAGE)
def organisation_settings(request):
    instance = AnalyticsSettings.for_organisation(request.organisation.id)
    form = AnalyticsSettingsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Saved the analytics settings.")
        return redirect("settings")
    return render(request, "dashboard/settings.html", {"form": form})


@role_required(READ)
def audit_log(request):
    revisions = request.organisation.revisions.select_related("reverts")[:200]
    return render(request, "dashboard/audit_log.html", {"revisions": revisions})
