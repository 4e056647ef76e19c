"""The organisation: members (their roles, removing them) and invitations,
API tokens, analytics settings and the audit log (every revision, each one
rollback-able). Changes to members, invitations and tokens are not
revisions: the audit log holds changes to what the gateway serves."""

from __future__ import annotations

from urllib.parse import urlencode

from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.authentication import SECOND_FACTORS, passed_second_factor
from apps.accounts.models import ApiToken, Invitation, Membership
from apps.accounts.roles import MANAGE, OWN, READ, allows, role_required
from apps.analytics.models import AnalyticsSettings
from apps.packages.services import Rejected

from .. import memberships
from ..decorators import recent_authentication_required, sees_and_changes
from ..forms import AnalyticsSettingsForm, AuditLogForm, InvitationForm, RoleForm, TokenForm
from .deleting import confirm_deletion


@sees_and_changes(OWN)
@recent_authentication_required
def members(request):
    organisation = request.organisation
    form = InvitationForm(request.POST or None)
    link = None
    if request.method == "POST" and form.is_valid():
        refusal = Invitation.refusal(organisation, form.cleaned_data["email"])
        if refusal:
            form.add_error("email", refusal)
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
            "members": _members_with_second_factor(organisation),
            "invitations": organisation.invitations.filter(accepted=None),
            "form": form,
            "link": link,
            "roles": Membership.ROLES,
            "can_own": allows(request.membership.role, OWN),
        },
    )


def _members_with_second_factor(organisation):
    second_factors = Authenticator.objects.filter(
        user_id=OuterRef("user_id"), type__in=SECOND_FACTORS
    )
    members = organisation.memberships.select_related("user").order_by("created")
    return members.annotate(has_second_factor=Exists(second_factors))


@require_POST
@role_required(OWN)
@recent_authentication_required
def two_factor_requirement(request):
    """Require a second factor of every member, or stop. Only an owner whose
    own session passed one may turn it on: the requirement cannot lock out
    the person setting it."""
    organisation = request.organisation
    required = request.POST.get("require_two_factor") == "on"
    if required and not passed_second_factor(request):
        messages.error(
            request,
            "Not required: set up two-factor authentication and sign in with it first, "
            "or the requirement would lock you out.",
        )
        return redirect("members")
    organisation.require_two_factor = required
    organisation.save(update_fields=["require_two_factor"])
    if required:
        messages.success(request, "Members now need a second factor to reach the organisation.")
    else:
        messages.success(request, "Members no longer need a second factor.")
    return redirect("members")


def _membership(request, membership_id: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user"),
        id=membership_id,
        organisation=request.organisation,
    )


@require_POST
@role_required(OWN)
@recent_authentication_required
def member_role(request, membership_id: int):
    membership = _membership(request, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: owner, admin or member.")
        return redirect("members")
    try:
        memberships.change_role(membership, form.cleaned_data["role"])
    except Rejected as rejected:
        messages.error(request, f"{membership.user} keeps their role: {rejected.errors[0][1]}.")
    else:
        role = membership.get_role_display().lower()
        messages.success(request, f"{membership.user} is now {role} of {request.organisation}.")
    return redirect("members")


@role_required(OWN)
@recent_authentication_required
def member_remove(request, membership_id: int):
    membership = _membership(request, membership_id)
    leaving = membership.user_id == request.user.id
    return confirm_deletion(
        request,
        subject=f"{membership.user} from {request.organisation}",
        consequence=(
            "They lose access at once, and the API tokens they created stop working. "
            "An owner can invite them again."
        ),
        delete=lambda: memberships.remove(membership),
        cancel=reverse("members"),
        done=reverse("home" if leaving else "members"),
        message=f"Removed {membership.user} from {request.organisation}.",
        action="Remove",
    )


@require_POST
@role_required(OWN)
def revoke_invitation(request, invitation_id: int):
    invitation = get_object_or_404(
        Invitation, id=invitation_id, organisation=request.organisation, accepted=None
    )
    invitation.delete()
    messages.success(
        request, f"Revoked the invitation of {invitation.email}; its link no longer works."
    )
    return redirect("members")


@sees_and_changes(MANAGE)
@recent_authentication_required
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
    if not request.membership.can_manage:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Saved the analytics settings.")
        return redirect("settings")
    return render(request, "dashboard/settings.html", {"form": form})


@role_required(READ)
def audit_log(request):
    """Every change, newest first, 50 a page; or only one package's."""
    form = AuditLogForm(request.GET)
    package = form.package_key()
    revisions = request.organisation.revisions.select_related("reverts")
    if package:
        revisions = revisions.about_package(package)
    page = Paginator(revisions, REVISIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboard/audit_log.html",
        {
            "form": form,
            "package": package,
            "page": page,
            "revisions": page.object_list,
            "page_query": urlencode({"package": package}) if package else "",
        },
    )


REVISIONS_PER_PAGE = 50
