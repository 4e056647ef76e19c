"""Domains: the list with each one's DNS challenge, claiming, checking now,
deleting."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.roles import MANAGE, role_required
from apps.packages import services
from apps.packages.models import Domain

from ..decorators import recent_authentication_required, sees_and_changes
from ..forms import ClaimDomainForm
from .deleting import confirm_deletion
from .packages import actor


@sees_and_changes(MANAGE)
@recent_authentication_required
def domain_list(request):
    organisation = request.organisation
    form = ClaimDomainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            domain = services.claim_domain(
                organisation, actor(request), form.cleaned_data["hostname"]
            )
        except services.Rejected as rejected:
            for _field, message in rejected.errors:
                form.add_error("hostname", message)
        else:
            messages.success(request, f"Claimed {domain.hostname}; add its TXT record to verify.")
            return redirect("domains")
    return render(
        request,
        "dashboard/domains.html",
        {"domains": organisation.domains.order_by("hostname"), "form": form},
    )


@require_POST
@role_required(MANAGE)
def verify_domain(request, domain_id: int):
    """Check a claimed domain's TXT record now, as the API's verify action does."""
    domain = get_object_or_404(Domain, id=domain_id, organisation=request.organisation)
    if services.verify_domain(domain, actor(request)):
        messages.success(request, f"{domain.hostname} is verified and serves traffic.")
    else:
        messages.error(
            request, f"No TXT record at {domain.challenge_name} holds the expected value yet."
        )
    return redirect("domains")


@require_POST
@role_required(MANAGE)
@recent_authentication_required
def https_only(request, domain_id: int):
    """Turn "HTTPS only" on (plain HTTP gets a 308 to HTTPS) or off."""
    domain = get_object_or_404(Domain, id=domain_id, organisation=request.organisation)
    on = request.POST.get("https_only") == "on"
    services.set_https_only(domain, actor(request), on)
    if on:
        messages.success(request, f"{domain.hostname} now redirects plain HTTP to HTTPS.")
    else:
        messages.success(request, f"{domain.hostname} answers plain HTTP again.")
    return redirect("domains")


@role_required(MANAGE)
@recent_authentication_required
def domain_delete(request, domain_id: int):
    domain = get_object_or_404(Domain, id=domain_id, organisation=request.organisation)
    rules = domain.rules.count()
    return confirm_deletion(
        request,
        subject=f"the domain {domain.hostname}",
        consequence=(
            f"Its {rules} rule{pluralize(rules)} go with it: nothing is served on "
            f"{domain.hostname} any more, and anyone may claim it. The audit log can restore "
            "it, to be verified again."
        ),
        delete=lambda: services.delete_domain(domain, actor(request)),
        cancel=reverse("domains"),
        done=reverse("domains"),
        message=f"Deleted {domain.hostname}; the audit log can restore it.",
    )
